"""The invocation audit writer (cds.audit.writer) and its spool (cds.audit.spool): every row
kept on disk before the response, written in batches off the request path, kept and tried again
while the database is unavailable, taken over from a process that died; only rows the spool
cannot take, or the database refuses one by one, are lost (counted, logged once per episode)."""

from __future__ import annotations

import logging
import shutil
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
from cds.audit.spool import Spool
from cds.audit.store import FeedbackResult, InvocationRecord, IssuedCard, MemoryAuditStore
from cds.audit.writer import AuditWriter
from cds.cdshooks import FeedbackItem
from cds.errors import AuditDatabaseUnavailable
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
    """A MemoryAuditStore seen from outside (so the app gives it a spooled writer): counts the
    batches, can hold every write on an event, can be down, and can refuse some rows."""

    inner: MemoryAuditStore = field(default_factory=MemoryAuditStore)
    batches: list[int] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    down: bool = False  # the database unavailable: every write raises AuditDatabaseUnavailable
    attempts: int = 0
    fail_when: Any = None  # (batch) -> bool: a batch the database refuses for its rows

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
        self.attempts += 1
        if self.down:
            raise AuditDatabaseUnavailable("OperationalError: connection refused")
        self.batches.append(len(invocations))
        if self.fail_when is not None and self.fail_when(invocations):
            raise ValueError("this batch cannot be written")
        self.inner.record_invocations(invocations)

    def record_feedback(
        self, service_id: str, items: list[FeedbackItem], received_at: datetime
    ) -> FeedbackResult:
        return self.inner.record_feedback(service_id, items, received_at)

    def check_writable(self) -> None:
        return None

    def close(self) -> None:
        return None


def spool_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "spool"


def wait_until(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.01)


# ---------------------------------------------------------------------------------------------
# The writer and its spool


def test_a_memory_store_gets_a_synchronous_writer(tmp_path: Path) -> None:
    store = MemoryAuditStore()
    settings = Settings(database_url=sqlite_url(tmp_path), audit_spool_dir=tmp_path / "spool")
    writer = AuditWriter.for_store(store, settings)
    assert writer.synchronous
    writer.submit(record(1))
    assert [r.hook_instance for r in store.invocations] == ["hi-1"]  # already there
    assert not AuditWriter.for_store(SpyStore(), settings).synchronous


def test_every_row_submitted_is_written_in_order_and_in_batches(folder: Path) -> None:
    store = SpyStore()
    store.release.clear()  # the first write waits: the rest queue up behind it
    writer = AuditWriter(store, folder, batch_rows=200)
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
    # 1 (the row that was being written) + 999 spooled rows in batches of at most 200.
    assert store.batches == [1, 200, 200, 200, 200, 199]
    assert writer.close(5)
    assert spool_files(folder) == []  # written, nothing kept


def test_a_row_is_on_disk_when_submit_returns(folder: Path) -> None:
    store = SpyStore()
    store.release.clear()
    writer = AuditWriter(store, folder)
    row = record(7)
    writer.submit(row)
    (rows_file,) = [p for p in folder.iterdir() if p.suffix == ".rows"]
    assert InvocationRecord.from_json(rows_file.read_bytes().splitlines()[0]) == row
    store.release.set()
    assert writer.close(5)


