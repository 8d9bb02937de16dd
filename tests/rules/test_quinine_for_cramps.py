"""quinine-for-cramps (clinical-content.md §18), every version."""

from __future__ import annotations

from typing import Any

import pytest

from cds.cards import render_card
from cds.rules.base import Finding, Fired, RuleVersion
from tests.support.card_text import assert_short_and_plain
from tests.support.fhir import ICD10, draft_order, encounter, medication_request, when
from tests.support.rules import fired_rule, rule_fixture, run_rule

rule = rule_fixture("quinine-for-cramps")


def quinine(**kwargs: Any) -> dict[str, Any]:
    return medication_request("9071", "Quinine", **kwargs)


def test_active_quinine_is_a_warning_on_any_chart(rule: RuleVersion) -> None:
    finding = fired_rule(rule, quinine())
    assert finding.severity == "warning"
    assert finding.summary == (
        "Quinine is not recommended for leg cramps (FDA warning: serious haematologic reactions)."
    )
    assert finding.suggestions == ()
    assert not finding.involves_draft_order
    assert finding.evidence[0].label == "Quinine"


def test_no_quinine_no_card(rule: RuleVersion) -> None:
    assert run_rule(rule) is None
    assert run_rule(rule, medication_request("999999", "Placebo tablet")) is None


@pytest.mark.rule_versions(until="1.0.0")
def test_quinine_ended_within_grace_still_counts(rule: RuleVersion) -> None:
    assert fired_rule(rule, quinine(status="completed", days_ago=60, ended_days_ago=30))
    assert run_rule(rule, quinine(status="completed", days_ago=60, ended_days_ago=31)) is None


def test_cancelled_or_entered_in_error_order_is_ignored(rule: RuleVersion) -> None:
    assert run_rule(rule, quinine(status="cancelled")) is None
    assert run_rule(rule, quinine(status="entered-in-error")) is None


def test_drafted_quinine_involves_the_order(rule: RuleVersion) -> None:
    finding = fired_rule(rule, draft_orders=[draft_order("9071", "Quinine")])
    assert finding.involves_draft_order
    assert finding.summary.startswith("Quinine being ordered is not recommended for leg cramps")


def test_text_match_is_flagged_low_confidence(rule: RuleVersion) -> None:
    finding = fired_rule(rule, medication_request(None, "Quinine sulfate 324 mg capsule"))
    assert finding.severity == "warning"
    assert any("name only" in c for c in finding.cautions)
    assert finding.evidence[0].note


# == 1.1.0 (§22) ===============================================================================


def card_actions(rule: RuleVersion, finding: Finding) -> list[dict[str, Any]]:
    card = render_card(
        Fired(rule, finding), hook_instance="hook-1", patient_id="patient-1", ruleset_release="x"
    ).to_wire()
    return [a for s in card.get("suggestions", []) for a in s["actions"]]


@pytest.mark.rule_versions(since="1.1.0")
def test_an_active_quinine_order_is_offered_on_hold(rule: RuleVersion) -> None:
    order = quinine()
    finding = fired_rule(rule, order)
    assert not finding.candidate
    [action] = finding.medication_actions
    assert action.verb == "stop"
    assert action.medication.reference == f"MedicationRequest/{order['id']}"
    [update] = card_actions(rule, finding)
    assert update["type"] == "update"
    assert update["resource"]["id"] == order["id"]
    assert update["resource"]["status"] == "on-hold"
    assert "not recommended for leg cramps" in update["resource"]["statusReason"]["text"]
    assert_short_and_plain(finding)


@pytest.mark.rule_versions(since="1.1.0")
def test_a_drafted_quinine_order_is_offered_for_removal(rule: RuleVersion) -> None:
    draft = draft_order("9071", "Quinine")
    finding = fired_rule(rule, draft_orders=[draft])
    [delete] = card_actions(rule, finding)
    assert delete["type"] == "delete"
    assert delete["resourceId"] == f"MedicationRequest/{draft['id']}"


@pytest.mark.rule_versions(since="1.1.0")
def test_an_active_order_past_its_dispensing_window_still_counts(rule: RuleVersion) -> None:
    assert fired_rule(rule, quinine(days_ago=200, ended_days_ago=60)).severity == "warning"


@pytest.mark.rule_versions(since="1.1.0")
@pytest.mark.parametrize(("ended", "fires"), [(30, True), (31, False)])
def test_a_completed_order_counts_for_30_days_after_its_therapy_end(
    rule: RuleVersion, ended: int, fires: bool
) -> None:
    order = quinine(status="completed", days_ago=90)
    order["dosageInstruction"] = [
        {"timing": {"repeat": {"boundsPeriod": {"start": when(90), "end": when(ended)}}}}
    ]
    assert (run_rule(rule, order) is not None) is fires


@pytest.mark.rule_versions(since="1.1.0")
def test_a_complaint_coded_on_a_visit_is_listed(rule: RuleVersion) -> None:
    visit = encounter(start_days_ago=5, reason=(ICD10, "G47.62"))
    finding = fired_rule(rule, quinine(), visit)
    assert [e.reference for e in finding.evidence][1] == f"Encounter/{visit['id']}"


@pytest.mark.rule_versions(since="1.1.0")
def test_it_declares_the_complaint_data_it_reads(rule: RuleVersion) -> None:
    read = {(r.resource_type, r.valuesets) for r in rule.requires}
    assert ("Encounter", None) in read
    assert ("Observation", ("leg-complaint",)) in read
