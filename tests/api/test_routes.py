"""The OpenAPI document (/openapi.json, what /docs and /redoc show) describes the answers the
routes really give: each status a route can answer is documented, with a schema its real body
satisfies, and FastAPI's 422, which no route ever answers, is gone."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.pipeline import Engine
from cds.settings import Settings
from tests.support.paths import FIXTURES
from tests.support.security import DISCOVERY, SERVICE_PATH, Harness

FEEDBACK_PATH = f"{SERVICE_PATH}/feedback"
CALL_TEMPLATE = "/cds-services/{service_id}"
FEEDBACK_TEMPLATE = "/cds-services/{service_id}/feedback"
FEEDBACK = {
    "feedback": [
        {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-11-21T12:00:00Z"}
    ]
}


def _request(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name / "request.json").read_text())
    return body


@pytest.fixture(scope="module")
def client(engine: Engine) -> TestClient:
    settings = Settings(database_url="sqlite://", max_body_bytes=4096)
    return TestClient(create_app(settings, engine=engine, store=MemoryAuditStore()))


def _document(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


Call = Callable[[TestClient], Any]
ANSWERS: list[tuple[str, str, int, Call]] = [
    ("get", "/cds-services", 200, lambda c: c.get(DISCOVERY)),
    (
        "post",
        CALL_TEMPLATE,
        200,
        lambda c: c.post(SERVICE_PATH, json=_request("protocol--null-prefetch-is-no-data")),
    ),
    ("post", CALL_TEMPLATE, 400, lambda c: c.post(SERVICE_PATH, content=b"{not json")),
    ("post", CALL_TEMPLATE, 404, lambda c: c.post("/cds-services/nope", json={})),
    (
        "post",
        CALL_TEMPLATE,
        412,
        lambda c: c.post(SERVICE_PATH, json=_request("protocol--absent-prefetch-no-fhir-server")),
    ),
    ("post", CALL_TEMPLATE, 413, lambda c: c.post(SERVICE_PATH, content=b"{" + b" " * 5000)),
    ("post", FEEDBACK_TEMPLATE, 200, lambda c: c.post(FEEDBACK_PATH, json=FEEDBACK)),
    ("post", FEEDBACK_TEMPLATE, 400, lambda c: c.post(FEEDBACK_PATH, json={"feedback": 1})),
    ("post", FEEDBACK_TEMPLATE, 404, lambda c: c.post("/cds-services/nope/feedback", json={})),
    ("post", FEEDBACK_TEMPLATE, 413, lambda c: c.post(FEEDBACK_PATH, content=b" " * 5000)),
]


@pytest.mark.parametrize(
    ("method", "path", "status", "call"),
    ANSWERS,
    ids=[f"{m} {p} {s}" for m, p, s, _ in ANSWERS],
)
def test_a_real_answer_matches_its_documented_schema(
    client: TestClient, method: str, path: str, status: int, call: Call
) -> None:
    response = call(client)
    assert response.status_code == status, response.text
    _assert_documented(_document(client), method, path, status, response.json())


def test_a_refused_token_matches_its_documented_schema(harness: Harness) -> None:
    client = harness.client()
    for method, path, real_path in (
        ("get", "/cds-services", DISCOVERY),
        ("post", CALL_TEMPLATE, SERVICE_PATH),
        ("post", FEEDBACK_TEMPLATE, FEEDBACK_PATH),
    ):
        response = client.request(method.upper(), real_path, json={})
        assert response.status_code == 401
        _assert_documented(_document(client), method, path, 401, response.json())


def test_every_documented_answer_is_one_a_route_gives(client: TestClient) -> None:
    paths = _document(client)["paths"]
    documented = {
        (method, path): sorted(int(status) for status in operation["responses"])
        for path, operations in paths.items()
        if path.startswith("/cds-services")
        for method, operation in operations.items()
    }
    assert documented == {
        ("get", "/cds-services"): [200, 401, 503],
        ("post", CALL_TEMPLATE): [200, 400, 401, 404, 412, 413, 503],
        ("post", FEEDBACK_TEMPLATE): [200, 400, 401, 404, 413, 503],
    }


def test_no_route_is_documented_with_a_422(client: TestClient) -> None:
    text = json.dumps(_document(client))
    assert '"422"' not in text
    assert "HTTPValidationError" not in text


def _assert_documented(
    document: dict[str, Any], method: str, path: str, status: int, body: Any
) -> None:
    response = document["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    # The document's own references (#/components/schemas/...) resolve against this root.
    validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
    errors = [error.message for error in validator.iter_errors(body)]
    assert errors == [], (path, status, body)
