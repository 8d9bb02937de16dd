"""A hook request built from a patient's Bundle (cds.replay.hook_request): pure, its prefetch
answered as a FHIR server would, the order hooks' context filled in."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from typing import Any

import pytest

from cds.fhir.bundles import entry_resources
from cds.fhir.local_search import LocalSearch, patient_id_of
from cds.pipeline import Engine
from cds.replay.hook_request import build_hook_request
from tests.support.synthea import SANDBOX_PATIENT, draft_furosemide


@pytest.fixture(scope="module")
def parker(synthea_bundles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The sandbox captures' patient: furosemide, HCTZ, simvastatin, diabetic neuropathy."""
    return next(b for b in synthea_bundles.values() if patient_id_of(b) == SANDBOX_PATIENT)


def test_build_hook_request_is_pure(engine: Engine, parker: dict[str, Any]) -> None:
    before = copy.deepcopy(parker)
    drafts = [draft_furosemide(SANDBOX_PATIENT)]
    service = engine.services["leg-pain-order-select"]
    body = build_hook_request(parker, service, hook_instance=uuid.UUID(int=1), draft_orders=drafts)
    again = build_hook_request(parker, service, hook_instance=uuid.UUID(int=1), draft_orders=drafts)
    assert body == again
    assert parker == before
    # The answer shares nothing with the input: changing it leaves the bundle alone.
    body["prefetch"]["Condition"]["entry"][0]["resource"]["code"]["coding"].clear()
    body["context"]["draftOrders"]["entry"][0]["resource"]["subject"]["reference"] = "x"
    assert parker == before
    assert drafts == [draft_furosemide(SANDBOX_PATIENT)]


def test_a_chart_indexed_once_answers_every_service_as_its_bundle_does(
    engine: Engine, parker: dict[str, Any]
) -> None:
    """A LocalSearch built once (as a sweep does for a chart and two sets of pins) gives the
    same requests as the bundle itself, and each request is still a copy of its own."""
    search = LocalSearch(parker)
    for service in engine.services.values():
        from_index = build_hook_request(search, service, hook_instance="h", draft_orders=[])
        assert from_index == build_hook_request(parker, service, hook_instance="h", draft_orders=[])
    first = build_hook_request(search, engine.services["leg-pain-patient-view"], hook_instance="h")
    again = build_hook_request(search, engine.services["leg-pain-patient-view"], hook_instance="h")
    first["prefetch"]["Patient"]["id"] = "changed"
    assert again["prefetch"]["Patient"]["id"] == SANDBOX_PATIENT


def test_build_hook_request_answers_like_a_fhir_server(
    engine: Engine, parker: dict[str, Any]
) -> None:
    body = build_hook_request(parker, engine.services["leg-pain-patient-view"], hook_instance="h")
    assert body["hook"] == "patient-view"
    assert body["context"] == {"userId": "Practitioner/cds-replay", "patientId": SANDBOX_PATIENT}
    assert body["prefetch"]["Patient"]["id"] == SANDBOX_PATIENT
    conditions = body["prefetch"]["Condition"]
    assert conditions["resourceType"] == "Bundle"
    assert conditions["type"] == "searchset"
    assert conditions["total"] == len(conditions["entry"]) == 15  # as the sandbox saw them
    text = json.dumps(body["prefetch"])
    assert "urn:uuid:" not in text  # transaction references served as Type/id
    assert f'"Patient/{SANDBOX_PATIENT}"' in text
    observations = entry_resources(body["prefetch"]["Observation"])
    assert observations
    assert all(o["status"] in ("final", "amended", "corrected") for o in observations)
    requests_ = entry_resources(body["prefetch"]["MedicationRequest"])
    assert {r["status"] for r in requests_} <= {"active", "on-hold", "completed", "stopped"}


def test_build_hook_request_order_hooks(engine: Engine, parker: dict[str, Any]) -> None:
    drafts = [
        draft_furosemide(SANDBOX_PATIENT),
        {**draft_furosemide(SANDBOX_PATIENT), "id": "d2"},
    ]
    select = build_hook_request(
        parker, engine.services["leg-pain-order-select"], hook_instance="h", draft_orders=drafts
    )
    assert select["context"]["selections"] == [
        "MedicationRequest/draft-furosemide",
        "MedicationRequest/d2",
    ]
    assert len(select["context"]["draftOrders"]["entry"]) == 2
    sign = build_hook_request(
        parker,
        engine.services["leg-pain-order-sign"],
        hook_instance="h",
        draft_orders={"resourceType": "Bundle", "entry": [{"resource": drafts[0]}]},
    )
    assert "selections" not in sign["context"]
    assert sign["context"]["draftOrders"]["entry"][0]["resource"]["id"] == "draft-furosemide"


def test_build_hook_request_templates(engine: Engine, parker: dict[str, Any]) -> None:
    service = dataclasses.replace(
        engine.services["leg-pain-patient-view"],
        prefetch={
            "latestK": "Observation?patient={{context.patientId}}&code=http://loinc.org|6298-4&_sort=-date&_count=1",
            "encounter": "Encounter/{{context.encounterId}}",
            "nobody": "Patient/not-there",
        },
    )
    body = build_hook_request(parker, service, hook_instance="h")
    assert "encounter" not in body["prefetch"]  # no context.encounterId: the key is omitted
    assert body["prefetch"]["nobody"] is None  # a read that finds nothing: null (no data)
    latest = entry_resources(body["prefetch"]["latestK"])
    every_k = [
        r
        for r in entry_resources(parker)
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "6298-4"
    ]
    assert len(latest) == 1
    assert latest[0]["effectiveDateTime"] == max(r["effectiveDateTime"] for r in every_k)


def test_build_hook_request_needs_a_patient(engine: Engine) -> None:
    with pytest.raises(ValueError, match="Patient"):
        build_hook_request(
            {"resourceType": "Bundle", "entry": []},
            engine.services["leg-pain-patient-view"],
            hook_instance="h",
        )


def test_medications_the_orders_reference_come_as_include_results(engine: Engine) -> None:
    """As the service would fetch them from the EHR's server (which a built request does not
    name): `cds replay` and `cds sweep` send the same request for a chart that codes its drugs
    as Medication resources."""
    hctz = {
        "resourceType": "Medication",
        "id": "hctz",
        "code": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "5487"}]
        },
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": "rx",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medicationReference": {"reference": "urn:uuid:med-1"},
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p"}},
            {"fullUrl": "urn:uuid:med-1", "resource": hctz},
            {"resource": order},
        ],
    }
    body = build_hook_request(bundle, engine.services["leg-pain-patient-view"], hook_instance="h")
    searchset = body["prefetch"]["MedicationRequest"]
    assert searchset["total"] == 1  # the matches; includes are not counted
    matched, included = searchset["entry"]
    assert matched["resource"]["medicationReference"] == {"reference": "Medication/hctz"}
    assert included == {
        "fullUrl": "Medication/hctz",
        "resource": hctz,
        "search": {"mode": "include"},
    }
    assert included["resource"] is not hctz
