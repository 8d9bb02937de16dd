"""dvt-risk (§10), every version: record-derived Wells items, other VTE risk factors,
anticoagulation."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Finding, RuleVersion
from cds.rules.dvt_risk import v1_1_0
from cds.rules.dvt_risk.v1_0_0 import DvtAssessment, DvtRisk
from tests.support.fhir import (
    ICD10,
    SNOMED,
    condition,
    draft_order,
    encounter,
    medication_request,
    observation,
    procedure,
)
from tests.support.rules import fired_rule, rule_facts, rule_fixture, run_rule

LEG_PAIN_LEFT = ("M79.605", ICD10)
SWELLING_RIGHT_LEG = ("R22.41", ICD10)
SWELLING_BOTH_LEGS = ("R22.43", ICD10)
RESTLESS_LEGS = ("G25.81", ICD10)
HIP_REPLACEMENT = "52734007"  # Total replacement of hip (hip-knee-surgery, major-surgery)
COLECTOMY = "43075005"  # Partial resection of colon (major-surgery)
CHILDBIRTH = "66348005"  # Synthea childbirth (delivery)
HISTORY_OF_VTE = ("Z86.718", ICD10)
POST_THROMBOTIC = ("I87.009", ICD10)
ACUTE_DVT = "132281000119108"
CANCER = "363346000"
MI = "22298006"
PARALYSIS = "44695005"
COPD = "13645005"
BAKERS_CYST_LEFT = ("M71.22", ICD10)


def complaint(code: tuple[str, str] = LEG_PAIN_LEFT, **kwargs: Any) -> dict[str, Any]:
    return condition(code[0], system=code[1], onset_days_ago=5, **kwargs)


def prior_vte(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("clinical_status", "resolved")
    return condition(HISTORY_OF_VTE[0], system=HISTORY_OF_VTE[1], onset_days_ago=900, **kwargs)


rule = rule_fixture("dvt-risk")


def assess(rule: RuleVersion, resources: list[dict[str, Any]]) -> DvtAssessment:
    """The version's record scoring alone, whatever the complaint."""
    assert isinstance(rule.logic, DvtRisk)
    return rule.logic.assess_dvt_risk(rule_facts(rule, *resources))


def loincs(finding: Finding) -> list[str | None]:
    return [s.loinc for s in finding.suggestions]


# -- severity -----------------------------------------------------------------------------------


@pytest.mark.rule_versions(until="1.0.0")
def test_surgery_and_prior_dvt_with_leg_pain_is_a_warning(rule: RuleVersion) -> None:
    finding = run_rule(rule, complaint(), procedure(HIP_REPLACEMENT, days_ago=21), prior_vte())
    assert finding is not None
    assert finding.severity == "warning"
    assert finding.summary.startswith("DVT risk: surgery 3 wk ago + prior VTE (Wells ≥2")
    assert "duplex" in finding.summary
    assert loincs(finding) == ["39420-5"]  # Wells >= 2 goes to imaging, no D-dimer
    assert any(
        c.startswith("Exam items cannot be assessed from the record") for c in finding.cautions
    )
    refs = {e.reference for e in finding.evidence}
    assert any(r.startswith("Procedure/") for r in refs)


@pytest.mark.rule_versions(until="1.0.0")
def test_risk_factor_only_is_info_with_d_dimer_and_duplex(rule: RuleVersion) -> None:
    finding = run_rule(rule, complaint(), medication_request("4083", "Estradiol 1 MG Oral Tablet"))
    assert finding is not None
    assert finding.severity == "info"
    assert finding.summary == (
        "VTE risk factors present (estradiol). Complete Wells exam items if leg is swollen."
    )
    assert loincs(finding) == ["39420-5", "48065-7"]
    assert "1 or less" in finding.suggestions[1].reason


@pytest.mark.rule_versions(until="1.0.0")
def test_one_wells_item_with_one_sided_swelling_is_a_warning(rule: RuleVersion) -> None:
    finding = run_rule(rule, complaint(SWELLING_RIGHT_LEG), condition(PARALYSIS))
    assert finding is not None
    assert finding.severity == "warning"
    assert "one leg swollen" in finding.summary
    assert loincs(finding) == ["39420-5"]


