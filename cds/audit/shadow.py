"""Shadow rule versions in the audit: what a call's shadow versions would have shown (the
invocation row's `shadow` column, JSON), and `cds audit shadow`: shadow against live, per rule.

The row (`ShadowRecord`, written by `cds.shadow` through the audit writer with the call's own
row) holds the whole would-be answer: the release's card-selection policy over the pinned
versions' findings with each shadow version's finding in place of its rule's, so a card that a
shadow version would have displaced (pe-red-flags replacing dvt-risk) is seen too.

The report compares, call by call, the cards the call showed (`issued_card`) with the cards it
would have shown (`cds.sweep.compare`, the same comparison a sweep makes between two sets of
pins), over the answered calls whose shadow versions were evaluated. Per rule:

- charts: the distinct patients with a card of the rule, live and shadow;
- cards per 1,000 calls, and the indicator mix;
- where they disagree: the charts (and calls) where the shadow answer gains a card of the rule,
  loses one, or shows it with another indicator;
- shadow versions that failed, were slow, or lacked data the calls did not prefetch.

Every compared call counts: a repeat or a retry counts on both sides alike (unlike the issued
figures of `cds audit rules`, which are about what clinicians saw).
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cds.sweep.compare import compare
from cds.sweep.results import CardResult

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

INDICATORS = ("critical", "warning", "info")
# Skip reasons: the call's shadow versions were not evaluated (cds.shadow).
TIMEOUT, BUSY, FAILED = "timeout", "busy", "failed"


# ---------------------------------------------------------------------------------------------
# The row


@dataclass(frozen=True)
class ShadowCard:
    """A card of the answer the service would have given with its shadow versions in place."""

    rule: str
    version: str
    indicator: str
    summary: str
    uuid: str

    def to_json(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "version": self.version,
            "indicator": self.indicator,
            "summary": self.summary,
            "uuid": self.uuid,
        }


@dataclass(frozen=True)
class ShadowRecord:
    """What a call's shadow versions would have shown; never returned to the EHR.

    `cards` is the whole would-be answer, in order (the cards of rules not shadowed are the
    live ones, with the same uuids); None when the shadow versions were not evaluated for this
    call, `skipped` saying why (timeout, busy, failed)."""

    versions: Mapping[str, str]  # rule id -> shadow version evaluated
    pinned: Mapping[str, str]  # rule id -> the pinned version it stands in for, if pinned
    cards: tuple[ShadowCard, ...] | None
    errors: tuple[str, ...] = ()  # rule ids whose shadow version raised or made no valid card
    # rule id -> what it declares reading that the service's prefetch does not ask for, and
    # the keys of its essential types this call could not have (then it was not run, as live)
    lacking: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    slow: Mapping[str, float] = field(default_factory=dict)  # rule id -> ms, when slow
    ms: float = 0.0  # what evaluating them cost this call
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "versions": dict(self.versions),
            "pinned": dict(self.pinned),
            "cards": None if self.cards is None else [c.to_json() for c in self.cards],
            "ms": round(self.ms, 3),
        }
        if self.errors:
            data["errors"] = list(self.errors)
        if self.lacking:
            data["lacking"] = {rule: list(what) for rule, what in self.lacking.items()}
        if self.slow:
            data["slow"] = {rule: round(ms, 1) for rule, ms in self.slow.items()}
        if self.skipped is not None:
            data["skipped"] = self.skipped
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShadowRecord:
        cards = data.get("cards")
        return cls(
            versions={str(k): str(v) for k, v in (data.get("versions") or {}).items()},
            pinned={str(k): str(v) for k, v in (data.get("pinned") or {}).items()},
            cards=None
            if cards is None
            else tuple(
                ShadowCard(
                    rule=str(c["rule"]),
                    version=str(c["version"]),
                    indicator=str(c["indicator"]),
                    summary=str(c.get("summary") or ""),
                    uuid=str(c.get("uuid") or ""),
                )
                for c in cards
            ),
            errors=tuple(str(e) for e in data.get("errors") or ()),
            lacking={
                str(k): tuple(str(x) for x in v) for k, v in (data.get("lacking") or {}).items()
            },
            slow={str(k): float(v) for k, v in (data.get("slow") or {}).items()},
            ms=float(data.get("ms") or 0.0),
            skipped=None if data.get("skipped") is None else str(data["skipped"]),
        )


# ---------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class ShadowCall:
    """An answered call with shadow versions: the cards it showed and what they would have."""

    key: str  # the invocation's id
    patient_id: str | None
    live: tuple[CardResult, ...]
    shadow: ShadowRecord


@dataclass(frozen=True)
class Burden:
    """One rule's cards on one side (live or shadow) over the compared calls."""

    charts: int  # distinct patients with a card of the rule
    cards: int
    per_1000_calls: float
    indicators: Mapping[str, int]  # indicator -> cards, most urgent first


