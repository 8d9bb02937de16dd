"""Pregnancy and childbirth (clinical-content.md §13, §10 as §22.2 i and l settle them).

Changes from v1: childbirth includes a cesarean birth (§22.2 i: `cesarean` besides `delivery`),
and how long ago the patient gave birth is asked here, for the postpartum risk factor (§22.2 l:
up to 12 weeks, highest in the first 6). Whether she is pregnant now is v1's question, answered
the same way (one definition of when a pregnancy has ended).
"""

from __future__ import annotations

from cds.facts import Facts
from cds.record import ProcedureEntry
from cds.rules.lib.pregnancy.v1 import (
    PREGNANCY_ENDED_AFTER_WEEKS,
    PREGNANCY_VALUESETS,
    Pregnancies,
    Pregnancy,
)

__all__ = [
    "CHILDBIRTH_VALUESETS",
    "PREGNANCY_ENDED_AFTER_WEEKS",
    "PREGNANCY_VALUESETS",
    "PregnanciesV2",
    "Pregnancy",
]

CHILDBIRTH_VALUESETS: tuple[str, ...] = ("delivery", "cesarean")


class PregnanciesV2(Pregnancies):
    """Pregnancy and childbirth, with cesarean births and weeks since childbirth (§22.2 i, l)."""

    def last_childbirth(self, facts: Facts, *, within_days: int) -> ProcedureEntry | None:
        """The newest delivery or cesarean birth within `within_days`, if any."""
        births = [
            birth
            for valueset in CHILDBIRTH_VALUESETS
            for birth in self.procedures_within(facts, valueset, within_days)
        ]
        return max(births, key=lambda p: p.end or p.start or facts.as_of, default=None)

    def weeks_ago(self, facts: Facts, procedure: ProcedureEntry) -> int:
        """Completed weeks since the procedure (0 in its first week)."""
        when = procedure.end or procedure.start
        return facts.days_ago(when) // 7 if when is not None else 0
