"""rls-secondary-causes (clinical-content.md §8), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Finding, RuleVersion
from tests.support.fhir import (
    ICD10,
    PATIENT_ID,
    SNOMED,
    condition,
    draft_order,
    encounter,
    medication_request,
    observation,
    patient,
    procedure,
)
from tests.support.rules import fired_rule, rule_fixture, run_rule

FERRITIN = "2276-4"
FERRITIN_IMMUNOASSAY = "20567-4"
TSAT = "2502-3"
IRON = "2498-4"
TIBC = "2500-7"
HEMOGLOBIN = "718-7"
BMI = "39156-5"
ALL_IRON_STUDIES = ["2276-4", "2498-4", "2500-7", "2502-3", "58410-2"]

rule = rule_fixture("rls-secondary-causes")


def rls(**kwargs: Any) -> dict[str, Any]:
    return condition("G25.81", system=ICD10, display="Restless legs syndrome", **kwargs)


def ferritin(value: float, unit: str = "ng/mL", **kwargs: Any) -> dict[str, Any]:
    return observation(FERRITIN, value, unit, **kwargs)


def tsat(value: float, **kwargs: Any) -> dict[str, Any]:
    return observation(TSAT, value, "%", **kwargs)


def esrd() -> dict[str, Any]:
    return condition("N18.6", system=ICD10, display="End stage renal disease")


def fired(rule: RuleVersion, *resources: dict[str, Any], **kwargs: Any) -> Finding:
    finding = fired_rule(rule, *resources, **kwargs)
    assert any("acute-phase reactant" in c and "assays differ" in c for c in finding.cautions)
    return finding


# -- adults -----------------------------------------------------------------------------------


def test_low_ferritin_is_a_warning_with_catalog_summary(rule: RuleVersion) -> None:
    finding = fired(rule, rls(), ferritin(42, days_ago=30))
    assert finding.severity == "warning"
    assert finding.summary == (
        "Restless legs with ferritin 42 ng/mL (≤75): iron supplementation is recommended "
        "(AASM 2024)."
    )
    assert any(e.label == "Ferritin" and e.value.startswith("42 ng/mL") for e in finding.evidence)
    assert not finding.involves_draft_order


@pytest.mark.parametrize(
    ("value", "severity"),
    [(75, "warning"), (75.5, "info"), (100, "info"), (100.5, None)],
)
def test_ferritin_thresholds(rule: RuleVersion, value: float, severity: str | None) -> None:
    finding = run_rule(rule, rls(), ferritin(value), tsat(30))
    assert (finding.severity if finding else None) == severity


def test_ferritin_75_to_100_suggests_iv_iron_only(rule: RuleVersion) -> None:
    finding = fired(rule, rls(), ferritin(88), tsat(30))
    assert finding.summary == (
        "Restless legs with ferritin 88 ng/mL (75-100): only IV iron is suggested at this "
        "level (AASM 2024)."
    )
    assert finding.suggestions == ()


@pytest.mark.parametrize(("value", "severity"), [(19.9, "warning"), (20, None)])
def test_tsat_threshold(rule: RuleVersion, value: float, severity: str | None) -> None:
    finding = run_rule(rule, rls(), ferritin(150), tsat(value))
    assert (finding.severity if finding else None) == severity


def test_low_ferritin_and_tsat_both_named(rule: RuleVersion) -> None:
    finding = fired(rule, rls(), ferritin(30), tsat(12))
    assert finding.summary.startswith("Restless legs with ferritin 30 ng/mL (≤75) and TSAT 12%")


def test_no_iron_studies_in_12_months_is_info_with_orders(rule: RuleVersion) -> None:
    finding = fired(rule, rls(), ferritin(20, days_ago=366))
    assert finding.severity == "info"
    assert finding.summary == (
        "Restless legs documented; no ferritin/iron studies in 12 months. Consider checking."
    )
    assert [s.loinc for s in finding.suggestions] == ALL_IRON_STUDIES


def test_ferritin_on_day_365_is_used(rule: RuleVersion) -> None:
    finding = fired(rule, rls(), ferritin(20, days_ago=365))
    assert finding.severity == "warning"


def test_ferritin_without_tsat_is_a_gap(rule: RuleVersion) -> None:
    finding = fired(rule, rls(), ferritin(150))
    assert finding.severity == "info"
    assert "no transferrin saturation" in finding.summary
    assert [s.loinc for s in finding.suggestions] == ["2502-3", "2498-4", "2500-7"]


def test_immunoassay_ferritin_in_ug_per_l(rule: RuleVersion) -> None:
    finding = fired(rule, rls(), observation(FERRITIN_IMMUNOASSAY, 60, "ug/L"))
    assert finding.severity == "warning"
    assert "ferritin 60 ng/mL" in finding.summary


@pytest.mark.rule_versions(until="1.0.0")
def test_censored_ferritin_counts_when_unambiguous(rule: RuleVersion) -> None:
    low = fired(rule, rls(), observation(FERRITIN, 10, "ng/mL", comparator="<"))
    assert low.severity == "warning"
    assert "ferritin <10 ng/mL" in low.summary
    ambiguous = fired(rule, rls(), observation(FERRITIN, 80, "ng/mL", comparator="<"))
    assert ambiguous.severity == "info"  # "<80" is not certainly <= 75; and no TSAT


def test_tsat_calculated_from_iron_and_tibc_in_umol_per_l(rule: RuleVersion) -> None:
    # 10 umol/L iron = 55.9 ug/dL; 70 umol/L TIBC = 391 ug/dL -> TSAT 14 %.
    finding = fired(
        rule,
        rls(),
        ferritin(150),
        observation(IRON, 10, "umol/L"),
        observation(TIBC, 70, "umol/L"),
    )
    assert finding.severity == "warning"
    assert "TSAT 14% (<20%)" in finding.summary
    assert any(e.label == "Transferrin saturation (calculated)" for e in finding.evidence)


def test_iron_and_tibc_on_different_days_are_not_combined(rule: RuleVersion) -> None:
    finding = fired(
        rule,
        rls(),
        ferritin(150),
        observation(IRON, 40, "ug/dL", days_ago=5),
        observation(TIBC, 400, "ug/dL", days_ago=40),
    )
    assert finding.severity == "info"
    assert "no transferrin saturation" in finding.summary


# -- ESRD and children ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ferritin_value", "tsat_value", "severity"),
    [(199, 19, "warning"), (200, 19, "info"), (199, 20, "info")],
)
def test_esrd_thresholds(
    rule: RuleVersion, ferritin_value: float, tsat_value: float, severity: str
) -> None:
    # Not meeting the ESRD criterion still leaves ESRD as an association (info).
    finding = fired(rule, rls(), esrd(), ferritin(ferritin_value), tsat(tsat_value))
    assert finding.severity == severity
    if severity == "warning":
        assert "IV iron sucrose" in finding.summary
    else:
        assert finding.summary.startswith("Restless legs documented with associated conditions")
        assert "ESRD" in finding.summary


def test_esrd_uses_its_own_thresholds_not_the_adult_ones(rule: RuleVersion) -> None:
    # Ferritin 60 is <= 75 (adult warning) but with TSAT 30 % misses the ESRD criterion.
    finding = fired(rule, rls(), esrd(), ferritin(60), tsat(30))
    assert finding.severity == "info"


def test_haemodialysis_procedure_means_esrd(rule: RuleVersion) -> None:
    dialysis = procedure("302497006", display="Hemodialysis (procedure)", days_ago=3)
    finding = fired(rule, rls(), dialysis, ferritin(150), tsat(15))
    assert finding.severity == "warning"
    assert "ESRD" in finding.summary


def test_esrd_low_ferritin_without_tsat_is_a_gap(rule: RuleVersion) -> None:
    finding = fired(rule, rls(), esrd(), ferritin(150))
    assert finding.severity == "info"
    assert "no transferrin saturation" in finding.summary


@pytest.mark.parametrize(("value", "severity"), [(49, "warning"), (50, None)])
def test_child_ferritin_threshold(rule: RuleVersion, value: float, severity: str | None) -> None:
    child = patient(birth_date="2015-06-01")
    finding = run_rule(rule, child, rls(), ferritin(value))
    assert (finding.severity if finding else None) == severity
    if finding is not None:
        assert finding.summary.startswith("Restless legs in a child with ferritin 49 ng/mL (<50)")


def test_adult_threshold_applies_from_age_18(rule: RuleVersion) -> None:
    adult = patient(birth_date="2008-11-21")  # 18 today
    assert fired(rule, adult, rls(), ferritin(60), tsat(30)).severity == "warning"


# -- trigger, associations, treatment ---------------------------------------------------------


def test_no_rls_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, ferritin(20), tsat(10)) is None


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_rls_is_ignored(rule: RuleVersion, status: str) -> None:
    assert run_rule(rule, rls(verification_status=status), ferritin(20)) is None


def test_rls_snomed_and_plmd_trigger(rule: RuleVersion) -> None:
    snomed = condition("32914008", system=SNOMED, display="Restless legs")
    plmd = condition("G47.61", system=ICD10, display="Periodic limb movement disorder")
    assert fired(rule, snomed, ferritin(20)).severity == "warning"
    assert fired(rule, plmd, ferritin(20)).severity == "warning"


def test_normal_iron_without_associations_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, rls(), ferritin(150), tsat(30)) is None


def test_associations_are_listed(rule: RuleVersion) -> None:
    family = {
        "resourceType": "FamilyMemberHistory",
        "id": "fmh-1",
        "status": "completed",
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "relationship": {"text": "mother"},
        "condition": [{"code": {"coding": [{"system": ICD10, "code": "G25.81"}]}}],
    }
    finding = fired(
        rule,
        rls(),
        ferritin(150),
        tsat(30),
        observation(BMI, 32.4, "kg/m2", days_ago=20),
        condition("40930008", display="Hypothyroidism"),
        family,
    )
    assert finding.severity == "info"
    assert finding.summary.startswith(
        "Restless legs documented with associated conditions on record: obesity (BMI 32)"
    )
    assert "hypothyroidism" in finding.summary
    assert any(e.label == "Family history of restless legs" for e in finding.evidence)


def test_bmi_30_counts_but_29_9_does_not(rule: RuleVersion) -> None:
    assert fired(rule, rls(), ferritin(150), tsat(30), observation(BMI, 30, "kg/m2"))
    assert run_rule(rule, rls(), ferritin(150), tsat(30), observation(BMI, 29.9, "kg/m2")) is None


def test_pregnancy_and_ckd_are_associations(rule: RuleVersion) -> None:
    pregnant = condition("77386006", display="Pregnancy (finding)", onset_days_ago=120)
    ckd = condition("N18.4", system=ICD10, display="Chronic kidney disease, stage 4 (severe)")
    finding = fired(rule, rls(), ferritin(150), tsat(30), pregnant, ckd)
    assert "pregnancy" in finding.summary
    assert "CKD" in finding.summary


def test_low_haemoglobin_by_lab_flag_is_an_association(rule: RuleVersion) -> None:
    hb = observation(HEMOGLOBIN, 10.9, "g/dL", low=12.0, high=15.5)
    finding = fired(rule, rls(), ferritin(150), tsat(30), hb)
    assert "anaemia" in finding.summary


@pytest.mark.rule_versions(until="1.0.0")
def test_associations_are_evidence_on_the_iron_warning_too(rule: RuleVersion) -> None:
    smoker = condition("77176002", display="Smoker, current status unknown")
    finding = fired(rule, rls(), ferritin(40), smoker)
    assert finding.severity == "warning"
    assert any("77176002" in e.value for e in finding.evidence)


def test_already_on_iron_keeps_warning_with_caution(rule: RuleVersion) -> None:
    iron = medication_request("24947", "ferrous sulfate")
    finding = fired(rule, rls(), ferritin(40), iron)
    assert finding.severity == "warning"
    assert any(c.startswith("Already on ferrous sulfate") for c in finding.cautions)


def test_drafted_dopamine_agonist_with_low_ferritin(rule: RuleVersion) -> None:
    finding = fired(
        rule,
        rls(),
        ferritin(40),
        draft_orders=[draft_order("746741", "pramipexole")],
    )
    assert finding.involves_draft_order
    assert any("augmentation" in c for c in finding.cautions)


@pytest.mark.rule_versions(until="1.0.0")
def test_text_matched_treatment_is_flagged_low_confidence(rule: RuleVersion) -> None:
    uncoded = medication_request(None, "Pramipexole tablets")
    finding = fired(rule, rls(), ferritin(40), uncoded)
    assert any("Pramipexole tablets" in c for c in finding.cautions)


def test_stopped_iron_beyond_grace_is_not_treatment(rule: RuleVersion) -> None:
    stopped = medication_request(
        "24947", "ferrous sulfate", status="stopped", days_ago=200, ended_days_ago=31
    )
    finding = fired(rule, rls(), ferritin(40), stopped)
    assert not any(c.startswith("Already on") for c in finding.cautions)


# -- 1.1.0: §22.2 e, f, g, m; candidate causes; short cards ----------------------------------

SMOKING_STATUS = "72166-2"
SMOKES_DAILY = (SNOMED, "449868002")
# An answer outside the `smoker` set, as an ex-smoker or never-smoker answer is.
NOT_A_SMOKER = (SNOMED, "answer-not-in-the-smoker-set")
PREGNANCY_STATUS = "82810-3"
PREGNANT = (SNOMED, "77386006")
GESTATIONAL_AGE = "49051-6"


def smoking_status(answer: tuple[str, str], days_ago: float) -> dict[str, Any]:
    return observation(SMOKING_STATUS, None, days_ago=days_ago, value_code=answer)


def plmd(**kwargs: Any) -> dict[str, Any]:
    return condition("G47.61", system=ICD10, display="Periodic limb movement disorder", **kwargs)


def born_on(birth_date: str) -> dict[str, Any]:
    return patient(birth_date=birth_date)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_smoker_recorded_only_by_the_smoking_status_answer_is_an_association(
    rule: RuleVersion,
) -> None:
    # The review's chart: current smoker only as a 72166-2 answer, ferritin and TSAT normal.
    finding = fired(rule, rls(), ferritin(150), tsat(30), smoking_status(SMOKES_DAILY, 30))
    assert finding.severity == "info"
    assert finding.summary == (
        "Restless legs documented with associated conditions on record: smoker."
    )
    line = next(e for e in finding.evidence if e.label == "Smoking status")
    assert line.reference.startswith("Observation/")


@pytest.mark.rule_versions(since="1.1.0")
def test_a_later_ex_smoker_answer_ends_the_smoking_association(rule: RuleVersion) -> None:
    smoker = condition("77176002", display="Smoker, current status unknown", onset_days_ago=400)
    resources = [rls(), ferritin(150), tsat(30), smoker]
    assert fired(rule, *resources).summary.endswith(": smoker.")
    assert run_rule(rule, *resources, smoking_status(NOT_A_SMOKER, 20)) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_associations_are_evidence_on_the_iron_warning_too_v1_1(rule: RuleVersion) -> None:
    smoker = condition("77176002", display="Smoker, current status unknown")
    finding = fired(rule, rls(), ferritin(40), smoker)
    assert finding.severity == "warning"
    assert any(e.value == "Smoker, current status unknown" for e in finding.evidence)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_censored_ferritin_is_shown_and_judged_as_reported(rule: RuleVersion) -> None:
    low = fired(rule, rls(), observation(FERRITIN, 10, "ng/mL", comparator="<"))
    assert low.severity == "warning"
    assert "ferritin <10 ng/mL (≤75)" in low.summary
    line = next(e for e in low.evidence if e.label == "Ferritin")
    assert line.value.startswith("<10 ng/mL")


@pytest.mark.rule_versions(since="1.1.0")
def test_a_ferritin_bound_that_settles_nothing_is_never_called_75_to_100(
    rule: RuleVersion,
) -> None:
    # "<80" may be 40 (iron indicated) or 78: 1.0.0 called it "75-100: only IV iron".
    finding = fired(rule, rls(), observation(FERRITIN, 80, "ng/mL", comparator="<"), tsat(30))
    assert finding.severity == "info"
    assert "75-100" not in finding.summary
    assert finding.summary.startswith("Restless legs with ferritin <80 ng/mL: the bound does not")
    assert [s.loinc for s in finding.suggestions] == ["2276-4", "2502-3"]
    # A bound that does settle it: ">80" with ">=" is above 75 (and not certainly at most 100).
    above = run_rule(rule, rls(), observation(FERRITIN, 80, "ng/mL", comparator=">"), tsat(30))
    assert above is None


@pytest.mark.parametrize(
    ("birth_date", "value", "severity"),
    [
        # AS_OF is 2026-11-21.
        ("2008-11-22", 49, "warning"),  # 17 (18 tomorrow): children's threshold, < 50
        ("2008-11-22", 50, None),
        ("2008-11-21", 75, "warning"),  # 18 today: adults, <= 75
        ("2008-11-21", 76, "info"),  # 75-100: IV iron only
    ],
)
def test_iron_thresholds_by_age(
    rule: RuleVersion, birth_date: str, value: float, severity: str | None
) -> None:
    finding = run_rule(rule, born_on(birth_date), rls(), ferritin(value), tsat(30))
    assert (finding.severity if finding else None) == severity


@pytest.mark.rule_versions(since="1.1.0")
def test_the_childrens_threshold_cites_the_irlssg_consensus(rule: RuleVersion) -> None:
    finding = fired(rule, born_on("2012-01-01"), rls(), ferritin(30))
    assert finding.summary.endswith("iron supplementation is recommended (IRLSSG 2018).")
    assert finding.source is not None
    assert finding.source.label.startswith("IRLSSG")
    adult = fired(rule, rls(), ferritin(30))
    assert adult.source is None  # the rule's own: AASM 2024
    assert rule.source_label == "AASM 2024 RLS guideline"
    assert rule.provenance.url == "https://doi.org/10.5664/jcsm.11390"


@pytest.mark.parametrize(("weeks", "listed"), [(42.0, True), (42.5, False)])
def test_a_pregnancy_ends_at_42_weeks_as_in_every_rule(
    rule: RuleVersion, weeks: float, listed: bool
) -> None:
    pregnancy = [
        observation(PREGNANCY_STATUS, None, value_code=PREGNANT, days_ago=20),
        observation(GESTATIONAL_AGE, weeks, "wk", days_ago=0),
    ]
    finding = run_rule(rule, rls(), ferritin(150), tsat(30), *pregnancy)
    if rule.version == "1.0.0":
        listed = True  # 1.0.0 kept 44 weeks
    assert (finding is not None and "pregnancy" in finding.summary) is listed


@pytest.mark.rule_versions(since="1.1.0")
def test_only_low_iron_stands_on_its_own(rule: RuleVersion) -> None:
    assert not fired(rule, rls(), ferritin(40)).candidate
    assert not fired(rule, rls(), esrd(), ferritin(150), tsat(15)).candidate
    assert not fired(rule, born_on("2015-06-01"), rls(), ferritin(30)).candidate
    assert fired(rule, rls(), ferritin(88), tsat(30)).candidate
    assert fired(rule, rls()).candidate  # no iron studies
    assert fired(rule, rls(), ferritin(150), tsat(30), esrd()).candidate  # associations


@pytest.mark.rule_versions(since="1.1.0")
def test_plmd_alone_opens_only_the_low_iron_finding_and_is_named(rule: RuleVersion) -> None:
    finding = fired(rule, plmd(), ferritin(20))
    assert finding.summary == (
        "Periodic limb movements with ferritin 20 ng/mL (≤75): iron supplementation is "
        "recommended (AASM 2024)."
    )
    # No iron studies: a candidate cause, and PLMD is not a §1.6 leg complaint.
    assert run_rule(rule, plmd()) is None
    cramps = condition("G47.62", system=ICD10, display="Sleep related leg cramps")
    assert fired(rule, plmd(), cramps).summary.startswith("Periodic limb movements documented")


@pytest.mark.rule_versions(since="1.1.0")
def test_restless_legs_as_the_reason_of_a_recent_visit(rule: RuleVersion) -> None:
    # §22.2 e: a visit whose reasonReference is an RLS Condition since resolved.
    old = rls(clinical_status="resolved", onset_days_ago=400)
    visit = encounter(start_days_ago=20)
    visit["reasonReference"] = [{"reference": f"Condition/{old['id']}"}]
    finding = fired(rule, old, visit, ferritin(40))
    assert finding.severity == "warning"
    assert finding.evidence[0].reference == f"Encounter/{visit['id']}"
    # PLMD coded only as a visit reason (not a §1.6 complaint code) opens the finding too.
    plmd_visit = encounter(start_days_ago=20, reason=(ICD10, "G47.61"))
    assert fired(rule, plmd_visit, ferritin(40)).severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
def test_a_newer_bmi_below_30_means_coded_obesity_is_not_current(rule: RuleVersion) -> None:
    obese = condition("162864005", display="Body mass index 30+ - obesity (finding)")
    obese["onsetDateTime"] = obese["recordedDate"] = "2024-01-10T00:00:00+00:00"
    assert fired(rule, rls(), ferritin(150), tsat(30), obese).summary.endswith(": obesity.")
    newer_bmi = observation(BMI, 27.5, "kg/m2", days_ago=60)
    assert run_rule(rule, rls(), ferritin(150), tsat(30), obese, newer_bmi) is None
    # A code recorded after the BMI still stands.
    recent = condition("162864005", onset_days_ago=10)
    assert fired(rule, rls(), ferritin(150), tsat(30), recent, newer_bmi)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_name_matched_treatment_is_flagged_on_its_evidence_line(rule: RuleVersion) -> None:
    uncoded = medication_request(None, "Pramipexole tablets")
    finding = fired(rule, rls(), ferritin(40), uncoded)
    line = next(e for e in finding.evidence if e.label == "Pramipexole tablets")
    assert "name only" in line.note


@pytest.mark.rule_versions(since="1.1.0")
def test_details_stay_short(rule: RuleVersion) -> None:
    family = {
        "resourceType": "FamilyMemberHistory",
        "id": "fmh-2",
        "status": "completed",
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "relationship": {"text": "mother"},
        "condition": [{"code": {"coding": [{"system": ICD10, "code": "G25.81"}]}}],
    }
    finding = fired(
        rule,
        rls(),
        ferritin(40),
        tsat(12),
        esrd(),
        condition("40930008", display="Hypothyroidism"),
        condition("302226006", display="Peripheral nerve disease"),
        smoking_status(SMOKES_DAILY, 10),
        observation(BMI, 34, "kg/m2"),
        medication_request("24947", "ferrous sulfate"),
        family,
        draft_orders=[draft_order("746741", "pramipexole")],
    )
    assert len(finding.evidence) <= 6
    assert len(finding.cautions) <= 2
    assert len(finding.explanation) <= 300
    assert finding.explanation.count(". ") <= 1
    text = " ".join([finding.summary, finding.explanation, *finding.cautions])
    text += " ".join(f"{e.label} {e.value} {e.note}" for e in finding.evidence)
    assert not any(e.reference and e.reference in text for e in finding.evidence)  # no ids
