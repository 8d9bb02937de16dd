"""ckd-dialysis-cramps 1.0.0: chronic kidney disease or dialysis as a cause of leg cramps and
restless legs (info, with a complaint); CKD found from eGFR alone, not coded, with low calcium
or magnesium (warning, a finding) (clinical-content.md §14)."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import LabEntry
from cds.rules.base import Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.lib.electrolytes.v1 import ELECTROLYTE_WINDOW_DAYS
from cds.rules.lib.kidney.v1 import (
    ELECTROLYTE_VALUESETS,
    KIDNEY_VALUESETS,
    KidneyStatus,
    LowMineral,
    days_apart,
)
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import (
    BASIC_METABOLIC_PANEL,
    COMPREHENSIVE_METABOLIC_PANEL,
    MAGNESIUM,
    OrderSuggestion,
    order,
)
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    PATIENT,
    observations,
    procedures,
)
from cds.rules.lib.results.v1 import value_text
from cds.rules.lib.text.v1 import SUMMARY_LIMIT, fit_summary


@dataclass(frozen=True)
class CkdDialysisCramps(RuleLogic, Library2026_11):
    """§14. What CKD, ESRD, "on dialysis", the GFR category and a low calcium or magnesium
    mean is the `kidney` library's, shared with rls-secondary-causes so the two cards never
    disagree about the kidneys."""

    # GFR categories named as advanced disease (uraemia), as are ESRD and coded stages 4-5.
    advanced_categories: frozenset[str] = frozenset({"G4", "G5"})
    # §14 suggests only what is missing from this look-back (§2's, 90 days).
    lab_window_days: int = ELECTROLYTE_WINDOW_DAYS
    bmp: OrderSuggestion = order(BASIC_METABOLIC_PANEL, "Potassium and calcium in CKD")
    magnesium: OrderSuggestion = order(MAGNESIUM, "Magnesium in CKD with cramps")
    cmp: OrderSuggestion = order(
        COMPREHENSIVE_METABOLIC_PANEL, "Calcium and albumin in CKD with cramps"
    )
    explanation: str = (
        "Muscle cramps and restless legs are common in chronic kidney disease, more so in "
        "advanced stages and on dialysis (cramps during or after haemodialysis, with fluid "
        "removal). Uraemia, shifts in calcium, magnesium and potassium, uraemic neuropathy and "
        "iron deficiency contribute; KDIGO 2024 lists cramps and restless legs among the "
        "symptoms of CKD to assess and manage."
    )
    newly_found_explanation: str = (
        "The eGFR has stayed below 60 mL/min/1.73 m2 for at least 90 days, which meets the KDIGO "
        "definition of CKD (G3a or worse), yet no CKD diagnosis is on record. Kidney disease "
        "lowers calcium (phosphate retention, less active vitamin D) and can alter magnesium; "
        "low calcium or magnesium causes muscle cramps and, when marked, tetany."
    )
    # Shown whenever the CKD rests on eGFR alone.
    egfr_caution: str = (
        "eGFR from creatinine can mislead in acute illness and at extremes of muscle mass; KDIGO "
        "confirms CKD with repeat testing, cystatin C where useful and urine albumin."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        kidney = self.kidney_status(facts)
        if not kidney.has_ckd:
            return None
        low = self.low_calcium_or_magnesium(facts)
        if kidney.found_by_egfr_only and kidney.sustained_low_egfr is not None and low:
            # A finding (§1.6): an unrecorded diagnosis with an abnormal result fires on any
            # chart.
            return self.newly_found(facts, kidney, kidney.sustained_low_egfr, low)
        # Everything else names kidney disease as a candidate cause: it needs a leg complaint.
        if not self.has_leg_complaint(facts):
            return None
        return self.candidate(facts, kidney, low)

    def newly_found(
        self,
        facts: Facts,
        kidney: KidneyStatus,
        sustained: tuple[LabEntry, LabEntry],
        low: list[LowMineral],
    ) -> Finding:
        latest, earliest = sustained
        category = kidney.egfr_category or "G3a or worse"
        span = days_apart(earliest, latest)
        lows = " and ".join(m.phrase for m in low)
        egfr = value_text(latest, 0)
        summary = (
            f"Unrecorded CKD {category}: eGFR {egfr} and < 60 for {span} days, with {lows}; "
            "may cause leg cramps."
        )
        if len(summary) >= SUMMARY_LIMIT:
            # Over the CDS Hooks limit (two low results, say): the span goes; the
            # evidence still shows it.
            summary = f"Unrecorded CKD {category} (eGFR {egfr}) with {lows}: may cause leg cramps."
        return Finding(
            severity="warning",
            summary=fit_summary(summary),
            explanation=self.newly_found_explanation,
            evidence=(
                *self.kidney_evidence(facts, kidney),
                *(m.evidence for m in low),
                *self.leg_complaint_evidence(facts),
            ),
            suggestions=self.suggestions(facts),
            cautions=(self.egfr_caution,),
            labs=tuple((m.analyte, m.lab.reference) for m in low),
            # An unrecorded diagnosis with an abnormal result: specific and actionable.
            specificity=20,
        )

    def candidate(self, facts: Facts, kidney: KidneyStatus, low: list[LowMineral]) -> Finding:
        summary, specificity = self.candidate_summary(kidney)
        explanation = self.explanation
        if low:
            explanation += " Low results in the last 90 days are listed in the evidence."
        cautions = [self.egfr_caution] if kidney.found_by_egfr_only else []
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=explanation,
            evidence=(
                *self.kidney_evidence(facts, kidney),
                *(m.evidence for m in low),
                *self.leg_complaint_evidence(facts),
            ),
            suggestions=self.suggestions(facts),
            cautions=tuple(cautions),
            labs=tuple((m.analyte, m.lab.reference) for m in low),
            specificity=specificity,
        )

    def candidate_summary(self, kidney: KidneyStatus) -> tuple[str, int]:
        """The summary of the info card and its specificity: the more advanced the disease, the
        stronger the association with cramps and restless legs."""
        label = kidney.stage_label()
        category = kidney.egfr_category
        egfr = (
            f" (eGFR {value_text(kidney.latest_egfr, 0)})"
            if kidney.latest_egfr is not None and not kidney.on_dialysis
            else ""
        )
        if kidney.on_dialysis:
            summary = (
                f"{label}: cramps during or after dialysis and restless legs are common; review "
                "fluid removal and electrolytes."
            )
            specificity = 30
        elif kidney.found_by_egfr_only:
            summary = (
                f"{label}{egfr} by eGFR < 60 for 90+ days, not coded: kidney disease can cause "
                "leg cramps and RLS."
            )
            specificity = 40
        elif (
            kidney.esrd or category in self.advanced_categories or kidney.coded_stage in ("4", "5")
        ):
            summary = (
                f"{label} on record{egfr}: uraemia and electrolyte shifts commonly cause leg "
                "cramps and RLS."
            )
            specificity = 30
        elif category in ("G3a", "G3b") or kidney.coded_stage == "3":
            summary = (
                f"{label} on record{egfr}: electrolyte shifts in CKD can cause leg cramps and RLS."
            )
            specificity = 40
        else:
            summary = (
                f"{label} on record{egfr}: leg cramps and RLS are more frequent in CKD, mostly "
                "in advanced stages."
            )
            specificity = 55  # early CKD: a weak association, listed after specific causes
        return summary, specificity

    def suggestions(self, facts: Facts) -> tuple[OrderSuggestion, ...]:
        """Order only what is missing from the look-back (§14: BMP, Mg, CMP)."""
        window = self.lab_window_days
        tests = []
        has_calcium = self.lab_results(
            facts, "calcium-total", within_days=window
        ) or self.lab_results(facts, "calcium-corrected", within_days=window)
        if not has_calcium:
            tests.append(self.cmp)  # calcium with albumin, and the BMP electrolytes
        elif not self.lab_results(facts, "potassium", within_days=window):
            tests.append(self.bmp)
        if not self.lab_results(facts, "magnesium", within_days=window):
            tests.append(self.magnesium)
        return tuple(tests)


LOGIC = CkdDialysisCramps()

RULE = RuleVersion(
    id="ckd-dialysis-cramps",
    version="1.0.0",
    title="Chronic kidney disease and dialysis: cramps and restless legs",
    severities=("info", "warning"),
    logic=LOGIC,
    requires=(
        PATIENT,
        CONDITIONS,
        observations(*ELECTROLYTE_VALUESETS, "egfr", "potassium", "leg-complaint"),
        procedures("dialysis"),
        ENCOUNTERS,
    ),
    valuesets=(*KIDNEY_VALUESETS, *ELECTROLYTE_VALUESETS, "potassium", "leg-complaint"),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "KDIGO 2024 clinical practice guideline for the evaluation and management of "
            "chronic kidney disease. Kidney Int 2024;105(4S):S117-S314"
        ),
        url="https://doi.org/10.1016/j.kint.2023.10.018",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "CKD = an active CKD/ESRD/dialysis code, or eGFR < 60 sustained >= 90 days: the "
            "latest eGFR within 365 days is < 60 and every result back to one >= 90 days older "
            "is < 60 (a result >= 60 in between breaks the run, as after an acute kidney "
            "injury). Censored eGFRs count only when unambiguous ('>60' is not < 60). GFR "
            "category from the latest eGFR (KDIGO G3a 45-59, G3b 30-44, G4 15-29, G5 < 15), "
            "else the coded stage. On dialysis = a dialysis-dependence code or a dialysis "
            "procedure within 90 days (treated as ESRD). Warning only for CKD shown by eGFR "
            "with no CKD, ESRD or dialysis code AND a low albumin-corrected calcium or low "
            "magnesium within 90 days (lab flag/range first, else 8.5 mg/dL and 0.70 mmol/L; "
            "a censored total calcium or albumin makes the corrected value a bound, used only "
            "when it settles the question); "
            "it is a finding and fires without a complaint. Every other card is info and "
            "needs a §1.6 leg complaint; coded stage 1-2 CKD still fires (§14 counts any CKD "
            "code) but ranks last. Suggestions only for what is missing in 90 days: CMP when "
            "no calcium, else BMP when no potassium; magnesium when none. Potassium is judged "
            "by electrolyte-abnormality (§14: 'run §3'), not here."
        ),
    ),
)
