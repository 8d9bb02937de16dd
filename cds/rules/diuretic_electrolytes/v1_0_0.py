"""diuretic-electrolytes 1.0.0: loop or thiazide diuretic with low K / Mg / Na or a calcium
change, or with no K and Mg monitoring in 12 months (clinical-content.md §2)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import LabEntry, MedicationEntry
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion, Severity
from cds.rules.lib.electrolytes.v1 import (
    CA_HIGH,
    CA_LOW,
    ELECTROLYTE_WINDOW_DAYS,
    Calcium,
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
    MEDICATIONS,
    PATIENT,
    observations,
)
from cds.rules.lib.results.v1 import certainly_below
from cds.rules.lib.text.v1 import fit_summary, fmt

# The results it reads (its Observations).
RESULTS: tuple[str, ...] = (
    "potassium",
    "magnesium",
    "sodium",
    "calcium-total",
    "calcium-corrected",
    "albumin",
)


@dataclass(frozen=True)
class _Abnormal:
    analyte: str
    lab: LabEntry
    critical: bool
    phrase: str  # for the summary, e.g. "Low potassium (K 3.1 mmol/L)"
    evidence: Evidence


@dataclass(frozen=True)
class DiureticElectrolytes(RuleLogic, Library2026_11):
    """§2. The window and the default low limits (K < 3.5, Mg < 0.70 mmol/L, albumin-corrected
    Ca 8.5-10.5 mg/dL: thiazides raise it, loop diuretics lower it) are the `electrolytes`
    library's, shared with electrolyte-abnormality so that both cards judge the same results."""

    lab_window_days: int = ELECTROLYTE_WINDOW_DAYS
    monitoring_window_days: int = 365
    k_critical: float = 2.5  # mmol/L
    mg_critical: float = 0.50  # mmol/L
    na_low: float = 135.0  # mmol/L, thiazide hyponatraemia
    ca_low: float = CA_LOW  # mg/dL, albumin-corrected, on a loop diuretic
    ca_high: float = CA_HIGH  # mg/dL, albumin-corrected, on a thiazide
    bmp: OrderSuggestion = order(BASIC_METABOLIC_PANEL, "Electrolytes on a diuretic")
    magnesium: OrderSuggestion = order(MAGNESIUM, "Magnesium on a diuretic")
    cmp: OrderSuggestion = order(COMPREHENSIVE_METABOLIC_PANEL, "Calcium and albumin on a diuretic")

    def evaluate(self, facts: Facts) -> Finding | None:
        loops = self.active_medications(facts, "loop-diuretics")
        thiazides = self.active_medications(facts, "thiazide-diuretics")
        diuretics = loops + thiazides
        if not diuretics:
            return None
        abnormal = self.abnormal_results(facts, on_loop=bool(loops), on_thiazide=bool(thiazides))
        if abnormal:
            return self.abnormal_finding(facts, abnormal, diuretics)
        return self.monitoring_gap(facts, diuretics)

    def abnormal_results(
        self, facts: Facts, *, on_loop: bool, on_thiazide: bool
    ) -> list[_Abnormal]:
        found = [
            *self.low_result("potassium", "K", self.low_potassium(facts), self.k_critical),
            *self.low_result("magnesium", "Mg", self.low_magnesium(facts), self.mg_critical),
        ]
        if on_thiazide:
            sodium = self.latest_lab(facts, "sodium", within_days=self.lab_window_days)
            if sodium and sodium.value is not None and self.is_low(sodium, self.na_low):
                found.append(
                    _Abnormal(
                        "sodium",
                        sodium,
                        False,
                        f"Low sodium (Na {fmt(sodium.value, 1)} mmol/L)",
                        self.lab_evidence(sodium, "Sodium", "mmol/L"),
                    )
                )
        calcium = self.albumin_corrected_calcium(facts, self.lab_window_days)
        if calcium is not None:
            if on_thiazide and calcium.certainly_above(self.ca_high):
                found.append(self.calcium_change(calcium, "High"))
            elif on_loop and calcium.certainly_below(self.ca_low):
                found.append(self.calcium_change(calcium, "Low"))
        return found

    def low_result(
        self, analyte: str, symbol: str, lab: LabEntry | None, critical_below: float
    ) -> list[_Abnormal]:
        """A low potassium or magnesium (mmol/L), as the `electrolytes` library judged it."""
        if lab is None or lab.value is None:
            return []
        return [
            _Abnormal(
                analyte,
                lab,
                certainly_below(lab, critical_below),
                f"Low {analyte} ({symbol} {fmt(lab.value)} mmol/L)",
                self.lab_evidence(lab, analyte.capitalize(), "mmol/L"),
            )
        ]

    def calcium_change(self, calcium: Calcium, direction: str) -> _Abnormal:
        evidence = self.calcium_evidence(calcium)
        if calcium.source == "calculated" and calcium.albumin is not None:
            # This card writes the calculation with one fixed decimal ("9.0 mg/dL").
            total, albumin = calcium.lab.value or 0.0, calcium.albumin.value or 0.0
            evidence = replace(
                evidence,
                value=(
                    f"{calcium.value:.1f} mg/dL (total {total:.1f} mg/dL, "
                    f"albumin {albumin:.1f} g/dL)"
                ),
            )
        phrase = f"{direction} calcium ({calcium.value:.1f} mg/dL)"
        return _Abnormal("calcium", calcium.lab, False, phrase, evidence)

    def abnormal_finding(
        self, facts: Facts, abnormal: list[_Abnormal], diuretics: list[MedicationEntry]
    ) -> Finding:
        names = self.drug_names(diuretics)
        drafted = any(m.drafted for m in diuretics)
        critical = any(a.critical for a in abnormal)
        abnormal.sort(key=lambda a: (not a.critical, a.analyte != "potassium"))
        supplements = self.active_medications(
            facts, "potassium-supplements"
        ) + self.active_medications(facts, "magnesium-supplements")
        severity: Severity = "critical" if critical else ("info" if supplements else "warning")
        lead = abnormal[0].phrase
        more = (
            f" and {len(abnormal) - 1} other change{'s' if len(abnormal) > 2 else ''}"
            if len(abnormal) > 1
            else ""
        )
        if critical:
            summary = f"{lead}{more} on {names}: severe, review today; may explain leg cramps."
        elif drafted:
            summary = f"{lead}{more}: the {names} being ordered may worsen it and cause leg cramps."
        else:
            summary = f"{lead}{more} on {names} may explain night-time leg cramps."
        explanation = (
            f"Loop and thiazide diuretics cause potassium and magnesium loss (thiazides also low "
            f"sodium and high calcium; loop diuretics low calcium). These disturbances cause "
            f"muscle cramps, often at night. Latest results within {self.lab_window_days} days "
            f"are shown."
        )
        cautions = list(self.low_confidence_cautions(diuretics))
        if supplements:
            cautions.append(
                "A potassium or magnesium supplement is already prescribed ("
                + self.drug_names(supplements)
                + "): the deficiency appears known."
            )
        suggestions = [self.bmp]
        if not any(a.analyte == "magnesium" for a in abnormal) or critical:
            suggestions.append(self.magnesium)
        if any(a.analyte == "calcium" for a in abnormal):
            suggestions.append(self.cmp)
        evidence = (
            *(self.medication_evidence(m) for m in diuretics),
            *(a.evidence for a in abnormal),
            *self.leg_complaint_evidence(facts),
        )
        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=explanation,
            evidence=evidence,
            suggestions=tuple(suggestions),
            cautions=tuple(cautions),
            labs=tuple((a.analyte, a.lab.reference) for a in abnormal),
            involves_draft_order=drafted,
            specificity=10,
        )

    def monitoring_gap(self, facts: Facts, diuretics: list[MedicationEntry]) -> Finding | None:
        # §1.6: a monitoring gap is a candidate-cause card: it needs a leg complaint on record
        # or the diuretic being drafted now.
        drafted = any(m.drafted for m in diuretics)
        if not (self.has_leg_complaint(facts) or drafted):
            return None
        window = self.monitoring_window_days
        if self.lab_results(facts, "potassium", within_days=window) or self.lab_results(
            facts, "magnesium", within_days=window
        ):
            return None
        names = self.drug_names(diuretics)
        summary = (
            f"On {names} with no potassium or magnesium result in 12 months; consider checking."
        )
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=(
                "Diuretics deplete potassium and magnesium, a common cause of leg cramps; neither "
                "has been measured in the last 12 months."
            ),
            evidence=(
                *(self.medication_evidence(m) for m in diuretics),
                *self.leg_complaint_evidence(facts),
            ),
            suggestions=(self.bmp, self.magnesium),
            cautions=self.low_confidence_cautions(diuretics),
            involves_draft_order=drafted,
            specificity=40,
        )