@dataclass(frozen=True)
class Disagreement:
    """Where the shadow answer differs from the live one for a rule."""

    change: str  # "gained", "lost", or an indicator move: "warning -> critical"
    calls: int
    charts: tuple[str, ...]  # the distinct patients, sorted


@dataclass(frozen=True)
class ShadowRule:
    rule: str
    live_versions: tuple[str, ...]  # the pinned versions (none: the rule is not pinned)
    shadow_versions: tuple[str, ...]  # the shadow versions run (none: not shadowed, but its
    # cards change with the others', e.g. replaced by a shadow version of another rule)
    live: Burden
    shadow: Burden
    disagreements: tuple[Disagreement, ...]
    failed_calls: int  # calls where its shadow version raised or made no valid card
    slow_calls: int
    lacking: tuple[str, ...]  # data it declares that the service's prefetch does not ask for

    @property
    def agrees(self) -> bool:
        return not self.disagreements


@dataclass(frozen=True)
class ShadowReport:
    since: datetime | None
    calls: int  # answered calls whose shadow versions were evaluated: those compared
    charts: int  # distinct patients among them
    changed_charts: int  # patients with a call where any rule disagrees
    skipped: Mapping[str, int]  # calls not compared, by why: timeout, busy, failed
    ms_median: float | None  # what the shadow versions cost per compared call
    ms_max: float | None
    rules: tuple[ShadowRule, ...]


def build_shadow_report(connection: Connection, *, since: datetime | None) -> ShadowReport:
    """Shadow against live over the answered calls since `since` (the rows are streamed)."""
    return summarise(shadow_calls(connection, since=since), since=since)


def shadow_calls(connection: Connection, *, since: datetime | None) -> Iterator[ShadowCall]:
    import sqlalchemy as sa

    from cds.audit.models import invocation_table as inv
    from cds.audit.models import issued_card_table as card

    query = (
        sa.select(
            inv.c.id,
            inv.c.patient_id,
            inv.c.shadow,
            card.c.rule_id,
            card.c.rule_version,
            card.c.indicator,
        )
        .select_from(inv.outerjoin(card, card.c.invocation_id == inv.c.id))
        .where(inv.c.status == 200, inv.c.shadow.is_not(None))
        .order_by(inv.c.id, card.c.id)
    )
    if since is not None:
        query = query.where(inv.c.started_at >= since)
    rows = connection.execution_options(yield_per=5_000).execute(query)
    for invocation_id, group in itertools.groupby(rows, key=lambda row: row.id):
        of_call = list(group)
        first = of_call[0]
        yield ShadowCall(
            key=str(invocation_id),
            patient_id=first.patient_id,
            live=tuple(
                CardResult(row.rule_id, row.rule_version, row.indicator, "")
                for row in of_call
                if row.rule_id is not None
            ),
            shadow=ShadowRecord.from_json(first.shadow),
        )