def test_one_wells_item_with_bilateral_swelling_stays_info(rule: RuleVersion) -> None:
    finding = run_rule(rule, complaint(SWELLING_BOTH_LEGS), condition(PARALYSIS))
    assert finding is not None
    assert finding.severity == "info"


def test_one_wells_item_with_pain_only_is_info(rule: RuleVersion) -> None:
    finding = run_rule(rule, complaint(), prior_vte())
    assert finding is not None
    assert finding.severity == "info"


# -- the complaint (§1.6: always needed) -----------------------------------------------------


def test_no_card_without_a_leg_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, procedure(HIP_REPLACEMENT, days_ago=21), prior_vte()) is None


def test_restless_legs_alone_is_not_the_dvt_complaint(rule: RuleVersion) -> None:
    resources = [complaint(RESTLESS_LEGS), procedure(HIP_REPLACEMENT, days_ago=21), prior_vte()]
    assert run_rule(rule, *resources) is None


def test_leg_pain_as_an_encounter_reason_counts(rule: RuleVersion) -> None:
    resources = [
        encounter(start_days_ago=10, reason=(ICD10, "M79.604")),
        procedure(HIP_REPLACEMENT, days_ago=21),
        prior_vte(),
    ]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert finding.severity == "warning"


def test_no_card_without_any_risk(rule: RuleVersion) -> None:
    assert run_rule(rule, complaint()) is None


# -- Wells items and windows ------------------------------------------------------------------


@pytest.mark.parametrize(("days_ago", "severity"), [(84, "warning"), (85, "info")])
def test_surgery_window_is_84_days(rule: RuleVersion, days_ago: int, severity: str) -> None:
    finding = run_rule(rule, complaint(), procedure(COLECTOMY, days_ago=days_ago), prior_vte())
    assert finding is not None
    assert finding.severity == severity


@pytest.mark.parametrize(("ended_days_ago", "counted"), [(28, True), (29, False)])
def test_bedridden_proxy_stay_must_end_within_28_days(
    rule: RuleVersion, ended_days_ago: int, counted: bool
) -> None:
    stay = encounter(
        class_code="IMP", start_days_ago=ended_days_ago + 4, end_days_ago=ended_days_ago
    )
    assessment = assess(rule, [stay])
    assert (assessment.wells_score == 1) is counted


@pytest.mark.parametrize(("length_days", "counted"), [(3, True), (2, False)])
def test_bedridden_proxy_needs_three_days(
    rule: RuleVersion, length_days: int, counted: bool
) -> None:
    stay = encounter(class_code="IMP", start_days_ago=10 + length_days, end_days_ago=10)
    assessment = assess(rule, [stay])
    assert (assessment.wells_score == 1) is counted


def test_surgery_and_stay_together_are_one_wells_point(rule: RuleVersion) -> None:
    stay = encounter(class_code="IMP", start_days_ago=25, end_days_ago=20)
    assessment = assess(rule, [stay, procedure(HIP_REPLACEMENT, days_ago=24)])
    assert assessment.wells_score == 1


def test_recent_cancer_is_a_wells_point_and_old_cancer_a_risk_factor(
    rule: RuleVersion,
) -> None:
    recent = assess(rule, [condition(CANCER, onset_days_ago=100)])
    assert [i.short for i in recent.wells_items] == ["active cancer"]
    old = assess(rule, [condition(CANCER, onset_days_ago=400)])
    assert old.wells_items == ()
    assert [i.short for i in old.other_factors] == ["cancer on record"]


def test_chemotherapy_within_six_months_is_active_cancer(rule: RuleVersion) -> None:
    chemo = medication_request(
        "11202", "vincristine", status="completed", days_ago=170, ended_days_ago=150
    )
    resources = [condition(CANCER, onset_days_ago=400), chemo]
    assessment = assess(rule, resources)
    assert [i.short for i in assessment.wells_items] == ["active cancer"]
    assert assessment.other_factors == ()


def test_post_thrombotic_syndrome_counts_as_previous_dvt(rule: RuleVersion) -> None:
    pts = condition(POST_THROMBOTIC[0], system=POST_THROMBOTIC[1])
    assessment = assess(rule, [pts])
    assert assessment.wells_score == 1


def test_active_acute_dvt_is_named_as_on_record(rule: RuleVersion) -> None:
    assessment = assess(rule, [condition(ACUTE_DVT, onset_days_ago=3)])
    assert [i.short for i in assessment.wells_items] == ["DVT on record"]


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_refuted_or_erroneous_vte_is_ignored(rule: RuleVersion, status: str) -> None:
    resources = [complaint(), prior_vte(verification_status=status)]
    assert run_rule(rule, *resources) is None


# -- other risk factors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_ago", "wording"),
    [(28, "highest-risk"), (42, "highest-risk"), (43, "still raised"), (84, "still raised")],
)
def test_postpartum_windows(rule: RuleVersion, days_ago: int, wording: str) -> None:
    finding = run_rule(rule, complaint(), procedure(CHILDBIRTH, days_ago=days_ago))
    assert finding is not None
    assert f"postpartum {days_ago // 7} wk" in finding.summary
    assert wording in finding.explanation


def test_postpartum_ends_after_12_weeks(rule: RuleVersion) -> None:
    assert run_rule(rule, complaint(), procedure(CHILDBIRTH, days_ago=85)) is None


@pytest.mark.parametrize(("days_ago", "fires"), [(90, True), (91, False)])
def test_myocardial_infarction_within_90_days(
    rule: RuleVersion, days_ago: int, fires: bool
) -> None:
    finding = run_rule(rule, complaint(), condition(MI, onset_days_ago=days_ago))
    assert (finding is not None) is fires
    if finding is not None:
        assert "recent MI" in finding.summary


@pytest.mark.parametrize(("bmi", "fires"), [(30.0, True), (29.9, False)])
def test_obesity_from_bmi(rule: RuleVersion, bmi: float, fires: bool) -> None:
    finding = run_rule(rule, complaint(), observation("39156-5", bmi, "kg/m2", days_ago=60))
    assert (finding is not None) is fires


def test_pregnancy_is_a_risk_factor(rule: RuleVersion) -> None:
    resources = [
        complaint(),
        observation("82810-3", None, value_code=(SNOMED, "77386006"), days_ago=10),
        observation("49051-6", 24, "wk", days_ago=0),
    ]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert "pregnant 24 wk" in finding.summary


def test_delivery_after_pregnancy_evidence_lists_postpartum_not_pregnancy(
    rule: RuleVersion,
) -> None:
    resources = [
        complaint(),
        observation("82810-3", None, value_code=(SNOMED, "77386006"), days_ago=60),
        observation("49051-6", 33, "wk", days_ago=40),
        procedure(CHILDBIRTH, days_ago=10),
    ]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert "postpartum 1 wk" in finding.summary
    assert "pregnant" not in finding.summary


def test_copd_is_listed(rule: RuleVersion) -> None:
    finding = run_rule(rule, complaint(), condition(COPD))
    assert finding is not None
    assert "COPD" in finding.summary


# -- medications ------------------------------------------------------------------------------


@pytest.mark.rule_versions(until="1.0.0")
@pytest.mark.parametrize(("ended_days_ago", "fires"), [(30, True), (31, False)])
def test_stopped_estrogen_counts_for_30_days(
    rule: RuleVersion, ended_days_ago: int, fires: bool
) -> None:
    estrogen = medication_request(
        "4124", "Ethinyl Estradiol", status="stopped", days_ago=200, ended_days_ago=ended_days_ago
    )
    assert (run_rule(rule, complaint(), estrogen) is not None) is fires


def test_text_matched_estrogen_is_flagged_low_confidence(rule: RuleVersion) -> None:
    finding = run_rule(rule, complaint(), medication_request(None, "Trinessa 28 Day Pack"))
    assert finding is not None
    assert any("name only" in c for c in finding.cautions)
    assert any(e.note for e in finding.evidence)


