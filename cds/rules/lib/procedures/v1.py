"""Procedures and hospital stays as rules read them (clinical-content.md §1.2, §10)."""

from __future__ import annotations

from cds.facts import Facts
from cds.fhirtime import days_between
from cds.record import EncounterEntry, ProcedureEntry
from cds.rules.lib.medications.v1 import Medications

# §1.2 inpatient stays: class codes (v3 ActCode) and the statuses of a stay still running.
INPATIENT_CLASSES = frozenset({"IMP", "ACUTE", "NONAC"})
STILL_ADMITTED_STATUSES = frozenset({"in-progress", "onleave", "arrived", "triaged"})


class Procedures(Medications):
    """Procedures and hospital stays (§1.2, §10)."""

    def procedures_within(self, facts: Facts, valueset: str, days: int) -> list[ProcedureEntry]:
        """Procedures in a value set done within `days`, newest first (undated ones never)."""
        return sorted(
            (p for p in facts.procedures_in(valueset) if facts.within(p.end or p.start, days)),
            key=lambda p: p.end or p.start or facts.as_of,
            reverse=True,
        )

    def inpatient_stays(
        self, facts: Facts, *, min_days: int, ended_within_days: int
    ) -> list[EncounterEntry]:
        """Inpatient encounters (class IMP) of at least `min_days`, ended within the window.
        §1.2: the record's proxy for "bedridden ≥ 3 days". Length is counted in calendar days
        (midnights), as a length of stay is. A stay without an end counts as running to as_of
        only while its status says the patient is still admitted: a finished stay whose end
        was not recorded has an unknown length, and must not become a stay of years."""
        stays = []
        for e in facts.encounters:
            if e.class_code not in INPATIENT_CLASSES or e.start is None:
                continue
            if facts.days_ago(e.start) < 0:
                continue  # planned, not begun
            end = e.end
            if end is None:
                if e.status not in STILL_ADMITTED_STATUSES:
                    continue
                end = facts.as_of
            elif end > facts.as_of:
                end = facts.as_of  # still admitted: the stay so far
            if days_between(e.start, end) >= min_days and facts.within(end, ended_within_days):
                stays.append(e)
        return stays
