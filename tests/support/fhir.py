"""Small builders for FHIR R4 JSON resources, and Facts from them, for rule and record tests.

Dates are given as days before AS_OF, so tests state their windows directly
(e.g. `observation("2823-3", 3.1, "mmol/L", days_ago=10)`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cds.facts import Facts, RecordFacts
from cds.record import RecordBuilder
from cds.terminology import Terminology

AS_OF = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PATIENT_ID = "patient-1"

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def when(days_ago: float, as_of: datetime = AS_OF) -> str:
    return (as_of - timedelta(days=days_ago)).isoformat()


def day(days_ago: int, as_of: datetime = AS_OF) -> str:
    return (as_of - timedelta(days=days_ago)).date().isoformat()


def patient(*, birth_date: str = "1955-03-02", gender: str = "female") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": birth_date, "gender": gender}


def observation(
    loinc: str,
    value: float | None,
    unit: str | None = None,
    *,
    days_ago: float = 5,
    status: str = "final",
    low: float | None = None,
    high: float | None = None,
    interpretation: str | None = None,
    value_code: tuple[str, str] | None = None,
    comparator: str | None = None,
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _id("obs"),
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": when(days_ago),
    }
    if value is not None:
        quantity: dict[str, Any] = {"value": value, "system": "http://unitsofmeasure.org"}
        if unit is not None:
            quantity["unit"] = unit
            quantity["code"] = unit
        if comparator:
            quantity["comparator"] = comparator
        obs["valueQuantity"] = quantity
    if value_code is not None:
        obs["valueCodeableConcept"] = {"coding": [{"system": value_code[0], "code": value_code[1]}]}
    if low is not None or high is not None:
        rng: dict[str, Any] = {}
        if low is not None:
            rng["low"] = {"value": low, "unit": unit, "code": unit}
        if high is not None:
            rng["high"] = {"value": high, "unit": unit, "code": unit}
        obs["referenceRange"] = [rng]
    if interpretation:
        obs["interpretation"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                        "code": interpretation,
                    }
                ]
            }
        ]
    return obs


def medication_request(
    code: str | None,
    display: str,
    *,
    status: str = "active",
    days_ago: int = 30,
    intent: str = "order",
    system: str = RXNORM,
    ended_days_ago: int | None = None,
) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": display}
    if code is not None:
        concept["coding"] = [{"system": system, "code": code, "display": display}]
    mr: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": _id("mr"),
        "status": status,
        "intent": intent,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": concept,
        "authoredOn": when(days_ago),
    }
    if ended_days_ago is not None:
        mr["dispenseRequest"] = {
            "validityPeriod": {"start": when(days_ago), "end": when(ended_days_ago)}
        }
    return mr


def draft_order(code: str, display: str) -> dict[str, Any]:
    return medication_request(code, display, status="draft", days_ago=0)


def condition(
    code: str,
    *,
    system: str = SNOMED,
    display: str | None = None,
    clinical_status: str | None = "active",
    verification_status: str | None = "confirmed",
    onset_days_ago: float | None = 100,
    abated_days_ago: float | None = None,
) -> dict[str, Any]:
    cond: dict[str, Any] = {
        "resourceType": "Condition",
        "id": _id("cond"),
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": system, "code": code, "display": display or code}]},
    }
    if clinical_status:
        cond["clinicalStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": clinical_status,
                }
            ]
        }
    if verification_status:
        cond["verificationStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": verification_status,
                }
            ]
        }
    if onset_days_ago is not None:
        cond["onsetDateTime"] = when(onset_days_ago)
        cond["recordedDate"] = when(onset_days_ago)
    if abated_days_ago is not None:
        cond["abatementDateTime"] = when(abated_days_ago)
    return cond


def procedure(
    code: str,
    *,
    system: str = SNOMED,
    display: str | None = None,
    days_ago: float = 10,
    status: str = "completed",
) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": _id("proc"),
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": system, "code": code, "display": display or code}]},
        "performedPeriod": {"start": when(days_ago), "end": when(days_ago)},
    }


def encounter(
    *,
    class_code: str = "AMB",
    start_days_ago: float = 10,
    end_days_ago: float | None = None,
    reason: tuple[str, str] | None = None,
) -> dict[str, Any]:
    enc: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": _id("enc"),
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class_code},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "period": {
            "start": when(start_days_ago),
            "end": when(start_days_ago if end_days_ago is None else end_days_ago),
        },
    }
    if reason:
        enc["reasonCode"] = [{"coding": [{"system": reason[0], "code": reason[1]}]}]
    return enc


def bundle(resources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": dict(r)} for r in resources],
    }


def record_facts(
    terminology: Terminology,
    resources: Iterable[Mapping[str, Any]],
    *,
    draft_orders: Iterable[Mapping[str, Any]] = (),
    as_of: datetime = AS_OF,
    with_patient: bool = True,
) -> RecordFacts:
    """The record built from `resources` (plus a Patient unless one is given), as rules see it."""
    items = list(resources)
    if with_patient and not any(r.get("resourceType") == "Patient" for r in items):
        items.append(patient())
    record = RecordBuilder(terminology).build(
        items, draft_orders=list(draft_orders), patient_id=PATIENT_ID
    )
    return RecordFacts(record, as_of=as_of, terminology=terminology)


def facts_for(
    terminology: Terminology,
    resources: Iterable[Mapping[str, Any]],
    *,
    draft_orders: Iterable[Mapping[str, Any]] = (),
    as_of: datetime = AS_OF,
    with_patient: bool = True,
    valuesets: Iterable[str] | None = None,
) -> Facts:
    """Facts for library tests: every value set of the terminology may be read, unless
    `valuesets` narrows them (as a rule version's declaration does)."""
    shared = record_facts(
        terminology, resources, draft_orders=draft_orders, as_of=as_of, with_patient=with_patient
    )
    declared = terminology.valueset_names if valuesets is None else tuple(valuesets)
    return Facts(shared, valuesets=declared, reader="test")
