"""What `cds audit` counts (cds.audit.report), on SQLite and PostgreSQL: a card by its latest
feedback, and repeated calls (the same cards again, seconds later, under a new hookInstance)
not counted as issuing cards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from cds.audit.connection import make_engine
from cds.audit.database import SqlAuditStore
from cds.audit.models import invocation_table
from cds.audit.report import AuditReport, build_report
from cds.audit.store import InvocationRecord, IssuedCard, RuleNotEvaluated
from cds.cdshooks import FeedbackItem

SERVICE = "leg-pain-patient-view"
DIURETIC = ("diuretic-electrolytes", "1.0.0")
STATIN = ("statin-muscle-symptoms", "1.0.0")
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def call(
    hook_instance: str,
    seconds: float,
    *cards: tuple[str, tuple[str, str]],
    patient: str | None = "patient-1",
    status: int = 200,
    not_evaluated: tuple[RuleNotEvaluated, ...] = (),
) -> InvocationRecord:
    """An invocation `seconds` after T0; cards: (uuid, (rule id, version))."""
    return InvocationRecord(
        hook_instance=hook_instance,
        service_id=SERVICE,
        hook="patient-view",
        ruleset_release="2026.11.1",
        patient_id=patient,
        started_at=T0 + timedelta(seconds=seconds),
        duration_ms=10.0,
        status=status,
        cards=tuple(IssuedCard(uuid, *rule, "warning") for uuid, rule in cards),
        rules_not_evaluated=not_evaluated,
    )


# What a call answered while FamilyMemberHistory could not be had (the FHIR server said 400).
NOT_EVALUATED = (
    RuleNotEvaluated("dvt-risk", "1.0.0", (("FamilyMemberHistory", "unsupported"),)),
    RuleNotEvaluated(
        "pad-rest-pain",
        "1.0.0",
        (("FamilyMemberHistory", "unsupported"), ("Procedure", "timeout")),
    ),
)


def feedback(card: str, outcome: str, minutes: float, code: str = "not-relevant") -> FeedbackItem:
    raw: dict[str, Any] = {
        "card": card,
        "outcome": outcome,
        "outcomeTimestamp": (T0 + timedelta(minutes=minutes)).isoformat(),
    }
    if outcome == "accepted":
        raw["acceptedSuggestions"] = [{"id": "s-1"}]
    else:
        raw["overrideReason"] = {
            "reason": {"system": "urn:legpain-cds:override-reason", "code": code}
        }
    return FeedbackItem.model_validate(raw)


def report(database_url: str, since: datetime | None = None) -> AuditReport:
    engine = make_engine(database_url, immediate_writes=False)
    try:
        with engine.connect() as connection:
            return build_report(connection, since=since, limit=100)
    finally:
        engine.dispose()


def figures(result: AuditReport) -> dict[str, tuple[int, int, int]]:
    return {r.rule: (r.issued, r.accepted, r.overridden) for r in result.rules}


def test_a_card_accepted_then_dismissed_counts_once_as_dismissed(
    store: SqlAuditStore, database_url: str
) -> None:
    store.record_invocations(
        [call("hi-1", 0, ("a-1", DIURETIC)), call("hi-2", 600, ("a-2", DIURETIC))]
    )
    store.record_feedback(
        SERVICE,
        [
            feedback("a-1", "accepted", 1),
            feedback("a-1", "overridden", 5, code="already-addressed"),
            # a-2: dismissed, then accepted after all; sent in the other order (a retry).
            feedback("a-2", "accepted", 20),
            feedback("a-2", "overridden", 15),
        ],
        T0 + timedelta(minutes=30),
    )
    result = report(database_url)
    assert figures(result) == {"diuretic-electrolytes@1.0.0": (2, 1, 1)}
    (rule,) = result.rules
    assert rule.acceptance_rate == 0.5
    # The reason counted is the one the card was finally dismissed with.
    assert [(r.code, r.cards) for r in rule.override_reasons] == [("already-addressed", 1)]


def test_repeated_calls_do_not_count_their_cards_again(
    store: SqlAuditStore, database_url: str
) -> None:
    store.record_invocations(
        [
            call("hi-1", 0, ("a-1", DIURETIC)),
            call("hi-2", 3, ("a-2", DIURETIC)),  # the sandbox calling again: a repeat
            call("hi-3", 9, ("a-3", DIURETIC)),  # and again, within 10 s of the one before
            call("hi-4", 60, ("a-4", DIURETIC)),  # a minute later: the chart opened again
            call("hi-5", 61, ("a-5", DIURETIC), ("b-5", STATIN)),  # other cards: not a repeat
            call("hi-6", 62, ("a-6", DIURETIC), patient="patient-2"),  # another patient
            call("hi-6", 64, ("a-6", DIURETIC), patient="patient-2"),  # the EHR retrying
            call("hi-7", 65, patient="patient-3", status=412),  # refused
            call("hi-8", 66, patient="patient-3", status=412),
        ]
    )
    result = report(database_url)
    assert figures(result) == {
        "diuretic-electrolytes@1.0.0": (4, 0, 0),  # a-1, a-4, a-5, a-6
        "statin-muscle-symptoms@1.0.0": (1, 0, 0),
    }
    assert result.repeats == 2
    marked = {(i.hook_instance, i.started_at): i.repeat for i in result.invocations}
    assert [hi for (hi, _), repeat in sorted(marked.items(), key=lambda x: x[0][1]) if repeat] == [
        "hi-2",
        "hi-3",
    ]
    refused = [i for i in result.invocations if i.refused]
    assert [(i.hook_instance, i.status) for i in refused] == [("hi-8", 412), ("hi-7", 412)]


def test_a_repeat_of_a_call_just_before_the_period_is_still_a_repeat(
    store: SqlAuditStore, database_url: str
) -> None:
    store.record_invocations(
        [call("hi-1", 0, ("a-1", DIURETIC)), call("hi-2", 4, ("a-2", DIURETIC))]
    )
    later = report(database_url, since=T0 + timedelta(seconds=2))
    assert figures(later) == {}
    assert later.repeats == 1


def test_feedback_on_a_repeat_still_counts(store: SqlAuditStore, database_url: str) -> None:
    store.record_invocations(
        [call("hi-1", 0, ("a-1", DIURETIC)), call("hi-2", 3, ("a-2", DIURETIC))]
    )
    store.record_feedback(SERVICE, [feedback("a-2", "accepted", 1)], T0 + timedelta(minutes=1))
    assert figures(report(database_url)) == {"diuretic-electrolytes@1.0.0": (1, 1, 0)}


def test_the_rules_not_evaluated_are_stored_with_the_call(
    store: SqlAuditStore, database_url: str
) -> None:
    store.record_invocations(
        [
            call("hi-1", 0, ("a-1", DIURETIC), not_evaluated=NOT_EVALUATED),
            call("hi-2", 60, ("a-2", DIURETIC)),  # every rule ran: NULL
        ]
    )
    result = report(database_url)
    by_instance = {i.hook_instance: i for i in result.invocations}
    assert by_instance["hi-1"].not_evaluated == NOT_EVALUATED
    assert by_instance["hi-2"].not_evaluated == ()
    # The cards the call did issue are counted as ever.
    assert figures(result) == {"diuretic-electrolytes@1.0.0": (2, 0, 0)}
    engine = make_engine(database_url, immediate_writes=False)
    try:
        with engine.connect() as connection:
            stored = dict(
                connection.execute(
                    sa.select(
                        invocation_table.c.hook_instance, invocation_table.c.rules_not_evaluated
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert stored == {
        "hi-1": [
            {
                "rule": "dvt-risk",
                "version": "1.0.0",
                "missing": {"FamilyMemberHistory": "unsupported"},
            },
            {
                "rule": "pad-rest-pain",
                "version": "1.0.0",
                "missing": {"FamilyMemberHistory": "unsupported", "Procedure": "timeout"},
            },
        ],
        "hi-2": None,
    }
