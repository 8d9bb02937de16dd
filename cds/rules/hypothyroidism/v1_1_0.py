"""hypothyroidism 1.1.0: a high TSH on a statin without a low free T4 is a candidate cause that
needs a leg complaint (or the statin being ordered); overt hypothyroidism stays a finding."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, MedicationEntry
from cds.rules.base import Evidence, Finding, GuidelineSource, Provenance, Severity
from cds.rules.hypothyroidism import v1_0_0 as previous
from cds.rules.lib.complaints.v2 import LEG_CRAMP, LEG_PAIN, RESTLESS_LEGS, SWELLING
from cds.rules.lib.cramp_labs.v1 import FREE_T4_PAIRING_DAYS, HighTsh
from cds.rules.lib.evidence.v1 import unique_evidence
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.results.v1 import certainly_at_least
from cds.rules.lib.text.v1 import fit_summary, fmt

# The value sets `complaint_words` reads to say which complaint is on record.
COMPLAINT_WORD_VALUESETS: tuple[str, ...] = (LEG_PAIN, LEG_CRAMP, RESTLESS_LEGS, SWELLING)
# What "a high TSH raises statin myopathy risk" rests on (catalog §16, §21; no stable address).
STATIN_RISK_SOURCE = GuidelineSource("2013 ACC/AHA cholesterol guideline (statin safety)")


@dataclass(frozen=True)
class Hypothyroidism(previous.Hypothyroidism, Library2026_12):
    """§16 as §22.2 q settles it. Overt hypothyroidism (TSH above range with a low free T4) is a
    finding on any chart. A high TSH without a low free T4 is a candidate cause (§1.6): on a
    statin it is a warning (§16: it adds to statin myopathy risk), otherwise info, and either
    needs a leg complaint, or, for the statin warning, the statin being ordered now. A coded
    statin myopathy without a complaint no longer opens it: the statin card lists the high TSH
    as a predisposing factor. A known diagnosis (coded, or levothyroxine) stays a candidate
    cause. The card names the complaint on record, and the statin warning cites the statin
    guideline it rests on."""

    statin_risk_source: GuidelineSource = STATIN_RISK_SOURCE
    evidence_shown: int = 6  # evidence lines on a card, most telling first

    def high_tsh_finding(
        self,
        facts: Facts,
        thyroid: HighTsh,
        statins: list[MedicationEntry],
        levothyroxine: list[MedicationEntry],
        known: list[ConditionEntry],
    ) -> Finding | None:
        complaints = self.leg_complaints(facts)
        drafted_statin = any(m.drafted for m in statins)
        statin_reason = bool(statins and (complaints or drafted_statin))
        severity: Severity
        if thyroid.overt or statin_reason:
            severity = "warning"
        elif complaints:
            severity = "info"
        else:
            return None
        words = self.complaint_words(facts, complaints)
        tsh = self.measured(thyroid.tsh, "mIU/L")
        if thyroid.overt:
            free_t4 = self.measured(thyroid.free_t4, "ng/dL") if thyroid.free_t4 else ""
            summary = (
                f"TSH {tsh} with low free T4 ({free_t4}): overt hypothyroidism can cause muscle "
                "cramps and raised CK."
            )
        elif statin_reason and complaints:
            summary = (
                f"TSH {tsh} (high) on {self.drug_names(statins)}: hypothyroidism raises statin "
                f"myopathy risk and may explain the {words}."
            )
        elif statin_reason:
            summary = (
                f"TSH {tsh} (high) with {self.drug_names(statins)} being ordered: hypothyroidism "
                "raises statin myopathy risk."
            )
        elif thyroid.free_t4 is not None:
            summary = (
                f"TSH {tsh} with normal free T4 (subclinical hypothyroidism) may contribute to "
                f"the {words}."
            )
        else:
            summary = f"TSH {tsh} (high, no free T4): hypothyroidism may contribute to the {words}."
        drugs = [*levothyroxine, *(statins if statin_reason else [])]
        evidence: list[Evidence] = [self.tsh_evidence(thyroid.tsh)]
        if thyroid.free_t4 is not None:
            evidence.append(self.free_t4_evidence(thyroid.free_t4))
        evidence += [self.medication_evidence(m) for m in drugs]
        evidence += self.complaint_evidence(self.one_per_condition(complaints))
        evidence += [self.condition_evidence(c) for c in known[: self.conditions_shown]]
        cautions = list(self.low_confidence_cautions(drugs))
        if thyroid.free_t4 is None:
            cautions.append(
                f"No free T4 within {FREE_T4_PAIRING_DAYS} days of the TSH: overt and "
                "subclinical hypothyroidism cannot be told apart."
            )
        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=self.card_explanation(thyroid, levothyroxine),
            evidence=unique_evidence(evidence)[: self.evidence_shown],
            suggestions=(self.free_t4_order,) if thyroid.free_t4 is None else (),
            cautions=tuple(cautions[:2]),
            involves_draft_order=any(m.drafted for m in drugs),
            specificity=30 if severity == "warning" else 40,
            # The statin warning's message ("raises statin myopathy risk") rests on the
            # cholesterol guideline's statin-safety advice, not on the thyroid guideline.
            source=self.statin_risk_source if statin_reason and not thyroid.overt else None,
            candidate=not thyroid.overt,
        )

    def card_explanation(self, thyroid: HighTsh, levothyroxine: list[MedicationEntry]) -> str:
        """Two sentences: what the results mean and why it matters for cramps; then the treatment
        threshold or the replacement, when either applies."""
        if thyroid.overt:
            text = "A high TSH with a low free T4 is overt hypothyroidism"
        elif thyroid.free_t4 is not None:
            text = "A high TSH with a normal free T4 is subclinical hypothyroidism"
        else:
            text = "A high TSH suggests hypothyroidism (a free T4 tells overt from subclinical)"
        text += (
            "; hypothyroid myopathy causes cramps, aches and a raised CK, and adds to statin "
            "myopathy risk."
        )
        at_threshold = certainly_at_least(thyroid.tsh, self.tsh_treatment_threshold)
        threshold = fmt(self.tsh_treatment_threshold, 1)
        if levothyroxine and at_threshold:
            text += (
                f" TSH at or above {threshold} mIU/L on levothyroxine suggests under-replacement "
                "or poor adherence or absorption."
            )
        elif levothyroxine:
            text += (
                " On levothyroxine, a high TSH suggests under-replacement or poor adherence or "
                "absorption."
            )
        elif at_threshold:
            text += f" TSH is at or above {threshold} mIU/L, the usual threshold for treatment."
        return text

    def known_diagnosis(
        self, facts: Facts, known: list[ConditionEntry], levothyroxine: list[MedicationEntry]
    ) -> Finding:
        """The candidate-cause card of a known (coded or treated) diagnosis, naming the
        complaint on record."""
        treated = f" (treated with {self.drug_names(levothyroxine)})" if levothyroxine else ""
        latest_tsh = self.latest_lab(facts, "tsh", within_days=self.tsh_window_days)
        statin = self.statin_muscle_context(facts)
        complaints = self.leg_complaints(facts)
        words = self.complaint_words(facts, complaints)
        if latest_tsh is None:
            status = "no TSH result in 12 months"
        else:
            status = f"latest TSH {self.measured(latest_tsh, 'mIU/L')} is not above range"
        statins = statin.statins if statin is not None else []
        evidence: list[Evidence] = [
            self.condition_evidence(c) for c in known[: self.conditions_shown]
        ]
        evidence += [self.medication_evidence(m) for m in levothyroxine]
        if latest_tsh is not None:
            evidence.append(self.tsh_evidence(latest_tsh))
        evidence += [self.medication_evidence(m) for m in statins]
        evidence += self.complaint_evidence(self.one_per_condition(complaints))
        drugs = [*levothyroxine, *statins]
        return Finding(
            severity="info",
            summary=fit_summary(
                f"Hypothyroidism on record{treated} may contribute to the {words}"
                + ("; no TSH in 12 months." if latest_tsh is None else ".")
            ),
            explanation=(
                "Under-treated hypothyroidism causes muscle cramps and aches, and adds to statin "
                f"myopathy risk. On record: {status}."
            ),
            evidence=unique_evidence(evidence)[: self.evidence_shown],
            # §16: TSH and free T4 when none in 12 months and statin muscle symptoms are present.
            suggestions=(
                (self.tsh_order, self.free_t4_order)
                if latest_tsh is None and statin is not None
                else ()
            ),
            cautions=self.low_confidence_cautions(drugs),
            involves_draft_order=any(m.drafted for m in drugs),
            specificity=50,  # a known diagnosis without a current abnormal value
            candidate=True,
        )


LOGIC = Hypothyroidism()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    valuesets=(*previous.RULE.valuesets, *COMPLAINT_WORD_VALUESETS),
    source_label="ATA hypothyroidism guideline 2014",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Reads the wider 2026.12 sets: 25 hypothyroidism codes (SNOMED and ICD-10-CM E02, "
            "E03.x, E89.0), TSH 3016-3, 11580-8 and 27975-2, free T4 3024-7 and 6892-4. A high "
            "TSH on a statin without a low free T4 is a candidate cause (§22.2 q): the warning "
            "now needs a leg complaint on record (or the statin being ordered), and a coded "
            "statin myopathy without a complaint no longer opens it. Overt hypothyroidism (high "
            "TSH with low free T4) stays a finding on any chart and shows the free T4 value. The "
            "card names the complaint on record (leg cramps, leg pain, restless legs), keeps a "
            "censored result's comparator (§22.2 g), explains in two sentences, and the statin "
            "warning cites the statin-safety guideline it rests on. Statins and known "
            "diagnoses are read as §22.2 c, d and e say."
        ),
        rationale=(
            "§22.2 q makes a high TSH on a statin a candidate cause; §1.6 lets the drug being "
            "ordered stand in for the complaint, and ACC/AHA 2013 advises checking for "
            "hypothyroidism before and during statin therapy, so a drafted statin keeps the "
            "warning in order-select/order-sign (it never shows in patient-view). A coded statin "
            "myopathy alone (SAMS, drug-induced myopathy) no longer opens the thyroid card: it "
            "is muscle evidence for the statin card, which fires as a warning and names the "
            "high TSH among its predisposing factors, so the clinician gets one card, not two. "
            "The statin warning's source is the 2013 ACC/AHA cholesterol guideline, label only "
            "(the catalog gives it no address). The treatment threshold (TSH >= 10 mIU/L) is "
            "still named, not used for severity. 1.0.0's other choices stand (12-month "
            "look-back, free T4 paired within 30 days and judged only by the lab's flag or "
            "range, 4.5 mIU/L only without a range)."
        ),
    ),
)
