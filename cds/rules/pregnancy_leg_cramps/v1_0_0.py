"""pregnancy-leg-cramps 1.0.0: pregnant at 14 weeks or more with leg pain, cramps or swelling on
record: cramps are common in the second and third trimesters, and a swollen leg needs a DVT
check (clinical-content.md §13).
"""

from __future__ import annotations

from cds.facts import Facts
from cds.rules._leg_context import (
    COMPLAINT_VALUESETS,
    complaint_evidence,
    pain_or_swelling_complaints,
    unilateral_swelling,
)
from cds.rules._pregnancy import PREGNANCY_VALUESETS, current_pregnancy
from cds.rules.base import DataRequirement, Evidence, Finding, OrderSuggestion, Provenance, Rule
from cds.rules.common import (
    ELECTROLYTE_WINDOW_DAYS,
    MG_LOW,
    fit_summary,
    lab_evidence,
    unique_evidence,
)

RULE_ID = "pregnancy-leg-cramps"
VERSION = "1.0.0"

SECOND_TRIMESTER_WEEKS = 14.0  # ACOG: second trimester 14 0/7 to 27 6/7 weeks
THIRD_TRIMESTER_WEEKS = 28.0
LAB_WINDOW_DAYS = ELECTROLYTE_WINDOW_DAYS  # §2 look-back for the magnesium and calcium shown

MAGNESIUM = OrderSuggestion("Magnesium, serum", "19123-9", "If the cramps are severe")

DVT_CHECK = (
    "Pregnancy and the weeks after birth raise DVT risk: a swollen, painful or one-sided leg "
    "needs DVT assessment, not reassurance about cramps."
)


def evaluate(facts: Facts) -> Finding | None:
    # Explicit evidence only (§13): never inferred from sex or age; ended pregnancies dropped.
    pregnancy = current_pregnancy(facts)
    if pregnancy is None or pregnancy.gestational_weeks is None:
        return None  # the trimester cannot be told without a gestational age
    weeks = pregnancy.gestational_weeks
    if weeks < SECOND_TRIMESTER_WEEKS:
        return None
    complaints = pain_or_swelling_complaints(facts)
    if not complaints:
        return None  # a candidate cause (§1.6)
    shown_weeks = int(weeks)  # completed weeks, as gestational age is spoken
    trimester = "second" if weeks < THIRD_TRIMESTER_WEEKS else "third"
    swollen = unilateral_swelling(facts)
    if swollen:
        summary = (
            f"Pregnant at {shown_weeks} weeks with one leg swollen on record: assess for DVT; "
            "leg cramps are also common in pregnancy."
        )
    else:
        summary = (
            f"Pregnant at {shown_weeks} weeks: night leg cramps are common in mid/late "
            "pregnancy; check for DVT if one leg swells."
        )
    evidence: list[Evidence] = [
        Evidence(
            label="Pregnancy",
            value=f"{shown_weeks} weeks ({trimester} trimester), gestational age advanced to today",
            when=pregnancy.when,
            reference=pregnancy.evidence,
        )
    ]
    magnesium = facts.latest_lab("magnesium", within_days=LAB_WINDOW_DAYS)
    calcium = facts.latest_lab("calcium-total", within_days=LAB_WINDOW_DAYS)
    labs_note = ""
    if magnesium is not None:
        evidence.append(lab_evidence(magnesium, "Magnesium", "mmol/L"))
        if facts.is_low(magnesium, MG_LOW):
            labs_note += " The latest magnesium is low and may add to the cramps."
    if calcium is not None:
        evidence.append(lab_evidence(calcium, "Calcium, total", "mg/dL", 1))
        if facts.is_low(calcium):
            labs_note += " The latest total calcium is below the lab's range."
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity="info",
        summary=fit_summary(summary),
        explanation=(
            f"The record shows a pregnancy at about {shown_weeks} weeks ({trimester} "
            "trimester). Leg cramps, often at night, are common in the second and third "
            f"trimesters.{labs_note} Pregnancy also raises the risk of deep-vein thrombosis, so "
            "a leg that is swollen, warm or painful on one side needs DVT assessment first."
        ),
        evidence=unique_evidence((*evidence, *complaint_evidence(complaints))),
        suggestions=(MAGNESIUM,) if magnesium is None else (),
        cautions=(DVT_CHECK,),
        # A physiological explanation specific to this patient, but common and benign: ranked
        # after the drug, electrolyte and vascular cards.
        specificity=40,
    )


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="Leg cramps in the second or third trimester of pregnancy",
    severities=("info",),
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
    requires=(
        DataRequirement("Condition"),
        DataRequirement("Encounter"),
        DataRequirement("Procedure"),
        DataRequirement(
            "Observation", ("pregnancy-status", "gestational-age", "magnesium", "calcium-total")
        ),
    ),
    evaluate=evaluate,
    valuesets=(
        *PREGNANCY_VALUESETS,
        "magnesium",
        "calcium-total",
        *COMPLAINT_VALUESETS,
    ),
)
