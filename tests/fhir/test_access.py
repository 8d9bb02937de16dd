"""Which FHIR servers the service contacts with an EHR's token (cds.fhir.access)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.fhir.access import FhirAccess
from cds.pipeline import Engine
from cds.settings import Settings
from tests.support.databases import sqlite_url
from tests.support.fhir_server import FhirTestServer
from tests.support.jwt_keys import ISSUER, PUBLIC_URL
from tests.support.security import (
    SERVICE_PATH,
    Harness,
    fhir_authorization,
    full_prefetch,
    serve_fhir,
)


def _access(**settings: Any) -> FhirAccess:
    return FhirAccess.from_settings(Settings(**settings))


def test_with_jwt_on_no_fhir_server_is_allowed_unless_listed(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text("{}")
    on = {"jwt_required": True, "public_url": PUBLIC_URL, "trusted_issuers": {ISSUER: str(path)}}
    assert not _access(**on).allows("https://ehr.example.org/fhir")
    listed = _access(**on, allowed_fhir_servers="https://ehr.example.org/fhir")
    assert listed.allows("https://ehr.example.org/fhir")
    assert not listed.allows("https://ehr.example.org.evil.com/fhir")
    # Plain http is refused unless an http:// entry lists it explicitly.
    assert not listed.allows("http://ehr.example.org/fhir")
    both = _access(**on, allowed_fhir_servers="https://ehr.example.org/fhir,http://10.1.2.3/fhir")
    assert both.allows("http://10.1.2.3/fhir")
    # Local use (no JWT, no list): any server, as `make serve` documents.
    assert _access().allows("http://anything.example.org/fhir")


def test_any_fhir_server_is_allowed_without_a_list_only_when_jwt_is_off() -> None:
    def allowed(**settings: Any) -> bool:
        access = FhirAccess.from_settings(Settings.model_construct(**settings))
        return access.allows("http://10.1.2.3:8090/fhir")

    assert allowed(jwt_required=False, allowed_fhir_servers=[])  # local use
    assert not allowed(jwt_required=True, allowed_fhir_servers=[])
    assert allowed(jwt_required=True, allowed_fhir_servers=["http://10.1.2.3:8090"])
    assert not allowed(jwt_required=False, allowed_fhir_servers=["https://ehr.example.org"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/fhir",
        "http://127.1.2.3/fhir",
        "http://[::1]:6379/fhir",
        "http://0.0.0.0:8080/fhir",
        "http://169.254.169.254/latest/meta-data",  # a cloud's metadata service
        "http://[fe80::1]/fhir",
        "http://[::ffff:127.0.0.1]/fhir",
    ],
)
def test_without_a_list_loopback_and_link_local_servers_are_refused(url: str) -> None:
    assert not _access().allows(url)
    # Unless listed: a developer's local FHIR server is named explicitly.
    assert _access(allowed_fhir_servers=[url]).allows(url)


def _body_fetching(engine: Engine, key: str, fhir_server: str) -> dict[str, Any]:
    prefetch = full_prefetch(engine)
    del prefetch[key]
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.UUID(int=1)),
        "context": {"userId": "Practitioner/1", "patientId": "patient-1"},
        "prefetch": prefetch,
        "fhirServer": fhir_server,
    }


def test_a_name_for_a_loopback_address_is_refused_when_connecting(
    engine: Engine, tmp_path: Path
) -> None:
    """`localhost` is not an IP address: it is refused once resolved, before anything is sent;
    listed, the same server is read."""
    with FhirTestServer() as server:
        server.data.add([{"resourceType": "Patient", "id": "patient-1"}])
        by_name = server.base.replace("127.0.0.1", "localhost")
        body = _body_fetching(engine, "Patient", by_name)
        for listed, status in (([], 412), ([by_name], 200)):
            settings = Settings(database_url=sqlite_url(tmp_path), allowed_fhir_servers=listed)
            app = create_app(settings, engine=engine, store=MemoryAuditStore())
            with TestClient(app) as client:
                response = client.post(SERVICE_PATH, json=body)
            assert response.status_code == status, response.text
            assert len(server.requests) == (status == 200)


def _failing(kind: str) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if kind == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if kind == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if kind == "not-found":
            return httpx.Response(404, text="no such page")
        if kind == "forbidden":
            return httpx.Response(403)
        return httpx.Response(200, text="SSH-2.0-OpenSSH_9.6")  # "invalid-json": not HTTP's

    return httpx.MockTransport(answer)


def _outcome_for(kind: str, engine: Engine, tmp_path: Path, **settings: Any) -> Any:
    app = create_app(
        Settings(database_url=sqlite_url(tmp_path), **settings),
        engine=engine,
        store=MemoryAuditStore(),
        fhir_transport=_failing(kind),
    )
    body = _body_fetching(engine, "Condition", "https://ehr.example.org/fhir")
    with TestClient(app) as client:
        response = client.post(SERVICE_PATH, json=body)
    # The rules that need diagnoses are not run, and the answer says why (its extension and
    # data warnings); the others answer.
    assert response.status_code == 200, response.text
    return response.json()


KINDS = ["refused", "timeout", "not-found", "forbidden", "invalid-json"]


def test_a_server_reached_without_a_list_fails_in_words_that_tell_nothing_of_it(
    engine: Engine, tmp_path: Path
) -> None:
    """Authentication off and no list: any caller may name any server. Whatever it answers
    (nothing, a refusal, an error page, another protocol), the answer reads the same, so that the
    service cannot be used to tell open ports from closed ones."""
    outcomes = {kind: _outcome_for(kind, engine, tmp_path) for kind in KINDS}
    assert len({json.dumps(o, sort_keys=True) for o in outcomes.values()}) == 1, outcomes


def test_a_listed_server_fails_in_words_that_help_to_fix_it(engine: Engine, tmp_path: Path) -> None:
    listed = {"allowed_fhir_servers": ["https://ehr.example.org/fhir"]}
    outcomes = {kind: _outcome_for(kind, engine, tmp_path, **listed) for kind in KINDS}
    assert len({json.dumps(o, sort_keys=True) for o in outcomes.values()}) == len(KINDS)


def test_a_fhir_server_not_on_the_list_is_never_contacted(harness: Harness) -> None:
    serve_fhir(harness.ehr, harness.engine)
    client = harness.client(harness.settings(allowed_fhir_servers=["https://ehr.example.org"]))
    body = harness.hook_request(
        prefetch=None,
        fhirServer=f"{harness.ehr.url}/fhir",
        fhirAuthorization=fhir_authorization("access-token-not-to-be-sent"),
    )
    response = client.post(SERVICE_PATH, json=body, headers=harness.auth(SERVICE_PATH))
    assert response.status_code == 412
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not [p for p, _ in harness.ehr.requests if p.startswith("/fhir")]
