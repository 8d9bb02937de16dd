"""Which FHIR servers the service contacts with an EHR's token (cds.fhir.access)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cds.fhir.access import FhirAccess
from cds.settings import Settings
from tests.support.jwt_keys import ISSUER, PUBLIC_URL
from tests.support.security import SERVICE_PATH, Harness, fhir_authorization, serve_fhir


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
        return access.allows("http://127.0.0.1:8090/fhir")

    assert allowed(jwt_required=False, allowed_fhir_servers=[])  # local use
    assert not allowed(jwt_required=True, allowed_fhir_servers=[])
    assert allowed(jwt_required=True, allowed_fhir_servers=["http://127.0.0.1:8090"])
    assert not allowed(jwt_required=False, allowed_fhir_servers=["https://ehr.example.org"])


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
