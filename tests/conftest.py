"""Fixtures every test module may use. Area-specific helpers live in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.pipeline import Engine
from cds.settings import Settings
from cds.terminology import Terminology
from tests.support.fhir_server import (  # noqa: F401 (fixtures: a loopback FHIR server)
    fhir_server,
    synthea_bundles,
    synthea_fhir_server,
)
from tests.support.paths import HOOKS
from tests.support.security import (  # noqa: F401 (fixtures: a token-signing EHR and its apps)
    ehr,
    ehr_keys,
    harness,
    harness_engine,
)

AS_OF = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load(HOOKS)


@pytest.fixture(scope="session")
def terminology(engine: Engine) -> Terminology:
    return engine.terminology


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    db = tmp_path_factory.mktemp("db") / "cds.db"
    return Settings(database_url=f"sqlite:///{db}")


@pytest.fixture
def memory_store() -> MemoryAuditStore:
    return MemoryAuditStore()


@pytest.fixture
def client(
    settings: Settings, engine: Engine, memory_store: MemoryAuditStore
) -> Iterator[TestClient]:
    """The app in process with an in-memory audit store (no FHIR server: fetches fail)."""
    app = create_app(settings, engine=engine, store=memory_store)
    with TestClient(app) as test_client:
        yield test_client
