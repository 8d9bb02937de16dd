"""Prefetch, FHIR fallback and 412, over real HTTP to a loopback FHIR server.

CDS Hooks 2.0 (shared/docs/cds-hooks-2.0.md §1): a present key is used as given; a null key is
"no data", not missing; an absent key is fetched from fhirServer with the fhirAuthorization
bearer token. A key that cannot be had stops the rules that need it; when that is every pinned
rule (every released 1.0.0 rule needs Condition) or the Patient is missing, the service answers
412 with an OperationOutcome (tests/test_partial_data.py has the partial answers).
The FHIR server is a real threaded HTTP server on 127.0.0.1 (tests/support/fhir_server.py).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.fhir.prefetch import render
from cds.pipeline import DATA_WARNINGS_EXTENSION, RULES_NOT_EVALUATED_EXTENSION, Engine
from cds.replay.hook_request import build_hook_request
from cds.settings import Settings
from tests.support.fhir_server import FhirTestServer, sha256
from tests.support.security import SERVICE_PATH, Harness, full_prefetch, serve_fhir

SERVICE = "leg-pain-patient-view"
RULE = "diuretic-electrolytes"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
# Unique per run, so a leak anywhere is recognisable; it is never printed by these tests.
TOKEN = "tok-" + uuid.uuid4().hex + "-secret"
TIMEOUT = 0.5  # CDS_FHIR_TIMEOUT_SECONDS where a failing server is the point
RELAXED_TIMEOUT = 5.0  # elsewhere: a loaded CI machine must not turn a success into a 412
SLACK = 1.5  # test-client and thread overhead on a loaded machine

# The route judges at its own clock, so the synthetic data is dated relative to now.
NOW = datetime.now(UTC)


def _ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def _patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1950-04-02"}


def _furosemide(pid: str, rid: str, *, reference: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": _ago(60),
    }
    if reference:
        resource["medicationReference"] = {"reference": reference}
    else:
        resource["medicationCodeableConcept"] = {
            "coding": [{"system": RXNORM, "code": "4603", "display": "furosemide"}],
            "text": "Furosemide 40 MG Oral Tablet",
        }
    return resource


def _potassium(pid: str, rid: str, value: float, days_ago: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "2823-3", "display": "Potassium"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": _ago(days_ago),
        "valueQuantity": {
            "value": value,
            "unit": "mmol/L",
            "system": "http://unitsofmeasure.org",
            "code": "mmol/L",
        },
    }


# A patient on furosemide with K 3.1 ten days ago: the diuretic card (warning) is expected.
PID = "fetch-low-k"
LOW_K = [
    _patient(PID),
    _furosemide(PID, "fetch-low-k-mr"),
    _potassium(PID, "fetch-low-k-k1", 3.1, 10),
]
# Same, but the drug is a medicationReference to a Medication only the FHIR server holds.
PID_REF = "fetch-med-ref"
MEDICATION = {
    "resourceType": "Medication",
    "id": "fetch-med-furosemide",
    "code": {"coding": [{"system": RXNORM, "code": "4603", "display": "furosemide"}]},
}
MED_REF = [
    _patient(PID_REF),
    _furosemide(PID_REF, "fetch-med-ref-mr", reference="Medication/fetch-med-furosemide"),
    _potassium(PID_REF, "fetch-med-ref-k", 3.1, 10),
]
# Five potassium results, oldest first; only the newest (the fifth, on page 3 of pages of two)
# is low. Truncating the search after two pages loses it.
PID_PAGED = "fetch-paged"
PAGED = [
    _patient(PID_PAGED),
    _furosemide(PID_PAGED, "fetch-paged-mr"),
    *(_potassium(PID_PAGED, f"fetch-paged-k{i}", 4.2, 80 - i * 10) for i in range(4)),
    _potassium(PID_PAGED, "fetch-paged-k4", 3.0, 5),
]


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


@pytest.fixture(scope="module")
def _server() -> Iterator[FhirTestServer]:
    # Synthetic patients only (the Synthea-loaded `fhir_server` fixture is not needed here).
    with FhirTestServer() as server:
        server.data.add([*LOW_K, MEDICATION, *MED_REF, *PAGED])
        yield server


@pytest.fixture
def server(_server: FhirTestServer) -> FhirTestServer:
    _server.clear_requests()
    return _server


@pytest.fixture
def store() -> MemoryAuditStore:
    return MemoryAuditStore()


def _client(
    engine: Engine,
    store: MemoryAuditStore,
    tmp_path: Any,
    listed: list[str],
    **settings: Any,
) -> TestClient:
    """An app allowed to fetch from `listed` (the loopback server's bases: a loopback server is
    contacted only when listed)."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'cds.db'}",
        "fhir_timeout_seconds": RELAXED_TIMEOUT,
        "cors_origins": ["*"],
        "allowed_fhir_servers": listed,
        **settings,
    }
    return TestClient(create_app(Settings(**values), engine=engine, store=store))


