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
    encounter,
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


@pytest.mark.rule_versions(until="1.0.0")
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


@pytest.mark.rule_versions(until="1.0.0")
def test_subclinical_needs_a_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, tsh(6.5), free_t4(1.1)) is None
    finding = fired_rule(rule, tsh(6.5), free_t4(1.1), cramps())
    assert finding.severity == "info"
    assert finding.summary == (
        "TSH 6.5 mIU/L with normal free T4 (subclinical hypothyroidism) may contribute to "
        "muscle cramps."
    )


@pytest.mark.rule_versions(until="1.0.0")
def test_high_tsh_on_a_statin_with_complaint_is_a_warning(rule: RuleVersion) -> None:
    finding = fired_rule(rule, tsh(7.2), free_t4(1.1), atorvastatin(), cramps())
    assert finding.severity == "warning"
    assert finding.summary == (
        "TSH 7.2 mIU/L (high) on atorvastatin: hypothyroidism raises statin myopathy risk and "
        "can cause cramps."
    )


@pytest.mark.rule_versions(until="1.0.0")
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


@pytest.mark.rule_versions(until="1.0.0")
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


# -- 1.1.0: §22.2 q, wording, wider sets -------------------------------------------------------


@pytest.mark.rule_versions(since="1.1.0")
def test_overt_hypothyroidism_is_a_finding_on_any_chart(rule: RuleVersion) -> None:
    finding = fired_rule(rule, tsh(14, days_ago=20), free_t4(0.5, days_ago=20))
    assert finding.severity == "warning"
    assert finding.summary == (
        "TSH 14 mIU/L with low free T4 (0.5 ng/dL): overt hypothyroidism can cause muscle cramps "
        "and raised CK."
    )
    assert not finding.candidate
    assert finding.source is None  # the thyroid guideline, the rule's own
    assert "at or above 10 mIU/L" in finding.explanation
    assert finding.suggestions == ()


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("value", "overt"), [(0.79, True), (0.8, False)])
def test_free_t4_at_the_lower_limit_is_not_low(
    rule: RuleVersion, value: float, overt: bool
) -> None:
    finding = run_rule(rule, tsh(7.2), free_t4(value), atorvastatin())
    assert (finding is not None) is overt
    if finding is not None:
        assert not finding.candidate


@pytest.mark.rule_versions(since="1.1.0")
def test_high_tsh_on_a_statin_is_a_candidate_cause_with_a_complaint(rule: RuleVersion) -> None:
    assert run_rule(rule, tsh(7.2), free_t4(1.1), atorvastatin()) is None
    finding = fired_rule(rule, tsh(7.2), free_t4(1.1), atorvastatin(), cramps())
    assert finding.severity == "warning"
    assert finding.candidate
    assert finding.summary == (
        "TSH 7.2 mIU/L (high) on atorvastatin: hypothyroidism raises statin myopathy risk and may "
        "explain the leg cramps."
    )
    assert finding.source is not None
    assert finding.source.label == "2013 ACC/AHA cholesterol guideline (statin safety)"
    assert finding.source.url is None


