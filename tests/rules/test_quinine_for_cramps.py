"""quinine-for-cramps 1.0.0 (clinical-content.md §18)."""

from __future__ import annotations

from typing import Any

from cds.rules.base import Finding
from cds.rules.quinine_for_cramps.v1_0_0 import RULE
from cds.terminology import Terminology
from tests.support.fhir import draft_order, medication_request
from tests.support.rules import fired_rule, run_rule


def quinine(**kwargs: Any) -> dict[str, Any]:
    return medication_request("9071", "Quinine", **kwargs)


def run(terminology: Terminology, *resources: dict[str, Any], **kwargs: Any) -> Finding | None:
    return run_rule(RULE, terminology, *resources, **kwargs)


def fired(terminology: Terminology, *resources: dict[str, Any], **kwargs: Any) -> Finding:
    return fired_rule(RULE, terminology, *resources, **kwargs)


def test_active_quinine_is_a_warning_on_any_chart(terminology: Terminology) -> None:
    finding = fired(terminology, quinine())
    assert finding.severity == "warning"
    assert finding.summary == (
        "Quinine is not recommended for leg cramps (FDA warning: serious haematologic reactions)."
    )
    assert finding.suggestions == ()
    assert not finding.involves_draft_order
    assert finding.evidence[0].label == "Quinine"


def test_no_quinine_no_card(terminology: Terminology) -> None:
    assert run(terminology) is None
    assert run(terminology, medication_request("999999", "Placebo tablet")) is None


def test_quinine_ended_within_grace_still_counts(terminology: Terminology) -> None:
    assert fired(terminology, quinine(status="completed", days_ago=60, ended_days_ago=30))
    assert run(terminology, quinine(status="completed", days_ago=60, ended_days_ago=31)) is None


def test_cancelled_or_entered_in_error_order_is_ignored(terminology: Terminology) -> None:
    assert run(terminology, quinine(status="cancelled")) is None
    assert run(terminology, quinine(status="entered-in-error")) is None


def test_drafted_quinine_involves_the_order(terminology: Terminology) -> None:
    finding = fired(terminology, draft_orders=[draft_order("9071", "Quinine")], hook="order-select")
    assert finding.involves_draft_order
    assert finding.summary.startswith("Quinine being ordered is not recommended for leg cramps")


def test_text_match_is_flagged_low_confidence(terminology: Terminology) -> None:
    finding = fired(terminology, medication_request(None, "Quinine sulfate 324 mg capsule"))
    assert finding.severity == "warning"
    assert any("name only" in c for c in finding.cautions)
    assert finding.evidence[0].note
