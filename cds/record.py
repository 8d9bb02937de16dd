"""PatientRecord: the resources the rules need, picked from raw FHIR JSON and normalised.

This is the fast path between the request and the rules. It never validates whole bundles with
fhir.resources (about 0.2 ms per resource): it selects first, by resourceType and by a code index
for Observations, and projects only what the rules read into small frozen dataclasses.

Anything malformed or unexpected is skipped and counted in `PatientRecord.skipped`, never raised:
one odd resource must not cost the clinician the rest of the record.

Pure: no IO, no clock. Time-dependent questions live in `cds.facts`, which takes `as_of`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cds.fhirtime import parse_date, parse_datetime
from cds.terminology import Terminology
from cds.terminology.units import to_canonical

Codings = tuple[Mapping[str, Any], ...]

# Lab analytes are value set names (see cds/terminology/VALUESETS.md); the record indexes
# Observations by the LOINC codes of these sets and drops every other Observation unread.
LAB_ANALYTES: tuple[str, ...] = (
    "potassium",
    "magnesium",
    "sodium",
    "calcium-total",
    "calcium-corrected",
    "calcium-ionized",
    "albumin",
    "creatine-kinase",
    "creatinine",
    "egfr",
    "tsh",
    "free-t4",
    "vitamin-d-25oh",
    "ferritin",
    "iron",
    "tibc",
    "transferrin-saturation",
    "transferrin",
    "hemoglobin",
    "bmi",
    "hba1c",
    "glucose",
    "vitamin-b12",
    "folate",
    "d-dimer",
    "heart-rate",
    "respiratory-rate",
    "oxygen-saturation",
    "gestational-age",
)
# Observations read for their coded answer rather than a quantity.
CODED_OBSERVATIONS: tuple[str, ...] = ("pregnancy-status", "smoking-status")

ACTIVE_MEDICATION_STATUSES = frozenset({"active", "on-hold"})
ENDED_MEDICATION_STATUSES = frozenset({"completed", "stopped"})
IGNORED_CONDITION_VERIFICATION = frozenset({"refuted", "entered-in-error"})
USABLE_OBSERVATION_STATUSES = frozenset({"final", "amended", "corrected"})
LAB_INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@dataclass(frozen=True, slots=True)
class PatientInfo:
    id: str | None
    birth_date: date | None
    gender: str | None


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
    procedures: list[ProcedureEntry] = field(default_factory=list)
    encounters: list[EncounterEntry] = field(default_factory=list)
    allergies: list[AllergyEntry] = field(default_factory=list)
    family_history: list[FamilyHistoryEntry] = field(default_factory=list)
    # Why resources were left out: {"unknown-unit": 3, "malformed:Observation": 1, ...}
    skipped: Counter[str] = field(default_factory=Counter)


# ---------------------------------------------------------------------------------------------
# Small tolerant readers: FHIR JSON from the wild has every shape; these never raise.


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _codings(concept: Any) -> Codings:
    return tuple(c for c in _list(_dict(concept).get("coding")) if isinstance(c, dict))


def _concept_text(concept: Any) -> str:
    concept = _dict(concept)
    text = _str(concept.get("text"))
    if text:
        return text
    for coding in _codings(concept):
        display = _str(coding.get("display"))
        if display:
            return display
    for coding in _codings(concept):
        code = _str(coding.get("code"))
        if code:
            return code
    return ""


def _status_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        code = _str(coding.get("code"))
        if code:
            return code
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def _period(period: Any) -> tuple[datetime | None, datetime | None]:
    period = _dict(period)
    return parse_datetime(period.get("start")), parse_datetime(period.get("end"))


def _reference(resource: Mapping[str, Any]) -> str:
    rid = _str(resource.get("id")) or "?"
    return f"{resource.get('resourceType')}/{rid}"


def iter_resources(payload: Any) -> Iterator[Mapping[str, Any]]:
    """Every resource in a prefetch value: a resource, or a Bundle (nested Bundles flattened)."""
    if not isinstance(payload, dict):
        return
    if payload.get("resourceType") == "Bundle":
        for entry in _list(payload.get("entry")):
            resource = _dict(entry).get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                yield from iter_resources(resource)
    elif isinstance(payload.get("resourceType"), str):
        yield payload


# ---------------------------------------------------------------------------------------------
# The builder


class RecordBuilder:
    """Builds PatientRecords; holds only immutable lookup tables derived from the terminology."""

    def __init__(self, terminology: Terminology) -> None:
        self._terminology = terminology
        index: dict[str, str] = {}
        for analyte in (*LAB_ANALYTES, *CODED_OBSERVATIONS):
            for system, code in terminology.valueset(analyte).codes:
                if system == "http://loinc.org":
                    index.setdefault(code, analyte)
        self._loinc_to_analyte = index
        self._complaint = terminology.valueset("leg-complaint")

    def build(
        self,
        resources: Iterable[Mapping[str, Any]],
        *,
        draft_orders: Iterable[Mapping[str, Any]] = (),
        patient_id: str | None = None,
    ) -> PatientRecord:
        record = PatientRecord()
        all_resources = list(resources)
        medications_by_ref = self._medication_index(all_resources)
        handlers = {
            "Patient": self._patient,
            "Condition": self._condition,
            "Observation": self._observation,
            "MedicationRequest": self._medication,
            "MedicationStatement": self._medication,
            "MedicationAdministration": self._medication,
            "Procedure": self._procedure,
            "Encounter": self._encounter,
            "AllergyIntolerance": self._allergy,
            "FamilyMemberHistory": self._family_history,
        }
        seen: set[str] = set()
        for resource in all_resources:
            kind = resource.get("resourceType")
            handler = handlers.get(kind) if isinstance(kind, str) else None
            if handler is None:
                continue  # Medication (indexed above), OperationOutcome (reported by gather), ...
            reference = _reference(resource)
            if reference in seen and not reference.endswith("/?"):
                record.skipped["duplicate"] += 1
                continue
            seen.add(reference)
            try:
                handler(resource, record, medications_by_ref, False)
            except Exception:  # one malformed resource never costs the rest of the record
                record.skipped[f"malformed:{kind}"] += 1
        for order in draft_orders:
            if order.get("resourceType") != "MedicationRequest":
                continue
            try:
                self._medication(order, record, medications_by_ref, True)
            except Exception:
                record.skipped["malformed:draftOrder"] += 1
        if record.patient.id is None and patient_id:
            record.patient = PatientInfo(patient_id, None, None)
        for entries in record.labs.values():
            entries.sort(key=_newest_first)
        return record

    # -- resources -------------------------------------------------------------------------

    def _medication_index(
        self, resources: list[Mapping[str, Any]]
    ) -> dict[str, Mapping[str, Any]]:
        index: dict[str, Mapping[str, Any]] = {}
        for resource in resources:
            if resource.get("resourceType") == "Medication":
                rid = _str(resource.get("id"))
                if rid:
                    index[f"Medication/{rid}"] = resource
        return index

    def _patient(self, r: Mapping[str, Any], record: PatientRecord, *_: Any) -> None:
        record.patient = PatientInfo(
            id=_str(r.get("id")),
            birth_date=parse_date(r.get("birthDate")),
            gender=_str(r.get("gender")),
        )

    def _condition(self, r: Mapping[str, Any], record: PatientRecord, *_: Any) -> None:
        verification = _status_code(r.get("verificationStatus"))
        if verification in IGNORED_CONDITION_VERIFICATION:
            record.skipped["condition-refuted-or-error"] += 1
            return
        code = r.get("code")
        onset = parse_datetime(r.get("onsetDateTime")) or _period(r.get("onsetPeriod"))[0]
        abatement = parse_datetime(r.get("abatementDateTime")) or _period(
            r.get("abatementPeriod")
        )[1]
        record.conditions.append(
            ConditionEntry(
                reference=_reference(r),
                codings=_codings(code),
                display=_concept_text(code),
                clinical_status=_status_code(r.get("clinicalStatus")),
                verification_status=verification,
                onset=onset,
                recorded=parse_datetime(r.get("recordedDate")),
                abatement=abatement,
            )
        )

    def _observation(self, r: Mapping[str, Any], record: PatientRecord, *_: Any) -> None:
        code = _dict(r.get("code"))
        analyte = None
        for coding in _codings(code):
            if coding.get("system") == "http://loinc.org":
                analyte = self._loinc_to_analyte.get(coding.get("code"))  # type: ignore[arg-type]
                if analyte:
                    break
        if analyte is None:
            self._complaint_observation(r, record)
            return
        status = r.get("status")
        if status not in USABLE_OBSERVATION_STATUSES:
            record.skipped["observation-status"] += 1
            return
        effective = (
            parse_datetime(r.get("effectiveDateTime"))
            or parse_datetime(r.get("effectiveInstant"))
            or _period(r.get("effectivePeriod"))[1]
            or _period(r.get("effectivePeriod"))[0]
            or parse_datetime(r.get("issued"))
        )
        interpretation = tuple(
            str(c.get("code"))
            for concept in _list(r.get("interpretation"))
            for c in _codings(concept)
            if c.get("code")
        )
        quantity = _dict(r.get("valueQuantity"))
        value_codings = _codings(r.get("valueCodeableConcept"))
        raw_value = _number(quantity.get("value"))
        raw_unit = _str(quantity.get("code")) or _str(quantity.get("unit"))
        value: float | None = None
        if raw_value is not None:
            value = to_canonical(analyte, raw_value, raw_unit)
            if value is None:
                record.skipped["unknown-unit"] += 1
                return
        elif not value_codings and not interpretation:
            record.skipped["observation-no-value"] += 1
            return
        low, high = self._reference_range(analyte, r.get("referenceRange"), raw_unit)
        record.labs.setdefault(analyte, []).append(
            LabEntry(
                reference=_reference(r),
                analyte=analyte,
                display=_concept_text(code),
                value=value,
                unit=raw_unit or "",
                raw_value=raw_value,
                raw_unit=raw_unit,
                comparator=_str(quantity.get("comparator")),
                effective=effective,
                reference_low=low,
                reference_high=high,
                interpretation=interpretation,
                value_codings=value_codings,
            )
        )

    def _reference_range(
        self, analyte: str, ranges: Any, fallback_unit: str | None
    ) -> tuple[float | None, float | None]:
        for candidate in _list(ranges):
            candidate = _dict(candidate)
            bounds: list[float | None] = []
            for side in ("low", "high"):
                q = _dict(candidate.get(side))
                number = _number(q.get("value"))
                unit = _str(q.get("code")) or _str(q.get("unit")) or fallback_unit
                bounds.append(to_canonical(analyte, number, unit) if number is not None else None)
            if bounds[0] is not None or bounds[1] is not None:
                return bounds[0], bounds[1]
        return None, None

    def _complaint_observation(self, r: Mapping[str, Any], record: PatientRecord) -> None:
        # A leg complaint can be recorded as an Observation (coded finding); keep only those.
        code = r.get("code")
        matched = self._complaint.match(_codings(code)) or self._complaint.match(
            _codings(r.get("valueCodeableConcept"))
        )
        if matched is None or r.get("status") == "entered-in-error":
            return
        when = parse_datetime(r.get("effectiveDateTime")) or _period(r.get("effectivePeriod"))[0]
        record.complaint_observations.append(
            ConditionEntry(
                reference=_reference(r),
                codings=(matched,),
                display=_concept_text(code),
                clinical_status=None,
                verification_status=None,
                onset=when,
                recorded=when,
                abatement=None,
                source="Observation",
            )
        )

    def _medication(
        self,
        r: Mapping[str, Any],
        record: PatientRecord,
        medications_by_ref: Mapping[str, Mapping[str, Any]],
        drafted: bool,
    ) -> None:
        status = _str(r.get("status")) or "unknown"
        if status in ("entered-in-error", "cancelled", "not-taken") and not drafted:
            record.skipped["medication-not-taken"] += 1
            return
        concept = self._medication_concept(r, medications_by_ref)
        if concept is None:
            record.skipped["medication-unresolved-reference"] += 1
            return
        match = self._terminology.medication_ingredients(concept)
        if match is None:
            return  # a drug no rule asks about
        kind = r.get("resourceType")
        start: datetime | None
        end: datetime | None
        if kind == "MedicationRequest":
            start = parse_datetime(r.get("authoredOn"))
            end = _period(_dict(r.get("dispenseRequest")).get("validityPeriod"))[1]
        else:
            start, end = _period(r.get("effectivePeriod"))
            start = start or parse_datetime(r.get("effectiveDateTime"))
            if kind == "MedicationAdministration" and end is None:
                end = start
        record.medications.append(
            MedicationEntry(
                reference=_reference(r),
                display=_concept_text(concept) or ", ".join(match.names),
                ingredients=match.ingredients,
                names=match.names,
                low_confidence=match.low_confidence,
                status="active" if drafted else status,
                drafted=drafted,
                start=start,
                end=end,
                administered=kind == "MedicationAdministration",
            )
        )

    def _medication_concept(
        self, r: Mapping[str, Any], medications_by_ref: Mapping[str, Mapping[str, Any]]
    ) -> Mapping[str, Any] | None:
        concept = r.get("medicationCodeableConcept")
        if isinstance(concept, dict):
            return concept
        ref = _str(_dict(r.get("medicationReference")).get("reference"))
        if not ref:
            return None
        if ref.startswith("#"):
            for contained in _list(r.get("contained")):
                if isinstance(contained, dict) and contained.get("id") == ref[1:]:
                    return _dict(contained.get("code")) or None
            return None
        medication = medications_by_ref.get(ref) or medications_by_ref.get(
            "Medication/" + ref.rsplit("/", 1)[-1]
        )
        return _dict(medication.get("code")) or None if medication else None

    def _procedure(self, r: Mapping[str, Any], record: PatientRecord, *_: Any) -> None:
        status = _str(r.get("status"))
        if status in ("entered-in-error", "not-done", "preparation"):
            record.skipped["procedure-not-done"] += 1
            return
        start, end = _period(r.get("performedPeriod"))
        performed = parse_datetime(r.get("performedDateTime"))
        record.procedures.append(
            ProcedureEntry(
                reference=_reference(r),
                codings=_codings(r.get("code")),
                display=_concept_text(r.get("code")),
                status=status,
                start=start or performed,
                end=end or performed or start,
            )
        )

    def _encounter(self, r: Mapping[str, Any], record: PatientRecord, *_: Any) -> None:
        status = _str(r.get("status"))
        if status in ("entered-in-error", "cancelled"):
            return
        start, end = _period(r.get("period"))
        reasons = tuple(c for concept in _list(r.get("reasonCode")) for c in _codings(concept))
        record.encounters.append(
            EncounterEntry(
                reference=_reference(r),
                class_code=_str(_dict(r.get("class")).get("code")),
                status=status,
                start=start,
                end=end,
                reason_codings=reasons,
            )
        )

    def _allergy(self, r: Mapping[str, Any], record: PatientRecord, *_: Any) -> None:
        verification = _status_code(r.get("verificationStatus"))
        if verification in IGNORED_CONDITION_VERIFICATION:
            return
        code = r.get("code")
        match = self._terminology.medication_ingredients(_dict(code))
        record.allergies.append(
            AllergyEntry(
                reference=_reference(r),
                codings=_codings(code),
                display=_concept_text(code),
                ingredients=match.ingredients if match else frozenset(),
                clinical_status=_status_code(r.get("clinicalStatus")),
                verification_status=verification,
            )
        )

    def _family_history(self, r: Mapping[str, Any], record: PatientRecord, *_: Any) -> None:
        if r.get("status") == "entered-in-error":
            return
        codings = tuple(
            c for item in _list(r.get("condition")) for c in _codings(_dict(item).get("code"))
        )
        record.family_history.append(FamilyHistoryEntry(_reference(r), codings))


def _newest_first(entry: LabEntry) -> float:
    return -entry.effective.timestamp() if entry.effective else float("inf")
