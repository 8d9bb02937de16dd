"""What tests say about the shared Synthea patients (tests/support/fhir_server.py loads them)."""

from __future__ import annotations

from typing import Any

# The CDS Hooks sandbox captures' patient: furosemide, HCTZ, simvastatin, diabetic neuropathy.
SANDBOX_PATIENT = "ec6a274e-5090-45c9-b153-e40418f6fa3d"


def draft_furosemide(patient_id: str) -> dict[str, Any]:
    """A furosemide order being drafted for the patient (order-select, order-sign)."""
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-furosemide",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "313988",
                    "display": "Furosemide 40 MG Oral Tablet",
                }
            ]
        },
    }
