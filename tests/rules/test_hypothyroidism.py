"""hypothyroidism (clinical-content.md §16), every version."""

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

TSH = "3016-3"
TSH_SENSITIVE = "11580-8"
FREE_T4 = "3024-7"

rule = rule_fixture("hypothyroidism")


def tsh(value: float, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("low", 0.4)
    kwargs.setdefault("high", 4.2)
    return observation(TSH, value, "mIU/L", **kwargs)


def free_t4(value: float, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("low", 0.8)
    kwargs.setdefault("high", 1.8)
    return observation(FREE_T4, value, "ng/dL", **kwargs)


def cramps() -> dict[str, Any]:
    return condition("G47.62", system=ICD10, display="Sleep related leg cramps")


def atorvastatin(**kwargs: Any) -> dict[str, Any]:
    return medication_request("83367", "atorvastatin", **kwargs)


def levothyroxine(**kwargs: Any) -> dict[str, Any]:
    return medication_request("10582", "levothyroxine", **kwargs)


# -- overt -------------------------------------------------------------------------------------


def test_overt_hypothyroidism_is_a_warning_on_any_chart(rule: RuleVersion) -> None:
    finding = fired_rule(rule, tsh(14, days_ago=20), free_t4(0.5, days_ago=20))
    assert finding.severity == "warning"
    assert finding.summary == (
        "TSH 14 mIU/L with low free T4: hypothyroidism can cause muscle cramps and raised CK."
    )
    assert "at or above 10 mIU/L" in finding.explanation
    assert finding.suggestions == ()


def test_free_t4_in_pmol_l_is_converted(rule: RuleVersion) -> None:
    # 7 pmol/L = 0.54 ng/dL, below a range of 12-23 pmol/L (0.93-1.79 ng/dL).
    low_ft4 = observation(FREE_T4, 7, "pmol/L", low=12, high=23)
    assert fired_rule(rule, tsh(9), low_ft4).severity == "warning"


def test_free_t4_far_from_the_tsh_does_not_classify_it(rule: RuleVersion) -> None:
    paired = free_t4(0.5, days_ago=35)  # 30 days before a TSH drawn 5 days ago
    finding = fired_rule(rule, tsh(14, days_ago=5), paired)
    assert finding.severity == "warning"
    unpaired = free_t4(0.5, days_ago=36)  # 31 days before it
    assert run_rule(rule, tsh(14, days_ago=5), unpaired) is None  # subclinical-or-unknown


def test_free_t4_without_range_cannot_be_called_low(rule: RuleVersion) -> None:
    no_range = observation(FREE_T4, 0.5, "ng/dL")
    assert run_rule(rule, tsh(14), no_range) is None
    finding = fired_rule(rule, tsh(14), no_range, cramps())
    assert finding.severity == "info"


# -- TSH thresholds ----------------------------------------------------------------------------


def test_tsh_above_lab_range(rule: RuleVersion) -> None:
    assert fired_rule(rule, tsh(4.3), free_t4(1.0), cramps()).severity == "info"
    assert run_rule(rule, tsh(4.2), free_t4(1.0), cramps()) is None


@pytest.mark.parametrize(("value", "fires"), [(4.5, False), (4.51, True)])
def test_tsh_default_limit_without_range(rule: RuleVersion, value: float, fires: bool) -> None:
    no_range = observation(TSH, value, "mIU/L")
    assert (run_rule(rule, no_range, cramps()) is not None) is fires


def test_sensitive_tsh_code_and_units(rule: RuleVersion) -> None:
    finding = fired_rule(rule, observation(TSH_SENSITIVE, 6.1, "uIU/mL", high=4.2), cramps())
    assert finding.summary.startswith("TSH 6.1 mIU/L (high, no free T4)")
    assert [s.loinc for s in finding.suggestions] == ["3024-7"]


def test_tsh_window_is_12_months(rule: RuleVersion) -> None:
    assert fired_rule(rule, tsh(14, days_ago=365), free_t4(0.5, days_ago=365))
    assert run_rule(rule, tsh(14, days_ago=366), free_t4(0.5, days_ago=366)) is None


def test_latest_tsh_decides(rule: RuleVersion) -> None:
    assert run_rule(rule, tsh(14, days_ago=200), tsh(2.0, days_ago=10), cramps()) is None


# -- subclinical, statin ---------------------------------------------------------------------


def test_subclinical_needs_a_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, tsh(6.5), free_t4(1.1)) is None
    finding = fired_rule(rule, tsh(6.5), free_t4(1.1), cramps())
    assert finding.severity == "info"
    assert finding.summary == (
        "TSH 6.5 mIU/L with normal free T4 (subclinical hypothyroidism) may contribute to "
        "muscle cramps."
    )


def test_high_tsh_on_a_statin_with_complaint_is_a_warning(rule: RuleVersion) -> None:
    finding = fired_rule(rule, tsh(7.2), free_t4(1.1), atorvastatin(), cramps())
    assert finding.severity == "warning"
    assert finding.summary == (
        "TSH 7.2 mIU/L (high) on atorvastatin: hypothyroidism raises statin myopathy risk and "
        "can cause cramps."
    )


def test_high_tsh_on_a_statin_with_sams_code_is_a_warning(rule: RuleVersion) -> None:
    sams = condition("G72.0", system=ICD10, display="Drug-induced myopathy")
    assert fired_rule(rule, tsh(7.2), atorvastatin(), sams).severity == "warning"


def test_high_tsh_on_a_statin_alone_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, tsh(7.2), free_t4(1.1), atorvastatin()) is None


