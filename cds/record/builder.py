"""PatientRecord: the resources the rules need, picked from raw FHIR JSON and normalised.

This is the fast path between the request and the rules. It never validates whole bundles with
fhir.resources (about 0.2 ms per resource): it selects first, by resourceType and by a code index
for Observations, and projects only what the rules read into small frozen dataclasses. The cost
is dominated by Observations no rule reads (most of a long record), so those are rejected after
one dictionary lookup per coding, before anything else is read or parsed.

Anything malformed or unexpected is skipped and counted in `PatientRecord.skipped`, never raised:
one odd resource must not cost the clinician the rest of the record. The counts say why:

| key | meaning |
|---|---|
| `malformed:<Type>` | a resource of a type the rules read that could not be read at all |
| `malformed:not-a-resource` | an item that is not a JSON object with a string `resourceType` |
| `malformed:draftOrder` | a draft order that is not a JSON object, or could not be read |
| `duplicate` | the same `Type/id` seen again (e.g. in two prefetch searches): first kept |
| `other-patient` | a second Patient (kept: the one matching `patient_id`, else the first) |
| `other-patient-data` | a resource whose subject/patient is another patient than `patient_id` |
| `unknown-unit` | a lab value in a unit the conversion table does not know (never guessed) |
| `observation-status` | a lab that is not final, amended or corrected |
| `observation-no-value` | a lab with neither a numeric value, a coded value nor an interpretation |
| `condition-refuted-or-error` | verificationStatus refuted or entered-in-error |
| `medication-not-taken` | entered-in-error, cancelled or not-taken |
| `medication-not-ordered` | a MedicationRequest whose intent is a proposal or an option (§1.2) |
| `medication-unresolved-reference` | no code, or a medicationReference that resolves to nothing |
| `procedure-not-done` | entered-in-error, not-done or in preparation |

Resources no rule reads (Claim, DiagnosticReport, a drug no value set lists, an Observation
with another code...) are left out without a count: they are not data problems.

Pure: no IO, no clock. Time-dependent questions live in `cds.facts`, which takes `as_of`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from cds.fhirtime import parse_date, parse_datetime
from cds.record.entries import (
    AllergyEntry,
    ConditionEntry,
    EncounterEntry,
    FamilyHistoryEntry,
    LabEntry,
    MedicationEntry,
    PatientInfo,
    PatientRecord,
    ProcedureEntry,
)
from cds.record.fhir_json import (
    as_dict,
    as_list,
    belongs_to_other_patient,
    codings_of,
    concept_text,
    finite_number,
    loose_code,
    period_bounds,
    reference_of,
    status_code,
    str_or_none,
)
from cds.terminology import MedicationMatch, Terminology, ValueSet
from cds.terminology.units import to_canonical

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
# Value sets whose codes make an Observation a coded finding the record keeps (by its code or
# its coded value): leg complaints (§1.6) and PE symptoms (§11, §22.2 e).
FINDING_VALUESETS: tuple[str, ...] = ("leg-complaint", "pe-symptoms")

NOT_TAKEN_MEDICATION_STATUSES = frozenset({"entered-in-error", "cancelled", "not-taken"})
# §1.2: a MedicationRequest counts as an order or a plan; a proposal or an option is a
# suggestion nobody has ordered (a drafted order of order-select/order-sign is handled apart).
NOT_ORDERED_INTENTS = frozenset({"proposal", "option"})
IGNORED_CONDITION_VERIFICATION = frozenset({"refuted", "entered-in-error"})
USABLE_OBSERVATION_STATUSES = frozenset({"final", "amended", "corrected"})
IGNORED_COMPLAINT_OBSERVATION_STATUSES = frozenset({"entered-in-error", "cancelled"})
NOT_DONE_PROCEDURE_STATUSES = frozenset({"entered-in-error", "not-done", "preparation"})
IGNORED_ENCOUNTER_STATUSES = frozenset({"entered-in-error", "cancelled"})
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
_LOINC_OID = "urn:oid:2.16.840.1.113883.6.1"  # the HL7 v3 OID some EHRs still send for LOINC
_MEMO_LIMIT = 4096  # codes remembered by RecordBuilder._may_be_finding
_MEDICATION_KINDS = frozenset(
    {"MedicationRequest", "MedicationStatement", "MedicationAdministration"}
)

# ---------------------------------------------------------------------------------------------
# The builder


class _Build:
    """What one build() call keeps while it runs: the record, the Medications to resolve
    references against, and the medication matches already computed (a long record orders the
    same drug again and again; a match depends only on the concept's codes and text)."""

    __slots__ = ("matches", "medications", "patient_id", "patient_seen", "record")

    def __init__(self, patient_id: str | None) -> None:
        self.record = PatientRecord()
        self.patient_id = patient_id
        self.patient_seen = False
        self.medications: dict[str, Mapping[str, Any]] = {}
        self.matches: dict[tuple[Any, ...], MedicationMatch | None] = {}


def _match_key(concept: Mapping[str, Any]) -> tuple[Any, ...]:
    """Everything Terminology.medication_ingredients reads from a concept: its text and each
    coding's system, code and display (None where not a string, as it ignores those)."""
    text = concept.get("text")
    key: list[Any] = [text if isinstance(text, str) else None]
    codings = concept.get("coding")
    if isinstance(codings, list):
        for c in codings:
            if isinstance(c, Mapping):
                system, code, display = c.get("system"), c.get("code"), c.get("display")
                key.append(
                    (
                        system if isinstance(system, str) else None,
                        code if isinstance(code, str) else None,
                        display if isinstance(display, str) else None,
                    )
                )
    return tuple(key)


Handler = Callable[[Mapping[str, Any], _Build], None]


class RecordBuilder:
    """Builds PatientRecords; holds only immutable lookup tables derived from the terminology."""

    def __init__(self, terminology: Terminology) -> None:
        self._terminology = terminology
        index: dict[str, str] = {}
        for analyte in (*LAB_ANALYTES, *CODED_OBSERVATIONS):
            for system, code in terminology.valueset(analyte).codes:
                if system == LOINC:
                    index.setdefault(code, analyte)
        self._loinc_to_analyte = index
        self._complaint = terminology.valueset("leg-complaint")
        self._findings = tuple(terminology.valueset(name) for name in FINDING_VALUESETS)
        self._finding_codes = _prefilter(*self._findings)
        # code as given -> may be a finding (_may_be_finding): a long record repeats the same
        # few Observation codes. Bounded, as codes come from requests; never changes an
        # answer, so sharing the builder across requests and threads stays safe.
        self._finding_memo: dict[str, bool] = {}
        self._handlers: dict[str, Handler] = {
            "Patient": self._patient,
            "Condition": self._condition,
            "Observation": self._observation,
            "Procedure": self._procedure,
            "Encounter": self._encounter,
            "AllergyIntolerance": self._allergy,
            "FamilyMemberHistory": self._family_history,
        }

    def build(
        self,
        resources: Iterable[Mapping[str, Any]],
        *,
        draft_orders: Iterable[Mapping[str, Any]] = (),
        patient_id: str | None = None,
    ) -> PatientRecord:
        build = _Build(patient_id)
        record = build.record
        skipped = record.skipped
        handlers = self._handlers
        medications = build.medications
        seen: set[tuple[str, str]] = set()
        # A resource whose subject is exactly "Patient/<patient_id>" is this patient's: the
        # common case, decided without belongs_to_other_patient (which would say the same;
        # not so for an id holding "/_history", which it truncates).
        own_subject = (
            "Patient/" + patient_id if patient_id and "/_history" not in patient_id else None
        )
        # Medication resources are read last, once every Medication they may reference is known.
        deferred: list[Mapping[str, Any]] = []
        for resource in resources:
            if type(resource) is not dict and not isinstance(resource, Mapping):
                skipped["malformed:not-a-resource"] += 1
                continue
            kind = resource.get("resourceType")
            if type(kind) is not str:
                skipped["malformed:not-a-resource"] += 1
                continue
            if kind == "Medication":
                rid = resource.get("id")
                if isinstance(rid, str) and rid:
                    medications["Medication/" + rid] = resource
                continue
            handler = handlers.get(kind)
            if handler is None and kind not in _MEDICATION_KINDS:
                continue  # OperationOutcome (reported by gather), Claim, DiagnosticReport, ...
            rid = resource.get("id")
            if isinstance(rid, str) and rid:
                key = (kind, rid)
                if key in seen:
                    skipped["duplicate"] += 1
                    continue
                seen.add(key)
            subject = resource.get("subject")
            if (
                patient_id
                and (
                    own_subject is None
                    or kind == "Patient"
                    or type(subject) is not dict
                    or subject.get("reference") != own_subject
                )
                and belongs_to_other_patient(resource, patient_id)
            ):
                # Cards about one patient must never rest on another patient's data.
                skipped["other-patient-data"] += 1
                continue
            if handler is None:
                deferred.append(resource)
                continue
            try:
                handler(resource, build)
            except Exception:  # one malformed resource never costs the rest of the record
                skipped[f"malformed:{kind}"] += 1
        for resource in deferred:
            try:
                self._medication(resource, build, False)
            except Exception:
                skipped[f"malformed:{resource.get('resourceType')}"] += 1
        for order in draft_orders:
            if type(order) is not dict and not isinstance(order, Mapping):
                skipped["malformed:draftOrder"] += 1
                continue
            if order.get("resourceType") != "MedicationRequest":
                continue  # a ServiceRequest or other draft: no rule reads those
            try:
                self._medication(order, build, True)
            except Exception:
                skipped["malformed:draftOrder"] += 1
        if record.patient.id is None and patient_id:
            record.patient = dataclasses.replace(record.patient, id=patient_id)
        for entries in record.labs.values():
            entries.sort(key=_newest_first)
        return record

    # -- resources -------------------------------------------------------------------------

    def _patient(self, r: Mapping[str, Any], build: _Build) -> None:
        info = PatientInfo(
            id=str_or_none(r.get("id")),
            birth_date=parse_date(r.get("birthDate")),
            gender=str_or_none(r.get("gender")),
            deceased=r.get("deceasedBoolean") is True
            or bool(str_or_none(r.get("deceasedDateTime"))),
        )
        record = build.record
        if not build.patient_seen:
            build.patient_seen = True
            record.patient = info
            return
        # Two Patients (a linked record, an _include): keep the one the request is about.
        wanted = build.patient_id
        if wanted and info.id == wanted and record.patient.id != wanted:
            record.patient = info
        record.skipped["other-patient"] += 1

    def _condition(self, r: Mapping[str, Any], build: _Build) -> None:
        record = build.record
        verification = status_code(r.get("verificationStatus"))
        if verification in IGNORED_CONDITION_VERIFICATION:
            record.skipped["condition-refuted-or-error"] += 1
            return
        code = r.get("code")
        onset = parse_datetime(r.get("onsetDateTime")) or period_bounds(r.get("onsetPeriod"))[0]
        abatement = (
            parse_datetime(r.get("abatementDateTime")) or period_bounds(r.get("abatementPeriod"))[1]
        )
        record.conditions.append(
            ConditionEntry(
                reference=reference_of(r),
                codings=codings_of(code),
                display=concept_text(code),
                clinical_status=status_code(r.get("clinicalStatus")),
                verification_status=verification,
                onset=onset,
                recorded=parse_datetime(r.get("recordedDate")),
                abatement=abatement,
            )
        )

    def _observation(self, r: Mapping[str, Any], build: _Build) -> None:
        # The hot path: most Observations of a long record are not read by any rule. Find the
        # analyte with one dict lookup per coding before reading anything else.
        code = r.get("code")
        codings = code.get("coding") if isinstance(code, dict) else None
        analyte = None
        if isinstance(codings, list):
            index = self._loinc_to_analyte
            for coding in codings:
                if not isinstance(coding, dict):
                    continue
                loinc = coding.get("code")
                if type(loinc) is str and loinc in index:
                    system = coding.get("system")
                    if system in (LOINC, _LOINC_OID):
                        analyte = index[loinc]
                        break
        if analyte is None:
            value_concept = r.get("valueCodeableConcept")
            if self._may_be_finding(codings) or (
                value_concept is not None
                and self._may_be_finding(as_dict(value_concept).get("coding"))
            ):
                self._coded_observation(r, build.record)
            return
        self._lab(r, analyte, build.record)

    def _lab(self, r: Mapping[str, Any], analyte: str, record: PatientRecord) -> None:
        status = r.get("status")
        if type(status) is not str or status not in USABLE_OBSERVATION_STATUSES:
            record.skipped["observation-status"] += 1
            return
        quantity = r.get("valueQuantity")
        if not isinstance(quantity, dict):
            quantity = {}
        value_codings = codings_of(r.get("valueCodeableConcept"))
        interpretations = r.get("interpretation")
        interpretation = (
            tuple(
                c["code"]
                for concept in interpretations
                for c in codings_of(concept)
                if isinstance(c.get("code"), str) and c["code"]
            )
            if isinstance(interpretations, list)
            else ()
        )
        raw_value = finite_number(quantity.get("value"))
        raw_unit = str_or_none(quantity.get("code")) or str_or_none(quantity.get("unit"))
        value: float | None = None
        if raw_value is not None:
            value = to_canonical(analyte, raw_value, raw_unit)
            if value is None:
                record.skipped["unknown-unit"] += 1
                return
        elif not value_codings and not interpretation:
            record.skipped["observation-no-value"] += 1
            return
        effective = (
            parse_datetime(r.get("effectiveDateTime"))
            or parse_datetime(r.get("effectiveInstant"))
            or _effective_period(r.get("effectivePeriod"))
            or parse_datetime(r.get("issued"))
        )
        low, high = self._reference_range(analyte, r.get("referenceRange"), raw_unit)
        entries = record.labs.get(analyte)
        if entries is None:
            entries = record.labs[analyte] = []
        entries.append(
            LabEntry(
                reference=reference_of(r),
                analyte=analyte,
                display=concept_text(r.get("code")),
                value=value,
                unit=raw_unit or "",
                raw_value=raw_value,
                raw_unit=raw_unit,
                comparator=str_or_none(quantity.get("comparator")),
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
        if not isinstance(ranges, list):
            return None, None
        for candidate in ranges:
            if not isinstance(candidate, dict):
                continue
            bounds: list[float | None] = []
            for side in ("low", "high"):
                q = as_dict(candidate.get(side))
                number = finite_number(q.get("value"))
                unit = str_or_none(q.get("code")) or str_or_none(q.get("unit")) or fallback_unit
                bounds.append(to_canonical(analyte, number, unit) if number is not None else None)
            if bounds[0] is not None or bounds[1] is not None:
                return bounds[0], bounds[1]
        return None, None

    def _may_be_finding(self, codings: Any) -> bool:
        """False only when no coding can be in a FINDING_VALUESETS set (a cheap pre-filter;
        ValueSet.match decides)."""
        codes = self._finding_codes
        if codes is None:
            return True
        if not isinstance(codings, list):
            return False
        memo = self._finding_memo
        for coding in codings:
            if isinstance(coding, dict):
                code = coding.get("code")
                if isinstance(code, str):
                    found = memo.get(code)
                    if found is None:
                        found = loose_code(code) in codes
                        if len(memo) >= _MEMO_LIMIT:
                            memo.clear()
                        memo[code] = found
                    if found:
                        return True
        return False

    def _coded_observation(self, r: Mapping[str, Any], record: PatientRecord) -> None:
        # A complaint or symptom can be recorded as an Observation (a coded finding, by its code
        # or its coded value); keep only those.
        if str_or_none(r.get("status")) in IGNORED_COMPLAINT_OBSERVATION_STATUSES:
            return
        code = r.get("code")
        codings = codings_of(code) + codings_of(r.get("valueCodeableConcept"))
        if not any(vs.match(codings) is not None for vs in self._findings):
            return
        when = (
            parse_datetime(r.get("effectiveDateTime")) or period_bounds(r.get("effectivePeriod"))[0]
        )
        record.coded_observations.append(
            ConditionEntry(
                reference=reference_of(r),
                codings=codings,
                display=concept_text(code),
                clinical_status=None,
                verification_status=None,
                onset=when,
                recorded=when,
                abatement=None,
                source="Observation",
            )
        )
        # The first rule versions read leg complaints only, with the one matching coding.
        matched = self._complaint.match(codings_of(code)) or self._complaint.match(
            codings_of(r.get("valueCodeableConcept"))
        )
        if matched is None:
            return
        record.complaint_observations.append(
            ConditionEntry(
                reference=reference_of(r),
                codings=(matched,),
                display=concept_text(code),
                clinical_status=None,
                verification_status=None,
                onset=when,
                recorded=when,
                abatement=None,
                source="Observation",
            )
        )

    def _medication(self, r: Mapping[str, Any], build: _Build, drafted: bool) -> None:
        record = build.record
        kind = r.get("resourceType")
        status = str_or_none(r.get("status")) or "unknown"
        if not drafted:
            if status in NOT_TAKEN_MEDICATION_STATUSES:
                record.skipped["medication-not-taken"] += 1
                return
            if kind == "MedicationRequest" and str_or_none(r.get("intent")) in NOT_ORDERED_INTENTS:
                record.skipped["medication-not-ordered"] += 1
                return
        concept = self._medication_concept(r, build.medications)
        if concept is None:
            record.skipped["medication-unresolved-reference"] += 1
            return
        key = _match_key(concept)
        if key in build.matches:
            match = build.matches[key]
        else:
            match = build.matches[key] = self._terminology.medication_ingredients(concept)
        if match is None:
            return  # a drug no rule asks about
        start: datetime | None
        end: datetime | None
        if kind == "MedicationRequest":
            start = parse_datetime(r.get("authoredOn"))
            end = period_bounds(as_dict(r.get("dispenseRequest")).get("validityPeriod"))[1]
            therapy_end = _bounds_end(r.get("dosageInstruction"))
            authored = start
        else:
            start, end = period_bounds(r.get("effectivePeriod"))
            start = start or parse_datetime(r.get("effectiveDateTime"))
            therapy_end = end
            authored = parse_datetime(r.get("dateAsserted"))
            if kind == "MedicationAdministration" and end is None:
                end = start
        record.medications.append(
            MedicationEntry(
                reference=reference_of(r),
                display=concept_text(concept) or ", ".join(match.names),
                ingredients=match.ingredients,
                names=match.names,
                low_confidence=match.low_confidence,
                status="active" if drafted else status,
                drafted=drafted,
                start=start,
                end=end,
                administered=kind == "MedicationAdministration",
                intent=str_or_none(r.get("intent")),
                therapy_end=therapy_end,
                authored=authored,
                resource=r,
            )
        )

    def _medication_concept(
        self, r: Mapping[str, Any], medications: Mapping[str, Mapping[str, Any]]
    ) -> Mapping[str, Any] | None:
        concept = r.get("medicationCodeableConcept")
        if isinstance(concept, dict):
            return concept
        ref = str_or_none(as_dict(r.get("medicationReference")).get("reference"))
        if not ref:
            return None
        if ref.startswith("#"):
            for contained in as_list(r.get("contained")):
                if isinstance(contained, dict) and contained.get("id") == ref[1:]:
                    return as_dict(contained.get("code")) or None
            return None
        medication = medications.get(ref)
        if medication is None:
            medication_id = _medication_id(ref)
            medication = medications.get("Medication/" + medication_id) if medication_id else None
        return (as_dict(medication.get("code")) or None) if medication else None

    def _procedure(self, r: Mapping[str, Any], build: _Build) -> None:
        record = build.record
        status = str_or_none(r.get("status"))
        if status in NOT_DONE_PROCEDURE_STATUSES:
            record.skipped["procedure-not-done"] += 1
            return
        start, end = period_bounds(r.get("performedPeriod"))
        performed = parse_datetime(r.get("performedDateTime"))
        code = r.get("code")
        record.procedures.append(
            ProcedureEntry(
                reference=reference_of(r),
                codings=codings_of(code),
                display=concept_text(code),
                status=status,
                start=start or performed,
                end=end or performed or start,
            )
        )

    def _encounter(self, r: Mapping[str, Any], build: _Build) -> None:
        status = str_or_none(r.get("status"))
        if status in IGNORED_ENCOUNTER_STATUSES:
            return
        start, end = period_bounds(r.get("period"))
        reasons = tuple(c for concept in as_list(r.get("reasonCode")) for c in codings_of(concept))
        reason_references = tuple(
            ref
            for target in as_list(r.get("reasonReference"))
            if (ref := str_or_none(as_dict(target).get("reference"))) is not None
        )
        build.record.encounters.append(
            EncounterEntry(
                reference=reference_of(r),
                class_code=str_or_none(as_dict(r.get("class")).get("code")),
                status=status,
                start=start,
                end=end,
                reason_codings=reasons,
                reason_references=reason_references,
            )
        )

    def _allergy(self, r: Mapping[str, Any], build: _Build) -> None:
        verification = status_code(r.get("verificationStatus"))
        if verification in IGNORED_CONDITION_VERIFICATION:
            return
        code = r.get("code")
        match = self._terminology.medication_ingredients(as_dict(code))
        build.record.allergies.append(
            AllergyEntry(
                reference=reference_of(r),
                codings=codings_of(code),
                display=concept_text(code),
                ingredients=match.ingredients if match else frozenset(),
                clinical_status=status_code(r.get("clinicalStatus")),
                verification_status=verification,
            )
        )

    def _family_history(self, r: Mapping[str, Any], build: _Build) -> None:
        if r.get("status") == "entered-in-error":
            return
        codings = tuple(
            c for item in as_list(r.get("condition")) for c in codings_of(as_dict(item).get("code"))
        )
        build.record.family_history.append(FamilyHistoryEntry(reference_of(r), codings))


def _prefilter(*valuesets: ValueSet) -> frozenset[str] | None:
    """The sets' codes, loosely compared (case, dots, spaces ignored, any system): a coding
    whose code is not in here cannot match. None when a set has prefix rows (no pre-filter)."""
    if any(entry.match != "exact" for vs in valuesets for entry in vs.entries):
        return None
    return frozenset(loose_code(code) for vs in valuesets for _, code in vs.codes)


def _bounds_end(instructions: Any) -> datetime | None:
    """The latest dosageInstruction.timing.repeat.boundsPeriod.end: when the therapy ends."""
    ends = [
        end
        for instruction in as_list(instructions)
        if (
            end := period_bounds(
                as_dict(as_dict(as_dict(instruction).get("timing")).get("repeat")).get(
                    "boundsPeriod"
                )
            )[1]
        )
        is not None
    ]
    return max(ends, default=None)


def _effective_period(period: Any) -> datetime | None:
    """An Observation's effectivePeriod as one time: its end, else its start."""
    start, end = period_bounds(period)
    return end or start


def _medication_id(reference: str) -> str | None:
    """The id in a reference to a Medication: `Medication/1`, an absolute URL, a versioned
    reference (`.../_history/2`) or a transaction bundle's `urn:uuid:...`; None when the
    reference names another resource type."""
    if reference.startswith("urn:uuid:"):
        return reference[len("urn:uuid:") :] or None
    reference = reference.split("/_history/", 1)[0]
    parts = reference.rsplit("/", 2)
    if len(parts) >= 2 and parts[-2] != "Medication":
        return None
    return parts[-1] or None


def _newest_first(entry: LabEntry) -> float:
    return -entry.effective.timestamp() if entry.effective else float("inf")