def test_drafted_estrogen_involves_the_draft_order(rule: RuleVersion) -> None:
    finding = run_rule(
        rule, complaint(), draft_orders=[draft_order("4083", "Estradiol 1 MG Oral Tablet")]
    )
    assert finding is not None
    assert finding.involves_draft_order is True


@pytest.mark.rule_versions(until="1.0.0")
def test_anticoagulation_is_named_and_removes_d_dimer(rule: RuleVersion) -> None:
    resources = [complaint(), condition(COPD), medication_request("1364430", "apixaban 5 MG")]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert finding.severity == "info"
    assert loincs(finding) == ["39420-5"]
    assert any("apixaban" in c and "anticoagulant" in c for c in finding.cautions)


@pytest.mark.rule_versions(until="1.0.0")
def test_anticoagulant_stopped_long_ago_is_ignored(rule: RuleVersion) -> None:
    warfarin = medication_request(
        "11289", "Warfarin", status="stopped", days_ago=300, ended_days_ago=31
    )
    finding = run_rule(rule, complaint(), condition(COPD), warfarin)
    assert finding is not None
    assert loincs(finding) == ["39420-5", "48065-7"]
    assert not any("anticoagulant" in c for c in finding.cautions)


# -- what never happens ------------------------------------------------------------------------


def test_bakers_cyst_never_suppresses_the_dvt_card(rule: RuleVersion) -> None:
    resources = [
        complaint(SWELLING_RIGHT_LEG),
        condition(BAKERS_CYST_LEFT[0], system=BAKERS_CYST_LEFT[1]),
        procedure(HIP_REPLACEMENT, days_ago=21),
        prior_vte(),
    ]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert finding.severity == "warning"
    assert "Wells ≥2" in finding.summary


def test_busy_record_summary_fits_and_never_rules_out(rule: RuleVersion) -> None:
    resources = [
        complaint(SWELLING_RIGHT_LEG),
        complaint(),
        condition(CANCER, onset_days_ago=30),
        condition(PARALYSIS),
        procedure(HIP_REPLACEMENT, days_ago=10),
        prior_vte(),
        procedure(CHILDBIRTH, days_ago=20),
        condition(MI, onset_days_ago=30),
        condition(COPD),
        condition("84114007"),
        observation("39156-5", 41.2, "kg/m2", days_ago=20),
        medication_request("4083", "Estradiol 1 MG Oral Tablet"),
        medication_request("1364430", "apixaban 5 MG"),
    ]
    finding = fired_rule(rule, *resources)  # fits the summary limit, never rules a cause out
    assert finding.severity == "warning"
    assert "(+" in finding.summary  # the rest are on the card, not in the summary


@pytest.mark.rule_versions(until="1.0.0")
def test_rule_declares_what_it_reads(rule: RuleVersion) -> None:
    assert rule.id == "dvt-risk"
    assert rule.version == "1.0.0"
    assert rule.severities == ("info", "warning")
    assert {"vte-history", "major-surgery", "anticoagulants", "leg-swelling"} <= set(rule.valuesets)
    assert rule.provenance.url.startswith("https://doi.org/")


# -- 1.1.0: §22.2 i, j, k, l, the route that follows the record score, short details ----------

CESAREAN = "11466000"  # Cesarean section (cesarean, also in delivery)
LEG_CRAMPS = ("G47.62", ICD10)
CRAMP_AND_SPASM = ("R25.2", ICD10)
TETANY = ("R29.0", ICD10)
PAIN_UNSPECIFIED_LEG = ("M79.606", ICD10)
PAIN_RIGHT_LEG = ("M79.604", ICD10)
ACTIVE_PE = "706870000"
HEART_FAILURE_CHRONIC = "88805009"  # in the 2026.12 heart-failure set only
OBESITY_BMI_30 = "162864005"  # in the 2026.12 obesity set only
CANCER_ICD = ("C43.52", ICD10)  # in the 2026.12 cancer set only


def short_details(finding: Finding) -> None:
    """What every 1.1.0 card keeps to: two sentences, six evidence lines, two cautions, no ids."""
    assert finding.explanation.count(". ") <= 1
    assert len(finding.explanation) <= 330
    assert len(finding.evidence) <= 6
    assert len(finding.cautions) <= 2
    text = " ".join([finding.summary, finding.explanation, *finding.cautions])
    assert "Condition/" not in text
    assert "Procedure/" not in text


