"""Leg complaints (§1.6) by kind, and how a card lists them.

`Facts.leg_complaints` is every §1.6 complaint (leg pain, cramp, restless legs or swelling) and
is what candidate-cause cards need. Some causes explain only some kinds: a nerve cause explains
pain, cramps or restlessness but not a swollen leg, a clot presents as pain or swelling. Rules
ask for those kinds here (never `Facts.complaints_in` with a value-set name of their own), so
that every rule means the same by "a pain or cramp complaint".
"""

from __future__ import annotations

from collections.abc import Sequence

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.base import Evidence
from cds.rules.common import condition_evidence, unique_by_reference

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


def pain_or_cramp_complaints(facts: Facts) -> list[ConditionEntry]:
    """Leg pain or cramp on record (§1.6): restless legs or swelling alone are not pain."""
    return facts.complaints_in(PAIN_OR_CRAMP)


def pain_cramp_or_restless_complaints(facts: Facts) -> list[ConditionEntry]:
    """Leg pain, cramp or restless legs: what a nerve cause (§6, §9) or drug-induced
    restlessness (§7) explains. A swollen leg alone does not make them candidates."""
    return unique_by_reference(
        [*facts.complaints_in(PAIN_OR_CRAMP), *facts.complaints_in(RESTLESS_LEGS)]
    )


def pain_or_swelling_complaints(facts: Facts) -> list[ConditionEntry]:
    """Leg pain, cramp or swelling on record. §1.6: a suspected clot presents as pain or
    swelling, so restless legs alone do not count."""
    return unique_by_reference(
        [*facts.complaints_in(PAIN_OR_CRAMP), *facts.complaints_in(SWELLING)]
    )


def swelling_complaints(facts: Facts) -> list[ConditionEntry]:
    """Leg swelling (either or both legs) coded as a complaint on record."""
    return facts.complaints_in(SWELLING)


def unilateral_swelling(facts: Facts) -> list[ConditionEntry]:
    """Swelling of one lower limb coded (R22.41 / R22.42) as a complaint on record."""
    return facts.complaints_in(UNILATERAL_SWELLING)


def complaint_evidence(
    complaints: Sequence[ConditionEntry], what: str = "Leg complaint"
) -> tuple[Evidence, ...]:
    """The first COMPLAINTS_SHOWN complaints as evidence lines (`what` labels an entry that
    has no wording of its own)."""
    return tuple(condition_evidence(c, what) for c in complaints[:COMPLAINTS_SHOWN])
