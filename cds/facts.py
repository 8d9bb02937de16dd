"""Facts: what a rule version may ask of one patient's record, at one moment.

Facts answer "which entries of the record are in this value set?" and "how long before as_of
was this?", and nothing more: every clinical judgement (which statuses count as active, how long
a complaint counts, when a pregnancy has ended, whether a result is low) belongs to the versioned
rule libraries in `cds/rules/lib/`, so that it is part of what a released rule version is.

Two classes:

- `RecordFacts`: one per built record and `as_of`, shared by every rule version of a call that
  reads the same terminology release. It remembers which entries are in which value set (rules
  ask about the same sets again and again), so the record must not change after it is made.
- `Facts`: what one rule version receives: the shared `RecordFacts`, seen through the value sets
  that version declares. Asking about any other value set raises `UndeclaredValueSet`: a
  version's declaration is what its fingerprint and its prefetch are computed from, so it must
  never be less than what the code reads.

Pure: `as_of` is an input, never read from the clock here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from cds.fhirtime import days_between
from cds.record import (
    AllergyEntry,
    ConditionEntry,
    EncounterEntry,
    FamilyHistoryEntry,
    LabEntry,
    MedicationEntry,
    PatientRecord,
    ProcedureEntry,
)
from cds.terminology import Coding, Terminology, ValueSet

_T = TypeVar("_T")


class UndeclaredValueSet(LookupError):
    """A rule version asked about a value set it did not declare in `RuleVersion.valuesets`."""


class RecordFacts:
    """The entries of one record by value set, at `as_of`; shared by the rule versions of a call."""

    def __init__(self, record: PatientRecord, *, as_of: datetime, terminology: Terminology) -> None:
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        self.record = record
        # The record's times are UTC, and so are its calendar days: as_of in another zone would
        # put "today" on another date and shift every window by one.
        self.as_of = as_of.astimezone(UTC)
        self.terminology = terminology
        self._conditions_in: dict[str, list[ConditionEntry]] = {}
        self._procedures_in: dict[str, list[ProcedureEntry]] = {}
        self._condition_codes: dict[_CodesKey, list[int]] | None = None
        self._procedure_codes: dict[_CodesKey, list[int]] | None = None
        # Facts.memo: key -> (value, the value sets its computation read)
        self.memo: dict[Any, tuple[Any, frozenset[str]]] = {}

    def conditions_in(self, valueset: str) -> list[ConditionEntry]:
        """The record's Conditions in a value set, whatever their status, in record order."""
        found = self._conditions_in.get(valueset)
        if found is None:
            if self._condition_codes is None:
                self._condition_codes = _by_codes(c.codings for c in self.record.conditions)
            vs = self.terminology.valueset(valueset)
            found = _in_valueset(vs, self.record.conditions, self._condition_codes)
            self._conditions_in[valueset] = found
        return found

    def procedures_in(self, valueset: str) -> list[ProcedureEntry]:
        """The record's Procedures in a value set, whatever their status, in record order."""
        found = self._procedures_in.get(valueset)
        if found is None:
            if self._procedure_codes is None:
                self._procedure_codes = _by_codes(p.codings for p in self.record.procedures)
            vs = self.terminology.valueset(valueset)
            found = _in_valueset(vs, self.record.procedures, self._procedure_codes)
            self._procedures_in[valueset] = found
        return found

    def medications_in(self, valueset: str) -> list[MedicationEntry]:
        wanted = self.terminology.valueset(valueset).bare_codes
        return [m for m in self.record.medications if m.ingredients & wanted]

    def allergies_in(self, valueset: str) -> list[AllergyEntry]:
        wanted = self.terminology.valueset(valueset).bare_codes
        return [a for a in self.record.allergies if a.ingredients & wanted]

    def family_history_in(self, valueset: str) -> list[FamilyHistoryEntry]:
        vs = self.terminology.valueset(valueset)
        return [f for f in self.record.family_history if vs.match(f.condition_codings)]

    def observations_in(self, valueset: str) -> list[ConditionEntry]:
        """Coded findings recorded as Observations (the record keeps those whose code or value
        is a leg complaint), as condition-like entries."""
        vs = self.terminology.valueset(valueset)
        return [o for o in self.record.complaint_observations if vs.match(o.codings) is not None]

    def coded_observations_in(self, valueset: str) -> list[ConditionEntry]:
        """Observations whose code or coded value is in a value set (a complaint or symptom
        recorded as an Observation), as condition-like entries with all their codings."""
        vs = self.terminology.valueset(valueset)
        return [o for o in self.record.coded_observations if vs.match(o.codings) is not None]


