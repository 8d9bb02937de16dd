"""Real databases for the audit tests: a SQLite file, or a fresh database on the PostgreSQL server
at 127.0.0.1:5432 (CDS_TEST_POSTGRES_URL to use another server).

Every PostgreSQL database made here has a unique name (`cds_test_<pid>_<random>`) and is dropped
afterwards, so parallel pytest workers and repeated runs never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url

from cds.audit.connection import make_engine
from cds.audit.models import TABLES

POSTGRES_ADMIN_URL = os.environ.get(
    "CDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def sqlite_url(directory: Path, name: str = "audit.db") -> str:
    return f"sqlite:///{directory / name}"


def _admin_connection() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}). Start it, set "
            "CDS_TEST_POSTGRES_URL, or deselect these tests with -m 'not postgres'."
        ) from exc


@contextmanager
def postgres_database(prefix: str = "cds_test") -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL and drops it on exit."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with _admin_connection() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield (
                make_url(POSTGRES_ADMIN_URL)
                .set(database=name)
                .render_as_string(hide_password=False)
            )
        finally:
            # FORCE: a test that failed may have left a connection open.
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def unreachable_postgres_url() -> str:
    """A PostgreSQL URL on a loopback port nobody listens on: the database is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/cds"


def empty_audit_tables(url: str) -> None:
    """Delete every audit row (between tests sharing one migrated database)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for table in reversed(TABLES):  # children first
                connection.execute(table.delete())
    finally:
        engine.dispose()


def table_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the database (reflected: whatever a migration created)."""
    engine = make_engine(url, immediate_writes=False)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                name: [dict(row._mapping) for row in connection.execute(table.select())]
                for name, table in metadata.tables.items()
            }
    finally:
        engine.dispose()
