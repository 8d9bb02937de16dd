"""What the audit says, as data: recent invocations, recent feedback, and per rule version how
its cards were received (what a clinical safety team asks for). `cds audit` renders it.

Counting conventions:
- a card is counted once per uuid (an EHR retrying a call gets the same card uuids back);
- a repeat is not counted as issuing cards: a call answered with the same rule versions as the
  previous answered call of the same service for the same patient, with a new hookInstance,
  within REPEAT_SECONDS of it (the CDS Hooks sandbox calls again each time another discovery
  endpoint loads; an EHR may re-fire a hook on a refresh). The clinician saw those cards once.
  Repeats are found when the report is made, from the rows stored; they stay in the audit;
- a card counts as accepted or overridden by its latest feedback (the EHR's outcomeTimestamp):
  a card accepted and later dismissed is one overridden card, with the reason it was dismissed
  with; feedback reaches a rule through the invocation that issued its card (feedback on a card
  not in the audit is counted apart, as unmatched);
- the acceptance rate is accepted / (accepted + overridden): among cards the clinician acted on,
  since EHRs need not send feedback for cards that were only seen.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cds.audit.models import feedback_table as fb
from cds.audit.models import invocation_table as inv
from cds.audit.models import issued_card_table as card
from cds.audit.store import RuleNotEvaluated

REPEAT_SECONDS = 10.0


@dataclass(frozen=True)
class InvocationSummary:
    started_at: datetime
    service_id: str
    hook: str
    hook_instance: str
    patient_id: str | None
    status: int
    duration_ms: float
    rules: tuple[str, ...]  # rule-id@version of each card issued
    repeat: bool = False  # the same cards as the call just before (see REPEAT_SECONDS)
    # Pinned rule versions not run: data they need could not be had (keys and why).
    not_evaluated: tuple[RuleNotEvaluated, ...] = ()

    @property
    def card_count(self) -> int:
        return len(self.rules)

    @property
    def refused(self) -> bool:
        """The service answered with an error (400, 412, 413...): no card was issued."""
        return self.status != 200


@dataclass(frozen=True)
class FeedbackSummary:
    received_at: datetime
    outcome_at: datetime
    service_id: str
    card_uuid: str
    outcome: str
    rule: str | None  # None: the card is not in the audit
    patient_id: str | None
    accepted_suggestions: tuple[str, ...]
    override_system: str | None
    override_code: str | None
    override_display: str | None
    user_comment: str | None


@dataclass(frozen=True)
class ReasonCount:
    system: str | None
    code: str | None  # None: overridden without a reason
    display: str | None
    cards: int


@dataclass(frozen=True)
class RuleStats:
    rule_id: str
    rule_version: str
    issued: int
    accepted: int
    overridden: int
    override_reasons: tuple[ReasonCount, ...]

    @property
    def rule(self) -> str:
        return f"{self.rule_id}@{self.rule_version}"

    @property
    def acceptance_rate(self) -> float | None:
        acted_on = self.accepted + self.overridden
        return self.accepted / acted_on if acted_on else None


@dataclass(frozen=True)
class AuditReport:
    since: datetime | None
    invocations: tuple[InvocationSummary, ...]
    feedback: tuple[FeedbackSummary, ...]
    rules: tuple[RuleStats, ...]
    unmatched_feedback: int  # feedback on cards with no invocation in the audit
    repeats: int = 0  # calls found to be repeats since `since`: their cards are not counted


def build_report(connection: Connection, *, since: datetime | None, limit: int) -> AuditReport:
    issued = count_issued(connection, since=since)
    return AuditReport(
        since=since,
        invocations=recent_invocations(
            connection, since=since, limit=limit, repeats=issued.repeats
        ),
        feedback=recent_feedback(connection, since=since, limit=limit),
        rules=rule_stats(connection, issued, since=since),
        unmatched_feedback=unmatched_feedback(connection, since=since),
        repeats=len(issued.repeats),
    )


def recent_invocations(
    connection: Connection, *, since: datetime | None, limit: int, repeats: frozenset[int]
) -> tuple[InvocationSummary, ...]:
    """The latest `limit` invocations, most recent first; `repeats` are the ids of repeats."""
    query = sa.select(inv).order_by(inv.c.started_at.desc(), inv.c.id.desc()).limit(limit)
    if since is not None:
        query = query.where(inv.c.started_at >= since)
    rows = connection.execute(query).all()
    rules: dict[int, list[str]] = {row.id: [] for row in rows}
    if rules:
        cards = connection.execute(
            sa.select(card.c.invocation_id, card.c.rule_id, card.c.rule_version)
            .where(card.c.invocation_id.in_(rules))
            .order_by(card.c.id)  # the order the cards were shown in
        )
        for invocation_id, rule_id, rule_version in cards:
            rules[invocation_id].append(f"{rule_id}@{rule_version}")
    return tuple(
        InvocationSummary(
            started_at=row.started_at,
            service_id=row.service_id,
            hook=row.hook,
            hook_instance=row.hook_instance,
            patient_id=row.patient_id,
            status=row.status,
            duration_ms=row.duration_ms,
            rules=tuple(rules[row.id]),
            repeat=row.id in repeats,
            not_evaluated=tuple(
                RuleNotEvaluated.from_json(item) for item in row.rules_not_evaluated or ()
            ),
        )
        for row in rows
    )


# ---------------------------------------------------------------------------------------------
# Issued cards and repeats


@dataclass(frozen=True)
class Call:
    """An answered call with its cards, as the repeat check sees it."""

    invocation_id: int
    service_id: str
    patient_id: str | None
    hook_instance: str
    started_at: datetime
    cards: tuple[tuple[str, str, str], ...]  # (uuid, rule id, rule version), as shown

    @property
    def rule_versions(self) -> frozenset[tuple[str, str]]:
        return frozenset((rule_id, version) for _, rule_id, version in self.cards)


def is_repeat(call: Call, previous: Call | None) -> bool:
    """`call` shows again what `previous` (the answered call before it, same service and
    patient) showed a moment ago: the same rule versions, under a new hookInstance (the same
    one is the EHR retrying, whose cards are the same uuids and counted once anyway)."""
    return (
        previous is not None
        and call.patient_id is not None
        and call.hook_instance != previous.hook_instance
        and call.started_at - previous.started_at <= timedelta(seconds=REPEAT_SECONDS)
        and call.rule_versions == previous.rule_versions
    )


@dataclass
class IssuedCards:
    """Per rule version, the cards issued; and the ids of the repeats, which issued none."""

    issued: Counter[tuple[str, str]] = field(default_factory=Counter)
    repeats: frozenset[int] = frozenset()


def tally(calls: Iterable[Call], *, since: datetime | None) -> IssuedCards:
    """Pure: `calls` sorted by service, patient and time; those before `since` only serve as
    the call before the first ones counted."""
    result = IssuedCards()
    repeats: set[int] = set()
    for _, group in itertools.groupby(calls, key=lambda c: (c.service_id, c.patient_id)):
        previous: Call | None = None
        seen: set[str] = set()  # card uuids already counted for this patient and service
        for call in group:
            counted = since is None or call.started_at >= since
            repeat = is_repeat(call, previous)
            if counted and repeat:
                repeats.add(call.invocation_id)
            for uuid, rule_id, version in call.cards:
                if counted and not repeat and uuid not in seen:
                    result.issued[rule_id, version] += 1
                seen.add(uuid)
            previous = call
    result.repeats = frozenset(repeats)
    return result


def count_issued(connection: Connection, *, since: datetime | None) -> IssuedCards:
    """Cards issued per rule version by the answered calls since `since`, repeats apart. The
    calls are streamed in order: memory holds one patient's calls at a time."""
    query = (
        sa.select(
            inv.c.id,
            inv.c.service_id,
            inv.c.patient_id,
            inv.c.hook_instance,
            inv.c.started_at,
            card.c.uuid,
            card.c.rule_id,
            card.c.rule_version,
        )
        .select_from(inv.outerjoin(card, card.c.invocation_id == inv.c.id))
        .where(inv.c.status == 200)
        .order_by(inv.c.service_id, inv.c.patient_id, inv.c.started_at, inv.c.id, card.c.id)
    )
    if since is not None:
        # From a little earlier: the first call of the period may repeat one just before it.
        query = query.where(inv.c.started_at >= since - timedelta(seconds=REPEAT_SECONDS))
    rows = connection.execution_options(yield_per=5_000).execute(query)
    return tally(_calls(rows), since=since)


