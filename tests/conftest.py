"""Fixtures every test module may use. Area-specific helpers live in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.pipeline import Engine
from cds.rules.base import RuleVersion
from cds.settings import Settings
from cds.terminology import Terminology, terminology_releases
from tests.support.browser import (  # noqa: F401 (fixtures: Chromium, pages with no internet)
    browser,
    offline_page,
)
from tests.support.fhir_server import (  # noqa: F401 (fixtures: a loopback FHIR server)
    fhir_server,
    synthea_bundles,
    synthea_fhir_server,
)
from tests.support.paths import HOOKS, REPO, SHARED, missing_shared_data
from tests.support.rules import in_range, terminology_release
from tests.support.security import (  # noqa: F401 (fixtures: a token-signing EHR and its apps)
    ehr,
    ehr_keys,
    harness,
    harness_engine,
)

AS_OF = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def pytest_sessionstart(session: pytest.Session) -> None:
    """A checkout without the shared test data stops here, saying so, before any test runs."""
    missing = missing_shared_data()
    if missing:
        names = ", ".join(str(p.relative_to(SHARED)) for p in missing)
        pytest.exit(
            f"the tests read the shared test data from {SHARED}, which lacks: {names}. Check the "
            f"repository out beside the project's shared folder (here: {REPO.parent}/shared).",
            returncode=4,
        )


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load(HOOKS)


@pytest.fixture(scope="session")
def terminology() -> Terminology:
    """The newest terminology release (record and library tests)."""
    return terminology_release(terminology_releases()[-1])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.rule_versions(since=..., until=...)`: a rule test that holds only for some
    versions of its rule runs only with those (tests/support/rules.py)."""
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("rule_versions")
        callspec = getattr(item, "callspec", None)
        rule = callspec.params.get("rule") if callspec is not None else None
        if marker is None or not isinstance(rule, RuleVersion):
            kept.append(item)
            continue
        since, until = marker.kwargs.get("since"), marker.kwargs.get("until")
        (kept if in_range(rule.version, since=since, until=until) else left_out).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("db")
    return Settings(database_url=f"sqlite:///{folder / 'cds.db'}", audit_spool_dir=folder / "spool")


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
