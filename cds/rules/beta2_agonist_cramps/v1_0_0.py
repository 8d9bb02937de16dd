"""beta2-agonist-cramps 1.0.0: a beta-2 agonist as a contributor to muscle cramps, and to low
potassium (clinical-content.md §5).

With a low potassium the agonist is named as a contributor to it (warning, a drug-and-result
finding on any chart; the electrolyte cards carry the potassium itself). Otherwise the agonist is
a candidate cause (info) and needs a leg pain or cramp complaint (§1.6).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry, MedicationEntry
from cds.rules.base import Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.lib.electrolytes.v1 import ELECTROLYTE_WINDOW_DAYS
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import BASIC_METABOLIC_PANEL, OrderSuggestion, order
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    MEDICATIONS,
    observations,
)
from cds.rules.lib.results.v1 import value_text
from cds.rules.lib.text.v1 import fit_summary


@dataclass(frozen=True)
class Beta2AgonistCramps(RuleLogic, Library2026_11):
    """§5. Low potassium is the `electrolytes` library's §2 judgement (flag, range, else
    < 3.5 mmol/L within 90 days), so this card names the same result the electrolyte cards
    do."""

    # §5: "K as in §2": a potassium this recent means the info card suggests no panel.
    potassium_window_days: int = ELECTROLYTE_WINDOW_DAYS
    bmp: OrderSuggestion = order(
        BASIC_METABOLIC_PANEL, "Potassium on a beta-2 agonist with muscle cramps"
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        agonists = self.active_medications(facts, "beta2-agonists")
        if not agonists:
            return None
        # Leg pain or cramp (leg-cramp-complaint: R25.2, G47.62, R29.0, M79.60x/M79.66x).
        complaints = self.pain_or_cramp_complaints(facts)
        potassium = self.low_potassium(facts)
        if potassium is not None:
            return self.low_potassium_finding(agonists, potassium, complaints)
        # §1.6: a candidate cause needs the complaint (a drafted agonist alone is not enough).
        if not complaints:
            return None
        return self.candidate_finding(facts, agonists, complaints)

    def low_potassium_finding(
        self,
        agonists: list[MedicationEntry],
        potassium: LabEntry,
        complaints: list[ConditionEntry],
    ) -> Finding:
        names = self.drug_names(agonists)
        return Finding(
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
                *(self.medication_evidence(m) for m in agonists),
                self.result_evidence(potassium, "Potassium", "mmol/L", 1),
                *self.complaint_evidence(complaints),
            ),
            cautions=self.low_confidence_cautions(agonists),
            labs=(("potassium", potassium.reference),),
            involves_draft_order=any(m.drafted for m in agonists),
            # A named drug with a matching result, but only a contributor: the electrolyte
            # cards (10, 30) carry the potassium itself.
            specificity=35,
        )

    def candidate_finding(
        self, facts: Facts, agonists: list[MedicationEntry], complaints: list[ConditionEntry]
    ) -> Finding:
        no_recent_potassium = not self.lab_results(
            facts, "potassium", within_days=self.potassium_window_days
        )
        return Finding(
            severity="info",
            summary=fit_summary(
                "Muscle cramps are a reported effect of beta-2 agonists "
                f"({self.drug_names(agonists)}); consider as a contributor."
            ),
            explanation=(
                "Muscle cramps are a reported adverse effect of beta-2 agonists, and new "
                "prescriptions of long-acting agonists are followed by more treatment for night "
                "cramps (Garrison 2012). Beta-2 agonists can also lower potassium"
                + (
                    "; no potassium result is on record in the last "
                    f"{self.potassium_window_days} days."
                    if no_recent_potassium
                    else "; the latest potassium is not low."
                )
            ),
            evidence=(
                *(self.medication_evidence(m) for m in agonists),
                *self.complaint_evidence(complaints),
            ),
            suggestions=(self.bmp,) if no_recent_potassium else (),
            cautions=self.low_confidence_cautions(agonists),
            involves_draft_order=any(m.drafted for m in agonists),
            specificity=45,  # a documented association only
        )


LOGIC = Beta2AgonistCramps()

RULE = RuleVersion(
    id="beta2-agonist-cramps",
    version="1.0.0",
    title="Beta-2 agonist and muscle cramps",
    severities=("info", "warning"),
    logic=LOGIC,
    requires=(*MEDICATIONS, observations("potassium", "leg-complaint"), CONDITIONS, ENCOUNTERS),
    valuesets=("beta2-agonists", "potassium", "leg-cramp-complaint", "leg-complaint"),
    terminology="2026.11",
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
)