def _origin(server: FhirTestServer) -> str:
    """The loopback server, every failure mode of it (`server.url(mode)`)."""
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
def api(
    engine: Engine, store: MemoryAuditStore, tmp_path: Any, server: FhirTestServer
) -> Iterator[TestClient]:
    with _client(engine, store, tmp_path, [_origin(server)]) as client:
        yield client


def _request(
    engine: Engine,
    resources: list[dict[str, Any]],
    *,
    drop: tuple[str, ...] = (),
    fhir_server: str | None = None,
    token: str | None = None,
    **prefetch: Any,
) -> dict[str, Any]:
    """A patient-view request with the full prefetch built from `resources`, minus `drop`,
    with overrides given as keyword arguments (key=value)."""
    body = build_hook_request(
        _bundle(resources), engine.services[SERVICE], hook_instance=uuid.uuid4()
    )
    for key in drop:
        del body["prefetch"][key]
    body["prefetch"].update(prefetch)
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    if token is not None:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "legpain-cds",
            "patient": body["context"]["patientId"],
        }
    return body


def _without_prefetch(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "prefetch"}


def _rules(response: Any) -> list[tuple[str, str]]:
    return [(c["source"]["topic"]["code"], c["indicator"]) for c in response.json()["cards"]]


def _codes(response: Any) -> list[str]:
    return [code for code, _ in _rules(response)]


def _warnings(response: Any) -> list[str]:
    warnings: list[str] = response.json().get("extension", {}).get(DATA_WARNINGS_EXTENSION, [])
    return warnings


def _not_evaluated(response: Any) -> dict[str, list[tuple[str, str]]]:
    """rule id -> the (prefetch key, why) that stopped it, from the response's extension."""
    entries = response.json().get("extension", {}).get(RULES_NOT_EVALUATED_EXTENSION, [])
    return {e["rule"]: [(m["prefetchKey"], m["reason"]) for m in e["missing"]] for e in entries}


def _needing(engine: Engine, resource_type: str) -> set[str]:
    """The pinned rules of the service that declare `resource_type` essential."""
    return {
        rule.id
        for rule in engine.services[SERVICE].rules
        if any(r.resource_type == resource_type and r.essential for r in rule.requires)
    }


def _queries(server: FhirTestServer) -> list[tuple[str, list[tuple[str, str]]]]:
    return sorted((r.fhir_path, parse_qsl(r.query)) for r in server.requests)


def _templated(engine: Engine, pid: str, keys: list[str] | None = None) -> list[Any]:
    templates = engine.services[SERVICE].prefetch
    out = []
    for key in keys or list(templates):
        path, _, query = render(templates[key], {"context.patientId": pid}).partition("?")
        out.append((path, parse_qsl(query)))
    return sorted(out)


