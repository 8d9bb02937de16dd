"""ckd-dialysis-cramps 1.1.0: the wider kidney value sets of §22.1, creatinine as reported when no
eGFR is current, the candidate card opened by the symptoms kidney disease explains and naming
them, and a shorter card."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry
from cds.rules.base import Evidence, Finding, Provenance
from cds.rules.ckd_dialysis_cramps import v1_0_0 as previous
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.kidney.v1 import (
    EGFR_CURRENT_DAYS,
    EGFR_UNIT,
    ELECTROLYTE_VALUESETS,
    KidneyStatus,
    LowMineral,
    days_apart,
)
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    PATIENT,
    observations,
    procedures,
)
from cds.rules.lib.results.v1 import value_text
from cds.rules.lib.text.v1 import SUMMARY_LIMIT, fit_summary

# What `complaint_words` reads to say which complaint is on record.
COMPLAINT_WORDS: tuple[str, ...] = ("leg-pain", "leg-cramp", "restless-legs", "leg-swelling")


@dataclass(frozen=True)
class CkdDialysisCramps(previous.CkdDialysisCramps, Library2026_12):
    """What 1.1.0 decides differently:

    - it reads terminology 2026.12 (§22.1): CKD, stage, ESRD and dialysis sets from VSAC
      (hypertensive and diabetic CKD codes, dialysis procedures), 14 eGFR codes;
    - where no eGFR is current (12 months), the latest creatinine is shown, in mg/dL with the
      unit it was reported in (µmol/L, mmol/L) (§1.3);
    - the info card is a candidate cause (§1.6) opened by leg pain, cramps or restless legs,
      what kidney disease explains (a swollen leg alone does not open it), and its summary
      names what is on record; the newly-found CKD warning stays a finding;
    - at most six evidence lines (the most telling kidney codes first) and two sentences.
    """

    kidney_codes_shown: int = 2  # ESRD and dialysis codes first, then other CKD codes
    evidence_shown: int = 6
    creatinine_window_days: int = EGFR_CURRENT_DAYS  # as current as an eGFR must be
    explanation: str = (
        "Muscle cramps and restless legs are common in chronic kidney disease, more so in "
        "advanced stages and on dialysis (cramps during or after haemodialysis, with fluid "
        "removal). Uraemia, shifts in calcium, magnesium and potassium, neuropathy and iron "
        "deficiency contribute (KDIGO 2024)."
    )
    newly_found_explanation: str = (
        "The eGFR has stayed below 60 mL/min/1.73 m2 for 90 days or more, which meets the KDIGO "
        "definition of CKD, yet no CKD diagnosis is on record. Kidney disease lowers calcium and "
        "can alter magnesium, and low calcium or magnesium causes cramps and, when marked, tetany."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        kidney = self.kidney_status(facts)
        if not kidney.has_ckd:
            return None
        low = self.low_calcium_or_magnesium(facts)
        if kidney.found_by_egfr_only and kidney.sustained_low_egfr is not None and low:
            # A finding (§1.6): an unrecorded diagnosis with an abnormal result.
            return self.newly_found(facts, kidney, kidney.sustained_low_egfr, low)
        # Everything else names kidney disease as a candidate cause of leg pain, cramps or
        # restless legs: one of them must be on record.
        complaints = self.pain_cramp_or_restless_complaints(facts)
        if not complaints:
            return None
        return self.candidate_for(facts, kidney, low, complaints)

    def newly_found(
        self,
        facts: Facts,
        kidney: KidneyStatus,
        sustained: tuple[LabEntry, LabEntry],
        low: list[LowMineral],
    ) -> Finding:
        latest, earliest = sustained
        category = kidney.egfr_category or "G3a or worse"
        lows = " and ".join(m.phrase for m in low)
        egfr = value_text(latest, 0)
        summary = (
            f"Unrecorded CKD {category}: eGFR {egfr} and < 60 for {days_apart(earliest, latest)} "
            f"days, with {lows}; may cause leg cramps."
        )
        if len(summary) >= SUMMARY_LIMIT:
            summary = f"Unrecorded CKD {category} (eGFR {egfr}) with {lows}: may cause leg cramps."
        complaints = self.pain_cramp_or_restless_complaints(facts)
        return Finding(
            severity="warning",
            summary=fit_summary(summary),
            explanation=self.newly_found_explanation,
            evidence=self.card_evidence(facts, kidney, low, complaints),
            suggestions=self.suggestions(facts),
            cautions=(self.egfr_caution,),
            labs=tuple((m.analyte, m.lab.reference) for m in low),
            specificity=20,
            candidate=False,  # an unrecorded diagnosis with an abnormal result (§1.6)
        )

    def candidate_for(
        self,
        facts: Facts,
        kidney: KidneyStatus,
        low: list[LowMineral],
        complaints: Sequence[ConditionEntry],
    ) -> Finding:
        summary, specificity = self.named_summary(kidney, self.complaint_words(facts, complaints))
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=self.explanation,
            evidence=self.card_evidence(facts, kidney, low, complaints),
            suggestions=self.suggestions(facts),
            cautions=(self.egfr_caution,) if kidney.found_by_egfr_only else (),
            labs=tuple((m.analyte, m.lab.reference) for m in low),
            specificity=specificity,
            candidate=True,
        )

    def named_summary(self, kidney: KidneyStatus, words: str) -> tuple[str, int]:
        """The info card's summary, naming the complaint on record, and its specificity: the more
        advanced the disease, the stronger the association."""
        label = kidney.stage_label()
        category = kidney.egfr_category
        egfr = (
            f" (eGFR {value_text(kidney.latest_egfr, 0)})"
            if kidney.latest_egfr is not None and not kidney.on_dialysis
            else ""
        )
        if kidney.on_dialysis:
            return (
                f"{label} may explain the {words}; review fluid removal and electrolytes.",
                30,
            )
        if kidney.found_by_egfr_only:
            return (
                f"{label}{egfr} by eGFR < 60 for 90+ days, not coded: may explain the {words}.",
                40,
            )
        if kidney.esrd or category in self.advanced_categories or kidney.coded_stage in ("4", "5"):
            return (
                f"{label} on record{egfr}: uraemia and electrolyte shifts may explain the {words}.",
                30,
            )
        if category in ("G3a", "G3b") or kidney.coded_stage == "3":
            return (
                f"{label} on record{egfr}: electrolyte shifts in CKD may explain the {words}.",
                40,
            )
        return (
            f"{label} on record{egfr}: a possible, weak contributor to the {words} (stronger in "
            "advanced CKD).",
            55,  # early CKD: a weak association, listed after specific causes
        )

    # -- evidence -----------------------------------------------------------------------------

    def card_evidence(
        self,
        facts: Facts,
        kidney: KidneyStatus,
        low: Sequence[LowMineral],
        complaints: Sequence[ConditionEntry],
    ) -> tuple[Evidence, ...]:
        """The kidney lines, the low results, one complaint: at most `evidence_shown`."""
        main = [*self.kidney_lines(facts, kidney), *(m.evidence for m in low)]
        complaint = list(self.complaint_evidence(complaints)[:1])
        return tuple(main[: self.evidence_shown - len(complaint)] + complaint)

    def kidney_lines(self, facts: Facts, kidney: KidneyStatus) -> list[Evidence]:
        """ESRD and dialysis codes before other CKD codes (at most `kidney_codes_shown`), the
        latest dialysis session when no dialysis code says so, the eGFR (with the earlier one
        that makes it sustained), else the latest creatinine."""
        codes = unique_by_reference(
            [*kidney.esrd_conditions, *kidney.dialysis_conditions, *kidney.ckd_conditions]
        )
        lines = [self.condition_evidence(c) for c in codes[: self.kidney_codes_shown]]
        if not kidney.dialysis_conditions:
            lines += [self.procedure_evidence(p, facts) for p in kidney.dialysis_procedures[:1]]
        if kidney.sustained_low_egfr is not None:
            latest, earliest = kidney.sustained_low_egfr
            lines.append(self.lab_evidence(latest, "eGFR (latest)", EGFR_UNIT, 0))
            lines.append(
                Evidence(
                    label="eGFR (earlier; every result since is below 60)",
                    value=(
                        f"{value_text(earliest, 0)} {EGFR_UNIT}, "
                        f"{days_apart(earliest, latest)} days before the latest"
                    ),
                    when=earliest.effective,
                    reference=earliest.reference,
                )
            )
        elif kidney.latest_egfr is not None:
            lines.append(self.lab_evidence(kidney.latest_egfr, "eGFR (latest)", EGFR_UNIT, 0))
        else:
            creatinine = self.latest_lab(
                facts, "creatinine", within_days=self.creatinine_window_days
            )
            if creatinine is not None:
                lines.append(self.lab_evidence(creatinine, "Creatinine (no current eGFR)", "mg/dL"))
        return lines


LOGIC = CkdDialysisCramps()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    requires=(
        PATIENT,
        CONDITIONS,
        observations(*ELECTROLYTE_VALUESETS, "egfr", "creatinine", "potassium", "leg-complaint"),
        procedures("dialysis"),
        ENCOUNTERS,
    ),
    valuesets=(
        *previous.RULE.valuesets,
        "creatinine",
        "leg-cramp-complaint",
        *COMPLAINT_WORDS,
    ),
    source_label="KDIGO 2024 CKD guideline",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Reads the wider kidney value sets of terminology 2026.12 (§22.1): hypertensive and "
            "diabetic CKD codes, CKD stage 2 as Synthea and real records code it, ESRD on "
            "dialysis, dialysis procedures, 14 eGFR codes. Where no eGFR is current, the latest "
            "creatinine is shown (mg/dL, with the µmol/L or mmol/L it was reported in). The "
            "info card is a candidate cause opened by leg pain, cramps or restless legs (no "
            "longer by a swollen leg alone) and says which is on record; an active order or a "
            "complaint coded on a visit or an Observation counts (§22.2 e). Shorter card: two "
            "sentences, at most six evidence lines."
        ),
        rationale=(
            "§14 is about cramps and restless legs; leg pain is kept because uraemic neuropathy "
            "and electrolyte shifts cause it, but leg swelling alone no longer opens the info "
            "card: oedema in CKD is not what this card explains. Creatinine is not used to "
            "define or stage CKD (the catalog defines CKD by eGFR or a code, and estimating "
            "eGFR needs the formula, age and sex the lab already applied); it is shown only "
            "when no eGFR is current, as the one kidney-function value on record. The newly "
            "found CKD warning (eGFR only, low calcium or magnesium) stays a finding without a "
            "complaint. Evidence lists ESRD and dialysis codes before other CKD codes, at most "
            "two, then the dialysis session when no dialysis code says so, the eGFR lines, "
            "low results and one complaint, six lines in all."
        ),
    ),
)
