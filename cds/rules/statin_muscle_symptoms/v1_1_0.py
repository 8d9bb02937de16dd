"""statin-muscle-symptoms 1.1.0: an active statin order past its dispensing window still counts, a
critical card advises holding the statin, and the card says what is on record, briefly."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import AllergyEntry, LabEntry, MedicationEntry
from cds.rules.base import (
    Evidence,
    Finding,
    MedicationAction,
    Provenance,
    Severity,
)
from cds.rules.lib.complaints.v2 import (
    LEG_CRAMP,
    LEG_PAIN,
    RESTLESS_LEGS,
    SWELLING,
)
from cds.rules.lib.evidence.v1 import unique_evidence
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.orders.v1 import OrderSuggestion
from cds.rules.lib.requirements.v1 import (
    ALLERGIES_IF_AVAILABLE,
    CONDITIONS_IF_AVAILABLE,
    ENCOUNTERS_IF_AVAILABLE,
    MEDICATIONS,
    observations,
)
from cds.rules.lib.text.v1 import capitalise, fit_summary
from cds.rules.statin_muscle_symptoms import v1_0_0 as previous

# The value sets `complaint_words` reads to say which complaint is on record.
COMPLAINT_WORD_VALUESETS: tuple[str, ...] = (LEG_PAIN, LEG_CRAMP, RESTLESS_LEGS, SWELLING)


@dataclass(frozen=True)
class StatinMuscleSymptoms(previous.StatinMuscleSymptoms, Library2026_12):
    """§4 as §22 settles it. Which statin counts is MedicationsV2's (§22.2 c, d): an active order
    whose dispensing window (`dispenseRequest.validityPeriod`) has ended is still taken, which is
    the critical card 1.0.0 missed. A critical card (CK > 10x ULN, rhabdomyolysis or
    myoglobinuria coded) advises holding the statin and offers it as an action; nothing lowers
    it (§22.2 b). A recorded intolerance of the statin now taken is muscle evidence (warning); one
    of another statin is shown as context, never a card of its own (§22.2 p). The info card (a
    leg pain or cramp complaint, no CK in 90 days) is a candidate cause (§1.6) and names the
    complaint on record."""

    hold_reason: str = (
        "Possible statin myopathy or rhabdomyolysis (CK above 10x the upper limit, or coded)"
    )
    myoglobin_caution: str = (
        "No verified LOINC code exists for urine myoglobin: order it by its local name."
    )
    evidence_shown: int = 6  # evidence lines on a card, most telling first
    cautions_shown: int = 2

    def evaluate(self, facts: Facts) -> Finding | None:
        statins = self.active_medications(facts, "statins")
        if not statins:
            return None
        ck_lab = self.latest_lab(facts, "creatine-kinase", within_days=self.ck_window_days)
        ck = self.raised_ck(ck_lab) if ck_lab is not None else None
        rhabdo = self.coded_conditions(facts, "rhabdomyolysis")
        sams = self.coded_conditions(facts, "sams-myopathy")
        intolerances = self.intolerances(facts)
        # §22.2 p: intolerance of a statin now taken is muscle evidence.
        reexposed = [s for s in statins if any(a.ingredients & s.ingredients for a in intolerances)]
        interactions = self.interactions(facts, statins)
        complaints = self.pain_or_cramp_complaints(facts)

        severity: Severity
        if (ck is not None and ck.severe) or rhabdo:
            severity = "critical"
        elif ck is not None or sams or reexposed or interactions.high_risk:
            severity = "warning"
        elif complaints and not self.lab_results(
            facts, "creatine-kinase", within_days=self.ck_monitoring_window_days
        ):
            severity = "info"  # candidate cause: the complaint is the context (§1.6)
        else:
            return None

        names = self.drug_names(statins)
        words = self.complaint_words(facts, complaints)
        if severity == "info":
            summary = (
                f"{capitalise(words)} on {names} with no CK in {self.ck_monitoring_window_days} "
                "days: statin muscle symptoms possible; consider a CK."
            )
        else:
            summary = self.summary(severity, names, ck, rhabdo, sams, reexposed, interactions)
        modifiers, modifier_evidence = self.predisposing_factors(facts, interactions)
        muscle_evidence = bool(ck or rhabdo or sams or reexposed or complaints)
        involved_drugs = [*statins, *interactions.high_risk, *interactions.other]

        # The most telling lines first; the modifiers are named in the explanation too.
        evidence: list[Evidence] = [self.medication_evidence(m) for m in statins]
        if ck_lab is not None:
            evidence.append(self.lab_evidence(ck_lab, "Creatine kinase", "U/L", 1))
        evidence += [self.condition_evidence(c) for c in (*rhabdo, *sams)]
        evidence += [self.medication_evidence(m) for m in interactions.high_risk]
        evidence += [self.intolerance_line(a, statins) for a in intolerances]
        evidence += self.complaint_evidence(self.one_per_condition(complaints))
        evidence += modifier_evidence
        evidence += [self.medication_evidence(m) for m in interactions.other]

        cautions: list[str] = []
        if severity == "critical":
            cautions.append(self.myoglobin_caution)
        cautions += self.low_confidence_cautions(involved_drugs)
        if ck is not None and ck.uln is None:
            cautions.append(
                "The CK result has no reference range: how far above the upper limit it is "
                "cannot be judged."
            )
        cautions.append(self.symptom_pattern_caution)

        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=self.card_explanation(severity, bool(ck and ck.severe), words, modifiers),
            evidence=unique_evidence(evidence)[: self.evidence_shown],
            suggestions=self.card_suggestions(facts, severity, ck_lab, muscle_evidence),
            cautions=tuple(cautions[: self.cautions_shown]),
            labs=(("creatine-kinase", ck_lab.reference),) if ck is not None and ck_lab else (),
            involves_draft_order=any(m.drafted for m in involved_drugs),
            # As 1.0.0: a measured or coded muscle injury on a named drug 10, an interaction or a
            # code 15, a complaint alone 40.
            specificity={"critical": 10, "warning": 15, "info": 40}[severity],
            medication_actions=(
                tuple(MedicationAction(s, "hold", self.hold_reason) for s in statins)
                if severity == "critical"
                else ()
            ),
            candidate=severity == "info",
        )

    def intolerance_line(self, allergy: AllergyEntry, statins: list[MedicationEntry]) -> Evidence:
        """A recorded statin intolerance, saying whether it is to a statin now taken (§22.2 p)."""
        now_taken = any(allergy.ingredients & s.ingredients for s in statins)
        return Evidence(
            label=f"Intolerance recorded: {allergy.display}",
            value="a statin now taken" if now_taken else "another statin (context)",
            reference=allergy.reference,
        )

    def card_explanation(
        self, severity: Severity, severe_ck: bool, words: str, modifiers: list[str]
    ) -> str:
        """Two sentences: what the finding means and what to do, then the predisposing factors."""
        if severity == "critical":
            cause = (
                "A CK above 10x the upper limit" if severe_ck else "Rhabdomyolysis or myoglobinuria"
            )
            text = (
                f"{cause} on a statin is statin myopathy until shown otherwise: hold the statin, "
                "check renal function and urine myoglobin, and look for an interacting drug."
            )
        elif severity == "warning":
            text = (
                "Statins cause muscle pain, cramps and weakness; a raised CK, a coded myopathy, a "
                "recorded intolerance or a drug raising statin levels makes the statin more likely."
            )
        else:
            text = (
                f"Statins cause muscle pain and cramps, usually with a normal CK; with {words} on "
                "record and no recent CK, the statin is a possible contributor."
            )
        if modifiers:
            text += " Predisposing factors on record: " + "; ".join(modifiers) + "."
        return text

    def card_suggestions(
        self, facts: Facts, severity: Severity, ck_lab: LabEntry | None, muscle_evidence: bool
    ) -> tuple[OrderSuggestion, ...]:
        """A critical card: the CK again (its course) and renal function, what holding the statin
        needs; otherwise as 1.0.0."""
        if severity == "critical":
            return (self.ck_order, self.bmp_order)
        return self.suggestions(facts, severity, ck_lab, muscle_evidence)


LOGIC = StatinMuscleSymptoms()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    valuesets=(*previous.RULE.valuesets, *COMPLAINT_WORD_VALUESETS),
    # Diagnoses, intolerances and visits only add to the card (muscle symptoms, rhabdomyolysis,
    # an intolerance, the complaint): without them the CK finding still stands.
    requires=(
        *MEDICATIONS,
        observations(*previous.RESULTS, "leg-complaint"),
        CONDITIONS_IF_AVAILABLE,
        ALLERGIES_IF_AVAILABLE,
        ENCOUNTERS_IF_AVAILABLE,
    ),
    source_label="EAS statin muscle symptoms consensus 2015",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "An active statin order whose dispensing window (validityPeriod) has ended still "
            "counts as taken (§22.2 c, d): CK 13x ULN on such an order is now the critical card "
            "1.0.0 missed. A critical card (CK > 10x ULN, or rhabdomyolysis or myoglobinuria "
            "coded) advises holding the statin and offers it: remove a drafted statin order, or "
            "put an active one on hold; it is never lowered (§22.2 b). A recorded intolerance is "
            "labelled as to the statin now taken (muscle evidence, warning) or to another statin "
            "(context only, §22.2 p). The info card names the complaint on record (leg pain, leg "
            "cramps) and is a candidate cause shown only with it (§1.6); censored results keep "
            "their comparator (§22.2 g). Shorter cards: two-sentence explanation, at most six "
            "evidence lines and two cautions; a critical card suggests CK and renal function "
            "only."
        ),
        rationale=(
            "Hold (not stop) is the action offered: the EAS consensus and ACC/AHA advise "
            "stopping the statin until CK and symptoms settle, then re-challenge or switch, "
            "which an on-hold order expresses; it is offered for every statin counted active "
            "(a statement cannot be put on hold from a card, so its card says so in text only). "
            "The hold is offered for coded rhabdomyolysis or myoglobinuria as well as for a CK "
            "above 10x ULN, since 1.0.0's critical text already advised it for both. On a "
            "critical card TSH and vitamin D are no longer suggested: the card's message is the "
            "urgent one (hold, CK course, renal function); they remain on warning and info "
            "cards with muscle evidence and no result in 12 months. Evidence is ordered statin, "
            "CK, coded myopathy or rhabdomyolysis, high-risk co-drug, intolerances, complaint, "
            "then the modifiers' results (also named with their values in the explanation) and "
            "other interacting drugs, and cut at six; cautions in the order myoglobin (critical), "
            "name-only medication match, CK without range, symptom pattern, cut at two. 1.0.0's "
            "other choices stand (ULN from the result's range; CK at exactly 10x ULN is not "
            "beyond it; the info card needs a leg pain or cramp complaint and no CK in 90 days)."
        ),
    ),
)