def test_rows_wait_through_an_outage_and_are_written_when_it_ends(
    folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("cds.audit.writer.RETRY_FIRST_SECONDS", 0.05)
    monkeypatch.setattr("cds.audit.writer.RETRY_MAX_SECONDS", 0.2)
    store = SpyStore(down=True)
    writer = AuditWriter(store, folder)
    before = failures()
    with caplog.at_level(logging.WARNING, logger="cds.audit.writer"):
        for i in range(500):
            assert writer.submit(record(i))
        wait_until(lambda: store.attempts >= 4)  # tried again, and again
        assert store.invocations == []
        assert writer.depth == 500
        store.down = False
        assert writer.flush(10)
    assert [r.hook_instance for r in store.invocations] == [f"hi-{i}" for i in range(500)]
    assert failures() == before  # nothing lost
    # One line when it started, one when it ended: not one per row or per attempt, and no
    # traceback.
    lines = [r for r in caplog.records if r.name == "cds.audit.writer"]
    assert [r.levelname for r in lines] == ["ERROR", "WARNING"], [r.getMessage() for r in lines]
    assert "unavailable" in lines[0].getMessage()
    assert "available again" in lines[1].getMessage()
    assert not any(r.exc_info for r in lines)
    assert writer.close(5)


def test_rows_beyond_the_spool_bound_are_dropped_and_counted_without_blocking(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SpyStore(down=True)
    line = len(record(10).to_json()) + 1
    writer = AuditWriter(store, folder, spool_max_bytes=max(10 * line, 1024))
    before = failures()
    started = time.perf_counter()
    with caplog.at_level(logging.ERROR, logger="cds.audit.writer"):
        accepted = [writer.submit(record(i)) for i in range(10, 60)]
    assert time.perf_counter() - started < 1  # never waited for the database
    kept = accepted.count(True)
    assert accepted == [True] * kept + [False] * (50 - kept)
    assert kept >= 2
    assert failures() == before + 50 - kept
    drops = [r for r in caplog.records if "cannot be kept" in r.getMessage()]
    assert len(drops) == 1  # once for the episode
    store.down = False
    assert writer.flush(10)
    assert [r.hook_instance for r in store.invocations] == [f"hi-{i}" for i in range(10, 10 + kept)]
    with caplog.at_level(logging.ERROR, logger="cds.audit.writer"):
        assert writer.submit(record(99))  # room again: the episode ends, with its count
    assert any(f"{50 - kept} rows were lost" in r.getMessage() for r in caplog.records)
    assert writer.close(5)


def test_a_row_the_database_refuses_is_lost_alone_and_counted(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SpyStore(fail_when=lambda batch: any(r.hook_instance == "bad" for r in batch))
    writer = AuditWriter(store, folder)
    before = failures()
    writer.submit(record(0, hook_instance="bad"))
    assert writer.flush(5)
    assert failures() == before + 1
    assert "refused the row of bad" in caplog.text
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


def test_close_drains_the_spool_within_its_timeout(folder: Path) -> None:
    store = SpyStore()
    writer = AuditWriter(store, folder)
    for i in range(2_000):
        writer.submit(record(i))
    assert writer.close(10)
    assert len(store.invocations) == 2_000
    assert spool_files(folder) == []
    # The app may be started again (tests do): a later row starts a new spool and thread.
    writer.submit(record(2_000))
    assert writer.close(5)
    assert len(store.invocations) == 2_001


def test_rows_left_at_shutdown_are_written_by_the_next_process(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database down at shutdown: the rows stay in the spool, not lost, and whichever writer
    starts next on the same database writes them first."""
    down = SpyStore(down=True)
    first = AuditWriter(down, folder)
    before = failures()
    for i in range(5):
        first.submit(record(i))
    started = time.perf_counter()
    assert not first.close(0.5)
    assert time.perf_counter() - started < 3
    assert failures() == before  # kept, not lost
    assert "stay in the spool" in caplog.text
    assert any(name.endswith(".rows") for name in spool_files(folder))

    up = SpyStore()
    second = AuditWriter(up, folder)
    second.start()
    wait_until(lambda: len(up.invocations) == 5)
    assert [r.hook_instance for r in up.invocations] == [f"hi-{i}" for i in range(5)]
    assert second.close(5)
    assert spool_files(folder) == []


def test_a_live_writers_spool_is_never_taken_over(folder: Path) -> None:
    store = SpyStore(down=True)
    alive = AuditWriter(store, folder)
    alive.submit(record(1))
    other = AuditWriter(SpyStore(), folder)
    other.start()
    time.sleep(0.2)
    assert other.depth == 0  # the live process's rows are its own
    assert other.close(5)
    assert alive.depth == 1
    alive.close(0.1)


def test_a_spool_folder_removed_while_rows_wait_loses_none_of_them(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The rows already in the deleted file are still read through the writer's descriptor;
    new ones go to a file that exists (the folder made again), and the loss of durability is
    said in the log."""
    store = SpyStore(down=True)
    writer = AuditWriter(store, folder)
    for i in range(3):
        assert writer.submit(record(i))
    shutil.rmtree(folder)
    for i in range(3, 6):
        assert writer.submit(record(i))
    assert any(p.suffix == ".rows" and p.stat().st_size for p in folder.iterdir())
    assert "was deleted" in caplog.text
    store.down = False
    assert writer.flush(10)
    assert [r.hook_instance for r in store.invocations] == [f"hi-{i}" for i in range(6)]
    assert writer.close(5)


def test_a_torn_last_line_is_counted_and_the_rest_written(folder: Path) -> None:
    """A power cut in the middle of a write leaves part of a line: skipped and counted once."""
    orphan = Spool.create(folder, max_bytes=1 << 20, fsync=False)
    for i in range(3):
        orphan.append(record(i).to_json())
    (rows_file,) = [p for p in folder.iterdir() if p.suffix == ".rows"]
    with rows_file.open("ab") as torn:
        torn.write(record(3).to_json()[:40])  # no newline: cut short
    orphan.close()  # not drained: left to adopt, as a dead process leaves it
    store = SpyStore()
    before = failures()
    writer = AuditWriter(store, folder)
    writer.start()
    wait_until(lambda: len(store.invocations) == 3 and writer.depth == 0)
    assert failures() == before + 1
    assert writer.close(5)
    assert spool_files(folder) == []


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


def test_rows_are_written_to_the_database_whole(
    store: SqlAuditStore, database_url: str, folder: Path
) -> None:
    writer = AuditWriter(store, folder)
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


def test_a_row_written_before_a_crash_is_not_written_twice(
    store: SqlAuditStore, database_url: str, folder: Path
) -> None:
    """A process dies between the database's commit and the spool's: the next one writes the
    same rows again, and the database keeps each once (its record_id)."""
    sent = [record(i, cards=2) for i in range(10)]
    store.record_invocations(sent[:6])  # committed in the database...
    crashed = Spool.create(folder, max_bytes=1 << 20, fsync=False)
    for row in sent:
        crashed.append(row.to_json())
    crashed.close()  # ...and all still in the spool
    writer = AuditWriter(store, folder)
    writer.start()
    wait_until(lambda: writer.depth == 0 and not any(folder.glob(f"{crashed.owner}.*")))
    assert writer.close(5)
    stored = rows(database_url)
    assert sorted(r.hook_instance for r in stored["invocation"]) == sorted(
        r.hook_instance for r in sent
    )
    assert len(stored["issued_card"]) == 20


# ---------------------------------------------------------------------------------------------
# Through the app


def test_the_cards_go_out_while_the_audit_write_hangs(
    engine: Engine, tmp_path: Path, prefetch_body: dict[str, Any]
) -> None:
    store = SpyStore()
    store.release.clear()
    settings = Settings(database_url=sqlite_url(tmp_path), audit_spool_dir=tmp_path / "spool")
    app = create_app(settings, engine=engine, store=store)
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
    # Shutting down drained the spool.
    assert len(store.invocations) == 3


def test_the_app_writes_its_rows_before_it_stops(
    engine: Engine, database_url: str, prefetch_body: dict[str, Any], tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, audit_spool_dir=tmp_path / "spool")
    app = create_app(settings, engine=engine)
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
