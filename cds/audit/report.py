"""What the audit says, as data: recent invocations, recent feedback, and per rule version how
its cards were received (what a clinical safety team asks for). `cds audit` renders it.

Counting conventions:
- a card is counted once per uuid (an EHR retrying a call gets the same card uuids back);
- accepted / overridden count cards with at least one such feedback; feedback reaches a rule
  through the invocation that issued its card (feedback on a card not in the audit is counted
  apart, as unmatched);
- the acceptance rate is accepted / (accepted + overridden): among cards the clinician acted on,
  since EHRs need not send feedback for cards that were only seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cds.audit.models import feedback_table as fb
from cds.audit.models import invocation_table as inv
from cds.audit.models import issued_card_table as card


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

    @property
    def card_count(self) -> int:
        return len(self.rules)


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


def build_report(connection: Connection, *, since: datetime | None, limit: int) -> AuditReport:
    return AuditReport(
        since=since,
        invocations=recent_invocations(connection, since=since, limit=limit),
        feedback=recent_feedback(connection, since=since, limit=limit),
        rules=rule_stats(connection, since=since),
        unmatched_feedback=unmatched_feedback(connection, since=since),
    )


def recent_invocations(
    connection: Connection, *, since: datetime | None, limit: int
) -> tuple[InvocationSummary, ...]:
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
        )
        for row in rows
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


def rule_stats(connection: Connection, *, since: datetime | None) -> tuple[RuleStats, ...]:
    """Per rule version: cards issued (by invocations since `since`) and the feedback on them."""
    rule = (card.c.rule_id, card.c.rule_version)
    in_period = [inv.c.started_at >= since] if since is not None else []
    cards_with_feedback = fb.join(
        card, sa.and_(card.c.invocation_id == fb.c.invocation_id, card.c.uuid == fb.c.card_uuid)
    ).join(inv, inv.c.id == fb.c.invocation_id)
    distinct_cards = sa.func.count(sa.distinct(card.c.uuid))

    issued = connection.execute(
        sa.select(*rule, distinct_cards)
        .select_from(card.join(inv, inv.c.id == card.c.invocation_id))
        .where(*in_period)
        .group_by(*rule)
    ).all()
    outcomes: dict[tuple[str, str, str], int] = {
        (rule_id, version, outcome): count
        for rule_id, version, outcome, count in connection.execute(
            sa.select(*rule, fb.c.outcome, distinct_cards)
            .select_from(cards_with_feedback)
            .where(*in_period)
            .group_by(*rule, fb.c.outcome)
        )
    }
    reasons: dict[tuple[str, str], list[ReasonCount]] = {}
    for rule_id, version, system, code, display, count in connection.execute(
        sa.select(
            *rule,
            fb.c.override_system,
            fb.c.override_code,
            sa.func.max(fb.c.override_display),  # the EHR may word one code differently
            distinct_cards,
        )
        .select_from(cards_with_feedback)
        .where(fb.c.outcome == "overridden", *in_period)
        .group_by(*rule, fb.c.override_system, fb.c.override_code)
    ):
        reasons.setdefault((rule_id, version), []).append(
            ReasonCount(system=system, code=code, display=display, cards=count)
        )
    return tuple(
        RuleStats(
            rule_id=rule_id,
            rule_version=version,
            issued=count,
            accepted=outcomes.get((rule_id, version, "accepted"), 0),
            overridden=outcomes.get((rule_id, version, "overridden"), 0),
            override_reasons=tuple(
                sorted(reasons.get((rule_id, version), ()), key=lambda r: (-r.cards, r.code or ""))
            ),
        )
        for rule_id, version, count in sorted(issued, key=lambda row: (row[0], row[1]))
    )


def unmatched_feedback(connection: Connection, *, since: datetime | None) -> int:
    query = sa.select(sa.func.count()).select_from(fb).where(fb.c.invocation_id.is_(None))
    if since is not None:
        query = query.where(fb.c.received_at >= since)
    return int(connection.execute(query).scalar_one())