def with_therapy_end(resource: dict[str, Any], ended_days_ago: int) -> dict[str, Any]:
    """A MedicationRequest whose therapy (dosage bounds) ended `ended_days_ago`."""
    end = observation("0-0", None, days_ago=ended_days_ago)["effectiveDateTime"]
    resource["dosageInstruction"] = [{"timing": {"repeat": {"boundsPeriod": {"end": end}}}}]
    return resource


@pytest.mark.rule_versions(since="1.1.0")
def test_cesarean_three_weeks_ago_with_one_swollen_leg_is_a_warning(rule: RuleVersion) -> None:
    # The review's chart: 1.0.0 gave info (postpartum only, no Wells point).
    resources = [complaint(("R22.42", ICD10)), procedure(CESAREAN, days_ago=21)]
    finding = fired_rule(rule, *resources)
    assert finding.severity == "warning"
    assert finding.candidate is True
    assert "cesarean 3 wk ago" in finding.summary
    assert "postpartum 3 wk" in finding.summary
    assert "partial" in finding.summary
    assert loincs(finding) == ["48065-7"]  # record Wells 1: the D-dimer route
    assert not any("anaesthesia" in c for c in finding.cautions)
    short_details(finding)


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("days_ago", "wells"), [(84, 1), (85, 0)])
def test_a_cesarean_scores_the_surgery_item_for_12_weeks(
    rule: RuleVersion, days_ago: int, wells: int
) -> None:
    assessment = assess(rule, [procedure(CESAREAN, days_ago=days_ago)])
    assert assessment.wells_score == wells


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("days_ago", "listed"), [(84, "postpartum 12 wk"), (85, None)])
def test_a_cesarean_counts_as_childbirth_for_12_weeks(
    rule: RuleVersion, days_ago: int, listed: str | None
) -> None:
    assessment = assess(rule, [procedure(CESAREAN, days_ago=days_ago)])
    shorts = [item.short for item in assessment.other_factors]
    assert shorts == ([listed] if listed else [])


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("days_ago", "weeks", "period"),
    [(41, 5, "highest-risk"), (42, 6, "highest-risk"), (43, 6, "still raised")],
)
def test_postpartum_says_how_many_weeks(
    rule: RuleVersion, days_ago: int, weeks: int, period: str
) -> None:
    finding = fired_rule(rule, complaint(), procedure(CHILDBIRTH, days_ago=days_ago))
    assert f"postpartum {weeks} wk" in finding.summary
    assert f"childbirth {weeks} weeks ago" in finding.explanation
    assert period in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize("code", [LEG_CRAMPS, CRAMP_AND_SPASM])
def test_a_leg_cramp_opens_the_card_only_with_a_wells_item(
    rule: RuleVersion, code: tuple[str, str]
) -> None:
    # §22.2 j: risk factors alone (COPD, obesity) do not make a cramp a suspected DVT ...
    assert run_rule(rule, complaint(code), condition(COPD)) is None
    # ... a Wells item (here a previous VTE) does, and the card says cramps, not pain.
    finding = fired_rule(rule, complaint(code), condition(COPD), prior_vte())
    assert finding.summary.startswith("Leg cramps and DVT risk: ")
    assert "leg pain" not in finding.summary.lower()
    assert "Leg cramps on record" in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize("code", [RESTLESS_LEGS, TETANY])
