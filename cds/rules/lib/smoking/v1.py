"""Whether the patient smokes now (clinical-content.md §12, §8 as §22.2 f settles it).

A current smoker is an active Condition in `smoker`, or a smoking-status Observation (LOINC
72166-2) whose coded answer is in `smoker`. The newest of the two decides: a smoking-status
answer outside `smoker` (an ex-smoker, a never-smoker) recorded after the smoker Condition
means the patient no longer smokes, and a smoker Condition recorded after such an answer means
they smoke again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cds.facts import Facts
from cds.rules.lib.conditions.v1 import Conditions

SMOKER = "smoker"
SMOKING_STATUS = "smoking-status"
SMOKING_VALUESETS: tuple[str, ...] = (SMOKER, SMOKING_STATUS)


@dataclass(frozen=True)
class SmokingRecord:
    """The record that shows the patient smokes now."""

    reference: str
    display: str
    when: datetime | None


class Smoking(Conditions):
    """Whether the patient smokes now (§22.2 f)."""

    def current_smoker(self, facts: Facts) -> SmokingRecord | None:
        conditions = [
            SmokingRecord(c.reference, c.display or "Tobacco use", c.onset or c.recorded)
            for c in self.coded_conditions(facts, SMOKER)
        ]
        newest_condition = max(conditions, key=_when, default=None)
        answer = next((a for a in self.lab_results(facts, SMOKING_STATUS) if a.value_codings), None)
        if answer is None:
            return newest_condition
        says = facts.matches(SMOKER, answer.value_codings)
        if says is not None:
            # The answer's wording: the record's, else the verified code list's (the
            # Observation's own display names the question, "Tobacco smoking status").
            text = str(
                says.get("display") or facts.valueset(SMOKER).display_of(says) or "Current smoker"
            )
            return SmokingRecord(answer.reference, text, answer.effective)
        if newest_condition is not None and _when(newest_condition) > _when_answer(
            answer.effective
        ):
            return newest_condition
        return None


# An undated record is older than any dated one.
_UNDATED = datetime.min.replace(tzinfo=UTC)


def _when(smoking: SmokingRecord) -> datetime:
    return smoking.when or _UNDATED


def _when_answer(when: datetime | None) -> datetime:
    return when or _UNDATED
