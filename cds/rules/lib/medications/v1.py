"""Which medications count as taken now, or recently (clinical-content.md §1.2, §19).

- Active: an order or statement whose status is active or on-hold, unless it has ended more
  than the grace period ago; a drafted order of order-select/order-sign (it is being ordered);
  a completed or stopped one that ended within the grace period (or, for an administration
  without an end, was given within it).
- Exposure within a window (e.g. chemotherapy in 12 months): active, or last given or ordered
  within the window; an order still in draft in the chart, or an intended statement, is not
  exposure.
"""

from __future__ import annotations

from collections.abc import Iterable

from cds.facts import Facts
from cds.record import AllergyEntry, MedicationEntry
from cds.rules.lib.conditions.v1 import Conditions

# §19 default: a medication that ended this recently still counts as active.
MEDICATION_GRACE_DAYS = 30
ACTIVE_MEDICATION_STATUSES = frozenset({"active", "on-hold"})
ENDED_MEDICATION_STATUSES = frozenset({"completed", "stopped"})
# Ordered or noted, but not (yet) started: never exposure (a drafted order is handled apart).
NOT_STARTED_MEDICATION_STATUSES = frozenset({"draft", "intended"})
# An allergy or intolerance record that still stands (no status: as recorded).
CURRENT_ALLERGY_STATUSES = frozenset({None, "active"})


class Medications(Conditions):
    """Which medications count as taken now or recently (§1.2, §19)."""

    def is_active(
        self, facts: Facts, med: MedicationEntry, *, grace_days: int = MEDICATION_GRACE_DAYS
    ) -> bool:
        """§1.2: active, a draft order, or ended within the grace period."""
        if med.drafted:
            return True
        if med.status in ACTIVE_MEDICATION_STATUSES:
            return med.end is None or facts.days_ago(med.end) <= grace_days
        if med.status in ENDED_MEDICATION_STATUSES:
            ended = med.end or (med.start if med.administered else None)
            return ended is not None and 0 <= facts.days_ago(ended) <= grace_days
        return False

    def active_medications(self, facts: Facts, valueset: str) -> list[MedicationEntry]:
        """Medications with an ingredient in the value set that count as active, in record order."""
        return [m for m in facts.medications_in(valueset) if self.is_active(facts, m)]

    def medications_within(self, facts: Facts, valueset: str, days: int) -> list[MedicationEntry]:
        """Ordered, taken or administered within `days` (e.g. chemotherapy in 12 months)."""
        found = []
        for med in facts.medications_in(valueset):
            if med.status in NOT_STARTED_MEDICATION_STATUSES and not med.drafted:
                continue
            last = med.end or med.start
            if self.is_active(facts, med) or (last is not None and facts.within(last, days)):
                found.append(med)
        return found

    def drafted(self, meds: Iterable[MedicationEntry]) -> list[MedicationEntry]:
        """The drafted orders among `meds` (order-select / order-sign)."""
        return [m for m in meds if m.drafted]

    def active_allergies_to(self, facts: Facts, valueset: str) -> list[AllergyEntry]:
        """Allergy or intolerance records to an ingredient in the value set that still stand."""
        return [
            a for a in facts.allergies_in(valueset) if a.clinical_status in CURRENT_ALLERGY_STATUSES
        ]

    def allergies_to(self, facts: Facts, valueset: str) -> list[str]:
        """References of `active_allergies_to`."""
        return [a.reference for a in self.active_allergies_to(facts, valueset)]
