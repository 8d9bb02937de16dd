"""Whether the patient is pregnant now (clinical-content.md §13), from explicit evidence only:
a pregnancy-status answer or a pregnancy Condition, never sex or age.

- The newest evidence decides: a "not pregnant" (or any other) status answer newer than a
  pregnancy Condition ends it, and a Condition newer than that answer starts one.
- Evidence goes stale: a "pregnant" answer after 280 days, a Condition 300 days after its
  onset (or its recording, when there is no onset). An undated pregnancy Condition is not
  evidence of a pregnancy now: problem lists keep pregnancies nobody resolved. An abated
  Condition is over.
- A delivery procedure on or after the evidence ends that pregnancy.
- The gestational age is the latest measurement within 60 days (not one from before a
  delivery), advanced to as_of; beyond 42 weeks (post-term pregnancies are induced by then) the
  pregnancy it measured has ended, whether or not a delivery was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cds.facts import Facts
from cds.rules.lib.complaints.v1 import Complaints

# A pregnancy lasts at most ~42 weeks (294 days) from the last menstrual period.
PREGNANCY_STATUS_WINDOW_DAYS = 280
PREGNANCY_CONDITION_WINDOW_DAYS = 300
GESTATIONAL_AGE_WINDOW_DAYS = 60
# A gestational age advanced to as_of beyond this: the pregnancy has ended.
PREGNANCY_ENDED_AFTER_WEEKS = 42.0
# Value sets read here; rules that ask about pregnancy list them in their own `valuesets`.
PREGNANCY_VALUESETS: tuple[str, ...] = (
    "pregnancy",
    "pregnancy-status",
    "gestational-age",
    "delivery",
)


@dataclass(frozen=True, slots=True)
class Pregnancy:
    evidence: str  # reference of the resource that shows it
    gestational_weeks: float | None  # advanced to as_of
    when: datetime | None  # when the evidence shows it (onset, or the status answer)


class Pregnancies(Complaints):
    """Whether the patient is pregnant now (§13)."""

    def current_pregnancy(
        self, facts: Facts, *, ended_after_weeks: float = PREGNANCY_ENDED_AFTER_WEEKS
    ) -> Pregnancy | None:
        """A pregnancy still running at as_of (see the module's rules), or None."""
        pregnancy = facts.memo((__name__, "pregnancy", type(self)._pregnancy), self._pregnancy)
        if pregnancy is None:
            return None
        weeks = pregnancy.gestational_weeks
        if weeks is not None and weeks > ended_after_weeks:
            return None
        return pregnancy

    def _pregnancy(self, facts: Facts) -> Pregnancy | None:
        deliveries = [
            done
            for p in facts.procedures_in("delivery")
            if (done := p.end or p.start) is not None and facts.days_ago(done) >= 0
        ]
        evidence = self._newest_pregnancy_evidence(facts)
        if evidence is None:
            return None
        when, reference = evidence
        if any(done >= when for done in deliveries):
            return None
        last_delivery = max(deliveries, default=None)
        weeks: float | None = None
        for lab in self.lab_results(
            facts, "gestational-age", within_days=GESTATIONAL_AGE_WINDOW_DAYS
        ):
            if lab.value is None or lab.effective is None:
                continue
            if last_delivery is None or lab.effective > last_delivery:
                weeks = lab.value + facts.days_ago(lab.effective) / 7
            break  # the newest measurement only
        return Pregnancy(reference, weeks, when)

    def _newest_pregnancy_evidence(self, facts: Facts) -> tuple[datetime, str] | None:
        """(when, reference) of the newest evidence if it says pregnant; None otherwise."""
        # (time the evidence was asserted, is a status answer, says pregnant, shown time, ref)
        candidates: list[tuple[datetime, bool, bool, datetime, str]] = []
        for answer in self.lab_results(
            facts, "pregnancy-status", within_days=PREGNANCY_STATUS_WINDOW_DAYS
        ):
            if answer.value_codings and answer.effective is not None:  # the newest answer only
                says = facts.matches("pregnancy", answer.value_codings) is not None
                candidates.append(
                    (answer.effective, True, says, answer.effective, answer.reference)
                )
                break
        for condition in self.coded_conditions(facts, "pregnancy"):
            began = condition.onset or condition.recorded
            if began is None or not facts.within(began, PREGNANCY_CONDITION_WINDOW_DAYS):
                continue
            if condition.abatement is not None and facts.days_ago(condition.abatement) >= 0:
                continue
            asserted = max(t for t in (condition.onset, condition.recorded) if t is not None)
            candidates.append((asserted, False, True, began, condition.reference))
        if not candidates:
            return None
        # Newest first; on the same moment the status answer (an explicit check) wins.
        _, _, pregnant, when, reference = max(candidates, key=lambda c: (c[0], c[1]))
        return (when, reference) if pregnant else None