def _assert_412(response: Any, keys: list[str], *, code: str | None = None) -> list[Any]:
    assert response.status_code == 412, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issues = outcome["issue"]
    assert sorted(i["expression"][0] for i in issues) == sorted(f"prefetch.{k}" for k in keys)
    for issue in issues:
        assert issue["severity"] == "error"
        key = issue["expression"][0].removeprefix("prefetch.")
        assert f"prefetch '{key}'" in issue["diagnostics"]  # names the key ...
        assert ": " in issue["diagnostics"]  # ... and why
        if code is not None:
            assert issue["code"] == code, issue
    return list(issues)


# ---------------------------------------------------------------------------------------------
# Prefetch present, null, absent


def test_prefetch_present_is_used_and_nothing_is_fetched(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    body = _request(engine, LOW_K, fhir_server=server.base, token=TOKEN)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert (RULE, "warning") in _rules(response)
    assert server.requests == []


def test_null_prefetch_is_no_data_not_missing(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    templates = engine.services[SERVICE].prefetch
    body = _request(engine, LOW_K, fhir_server=server.base)
    body["prefetch"] = dict.fromkeys(templates)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["cards"] == []
    assert server.requests == []
    # Without a fhirServer too: null is an answer, there is nothing to fetch.
    del body["fhirServer"]
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text


def test_empty_searchset_is_no_data(api: TestClient, engine: Engine) -> None:
    empty = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    body = _request(engine, LOW_K, Observation=empty, MedicationRequest=empty)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["cards"] == []


def test_absent_keys_without_fhir_server_that_every_rule_needs_are_412_naming_them(
    api: TestClient, engine: Engine
) -> None:
    # Without the Patient no rule can run.
    body = _request(engine, LOW_K, drop=("Patient", "MedicationStatement"))
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    issues = _assert_412(response, ["Patient", "MedicationStatement"], code="not-found")
    assert all("no fhirServer" in i["diagnostics"] for i in issues)
    assert all("not-sent" in i["diagnostics"] for i in issues)
    # No prefetch at all (no Patient): every key is named.
    response = api.post(f"/cds-services/{SERVICE}", json=_without_prefetch(body))
    _assert_412(response, list(engine.services[SERVICE].prefetch))


def test_absent_keys_without_fhir_server_stop_only_the_rules_that_need_them(
    api: TestClient, engine: Engine
) -> None:
    body = _request(engine, LOW_K, drop=("Observation", "MedicationStatement"))
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    stopped = _not_evaluated(response)
    assert set(stopped) == _needing(engine, "Observation") | _needing(engine, "MedicationStatement")
    assert all(reason == "not-sent" for why in stopped.values() for _, reason in why)
    assert RULE not in _codes(response)  # it needs both


# ---------------------------------------------------------------------------------------------
# Fetching over HTTP


def test_absent_keys_are_fetched_with_the_bearer_token_which_is_never_logged(
    api: TestClient,
    engine: Engine,
    server: FhirTestServer,
    store: MemoryAuditStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included: the worst case for leaks
    body = _without_prefetch(_request(engine, LOW_K, fhir_server=server.base, token=TOKEN))
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert (RULE, "warning") in _rules(response)  # the fetched data reached the rules
    # Exactly the service's templates, each once, each with the EHR's token.
    assert _queries(server) == _templated(engine, PID)
    assert all(r.has_bearer and r.token_sha256 == sha256(TOKEN) for r in server.requests)
    assert all(r.method == "GET" and r.host == f"127.0.0.1:{server.port}" for r in server.requests)
    # The token is transient: not in the logs (messages, arguments, extras), the answer or
    # the audit trail.
    assert caplog.records, "expected some log records at DEBUG"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.__dict__)
    assert TOKEN not in caplog.text
    assert TOKEN not in response.text
    assert TOKEN not in repr(store.invocations)


def test_without_fhir_authorization_no_authorization_header_is_sent(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    body = _request(engine, LOW_K, drop=("Observation",), fhir_server=server.base)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert _queries(server) == _templated(engine, PID, ["Observation"])
    assert not any(r.has_bearer for r in server.requests)


def test_a_partial_prefetch_fetches_only_the_absent_keys(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    body = _request(
        engine, LOW_K, drop=("Observation", "Patient"), fhir_server=server.base, token=TOKEN
    )
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert (RULE, "warning") in _rules(response)
    assert _queries(server) == _templated(engine, PID, ["Observation", "Patient"])


def test_unknown_patient_on_the_server_gives_no_data_not_412(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    body = _without_prefetch(_request(engine, LOW_K, fhir_server=server.base))
    body["context"]["patientId"] = "nobody-" + uuid.uuid4().hex
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text  # empty searchsets; the read is a 404
    assert response.json()["cards"] == []
    assert len(server.requests) == len(engine.services[SERVICE].prefetch)


FAILURES = [
    pytest.param("status/500", "transient", id="http-500"),
    pytest.param("status/401", "security", id="http-401"),
    pytest.param("status/403", "security", id="http-403"),
    pytest.param("slow/5", "timeout", id="slow"),
    pytest.param("trickle", "timeout", id="trickle"),
    pytest.param("closed", "transient", id="refused"),
    pytest.param("invalid-json", "structure", id="invalid-json"),
    pytest.param("outcome", "processing", id="operation-outcome"),
    pytest.param("redirect", "transient", id="redirect-not-followed"),
    pytest.param("foreign-next", "security", id="next-link-to-other-host"),
]


@pytest.mark.parametrize(("mode", "code"), FAILURES)
def test_absent_keys_and_a_failing_fhir_server_give_412_in_bounded_time(
    engine: Engine,
    store: MemoryAuditStore,
    tmp_path: Any,
    server: FhirTestServer,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    code: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    base = server.closed_url() if mode == "closed" else server.url(mode)
    keys = ["Observation", "Condition"]
    body = _request(engine, LOW_K, drop=tuple(keys), fhir_server=base, token=TOKEN)
    with _client(engine, store, tmp_path, [base], fhir_timeout_seconds=TIMEOUT) as api:
        started = time.monotonic()
        response = api.post(f"/cds-services/{SERVICE}", json=body)
        elapsed = time.monotonic() - started
    _assert_412(response, keys, code=code)
    assert elapsed < TIMEOUT + SLACK, f"{mode}: took {elapsed:.2f} s"
    # The token went only to the fhirServer named in the request, never to another host.
    assert all(r.host == f"127.0.0.1:{server.port}" for r in server.requests)
    assert TOKEN not in caplog.text
    assert TOKEN not in response.text


def test_a_failing_fhir_server_without_needed_keys_is_not_contacted(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    body = _request(engine, LOW_K, fhir_server=server.url("status/500"), token=TOKEN)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert server.requests == []


# ---------------------------------------------------------------------------------------------
# Paging


def test_next_links_are_followed(api: TestClient, engine: Engine, server: FhirTestServer) -> None:
    body = _request(engine, PAGED, drop=("Observation",), fhir_server=server.url("paged/2"))
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert (RULE, "warning") in _rules(response)  # the low K was on page 3
    pages = [r for r in server.requests if r.fhir_path == "Observation"]
    assert len(pages) == 3
    assert [dict(parse_qsl(r.query)).get("_offset") for r in pages] == [None, "2", "4"]
    assert not _warnings(response)


def test_next_links_stop_at_max_pages_with_a_warning(
    engine: Engine, store: MemoryAuditStore, tmp_path: Any, server: FhirTestServer
) -> None:
    body = _request(engine, PAGED, drop=("Observation",), fhir_server=server.url("paged/2"))
    with _client(engine, store, tmp_path, [_origin(server)], fhir_max_pages=2) as api:
        response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert len([r for r in server.requests if r.fhir_path == "Observation"]) == 2
    assert RULE not in _codes(response)  # the low K on page 3 was never read ...
    assert any("truncated after 2 page" in w for w in _warnings(response))  # ... and it says so


def test_a_paginated_prefetch_is_completed_from_the_fhir_server(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    templates = engine.services[SERVICE].prefetch
    query = render(templates["Observation"], {"context.patientId": PID_PAGED})
    first_page = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": f"{server.url('paged/2')}/{query}&_offset=2"}],
        "entry": [{"resource": r} for r in PAGED[2:4]],
    }
    body = _request(engine, PAGED, fhir_server=server.url("paged/2"), Observation=first_page)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert (RULE, "warning") in _rules(response)
    assert [dict(parse_qsl(r.query)).get("_offset") for r in server.requests] == ["2", "4"]
    # A next link to another host is never followed: the first page is used, with a warning.
    first_page["link"] = [
        {"relation": "next", "url": f"http://localhost:{server.port}/fhir/{query}"}
    ]
    server.clear_requests()
    body = _request(engine, PAGED, fhir_server=server.base, token=TOKEN, Observation=first_page)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert server.requests == []
    assert any("one page of a longer search" in w for w in _warnings(response))


# ---------------------------------------------------------------------------------------------
# OperationOutcomes


def test_an_operation_outcome_prefetch_value_is_fetched_instead(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout", "diagnostics": "EHR query timed out"}],
    }
    body = _request(engine, LOW_K, fhir_server=server.base, token=TOKEN, Observation=outcome)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert (RULE, "warning") in _rules(response)
    assert _queries(server) == _templated(engine, PID, ["Observation"])
    assert any("OperationOutcome" in w and "EHR query timed out" in w for w in _warnings(response))
    # With nowhere to fetch it from, the key is missing: the rules that need it are not run.
    response = api.post(
        f"/cds-services/{SERVICE}", json=_request(engine, LOW_K, Observation=outcome)
    )
    assert response.status_code == 200, response.text
    stopped = _not_evaluated(response)
    assert set(stopped) == _needing(engine, "Observation")
    assert {why for whys in stopped.values() for why in whys} == {("Observation", "not-sent")}
    assert RULE not in _codes(response)


def test_operation_outcomes_inside_a_bundle_are_reported_not_used(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    body = _request(engine, LOW_K, fhir_server=server.base)
    body["prefetch"]["Observation"]["entry"].append(
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "warning", "code": "incomplete", "diagnostics": "partial"}],
            },
            "search": {"mode": "outcome"},
        }
    )
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert (RULE, "warning") in _rules(response)  # the real entries still count
    assert any("carried an OperationOutcome: partial" in w for w in _warnings(response))
    assert server.requests == []


def test_data_warnings_are_capped(api: TestClient, engine: Engine) -> None:
    body = _request(engine, LOW_K)
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "x"}]}
    body["prefetch"]["Condition"]["entry"] = [{"resource": outcome}] * 500
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    warnings = _warnings(response)
    assert len(warnings) == 20
    assert warnings[-1] == "... and 481 more data warnings"


@pytest.mark.parametrize(
    "value", [[], "Bundle", 3, {"entry": []}], ids=["list", "str", "int", "no-type"]
)
def test_a_prefetch_value_that_is_not_a_resource_is_missing(
    api: TestClient, engine: Engine, value: Any
) -> None:
    response = api.post(f"/cds-services/{SERVICE}", json=_request(engine, LOW_K, Observation=value))
    assert response.status_code == 200, response.text
    assert set(_not_evaluated(response)) == _needing(engine, "Observation")
    assert any("'Observation' is not a FHIR resource" in w for w in _warnings(response))
    # The same for the Patient, which every rule needs: 412.
    response = api.post(f"/cds-services/{SERVICE}", json=_request(engine, LOW_K, Patient=value))
    _assert_412(response, ["Patient"])


# ---------------------------------------------------------------------------------------------
# Referenced Medications


def test_a_medication_reference_not_in_prefetch_is_fetched(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    body = _request(engine, MED_REF, fhir_server=server.base, token=TOKEN)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert (RULE, "warning") in _rules(response)  # furosemide known only from the Medication
    assert [r.fhir_path for r in server.requests] == ["Medication/fetch-med-furosemide"]
    assert all(r.token_sha256 == sha256(TOKEN) for r in server.requests)


def test_a_medication_in_the_prefetch_is_not_fetched(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    body = _request(engine, MED_REF, fhir_server=server.base)
    body["prefetch"]["MedicationRequest"]["entry"].append({"resource": MEDICATION})
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert (RULE, "warning") in _rules(response)
    assert server.requests == []


def test_an_unresolvable_medication_reference_is_a_warning_not_an_error(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    for base in (None, server.url("status/500")):
        response = api.post(
            f"/cds-services/{SERVICE}", json=_request(engine, MED_REF, fhir_server=base)
        )
        assert response.status_code == 200, response.text
        assert RULE not in _codes(response)  # the drug is unknown without its Medication
        assert any("Medication" in w for w in _warnings(response))


def test_a_medication_reference_cannot_steer_the_request_path(
    api: TestClient, engine: Engine, server: FhirTestServer
) -> None:
    body = _request(engine, MED_REF, fhir_server=server.base, token=TOKEN)
    body["prefetch"]["MedicationRequest"]["entry"][0]["resource"]["medicationReference"] = {
        "reference": "Medication/../../admin?x=1"
    }
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 200, response.text
    assert server.requests == []


# ---------------------------------------------------------------------------------------------
# Which FHIR servers are contacted


def test_a_fhir_server_off_the_allow_list_is_not_contacted(
    engine: Engine, store: MemoryAuditStore, tmp_path: Any, server: FhirTestServer
) -> None:
    body = _request(engine, LOW_K, drop=("Patient",), fhir_server=server.base, token=TOKEN)
    with _client(engine, store, tmp_path, ["https://ehr.example.org/fhir"]) as api:
        response = api.post(f"/cds-services/{SERVICE}", json=body)
        issues = _assert_412(response, ["Patient"], code="forbidden")
        assert "allow-list" in issues[0]["diagnostics"]
        assert "server-not-allowed" in issues[0]["diagnostics"]
        # A key only some rules need: those are not evaluated, and say why.
        body = _request(engine, LOW_K, drop=("Procedure",), fhir_server=server.base, token=TOKEN)
        response = api.post(f"/cds-services/{SERVICE}", json=body)
        assert response.status_code == 200, response.text
        stopped = _not_evaluated(response)
        assert set(stopped) == _needing(engine, "Procedure")
        assert {w for ws in stopped.values() for w in ws} == {("Procedure", "server-not-allowed")}
        assert (RULE, "warning") in _rules(response)
    assert server.requests == []


def test_a_fhir_server_on_the_allow_list_is_contacted(
    engine: Engine, store: MemoryAuditStore, tmp_path: Any, server: FhirTestServer
) -> None:
    body = _request(engine, LOW_K, drop=("Condition",), fhir_server=server.base, token=TOKEN)
    with _client(engine, store, tmp_path, [server.base]) as api:
        response = api.post(f"/cds-services/{SERVICE}", json=body)
        assert response.status_code == 200, response.text
        assert len(server.requests) == 1
        # A look-alike of the allowed base is not below it.
        server.clear_requests()
        body = _request(engine, LOW_K, drop=("Patient",), fhir_server=server.base, token=TOKEN)
        body["fhirServer"] = f"http://127.0.0.1:{server.port}/fhirx"
        response = api.post(f"/cds-services/{SERVICE}", json=body)
        _assert_412(response, ["Patient"], code="forbidden")
        assert server.requests == []


@pytest.mark.parametrize(
    "base",
    [
        "ftp://ehr.example.org/fhir",
        "ehr.example.org/fhir",
        "http://user:pass@ehr.example.org/fhir",
        "http://ehr.example.org/fhir?_format=json",
        "http://ehr.example.org/fhir#x",
        "http://ehr.example.org/fhir/../admin",
        "http://ehr.example.org:99999/fhir",
        "http://ehr.example.org/fh ir",
        "",
    ],
)
def test_a_malformed_fhir_server_is_a_400(api: TestClient, engine: Engine, base: str) -> None:
    body = _request(engine, LOW_K)
    body["fhirServer"] = base
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 400, response.text
    assert "fhirServer" in response.json()["error"]["message"]


def test_an_access_token_that_cannot_be_a_header_is_a_400_and_not_echoed(
    api: TestClient, engine: Engine, server: FhirTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "bad token " + uuid.uuid4().hex + "\r\nX-Injected: 1"
    body = _request(engine, LOW_K, fhir_server=server.base, token=secret)
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 400, response.text
    assert "access_token" in response.text
    assert "bad token" not in response.text
    assert "bad token" not in caplog.text
    assert all("bad token" not in repr(r.__dict__) for r in caplog.records)
    assert server.requests == []


def test_a_rejected_request_never_logs_the_token(
    api: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A 400 for another reason, with a valid token in the body: the token stays out of logs."""
    caplog.set_level(logging.DEBUG)
    body = _request(engine, LOW_K, fhir_server="https://ehr.example.org/fhir", token=TOKEN)
    body["fhirAuthorization"]["expires_in"] = "soon"
    body["hookInstance"] = "not-a-uuid"
    response = api.post(f"/cds-services/{SERVICE}", json=body)
    assert response.status_code == 400, response.text
    assert TOKEN not in response.text
    assert TOKEN not in caplog.text
    assert all(TOKEN not in repr(r.__dict__) for r in caplog.records)


# ---------------------------------------------------------------------------------------------
# The request deadline


def test_a_slow_fhir_server_is_a_412_within_the_request_deadline(harness: Harness) -> None:
    serve_fhir(harness.ehr, harness.engine, delay_seconds=3.0)
    settings = harness.settings(
        jwt_required=False, request_deadline_seconds=0.5, fhir_timeout_seconds=30
    )
    client = harness.client(settings)
    prefetch = full_prefetch(harness.engine)
    del prefetch["Patient"]
    body = harness.hook_request(prefetch=prefetch, fhirServer=f"{harness.ehr.url}/fhir")
    started = time.monotonic()
    response = client.post(SERVICE_PATH, json=body)
    elapsed = time.monotonic() - started
    assert response.status_code == 412
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["expression"] for i in outcome["issue"]] == [["prefetch.Patient"]]
    assert outcome["issue"][0]["code"] == "timeout"
    assert "too slow" in outcome["issue"][0]["diagnostics"]
    assert elapsed < 2.5


def test_keys_that_arrive_before_the_request_deadline_are_used(
    engine: Engine, store: MemoryAuditStore, tmp_path: Any, server: FhirTestServer
) -> None:
    """The request deadline passing stops only what was still on its way: the keys fetched in
    time are used, the slow one is unavailable (timeout) and stops the rules that need it."""
    body = _request(
        engine,
        LOW_K,
        drop=("Observation", "FamilyMemberHistory"),
        fhir_server=server.url("refuse/FamilyMemberHistory=timeout"),
        token=TOKEN,
    )
    with _client(
        engine,
        store,
        tmp_path,
        [_origin(server)],
        request_deadline_seconds=1.0,
        fhir_timeout_seconds=30,
    ) as api:
        started = time.monotonic()
        response = api.post(f"/cds-services/{SERVICE}", json=body)
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed < 1.0 + SLACK
    assert (RULE, "warning") in _rules(response)  # its Observations came in time
    stopped = _not_evaluated(response)
    assert set(stopped) == _needing(engine, "FamilyMemberHistory")
    assert {w for ws in stopped.values() for w in ws} == {("FamilyMemberHistory", "timeout")}
    assert any("too slow" in w and "'FamilyMemberHistory'" in w for w in _warnings(response))
