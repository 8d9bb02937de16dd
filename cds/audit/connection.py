"""SQLAlchemy engines for the audit database: SQLite (a file, the default) or PostgreSQL.

Everything dialect-specific about connecting lives here, so the store, the migrations and the
`cds audit` report all connect the same way.

Bounded time. A PostgreSQL server that stops answering (a silent network partition, or a
stopped process) keeps its TCP connections open: without a bound of our own, a query, or the
pool's pre-ping, waits forever. So every wait of a psycopg connection made here for the audit
store ends by the deadline of the operation it belongs to (`operation_deadline`): the
connection is then closed (the pool drops it) and the operation fails with an OperationalError.
Connecting is bounded by `connect_timeout`, a wait for a pooled connection by `pool_timeout`,
and the server ends statements, lock waits and forgotten transactions itself too. SQLite waits
for another writer at most the busy timeout.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.abc import PQGen
from sqlalchemy.engine import URL, Engine, make_url

# How long a writer waits for another one before giving up (SQLite allows one writer at a time),
# when the engine is not given a timeout of its own (migrations, the report).
SQLITE_BUSY_TIMEOUT_SECONDS = 10.0
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5  # a database that is down fails fast, not in minutes
# A transaction left open by a client that vanished is ended by the server after this many
# operation timeouts (its locks would otherwise block every other writer).
IDLE_TRANSACTION_TIMEOUTS = 4


class _Deadline(threading.local):
    at: float | None = None  # time.monotonic() by which the current operation must end


_deadline = _Deadline()


@contextmanager
def operation_deadline(seconds: float) -> Iterator[None]:
    """Every database wait of this thread within the block ends `seconds` from now at the
    latest (PostgreSQL connections made by `make_engine`)."""
    outer = _deadline.at
    _deadline.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline.at = outer


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every wait ends by the thread's operation deadline."""

    def wait(
        self,
        gen: PQGen[Any],
        interval: float = 0.1,
        timeout: float | None = None,
    ) -> Any:
        at = _deadline.at
        if at is None:
            return super().wait(gen, interval, timeout)
        remaining = max(at - time.monotonic(), 0.001)
        try:
            return super().wait(
                gen, interval, remaining if timeout is None else min(timeout, remaining)
            )
        except psycopg.OperationalError:
            if time.monotonic() < at:
                raise
            # Mid-protocol, the connection cannot be used again: closed, the pool drops it.
            self.close()
            raise psycopg.OperationalError(
                "the audit database did not answer in time (connection closed)"
            ) from None


def normalise_url(url: str | URL) -> URL:
    """The URL with a driver SQLAlchemy can load: `postgres://` and `postgresql://` (what hosting
    platforms and libpq users write) become psycopg 3; an explicit driver is kept."""
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    if text.startswith("postgres://"):
        text = "postgresql://" + text.removeprefix("postgres://")
    parsed = make_url(text)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def safe_url(url: str | URL) -> str:
    """For messages and logs: never the password."""
    return normalise_url(url).render_as_string(hide_password=True)


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database or another dialect."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def make_engine(
    url: str | URL, *, immediate_writes: bool = True, timeout_seconds: float | None = None
) -> Engine:
    """An engine configured for the audit: WAL, foreign keys and a busy timeout on SQLite,
    pre-ping and a connect timeout on PostgreSQL.

    `immediate_writes` (SQLite only) starts every transaction with BEGIN IMMEDIATE, taking the
    write lock up front: a deferred transaction that reads and then writes can fail at once with
    "database is locked" instead of waiting. Read-only users (the report) pass False.

    `timeout_seconds` (the audit store's CDS_DATABASE_TIMEOUT_SECONDS) bounds connecting,
    waiting for a pooled connection, SQLite's wait for the write lock and, on the server,
    statements and lock waits; with `operation_deadline`, every wait. Migrations and the report
    pass none: a migration may rightly take long.
    """
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(
            parsed,
            immediate_writes=immediate_writes,
            busy_timeout=timeout_seconds or SQLITE_BUSY_TIMEOUT_SECONDS,
        )
    # hide_parameters: a failed write must not put a clinician's free-text comment in the logs.
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if backend == "postgresql":
        kwargs["connect_args"] = _postgres_parameters(timeout_seconds)
        if timeout_seconds is not None:
            kwargs["pool_timeout"] = timeout_seconds
    engine = sa.create_engine(parsed, **kwargs)
    if backend == "postgresql":

        @sa.event.listens_for(engine, "do_connect")
        def _connect(_dialect: Any, _record: Any, args: Any, parameters: Any) -> Any:
            return BoundedConnection.connect(*args, **parameters)

    return engine


def _postgres_parameters(timeout_seconds: float | None) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS,
        "application_name": "legpain-cds",
    }
    if timeout_seconds is None:
        return parameters
    milliseconds = math.ceil(timeout_seconds * 1000)
    parameters.update(
        {
            # libpq counts whole seconds, and waits at least 2.
            "connect_timeout": max(math.ceil(timeout_seconds), 2),
            # A partitioned network: data sent and never acknowledged fails the connection.
            "tcp_user_timeout": milliseconds,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
            # The server's own bounds, for a server that is slow rather than gone.
            "options": (
                f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds} "
                "-c idle_in_transaction_session_timeout="
                f"{milliseconds * IDLE_TRANSACTION_TIMEOUTS}"
            ),
        }
    )
    return parameters


def _sqlite_engine(url: URL, *, immediate_writes: bool, busy_timeout: float) -> Engine:
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout}, hide_parameters=True)
    begin = "BEGIN IMMEDIATE" if immediate_writes else "BEGIN"

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        if path is not None:
            # The file this connection writes to, by identity: if the path comes to name
            # another file (or none), its writes go nowhere anyone reads (cds.audit.database).
            record.info[DATABASE_FILE] = file_identity(path)
        # Take transaction control from the sqlite3 module (it would BEGIN lazily, deferred);
        # the "begin" listener below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL: readers (the report, other workers) never block the writer, nor it them.
            # synchronous stays FULL (the default): feedback acknowledged to the EHR must survive
            # a power cut, and the write volume is small.
            cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL is WAL's usual pairing: a commit survives a crash of the service (the
            # WAL is synced at each checkpoint); only a power loss can roll back the last
            # transactions. SQLite is the local default; production audits go to PostgreSQL.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite, per connection
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


# Key of a pooled SQLite connection's info: the identity of the file it opened.
DATABASE_FILE = "cds_database_file"


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`; None if there is none."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino
