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
    medication_request,
    observation,
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
