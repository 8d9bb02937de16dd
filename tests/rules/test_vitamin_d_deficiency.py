"""vitamin-d-deficiency (clinical-content.md §15), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.fhir import (
    ICD10,
    SNOMED,
    condition,
    draft_order,
    encounter,
    medication_request,
    observation,
    when,
)
from tests.support.rules import fired_rule, rule_fixture, run_rule

VIT_D_MASS = "62292-8"  # ng/mL
VIT_D_MOLES = "14635-7"  # nmol/L
CALCIDIOL = "1989-3"  # ng/mL

rule = rule_fixture("vitamin-d-deficiency")


def leg_pain() -> dict[str, Any]:
    return condition("M79.606", system=ICD10, display="Pain in leg, unspecified")


def cholecalciferol(**kwargs: Any) -> dict[str, Any]:
    return medication_request("2418", "Cholecalciferol", **kwargs)


def atorvastatin() -> dict[str, Any]:
    return medication_request("83367", "atorvastatin")


def test_deficiency_is_a_warning_on_any_chart(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(VIT_D_MASS, 9, "ng/mL", days_ago=40))
    assert finding.severity == "warning"
    assert finding.summary == (
        "25-OH vitamin D 9 ng/mL (deficient) may contribute to muscle aches and cramps."
    )
    # No screening suggestion outside statin muscle context (Endocrine Society 2024).
    assert finding.suggestions == ()


@pytest.mark.rule_versions(until="1.0.0")
def test_summary_names_statin_intolerance_on_a_statin(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"), atorvastatin())
    assert finding.summary == (
        "25-OH vitamin D 9 ng/mL (deficient) may contribute to muscle aches and statin intolerance."
    )


@pytest.mark.parametrize(
    ("value", "severity"),
    [(11.9, "warning"), (12.0, "info"), (19.9, "info")],
)
def test_thresholds_with_a_complaint(rule: RuleVersion, value: float, severity: str) -> None:
    finding = fired_rule(rule, observation(VIT_D_MASS, value, "ng/mL"), leg_pain())
    assert finding.severity == severity


def test_20_ng_ml_is_not_low(rule: RuleVersion) -> None:
    assert run_rule(rule, observation(VIT_D_MASS, 20, "ng/mL"), leg_pain()) is None


def test_insufficiency_needs_a_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, observation(VIT_D_MASS, 15, "ng/mL")) is None
    finding = fired_rule(rule, observation(VIT_D_MASS, 15, "ng/mL"), leg_pain())
    assert finding.severity == "info"
    assert "(insufficient)" in finding.summary


@pytest.mark.parametrize(
    ("nmol", "severity"),
    [(29.9, "warning"), (30.0, None), (49.9, None)],
)
def test_nmol_l_is_converted(rule: RuleVersion, nmol: float, severity: str | None) -> None:
    # 29.9 nmol/L = 11.98 ng/mL (deficient); 30 nmol/L = 12.02 ng/mL (insufficient: no card
    # without a complaint); 49.9 nmol/L = 19.99 ng/mL (insufficient).
    finding = run_rule(rule, observation(VIT_D_MOLES, nmol, "nmol/L"))
    assert (finding.severity if finding else None) == severity


def test_calcidiol_code_counts(rule: RuleVersion) -> None:
    assert fired_rule(rule, observation(CALCIDIOL, 8, "ng/mL")).severity == "warning"


def test_censored_result_is_read_when_unambiguous(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(VIT_D_MASS, 5, "ng/mL", comparator="<"))
    assert finding.severity == "warning"
    assert "<5 ng/mL" in finding.summary


def test_window_is_12_months(rule: RuleVersion) -> None:
    assert fired_rule(rule, observation(VIT_D_MASS, 8, "ng/mL", days_ago=365))
    assert run_rule(rule, observation(VIT_D_MASS, 8, "ng/mL", days_ago=366)) is None


def test_latest_result_decides(rule: RuleVersion) -> None:
    old_low = observation(VIT_D_MASS, 8, "ng/mL", days_ago=200)
    new_normal = observation(VIT_D_MASS, 32, "ng/mL", days_ago=20)
    assert run_rule(rule, old_low, new_normal, leg_pain()) is None


def test_supplement_lowers_deficiency_to_info(rule: RuleVersion) -> None:
    low = observation(VIT_D_MASS, 9, "ng/mL")
    assert run_rule(rule, low, cholecalciferol()) is None  # info needs a complaint
    finding = fired_rule(rule, low, cholecalciferol(), leg_pain())
    assert finding.severity == "info"
    assert any("already prescribed (cholecalciferol)" in c for c in finding.cautions)


@pytest.mark.rule_versions(until="1.0.0")
def test_supplement_stopped_over_30_days_ago_does_not_count(rule: RuleVersion) -> None:
    stopped = cholecalciferol(status="stopped", days_ago=200, ended_days_ago=31)
    assert fired_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"), stopped).severity == "warning"
    recent = cholecalciferol(status="stopped", days_ago=200, ended_days_ago=30)
    assert run_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"), recent) is None


def test_recheck_suggested_in_statin_context_after_replacement(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        observation(VIT_D_MASS, 9, "ng/mL", days_ago=100),
        cholecalciferol(),
        atorvastatin(),
        leg_pain(),
    )
    assert [s.loinc for s in finding.suggestions] == ["62292-8"]
    assert any(e.label == "atorvastatin" for e in finding.evidence)


def test_coded_deficiency_without_result_needs_complaint(rule: RuleVersion) -> None:
    coded = condition("34713006", system=SNOMED, display="Vitamin D deficiency")
    assert run_rule(rule, coded) is None
    finding = fired_rule(rule, coded, leg_pain())
    assert finding.severity == "info"
    assert finding.summary.startswith("Vitamin D deficiency on record, no 25-OH D result")
    assert finding.suggestions == ()


def test_coded_deficiency_in_statin_context_suggests_the_test(rule: RuleVersion) -> None:
    coded = condition("E55.9", system=ICD10, display="Vitamin D deficiency, unspecified")
    finding = fired_rule(rule, coded, atorvastatin(), leg_pain())
    assert [s.loinc for s in finding.suggestions] == ["62292-8"]


def test_coded_deficiency_with_a_normal_result_gives_no_card(rule: RuleVersion) -> None:
    coded = condition("34713006", system=SNOMED)
    normal = observation(VIT_D_MASS, 28, "ng/mL", days_ago=60)
    assert run_rule(rule, coded, leg_pain(), normal) is None


def test_refuted_coded_deficiency_is_ignored(rule: RuleVersion) -> None:
    refuted = condition("34713006", system=SNOMED, verification_status="refuted")
    error = condition("E55.9", system=ICD10, verification_status="entered-in-error")
    assert run_rule(rule, refuted, error, leg_pain()) is None


def test_text_matched_supplement_is_low_confidence(rule: RuleVersion) -> None:
    by_name = medication_request(None, "Vitamin D 1000 IU")
    finding = fired_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"), by_name, leg_pain())
    assert any("name only" in c for c in finding.cautions)


def test_drafted_statin_in_context_involves_the_order(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        observation(VIT_D_MASS, 9, "ng/mL"),
        leg_pain(),
        draft_orders=[draft_order("83367", "atorvastatin")],
    )
    assert finding.severity == "warning"
    assert finding.involves_draft_order


# -- 1.1.0: §22.2 b, n, wording --------------------------------------------------------------


def with_therapy_end(order: dict[str, Any], *, days_ago: float) -> dict[str, Any]:
    order["dosageInstruction"] = [
        {"timing": {"repeat": {"boundsPeriod": {"start": when(400), "end": when(days_ago)}}}}
    ]
    return order


def leg_cramps() -> dict[str, Any]:
    return condition("G47.62", system=ICD10, display="Sleep related leg cramps")


@pytest.mark.rule_versions(since="1.1.0")
def test_on_a_statin_without_symptoms_the_card_names_a_risk_not_an_intolerance(
    rule: RuleVersion,
) -> None:
    finding = fired_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"), atorvastatin())
    assert finding.summary == (
        "25-OH vitamin D 9 ng/mL (deficient) on atorvastatin predisposes to statin muscle symptoms."
    )
    assert "intolerance" not in finding.summary
    assert not finding.candidate


@pytest.mark.rule_versions(since="1.1.0")
def test_a_coded_statin_myopathy_is_named_as_on_record(rule: RuleVersion) -> None:
    sams = condition("16462851000119106", display="Myalgia caused by statin (finding)")
    finding = fired_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"), atorvastatin(), sams)
    assert finding.summary == (
        "25-OH vitamin D 9 ng/mL (deficient) may contribute to the muscle symptoms on record."
    )
    assert any(e.label == "Myalgia caused by statin (finding)" for e in finding.evidence)


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("complaint", "words"),
    [(leg_pain, "the leg pain on record"), (leg_cramps, "the leg cramps on record")],
)
def test_the_summary_names_the_complaint_on_record(
    rule: RuleVersion, complaint: Any, words: str
) -> None:
    finding = fired_rule(rule, observation(VIT_D_MASS, 16, "ng/mL"), atorvastatin(), complaint())
    assert finding.summary == f"25-OH vitamin D 16 ng/mL (insufficient) may contribute to {words}."
    assert finding.candidate
    assert "statin-associated muscle symptoms" in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
def test_without_statin_or_complaint_the_summary_names_what_deficiency_causes(
    rule: RuleVersion,
) -> None:
    finding = fired_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"))
    assert finding.summary == (
        "25-OH vitamin D 9 ng/mL (deficient) may contribute to muscle aches and cramps."
    )
    assert "statin" not in finding.explanation
    assert finding.explanation.count(". ") <= 1


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("value", "supplement", "severity"),
    [
        (11.9, False, "warning"),
        (11.9, True, "info"),
        (12.0, False, "info"),
        (12.0, True, "info"),
    ],
)
def test_a_supplement_lowers_a_warning_to_a_candidate_cause(
    rule: RuleVersion, value: float, supplement: bool, severity: str
) -> None:
    resources = [observation(VIT_D_MASS, value, "ng/mL")]
    if supplement:
        resources.append(cholecalciferol())
    without_complaint = run_rule(rule, *resources)
    if severity == "warning":
        assert without_complaint is not None
        assert not without_complaint.candidate
    else:
        assert without_complaint is None  # a candidate cause needs the complaint
    finding = fired_rule(rule, *resources, leg_pain())
    assert finding.severity == severity
    assert finding.candidate is (severity == "info")


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("ended_days_ago", "lowers"), [(30, True), (31, False)])
def test_a_supplement_counts_for_30_days_after_its_therapy_end(
    rule: RuleVersion, ended_days_ago: int, lowers: bool
) -> None:
    stopped = with_therapy_end(
        cholecalciferol(status="stopped", days_ago=200), days_ago=ended_days_ago
    )
    finding = run_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"), stopped)
    assert (finding is None) is lowers
    if finding is not None:
        assert finding.severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
def test_a_supplement_past_its_dispensing_window_still_counts(rule: RuleVersion) -> None:
    order = cholecalciferol(days_ago=200, ended_days_ago=100)  # validityPeriod ended
    finding = fired_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"), order, leg_pain())
    assert finding.severity == "info"
    assert any("already prescribed" in c for c in finding.cautions)


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("code", "display"),
    [("R60.0", "Localized edema"), ("G25.81", "Restless legs syndrome")],
)
def test_swelling_or_restless_legs_alone_do_not_open_a_candidate_card(
    rule: RuleVersion, code: str, display: str
) -> None:
    complaint = condition(code, system=ICD10, display=display)
    assert run_rule(rule, observation(VIT_D_MASS, 15, "ng/mL"), complaint) is None
    coded = condition("34713006", system=SNOMED, display="Vitamin D deficiency")
    assert run_rule(rule, coded, complaint) is None
    # A finding still fires on its own.
    assert fired_rule(rule, observation(VIT_D_MASS, 9, "ng/mL"), complaint).severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
def test_a_complaint_as_a_visit_reason_counts(rule: RuleVersion) -> None:
    visit = encounter(start_days_ago=14, reason=(ICD10, "M79.606"))
    finding = fired_rule(rule, observation(VIT_D_MASS, 15, "ng/mL"), visit)
    assert finding.severity == "info"
    assert finding.summary.endswith("may contribute to the leg pain on record.")


@pytest.mark.rule_versions(since="1.1.0")
def test_a_censored_result_keeps_its_comparator(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(VIT_D_MASS, 5, "ng/mL", comparator="<"))
    assert finding.summary.startswith("25-OH vitamin D <5 ng/mL (deficient)")
    assert finding.evidence[0].value.startswith("<5 ng/mL")
    # "<15" cannot be placed below 12: insufficient, not deficient.
    assert run_rule(rule, observation(VIT_D_MASS, 15, "ng/mL", comparator="<")) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_a_coded_deficiency_without_result_is_a_candidate_cause(rule: RuleVersion) -> None:
    coded = condition("34713006", system=SNOMED, display="Vitamin D deficiency")
    finding = fired_rule(rule, coded, leg_pain())
    assert finding.severity == "info"
    assert finding.candidate
    assert finding.summary == (
        "Vitamin D deficiency on record, no 25-OH D result in 12 months: may contribute to the "
        "leg pain on record."
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_source_is_the_vitamin_d_guideline(rule: RuleVersion) -> None:
    assert rule.source_label == "Endocrine Society vitamin D guideline 2011"
    assert rule.provenance.url == "https://doi.org/10.1210/jc.2011-0385"
