"""The app as a browser meets it (cds.api.app): CORS with private-network access, and the API
documentation served from the package, working with no internet. Real HTTP to a loopback
server; the documentation in a real Chromium with every non-loopback request refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.pipeline import Engine
from cds.settings import Settings
from tests.support.browser import OfflinePage
from tests.support.browser import browser as browser
from tests.support.browser import offline_page as offline_page
from tests.support.served import served

SANDBOX = "https://sandbox.cds-hooks.org"
SERVICE_PATH = "/cds-services/leg-pain-patient-view"


def _app(engine: Engine, **settings: Any) -> FastAPI:
    return create_app(
        Settings(database_url="sqlite://", **settings), engine=engine, store=MemoryAuditStore()
    )


@pytest.fixture(scope="module")
def base_url(engine: Engine) -> Iterator[str]:
    with served(_app(engine)) as url:
        yield url


def _preflight(url: str, origin: str) -> httpx.Response:
    """The preflight Chromium sends before a page on the internet POSTs to a service on the
    user's machine or intranet (Private Network Access)."""
    return httpx.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
            "Access-Control-Request-Private-Network": "true",
            "Sec-Fetch-Mode": "cors",
            "Sec-Fetch-Site": "cross-site",
            "Sec-Fetch-Dest": "empty",
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36",
        },
        timeout=10,
    )


def test_a_private_network_preflight_from_an_allowed_origin_is_allowed(base_url: str) -> None:
    response = _preflight(base_url + SERVICE_PATH, SANDBOX)
    assert 200 <= response.status_code < 300, response.text
    assert response.headers["access-control-allow-private-network"] == "true"
    assert response.headers["access-control-allow-origin"] in ("*", SANDBOX)
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_a_private_network_preflight_from_another_origin_is_not(engine: Engine) -> None:
    with served(_app(engine, cors_origins=["https://ehr.hospital.example"])) as url:
        refused = _preflight(url + SERVICE_PATH, SANDBOX)
        allowed = _preflight(url + SERVICE_PATH, "https://ehr.hospital.example")
    # Without Access-Control-Allow-Origin the browser stops there, whatever else is said.
    assert refused.status_code >= 400
    assert "access-control-allow-origin" not in refused.headers
    assert allowed.headers["access-control-allow-private-network"] == "true"


def test_the_docs_list_the_operations_with_no_internet(
    base_url: str, offline_page: OfflinePage
) -> None:
    page = offline_page.page
    page.goto(base_url + "/docs")
    operations = page.locator(".opblock-summary-path")
    operations.first.wait_for(timeout=20_000)
    paths = set(operations.all_inner_texts())
    assert {"/cds-services", "/cds-services/{service_id}"} <= {p.strip() for p in paths}
    page.goto(base_url + "/redoc")
    page.get_by_text("CDS Hooks discovery").first.wait_for(timeout=20_000)
    assert offline_page.blocked == [], "the documentation reached for the internet"
