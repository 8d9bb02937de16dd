"""The FHIR read client (cds.fhir.client): its bounds against a real loopback FHIR server."""

from __future__ import annotations

import json
import uuid
import zlib
from typing import Any

import pytest

from cds.fhir.client import http_error
from tests.support.jwt_keys import Route
from tests.support.security import SERVICE_PATH, Harness, full_prefetch, serve_fhir


def test_fhir_pages_fetched_are_bounded(harness: Harness) -> None:
    serve_fhir(harness.ehr, harness.engine)
    next_url = f"{harness.ehr.url}/fhir/Condition?page=next"

    def endless(_: str) -> tuple[int, bytes, dict[str, str]]:
        page = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": {"resourceType": "Condition", "id": str(uuid.uuid4())}}],
            "link": [{"relation": "next", "url": next_url}],
        }
        return 200, json.dumps(page).encode(), {}

    harness.ehr.routes["/fhir/Condition"].handler = endless
    client = harness.client(harness.settings(jwt_required=False, fhir_max_pages=3))
    prefetch = full_prefetch(harness.engine)
    del prefetch["Condition"]
    body = harness.hook_request(prefetch=prefetch, fhirServer=f"{harness.ehr.url}/fhir")
    response = client.post(SERVICE_PATH, json=body)
    assert response.status_code == 200, response.text
    assert harness.ehr.hit_count("/fhir/Condition") == 3


def _patient_only_from_the_server(harness: Harness) -> dict[str, Any]:
    prefetch = full_prefetch(harness.engine)
    del prefetch["Patient"]
    return harness.hook_request(prefetch=prefetch, fhirServer=f"{harness.ehr.url}/fhir")


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_answers_are_decoded(harness: Harness, coding: str) -> None:
    document = json.dumps({"resourceType": "Patient", "id": "patient-1"}).encode()
    compressed = zlib.compress(document, wbits=zlib.MAX_WBITS | (16 if coding == "gzip" else 0))
    harness.ehr.routes["/fhir/Patient/patient-1"] = Route(
        handler=lambda _: (200, compressed, {"Content-Encoding": coding})
    )
    client = harness.client(harness.settings(jwt_required=False))
    response = client.post(SERVICE_PATH, json=_patient_only_from_the_server(harness))
    assert response.status_code == 200, response.text
    (path, headers) = harness.ehr.requests[-1]
    assert path == "/fhir/Patient/patient-1"
    # Only what is decoded within the bound is offered (never br or zstd).
    assert headers["Accept-Encoding"] == "gzip, deflate"


def test_an_answer_in_another_content_coding_is_refused(harness: Harness) -> None:
    harness.ehr.routes["/fhir/Patient/patient-1"] = Route(
        handler=lambda _: (200, b"\x8b\x00\x80", {"Content-Encoding": "br"})
    )
    client = harness.client(harness.settings(jwt_required=False))
    response = client.post(SERVICE_PATH, json=_patient_only_from_the_server(harness))
    assert response.status_code == 412
    assert "unsupported content coding" in response.text


def test_answers_over_the_bound_per_call_are_refused_while_they_are_read(
    harness: Harness,
) -> None:
    big = json.dumps({"resourceType": "Patient", "id": "patient-1", "x": "x" * 200_000}).encode()
    harness.ehr.routes["/fhir/Patient/patient-1"] = Route(
        handler=lambda _: (200, zlib.compress(big, wbits=31), {"Content-Encoding": "gzip"})
    )
    client = harness.client(harness.settings(jwt_required=False, fhir_max_bytes_per_call=100_000))
    response = client.post(SERVICE_PATH, json=_patient_only_from_the_server(harness))
    assert response.status_code == 412
    assert "CDS_FHIR_MAX_BYTES_PER_CALL" in response.text


@pytest.mark.parametrize(
    ("status", "unavailability", "code"),
    [
        (400, "unsupported", "not-supported"),  # HAPI's answer for a type it does not serve
        (405, "unsupported", "not-supported"),
        (422, "unsupported", "not-supported"),
        (501, "unsupported", "not-supported"),
        (401, "not-permitted", "security"),
        (403, "not-permitted", "security"),
        (404, "not-found", "not-found"),
        (410, "not-found", "not-found"),
        (408, "timeout", "timeout"),
        (504, "timeout", "timeout"),
        (500, "server-error", "transient"),
        (502, "server-error", "transient"),
        (503, "server-error", "transient"),
        (409, "http-error", "transient"),
        (429, "http-error", "transient"),
    ],
)
def test_an_http_error_is_classified_by_what_it_says_of_the_data(
    status: int, unavailability: str, code: str
) -> None:
    """An unsupported type is not transient: the same query would get the same answer."""
    error = http_error(status)
    assert (error.unavailability, error.code, error.status) == (unavailability, code, status)
    assert f"HTTP {status}" in str(error)
