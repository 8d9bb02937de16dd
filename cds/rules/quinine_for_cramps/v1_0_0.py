"""quinine-for-cramps 1.0.0: active quinine, which is not recommended for leg cramps
(clinical-content.md §18).

A dangerous drug is a finding (§1.6): the card fires on any chart, and when quinine is being
ordered it is shown at order-select / order-sign.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.rules.base import Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.requirements.v1 import CONDITIONS, MEDICATIONS
from cds.rules.lib.text.v1 import fit_summary


@dataclass(frozen=True)
class QuinineForCramps(RuleLogic, Library2026_11):
    """§18: any active quinine (active, a draft order, or ended within the medication grace
    period) is a warning, whatever the chart holds."""

    summary: str = (
        "Quinine is not recommended for leg cramps (FDA warning: serious haematologic reactions)."
    )
    # At order-select / order-sign: the quinine is being ordered now.
    drafted_summary: str = (
        "Quinine being ordered is not recommended for leg cramps (FDA warning: serious "
        "haematologic reactions)."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        quinine = self.active_medications(facts, "quinine")
        if not quinine:
            return None
        drafted = any(m.drafted for m in quinine)
        return Finding(
            severity="warning",
            summary=fit_summary(self.drafted_summary if drafted else self.summary),
            explanation=self.explanation(),
            evidence=(
                *(self.medication_evidence(m) for m in quinine),
                *self.leg_complaint_evidence(facts),
            ),
            cautions=self.low_confidence_cautions(quinine),
            involves_draft_order=drafted,
            specificity=10,  # one named drug with a specific regulatory warning
        )

    def explanation(self) -> str:
        return (
            "The FDA warns against quinine for leg cramps: it has caused serious and "
            "life-threatening haematologic reactions (thrombocytopenia, haemolytic uraemic "
            "syndrome / thrombotic thrombocytopenic purpura), and it prolongs the QT interval; "
            "its only US-approved use is malaria. The AAN (2010) found it effective for cramps "
            "but advises against routine use: consider it only for disabling cramps after "
            "other treatment, with the patient informed and monitored. Review the indication "
            "and the alternatives (stretching, treating the cause)."
        )


LOGIC = QuinineForCramps()

RULE = RuleVersion(
    id="quinine-for-cramps",
    version="1.0.0",
    title="Quinine for leg cramps",
    severities=("warning",),
    logic=LOGIC,
    requires=(*MEDICATIONS, CONDITIONS),
    valuesets=("quinine", "leg-complaint"),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "FDA Drug Safety Communication 2010 and Qualaquin (quinine sulfate) boxed warning; "
            "Katzberg et al., Assessment: symptomatic treatment for muscle cramps, AAN, "
            "Neurology 2010"
        ),
        url="https://doi.org/10.1212/WNL.0b013e3181d0ccca",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Any active quinine (active, a draft order, or ended within 30 days, §1.2) is a "
            "warning on any chart: the record rarely says why quinine was prescribed, and its "
            "only approved use (malaria) is short, so the card asks for the indication to be "
            "reviewed rather than presuming it is for cramps. The URL is the AAN assessment "
            "(a DOI); the FDA communication has no DOI. No order is suggested: the catalog "
            "names none."
        ),
    ),
)
