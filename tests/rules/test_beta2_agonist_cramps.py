"""beta2-agonist-cramps (clinical-content.md §5), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.base import RuleVersion
from tests.support.card_text import assert_short_and_plain
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

K = "2823-3"

rule = rule_fixture("beta2-agonist-cramps")


def salmeterol(**kwargs: Any) -> dict[str, Any]:
    return medication_request("36117", "salmeterol", **kwargs)


def albuterol_inhaler() -> dict[str, Any]:
    return medication_request(
        "745752", "NDA021457 200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir]"
    )


def cramps() -> dict[str, Any]:
    return condition("R25.2", system=ICD10, display="Cramp and spasm")


@pytest.mark.rule_versions(until="1.0.0")
def test_agonist_with_cramp_complaint_is_info(rule: RuleVersion) -> None:
    finding = fired_rule(rule, salmeterol(), cramps())
    assert finding.severity == "info"
    assert finding.summary == (
        "Muscle cramps are a reported effect of beta-2 agonists (salmeterol); consider as a "
        "contributor."
    )
    # No potassium on record within 90 days: a metabolic panel is suggested.
    assert [s.loinc for s in finding.suggestions] == ["51990-0"]
    assert not finding.involves_draft_order


def test_agonist_without_complaint_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, salmeterol()) is None


def test_restless_legs_or_swelling_is_not_a_cramp_context(rule: RuleVersion) -> None:
    rls = condition("32914008", system=SNOMED, display="Restless legs")
    swelling = condition("R60.0", system=ICD10, display="Localized edema")
    assert run_rule(rule, salmeterol(), rls, swelling) is None


def test_leg_pain_at_an_encounter_counts(rule: RuleVersion) -> None:
    visit = encounter(start_days_ago=20, reason=(ICD10, "M79.604"))
    assert fired_rule(rule, albuterol_inhaler(), visit).severity == "info"


@pytest.mark.rule_versions(until="1.0.0")
def test_product_code_is_matched(rule: RuleVersion) -> None:
    finding = fired_rule(rule, albuterol_inhaler(), cramps())
    assert "(albuterol)" in finding.summary


def test_low_potassium_makes_it_a_warning_on_any_chart(rule: RuleVersion) -> None:
    k = observation(K, 3.2, "mmol/L", days_ago=12)
    finding = fired_rule(rule, salmeterol(), k)
    assert finding.severity == "warning"
    assert finding.summary == (
        "Low potassium (K 3.2 mmol/L) on salmeterol: beta-2 agonists lower potassium and can add "
        "to cramps."
    )
    assert finding.labs == (("potassium", f"Observation/{k['id']}"),)
    assert finding.suggestions == ()


@pytest.mark.parametrize(("value", "low"), [(3.49, True), (3.5, False)])
def test_potassium_default_limit(rule: RuleVersion, value: float, low: bool) -> None:
    finding = run_rule(rule, salmeterol(), cramps(), observation(K, value, "mmol/L"))
    assert finding is not None
    assert finding.severity == ("warning" if low else "info")


def test_potassium_flag_and_range_are_preferred(rule: RuleVersion) -> None:
    flagged = observation(K, 3.6, "mmol/L", interpretation="L")
    assert fired_rule(rule, salmeterol(), flagged).severity == "warning"
    in_lab_range = observation(K, 3.4, "mmol/L", low=3.3, high=5.1)
    assert run_rule(rule, salmeterol(), in_lab_range) is None


def test_censored_potassium_counts_when_unambiguous(rule: RuleVersion) -> None:
    finding = fired_rule(rule, salmeterol(), observation(K, 3.0, "mmol/L", comparator="<"))
    assert finding.severity == "warning"
    assert "K <3 mmol/L" in finding.summary


def test_potassium_window_is_90_days(rule: RuleVersion) -> None:
    at_90 = observation(K, 3.0, "mmol/L", days_ago=90)
    assert fired_rule(rule, salmeterol(), at_90).severity == "warning"
    at_91 = observation(K, 3.0, "mmol/L", days_ago=91)
    assert run_rule(rule, salmeterol(), at_91) is None


def test_recent_normal_potassium_means_no_suggestion(rule: RuleVersion) -> None:
    normal = observation(K, 4.1, "mmol/L", days_ago=30)
    finding = fired_rule(rule, salmeterol(), cramps(), normal)
    assert finding.severity == "info"
    assert finding.suggestions == ()


@pytest.mark.rule_versions(until="1.0.0")
def test_agonist_stopped_more_than_30_days_ago_is_ignored(rule: RuleVersion) -> None:
    recent = salmeterol(status="stopped", days_ago=120, ended_days_ago=30)
    assert fired_rule(rule, recent, cramps()).severity == "info"
    old = salmeterol(status="stopped", days_ago=120, ended_days_ago=31)
    assert run_rule(rule, old, cramps()) is None


def test_refuted_complaint_is_ignored(rule: RuleVersion) -> None:
    refuted = condition("R25.2", system=ICD10, verification_status="refuted")
    assert run_rule(rule, salmeterol(), refuted) is None


def test_text_match_is_low_confidence(rule: RuleVersion) -> None:
    by_name = medication_request(None, "Salmeterol inhaler 50 mcg")
    finding = fired_rule(rule, by_name, cramps())
    assert any("name only" in c for c in finding.cautions)


def test_drafted_agonist_with_low_potassium_involves_the_order(rule: RuleVersion) -> None:
    finding = fired_rule(
        rule,
        observation(K, 3.1, "mmol/L"),
        draft_orders=[draft_order("435", "albuterol")],
    )
    assert finding.severity == "warning"
    assert finding.involves_draft_order


def test_drafted_agonist_alone_gives_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule, draft_orders=[draft_order("435", "albuterol")]) is None


def test_other_drug_is_not_matched(rule: RuleVersion) -> None:
    placebo = medication_request("999999", "Placebo tablet")
    assert run_rule(rule, placebo, cramps()) is None


# == 1.1.0 (§22) ===============================================================================


def leg_pain() -> dict[str, Any]:
    return condition("M79.605", system=ICD10, display="Pain in left leg")


def sleep_cramps() -> dict[str, Any]:
    return condition("G47.62", system=ICD10, display="Sleep related leg cramps")


@pytest.mark.rule_versions(since="1.1.0")
def test_the_candidate_card_says_which_complaint_is_on_record(rule: RuleVersion) -> None:
    finding = fired_rule(rule, salmeterol(), sleep_cramps())
    assert finding.severity == "info"
    assert finding.candidate
    assert finding.summary == (
        "Salmeterol with leg cramps on record: muscle cramps are a reported effect of beta-2 "
        "agonists; consider as a contributor."
    )
    assert [s.loinc for s in finding.suggestions] == ["51990-0"]
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_coded_leg_pain_is_never_called_cramps(rule: RuleVersion) -> None:
    finding = fired_rule(rule, albuterol_inhaler(), leg_pain())
    assert finding.summary.startswith("Albuterol with leg pain on record:")
    both = fired_rule(rule, albuterol_inhaler(), leg_pain(), sleep_cramps())
    assert both.summary.startswith("Albuterol with leg pain and cramps on record:")


@pytest.mark.rule_versions(since="1.1.0")
def test_a_leg_pain_recorded_as_an_observation_opens_the_card(rule: RuleVersion) -> None:
    noted = observation("75325-1", None, days_ago=4, value_code=(ICD10, "M79.604"))
    finding = fired_rule(rule, salmeterol(), noted)
    assert "with leg pain on record" in finding.summary


@pytest.mark.rule_versions(since="1.1.0")
def test_an_active_agonist_order_past_its_dispensing_window_still_counts(
    rule: RuleVersion,
) -> None:
    order = salmeterol(days_ago=300, ended_days_ago=60)
    assert fired_rule(rule, order, sleep_cramps()).severity == "info"


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("ended", "fires"), [(30, True), (31, False)])
def test_a_stopped_agonist_counts_for_30_days_after_its_therapy_end(
    rule: RuleVersion, ended: int, fires: bool
) -> None:
    stopped = salmeterol(status="stopped", days_ago=200)
    stopped["dosageInstruction"] = [
        {"timing": {"repeat": {"boundsPeriod": {"start": when(200), "end": when(ended)}}}}
    ]
    assert (run_rule(rule, stopped, sleep_cramps()) is not None) is fires


@pytest.mark.rule_versions(since="1.1.0")
def test_the_low_potassium_card_is_a_finding_shown_as_reported(rule: RuleVersion) -> None:
    finding = fired_rule(rule, salmeterol(), observation(K, 3.49, "mmol/L"))
    assert not finding.candidate
    assert finding.summary.startswith("Low potassium (K 3.49 mmol/L) on salmeterol:")
    censored = fired_rule(rule, salmeterol(), observation(K, 3.0, "mmol/L", comparator="<"))
    assert "K <3 mmol/L" in censored.summary
    [potassium] = [e for e in censored.evidence if e.label == "Potassium"]
    assert potassium.value.startswith("<3 mmol/L")
    assert_short_and_plain(censored)
