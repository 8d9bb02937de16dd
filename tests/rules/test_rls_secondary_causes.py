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