def test_restless_legs_or_tetany_never_open_the_card(
    rule: RuleVersion, code: tuple[str, str]
) -> None:
    resources = [complaint(code), procedure(HIP_REPLACEMENT, days_ago=21), prior_vte()]
    assert run_rule(rule, *resources) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_leg_pain_opens_the_card_without_a_wells_item(rule: RuleVersion) -> None:
    finding = fired_rule(rule, complaint(), condition(COPD))
    assert finding.severity == "info"
    assert finding.summary == (
        "Leg pain and VTE risk factors: COPD (Wells 0 from record, partial). Complete Wells; "
        "D-dimer if ≤1."
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_an_active_pulmonary_embolism_is_vte_history(rule: RuleVersion) -> None:
    assessment = assess(rule, [condition(ACTIVE_PE, onset_days_ago=20)])
    assert [i.short for i in assessment.wells_items] == ["PE on record"]


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("pain", "loinc", "side"),
    [
        (LEG_PAIN_LEFT, "39432-0", "left leg"),
        (PAIN_RIGHT_LEG, "39443-7", "right leg"),
        (SWELLING_BOTH_LEGS, "39420-5", "both legs"),
        (PAIN_UNSPECIFIED_LEG, "39420-5", "both legs"),
    ],
)
def test_wells_two_goes_to_a_duplex_of_the_leg_on_record(
    rule: RuleVersion, pain: tuple[str, str], loinc: str, side: str
) -> None:
    resources = [complaint(pain), procedure(HIP_REPLACEMENT, days_ago=21), prior_vte()]
    finding = fired_rule(rule, *resources)
    assert finding.severity == "warning"
    assert loincs(finding) == [loinc]
    assert finding.summary.endswith(f"venous duplex, {side}.")
    assert "Wells ≥2 from record, partial" in finding.summary
    short_details(finding)


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("resources", "route"), [([], ["48065-7"]), ([prior_vte()], ["39432-0"])])
def test_the_route_follows_the_record_score_at_its_edge(
    rule: RuleVersion, resources: list[dict[str, Any]], route: list[str]
) -> None:
    # Wells 1 (surgery): D-dimer first; Wells 2 (surgery + prior VTE): duplex, no D-dimer.
    finding = fired_rule(rule, complaint(), procedure(COLECTOMY, days_ago=30), *resources)
    assert loincs(finding) == route


@pytest.mark.rule_versions(since="1.1.0")
def test_anticoagulated_with_a_low_record_score_goes_to_duplex(rule: RuleVersion) -> None:
    resources = [complaint(), condition(COPD), medication_request("1364430", "apixaban 5 MG")]
    finding = fired_rule(rule, *resources)
    assert finding.severity == "info"  # the modifier never lowers or raises the card
    assert loincs(finding) == ["39432-0"]
    assert "On anticoagulant" in finding.summary
    assert any("D-dimer is unreliable" in c for c in finding.cautions)


@pytest.mark.rule_versions(since="1.1.0")
def test_anticoagulation_never_lowers_a_warning(rule: RuleVersion) -> None:
    resources = [
        complaint(),
        procedure(HIP_REPLACEMENT, days_ago=21),
        prior_vte(),
        medication_request("67108", "Enoxaparin 40 MG"),
    ]
    finding = fired_rule(rule, *resources)
    assert finding.severity == "warning"
    assert loincs(finding) == ["39432-0"]


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("ended_days_ago", "fires"), [(30, True), (31, False)])
def test_estrogen_counts_for_30_days_after_its_therapy_ends(
    rule: RuleVersion, ended_days_ago: int, fires: bool
) -> None:
    estrogen = with_therapy_end(
        medication_request("4124", "Ethinyl Estradiol", status="stopped", days_ago=200),
        ended_days_ago,
    )
    assert (run_rule(rule, complaint(), estrogen) is not None) is fires


