"""quinine-for-cramps (clinical-content.md §18), every version."""

from __future__ import annotations

from typing import Any

from cds.rules.base import RuleVersion
from tests.support.fhir import draft_order, medication_request
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
