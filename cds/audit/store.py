"""What the service needs from an audit store, and an in-memory one for tests and replay."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from cds.audit.shadow import ShadowRecord
from cds.cdshooks import FeedbackItem


@dataclass(frozen=True)
class IssuedCard:
    uuid: str
    rule_id: str
    rule_version: str
    indicator: str


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
    shadow: ShadowRecord | None = None  # what its shadow versions would have shown, if any


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

    def ping(self) -> None:
        """Raise if the store cannot be reached (readiness check)."""
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
        self.invocations.append(invocation)

    def record_invocations(self, invocations: Sequence[InvocationRecord]) -> None:
        self.invocations.extend(invocations)

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

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
