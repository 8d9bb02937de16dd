"""Leg complaints on record (clinical-content.md §1.6), by kind, and how a card lists them.

A complaint is an active Condition, or a Condition, Observation or Encounter reason of the last
90 days, coded as leg pain, cramp, restless legs or leg swelling. Candidate-cause cards need
one. Some causes explain only some kinds: a nerve cause explains pain, cramps or restlessness
but not a swollen leg; a clot presents as pain or swelling. Rules ask for those kinds here, so
that every rule means the same by "a pain or cramp complaint".
"""

from __future__ import annotations

from collections.abc import Sequence

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.base import Evidence
from cds.rules.lib.conditions.v1 import ACTIVE_CLINICAL_STATUSES
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.procedures.v1 import Procedures

# §1.6: a complaint recorded this recently counts even if no longer active.
COMPLAINT_WINDOW_DAYS = 90

# Value sets of §1.6 complaint kinds (cds/terminology/VALUESETS.md).
ANY_LEG_COMPLAINT = "leg-complaint"
PAIN_OR_CRAMP = "leg-cramp-complaint"
RESTLESS_LEGS = "restless-legs"
SWELLING = "leg-swelling"
UNILATERAL_SWELLING = "unilateral-leg-swelling"
# What rules that read these kinds list in their own `valuesets`.
COMPLAINT_VALUESETS: tuple[str, ...] = (
    ANY_LEG_COMPLAINT,
    PAIN_OR_CRAMP,
    SWELLING,
    UNILATERAL_SWELLING,
)
PAIN_CRAMP_OR_RESTLESS_VALUESETS: tuple[str, ...] = (
    ANY_LEG_COMPLAINT,
    PAIN_OR_CRAMP,
    RESTLESS_LEGS,
)
# How many complaint entries a card lists: enough to show what was found, not a wall.
COMPLAINTS_SHOWN = 2


class Complaints(Procedures):
    """Leg complaints on record (§1.6), by kind, and how a card lists them."""

    def leg_complaints(self, facts: Facts) -> list[ConditionEntry]:
        """Every §1.6 complaint on record (computed once per call, shared by the rules)."""
        return facts.memo(
            (__name__, "leg_complaints", type(self)._leg_complaints), self._leg_complaints
        )

    def _leg_complaints(self, facts: Facts) -> list[ConditionEntry]:
        found = [
            c
            for c in facts.conditions_in(ANY_LEG_COMPLAINT)
            if (
                c.clinical_status in ACTIVE_CLINICAL_STATUSES
                or facts.within(c.onset or c.recorded, COMPLAINT_WINDOW_DAYS)
            )
        ]
        found += [
            o
            for o in facts.observations_in(ANY_LEG_COMPLAINT)
            if facts.within(o.onset, COMPLAINT_WINDOW_DAYS)
        ]
        for encounter in facts.encounters:
            if not encounter.reason_codings:
                continue
            matched = facts.matches(ANY_LEG_COMPLAINT, encounter.reason_codings)
            if matched is not None and facts.within(encounter.start, COMPLAINT_WINDOW_DAYS):
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

    def has_leg_complaint(self, facts: Facts) -> bool:
        return bool(self.leg_complaints(facts))

    def complaints_in(self, facts: Facts, valueset: str) -> list[ConditionEntry]:
        """The complaints on record of one kind (a value set narrower than leg-complaint)."""
        return [
            c for c in self.leg_complaints(facts) if facts.matches(valueset, c.codings) is not None
        ]

    def pain_or_cramp_complaints(self, facts: Facts) -> list[ConditionEntry]:
        """Leg pain or cramp on record (§1.6): restless legs or swelling alone are not pain."""
        return self.complaints_in(facts, PAIN_OR_CRAMP)

    def pain_cramp_or_restless_complaints(self, facts: Facts) -> list[ConditionEntry]:
        """Leg pain, cramp or restless legs: what a nerve cause (§6, §9) or drug-induced
        restlessness (§7) explains. A swollen leg alone does not make them candidates."""
        return unique_by_reference(
            [*self.complaints_in(facts, PAIN_OR_CRAMP), *self.complaints_in(facts, RESTLESS_LEGS)]
        )

    def pain_or_swelling_complaints(self, facts: Facts) -> list[ConditionEntry]:
        """Leg pain, cramp or swelling on record. §1.6: a suspected clot presents as pain or
        swelling, so restless legs alone do not count."""
        return unique_by_reference(
            [*self.complaints_in(facts, PAIN_OR_CRAMP), *self.complaints_in(facts, SWELLING)]
        )

    def swelling_complaints(self, facts: Facts) -> list[ConditionEntry]:
        """Leg swelling (either or both legs) coded as a complaint on record."""
        return self.complaints_in(facts, SWELLING)

    def unilateral_swelling(self, facts: Facts) -> list[ConditionEntry]:
        """Swelling of one lower limb coded (R22.41 / R22.42) as a complaint on record."""
        return self.complaints_in(facts, UNILATERAL_SWELLING)

    def complaint_evidence(
        self, complaints: Sequence[ConditionEntry], what: str = "Leg complaint"
    ) -> tuple[Evidence, ...]:
        """The first COMPLAINTS_SHOWN complaints as evidence lines (`what` labels an entry that
        has no wording of its own)."""
        return tuple(self.condition_evidence(c, what) for c in complaints[:COMPLAINTS_SHOWN])

    def leg_complaint_evidence(self, facts: Facts) -> tuple[Evidence, ...]:
        """The leg complaints on record as a card lists them (the first COMPLAINTS_SHOWN)."""
        return self.complaint_evidence(self.leg_complaints(facts))
