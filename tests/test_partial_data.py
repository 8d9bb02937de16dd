"""Partial data: a prefetch key that cannot be had stops only the rules that need it.

Over real HTTP both ways: the service's app served by uvicorn on loopback
(tests/support/served.py), and a real loopback FHIR server (tests/support/fhir_server.py) that
refuses chosen resource types (400 "not supported", 401, 403, 404, a timeout, 5xx).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.pipeline import Engine
from cds.replay.hook_request import build_hook_request
from cds.settings import Settings
from tests.support.fhir_server import FhirTestServer
from tests.support.served import served

PATIENT_VIEW = "leg-pain-patient-view"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
NOW = datetime.now(UTC)  # the served app judges at its own clock
PID = "partial-low-k"


def _ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


# A patient on furosemide with K 3.1 ten days ago: the diuretic card (warning), which needs
# the Patient, medications, Observations and Conditions, never FamilyMemberHistory.
LOW_K: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": PID, "gender": "female", "birthDate": "1950-04-02"},
    {
        "resourceType": "MedicationRequest",
        "id": f"{PID}-mr",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "authoredOn": _ago(60),
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "4603", "display": "furosemide"}],
            "text": "Furosemide 40 MG Oral Tablet",
        },
    },
    {
        "resourceType": "Observation",
        "id": f"{PID}-k",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "2823-3", "display": "Potassium"}]},
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": _ago(10),
        "valueQuantity": {
            "value": 3.1,
            "unit": "mmol/L",
            "system": "http://unitsofmeasure.org",
            "code": "mmol/L",
        },
    },
]


@pytest.fixture(scope="module")
def fhir() -> Iterator[FhirTestServer]:
    with FhirTestServer() as server:
        server.data.add(LOW_K)
        yield server


@pytest.fixture
def store() -> MemoryAuditStore:
    return MemoryAuditStore()


@pytest.fixture
def service_url(engine: Engine, store: MemoryAuditStore, tmp_path: Any) -> Iterator[str]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'cds.db'}", fhir_timeout_seconds=2.0)
    with served(create_app(settings, engine=engine, store=store)) as url:
        yield url


def _body(engine: Engine, *, drop: tuple[str, ...], fhir_server: str | None) -> dict[str, Any]:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in LOW_K],
    }
    body = build_hook_request(bundle, engine.services[PATIENT_VIEW], hook_instance=uuid.uuid4())
    for key in drop:
        del body["prefetch"][key]
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    return body


def _post(url: str, service_id: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/cds-services/{service_id}", json=body, timeout=30)


def _topics(response: httpx.Response) -> list[str]:
    return [card["source"]["topic"]["code"] for card in response.json()["cards"]]


def test_a_400_for_family_member_history_does_not_blank_every_card(
    engine: Engine, fhir: FhirTestServer, service_url: str
) -> None:
    """The reported defect: the EHR's FHIR server answers 400 for FamilyMemberHistory (it does
    not expose that type), which only two rules read; the diuretic card must still come back."""
    body = _body(
        engine,
        drop=("FamilyMemberHistory",),
        fhir_server=fhir.url("refuse/FamilyMemberHistory=400"),
    )
    response = _post(service_url, PATIENT_VIEW, body)
    assert response.status_code == 200, response.text
    assert "diuretic-electrolytes" in _topics(response)
