"""Operations: /health, /ready, /metrics (Prometheus), and what the service logs.

The metrics live in prometheus_client's process-wide default registry, so every assertion here is
on the change a test causes (scrape before, act, scrape after), never on absolute values.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from cds.api import ops
from cds.api.app import create_app
from cds.audit.database import open_store, upgrade
from cds.audit.store import MemoryAuditStore
from cds.cards import RULE_EXTENSION
from cds.cli.serve import MULTIPROC_ENV, prepare_metrics_dir
from cds.logs import JsonFormatter
from cds.pipeline import Engine
from cds.settings import Settings
from tests.support.databases import postgres_database, sqlite_url, unreachable_postgres_url
from tests.support.fhir import PATIENT_ID, bundle, medication_request, observation

SERVICE = "leg-pain-patient-view"
CALL_ROUTE = "/cds-services/{service_id}"
FEEDBACK_ROUTE = "/cds-services/{service_id}/feedback"
FUROSEMIDE = ("197732", "furosemide 80 MG Oral Tablet")  # a loop diuretic
POTASSIUM = "2823-3"  # LOINC, serum or plasma
# PHI that must never reach a log line or a metric.
PATIENT_NAME = ("Zebedee", "Quackenbush")
PATIENT_BIRTH_DATE = "1937-03-17"
FHIR_TOKEN = "fhir-access-token-must-not-be-logged"
PATIENT = {
    "resourceType": "Patient",
    "id": PATIENT_ID,
    "name": [{"family": PATIENT_NAME[1], "given": [PATIENT_NAME[0]]}],
    "birthDate": PATIENT_BIRTH_DATE,
    "gender": "male",
}


# ---------------------------------------------------------------------------------------------
# Helpers (tests/test_deployment.py uses them too)


def hook_request(
    engine: Engine,
    service_id: str = SERVICE,
    *,
    omit: tuple[str, ...] = (),
    fhir_server: str | None = None,
) -> dict[str, Any]:
    """A patient-view call whose prefetch makes the diuretic-electrolytes card fire (furosemide,
    potassium 3.1 mmol/L ten days ago), with a named patient. `omit` leaves prefetch keys out,
    so the service must fetch them from `fhir_server`."""
    now = datetime.now(UTC)  # the service judges at the time of the call
    medication = medication_request(*FUROSEMIDE)
    medication["authoredOn"] = (now - timedelta(days=30)).isoformat()
    potassium = observation(POTASSIUM, 3.1, "mmol/L")
    potassium["effectiveDateTime"] = (now - timedelta(days=10)).isoformat()
    prefetch: dict[str, Any] = dict.fromkeys(engine.services[service_id].prefetch)
    prefetch.update(
        Patient=PATIENT, MedicationRequest=bundle([medication]), Observation=bundle([potassium])
    )
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-1", "patientId": PATIENT_ID},
        "prefetch": {k: v for k, v in prefetch.items() if k not in omit},
    }
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
        body["fhirAuthorization"] = {
            "access_token": FHIR_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cds-service",
        }
    return body


def rule_of(card: dict[str, Any]) -> str:
    rule: str = card["extension"][RULE_EXTENSION]["id"]
    return rule


def feedback_item(card: str, outcome: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "card": card,
        "outcome": outcome,
        "outcomeTimestamp": datetime.now(UTC).isoformat(),
    }
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": "s-1"}]
    else:
        item["overrideReason"] = {
            "reason": {"system": "urn:legpain-cds:override-reason", "code": "not-relevant"}
        }
    return item


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse_metrics(response.text)


class Delta:
    """Metric changes between construction and `after()`."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.before = scrape(client)
        self.now: Samples = {}

    def after(self) -> Delta:
        self.now = scrape(self.client)
        return self

    def __call__(self, name: str, **labels: str) -> float:
        return value(self.now, name, **labels) - value(self.before, name, **labels)


def http_labels(route: str, status: int, method: str = "POST", service: str = SERVICE) -> Any:
    return {"route": route, "service": service, "method": method, "status": str(status)}


@pytest.fixture
def app_factory(settings: Settings, engine: Engine) -> Iterator[Callable[..., TestClient]]:
    """Apps with their own store, FHIR transport or settings; closed at the end of the test."""
    clients: list[TestClient] = []

    def make(**kwargs: Any) -> TestClient:
        kwargs.setdefault("store", MemoryAuditStore())
        client = TestClient(create_app(kwargs.pop("settings", settings), engine=engine, **kwargs))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


# ---------------------------------------------------------------------------------------------
# /health and /ready


def test_health_answers_200(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_200_when_the_database_is_migrated(
    app_factory: Callable[..., TestClient], tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path)
    upgrade(url)
    client = app_factory(store=open_store(url))
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["hooks"].startswith("ok")


@pytest.mark.postgres
def test_ready_is_200_with_postgresql_up(app_factory: Callable[..., TestClient]) -> None:
    with postgres_database("cds_ops") as url:
        upgrade(url)
        store = open_store(url)
        try:
            response = app_factory(store=store).get("/ready")
        finally:
            store.close()  # before the database is dropped
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["database"] == "ok"


class FailingStore(MemoryAuditStore):
    def check_writable(self) -> None:
        raise ConnectionRefusedError("connection to 10.0.0.5:5432 refused")


def test_ready_is_503_with_the_reason_when_the_write_check_raises(
    app_factory: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = app_factory(store=FailingStore())
    with caplog.at_level(logging.WARNING, logger="cds.api.ops"):
        response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "unreachable (ConnectionRefusedError)"
    # The details are for the operator's log, not for an unauthenticated endpoint.
    assert "10.0.0.5" not in response.text
    assert "10.0.0.5" in caplog.text
    assert client.get("/health").status_code == 200  # liveness is not readiness


def test_ready_is_503_when_the_database_is_not_migrated(
    app_factory: Callable[..., TestClient], tmp_path: Path
) -> None:
    response = app_factory(store=open_store(sqlite_url(tmp_path))).get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable (SchemaNotCurrent)"


@pytest.mark.postgres
def test_ready_is_503_when_postgresql_is_unreachable(
    app_factory: Callable[..., TestClient],
) -> None:
    store = open_store(unreachable_postgres_url())  # logs, does not raise: cards are still served
    response = app_factory(store=store).get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable (")


class HangingStore(MemoryAuditStore):
    def check_writable(self) -> None:
        time.sleep(3)


def test_ready_answers_in_bounded_time_when_the_database_hangs(
    app_factory: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ops, "READY_CHECK_TIMEOUT_SECONDS", 0.2)
    client = app_factory(store=HangingStore())
    started = time.monotonic()
    response = client.get("/ready")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("not answering")


# ---------------------------------------------------------------------------------------------
# /metrics


def test_calls_and_feedback_show_up_in_metrics(client: TestClient, engine: Engine) -> None:
    delta = Delta(client)
    cards = []
    for _ in range(3):
        response = client.post(f"/cds-services/{SERVICE}", json=hook_request(engine))
        assert response.status_code == 200, response.text
        cards.extend(response.json()["cards"])
    assert sum(rule_of(card) == "diuretic-electrolytes" for card in cards) == 3, cards
    accepted = feedback_item(cards[0]["uuid"], "accepted")
    overridden = feedback_item(cards[1]["uuid"], "overridden")
    for items in ([accepted, overridden], [accepted]):  # the second post is an EHR retry
        response = client.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": items})
        assert response.status_code == 200, response.text
    delta.after()

    assert delta("cds_http_requests_total", **http_labels(CALL_ROUTE, 200)) == 3
    assert delta("cds_http_request_duration_seconds_count", **http_labels(CALL_ROUTE, 200)) == 3
    assert delta("cds_http_request_duration_seconds_sum", **http_labels(CALL_ROUTE, 200)) > 0
    assert delta("cds_http_requests_total", **http_labels(FEEDBACK_ROUTE, 200)) == 2
    issued = Counter((rule_of(card), card["indicator"]) for card in cards)
    for (rule, indicator), count in issued.items():
        labels = {"service": SERVICE, "rule": rule, "indicator": indicator}
        assert delta("cds_cards_issued_total", **labels) == count
    assert delta("cds_feedback_total", service=SERVICE, outcome="accepted") == 2
    assert delta("cds_feedback_total", service=SERVICE, outcome="overridden") == 1
    assert delta("cds_feedback_duplicates_total", service=SERVICE) == 1
    # The scrape of /metrics itself is counted under its route.
    assert delta("cds_http_requests_total", **http_labels("/metrics", 200, "GET", "")) == 1


def test_every_series_is_exported_from_the_start(client: TestClient) -> None:
    """Alerts on rate() need the failure series to exist before the first failure."""
    samples = scrape(client)
    for record in ("invocation", "feedback"):
        assert ("cds_audit_write_failures_total", frozenset({("record", record)})) in samples
    for reason in ("timeout", "refused", "http_error", "invalid_json", "too_large", "not_allowed"):
        assert ("cds_fhir_fetch_failures_total", frozenset({("reason", reason)})) in samples
    assert ("cds_fhir_fetches_total", frozenset()) in samples


def test_label_values_never_come_from_the_raw_path(client: TestClient, engine: Engine) -> None:
    """Bounded cardinality: unknown service ids and unmatched paths fold into fixed values."""
    delta = Delta(client)
    made_up = [f"no-such-service-{uuid.uuid4().hex}" for _ in range(3)]
    for service_id in made_up:
        assert client.post(f"/cds-services/{service_id}", json={}).status_code == 404
    probe = f"/wp-admin/{uuid.uuid4().hex}.php"
    assert client.get(probe).status_code == 404
    delta.after()
    assert delta("cds_http_requests_total", **http_labels(CALL_ROUTE, 404, service="unknown")) == 3
    unmatched = http_labels("unmatched", 404, "GET", "")
    assert delta("cds_http_requests_total", **unmatched) == 1
    text = client.get("/metrics").text
    for raw in [*made_up, probe, PATIENT_ID]:
        assert raw not in text
    services = {
        dict(labels).get("service")
        for (name, labels) in delta.now
        if name.startswith("cds_http_request")
    }
    assert services <= {*engine.services, "unknown", ""}


def _fhir_failing(kind: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {FHIR_TOKEN}"
        if kind == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if kind == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if kind == "http_error":
            return httpx.Response(500, json={"resourceType": "OperationOutcome"})
        if kind == "unauthorized":
            return httpx.Response(401)
        if kind == "invalid_json":
            return httpx.Response(200, content=b"<html>not json</html>")
        return httpx.Response(200, json=PATIENT)  # "ok"

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("kind", "reason", "status"),
    [
        ("ok", None, 200),
        ("refused", "refused", 412),
        ("timeout", "timeout", 412),
        ("http_error", "http_error", 412),
        ("unauthorized", "http_error", 412),
        ("invalid_json", "invalid_json", 412),
    ],
)
def test_fhir_fetches_and_their_failures_are_counted_by_reason(
    app_factory: Callable[..., TestClient],
    engine: Engine,
    kind: str,
    reason: str | None,
    status: int,
) -> None:
    client = app_factory(fhir_transport=_fhir_failing(kind))
    delta = Delta(client)
    body = hook_request(engine, omit=("Patient",), fhir_server="https://ehr.example.org/fhir")
    response = client.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == status, response.text
    delta.after()
    assert delta("cds_fhir_fetches_total") == 1
    assert delta("cds_fhir_fetch_duration_seconds_count") == 1
    for other in ("timeout", "refused", "http_error", "invalid_json", "too_large", "not_allowed"):
        expected = 1 if other == reason else 0
        assert delta("cds_fhir_fetch_failures_total", reason=other) == expected, other
    assert delta("cds_http_requests_total", **http_labels(CALL_ROUTE, status)) == 1


def test_a_fhir_server_off_the_allow_list_counts_as_not_allowed(
    app_factory: Callable[..., TestClient], engine: Engine, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=sqlite_url(tmp_path),
        allowed_fhir_servers=["https://ehr.example.org/fhir"],
    )
    client = app_factory(settings=settings, fhir_transport=_fhir_failing("ok"))
    delta = Delta(client)
    body = hook_request(engine, omit=("Patient", "Condition"), fhir_server="https://evil.example")
    assert client.post(f"/cds-services/{SERVICE}", json=body).status_code == 412
    delta.after()
    assert delta("cds_fhir_fetch_failures_total", reason="not_allowed") == 2
    assert delta("cds_fhir_fetches_total") == 0  # never contacted


# ---------------------------------------------------------------------------------------------
# Logs


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the service logs at INFO, formatted by the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = stream.getvalue().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(p, dict) for p in parsed)
    return parsed


def test_each_invocation_is_one_json_line_with_ids_and_no_phi(
    client: TestClient, engine: Engine, json_log: io.StringIO
) -> None:
    body = hook_request(engine)
    response = client.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200
    card = response.json()["cards"][0]["uuid"]
    feedback = {"feedback": [feedback_item(card, "accepted")]}
    assert client.post(f"/cds-services/{SERVICE}/feedback", json=feedback).status_code == 200

    lines = log_lines(json_log)
    invocations = [line for line in lines if line["message"] == "invocation"]
    assert len(invocations) == 1
    line = invocations[0]
    assert {"time", "level", "logger", "hookInstance", "service", "duration_ms", "cards"} <= set(
        line
    )
    assert line["hookInstance"] == body["hookInstance"]
    assert line["service"] == SERVICE
    assert line["status"] == 200
    assert line["cards"] == len(response.json()["cards"])
    assert isinstance(line["duration_ms"], float)
    feedback_lines = [line for line in lines if line["message"] == "feedback"]
    assert len(feedback_lines) == 1
    assert feedback_lines[0]["stored"] == 1
    _assert_no_phi(json_log.getvalue())


def _assert_no_phi(text: str) -> None:
    for secret in (*PATIENT_NAME, PATIENT_BIRTH_DATE, FHIR_TOKEN):
        assert secret not in text


def test_a_412_is_one_line_with_status_and_reason_and_no_phi(
    app_factory: Callable[..., TestClient], engine: Engine, json_log: io.StringIO
) -> None:
    client = app_factory(fhir_transport=_fhir_failing("http_error"))
    body = hook_request(engine, omit=("Patient",), fhir_server="https://ehr.example.org/fhir")
    response = client.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 412
    lines = [line for line in log_lines(json_log) if line.get("status") == 412]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["message"] == "request rejected"
    # The server is not on the list (none is): the answer and this line say no more; the
    # WARNING line before it has how it failed.
    assert line["reason"] == "required data unavailable: Patient (unexplained)"
    assert line["hookInstance"] == body["hookInstance"]
    assert line["service"] == SERVICE
    _assert_no_phi(json_log.getvalue())


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (f"/cds-services/{SERVICE}", {"hook": "patient-view"}, 400),
        ("/cds-services/no-such-service", {}, 404),
        (f"/cds-services/{SERVICE}/feedback", {"feedback": [{"card": "x"}]}, 400),
    ],
)
def test_a_rejected_request_is_one_line_with_status_and_reason(
    client: TestClient, json_log: io.StringIO, path: str, body: Any, status: int
) -> None:
    # The rejected body carries the patient: none of it may reach the log.
    body = {**body, "prefetch": {"Patient": PATIENT}}
    assert client.post(path, json=body).status_code == status
    lines = [line for line in log_lines(json_log) if "status" in line]
    assert len(lines) == 1, lines
    assert lines[0]["status"] == status
    assert lines[0]["reason"]
    _assert_no_phi(json_log.getvalue())


def test_uvicorn_and_service_loggers_share_one_json_handler(tmp_path: Path) -> None:
    """In a fresh interpreter (as a worker is): every line JSON, none printed twice."""
    script = """
import logging
from cds.logs import configure_logging
from cds.settings import Settings
configure_logging(Settings(log_format="json", database_url="sqlite://"))
logging.getLogger("uvicorn.error").info("Started server process")
logging.getLogger("uvicorn.access").info("GET / 200")
logging.getLogger("cds.invocation").info("invocation", extra={"hookInstance": "h", "cards": 1})
logging.getLogger("httpx").info("HTTP Request: GET https://ehr/fhir (Authorization: Bearer x)")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert result.stdout == ""
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn.error", "Started server process"),
        ("cds.invocation", "invocation"),
    ]
    assert lines[1]["hookInstance"] == "h"


# ---------------------------------------------------------------------------------------------
# Several workers: prometheus_client's multiprocess directory


def test_serve_gives_several_workers_a_fresh_private_metrics_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # set, then delete: monkeypatch then restores the variable's absence after the test, so
    # prepare_metrics_dir's own setting of it does not leak into later tests.
    monkeypatch.setenv(MULTIPROC_ENV, "unset-me")
    monkeypatch.delenv(MULTIPROC_ENV)
    assert prepare_metrics_dir(1) is None
    assert MULTIPROC_ENV not in os.environ  # one process: the in-memory registry
    directory = prepare_metrics_dir(2)
    try:
        assert directory is not None
        assert os.environ[MULTIPROC_ENV] == str(directory)
        assert directory.is_dir()
        assert list(directory.iterdir()) == []
        assert directory.stat().st_mode & 0o077 == 0  # private to the service's user
    finally:
        if directory is not None:
            directory.rmdir()


def test_a_metrics_directory_named_by_the_operator_is_emptied_of_stale_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "counter_4242.db"
    stale.write_bytes(b"old run")
    keep = tmp_path / "README"
    keep.write_text("not ours")
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    assert prepare_metrics_dir(4) is None  # not ours to remove at exit
    assert not stale.exists()
    assert keep.exists()
