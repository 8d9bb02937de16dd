"""Judging an answer (cds.replay.judge): the checks the end-to-end replays (tests/cli/
test_replay.py, tests/test_fixtures.py) do not reach."""

from __future__ import annotations

from cds.replay.judge import judge
from cds.replay.scenario import Expectation


def card(rule: str, indicator: str, summary: str = "A summary.") -> dict[str, object]:
    return {
        "summary": summary,
        "indicator": indicator,
        "source": {"label": "x", "topic": {"system": "urn:x", "code": rule}},
    }


def expect(**fields: object) -> Expectation:
    return Expectation.model_validate(fields)


def test_judge_checks_order_only_and_absent() -> None:
    body = {"cards": [card("b", "warning"), card("a", "critical"), card("c", "info")]}
    wanted = expect(
        cards=[{"rule": "a", "indicator": "critical"}, {"rule": "b", "indicator": "warning"}],
        absent=["c"],
        only=True,
    )
    cards, problems = judge(wanted, 200, body)
    assert [c.label for c in cards] == ["b:warning", "a:critical", "c:info"]
    assert problems == [
        "order: expected a before b",
        "c: must be absent, got c:info",
        "unexpected card c:info (expect.only: no other card)",
    ]


def test_judge_checks_cards_are_valid_without_expectations() -> None:
    body = {"cards": [card("a", "warning", "x" * 140), card("a", "info")]}
    _, problems = judge(None, 200, body)
    assert problems[0].startswith("card 1 is not a valid CDS Hooks card: summary")
    assert problems[1] == "rule a produced 2 cards (one per rule is the design)"
    assert judge(None, 200, {"cards": []}) == ([], [])


def test_judge_needs_an_operation_outcome_with_412() -> None:
    _, problems = judge(expect(status=412), 412, {"error": {"message": "nope"}})
    assert problems == ["a 412 answer must carry an OperationOutcome"]
    _, problems = judge(None, 412, {"resourceType": "OperationOutcome", "issue": []})
    assert problems == [
        "status: expected a valid answer (200), got 412: OperationOutcome without issues"
    ]
