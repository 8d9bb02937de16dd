"""SQLAlchemy engines for the audit database: SQLite (a file, the default) or PostgreSQL.

Everything dialect-specific about connecting lives here, so the store, the migrations and the
`cds audit` report all connect the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

# How long a writer waits for another one before giving up (SQLite allows one writer at a time).
# Writes take milliseconds; waiting longer than this means something is stuck.
SQLITE_BUSY_TIMEOUT_SECONDS = 10.0
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5  # a database that is down fails fast, not in minutes


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


def make_engine(url: str | URL, *, immediate_writes: bool = True) -> Engine:
    """An engine configured for the audit: WAL, foreign keys and a busy timeout on SQLite,
    pre-ping and a connect timeout on PostgreSQL.

    `immediate_writes` (SQLite only) starts every transaction with BEGIN IMMEDIATE, taking the
    write lock up front: a deferred transaction that reads and then writes can fail at once with
    "database is locked" instead of waiting. Read-only users (the report) pass False.
    """
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, immediate_writes=immediate_writes)
    # hide_parameters: a failed write must not put a clinician's free-text comment in the logs.
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if backend == "postgresql":
        kwargs["connect_args"] = {
            "connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS,
            "application_name": "legpain-cds",
        }
    return sa.create_engine(parsed, **kwargs)


def _sqlite_engine(url: URL, *, immediate_writes: bool) -> Engine:
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, hide_parameters=True
    )
    begin = "BEGIN IMMEDIATE" if immediate_writes else "BEGIN"

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
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
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine
