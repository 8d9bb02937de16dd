"""Which coded conditions count (clinical-content.md §1.2).

Active: clinical status active, recurrence or relapse; a Condition without a clinical status
(FHIR allows it when unconfirmed) counts as active only while it has not abated. History adds
inactive, remission and resolved. The record has already dropped refuted and entered-in-error
Conditions.
"""

from __future__ import annotations

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.lib.results.v1 import Results

ACTIVE_CLINICAL_STATUSES = frozenset({"active", "recurrence", "relapse"})
HISTORY_CLINICAL_STATUSES = ACTIVE_CLINICAL_STATUSES | {"inactive", "remission", "resolved"}


class Conditions(Results):
    """Which coded conditions count (§1.2)."""

    def coded_conditions(
        self, facts: Facts, valueset: str, *, include_history: bool = False
    ) -> list[ConditionEntry]:
        """Conditions in a value set: active (or, with include_history, also resolved)."""
        statuses = HISTORY_CLINICAL_STATUSES if include_history else ACTIVE_CLINICAL_STATUSES
        return [
            c
            for c in facts.conditions_in(valueset)
            if c.clinical_status in statuses or (c.clinical_status is None and c.abatement is None)
        ]

    def has_condition(self, facts: Facts, valueset: str, *, include_history: bool = False) -> bool:
        return bool(self.coded_conditions(facts, valueset, include_history=include_history))

    def conditions_within(self, facts: Facts, valueset: str, days: int) -> list[ConditionEntry]:
        """Conditions in a value set with onset or recording within `days`, whatever status."""
        return [
            c for c in facts.conditions_in(valueset) if facts.within(c.onset or c.recorded, days)
        ]

    def family_history_of(self, facts: Facts, valueset: str) -> list[str]:
        """References of family history records naming a condition in the value set."""
        return [f.reference for f in facts.family_history_in(valueset)]
