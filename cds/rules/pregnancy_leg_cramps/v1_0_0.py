"""pregnancy-leg-cramps 1.0.0: pregnant at 14 weeks or more with leg pain, cramps or swelling on
record: cramps are common in the second and third trimesters, and a swollen leg needs a DVT
check (clinical-content.md §13).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.lib.complaints.v1 import COMPLAINT_VALUESETS
from cds.rules.lib.electrolytes.v1 import ELECTROLYTE_WINDOW_DAYS, MG_LOW
from cds.rules.lib.evidence.v1 import unique_evidence
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import MAGNESIUM, OrderSuggestion, order
from cds.rules.lib.pregnancy.v1 import PREGNANCY_VALUESETS
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    PROCEDURES,
    observations,
)
from cds.rules.lib.text.v1 import fit_summary


@dataclass(frozen=True)
class PregnancyLegCramps(RuleLogic, Library2026_11):
    """§13. The pregnancy, its end and its gestational age are the `pregnancy` library's."""

    second_trimester_weeks: float = 14.0  # ACOG: second trimester 14 0/7 to 27 6/7 weeks
    third_trimester_weeks: float = 28.0
    lab_window_days: int = ELECTROLYTE_WINDOW_DAYS  # §2 look-back for the magnesium and calcium
    magnesium_low: float = MG_LOW  # mmol/L, the §2 default when the lab gives no range
    magnesium_order: OrderSuggestion = order(MAGNESIUM, "If the cramps are severe")
    dvt_caution: str = (
        "Pregnancy and the weeks after birth raise DVT risk: a swollen, painful or one-sided leg "
        "needs DVT assessment, not reassurance about cramps."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        # Explicit evidence only (§13): never inferred from sex or age; ended pregnancies dropped.
        pregnancy = self.current_pregnancy(facts)
        if pregnancy is None or pregnancy.gestational_weeks is None:
            return None  # the trimester cannot be told without a gestational age
        weeks = pregnancy.gestational_weeks
        if weeks < self.second_trimester_weeks:
            return None
        complaints = self.pain_or_swelling_complaints(facts)
        if not complaints:
            return None  # a candidate cause (§1.6)
        shown_weeks = int(weeks)  # completed weeks, as gestational age is spoken
        trimester = "second" if weeks < self.third_trimester_weeks else "third"
        summary = self.summary(shown_weeks, one_leg_swollen=bool(self.unilateral_swelling(facts)))
        evidence: list[Evidence] = [
            Evidence(
                label="Pregnancy",
                value=(
                    f"{shown_weeks} weeks ({trimester} trimester), gestational age advanced to "
                    "today"
                ),
                when=pregnancy.when,
                reference=pregnancy.evidence,
            )
        ]
        magnesium = self.latest_lab(facts, "magnesium", within_days=self.lab_window_days)
        calcium = self.latest_lab(facts, "calcium-total", within_days=self.lab_window_days)
        labs_note = ""
        if magnesium is not None:
            evidence.append(self.lab_evidence(magnesium, "Magnesium", "mmol/L"))
            if self.is_low(magnesium, self.magnesium_low):
                labs_note += " The latest magnesium is low and may add to the cramps."
        if calcium is not None:
            evidence.append(self.lab_evidence(calcium, "Calcium, total", "mg/dL", 1))
            # No default limit: only the lab's own flag or range calls a total calcium low.
            if self.is_low(calcium):
                labs_note += " The latest total calcium is below the lab's range."
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=(
                f"The record shows a pregnancy at about {shown_weeks} weeks ({trimester} "
                "trimester). Leg cramps, often at night, are common in the second and third "
                f"trimesters.{labs_note} Pregnancy also raises the risk of deep-vein thrombosis, "
                "so a leg that is swollen, warm or painful on one side needs DVT assessment first."
            ),
            evidence=unique_evidence((*evidence, *self.complaint_evidence(complaints))),
            suggestions=(self.magnesium_order,) if magnesium is None else (),
            cautions=(self.dvt_caution,),
            # A physiological explanation specific to this patient, but common and benign:
            # ranked after the drug, electrolyte and vascular cards.
            specificity=40,
        )

    def summary(self, shown_weeks: int, *, one_leg_swollen: bool) -> str:
        if one_leg_swollen:
            return (
                f"Pregnant at {shown_weeks} weeks with one leg swollen on record: assess for DVT; "
                "leg cramps are also common in pregnancy."
            )
        return (
            f"Pregnant at {shown_weeks} weeks: night leg cramps are common in mid/late "
            "pregnancy; check for DVT if one leg swells."
        )


LOGIC = PregnancyLegCramps()

RULE = RuleVersion(
    id="pregnancy-leg-cramps",
    version="1.0.0",
    title="Leg cramps in the second or third trimester of pregnancy",
    severities=("info",),
    logic=LOGIC,
    requires=(
        CONDITIONS,
        ENCOUNTERS,
        PROCEDURES,
        observations("pregnancy-status", "gestational-age", "magnesium", "calcium-total"),
    ),
    valuesets=(
        *PREGNANCY_VALUESETS,
        "magnesium",
        "calcium-total",
        *COMPLAINT_VALUESETS,
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "ACOG Committee Opinion 700, Methods for Estimating the Due Date (2017), gestational "
            "age and trimester definitions; US Core pregnancy status (LOINC 82810-3)"
        ),
        url="https://doi.org/10.1097/AOG.0000000000002046",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Pregnancy only from explicit evidence (Facts.pregnancy: pregnancy-status answer or "
            "a pregnancy Condition), never sex or age. Gestational age is required: without it "
            "the trimester is unknown and no card is shown (dvt-risk still lists the pregnancy). "
            "Fires from 14 0/7 weeks; a gestational age above 42 weeks, or a delivery procedure "
            "after the pregnancy evidence, means the pregnancy has ended and no card is shown. "
            "A candidate cause (§1.6): needs leg pain, cramp or swelling on record (restless "
            "legs in pregnancy belong to rls-secondary-causes). Every card says to check for "
            "DVT; with a one-sided swelling code the summary leads with it. Magnesium 19123-9 "
            "is suggested, for severe cramps, only when no magnesium result is on record within "
            "90 days; the latest magnesium and total calcium are shown when present. The "
            "positive pregnancy test of §13 is not read (no value set)."
        ),
    ),
)
