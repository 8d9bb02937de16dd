"""Which leg complaints point to a nerve or restlessness cause (§6, §7, §9).

§1.6 counts leg pain, cramp, restless legs and leg swelling as a leg complaint. Neuropathy
(§6, §9) and drug-induced restlessness (§7) explain pain, cramps, burning or an urge to move,
not a swollen leg, so these rules need a complaint of that kind: swelling alone does not
make a nerve cause a candidate.
"""

from __future__ import annotations

from cds.facts import Facts
from cds.record import ConditionEntry

# Value sets read here; rules that import this module list them in their own `valuesets`.
COMPLAINT_VALUESETS = ("leg-complaint", "leg-cramp-complaint", "restless-legs")


def pain_cramp_or_restless_complaints(facts: Facts) -> list[ConditionEntry]:
    """§1.6 complaints coded as leg pain or cramp (leg-cramp-complaint) or as restless legs."""
    return facts.complaints_in("leg-cramp-complaint") + facts.complaints_in("restless-legs")
