"""PatientRecord: the resources the rules need, picked from raw FHIR JSON and normalised.

- `entries`: what a record holds (frozen dataclasses);
- `fhir_json`: tolerant readers of raw FHIR JSON;
- `builder`: RecordBuilder, the fast path from a request's resources to a PatientRecord.
"""

from cds.record.builder import (
    CODED_OBSERVATIONS,
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
    "CODED_OBSERVATIONS",
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