@pytest.mark.rule_versions(since="1.1.0")
def test_an_active_estrogen_past_its_dispensing_window_still_counts(rule: RuleVersion) -> None:
    # §22.2 d: validityPeriod is the dispensing window, not the end of therapy.
    estrogen = medication_request("4083", "Estradiol", days_ago=200, ended_days_ago=100)
    finding = fired_rule(rule, complaint(), estrogen)
    assert "estradiol" in finding.summary


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("bmi_days_ago", "code_days_ago", "listed"),
    [(30, 400, False), (400, 30, True), (30, 20, True)],
)
def test_a_bmi_below_30_since_the_obesity_code_means_it_is_not_current(
    rule: RuleVersion, bmi_days_ago: int, code_days_ago: int, listed: bool
) -> None:
    resources = [
        condition(OBESITY_BMI_30, onset_days_ago=code_days_ago),
        observation("39156-5", 29.9, "kg/m2", days_ago=bmi_days_ago),
    ]
    shorts = [item.short for item in assess(rule, resources).other_factors]
    assert ("obesity" in shorts) is listed


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("value", "comparator", "short"), [(30.0, None, "BMI 30"), (40.0, ">", "BMI >40")]
)
def test_a_bmi_of_30_or_more_is_shown_as_reported(
    rule: RuleVersion, value: float, comparator: str | None, short: str
) -> None:
    bmi = observation("39156-5", value, "kg/m2", days_ago=30, comparator=comparator)
    finding = fired_rule(rule, complaint(), condition(OBESITY_BMI_30, onset_days_ago=400), bmi)
    assert short in finding.summary
    lines = {e.label: e.value for e in finding.evidence}
    assert lines["BMI"].startswith(f"{comparator or ''}{value:g} kg/m2")


@pytest.mark.rule_versions(since="1.1.0")
def test_the_wider_value_sets_are_read(rule: RuleVersion) -> None:
    assessment = assess(
        rule,
        [
            condition(HEART_FAILURE_CHRONIC),
            condition(CANCER_ICD[0], system=CANCER_ICD[1], onset_days_ago=60),
        ],
    )
    assert [i.short for i in assessment.wells_items] == ["active cancer"]
    assert [i.short for i in assessment.other_factors] == ["heart failure"]


@pytest.mark.rule_versions(since="1.1.0")
def test_leg_pain_as_a_visit_reason_reference_opens_the_card(rule: RuleVersion) -> None:
    pain = condition(LEG_PAIN_LEFT[0], system=ICD10, clinical_status="resolved", onset_days_ago=400)
    visit = encounter(start_days_ago=3)
    visit["reasonReference"] = [{"reference": f"Condition/{pain['id']}"}]
    finding = fired_rule(rule, pain, visit, procedure(HIP_REPLACEMENT, days_ago=21), prior_vte())
    assert finding.severity == "warning"
    assert loincs(finding) == ["39432-0"]


@pytest.mark.rule_versions(since="1.1.0")
def test_busy_record_keeps_details_short(rule: RuleVersion) -> None:
    resources = [
        complaint(SWELLING_RIGHT_LEG),
        complaint(),
        condition(CANCER, onset_days_ago=30),
        condition(PARALYSIS),
        procedure(HIP_REPLACEMENT, days_ago=10),
        prior_vte(),
        procedure(CHILDBIRTH, days_ago=20),
        condition(MI, onset_days_ago=30),
        condition(COPD),
        condition("84114007"),
        observation("39156-5", 41.2, "kg/m2", days_ago=20),
        medication_request("4083", "Estradiol 1 MG Oral Tablet"),
        medication_request("1364430", "apixaban 5 MG"),
        medication_request(None, "Trinessa 28 Day Pack"),
    ]
    finding = fired_rule(rule, *resources)
    assert finding.severity == "warning"
    assert loincs(finding) == ["39420-5"]  # right swelling and left pain: both legs
    short_details(finding)
    assert finding.cautions[0].startswith("The score is partial")


@pytest.mark.rule_versions(since="1.1.0")
def test_rule_1_1_0_declares_what_it_reads(rule: RuleVersion) -> None:
    assert (rule.version, rule.terminology) == ("1.1.0", "2026.12")
    assert {"cesarean", "leg-pain", "leg-cramp", "pulmonary-embolism"} <= set(rule.valuesets)
    assert rule.source_label != "Leg pain & cramps CDS"
    assert rule.provenance.url.startswith("https://doi.org/")


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("side", "loinc"),
    [("left", "39432-0"), ("right", "39443-7"), ("both", "39420-5"), (None, "39420-5")],
)
def test_the_duplex_is_of_the_leg_on_record(
    rule: RuleVersion, side: str | None, loinc: str
) -> None:
    logic = rule.logic
    assert isinstance(logic, v1_1_0.DvtRisk)
    suggestion = logic.duplex_of(side, "Suspected DVT")
    assert (suggestion.loinc, suggestion.reason) == (loinc, "Suspected DVT")
