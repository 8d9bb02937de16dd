"""Which medications count as taken now, or recently: clinical-content.md §1.2 and §19 as
§22.2 c and d settle them (release 2026.12).

Changes from v1:
- An order counts only with an ordering intent: order, original-order, reflex-order,
  filler-order, instance-order or plan (never proposal, option or directive) (§22.2 c).
- A statement counts while active (not on-hold) (§22.2 c).
- When therapy ends (§22.2 d): `dispenseRequest.validityPeriod` is the dispensing window, never
  the end of therapy, so an active order stays active after it. Therapy ends at the order's
  `dosageInstruction.timing.repeat.boundsPeriod.end` or the statement's `effectivePeriod.end`;
  an active order whose therapy ended more than the grace period ago is not active. A stopped
  or completed one counts for the grace period after its therapy end, or, with no end
  recorded, after it was ordered (authoredOn) or asserted (dateAsserted).
"""

from __future__ import annotations

from datetime import datetime

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules.lib.medications.v1 import (
    ENDED_MEDICATION_STATUSES,
    MEDICATION_GRACE_DAYS,
    NOT_STARTED_MEDICATION_STATUSES,
    Medications,
)

ACTIVE_ORDER_STATUSES = frozenset({"active", "on-hold"})
ACTIVE_STATEMENT_STATUSES = frozenset({"active"})
ORDERING_INTENTS = frozenset(
    {"order", "original-order", "reflex-order", "filler-order", "instance-order", "plan"}
)
REQUEST = "MedicationRequest/"
STATEMENT = "MedicationStatement/"


class MedicationsV2(Medications):
    """Which medications count as taken now or recently, as §22.2 c and d settle it."""

    def is_active(
        self, facts: Facts, med: MedicationEntry, *, grace_days: int = MEDICATION_GRACE_DAYS
    ) -> bool:
        """§22.2 c, d: taken now, being ordered now, or stopped within the grace period."""
        if med.drafted:
            return True
        if med.administered:
            given = med.end or med.start
            return given is not None and 0 <= facts.days_ago(given) <= grace_days
        if med.reference.startswith(REQUEST) and med.intent not in ORDERING_INTENTS:
            return False
        running = (
            ACTIVE_ORDER_STATUSES
            if med.reference.startswith(REQUEST)
            else ACTIVE_STATEMENT_STATUSES
        )
        if med.status in running:
            return med.therapy_end is None or facts.days_ago(med.therapy_end) <= grace_days
        if med.status in ENDED_MEDICATION_STATUSES:
            ended = med.therapy_end or med.authored
            return ended is not None and 0 <= facts.days_ago(ended) <= grace_days
        return False

    def last_taken(self, med: MedicationEntry) -> datetime | None:
        """When a medication was last taken as far as the record says: its therapy end, else when it
        was given, ordered or started (used for exposure within a window)."""
        if med.administered:
            return med.end or med.start
        return med.therapy_end or med.start or med.authored

    def medications_within(self, facts: Facts, valueset: str, days: int) -> list[MedicationEntry]:
        """Ordered, taken or administered within `days` (e.g. chemotherapy in 12 months); a draft in
        the chart, an intended statement or a proposal is not exposure."""
        found = []
        for med in facts.medications_in(valueset):
            if med.status in NOT_STARTED_MEDICATION_STATUSES and not med.drafted:
                continue
            proposed = med.reference.startswith(REQUEST) and med.intent not in ORDERING_INTENTS
            if proposed and not med.drafted:
                continue
            last = self.last_taken(med)
            if self.is_active(facts, med) or (last is not None and facts.within(last, days)):
                found.append(med)
        return found
