"""beta2-agonist-cramps 1.0.0: a beta-2 agonist as a contributor to muscle cramps, and to low
potassium (clinical-content.md §5).

With a low potassium the agonist is named as a contributor to it (warning, a drug-and-result
finding on any chart; the electrolyte cards carry the potassium itself). Otherwise the agonist is
a candidate cause (info) and needs a leg pain or cramp complaint (§1.6).
"""

from __future__ import annotations

from cds.facts import Facts
from cds.rules._leg_context import complaint_evidence, pain_or_cramp_complaints
from cds.rules.base import DataRequirement, Finding, OrderSuggestion, Provenance, Rule
from cds.rules.common import (
    ELECTROLYTE_WINDOW_DAYS,
    drug_names,
    fit_summary,
    low_confidence_cautions,
    low_potassium,
    medication_evidence,
    result_evidence,
    value_text,
)

RULE_ID = "beta2-agonist-cramps"
VERSION = "1.0.0"

POTASSIUM_WINDOW_DAYS = ELECTROLYTE_WINDOW_DAYS  # §5: "K as in §2" (90 days)

BMP = OrderSuggestion(
    "Basic metabolic panel", "51990-0", "Potassium on a beta-2 agonist with muscle cramps"
)


def evaluate(facts: Facts) -> Finding | None:
    agonists = facts.active_medications("beta2-agonists")
    if not agonists:
        return None
    names = drug_names(agonists)
    drafted = any(m.drafted for m in agonists)
    cautions = low_confidence_cautions(agonists)
    # Leg pain or cramp (leg-cramp-complaint: R25.2, G47.62, R29.0, M79.60x/M79.66x).
    complaints = pain_or_cramp_complaints(facts)
    drug_evidence = [medication_evidence(m) for m in agonists]
    complaint_lines = complaint_evidence(complaints)

    potassium = low_potassium(facts)
    if potassium is not None:
        return Finding(
            rule_id=RULE_ID,
            rule_version=VERSION,
            severity="warning",
            summary=fit_summary(
                f"Low potassium (K {value_text(potassium, 1)} mmol/L) on {names}: beta-2 "
                "agonists lower potassium and can add to cramps."
            ),
            explanation=(
                "Beta-2 agonists shift potassium into cells and lower the serum level, most at "
                "high or nebulised doses; together with the low potassium this can cause or "
                "worsen muscle cramps. Review the potassium and its other causes as well as the "
                "agonist dose."
            ),
            evidence=(
                *drug_evidence,
                result_evidence(potassium, "Potassium", "mmol/L", 1),
                *complaint_lines,
            ),
            cautions=cautions,
            labs=(("potassium", potassium.reference),),
            involves_draft_order=drafted,
            # A named drug with a matching result, but only a contributor: the electrolyte
            # cards (10, 30) carry the potassium itself.
            specificity=35,
        )

    # §1.6: a candidate cause needs the complaint (a drafted agonist alone is not enough).
    if not complaints:
        return None
    no_recent_potassium = not facts.labs("potassium", within_days=POTASSIUM_WINDOW_DAYS)
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity="info",
        summary=fit_summary(
            f"Muscle cramps are a reported effect of beta-2 agonists ({names}); consider as "
            "a contributor."
        ),
        explanation=(
            "Muscle cramps are a reported adverse effect of beta-2 agonists, and new "
            "prescriptions of long-acting agonists are followed by more treatment for night "
            "cramps (Garrison 2012). Beta-2 agonists can also lower potassium"
            + (
                f"; no potassium result is on record in the last {POTASSIUM_WINDOW_DAYS} days."
                if no_recent_potassium
                else "; the latest potassium is not low."
            )
        ),
        evidence=(*drug_evidence, *complaint_lines),
        suggestions=(BMP,) if no_recent_potassium else (),
        cautions=cautions,
        involves_draft_order=drafted,
        specificity=45,  # a documented association only
    )


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="Beta-2 agonist and muscle cramps",
    severities=("info", "warning"),
    provenance=Provenance(
        guideline=(
            "Garrison et al., Nocturnal leg cramps and prescription use that precedes them: a "
            "sequence symmetry analysis, Arch Intern Med 2012; beta-2 agonist product labels "
            "(muscle cramps and hypokalaemia as reported adverse effects)"
        ),
        url="https://doi.org/10.1001/archinternmed.2011.1029",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "The catalog names no guideline for §5; Garrison 2012 is the population evidence "
            "that long-acting beta-2 agonists precede cramp treatment. 'Hook context is leg "
            "pain' is read as a leg pain or cramp complaint on record (leg-cramp-complaint): "
            "the service runs on every chart, so the agonist alone would fire everywhere "
            "(§1.6). Low potassium is the §2 judgement (interpretation, range, else < 3.5 "
            "mmol/L within 90 days); with it the card is a warning on any chart, because drug "
            "plus abnormal result is a finding. Severity stays warning even for a critical "
            "potassium: the electrolyte cards carry that. Vilanterol, olodaterol, indacaterol "
            "and arformoterol have no verified ingredient code and are not matched. BMP is "
            "suggested only on the info card when no potassium is on record within 90 days."
        ),
    ),
    requires=(
        DataRequirement("MedicationRequest"),
        DataRequirement("MedicationStatement"),
        DataRequirement("Observation", ("potassium", "leg-complaint")),
        DataRequirement("Condition"),
        DataRequirement("Encounter"),
    ),
    evaluate=evaluate,
    valuesets=("beta2-agonists", "potassium", "leg-cramp-complaint", "leg-complaint"),
)
