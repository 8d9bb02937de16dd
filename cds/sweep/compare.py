"""What changes between two sets of pins on the same charts, rule by rule: the charts that gain
a card, the charts that lose one, and the charts whose card changes indicator. Pure; takes cards
per chart, so any two sets of results compare the same way (a sweep's baseline and candidate,
or the live and shadow answers of the same calls)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cds.sweep.results import CardResult

Move = tuple[str, str]  # (indicator before, indicator after)


@dataclass(frozen=True)
class RuleChange:
    rule: str
    baseline_versions: tuple[str, ...]  # versions seen on the baseline's cards
    candidate_versions: tuple[str, ...]
    baseline_charts: int  # charts with a card of this rule
    candidate_charts: int
    gained: tuple[str, ...]  # charts with a card under the candidate only (sorted)
    lost: tuple[str, ...]  # charts with a card under the baseline only
    moves: Mapping[Move, tuple[str, ...]]  # indicator changes -> the charts

    @property
    def moved(self) -> int:
        return sum(len(charts) for charts in self.moves.values())

    @property
    def changed(self) -> bool:
        return bool(self.gained or self.lost or self.moves)


@dataclass(frozen=True)
class Comparison:
    charts: int  # charts in both sets of results: the ones compared
    only_baseline: tuple[str, ...]
    only_candidate: tuple[str, ...]
    rules: tuple[RuleChange, ...]  # every rule with a card on either side, by rule id
    changed_charts: tuple[str, ...]  # charts where any rule gained, lost or moved

    @property
    def changed_rules(self) -> tuple[RuleChange, ...]:
        return tuple(r for r in self.rules if r.changed)


def compare(
    baseline: Mapping[str, Sequence[CardResult]],
    candidate: Mapping[str, Sequence[CardResult]],
) -> Comparison:
    """Cards per chart (chart id -> the cards shown) under two sets of pins."""
    common = sorted(set(baseline) & set(candidate))
    before = {chart: _by_rule(baseline[chart]) for chart in common}
    after = {chart: _by_rule(candidate[chart]) for chart in common}
    rules = sorted({rule for cards in (*before.values(), *after.values()) for rule in cards})
    changes = []
    changed_charts: set[str] = set()
    for rule in rules:
        gained, lost = [], []
        moves: dict[Move, list[str]] = {}
        for chart in common:
            old, new = before[chart].get(rule), after[chart].get(rule)
            if old is None and new is not None:
                gained.append(chart)
            elif old is not None and new is None:
                lost.append(chart)
            elif old is not None and new is not None and old.indicator != new.indicator:
                moves.setdefault((old.indicator, new.indicator), []).append(chart)
        changed_charts.update(gained, lost, *moves.values())
        changes.append(
            RuleChange(
                rule=rule,
                baseline_versions=_versions(before.values(), rule),
                candidate_versions=_versions(after.values(), rule),
                baseline_charts=sum(rule in cards for cards in before.values()),
                candidate_charts=sum(rule in cards for cards in after.values()),
                gained=tuple(gained),
                lost=tuple(lost),
                moves={move: tuple(charts) for move, charts in sorted(moves.items())},
            )
        )
    return Comparison(
        charts=len(common),
        only_baseline=tuple(sorted(set(baseline) - set(candidate))),
        only_candidate=tuple(sorted(set(candidate) - set(baseline))),
        rules=tuple(changes),
        changed_charts=tuple(sorted(changed_charts)),
    )


def _by_rule(cards: Sequence[CardResult]) -> dict[str, CardResult]:
    # One card per rule is the design; should a rule ever show two, the first one counts.
    found: dict[str, CardResult] = {}
    for card in cards:
        found.setdefault(card.rule, card)
    return found


def _versions(charts: Iterable[Mapping[str, CardResult]], rule: str) -> tuple[str, ...]:
    return tuple(sorted({cards[rule].version for cards in charts if rule in cards}))
