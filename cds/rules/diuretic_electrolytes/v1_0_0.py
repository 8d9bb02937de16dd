"""diuretic-electrolytes 1.0.0: loop or thiazide diuretic with low K / Mg / Na or a calcium
change, or with no K and Mg monitoring in 12 months (clinical-content.md §2)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import LabEntry, MedicationEntry
from cds.rules._leg_context import complaint_evidence
from cds.rules.base import (
    DataRequirement,
    Evidence,
    Finding,
    OrderSuggestion,
    Provenance,
    Rule,
    Severity,
)
from cds.rules.common import (
    CA_HIGH,
    CA_LOW,
    ELECTROLYTE_WINDOW_DAYS,
    Calcium,
    albumin_corrected_calcium,
    certainly_below,
    drug_names,
    fit_summary,
    fmt,
    lab_evidence,
    low_confidence_cautions,
    low_magnesium,
    low_potassium,
    medication_evidence,
)

RULE_ID = "diuretic-electrolytes"
VERSION = "1.0.0"

# The §2 window and default limits (K < 3.5, Mg < 0.70 mmol/L, albumin-corrected Ca 8.5-10.5
# mg/dL: thiazides raise it, loop diuretics lower it) are `common`'s, shared with
# electrolyte-abnormality so that both cards judge the same results.
LAB_WINDOW_DAYS = ELECTROLYTE_WINDOW_DAYS
MONITORING_WINDOW_DAYS = 365
K_CRITICAL = 2.5  # mmol/L
MG_CRITICAL = 0.50  # mmol/L
NA_LOW = 135.0  # mmol/L, thiazide hyponatraemia

BMP = OrderSuggestion("Basic metabolic panel", "51990-0", "Electrolytes on a diuretic")
MAGNESIUM = OrderSuggestion("Magnesium, serum", "19123-9", "Magnesium on a diuretic")
CMP = OrderSuggestion(
    "Comprehensive metabolic panel", "24323-8", "Calcium and albumin on a diuretic"
)


@dataclass(frozen=True)
class _Abnormal:
    analyte: str
    lab: LabEntry
    critical: bool
    phrase: str  # for the summary, e.g. "Low potassium (K 3.1 mmol/L)"
    evidence: Evidence


def evaluate(facts: Facts) -> Finding | None:
    loops = facts.active_medications("loop-diuretics")
    thiazides = facts.active_medications("thiazide-diuretics")
    diuretics = loops + thiazides
    if not diuretics:
        return None
    abnormal = _abnormal_results(facts, on_loop=bool(loops), on_thiazide=bool(thiazides))
    drafted = any(m.drafted for m in diuretics)
    cautions = low_confidence_cautions(diuretics)
    drug_evidence = tuple(medication_evidence(m) for m in diuretics)
    names = drug_names(diuretics)
    if abnormal:
        return _abnormal_finding(
            facts, abnormal, diuretics, names, drafted, cautions, drug_evidence
        )
    return _monitoring_gap(facts, diuretics, names, drafted, cautions, drug_evidence)


def _abnormal_results(facts: Facts, *, on_loop: bool, on_thiazide: bool) -> list[_Abnormal]:
    found: list[_Abnormal] = []
    potassium = low_potassium(facts)
    if potassium is not None and potassium.value is not None:
        found.append(
            _Abnormal(
                "potassium",
                potassium,
                certainly_below(potassium, K_CRITICAL),
                f"Low potassium (K {fmt(potassium.value)} mmol/L)",
                lab_evidence(potassium, "Potassium", "mmol/L"),
            )
        )
    magnesium = low_magnesium(facts)
    if magnesium is not None and magnesium.value is not None:
        found.append(
            _Abnormal(
                "magnesium",
                magnesium,
                certainly_below(magnesium, MG_CRITICAL),
                f"Low magnesium (Mg {fmt(magnesium.value)} mmol/L)",
                lab_evidence(magnesium, "Magnesium", "mmol/L"),
            )
        )
    if on_thiazide:
        sodium = facts.latest_lab("sodium", within_days=LAB_WINDOW_DAYS)
        if sodium and sodium.value is not None and facts.is_low(sodium, NA_LOW):
            found.append(
                _Abnormal(
                    "sodium",
                    sodium,
                    False,
                    f"Low sodium (Na {fmt(sodium.value, 1)} mmol/L)",
                    lab_evidence(sodium, "Sodium", "mmol/L"),
                )
            )
    calcium = albumin_corrected_calcium(facts, LAB_WINDOW_DAYS)
    if calcium is not None:
        if on_thiazide and calcium.certainly_above(CA_HIGH):
            found.append(_calcium_change(calcium, "High"))
        elif on_loop and calcium.certainly_below(CA_LOW):
            found.append(_calcium_change(calcium, "Low"))
    return found


def _calcium_change(calcium: Calcium, direction: str) -> _Abnormal:
    evidence = calcium.evidence()
    if calcium.source == "calculated" and calcium.albumin is not None:
        # This card writes the calculation with one fixed decimal ("9.0 mg/dL").
        total, albumin = calcium.lab.value or 0.0, calcium.albumin.value or 0.0
        evidence = replace(
            evidence,
            value=(
                f"{calcium.value:.1f} mg/dL (total {total:.1f} mg/dL, albumin {albumin:.1f} g/dL)"
            ),
        )
    phrase = f"{direction} calcium ({calcium.value:.1f} mg/dL)"
    return _Abnormal("calcium", calcium.lab, False, phrase, evidence)


def _abnormal_finding(
    facts: Facts,
    abnormal: list[_Abnormal],
    diuretics: list[MedicationEntry],
    names: str,
    drafted: bool,
    cautions: tuple[str, ...],
    drug_evidence: tuple[Evidence, ...],
) -> Finding:
    critical = any(a.critical for a in abnormal)
    abnormal.sort(key=lambda a: (not a.critical, a.analyte != "potassium"))
    supplements = facts.active_medications("potassium-supplements") + facts.active_medications(
        "magnesium-supplements"
    )
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
        f"sodium and high calcium; loop diuretics low calcium). These disturbances cause muscle "
        f"cramps, often at night. Latest results within {LAB_WINDOW_DAYS} days are shown."
    )
    extra_cautions = list(cautions)
    if supplements:
        extra_cautions.append(
            "A potassium or magnesium supplement is already prescribed ("
            + drug_names(supplements)
            + "): the deficiency appears known."
        )
    suggestions = [BMP]
    if not any(a.analyte == "magnesium" for a in abnormal) or critical:
        suggestions.append(MAGNESIUM)
    if any(a.analyte == "calcium" for a in abnormal):
        suggestions.append(CMP)
    evidence = (
        *drug_evidence,
        *(a.evidence for a in abnormal),
        *complaint_evidence(facts.leg_complaints),
    )
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity=severity,
        summary=fit_summary(summary),
        explanation=explanation,
        evidence=evidence,
        suggestions=tuple(suggestions),
        cautions=tuple(extra_cautions),
        labs=tuple((a.analyte, a.lab.reference) for a in abnormal),
        involves_draft_order=drafted,
        specificity=10,
    )


def _monitoring_gap(
    facts: Facts,
    diuretics: list[MedicationEntry],
    names: str,
    drafted: bool,
    cautions: tuple[str, ...],
    drug_evidence: tuple[Evidence, ...],
) -> Finding | None:
    # §1.6: a monitoring gap is a candidate-cause card: it needs a leg complaint on record or
    # the diuretic being drafted now.
    if not (facts.has_leg_complaint or drafted):
        return None
    if facts.labs("potassium", within_days=MONITORING_WINDOW_DAYS) or facts.labs(
        "magnesium", within_days=MONITORING_WINDOW_DAYS
    ):
        return None
    summary = f"On {names} with no potassium or magnesium result in 12 months; consider checking."
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity="info",
        summary=fit_summary(summary),
        explanation=(
            "Diuretics deplete potassium and magnesium, a common cause of leg cramps; neither "
            "has been measured in the last 12 months."
        ),
        evidence=(*drug_evidence, *complaint_evidence(facts.leg_complaints)),
        suggestions=(BMP, MAGNESIUM),
        cautions=cautions,
        involves_draft_order=drafted,
        specificity=40,
    )


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="Diuretic-induced electrolyte disturbance",
    severities=("info", "warning", "critical"),
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
            "electrolyte-abnormality judges (common.albumin_corrected_calcium): without an "
            "albumin result, total calcium is judged as measured and labelled uncorrected; a "
            "censored total or albumin makes the corrected value a bound, used only when it "
            "settles the question."
        ),
    ),
    requires=(
        DataRequirement("Patient"),
        DataRequirement("MedicationRequest"),
        DataRequirement("MedicationStatement"),
        DataRequirement(
            "Observation",
            (
                "potassium",
                "magnesium",
                "sodium",
                "calcium-total",
                "calcium-corrected",
                "albumin",
            ),
        ),
        DataRequirement("Condition"),
    ),
    evaluate=evaluate,
    valuesets=(
        "loop-diuretics",
        "thiazide-diuretics",
        "potassium-supplements",
        "magnesium-supplements",
        "potassium",
        "magnesium",
        "sodium",
        "calcium-total",
        "calcium-corrected",
        "albumin",
        "leg-complaint",
    ),
)