LOGIC = DiureticElectrolytes()

RULE = RuleVersion(
    id="diuretic-electrolytes",
    version="1.0.0",
    title="Diuretic-induced electrolyte disturbance",
    severities=("info", "warning", "critical"),
    logic=LOGIC,
    requires=(PATIENT, *MEDICATIONS, observations(*RESULTS), CONDITIONS),
    valuesets=(
        "loop-diuretics",
        "thiazide-diuretics",
        "potassium-supplements",
        "magnesium-supplements",
        *RESULTS,
        "leg-complaint",
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "Standard laboratory definitions; hyponatraemia: Spasovski et al., "
            "Eur J Endocrinol 2014 (ESE/ESICM/ERA-EDTA guideline)"
        ),
        url="https://doi.org/10.1530/EJE-13-1020",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Lab interpretation and the lab's reference range are preferred over the default "
            "thresholds (§1.2); the critical cut-offs (K < 2.5, Mg < 0.50 mmol/L) are fixed "
            "and apply to censored results only when unambiguous. A potassium or magnesium "
            "supplement lowers a warning to info (deficiency known) but never a critical result, "
            "which is time-sensitive whatever is prescribed. Calcium is the one "
            "electrolyte-abnormality judges (electrolytes.albumin_corrected_calcium): without an "
            "albumin result, total calcium is judged as measured and labelled uncorrected; a "
            "censored total or albumin makes the corrected value a bound, used only when it "
            "settles the question."
        ),
    ),
)
