"""Facts: the named, typed questions rules ask of a patient record at a point in time.

Rules never read FHIR JSON or bare code strings: they ask "active loop diuretics?", "latest
potassium within 90 days?", "major surgery within 84 days?". Value sets are referred to by name
(cds/terminology/VALUESETS.md); windows are whole calendar days (UTC dates) before `as_of`.

Pure: `as_of` is an input, never read from the clock here. A Facts object answers for one
record; it remembers which entries are in which value set, so the record must not be changed
after the Facts are made (the pipeline never does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TypeVar

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
from cds.terminology import Coding, Terminology, ValueSet

ACTIVE_CLINICAL_STATUSES = frozenset({"active", "recurrence", "relapse"})
HISTORY_CLINICAL_STATUSES = ACTIVE_CLINICAL_STATUSES | {"inactive", "remission", "resolved"}
# Ordered or noted, but not (yet) started: never exposure (a drafted order is handled apart).
NOT_STARTED_MEDICATION_STATUSES = frozenset({"draft", "intended"})

# §19 defaults: a medication that ended this recently still counts as active.
MEDICATION_GRACE_DAYS = 30
# §1.6: a complaint recorded this recently counts even if no longer active.
COMPLAINT_WINDOW_DAYS = 90
LOW_INTERPRETATIONS = frozenset({"L", "LL", "LU", "<"})
HIGH_INTERPRETATIONS = frozenset({"H", "HH", "HU", ">"})

# §1.2 inpatient stays: class codes (v3 ActCode) and the statuses of a stay still running.
INPATIENT_CLASSES = frozenset({"IMP", "ACUTE", "NONAC"})
STILL_ADMITTED_STATUSES = frozenset({"in-progress", "onleave", "arrived", "triaged"})

# §13 pregnancy. A pregnancy lasts at most ~42 weeks (294 days) from the last menstrual period.
# A "pregnant" status answer is only evidence of a pregnancy still running for so long after it
# was recorded, and a pregnancy Condition only so long after its onset (or recording).
PREGNANCY_STATUS_WINDOW_DAYS = 280
PREGNANCY_CONDITION_WINDOW_DAYS = 300
GESTATIONAL_AGE_WINDOW_DAYS = 60
# Gestational age advanced to as_of beyond this: the pregnancy it measured has ended, whether or
# not a delivery was recorded (post-term pregnancies are induced by 42 weeks).
MAX_GESTATIONAL_WEEKS = 44.0


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
        # The record's times are UTC, and so are its calendar days: as_of in another zone would
        # put "today" on another date and shift every window by one.
        self.as_of = as_of.astimezone(UTC)
        self.hook = hook
        self._terminology = terminology
        self._conditions_in: dict[str, list[ConditionEntry]] = {}
        self._procedures_in: dict[str, list[ProcedureEntry]] = {}

    # -- patient ---------------------------------------------------------------------------

    @property
    def patient_id(self) -> str | None:
        return self.record.patient.id

    @property
    def sex(self) -> str | None:
        return self.record.patient.gender

    @cached_property
    def age_years(self) -> int | None:
        """Completed years at as_of (the birthday itself counts); None if unknown or born after
        as_of (a data error, not an age)."""
        born = self.record.patient.birth_date
        if born is None:
            return None
        today = self.as_of.date()
        if born > today:
            return None
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
        return self._terminology.valueset(valueset).bare_codes

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
        """Ordered, taken or administered within `days` (e.g. chemotherapy in 12 months).
        A draft in the chart or an intended statement is not exposure."""
        wanted = self._ingredients_of(valueset)
        found = []
        for med in self.record.medications:
            if not med.ingredients & wanted:
                continue
            if med.status in NOT_STARTED_MEDICATION_STATUSES and not med.drafted:
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
        """Below range: interpretation first (§1.2), then the lab's range, then the default.
        A censored result counts only when its bound settles it (§1.2): "<3.0" is below a low
        limit of 3.5 (and of 3.0), "<=3.0" is below 3.5 but not 3.0, ">..." never is."""
        if any(code in LOW_INTERPRETATIONS for code in lab.interpretation):
            return True
        if lab.value is None:
            return False
        low = lab.reference_low if lab.reference_low is not None else default_low
        if low is None:
            return False
        if not lab.comparator:
            return lab.value < low
        if lab.comparator == "<":
            return lab.value <= low
        if lab.comparator == "<=":
            return lab.value < low
        return False

    @staticmethod
    def is_high(lab: LabEntry, default_high: float | None = None) -> bool:
        """Above range; the mirror of is_low (">10" is above a high limit of 10)."""
        if any(code in HIGH_INTERPRETATIONS for code in lab.interpretation):
            return True
        if lab.value is None:
            return False
        high = lab.reference_high if lab.reference_high is not None else default_high
        if high is None:
            return False
        if not lab.comparator:
            return lab.value > high
        if lab.comparator == ">":
            return lab.value >= high
        if lab.comparator == ">=":
            return lab.value > high
        return False

    # -- conditions ------------------------------------------------------------------------

    def _conditions_matching(self, valueset: str) -> list[ConditionEntry]:
        """The record's Conditions in a value set, whatever their status (memoised: rules ask
        about the same sets again and again)."""
        found = self._conditions_in.get(valueset)
        if found is None:
            vs = self._terminology.valueset(valueset)
            found = _in_valueset(vs, self.record.conditions, self._condition_codes)
            self._conditions_in[valueset] = found
        return found

    @cached_property
    def _condition_codes(self) -> dict[_CodesKey, list[int]]:
        return _by_codes(c.codings for c in self.record.conditions)

    def conditions(self, valueset: str, *, include_history: bool = False) -> list[ConditionEntry]:
        """Conditions in a value set: active (or, with include_history, also resolved)."""
        statuses = HISTORY_CLINICAL_STATUSES if include_history else ACTIVE_CLINICAL_STATUSES
        return [
            c
            for c in self._conditions_matching(valueset)
            # A Condition without clinicalStatus is allowed by FHIR when unconfirmed;
            # only count it as active when it has not abated.
            if c.clinical_status in statuses or (c.clinical_status is None and c.abatement is None)
        ]

    def conditions_within(self, valueset: str, days: int) -> list[ConditionEntry]:
        """Conditions in a value set with onset or recording within `days`, whatever status."""
        return [
            c
            for c in self._conditions_matching(valueset)
            if self.within(c.onset or c.recorded, days)
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
            for c in self._conditions_matching("leg-complaint")
            if (
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
            if not encounter.reason_codings:
                continue
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

    def _procedures_matching(self, valueset: str) -> list[ProcedureEntry]:
        found = self._procedures_in.get(valueset)
        if found is None:
            vs = self._terminology.valueset(valueset)
            found = _in_valueset(vs, self.record.procedures, self._procedure_codes)
            self._procedures_in[valueset] = found
        return found

    @cached_property
    def _procedure_codes(self) -> dict[_CodesKey, list[int]]:
        return _by_codes(p.codings for p in self.record.procedures)

    def procedures_within(self, valueset: str, days: int) -> list[ProcedureEntry]:
        """Procedures in a value set done within `days`, newest first (undated ones never)."""
        return sorted(
            (p for p in self._procedures_matching(valueset) if self.within(p.end or p.start, days)),
            key=lambda p: p.end or p.start or self.as_of,
            reverse=True,
        )

    def inpatient_stays(self, *, min_days: int, ended_within_days: int) -> list[EncounterEntry]:
        """Inpatient encounters (class IMP) of at least `min_days`, ended within the window.
        §1.2: the record's proxy for "bedridden ≥ 3 days". Length is counted in calendar days
        (midnights), as a length of stay is. A stay without an end counts as running to as_of
        only while its status says the patient is still admitted: a finished stay whose end
        was not recorded has an unknown length, and must not become a stay of years."""
        stays = []
        for e in self.record.encounters:
            if e.class_code not in INPATIENT_CLASSES or e.start is None:
                continue
            if self.days_ago(e.start) < 0:
                continue  # planned, not begun
            end = e.end
            if end is None:
                if e.status not in STILL_ADMITTED_STATUSES:
                    continue
                end = self.as_of
            elif end > self.as_of:
                end = self.as_of  # still admitted: the stay so far
            if days_between(e.start, end) >= min_days and self.within(end, ended_within_days):
                stays.append(e)
        return stays

    # -- pregnancy -------------------------------------------------------------------------

    @cached_property
    def pregnancy(self) -> Pregnancy | None:
        """A pregnancy still running at as_of, from explicit evidence only (§13): a
        pregnancy-status answer or a pregnancy Condition, never sex or age.

        - The newest evidence decides: a "not pregnant" (or any other) status answer newer than
          a pregnancy Condition ends it, and a Condition newer than that answer starts one.
        - Evidence goes stale: a "pregnant" answer after 280 days, a Condition 300 days after
          its onset (or its recording, when there is no onset). An undated pregnancy Condition
          is not evidence of a pregnancy now: problem lists keep pregnancies nobody resolved.
          An abated Condition is over.
        - A delivery procedure on or after the evidence ends that pregnancy.
        - The gestational age is the latest measurement within 60 days (not one from before a
          delivery), advanced to as_of; beyond 44 weeks the pregnancy has ended.
        """
        deliveries = [
            done
            for p in self._procedures_matching("delivery")
            if (done := p.end or p.start) is not None and self.days_ago(done) >= 0
        ]
        evidence = self._newest_pregnancy_evidence()
        if evidence is None:
            return None
        when, reference = evidence
        if any(done >= when for done in deliveries):
            return None
        last_delivery = max(deliveries, default=None)
        weeks: float | None = None
        for lab in self.labs("gestational-age", within_days=GESTATIONAL_AGE_WINDOW_DAYS):
            if lab.value is None or lab.effective is None:
                continue
            if last_delivery is None or lab.effective > last_delivery:
                weeks = lab.value + self.days_ago(lab.effective) / 7
            break  # the newest measurement only
        if weeks is not None and weeks > MAX_GESTATIONAL_WEEKS:
            return None
        return Pregnancy(reference, weeks, when)

    def _newest_pregnancy_evidence(self) -> tuple[datetime, str] | None:
        """(when, reference) of the newest evidence if it says pregnant; None otherwise."""
        pregnant_vs = self._terminology.valueset("pregnancy")
        # (time the evidence was asserted, is a status answer, says pregnant, shown time, ref)
        candidates: list[tuple[datetime, bool, bool, datetime, str]] = []
        for answer in self.labs("pregnancy-status", within_days=PREGNANCY_STATUS_WINDOW_DAYS):
            if answer.value_codings and answer.effective is not None:  # the newest answer only
                says = pregnant_vs.match(answer.value_codings) is not None
                candidates.append(
                    (answer.effective, True, says, answer.effective, answer.reference)
                )
                break
        for condition in self.conditions("pregnancy"):
            began = condition.onset or condition.recorded
            if began is None or not self.within(began, PREGNANCY_CONDITION_WINDOW_DAYS):
                continue
            if condition.abatement is not None and self.days_ago(condition.abatement) >= 0:
                continue
            asserted = max(t for t in (condition.onset, condition.recorded) if t is not None)
            candidates.append((asserted, False, True, began, condition.reference))
        if not candidates:
            return None
        # Newest first; on the same moment the status answer (an explicit check) wins.
        _, _, pregnant, when, reference = max(candidates, key=lambda c: (c[0], c[1]))
        return (when, reference) if pregnant else None

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
        return [f.reference for f in self.record.family_history if vs.match(f.condition_codings)]


# (system, code) of each coding as ValueSet.match reads them; None for a coding it skips. Two
# entries with the same key are in the same value sets: a long record codes the same few
# problems and procedures again and again, so each value set is asked once per distinct key.
_CodesKey = tuple[tuple[str, str] | None, ...]
_T = TypeVar("_T")


def _codes_key(codings: Iterable[Coding]) -> _CodesKey:
    key: list[tuple[str, str] | None] = []
    for coding in codings:
        if isinstance(coding, Mapping):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str):
                key.append((system, code))
                continue
        key.append(None)
    return tuple(key)


def _by_codes(codings: Iterable[Iterable[Coding]]) -> dict[_CodesKey, list[int]]:
    """Positions of the entries (given by their codings) grouped by their codes key."""
    groups: dict[_CodesKey, list[int]] = {}
    for position, entry_codings in enumerate(codings):
        groups.setdefault(_codes_key(entry_codings), []).append(position)
    return groups


def _in_valueset(
    vs: ValueSet, entries: Sequence[_T], groups: dict[_CodesKey, list[int]]
) -> list[_T]:
    """The entries whose codings `vs.match` (any coding in the set), in their order."""
    positions = [
        position
        for key, members in groups.items()
        if any(pair is not None and vs.contains(*pair) for pair in key)
        for position in members
    ]
    positions.sort()
    return [entries[p] for p in positions]
