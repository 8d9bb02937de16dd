"""The pipeline's own decisions: which rules run, and what the response says about the data."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from cds.audit.store import MemoryAuditStore
from cds.cdshooks import HookRequest
from cds.pipeline import DATA_WARNINGS_EXTENSION, Engine, evaluate
from tests.support.fhir import AS_OF, PATIENT_ID, bundle, medication_request, observation, patient

SERVICE = "leg-pain-patient-view"


def _request() -> HookRequest:
    return HookRequest.model_validate(
        {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": PATIENT_ID},
        }
    )


def _run(engine: Engine, resources: list[dict[str, Any]]) -> dict[str, Any]:
    service = engine.services[SERVICE]
    result = evaluate(engine, service, _request(), {"all": bundle(resources)}, as_of=AS_OF)
    return result.response.to_wire()


def _low_potassium_on_furosemide() -> list[dict[str, Any]]:
    # Furosemide 4603 and potassium 2823-3 are in shared/clinical-codes/codes.tsv.
    return [
        medication_request("4603", "furosemide"),
        observation("2823-3", 3.1, "mmol/L", days_ago=10),
    ]


def test_a_living_patient_gets_the_card(engine: Engine) -> None:
    wire = _run(engine, [patient(), *_low_potassium_on_furosemide()])
    assert [c["source"]["topic"]["code"] for c in wire["cards"]] == ["diuretic-electrolytes"]
    assert DATA_WARNINGS_EXTENSION not in wire["extension"]


def test_a_deceased_patient_gets_no_cards_and_is_told_why(engine: Engine) -> None:
    dead = {**patient(), "deceasedBoolean": True}
    wire = _run(engine, [dead, *_low_potassium_on_furosemide()])
    assert wire["cards"] == []
    assert any("deceased" in w for w in wire["extension"][DATA_WARNINGS_EXTENSION])


def test_another_patients_results_are_ignored_and_reported(engine: Engine) -> None:
    theirs = observation("2823-3", 2.1, "mmol/L", days_ago=1)
    theirs["subject"] = {"reference": "Patient/someone-else"}
    wire = _run(engine, [patient(), medication_request("4603", "furosemide"), theirs])
    assert wire["cards"] == []
    assert any("another patient" in w for w in wire["extension"][DATA_WARNINGS_EXTENSION])


def test_a_refused_call_is_audited_with_its_status(
    client: TestClient, memory_store: MemoryAuditStore
) -> None:
    hook_instance = str(uuid.uuid4())
    body = {
        "hook": "patient-view",
        "hookInstance": hook_instance,
        "context": {"userId": "Practitioner/1", "patientId": PATIENT_ID},
    }
    response = client.post(f"/cds-services/{SERVICE}", json=body)  # no prefetch, no fhirServer
    assert response.status_code == 412
    [audited] = memory_store.invocations
    assert (audited.hook_instance, audited.status, audited.cards) == (hook_instance, 412, ())
    assert audited.patient_id == PATIENT_ID


def test_a_call_without_a_usable_hook_instance_is_not_audited(
    client: TestClient, memory_store: MemoryAuditStore
) -> None:
    body = {"hook": "patient-view", "hookInstance": "not-a-uuid", "context": {}}
    assert client.post(f"/cds-services/{SERVICE}", json=body).status_code == 400
    assert memory_store.invocations == []
