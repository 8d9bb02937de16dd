"""dvt-risk (§10), every version: record-derived Wells items, other VTE risk factors,
anticoagulation."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import Finding, RuleVersion
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


def test_risk_factor_only_is_info_with_d_dimer_and_duplex(rule: RuleVersion) -> None:
    finding = run_rule(rule, complaint(), medication_request("4083", "Estradiol 1 MG Oral Tablet"))
    assert finding is not None
    assert finding.severity == "info"
    assert finding.summary == (
        "VTE risk factors present (estradiol). Complete Wells exam items if leg is swollen."
    )
    assert loincs(finding) == ["39420-5", "48065-7"]
    assert "1 or less" in finding.suggestions[1].reason


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


def test_anticoagulation_is_named_and_removes_d_dimer(rule: RuleVersion) -> None:
    resources = [complaint(), condition(COPD), medication_request("1364430", "apixaban 5 MG")]
    finding = run_rule(rule, *resources)
    assert finding is not None
    assert finding.severity == "info"
    assert loincs(finding) == ["39420-5"]
    assert any("apixaban" in c and "anticoagulant" in c for c in finding.cautions)


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


def test_rule_declares_what_it_reads(rule: RuleVersion) -> None:
    assert rule.id == "dvt-risk"
    assert rule.version == "1.0.0"
    assert rule.severities == ("info", "warning")
    assert {"vte-history", "major-surgery", "anticoagulants", "leg-swelling"} <= set(rule.valuesets)
    assert rule.provenance.url.startswith("https://doi.org/")