def summarise(calls: Iterable[ShadowCall], *, since: datetime | None = None) -> ShadowReport:
    """Pure: the report's figures from the calls."""
    patient_of: dict[str, str] = {}
    live: dict[str, tuple[CardResult, ...]] = {}
    shadow: dict[str, tuple[CardResult, ...]] = {}
    skipped: Counter[str] = Counter()
    costs: list[float] = []
    live_versions: dict[str, set[str]] = {}
    shadow_versions: dict[str, set[str]] = {}
    failed: Counter[str] = Counter()
    slow: Counter[str] = Counter()
    lacking: dict[str, set[str]] = {}
    compared = 0
    for call in calls:
        record = call.shadow
        for rule, version in record.versions.items():
            shadow_versions.setdefault(rule, set()).add(version)
        for rule, version in record.pinned.items():
            live_versions.setdefault(rule, set()).add(version)
        if record.cards is None:
            skipped[record.skipped or FAILED] += 1
            continue
        compared += 1
        costs.append(record.ms)
        failed.update(set(record.errors))
        slow.update(set(record.slow))
        for rule, what in record.lacking.items():
            lacking.setdefault(rule, set()).update(what)
        # A chart is a patient; a call without one (never answered with cards) is its own.
        patient_of[call.key] = call.patient_id or f"(call {call.key})"
        would_be = tuple(
            CardResult(c.rule, c.version, c.indicator, c.summary) for c in record.cards
        )
        # Only calls with a card on either side can disagree: the others need no memory.
        if call.live or would_be:
            live[call.key] = call.live
            shadow[call.key] = would_be
    comparison = compare(live, shadow)
    changes = {change.rule: change for change in comparison.rules}
    live_burden = _burdens(live, patient_of, compared)
    shadow_burden = _burdens(shadow, patient_of, compared)
    rules = []
    for rule in sorted(set(shadow_versions) | {c.rule for c in comparison.changed_rules}):
        change = changes.get(rule)
        disagreements: list[Disagreement] = []
        if change is not None:
            kinds: list[tuple[str, tuple[str, ...]]] = [
                ("gained", change.gained),
                ("lost", change.lost),
                *((f"{old} -> {new}", moved) for (old, new), moved in change.moves.items()),
            ]
            disagreements += [
                Disagreement(kind, len(keys), _charts(keys, patient_of))
                for kind, keys in kinds
                if keys
            ]
        pinned = live_versions.get(rule) or (set(change.baseline_versions) if change else set())
        rules.append(
            ShadowRule(
                rule=rule,
                live_versions=tuple(sorted(pinned)),
                shadow_versions=tuple(sorted(shadow_versions.get(rule, ()))),
                live=live_burden.get(rule, NO_CARD),
                shadow=shadow_burden.get(rule, NO_CARD),
                disagreements=tuple(disagreements),
                failed_calls=failed[rule],
                slow_calls=slow[rule],
                lacking=tuple(sorted(lacking.get(rule, ()))),
            )
        )
    return ShadowReport(
        since=since,
        calls=compared,
        charts=len(set(patient_of.values())),
        changed_charts=len(_charts(comparison.changed_charts, patient_of)),
        skipped=dict(sorted(skipped.items())),
        ms_median=statistics.median(costs) if costs else None,
        ms_max=max(costs) if costs else None,
        rules=tuple(rules),
    )


def _burdens(
    cards_by_call: Mapping[str, tuple[CardResult, ...]],
    patient_of: Mapping[str, str],
    calls: int,
) -> dict[str, Burden]:
    """Per rule: its cards over the calls."""
    charts: dict[str, set[str]] = {}
    indicators: dict[str, Counter[str]] = {}
    for key, cards in cards_by_call.items():
        for card in cards:
            charts.setdefault(card.rule, set()).add(patient_of[key])
            indicators.setdefault(card.rule, Counter())[card.indicator] += 1
    burdens = {}
    for rule, counts in indicators.items():
        total = sum(counts.values())
        ordered = {name: counts[name] for name in INDICATORS if counts[name]}
        ordered |= {name: n for name, n in sorted(counts.items()) if name not in ordered}
        burdens[rule] = Burden(
            charts=len(charts[rule]),
            cards=total,
            per_1000_calls=1000 * total / calls if calls else 0.0,
            indicators=ordered,
        )
    return burdens


NO_CARD = Burden(charts=0, cards=0, per_1000_calls=0.0, indicators={})


def _charts(calls: Iterable[str], patient_of: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted({patient_of[key] for key in calls}))
