"""vitamin-d-deficiency 1.0.0: low 25-OH vitamin D as a contributor to muscle aches, cramps and
statin intolerance (clinical-content.md §15).

Deficiency (< 12 ng/mL) is a finding and fires on any chart; insufficiency (12-19 ng/mL) and a
coded deficiency without a result are candidate causes and need a leg complaint (§1.6).
"""

from __future__ import annotations

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules._cramp_labs import (
    VITAMIN_D_DEFICIENT,
    VITAMIN_D_INSUFFICIENT,
    VITAMIN_D_WINDOW_DAYS,
    LowVitaminD,
    StatinMuscleContext,
    low_vitamin_d,
    statin_muscle_context,
    vitamin_d_evidence,
)
from cds.rules._leg_context import complaint_evidence
from cds.rules.base import (
    DataRequirement,
    Evidence,
    Finding,
    OrderSuggestion,
    Provenance,
    Rule,
    Severity,
)
from cds.rules.common import (
    condition_evidence,
    drug_names,
    fit_summary,
    fmt,
    low_confidence_cautions,
    medication_evidence,
    value_text,
)

RULE_ID = "vitamin-d-deficiency"
VERSION = "1.0.0"

WINDOW_DAYS = VITAMIN_D_WINDOW_DAYS  # 12 months: vitamin D status changes over months
DEFICIENT_BELOW = VITAMIN_D_DEFICIENT  # ng/mL (30 nmol/L)
INSUFFICIENT_BELOW = VITAMIN_D_INSUFFICIENT  # ng/mL (50 nmol/L)

VITAMIN_D = OrderSuggestion(
    "25-OH vitamin D", "62292-8", "Statin muscle symptoms with low or unknown vitamin D"
)


def evaluate(facts: Facts) -> Finding | None:
    low = low_vitamin_d(facts)
    supplements = facts.active_medications("vitamin-d-supplements")
    if low is not None:
        return _low_result(facts, low, supplements)
    return _coded_without_result(facts, supplements)


def _low_result(
    facts: Facts, low: LowVitaminD, supplements: list[MedicationEntry]
) -> Finding | None:
    severity: Severity = "warning" if low.status == "deficient" else "info"
    if supplements:
        # Already being replaced: the deficiency is known, so it is no longer a finding.
        severity = "info"
    if severity == "info" and not facts.has_leg_complaint:
        return None  # §1.6: a candidate cause needs a leg complaint
    statin = statin_muscle_context(facts)
    on_statin = bool(facts.active_medications("statins"))
    value = value_text(low.lab, 1)
    effect = "muscle aches and statin intolerance" if on_statin else "muscle aches and cramps"
    summary = f"25-OH vitamin D {value} ng/mL ({low.status}) may contribute to {effect}."
    threshold = DEFICIENT_BELOW if low.status == "deficient" else INSUFFICIENT_BELOW
    explanation = (
        f"25-OH vitamin D below {fmt(threshold, 1)} ng/mL is {low.status} (IOM 2011: < 12 "
        "ng/mL is the deficiency risk threshold; 20 ng/mL covers most people's bone health). "
        "Deficiency causes muscle aches and weakness and predisposes to statin-associated "
        "muscle symptoms."
    )
    cautions = list(low_confidence_cautions(supplements))
    if supplements:
        cautions.append(
            f"Vitamin D is already prescribed ({drug_names(supplements)}): the deficiency "
            "appears known; the result may predate replacement."
        )
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity=severity,
        summary=fit_summary(summary),
        explanation=explanation,
        evidence=(
            vitamin_d_evidence(low.lab),
            *(medication_evidence(m) for m in supplements),
            *_context_evidence(facts, statin),
        ),
        # §15: suggest 25-OH D only within §4 context; with a result on file, only as the
        # recheck after replacement.
        suggestions=(VITAMIN_D,) if statin is not None and supplements else (),
        cautions=tuple(cautions),
        involves_draft_order=_drafted(supplements, statin),
        # A measured value, but a contributor rather than a sole cause.
        specificity=35 if severity == "warning" else 45,
    )


def _coded_without_result(facts: Facts, supplements: list[MedicationEntry]) -> Finding | None:
    coded = facts.conditions("vitamin-d-deficiency")
    if not coded or not facts.has_leg_complaint:
        return None
    if facts.labs("vitamin-d-25oh", within_days=WINDOW_DAYS):
        return None  # measured and not low: the coded deficiency looks treated
    statin = statin_muscle_context(facts)
    treated = f", treated with {drug_names(supplements)}" if supplements else ""
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
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
            *(condition_evidence(c) for c in coded[:2]),
            *(medication_evidence(m) for m in supplements),
            *_context_evidence(facts, statin),
        ),
        suggestions=(VITAMIN_D,) if statin is not None else (),
        cautions=low_confidence_cautions(supplements),
        involves_draft_order=_drafted(supplements, statin),
        specificity=50,  # a coded diagnosis without a value
    )


def _context_evidence(facts: Facts, statin: StatinMuscleContext | None) -> list[Evidence]:
    """The statin and its muscle symptoms in §4 context, else the leg complaints."""
    if statin is not None:
        return [
            *(medication_evidence(m) for m in statin.statins),
            *complaint_evidence(statin.symptoms),
        ]
    return list(complaint_evidence(facts.leg_complaints))


def _drafted(supplements: list[MedicationEntry], statin: StatinMuscleContext | None) -> bool:
    statins = statin.statins if statin is not None else []
    return any(m.drafted for m in (*supplements, *statins))


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="Vitamin D deficiency",
    severities=("info", "warning"),
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
    requires=(
        DataRequirement("MedicationRequest"),
        DataRequirement("MedicationStatement"),
        DataRequirement("Observation", ("vitamin-d-25oh", "leg-complaint")),
        DataRequirement("Condition"),
        DataRequirement("Encounter"),
    ),
    evaluate=evaluate,
    valuesets=(
        "vitamin-d-25oh",
        "vitamin-d-deficiency",
        "vitamin-d-supplements",
        "statins",
        "sams-myopathy",
        "leg-complaint",
    ),
)
