"""Judging an answer: the cards it carries, against a scenario's expectations, and the diff a
person reads when they differ. Pure."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cds.cdshooks import Card
from cds.replay.scenario import Expectation


@dataclass(frozen=True)
class CardSeen:
    rule: str  # source.topic.code: the rule id ("?" when the card has no topic)
    indicator: str
    summary: str

    @property
    def label(self) -> str:
        return f"{self.rule}:{self.indicator}"


def cards_of(body: Any) -> tuple[list[CardSeen], list[str]]:
    """The cards of a 200 body, and what makes the body or its cards invalid."""
    if not isinstance(body, dict) or not isinstance(body.get("cards"), list):
        return [], ["the answer has no 'cards' list"]
    cards: list[CardSeen] = []
    problems: list[str] = []
    for number, raw in enumerate(body["cards"], start=1):
        if not isinstance(raw, dict):
            problems.append(f"card {number} is not a JSON object")
            continue
        try:
            Card.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            problems.append(f"card {number} is not a valid CDS Hooks card: {where}: {first['msg']}")
        cards.append(CardSeen(_rule_of(raw), str(raw.get("indicator")), str(raw.get("summary"))))
    per_rule = Counter(c.rule for c in cards if c.rule != "?")
    for rule, count in sorted(per_rule.items()):
        if count > 1:
            problems.append(f"rule {rule} produced {count} cards (one per rule is the design)")
    return cards, problems


def _rule_of(card: Mapping[str, Any]) -> str:
    source = card.get("source")
    topic = source.get("topic") if isinstance(source, dict) else None
    code = topic.get("code") if isinstance(topic, dict) else None
    return code if isinstance(code, str) else "?"


def error_lines(body: Any) -> list[str]:
    """What a non-200 body says: its OperationOutcome issues, or its error message."""
    if isinstance(body, dict):
        if body.get("resourceType") == "OperationOutcome":
            issues = body.get("issue")
            return [
                str(i.get("diagnostics") or i.get("code"))
                for i in (issues if isinstance(issues, list) else [])
                if isinstance(i, dict)
            ] or ["OperationOutcome without issues"]
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return [str(error["message"])]
        if "detail" in body:
            return [str(body["detail"])]
    text = body if isinstance(body, str) else json.dumps(body)
    return [text[:300]]


def _one_line(lines: Sequence[str], width: int = 160) -> str:
    first = lines[0] if len(lines[0]) <= width else lines[0][: width - 3] + "..."
    return first + (f" (+{len(lines) - 1} more)" if len(lines) > 1 else "")


def judge(
    expected: Expectation | None,
    status: int,
    body: Any,
    *,
    rules_run: frozenset[str] | None = None,
) -> tuple[list[CardSeen], list[str]]:
    """(cards, problems): problems empty means the outcome is as expected.

    Without expectations the answer must be a valid 200. With them: the status, each expected
    card by rule with its indicator (and in the listed order), absent rules, and `only`.
    `rules_run`, when known (in process), explains a missing card whose rule the service does
    not run at all, the usual cause while rules are being pinned.
    """
    cards: list[CardSeen] = []
    problems: list[str] = []
    if status == 200:
        cards, problems = cards_of(body)
    elif status == 412 and not (
        isinstance(body, dict) and body.get("resourceType") == "OperationOutcome"
    ):
        problems.append("a 412 answer must carry an OperationOutcome")
    wanted = 200 if expected is None else expected.status
    if status != wanted:
        detail = "" if status == 200 else f": {_one_line(error_lines(body))}"
        what = "a valid answer (200)" if expected is None else str(wanted)
        problems.insert(0, f"status: expected {what}, got {status}{detail}")
        return cards, problems
    if expected is None or status != 200:
        return cards, problems
    positions: list[tuple[int, str]] = []
    by_rule: dict[str, tuple[int, CardSeen]] = {}
    for index, card in enumerate(cards):
        by_rule.setdefault(card.rule, (index, card))
    for want in expected.cards:
        if want.rule not in by_rule:
            why = ""
            if rules_run is not None and want.rule not in rules_run:
                why = " (the service does not run this rule: not pinned in its hooks/ file)"
            problems.append(f"missing card {want.rule}:{want.indicator}{why}")
            continue
        index, card = by_rule[want.rule]
        positions.append((index, want.rule))
        if card.indicator != want.indicator:
            problems.append(f"{want.rule}: expected {want.indicator}, got {card.indicator}")
        if want.summary_contains and want.summary_contains.lower() not in card.summary.lower():
            problems.append(
                f"{want.rule}: summary does not contain {want.summary_contains!r}: {card.summary!r}"
            )
    for (first, rule_a), (second, rule_b) in itertools.pairwise(positions):
        if second < first:
            problems.append(f"order: expected {rule_a} before {rule_b}")
    for rule in expected.absent:
        if rule in by_rule:
            problems.append(f"{rule}: must be absent, got {by_rule[rule][1].label}")
    if expected.only:
        allowed = {c.rule for c in expected.cards}
        for card in cards:
            if card.rule not in allowed:
                problems.append(f"unexpected card {card.label} (expect.only: no other card)")
    return cards, problems


def render_diff(
    expected: Expectation | None,
    status: int | None,
    cards: Sequence[CardSeen],
    problems: Sequence[str],
    body: Any = None,
) -> str:
    """Expected against actual, for a person reading a failed run."""
    lines = [f"  - {p}" for p in problems]
    if expected is not None:
        want = ", ".join(f"{c.rule}:{c.indicator}" for c in expected.cards) or "(none)"
        lines.append(f"  expected: status {expected.status}; cards {want}")
        if expected.absent:
            lines.append(f"            absent {', '.join(expected.absent)}")
        if expected.only:
            lines.append("            and no other card")
    got = "(no answer)" if status is None else f"status {status}"
    lines.append(f"  actual:   {got}; {len(cards)} card{'s' if len(cards) != 1 else ''}")
    for number, card in enumerate(cards, start=1):
        lines.append(f"    {number}. {card.label:36} {card.summary}")
    if status is not None and status != 200:
        lines += [f"    {line}" for line in error_lines(body)]
    return "\n".join(lines)