def _calls(rows: Iterable[Any]) -> Iterator[Call]:
    """One Call per invocation, from its rows: one per card (one without a card for none)."""
    for _, group in itertools.groupby(rows, key=lambda row: row.id):
        of_call = list(group)
        first = of_call[0]
        yield Call(
            invocation_id=first.id,
            service_id=first.service_id,
            patient_id=first.patient_id,
            hook_instance=first.hook_instance,
            started_at=first.started_at,
            cards=tuple(
                (row.uuid, row.rule_id, row.rule_version) for row in of_call if row.uuid is not None
            ),
        )


def recent_feedback(
    connection: Connection, *, since: datetime | None, limit: int
) -> tuple[FeedbackSummary, ...]:
    query = (
        sa.select(fb, card.c.rule_id, card.c.rule_version, inv.c.patient_id)
        .select_from(
            fb.outerjoin(
                card,
                sa.and_(card.c.invocation_id == fb.c.invocation_id, card.c.uuid == fb.c.card_uuid),
            ).outerjoin(inv, inv.c.id == fb.c.invocation_id)
        )
        .order_by(fb.c.received_at.desc(), fb.c.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(fb.c.received_at >= since)
    return tuple(
        FeedbackSummary(
            received_at=row.received_at,
            outcome_at=row.outcome_at,
            service_id=row.service_id,
            card_uuid=row.card_uuid,
            outcome=row.outcome,
            rule=f"{row.rule_id}@{row.rule_version}" if row.rule_id else None,
            patient_id=row.patient_id,
            accepted_suggestions=tuple(row.accepted_suggestions),
            override_system=row.override_system,
            override_code=row.override_code,
            override_display=row.override_display,
            user_comment=row.user_comment,
        )
        for row in connection.execute(query)
    )


def latest_feedback() -> sa.Subquery:
    """Each card's latest feedback (by the EHR's outcomeTimestamp, then arrival), for the cards
    whose invocation is in the audit: what the clinician finally did with it."""
    ranked = (
        sa.select(
            fb,
            sa.func.row_number()
            .over(partition_by=fb.c.card_uuid, order_by=(fb.c.outcome_at.desc(), fb.c.id.desc()))
            .label("rank"),
        )
        .where(fb.c.invocation_id.is_not(None))
        .subquery()
    )
    return sa.select(ranked).where(ranked.c.rank == 1).subquery("latest_feedback")


def rule_stats(
    connection: Connection, issued: IssuedCards, *, since: datetime | None
) -> tuple[RuleStats, ...]:
    """Per rule version: cards issued (by invocations since `since`, repeats apart: `issued`)
    and what the clinicians finally did with them."""
    rule = (card.c.rule_id, card.c.rule_version)
    in_period = [inv.c.started_at >= since] if since is not None else []
    latest = latest_feedback()
    cards_with_feedback = latest.join(
        card,
        sa.and_(card.c.invocation_id == latest.c.invocation_id, card.c.uuid == latest.c.card_uuid),
    ).join(inv, inv.c.id == latest.c.invocation_id)
    distinct_cards = sa.func.count(sa.distinct(card.c.uuid))

    outcomes: dict[tuple[str, str, str], int] = {
        (rule_id, version, outcome): count
        for rule_id, version, outcome, count in connection.execute(
            sa.select(*rule, latest.c.outcome, distinct_cards)
            .select_from(cards_with_feedback)
            .where(*in_period)
            .group_by(*rule, latest.c.outcome)
        )
    }
    reasons: dict[tuple[str, str], list[ReasonCount]] = {}
    for rule_id, version, system, code, display, count in connection.execute(
        sa.select(
            *rule,
            latest.c.override_system,
            latest.c.override_code,
            sa.func.max(latest.c.override_display),  # the EHR may word one code differently
            distinct_cards,
        )
        .select_from(cards_with_feedback)
        .where(latest.c.outcome == "overridden", *in_period)
        .group_by(*rule, latest.c.override_system, latest.c.override_code)
    ):
        reasons.setdefault((rule_id, version), []).append(
            ReasonCount(system=system, code=code, display=display, cards=count)
        )
    return tuple(
        RuleStats(
            rule_id=rule_id,
            rule_version=version,
            issued=issued.issued[rule_id, version],
            accepted=outcomes.get((rule_id, version, "accepted"), 0),
            overridden=outcomes.get((rule_id, version, "overridden"), 0),
            override_reasons=tuple(
                sorted(reasons.get((rule_id, version), ()), key=lambda r: (-r.cards, r.code or ""))
            ),
        )
        for rule_id, version in sorted(issued.issued)
    )


def unmatched_feedback(connection: Connection, *, since: datetime | None) -> int:
    query = sa.select(sa.func.count()).select_from(fb).where(fb.c.invocation_id.is_(None))
    if since is not None:
        query = query.where(fb.c.received_at >= since)
    return int(connection.execute(query).scalar_one())
