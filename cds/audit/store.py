"""What the service needs from an audit store, and an in-memory one for tests and replay."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from cds.audit.shadow import ShadowRecord
from cds.cdshooks import FeedbackItem


@dataclass(frozen=True)
class IssuedCard:
    uuid: str
    rule_id: str
    rule_version: str
    indicator: str


def _new_record_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class RuleNotEvaluated:
    """A pinned rule version the call did not run: data it needs could not be had."""

    rule_id: str
    rule_version: str
    missing: tuple[tuple[str, str], ...]  # (prefetch key, why: cds.errors.Unavailability)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "version": self.rule_version,
            "missing": dict(self.missing),
        }

    @classmethod
    def from_json(cls, value: Any) -> RuleNotEvaluated:
        missing = value.get("missing") or {}
        return cls(str(value["rule"]), str(value["version"]), tuple(missing.items()))


@dataclass(frozen=True)
class InvocationRecord:
    hook_instance: str
    service_id: str
    hook: str
    ruleset_release: str
    patient_id: str | None  # the EHR's id only: no other demographics
    started_at: datetime
    duration_ms: float
    status: int
    cards: tuple[IssuedCard, ...] = ()
    # The pinned rule versions not run because data they need could not be had.
    rules_not_evaluated: tuple[RuleNotEvaluated, ...] = ()
    # What its shadow versions would have shown, if the service has any (cds.shadow): added to
    # the row once the answer has gone (`AuditWriter` writes it onto the row already there).
    shadow: ShadowRecord | None = None
    # The EHR that called (its JWT `iss`); None when authentication is off.
    ehr_issuer: str | None = None
    # This row's own id, given when the call is answered: writing the row again (the spool
    # replayed after a crash) inserts nothing (INSERT ... ON CONFLICT DO NOTHING).
    record_id: str = field(default_factory=_new_record_id)

    def to_json(self) -> bytes:
        """One line of the audit spool (cds.audit.spool): every field, times in ISO 8601."""
        data = asdict(self)
        data["shadow"] = None if self.shadow is None else self.shadow.to_json()
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, line: bytes) -> InvocationRecord:
        """The record `to_json` wrote; raises ValueError (or KeyError, TypeError) otherwise."""
        data: dict[str, Any] = orjson.loads(line)
        started_at = datetime.fromisoformat(data.pop("started_at"))
        if started_at.tzinfo is None:
            raise ValueError("a spooled row without a time zone")
        cards = tuple(IssuedCard(**card) for card in data.pop("cards"))
        not_evaluated = tuple(
            RuleNotEvaluated(
                str(rule["rule_id"]),
                str(rule["rule_version"]),
                tuple((str(key), str(why)) for key, why in rule["missing"]),
            )
            for rule in data.pop("rules_not_evaluated", ())
        )
        shadow = data.pop("shadow", None)
        return cls(
            started_at=started_at,
            cards=cards,
            rules_not_evaluated=not_evaluated,
            shadow=None if shadow is None else ShadowRecord.from_json(shadow),
            **data,
        )


@dataclass(frozen=True)
class FeedbackResult:
    stored: int
    duplicates: int


class AuditStore(Protocol):
    def record_invocation(self, invocation: InvocationRecord) -> None: ...

    def record_invocations(self, invocations: Sequence[InvocationRecord]) -> None:
        """All of them in one transaction (all written or none), in order. The service writes
        through `cds.audit.writer.AuditWriter`, which batches what has queued."""
        ...

    def record_feedback(
        self, service_id: str, items: list[FeedbackItem], received_at: datetime
    ) -> FeedbackResult: ...

    def check_writable(self) -> None:
        """Raise unless a write to the store, committed, is known to have landed (readiness)."""
        ...

    def close(self) -> None: ...


def feedback_key(service_id: str, item: FeedbackItem) -> str:
    """Identity of a feedback item: the same item posted twice is stored once.

    The timestamp is taken in UTC, so the same instant written with another offset is the same
    item. The user's comment and the reason's display are not part of it: a re-post that only
    rewords them is still the same decision.
    """
    reason = item.overrideReason.reason if item.overrideReason else None
    # A JSON array, not a joined string: no value can forge another item's key with a separator.
    return json.dumps(
        [
            service_id,
            item.card,
            item.outcome,
            item.outcomeTimestamp.astimezone(UTC).isoformat(),
            sorted(s.id for s in item.acceptedSuggestions or ()),
            [reason.system, reason.code] if reason else None,
        ],
        separators=(",", ":"),
    )


@dataclass
class MemoryAuditStore:
    invocations: list[InvocationRecord] = field(default_factory=list)
    feedback: dict[str, FeedbackItem] = field(default_factory=dict)

    def record_invocation(self, invocation: InvocationRecord) -> None:
        self.record_invocations([invocation])

    def record_invocations(self, invocations: Sequence[InvocationRecord]) -> None:
        """As the database does: a row already kept (its record_id) is not added again; what
        its shadow versions would have shown is added to it."""
        at = {row.record_id: n for n, row in enumerate(self.invocations)}
        for invocation in invocations:
            n = at.get(invocation.record_id)
            if n is None:
                at[invocation.record_id] = len(self.invocations)
                self.invocations.append(invocation)
            elif self.invocations[n].shadow is None and invocation.shadow is not None:
                self.invocations[n] = replace(self.invocations[n], shadow=invocation.shadow)

    def record_feedback(
        self, service_id: str, items: list[FeedbackItem], received_at: datetime
    ) -> FeedbackResult:
        stored = duplicates = 0
        for item in items:
            key = feedback_key(service_id, item)
            if key in self.feedback:
                duplicates += 1
            else:
                self.feedback[key] = item
                stored += 1
        return FeedbackResult(stored, duplicates)

    def check_writable(self) -> None:
        return None

    def close(self) -> None:
        return None
