"""quinine-for-cramps 1.1.0: the card offers stopping the quinine (remove a drafted order, put an
active one on hold); §22's medication and complaint reading; a shorter card."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.rules.base import Finding, MedicationAction, Provenance
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.requirements.v1 import (
    CONDITIONS_IF_AVAILABLE,
    ENCOUNTERS_IF_AVAILABLE,
    MEDICATIONS,
    observations,
)
from cds.rules.lib.text.v1 import fit_summary
from cds.rules.quinine_for_cramps import v1_0_0 as previous


@dataclass(frozen=True)
class QuinineForCramps(previous.QuinineForCramps, Library2026_12):
    """What 1.1.0 decides differently:

    - the card advises stopping quinine for cramps, so it carries that as an action (§22:
      "a card advising to stop or hold a drug"): a drafted quinine order is removed, an active
      order is put on hold, with the reason;
    - which quinine orders count, from the 2026.12 library (§22.2 c, d): an active order past
      its dispensing window is still taken; a proposal is not;
    - a leg complaint listed on the card may be coded on a visit or an Observation (§22.2 e),
      so the rule reads Encounters and complaint Observations too;
    - it stays a finding (a dangerous drug, §1.6) on any chart; a two-sentence explanation.
    """

    stop_reason: str = (
        "Quinine is not recommended for leg cramps (FDA: serious haematologic reactions)"
    )
    drugs_shown: int = 2
    complaints_shown: int = 1

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
                *(self.medication_evidence(m) for m in quinine[: self.drugs_shown]),
                *self.leg_complaint_evidence(facts)[: self.complaints_shown],
            ),
            cautions=self.low_confidence_cautions(quinine),
            involves_draft_order=drafted,
            specificity=10,
            medication_actions=tuple(
                MedicationAction(m, "stop", self.stop_reason) for m in quinine
            ),
            candidate=False,  # a dangerous drug stands on its own (§1.6)
        )

    def explanation(self) -> str:
        return (
            "The FDA warns against quinine for leg cramps: it has caused serious, sometimes fatal "
            "blood disorders (thrombocytopenia, HUS/TTP) and prolongs the QT interval; its only "
            "approved US use is malaria. Check why it was prescribed: if for cramps, stop it "
            "(AAN 2010: avoid routine use) and treat the cause or try stretching."
        )


LOGIC = QuinineForCramps()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    # Diagnoses and visits are read for the complaint only: quinine is a finding on any chart.
    requires=(
        *MEDICATIONS,
        CONDITIONS_IF_AVAILABLE,
        observations("leg-complaint"),
        ENCOUNTERS_IF_AVAILABLE,
    ),
    source_label="FDA quinine warning 2010; AAN 2010 cramp assessment",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "The card offers stopping the quinine: in order-select and order-sign it removes "
            "the drafted quinine order, in patient-view it puts the active quinine order on "
            "hold (with the reason). An active quinine order past its dispensing window still "
            "counts (§22.2 d); a leg complaint coded on a visit or an Observation is listed "
            "(§22.2 e). Shorter explanation (two sentences)."
        ),
        rationale=(
            "The action is 'stop': the FDA and AAN advise against quinine for cramps, and the "
            "card's text asks first why it was prescribed (malaria is its one approved use and "
            "the record rarely says), so the clinician chooses whether to accept the "
            "suggestion. A MedicationStatement cannot be changed from a card: it gets the text "
            "only. The rule reads Encounters and complaint Observations because the 2026.12 "
            "complaint library lists complaints from them (`requires` must cover what it "
            "reads). The source label names both documents; its address stays the AAN "
            "assessment (a DOI), as the FDA communication has none."
        ),
    ),
)
