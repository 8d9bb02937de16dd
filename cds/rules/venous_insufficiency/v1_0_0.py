"""venous-insufficiency 1.0.0: documented chronic venous insufficiency, varicose veins or
post-thrombotic syndrome as an explanation of leg aching and night cramps; lymphoedema as a
differential of leg swelling (clinical-content.md §17, codes.tsv rule id venous-insufficiency).
"""

from __future__ import annotations

from cds.facts import Facts
from cds.rules._leg_context import COMPLAINT_VALUESETS, complaint_evidence, swelling_complaints
from cds.rules.base import DataRequirement, Finding, Provenance, Rule
from cds.rules.common import (
    condition_code,
    condition_name,
    conditions_evidence,
    fit_summary,
    unique_evidence,
)

RULE_ID = "venous-insufficiency"
VERSION = "1.0.0"

NEW_SWELLING_CAUTION = (
    "Known venous disease does not lower DVT risk: a new, painful or one-sided swelling still "
    "needs DVT assessment."
)
PTS_CAUTION = (
    "Post-thrombotic syndrome means a previous DVT: it counts as a previously documented DVT "
    "in the DVT risk assessment."
)


def evaluate(facts: Facts) -> Finding | None:
    venous = facts.conditions("venous-insufficiency")
    # Lymphoedema is a differential of swelling, not of pain or cramps: only with swelling.
    swelling = swelling_complaints(facts)
    lymphoedema = facts.conditions("lymphedema") if swelling else []
    if not (venous or lymphoedema):
        return None
    complaints = facts.leg_complaints
    if not complaints:
        return None  # a candidate cause (§1.6)
    # Post-thrombotic syndrome is the only code in both sets (I87.009): VALUESETS.md lists it
    # in venous-insufficiency and in vte-history, and there is no set of its own.
    vte = {c.reference for c in facts.conditions("vte-history", include_history=True)}
    post_thrombotic = [c for c in venous if c.reference in vte]
    if post_thrombotic:
        summary = (
            f"Post-thrombotic syndrome documented ({condition_code(post_thrombotic[0])}): "
            "implies prior DVT; may explain leg aching and night cramps."
        )
    elif venous:
        summary = (
            f"Documented {condition_name(venous[0])} may explain aching legs and night cramps; "
            "worse after standing."
        )
    else:
        summary = (
            f"Lymphoedema documented ({condition_code(lymphoedema[0])}) may explain the leg "
            "swelling on record."
        )
    cautions = [NEW_SWELLING_CAUTION]
    if post_thrombotic:
        cautions.append(PTS_CAUTION)
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity="info",
        summary=fit_summary(summary),
        explanation=(
            "Chronic venous disease (venous insufficiency, varicose veins, post-thrombotic "
            "syndrome) causes aching and heaviness after standing, eased by elevating the legs, "
            "and night cramps are reported with it. Lymphoedema causes chronic swelling. These "
            "are documented alternative explanations of the leg symptoms on record."
        ),
        evidence=unique_evidence(
            (
                *conditions_evidence([*venous, *lymphoedema]),
                *complaint_evidence(complaints),
            )
        ),
        cautions=tuple(cautions),
        # A documented condition that plausibly explains the symptom: more specific than the
        # general list of other-leg-pain-conditions, less than abnormal results or risk patterns.
        specificity=45,
    )


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="Chronic venous insufficiency, varicose veins and post-thrombotic syndrome",
    severities=("info",),
    provenance=Provenance(
        guideline=(
            "Clinical content §17 (documented alternative explanations); Society for Vascular "
            "Surgery / American Venous Forum guideline on varicose veins and chronic venous "
            "disease (Gloviczki P et al., J Vasc Surg 2011;53:2S-48S)"
        ),
        url="https://doi.org/10.1016/j.jvs.2011.01.079",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Info only (§17). A candidate cause (§1.6): needs any leg complaint on record. "
            "Venous insufficiency, varicose veins and post-thrombotic syndrome are active "
            "Conditions in the venous-insufficiency set. Lymphoedema (234097001, listed under "
            "this rule id in codes.tsv as a swelling differential) fires only when leg swelling "
            "is on record. Post-thrombotic syndrome is recognised as the venous code that is "
            "also in vte-history (I87.009) and is named as implying a prior DVT; dvt-risk "
            "already counts it as a previously documented DVT. The card never suppresses or "
            "lowers the DVT card."
        ),
    ),
    requires=(DataRequirement("Condition"), DataRequirement("Encounter")),
    evaluate=evaluate,
    valuesets=("venous-insufficiency", "lymphedema", "vte-history", *COMPLAINT_VALUESETS),
)
