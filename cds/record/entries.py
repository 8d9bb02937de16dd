"""What a PatientRecord holds: small frozen entries projected from FHIR resources.

Entries keep only what the rules read, already normalised (units, statuses, dates); `reference`
is the resource's `Type/id`, for the card's evidence and for the audit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

Codings = tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class PatientInfo:
    id: str | None
    birth_date: date | None
    gender: str | None
    deceased: bool = False


@dataclass(frozen=True, slots=True)
class MedicationEntry:
    reference: str
    display: str
    ingredients: frozenset[str]
    names: tuple[str, ...]
    low_confidence: bool
    status: str
    drafted: bool  # a draft order of order-select / order-sign: counts as active
    start: datetime | None
    end: datetime | None
    administered: bool = False  # MedicationAdministration (chemotherapy exposure)
    # Read since terminology release 2026.12 (clinical-content.md §22.2 c, d):
    intent: str | None = None  # MedicationRequest.intent
    # End of therapy: MedicationRequest dosageInstruction.timing.repeat.boundsPeriod.end (the
    # latest), MedicationStatement effectivePeriod.end; never the dispensing window (`end` of a
    # MedicationRequest is dispenseRequest.validityPeriod.end, as the first rule versions read).
    therapy_end: datetime | None = None
    # When it was ordered or asserted: authoredOn, or a statement's dateAsserted.
    authored: datetime | None = None
    # The resource as received: a suggestion to put an order on hold sends it back, updated.
    resource: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ConditionEntry:
    reference: str
    codings: Codings
    display: str
    clinical_status: str | None
    verification_status: str | None
    onset: datetime | None
    recorded: datetime | None
    abatement: datetime | None
    source: str = "Condition"  # or "Observation" / "Encounter" for complaint evidence


@dataclass(frozen=True, slots=True)
class LabEntry:
    reference: str
    analyte: str
    display: str
    value: float | None  # canonical unit (cds.terminology.units.CANONICAL_UNIT[analyte])
    unit: str
    raw_value: float | None
    raw_unit: str | None
    comparator: str | None
    effective: datetime | None
    reference_low: float | None
    reference_high: float | None
    interpretation: tuple[str, ...]
    value_codings: Codings = ()


@dataclass(frozen=True, slots=True)
class ProcedureEntry:
    reference: str
    codings: Codings
    display: str
    status: str | None
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class EncounterEntry:
    reference: str
    class_code: str | None
    status: str | None
    start: datetime | None
    end: datetime | None
    reason_codings: Codings
    # reasonReference targets ("Condition/123"), read since release 2026.12 (§22.2 e).
    reason_references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AllergyEntry:
    reference: str
    codings: Codings
    display: str
    ingredients: frozenset[str]
    clinical_status: str | None
    verification_status: str | None


@dataclass(frozen=True, slots=True)
class FamilyHistoryEntry:
    reference: str
    condition_codings: Codings


@dataclass
class PatientRecord:
    patient: PatientInfo = field(default_factory=lambda: PatientInfo(None, None, None))
    medications: list[MedicationEntry] = field(default_factory=list)
    conditions: list[ConditionEntry] = field(default_factory=list)
    labs: dict[str, list[LabEntry]] = field(default_factory=dict)  # analyte -> newest first
    complaint_observations: list[ConditionEntry] = field(default_factory=list)
    # Observations whose code or coded value is a symptom or complaint some rule reads (leg
    # complaints, PE symptoms), with all their codings; read since release 2026.12 (§22.2 e).
    coded_observations: list[ConditionEntry] = field(default_factory=list)
    procedures: list[ProcedureEntry] = field(default_factory=list)
    encounters: list[EncounterEntry] = field(default_factory=list)
    allergies: list[AllergyEntry] = field(default_factory=list)
    family_history: list[FamilyHistoryEntry] = field(default_factory=list)
    # Why resources were left out: {"unknown-unit": 3, "malformed:Observation": 1, ...}
    skipped: Counter[str] = field(default_factory=Counter)