@pytest.mark.rule_versions(since="1.1.0")
def test_high_tsh_on_a_statin_with_only_a_sams_code_is_left_to_the_statin_card(
    rule: RuleVersion,
) -> None:
    sams = condition("G72.0", system=ICD10, display="Drug-induced myopathy")
    assert run_rule(rule, tsh(7.2), free_t4(1.1), atorvastatin(), sams) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_high_tsh_with_a_drafted_statin_needs_no_complaint(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule, tsh(7.2), free_t4(1.1), draft_orders=[draft_order("83367", "atorvastatin")]
    )
    assert finding.severity == "warning"
    assert finding.candidate
    assert finding.involves_draft_order
    assert finding.summary == (
        "TSH 7.2 mIU/L (high) with atorvastatin being ordered: hypothyroidism raises statin "
        "myopathy risk."
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_statin_order_past_its_dispensing_window_is_still_a_statin(rule: RuleVersion) -> None:
    order = atorvastatin(days_ago=200, ended_days_ago=60)  # validityPeriod ended 60 days ago
    finding = fired_rule(rule, tsh(7.2), free_t4(1.1), order, cramps())
    assert finding.severity == "warning"
    assert "on atorvastatin" in finding.summary


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("complaint", "words"),
    [
        (("G47.62", "Sleep related leg cramps"), "the leg cramps."),
        (("M79.606", "Pain in leg, unspecified"), "the leg pain."),
        (("G25.81", "Restless legs syndrome"), "the restless legs."),
    ],
)
def test_subclinical_names_the_complaint_on_record(
    rule: RuleVersion, complaint: tuple[str, str], words: str
) -> None:
    code, display = complaint
    finding = fired_rule(
        rule, tsh(6.5), free_t4(1.1), condition(code, system=ICD10, display=display)
    )
    assert finding.severity == "info"
    assert finding.candidate
    assert finding.summary == (
        f"TSH 6.5 mIU/L with normal free T4 (subclinical hypothyroidism) may contribute to {words}"
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_complaint_as_a_visit_reason_counts(rule: RuleVersion) -> None:
    visit = encounter(start_days_ago=30, reason=(ICD10, "G47.62"))
    assert fired_rule(rule, tsh(6.5), free_t4(1.1), visit).severity == "info"
    old_visit = encounter(start_days_ago=91, reason=(ICD10, "G47.62"))
    assert run_rule(rule, tsh(6.5), free_t4(1.1), old_visit) is None


@pytest.mark.rule_versions(since="1.1.0")
def test_censored_results_keep_their_comparator(rule: RuleVersion) -> None:
    finding = fired_rule(rule, tsh(100, comparator=">"), free_t4(0.3, comparator="<"), cramps())
    assert finding.severity == "warning"
    assert finding.summary.startswith("TSH >100 mIU/L with low free T4 (<0.3 ng/dL)")
    values = [e.value for e in finding.evidence]
    assert values[0].startswith(">100 mIU/L")
    assert values[1].startswith("<0.3 ng/dL")


@pytest.mark.rule_versions(since="1.1.0")
def test_free_t4_by_dialysis_classifies_the_tsh(rule: RuleVersion) -> None:
    dialysis_ft4 = observation("6892-4", 0.5, "ng/dL", low=0.8, high=1.8)
    assert fired_rule(rule, tsh(9), dialysis_ft4).severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(
    ("code", "system", "display"),
    [
        ("237520009", SNOMED, "Hypothyroidism due to Hashimoto's thyroiditis"),
        ("E03.8", ICD10, "Other specified hypothyroidism"),
        ("E89.0", ICD10, "Postprocedural hypothyroidism"),
    ],
)
def test_wider_hypothyroidism_codes_are_a_known_diagnosis(
    rule: RuleVersion, code: str, system: str, display: str
) -> None:
    known = condition(code, system=system, display=display)
    assert run_rule(rule, known) is None
    finding = fired_rule(rule, known, cramps())
    assert finding.severity == "info"
    assert finding.candidate
    assert finding.summary == (
        "Hypothyroidism on record may contribute to the leg cramps; no TSH in 12 months."
    )


@pytest.mark.rule_versions(since="1.1.0")
def test_known_treated_diagnosis_is_a_candidate_cause(rule: RuleVersion) -> None:
    known = condition("40930008", system=SNOMED, display="Hypothyroidism")
    normal = tsh(2.1, days_ago=60)
    assert run_rule(rule, known, levothyroxine(), normal) is None
    finding = fired_rule(rule, known, levothyroxine(), normal, cramps())
    assert finding.severity == "info"
    assert finding.candidate
    assert finding.summary == (
        "Hypothyroidism on record (treated with levothyroxine) may contribute to the leg cramps."
    )
    assert finding.explanation.endswith("On record: latest TSH 2.1 mIU/L is not above range.")


@pytest.mark.rule_versions(since="1.1.0")
def test_a_busy_chart_gives_a_short_card(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        tsh(14),
        free_t4(0.5),
        levothyroxine(),
        atorvastatin(),
        condition("40930008", system=SNOMED, display="Hypothyroidism"),
        condition("E03.9", system=ICD10, display="Hypothyroidism, unspecified"),
        cramps(),
        condition("M79.606", system=ICD10, display="Pain in leg, unspecified"),
    )
    assert len(finding.evidence) <= 6
    assert len(finding.cautions) <= 2
    assert finding.explanation.count(". ") <= 1
    assert len(finding.explanation) <= 330
    assert "under-replacement" in finding.explanation


@pytest.mark.rule_versions(since="1.1.0")
def test_source_is_the_thyroid_guideline(rule: RuleVersion) -> None:
    assert rule.source_label == "ATA hypothyroidism guideline 2014"
    assert rule.provenance.url == "https://doi.org/10.1089/thy.2014.0028"
