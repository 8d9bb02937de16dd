"""PatientRecord: the resources the rules need, picked from raw FHIR JSON and normalised.

- `entries`: what a record holds (frozen dataclasses);
- `fhir_json`: tolerant readers of raw FHIR JSON;
- `builder`: RecordBuilder, the fast path from a request's resources to a PatientRecord.
"""

from cds.record.builder import (
    ACTIVE_MEDICATION_STATUSES,
    CODED_OBSERVATIONS,
    ENDED_MEDICATION_STATUSES,
    LAB_ANALYTES,
    RecordBuilder,
)
from cds.record.entries import (
    AllergyEntry,
    Codings,
    ConditionEntry,
    EncounterEntry,
    FamilyHistoryEntry,
    LabEntry,
    MedicationEntry,
    PatientInfo,
    PatientRecord,
    ProcedureEntry,
)

__all__ = [
    "ACTIVE_MEDICATION_STATUSES",
    "CODED_OBSERVATIONS",
    "ENDED_MEDICATION_STATUSES",
    "LAB_ANALYTES",
    "AllergyEntry",
    "Codings",
    "ConditionEntry",
    "EncounterEntry",
    "FamilyHistoryEntry",
    "LabEntry",
    "MedicationEntry",
    "PatientInfo",
    "PatientRecord",
    "ProcedureEntry",
    "RecordBuilder",
]