def test_high_tsh_with_drafted_statin_involves_the_order(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        tsh(7.2),
        free_t4(1.1),
        draft_orders=[draft_order("83367", "atorvastatin")],
    )
    assert finding.severity == "warning"
    assert finding.involves_draft_order


def test_statin_stopped_over_30_days_ago_is_not_a_statin(rule: RuleVersion) -> None:
    old = atorvastatin(status="stopped", days_ago=200, ended_days_ago=31)
    finding = fired_rule(rule, tsh(7.2), free_t4(1.1), old, cramps())
    assert finding.severity == "info"


def test_under_replaced_levothyroxine_is_named(rule: RuleVersion) -> None:
    finding = fired_rule(rule, tsh(12), free_t4(0.6), levothyroxine())
    assert "under-replacement" in finding.explanation


# -- known diagnosis -----------------------------------------------------------------------


def test_known_treated_diagnosis_needs_a_complaint(rule: RuleVersion) -> None:
    known = condition("40930008", system=SNOMED, display="Hypothyroidism")
    normal = tsh(2.1, days_ago=60)
    assert run_rule(rule, known, levothyroxine(), normal) is None
    finding = fired_rule(rule, known, levothyroxine(), normal, cramps())
    assert finding.severity == "info"
    assert finding.summary == (
        "Hypothyroidism on record (treated with levothyroxine) may contribute to muscle cramps."
    )
    assert finding.suggestions == ()


def test_levothyroxine_alone_counts_as_known(rule: RuleVersion) -> None:
    assert fired_rule(rule, levothyroxine(), cramps()).severity == "info"


def test_known_diagnosis_suggests_tests_in_statin_context(rule: RuleVersion) -> None:
    known = condition("E03.9", system=ICD10, display="Hypothyroidism, unspecified")
    finding = fired_rule(rule, known, atorvastatin(), cramps())
    assert finding.summary.endswith("; no TSH in 12 months.")
    assert [s.loinc for s in finding.suggestions] == ["3016-3", "3024-7"]
    # Without a statin, no TSH in 12 months is named but not ordered (§16).
    finding = fired_rule(rule, known, cramps())
    assert finding.suggestions == ()


def test_refuted_diagnosis_is_ignored(rule: RuleVersion) -> None:
    refuted = condition("40930008", system=SNOMED, verification_status="refuted")
    error = condition("E03.9", system=ICD10, verification_status="entered-in-error")
    assert run_rule(rule, refuted, error, cramps()) is None


def test_text_matched_levothyroxine_is_low_confidence(rule: RuleVersion) -> None:
    by_name = medication_request(None, "Levothyroxine 50 mcg tablet")
    finding = fired_rule(rule, by_name, cramps())
    assert any("name only" in c for c in finding.cautions)