class Facts:
    """The record as one rule version may read it: its declared value sets only."""

    def __init__(self, shared: RecordFacts, *, valuesets: Iterable[str], reader: str = "") -> None:
        self._shared = shared
        self._declared = frozenset(valuesets)
        self._reader = reader  # "rule@version", for error messages
        self.read: set[str] = set()  # value sets asked about so far (tests compare it)
        self._tracking: list[set[str]] = []

    # -- the patient and the moment ---------------------------------------------------------

    @property
    def as_of(self) -> datetime:
        return self._shared.as_of

    @property
    def patient_id(self) -> str | None:
        return self._shared.record.patient.id

    @property
    def sex(self) -> str | None:
        return self._shared.record.patient.gender

    @property
    def birth_date(self) -> date | None:
        return self._shared.record.patient.birth_date

    @property
    def age_years(self) -> int | None:
        """Completed years at as_of (the birthday itself counts); None if unknown or born after
        as_of (a data error, not an age)."""
        born = self._shared.record.patient.birth_date
        if born is None:
            return None
        today = self.as_of.date()
        if born > today:
            return None
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def days_ago(self, when: datetime) -> int:
        """Whole calendar days (UTC) from `when` to as_of; negative for the future."""
        return days_between(when, self.as_of)

    def within(self, when: datetime | None, days: int) -> bool:
        """True when `when` is on or after `as_of` minus `days`, and not in the future."""
        if when is None:
            return False
        ago = self.days_ago(when)
        return 0 <= ago <= days

    # -- entries by value set ---------------------------------------------------------------

    def valueset(self, name: str) -> ValueSet:
        """A declared value set, for matching codings the record does not index (an
        Observation's coded answer, an Encounter's reason)."""
        self._note(name)
        return self._shared.terminology.valueset(name)

    def matches(self, name: str, codings: Iterable[Coding]) -> Coding | None:
        """The first of `codings` in a declared value set, as given."""
        return self.valueset(name).match(codings)

    def conditions_in(self, name: str) -> list[ConditionEntry]:
        self._note(name)
        return self._shared.conditions_in(name)

    def procedures_in(self, name: str) -> list[ProcedureEntry]:
        self._note(name)
        return self._shared.procedures_in(name)

    def medications_in(self, name: str) -> list[MedicationEntry]:
        """Medication entries (orders, statements, administrations, drafts) with an ingredient in
        a value set, whatever their status, in record order."""
        self._note(name)
        return self._shared.medications_in(name)

    def allergies_in(self, name: str) -> list[AllergyEntry]:
        self._note(name)
        return self._shared.allergies_in(name)

    def family_history_in(self, name: str) -> list[FamilyHistoryEntry]:
        self._note(name)
        return self._shared.family_history_in(name)

    def observations_in(self, name: str) -> list[ConditionEntry]:
        self._note(name)
        return self._shared.observations_in(name)

    def coded_observations_in(self, name: str) -> list[ConditionEntry]:
        self._note(name)
        return self._shared.coded_observations_in(name)

    def results_of(self, analyte: str) -> Sequence[LabEntry]:
        """Every usable result of an analyte (a value set name), newest first, undated last."""
        self._note(analyte)
        return self._shared.record.labs.get(analyte, ())

    @property
    def encounters(self) -> Sequence[EncounterEntry]:
        return self._shared.record.encounters

    # -- shared computations ----------------------------------------------------------------

    def memo(self, key: tuple[Any, ...], compute: Callable[[Facts], _T]) -> _T:
        """`compute(self)`, computed once per record and shared by every rule version of the call
        (e.g. the leg complaints every candidate-cause rule asks for). `key` must name the
        computation and its arguments (rule libraries use their module and function name). The
        value sets the computation read are remembered, and checked against each later reader's
        declaration, so sharing never hides an undeclared read."""
        stored = self._shared.memo.get(key)
        if stored is not None:
            value, reads = stored
            for name in reads:
                self._note(name)
            return value  # type: ignore[no-any-return]
        reads_now: set[str] = set()
        self._tracking.append(reads_now)
        try:
            result = compute(self)
        finally:
            self._tracking.pop()
        self._shared.memo[key] = (result, frozenset(reads_now))
        return result

    def _note(self, name: str) -> None:
        if name not in self._declared:
            who = f"{self._reader} " if self._reader else ""
            raise UndeclaredValueSet(
                f"{who}reads value set {name!r}, which it does not declare in `valuesets`"
            )
        self.read.add(name)
        for reads in self._tracking:
            reads.add(name)


# (system, code) of each coding as ValueSet.match reads them; None for a coding it skips. Two
# entries with the same key are in the same value sets: a long record codes the same few
# problems and procedures again and again, so each value set is asked once per distinct key.
_CodesKey = tuple[tuple[str, str] | None, ...]


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
