"""The invocation audit writer (cds.audit.writer): every row written, in batches, off the request
path; a full queue or a failing database loses rows (counted) but never holds back a call."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from cds.api.app import create_app
from cds.audit.connection import make_engine
from cds.audit.database import SqlAuditStore
from cds.audit.models import feedback_table, invocation_table, issued_card_table
from cds.audit.store import FeedbackResult, InvocationRecord, IssuedCard, MemoryAuditStore
from cds.audit.writer import AuditWriter
from cds.cdshooks import FeedbackItem
from cds.pipeline import Engine
from cds.settings import Settings
from tests.support.databases import sqlite_url

SERVICE = "leg-pain-patient-view"
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def record(i: int, *, cards: int = 1, hook_instance: str | None = None) -> InvocationRecord:
    return InvocationRecord(
        hook_instance=hook_instance or f"hi-{i}",
        service_id=SERVICE,
        hook="patient-view",
        ruleset_release="2026.11.0",
        patient_id=f"patient-{i % 7}",
        started_at=T0,
        duration_ms=1.5,
        status=200,
        cards=tuple(
            IssuedCard(f"card-{i}-{c}", "rule-a", "1.0.0", "warning") for c in range(cards)
        ),
    )


def failures() -> float:
    value = REGISTRY.get_sample_value("cds_audit_write_failures_total", {"record": "invocation"})
    return value or 0.0


@dataclass
class SpyStore:
    """A MemoryAuditStore seen from outside (so the app gives it a queued writer): counts the
    batches, can hold every write on an event, and can fail some."""

    inner: MemoryAuditStore = field(default_factory=MemoryAuditStore)
    batches: list[int] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    fail_when: Any = None  # (batch) -> bool

    def __post_init__(self) -> None:
        self.release.set()

    @property
    def invocations(self) -> list[InvocationRecord]:
        return self.inner.invocations

    def record_invocation(self, invocation: InvocationRecord) -> None:
        self.record_invocations([invocation])

    def record_invocations(self, invocations: Sequence[InvocationRecord]) -> None:
        self.entered.set()
        assert self.release.wait(30), "the test never released the store"
        self.batches.append(len(invocations))
        if self.fail_when is not None and self.fail_when(invocations):
            raise ValueError("this batch cannot be written")
        self.inner.record_invocations(invocations)

    def record_feedback(
        self, service_id: str, items: list[FeedbackItem], received_at: datetime
    ) -> FeedbackResult:
        return self.inner.record_feedback(service_id, items, received_at)

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


# ---------------------------------------------------------------------------------------------
# In memory


def test_a_memory_store_gets_a_synchronous_writer() -> None:
    store = MemoryAuditStore()
    writer = AuditWriter.for_store(store)
    assert writer.synchronous
    writer.submit(record(1))
    assert [r.hook_instance for r in store.invocations] == ["hi-1"]  # already there
    assert not AuditWriter.for_store(SpyStore()).synchronous


def test_every_row_submitted_is_written_in_order_and_in_batches() -> None:
    store = SpyStore()
    store.release.clear()  # the first write waits: the rest queue up behind it
    writer = AuditWriter(store, batch_rows=200)
    sent = [record(i) for i in range(1_000)]
    assert writer.submit(sent[0])
    assert store.entered.wait(5)
    for row in sent[1:]:
        assert writer.submit(row)
    assert writer.depth == len(sent)
    store.release.set()
    assert writer.flush(10)
    assert writer.depth == 0
    assert store.invocations == sent
    # 1 (the row that was being written) + 999 queued rows in batches of at most 200.
    assert store.batches == [1, 200, 200, 200, 200, 199]
    assert writer.close(5)


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    store = SpyStore()
    store.release.clear()  # the database hangs
    writer = AuditWriter(store, max_rows=10)
    before = failures()
    assert writer.submit(record(0))
    assert store.entered.wait(5)  # the thread is stuck writing row 0; 10 more fit in the queue
    started = time.perf_counter()
    accepted = [writer.submit(record(i)) for i in range(1, 51)]
    assert time.perf_counter() - started < 0.5  # never waited for the hung write
    assert accepted == [True] * 10 + [False] * 40
    assert failures() == before + 40
    store.release.set()
    assert writer.close(5)
    assert [r.hook_instance for r in store.invocations] == [f"hi-{i}" for i in range(11)]


def test_a_failing_store_is_counted_and_the_writer_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = SpyStore(fail_when=lambda batch: any(r.hook_instance == "bad" for r in batch))
    writer = AuditWriter(store)
    before = failures()
    writer.submit(record(0, hook_instance="bad"))
    assert writer.flush(5)
    assert failures() == before + 1
    assert "audit write failed for bad" in caplog.text
    # One bad row in a batch: the others are written one by one, only it is lost.
    store.release.clear()
    writer.submit(record(1))
    assert store.entered.wait(5)
    for row in (record(2), record(3, hook_instance="bad"), record(4)):
        writer.submit(row)
    store.release.set()
    assert writer.flush(5)
    assert failures() == before + 2
    assert [r.hook_instance for r in store.invocations] == ["hi-1", "hi-2", "hi-4"]
    assert writer.close(5)


def test_close_drains_the_queue_within_its_timeout() -> None:
    store = SpyStore()
    writer = AuditWriter(store)
    for i in range(2_000):
        writer.submit(record(i))
    assert writer.close(10)
    assert len(store.invocations) == 2_000
    # The app may be started again (tests do): a later row starts a new thread.
    writer.submit(record(2_000))
    assert writer.close(5)
    assert len(store.invocations) == 2_001


def test_close_gives_up_on_a_hung_database_and_counts_what_is_lost() -> None:
    store = SpyStore()
    store.release.clear()
    writer = AuditWriter(store)
    writer.submit(record(0))
    assert store.entered.wait(5)
    for i in range(1, 6):
        writer.submit(record(i))
    before = failures()
    started = time.perf_counter()
    assert not writer.close(0.2)
    assert time.perf_counter() - started < 2
    assert failures() == before + 6  # the row being written and the five queued
    store.release.set()  # let the daemon thread finish


# ---------------------------------------------------------------------------------------------
# On the databases


def rows(url: str) -> dict[str, list[sa.Row[Any]]]:
    engine = make_engine(url, immediate_writes=False)
    try:
        with engine.connect() as connection:
            return {
                table.name: list(connection.execute(sa.select(table).order_by(table.c.id)))
                for table in (invocation_table, issued_card_table, feedback_table)
            }
    finally:
        engine.dispose()


def test_rows_are_written_to_the_database_whole(store: SqlAuditStore, database_url: str) -> None:
    writer = AuditWriter(store)
    sent = [record(i, cards=i % 3) for i in range(600)]
    for row in sent:
        assert writer.submit(row)
    assert writer.close(30)
    stored = rows(database_url)
    assert [(r.hook_instance, r.patient_id) for r in stored["invocation"]] == [
        (r.hook_instance, r.patient_id) for r in sent
    ]
    hook_instance_of = {r.id: r.hook_instance for r in stored["invocation"]}
    assert {(hook_instance_of[c.invocation_id], c.uuid) for c in stored["issued_card"]} == {
        (r.hook_instance, c.uuid) for r in sent for c in r.cards
    }


def test_a_batch_links_feedback_that_came_first_to_the_first_call_that_issued_the_card(
    store: SqlAuditStore, database_url: str
) -> None:
    feedback = FeedbackItem.model_validate(
        {
            "card": "card-1-0",
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": "s-1"}],
            "outcomeTimestamp": T0.isoformat(),
        }
    )
    store.record_feedback(SERVICE, [feedback], T0)
    # The EHR retried call 1: the same card, issued twice in one batch.
    store.record_invocations([record(0), record(1), record(1, hook_instance="hi-1-retry")])
    stored = rows(database_url)
    first = next(r.id for r in stored["invocation"] if r.hook_instance == "hi-1")
    assert [(f.card_uuid, f.invocation_id) for f in stored["feedback"]] == [("card-1-0", first)]


def test_batches_racing_their_feedback_are_still_joined(
    store: SqlAuditStore, database_url: str
) -> None:
    """As the race in test_database.py, with batches of invocations: every card of a batch is
    locked before any of it is written, so whichever commits second links the two."""
    rounds, per_batch = 20, 10

    def write_batch(n: int, start: threading.Barrier) -> None:
        start.wait()
        store.record_invocations([record(n * per_batch + i) for i in range(per_batch)])

    def write_feedback(n: int, start: threading.Barrier) -> None:
        start.wait()
        for i in range(per_batch):
            item = FeedbackItem.model_validate(
                {
                    "card": f"card-{n * per_batch + i}-0",
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": "s-1"}],
                    "outcomeTimestamp": T0.isoformat(),
                }
            )
            store.record_feedback(SERVICE, [item], T0)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for n in range(rounds):
            start = threading.Barrier(2)
            for future in [pool.submit(write, n, start) for write in (write_batch, write_feedback)]:
                future.result()

    stored = rows(database_url)
    issued_by = {c.uuid: c.invocation_id for c in stored["issued_card"]}
    assert len(stored["feedback"]) == rounds * per_batch
    assert {f.card_uuid: f.invocation_id for f in stored["feedback"]} == issued_by


# ---------------------------------------------------------------------------------------------
# Through the app


def test_the_cards_go_out_while_the_audit_write_hangs(
    engine: Engine, tmp_path: Path, prefetch_body: dict[str, Any]
) -> None:
    store = SpyStore()
    store.release.clear()
    app = create_app(Settings(database_url=sqlite_url(tmp_path)), engine=engine, store=store)
    with TestClient(app) as client:
        for _ in range(3):
            started = time.perf_counter()
            response = client.post(f"/cds-services/{SERVICE}", json=prefetch_body)
            assert response.status_code == 200, response.text
            assert time.perf_counter() - started < 5
        assert store.entered.wait(5)
        metrics = client.get("/metrics").text
        assert "cds_audit_queue_depth 3.0" in metrics
        store.release.set()
    # Shutting down drained the queue.
    assert len(store.invocations) == 3


def test_the_app_writes_its_rows_before_it_stops(
    engine: Engine, database_url: str, prefetch_body: dict[str, Any]
) -> None:
    app = create_app(Settings(database_url=database_url), engine=engine)
    with TestClient(app) as client:
        for _ in range(20):
            assert client.post(f"/cds-services/{SERVICE}", json=prefetch_body).status_code == 200
    assert len(rows(database_url)["invocation"]) == 20


@pytest.fixture
def prefetch_body(engine: Engine) -> dict[str, Any]:
    """A valid call that needs no FHIR server: every prefetch key given, empty."""
    templates = engine.services[SERVICE].prefetch
    empty = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/dr-1", "patientId": "patient-1"},
        "prefetch": dict.fromkeys(templates, empty),
    }
