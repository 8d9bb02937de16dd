"""The audit databases every test here runs on: SQLite (a file) and the real PostgreSQL server
(one migrated database per test session and xdist worker, emptied before each test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cds.audit.database import SqlAuditStore, open_store, upgrade
from tests.support.databases import empty_audit_tables, postgres_database, sqlite_url

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """One migrated database per test session (per xdist worker), dropped at the end."""
    with postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated audit database with no rows in it."""
    if backend == "sqlite":
        url = sqlite_url(tmp_path)
        upgrade(url)
        return url
    url = request.getfixturevalue("postgres_session_url")
    assert isinstance(url, str)
    empty_audit_tables(url)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[SqlAuditStore]:
    audit_store = open_store(database_url)
    yield audit_store
    audit_store.close()
