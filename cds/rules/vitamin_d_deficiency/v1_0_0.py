"""vitamin-d-deficiency 1.0.0: low 25-OH vitamin D as a contributor to muscle aches, cramps and
statin intolerance (clinical-content.md §15).

Deficiency (< 12 ng/mL) is a finding and fires on any chart; insufficiency (12-19 ng/mL) and a
coded deficiency without a result are candidate causes and need a leg complaint (§1.6).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion, Severity
from cds.rules.lib.cramp_labs.v1 import (
    STATIN_CONTEXT_VALUESETS,
    VITAMIN_D_DEFICIENT,
    VITAMIN_D_INSUFFICIENT,
    VITAMIN_D_WINDOW_DAYS,
    LowVitaminD,
    StatinMuscleContext,
)
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import VITAMIN_D_25OH, OrderSuggestion, order
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    MEDICATIONS,
    observations,
)
from cds.rules.lib.results.v1 import value_text
from cds.rules.lib.text.v1 import fit_summary, fmt

# The results it reads (its Observations, with the complaints).
RESULTS: tuple[str, ...] = ("vitamin-d-25oh",)


@dataclass(frozen=True)
class VitaminDDeficiency(RuleLogic, Library2026_11):
    """§15. Which result is low, and whether deficient (< 12 ng/mL) or insufficient (< 20), is
    the `cramp_labs` library's judgement (`low_vitamin_d`, 12-month look-back), shared with
    statin-muscle-symptoms so that both cards agree on what a low vitamin D is."""

    # A coded deficiency with any 25-OH D result this recent gives no card: measured, and the
    # result was not low. The library's look-back, so the two paths read the same results.
    result_window_days: int = VITAMIN_D_WINDOW_DAYS
    # How many coded deficiency entries the coded-without-result card lists.
    coded_conditions_shown: int = 2
    vitamin_d: OrderSuggestion = order(
        VITAMIN_D_25OH, "Statin muscle symptoms with low or unknown vitamin D"
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        low = self.low_vitamin_d(facts)
        supplements = self.active_medications(facts, "vitamin-d-supplements")
        if low is not None:
            return self.low_result(facts, low, supplements)
        return self.coded_without_result(facts, supplements)

    def low_result(
        self, facts: Facts, low: LowVitaminD, supplements: list[MedicationEntry]
    ) -> Finding | None:
        severity: Severity = "warning" if low.status == "deficient" else "info"
        if supplements:
            # Already being replaced: the deficiency is known, so it is no longer a finding.
            severity = "info"
        if severity == "info" and not self.has_leg_complaint(facts):
            return None  # §1.6: a candidate cause needs a leg complaint
        statin = self.statin_muscle_context(facts)
        on_statin = bool(self.active_medications(facts, "statins"))
        value = value_text(low.lab, 1)
        effect = "muscle aches and statin intolerance" if on_statin else "muscle aches and cramps"
        summary = f"25-OH vitamin D {value} ng/mL ({low.status}) may contribute to {effect}."
        cautions = list(self.low_confidence_cautions(supplements))
        if supplements:
            cautions.append(
                f"Vitamin D is already prescribed ({self.drug_names(supplements)}): the deficiency "
                "appears known; the result may predate replacement."
            )
        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=self.low_result_explanation(low),
            evidence=(
                self.vitamin_d_evidence(low.lab),
                *(self.medication_evidence(m) for m in supplements),
                *self.context_evidence(facts, statin),
            ),
            # §15: suggest 25-OH D only within §4 context; with a result on file, only as the
            # recheck after replacement.
            suggestions=(self.vitamin_d,) if statin is not None and supplements else (),
            cautions=tuple(cautions),
            involves_draft_order=self.involves_draft_order(supplements, statin),
            # A measured value, but a contributor rather than a sole cause.
            specificity=35 if severity == "warning" else 45,
        )

    def low_result_explanation(self, low: LowVitaminD) -> str:
        # The limit the result fell below, as `cramp_labs.low_vitamin_d` judged it.
        threshold = VITAMIN_D_DEFICIENT if low.status == "deficient" else VITAMIN_D_INSUFFICIENT
        return (
            f"25-OH vitamin D below {fmt(threshold, 1)} ng/mL is {low.status} (IOM 2011: < 12 "
            "ng/mL is the deficiency risk threshold; 20 ng/mL covers most people's bone "
            "health). Deficiency causes muscle aches and weakness and predisposes to "
            "statin-associated muscle symptoms."
        )

    def coded_without_result(
        self, facts: Facts, supplements: list[MedicationEntry]
    ) -> Finding | None:
        coded = self.coded_conditions(facts, "vitamin-d-deficiency")
        if not coded or not self.has_leg_complaint(facts):
            return None
        if self.lab_results(facts, "vitamin-d-25oh", within_days=self.result_window_days):
            return None  # measured and not low: the coded deficiency looks treated
        statin = self.statin_muscle_context(facts)
        treated = f", treated with {self.drug_names(supplements)}" if supplements else ""
        return Finding(
            severity="info",
            summary=fit_summary(
                f"Vitamin D deficiency on record{treated}, no 25-OH D result in 12 months: may "
                "contribute to muscle aches."
            ),
            explanation=(
                "Vitamin D deficiency is coded but no 25-OH vitamin D result is on record in the "
                "last 12 months. Deficiency causes muscle aches and predisposes to statin muscle "
                "symptoms. Routine testing is not advised without an indication (Endocrine "
                "Society 2024); statin muscle symptoms are one."
            ),
            evidence=(
                *(self.condition_evidence(c) for c in coded[: self.coded_conditions_shown]),
                *(self.medication_evidence(m) for m in supplements),
                *self.context_evidence(facts, statin),
            ),
            suggestions=(self.vitamin_d,) if statin is not None else (),
            cautions=self.low_confidence_cautions(supplements),
            involves_draft_order=self.involves_draft_order(supplements, statin),
            specificity=50,  # a coded diagnosis without a value
        )

    def context_evidence(self, facts: Facts, statin: StatinMuscleContext | None) -> list[Evidence]:
        """The statin and its muscle symptoms in §4 context, else the leg complaints."""
        if statin is not None:
            return [
                *(self.medication_evidence(m) for m in statin.statins),
                *self.complaint_evidence(statin.symptoms),
            ]
        return list(self.leg_complaint_evidence(facts))

    def involves_draft_order(
        self, supplements: list[MedicationEntry], statin: StatinMuscleContext | None
    ) -> bool:
        """A vitamin D supplement or a statin in §4 context is being ordered now."""
        statins = statin.statins if statin is not None else []
        return any(m.drafted for m in (*supplements, *statins))


LOGIC = VitaminDDeficiency()

RULE = RuleVersion(
    id="vitamin-d-deficiency",
    version="1.0.0",
    title="Vitamin D deficiency",
    severities=("info", "warning"),
    logic=LOGIC,
    requires=(*MEDICATIONS, observations(*RESULTS, "leg-complaint"), CONDITIONS, ENCOUNTERS),
    valuesets=(
        *RESULTS,
        "vitamin-d-deficiency",
        "vitamin-d-supplements",
        *STATIN_CONTEXT_VALUESETS,
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "IOM 2011 Dietary Reference Intakes for calcium and vitamin D; Holick et al., "
            "Endocrine Society guideline, J Clin Endocrinol Metab 2011; Demay et al., "
            "Endocrine Society guideline, J Clin Endocrinol Metab 2024"
        ),
        url="https://doi.org/10.1210/jc.2011-0385",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Look-back 12 months (none given; vitamin D status changes over months). nmol/L "
            "results are converted to ng/mL (÷ 2.496) before judging, so 30 nmol/L (12.02 "
            "ng/mL) is insufficient, not deficient. Censored results count when unambiguous "
            "('<8' is deficient). A vitamin D supplement on the medication list means the "
            "deficiency is known: the card drops to info (a candidate cause, needing a leg "
            "complaint) and says so. A coded deficiency with no result in 12 months gives an "
            "info card with a complaint; a result that is not low silences it. 25-OH D "
            "62292-8 is suggested only in §4 context (an active statin with a muscle or leg "
            "complaint): to recheck after replacement, or when no result is on record."
        ),
    ),
)
