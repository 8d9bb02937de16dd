"""Nothing acknowledged is lost: faults injected into a real `cds serve` (two workers) while
calls keep coming, and every call answered 200 counted against the audit rows afterwards.

- PostgreSQL of the test's own (never the shared server) stopped under load, then started:
  every row answered meanwhile is written once it is back, nothing lost, two log lines per
  worker for the whole outage;
- the same server hung (its processes stopped: a silent partition): calls and /ready keep
  answering, feedback gets its 503 in bounded time, a worker SIGKILLed loses nothing (another
  takes its spool over, and its queue depth leaves the metrics), SIGTERM ends the service in
  bounded time leaving what is unwritten in the spool, and the next start writes it;
- SQLite made unwritable (the service without root's power over file permissions), workers
  restarted meanwhile: /ready and feedback say so, and all resumes once the cause is fixed;
- SQLite's folder removed under the running service: the writes into the deleted file are
  seen, and what was answered meanwhile is written to the database once it is back.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cds.audit.connection import make_engine
from cds.audit.database import upgrade
from cds.audit.models import invocation_table
from cds.pipeline import Engine
from tests.api.test_ops import hook_request, parse_metrics, value
from tests.support.databases import sqlite_url
from tests.support.private_postgres import PrivatePostgres, private_postgres
from tests.support.served import Service, running_service

SERVICE = "leg-pain-patient-view"
CALLS_PER_SECOND = 50
TIMEOUT = 2  # CDS_DATABASE_TIMEOUT_SECONDS of these services
SLACK = 10  # a busy test machine: generous bounds, never a hang


class Load:
    """Calls at about CALLS_PER_SECOND from threads of the test process, each on a new
    connection (the kernel spreads connections over the workers): the hookInstances answered
    200, and how many calls got any other answer."""

    def __init__(self, service: Service, engine: Engine) -> None:
        self.service = service
        self.engine = engine
        self.answered: list[str] = []
        self.other: Counter[int | str] = Counter()
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(4)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(30)

    def _run(self) -> None:
        interval = len(self.threads) / CALLS_PER_SECOND
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=self.service.url, timeout=30, limits=limits) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                body = hook_request(self.engine)
                try:
                    status: int | str = client.post(
                        f"/cds-services/{SERVICE}", json=body
                    ).status_code
                except httpx.TransportError as exc:
                    status = type(exc).__name__
                if status == 200:
                    self.answered.append(body["hookInstance"])
                else:
                    self.other[status] += 1
                self._stop.wait(max(interval - (time.monotonic() - started), 0))


# What a call in flight sees when its worker is SIGKILLed: the connection closed under it,
# before any answer (so nothing was acknowledged, and nothing is owed to the audit).
DROPPED_CONNECTION = frozenset({"RemoteProtocolError", "ReadError"})


def assert_only_calls_in_flight_dropped(load: Load, workers_killed: int) -> None:
    """Every call not answered 200 was in flight on a killed worker: a dropped connection, at
    most one per load thread per worker killed; never an error answer."""
    assert set(load.other) <= DROPPED_CONNECTION, load.other
    assert sum(load.other.values()) <= len(load.threads) * workers_killed, load.other


def audited(url: str) -> list[str]:
    """The hookInstance of every invocation row (a repeated one is a row written twice)."""
    engine = make_engine(url, immediate_writes=False)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.select(invocation_table.c.hook_instance)).scalars())
    finally:
        engine.dispose()


def wait_for_rows(url: str, expected: list[str], seconds: float = 45) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = audited(url)
        except sa.exc.OperationalError:
            found = []
        if set(expected) <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def metrics(service: Service) -> Any:
    return parse_metrics(httpx.get(f"{service.url}/metrics", timeout=SLACK).text)


def lost_rows(service: Service) -> float:
    return value(metrics(service), "cds_audit_write_failures_total", record="invocation")


def feedback(service: Service) -> httpx.Response:
    item = {
        "card": str(uuid.uuid4()),
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": "s-1"}],
        "outcomeTimestamp": datetime.now(UTC).isoformat(),
    }
    return httpx.post(
        f"{service.url}/cds-services/{SERVICE}/feedback",
        json={"feedback": [item]},
        timeout=TIMEOUT + SLACK,
    )


def assert_every_answer_written_once(answered: list[str], rows: list[str]) -> None:
    assert answered, "no call was answered"
    missing = set(answered) - set(rows)
    assert not missing, f"{len(missing)} of {len(answered)} rows answered 200 are not audited"
    twice = [hook for hook, count in Counter(rows).items() if count > 1]
    assert not twice, f"{len(twice)} rows written twice"


def writer_lines(service: Service) -> list[dict[str, Any]]:
    return [line for line in service.lines() if line["logger"].startswith("cds.audit")]


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        upgrade(server.url)
        yield server


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def test_a_postgresql_outage_loses_no_row_answered(
    postgres: PrivatePostgres, engine: Engine, tmp_path: Path
) -> None:
    with running_service(
        tmp_path, workers=2, database_url=postgres.url, database_timeout_seconds=TIMEOUT
    ) as service:
        with Load(service, engine) as load:
            time.sleep(1)
            postgres.stop()
            time.sleep(4)  # about 200 calls with the database down
            during = len(load.answered)
            postgres.start()
            time.sleep(1)
        assert len(load.answered) > during > 100, "calls were not answered during the outage"
        assert not load.other, load.other
        assert_every_answer_written_once(load.answered, wait_for_rows(postgres.url, load.answered))
        assert lost_rows(service) == 0
        lines = writer_lines(service)
        # Per worker, the outage is one line when it starts and one when it ends: no line per
        # row or per attempt, no traceback.
        assert Counter(line["level"] for line in lines) <= Counter(ERROR=2, WARNING=2), lines
        assert not [line for line in lines if "exception" in line]


def test_a_hung_postgresql_holds_nothing_and_a_killed_worker_loses_nothing(
    postgres: PrivatePostgres, engine: Engine, tmp_path: Path
) -> None:
    settings: dict[str, Any] = {
        "database_url": postgres.url,
        "database_timeout_seconds": TIMEOUT,
        "shutdown_timeout_seconds": 2,
    }
    answered: list[str] = []
    with running_service(tmp_path, workers=2, **settings) as service:
        with Load(service, engine) as load:
            time.sleep(1)
            postgres.hang()
            time.sleep(2)
            started = time.monotonic()
            assert feedback(service).status_code == 503
            assert time.monotonic() - started < TIMEOUT + 1 + SLACK
            ready = httpx.get(f"{service.url}/ready", timeout=SLACK)
            assert ready.status_code == 503
            # A worker killed with rows it answered still unwritten.
            victim = service.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            time.sleep(2)
        assert_only_calls_in_flight_dropped(load, workers_killed=1)
        service.wait_ready(workers=2)  # uvicorn started another worker, which takes its spool
        postgres.resume()
        assert_every_answer_written_once(load.answered, wait_for_rows(postgres.url, load.answered))
        answered += load.answered
        # Once written, the queue depth is 0: the killed worker's share left the sum.
        deadline = time.monotonic() + SLACK
        while value(metrics(service), "cds_audit_queue_depth") != 0:
            assert time.monotonic() < deadline, "a dead worker's queue depth stayed"
            time.sleep(0.25)
        assert lost_rows(service) == 0

        # Hung again, then SIGTERM: the service stops in bounded time, nothing answered lost.
        with Load(service, engine) as load:
            time.sleep(1)
            postgres.hang()
            time.sleep(2)
        answered += load.answered
        started = time.monotonic()
        assert service.stop(timeout=60) == 0, service.tail()
        # uvicorn's grace (2 s), the audit writer's close (10 s at most) and a write in
        # progress (2 s): never minutes.
        assert time.monotonic() - started < 2 + 10 + TIMEOUT + SLACK
    postgres.resume()
    with running_service(tmp_path, workers=1, **settings):
        assert_every_answer_written_once(answered, wait_for_rows(postgres.url, answered))


# ---------------------------------------------------------------------------------------------
# SQLite, the default


@pytest.fixture
def sqlite_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "var"
    upgrade(sqlite_url(folder))
    return folder


def test_sqlite_made_unwritable_fails_loudly_and_recovers(
    sqlite_folder: Path, engine: Engine, tmp_path: Path
) -> None:
    url = sqlite_url(sqlite_folder)
    with running_service(
        tmp_path,
        workers=2,
        obey_file_permissions=True,
        database_url=url,
        database_timeout_seconds=TIMEOUT,
    ) as service:
        with Load(service, engine) as load:
            time.sleep(1)
            files = list(sqlite_folder.iterdir())
            for path in files:
                path.chmod(0o444)
            sqlite_folder.chmod(0o555)
            # Workers restarted meanwhile open the database read-only.
            for pid in service.worker_pids():
                os.kill(pid, signal.SIGKILL)
            service.wait_ready(workers=2)
            time.sleep(1)
            ready = httpx.get(f"{service.url}/ready", timeout=SLACK)
            assert ready.status_code == 503, ready.text
            assert feedback(service).status_code == 503
            sqlite_folder.chmod(0o755)
            for path in files:
                path.chmod(0o644)
            deadline = time.monotonic() + 45
            while httpx.get(f"{service.url}/ready", timeout=SLACK).status_code != 200:
                assert time.monotonic() < deadline, "the service did not recover"
                time.sleep(0.5)
            assert feedback(service).status_code == 200
        assert_only_calls_in_flight_dropped(load, workers_killed=2)
        assert_every_answer_written_once(load.answered, wait_for_rows(url, load.answered))
    logged = " ".join(line["message"] for line in service.lines())
    assert "attempt to write a readonly database" in logged


def test_sqlite_folder_removed_under_a_running_service(
    sqlite_folder: Path, engine: Engine, tmp_path: Path
) -> None:
    url = sqlite_url(sqlite_folder)
    with running_service(
        tmp_path, workers=2, database_url=url, database_timeout_seconds=TIMEOUT
    ) as service:
        with Load(service, engine) as before:
            time.sleep(1)
        assert_every_answer_written_once(before.answered, wait_for_rows(url, before.answered))
        shutil.rmtree(sqlite_folder)
        with Load(service, engine) as load:
            time.sleep(2)
            assert httpx.get(f"{service.url}/ready", timeout=SLACK).status_code == 503
            assert feedback(service).status_code == 503  # not {"stored": 1} into nowhere
            upgrade(url)  # the database restored (here: a new one)
            time.sleep(1)
        assert not load.other, load.other
        assert_every_answer_written_once(load.answered, wait_for_rows(url, load.answered))
        assert httpx.get(f"{service.url}/ready", timeout=SLACK).status_code == 200
        assert lost_rows(service) == 0
