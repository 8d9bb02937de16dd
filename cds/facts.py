"""Facts: the named, typed questions rules ask of a patient record at a point in time.

Rules never read FHIR JSON or bare code strings: they ask "active loop diuretics?", "latest
potassium within 90 days?", "major surgery within 84 days?". Value sets are referred to by name
(cds/terminology/VALUESETS.md); windows are whole calendar days before `as_of`.

Pure: `as_of` is an input, never read from the clock here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from cds.fhirtime import days_between
from cds.record import (
    ACTIVE_MEDICATION_STATUSES,
    ENDED_MEDICATION_STATUSES,
    ConditionEntry,
    EncounterEntry,
    LabEntry,
    MedicationEntry,
    PatientRecord,
    ProcedureEntry,
)
from cds.terminology import Terminology

ACTIVE_CLINICAL_STATUSES = frozenset({"active", "recurrence", "relapse"})
HISTORY_CLINICAL_STATUSES = ACTIVE_CLINICAL_STATUSES | {"inactive", "remission", "resolved"}

# §19 defaults: a medication that ended this recently still counts as active.
MEDICATION_GRACE_DAYS = 30
# §1.6: a complaint recorded this recently counts even if no longer active.
COMPLAINT_WINDOW_DAYS = 90
LOW_INTERPRETATIONS = frozenset({"L", "LL", "LU", "<"})
HIGH_INTERPRETATIONS = frozenset({"H", "HH", "HU", ">"})


@dataclass(frozen=True, slots=True)
class Pregnancy:
    evidence: str  # reference of the resource that shows it
    gestational_weeks: float | None
    when: datetime | None


class Facts:
    def __init__(
        self,
        record: PatientRecord,
        *,
        as_of: datetime,
        terminology: Terminology,
        hook: str = "patient-view",
    ) -> None:
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        self.record = record
        self.as_of = as_of
        self.hook = hook
        self._terminology = terminology

    # -- patient ---------------------------------------------------------------------------

    @property
    def patient_id(self) -> str | None:
        return self.record.patient.id

    @property
    def sex(self) -> str | None:
        return self.record.patient.gender

    @cached_property
    def age_years(self) -> int | None:
        born = self.record.patient.birth_date
        if born is None:
            return None
        today = self.as_of.date()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def days_ago(self, when: datetime) -> int:
        return days_between(when, self.as_of)

    def within(self, when: datetime | None, days: int) -> bool:
        """True when `when` is on or after `as_of` minus `days`, and not in the future."""
        if when is None:
            return False
        ago = self.days_ago(when)
        return 0 <= ago <= days

    # -- medications -----------------------------------------------------------------------

    def _ingredients_of(self, valueset: str) -> frozenset[str]:
        return frozenset(code for _, code in self._terminology.valueset(valueset).codes)

    def is_active(self, med: MedicationEntry, *, grace_days: int = MEDICATION_GRACE_DAYS) -> bool:
        """§1.2: active, a draft order, or ended within the grace period."""
        if med.drafted:
            return True
        if med.status in ACTIVE_MEDICATION_STATUSES:
            return med.end is None or self.days_ago(med.end) <= grace_days
        if med.status in ENDED_MEDICATION_STATUSES:
            ended = med.end or (med.start if med.administered else None)
            return ended is not None and 0 <= self.days_ago(ended) <= grace_days
        return False

    def active_medications(self, valueset: str) -> list[MedicationEntry]:
        wanted = self._ingredients_of(valueset)
        return [m for m in self.record.medications if m.ingredients & wanted and self.is_active(m)]

    def medications_within(self, valueset: str, days: int) -> list[MedicationEntry]:
        """Ordered, taken or administered within `days` (e.g. chemotherapy in 12 months)."""
        wanted = self._ingredients_of(valueset)
        found = []
        for med in self.record.medications:
            if not med.ingredients & wanted:
                continue
            last = med.end or med.start
            if self.is_active(med) or (last is not None and self.within(last, days)):
                found.append(med)
        return found

    def drafted(self, meds: Iterable[MedicationEntry]) -> list[MedicationEntry]:
        return [m for m in meds if m.drafted]

    # -- labs ------------------------------------------------------------------------------

    def labs(self, analyte: str, *, within_days: int | None = None) -> list[LabEntry]:
        """Usable results of an analyte, newest first, optionally within a window."""
        entries = self.record.labs.get(analyte, [])
        if within_days is None:
            return [e for e in entries if e.effective is None or self.days_ago(e.effective) >= 0]
        return [e for e in entries if self.within(e.effective, within_days)]

    def latest_lab(self, analyte: str, *, within_days: int) -> LabEntry | None:
        for entry in self.labs(analyte, within_days=within_days):
            if entry.value is not None:
                return entry
        return None

    @staticmethod
    def is_low(lab: LabEntry, default_low: float | None = None) -> bool:
        """Below range: interpretation first (§1.2), then the lab's range, then the default."""
        if any(code in LOW_INTERPRETATIONS for code in lab.interpretation):
            return True
        if lab.value is None or lab.comparator:
            return False
        low = lab.reference_low if lab.reference_low is not None else default_low
        return low is not None and lab.value < low

    @staticmethod
    def is_high(lab: LabEntry, default_high: float | None = None) -> bool:
        if any(code in HIGH_INTERPRETATIONS for code in lab.interpretation):
            return True
        if lab.value is None or lab.comparator:
            return False
        high = lab.reference_high if lab.reference_high is not None else default_high
        return high is not None and lab.value > high

    # -- conditions ------------------------------------------------------------------------

    def conditions(self, valueset: str, *, include_history: bool = False) -> list[ConditionEntry]:
        """Conditions in a value set: active (or, with include_history, also resolved)."""
        statuses = HISTORY_CLINICAL_STATUSES if include_history else ACTIVE_CLINICAL_STATUSES
        vs = self._terminology.valueset(valueset)
        return [
            c
            for c in self.record.conditions
            # A Condition without clinicalStatus is allowed by FHIR when unconfirmed;
            # only count it as active when it has not abated.
            if (c.clinical_status in statuses or (c.clinical_status is None and c.abatement is None))
            and vs.match(c.codings) is not None
        ]

    def conditions_within(self, valueset: str, days: int) -> list[ConditionEntry]:
        """Conditions in a value set with onset or recording within `days`, whatever status."""
        vs = self._terminology.valueset(valueset)
        return [
            c
            for c in self.record.conditions
            if vs.match(c.codings) is not None and self.within(c.onset or c.recorded, days)
        ]

    def has_condition(self, valueset: str, *, include_history: bool = False) -> bool:
        return bool(self.conditions(valueset, include_history=include_history))

    @cached_property
    def leg_complaints(self) -> list[ConditionEntry]:
        """§1.6 complaint on record: an active Condition, or a Condition, Observation or
        Encounter reason within the last 90 days, coded as leg pain, cramp, restless legs or
        leg swelling. Candidate-cause cards need one of these."""
        vs = self._terminology.valueset("leg-complaint")
        found = [
            c
            for c in self.record.conditions
            if vs.match(c.codings) is not None
            and (
                c.clinical_status in ACTIVE_CLINICAL_STATUSES
                or self.within(c.onset or c.recorded, COMPLAINT_WINDOW_DAYS)
            )
        ]
        found += [
            o
            for o in self.record.complaint_observations
            if self.within(o.onset, COMPLAINT_WINDOW_DAYS)
        ]
        for encounter in self.record.encounters:
            matched = vs.match(encounter.reason_codings)
            if matched is not None and self.within(encounter.start, COMPLAINT_WINDOW_DAYS):
                found.append(
                    ConditionEntry(
                        reference=encounter.reference,
                        codings=(matched,),
                        display=str(matched.get("display") or matched.get("code")),
                        clinical_status=None,
                        verification_status=None,
                        onset=encounter.start,
                        recorded=encounter.start,
                        abatement=None,
                        source="Encounter",
                    )
                )
        return found

    @property
    def has_leg_complaint(self) -> bool:
        return bool(self.leg_complaints)

    def complaints_in(self, valueset: str) -> list[ConditionEntry]:
        vs = self._terminology.valueset(valueset)
        return [c for c in self.leg_complaints if vs.match(c.codings) is not None]

    # -- procedures and encounters -------------------------------------------------------

    def procedures_within(self, valueset: str, days: int) -> list[ProcedureEntry]:
        vs = self._terminology.valueset(valueset)
        return sorted(
            (
                p
                for p in self.record.procedures
                if vs.match(p.codings) is not None and self.within(p.end or p.start, days)
            ),
            key=lambda p: p.end or p.start or self.as_of,
            reverse=True,
        )

    def inpatient_stays(self, *, min_days: int, ended_within_days: int) -> list[EncounterEntry]:
        """Inpatient encounters (class IMP) of at least `min_days`, ended within the window.
        §1.2: the record's proxy for "bedridden ≥ 3 days"."""
        stays = []
        for e in self.record.encounters:
            if e.class_code not in ("IMP", "ACUTE", "NONAC") or e.start is None:
                continue
            end = e.end or self.as_of  # still admitted
            if days_between(e.start, end) >= min_days and self.within(end, ended_within_days):
                stays.append(e)
        return stays

    # -- pregnancy -------------------------------------------------------------------------

    @cached_property
    def pregnancy(self) -> Pregnancy | None:
        """Explicit evidence only (§13): never inferred from sex or age."""
        pregnant_vs = self._terminology.valueset("pregnancy")
        weeks = self.latest_lab("gestational-age", within_days=60)
        for status in self.labs("pregnancy-status", within_days=280):
            if pregnant_vs.match(status.value_codings) is not None:
                return Pregnancy(status.reference, _weeks_now(weeks, self), status.effective)
            return None  # the newest status says not pregnant
        for condition in self.conditions("pregnancy"):
            if condition.onset is None or self.within(condition.onset, 300):
                return Pregnancy(condition.reference, _weeks_now(weeks, self), condition.onset)
        return None

    # -- allergies, family history --------------------------------------------------------

    def allergies_to(self, valueset: str) -> list[str]:
        wanted = self._ingredients_of(valueset)
        return [
            a.reference
            for a in self.record.allergies
            if a.ingredients & wanted and a.clinical_status in (None, "active")
        ]

    def family_history_of(self, valueset: str) -> list[str]:
        vs = self._terminology.valueset(valueset)
        return [
            f.reference for f in self.record.family_history if vs.match(f.condition_codings)
        ]


def _weeks_now(lab: LabEntry | None, facts: Facts) -> float | None:
    """Gestational age advanced from the day it was measured to as_of."""
    if lab is None or lab.value is None or lab.effective is None:
        return None
    return lab.value + facts.days_ago(lab.effective) / 7
