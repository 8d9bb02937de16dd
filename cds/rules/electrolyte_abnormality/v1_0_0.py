"""electrolyte-abnormality 1.0.0: an electrolyte result outside its range (K, Mg, Na, calcium),
whatever the cause, or a recently coded electrolyte or volume disorder with no result
(clinical-content.md §3).

Abnormal and critical results are findings and fire on any chart (§1.6); the info card for a
coded disorder without a result is a candidate cause and needs a leg complaint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import LabEntry
from cds.rules._leg_context import complaint_evidence
from cds.rules.base import DataRequirement, Evidence, Finding, OrderSuggestion, Provenance, Rule
from cds.rules.common import (
    CA_HIGH,
    CA_LOW,
    ELECTROLYTE_WINDOW_DAYS,
    K_LOW,
    MG_LOW,
    albumin_corrected_calcium,
    certainly_above,
    certainly_at_least,
    certainly_below,
    condition_evidence,
    fit_summary,
    fmt,
    result_evidence,
    value_text,
)

RULE_ID = "electrolyte-abnormality"
VERSION = "1.0.0"

LAB_WINDOW_DAYS = ELECTROLYTE_WINDOW_DAYS  # 90 days, as §2: both cards read the same result
CODED_DISORDER_WINDOW_DAYS = 30  # §3 info: coded in the last 30 days with no lab

# Default limits (K < 3.5, Mg < 0.70 mmol/L, albumin-corrected Ca 8.5-10.5 mg/dL) are the §2
# ones in `common`, shared with diuretic-electrolytes.
K_CRITICAL_BELOW = 2.5  # mmol/L
MG_CRITICAL_BELOW = 0.50  # mmol/L (≈ 1.2 mg/dL)
NA_LOW = 135.0  # mmol/L: 125-134 is a warning whatever the lab's range
NA_HIGH = 145.0  # mmol/L: above it is hypernatraemia, a warning whatever the lab's range
NA_CRITICAL_BELOW = 125.0  # "profound" hyponatraemia (Spasovski 2014)
NA_CRITICAL_AT_OR_ABOVE = 160.0  # common laboratory critical limit (confirm locally)
CA_CRITICAL_BELOW = 7.6  # mg/dL (1.9 mmol/L), Society for Endocrinology acute hypocalcaemia
CA_CRITICAL_AT_OR_ABOVE = 14.0  # mg/dL (3.5 mmol/L), severe hypercalcaemia

BMP = OrderSuggestion("Basic metabolic panel", "51990-0", "Recheck electrolytes")
MAGNESIUM = OrderSuggestion("Magnesium, serum", "19123-9", "Magnesium with muscle cramps")
CMP = OrderSuggestion(
    "Comprehensive metabolic panel", "24323-8", "Calcium with albumin for correction"
)

UNCORRECTED_CAUTION = (
    "No albumin result within the window: calcium was judged as measured, not corrected for "
    "albumin."
)

CALCIUM_ANALYTES = ("calcium-total", "calcium-corrected", "calcium-ionized")
# §3 info: a coded disorder (value set) counts as "with no lab" when none of these analytes
# has a result in the lab window. Dehydration is judged on the basic metabolic panel.
CODED_DISORDERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("hypokalemia", "hypokalaemia", ("potassium",)),
    ("hypomagnesemia", "hypomagnesaemia", ("magnesium",)),
    ("hyponatremia", "hyponatraemia", ("sodium",)),
    ("hypernatremia", "hypernatraemia", ("sodium",)),
    ("hypocalcemia", "hypocalcaemia", CALCIUM_ANALYTES),
    ("hypercalcemia", "hypercalcaemia", CALCIUM_ANALYTES),
    ("dehydration", "dehydration", ("sodium", "potassium")),
)


@dataclass(frozen=True)
class _Limits:
    """How one analyte is judged. Defaults apply only when the lab gives no range (§1.2)."""

    analyte: str  # value set name, also the analyte name in Finding.labs
    name: str  # for the card, e.g. "potassium"
    unit: str  # canonical unit
    digits: int
    default_low: float | None = None
    default_high: float | None = None
    # Catalog cut-offs that apply whatever the lab's range says.
    always_low_below: float | None = None
    always_high_above: float | None = None
    critical_below: float | None = None
    critical_at_or_above: float | None = None


POTASSIUM = _Limits(
    "potassium", "potassium", "mmol/L", 1, default_low=K_LOW, critical_below=K_CRITICAL_BELOW
)
MAGNESIUM_LIMITS = _Limits(
    "magnesium", "magnesium", "mmol/L", 2, default_low=MG_LOW, critical_below=MG_CRITICAL_BELOW
)
SODIUM = _Limits(
    "sodium",
    "sodium",
    "mmol/L",
    1,
    default_low=NA_LOW,
    default_high=NA_HIGH,
    always_low_below=NA_LOW,
    always_high_above=NA_HIGH,
    critical_below=NA_CRITICAL_BELOW,
    critical_at_or_above=NA_CRITICAL_AT_OR_ABOVE,
)
# Ionized calcium has no catalog thresholds: judged on the lab's own flag or range only.
IONIZED_CALCIUM = _Limits("calcium-ionized", "ionized calcium", "mmol/L", 2)
REPORTED_CALCIUM = _Limits(
    "calcium",
    "calcium (albumin-corrected)",
    "mg/dL",
    1,
    default_low=CA_LOW,
    default_high=CA_HIGH,
    critical_below=CA_CRITICAL_BELOW,
    critical_at_or_above=CA_CRITICAL_AT_OR_ABOVE,
)
UNCORRECTED_CALCIUM = _Limits(
    "calcium",
    "calcium (total, uncorrected)",
    "mg/dL",
    1,
    default_low=CA_LOW,
    default_high=CA_HIGH,
    # Low albumin lowers the total: an uncorrected low total is no evidence of a critically
    # low corrected calcium, while a total >= 14 stays >= 14 unless albumin is above 4 g/dL.
    critical_below=None,
    critical_at_or_above=CA_CRITICAL_AT_OR_ABOVE,
)
# A total corrected here: no catalog cut-offs in the limits, the corrected value is compared
# with the lab's total-calcium range (or the defaults) in `_calcium`.
CALCULATED_CALCIUM = _Limits("calcium", "calcium (albumin-corrected)", "mg/dL", 1)


@dataclass(frozen=True)
class _Abnormal:
    analyte: str
    lab: LabEntry
    direction: str  # "low" or "high"
    critical: bool
    phrase: str  # e.g. "Serum magnesium 0.58 mmol/L (low)"
    evidence: Evidence
    caution: str = ""


def evaluate(facts: Facts) -> Finding | None:
    abnormal = _abnormal_results(facts)
    if abnormal:
        return _abnormal_finding(facts, abnormal)
    return _coded_without_result(facts)


# -- abnormal results --------------------------------------------------------------------------


def _abnormal_results(facts: Facts) -> list[_Abnormal]:
    found: list[_Abnormal] = []
    for limits in (POTASSIUM, MAGNESIUM_LIMITS, SODIUM):
        lab = facts.latest_lab(limits.analyte, within_days=LAB_WINDOW_DAYS)
        if lab is not None:
            found += _judge(facts, lab, limits)
    calcium = _calcium(facts)
    if calcium is not None:
        found.append(calcium)
    ionized = facts.latest_lab("calcium-ionized", within_days=LAB_WINDOW_DAYS)
    if ionized is not None:
        found += _judge(facts, ionized, IONIZED_CALCIUM)
    # Critical first, then in the order a clinician reads a panel (K, Mg, Na, Ca).
    return sorted(found, key=lambda a: not a.critical)


def _judge(facts: Facts, lab: LabEntry, limits: _Limits) -> list[_Abnormal]:
    critical_low = limits.critical_below is not None and certainly_below(lab, limits.critical_below)
    critical_high = limits.critical_at_or_above is not None and certainly_at_least(
        lab, limits.critical_at_or_above
    )
    # Facts.is_low / is_high: the flag, then the lab's range, then the default; a censored
    # result ("<3.0") counts when its bound settles it (§1.2).
    low = (
        critical_low
        or facts.is_low(lab, limits.default_low)
        or (limits.always_low_below is not None and certainly_below(lab, limits.always_low_below))
    )
    high = (
        critical_high
        or facts.is_high(lab, limits.default_high)
        or (limits.always_high_above is not None and certainly_above(lab, limits.always_high_above))
    )
    if not (low or high):
        return []
    direction = "low" if low else "high"
    critical = critical_low or critical_high
    return [_abnormal(lab, limits, direction, critical, limits.name.capitalize())]


def _abnormal(
    lab: LabEntry,
    limits: _Limits,
    direction: str,
    critical: bool,
    label: str,
    *,
    value: str | None = None,
    evidence: Evidence | None = None,
) -> _Abnormal:
    shown = value if value is not None else value_text(lab, limits.digits)
    level = f"critically {direction}" if critical else direction
    return _Abnormal(
        analyte=limits.analyte,
        lab=lab,
        direction=direction,
        critical=critical,
        phrase=f"Serum {limits.name} {shown} {limits.unit} ({level})",
        evidence=evidence or result_evidence(lab, label, limits.unit, limits.digits),
    )


def _calcium(facts: Facts) -> _Abnormal | None:
    """Albumin-corrected calcium (§1.3): the result diuretic-electrolytes reads too
    (`common.albumin_corrected_calcium`), so suppression can match it."""
    calcium = albumin_corrected_calcium(facts, LAB_WINDOW_DAYS)
    if calcium is None:
        return None
    if calcium.source == "reported":
        judged = _judge(facts, calcium.lab, REPORTED_CALCIUM)
        return judged[0] if judged else None
    if calcium.source == "no-albumin":
        # Judged as measured, on the lab's own flag or range, and the card says so.
        uncorrected = _judge(facts, calcium.lab, UNCORRECTED_CALCIUM)
        if not uncorrected:
            return None
        return replace(uncorrected[0], caution=UNCORRECTED_CAUTION)
    # Corrected from total and albumin: the total's flag describes the uncorrected value, so
    # the corrected number (a bound when an input is censored) is compared with the lab's
    # total-calcium range (or the defaults).
    low_limit, high_limit = calcium.low_limit, calcium.high_limit
    low = calcium.certainly_below(low_limit)
    if not (low or calcium.certainly_above(high_limit)):
        return None
    critical = calcium.certainly_below(CA_CRITICAL_BELOW) or calcium.certainly_at_least(
        CA_CRITICAL_AT_OR_ABOVE
    )
    return _abnormal(
        calcium.lab,
        CALCULATED_CALCIUM,
        "low" if low else "high",
        critical,
        "Calcium, albumin-corrected",
        value=calcium.value_text(1),
        evidence=calcium.evidence(f"reference {fmt(low_limit, 1)}-{fmt(high_limit, 1)}"),
    )


def _abnormal_finding(facts: Facts, abnormal: list[_Abnormal]) -> Finding:
    critical = any(a.critical for a in abnormal)
    lead = abnormal[0]
    others = len(abnormal) - 1
    more = f" and {others} other abnormal result{'s' if others > 1 else ''}" if others else ""
    if critical:
        summary = f"{lead.phrase}{more}: can cause cramps, tetany or arrhythmia; review today."
    elif lead.direction == "low" and not others:
        summary = f"{lead.phrase} can cause muscle cramps; review cause and replacement."
    elif lead.direction == "low":
        summary = f"{lead.phrase}{more} can cause muscle cramps; review the cause."
    else:
        summary = f"{lead.phrase}{more} can cause muscle weakness or cramps; review the cause."
    explanation = (
        "Low potassium, magnesium, sodium or calcium (and high sodium or calcium) make muscles "
        "and nerves excitable and are common, treatable causes of muscle cramps, often at "
        f"night. The latest result of each within {LAB_WINDOW_DAYS} days is shown; the lab's "
        "own flag or reference range is used where reported."
    )
    if critical:
        explanation += (
            " A critical value needs same-day review of the cause, replacement and an ECG "
            "where potassium, magnesium or calcium is concerned."
        )
    cautions = [a.caution for a in abnormal if a.caution]
    if any(a.lab.comparator for a in abnormal):
        cautions.append("A result was reported beyond the measuring range (with < or >).")
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity="critical" if critical else "warning",
        summary=fit_summary(summary),
        explanation=explanation,
        evidence=(
            *(a.evidence for a in abnormal),
            *complaint_evidence(facts.leg_complaints),
        ),
        suggestions=_suggestions(facts, abnormal),
        cautions=tuple(cautions),
        labs=tuple((a.analyte, a.lab.reference) for a in abnormal),
        # Drug-agnostic and so less specific than a drug-explained card (diuretic-electrolytes
        # is 10), more specific than a risk pattern.
        specificity=30,
    )


def _suggestions(facts: Facts, abnormal: list[_Abnormal]) -> tuple[OrderSuggestion, ...]:
    suggestions = [BMP]
    magnesium = facts.latest_lab("magnesium", within_days=LAB_WINDOW_DAYS)
    # Magnesium is not part of a metabolic panel: order it when unknown or itself abnormal
    # (low magnesium keeps potassium and calcium low until it is replaced).
    if magnesium is None or any(a.analyte == "magnesium" for a in abnormal):
        suggestions.append(MAGNESIUM)
    if any(a.analyte.startswith("calcium") for a in abnormal):
        suggestions.append(CMP)
    return tuple(suggestions)


# -- coded disorder, no result -------------------------------------------------------------


def _coded_without_result(facts: Facts) -> Finding | None:
    # §1.6: "this disorder could explain the cramps" is a candidate cause: complaint needed.
    if not facts.has_leg_complaint:
        return None
    unmeasured = []
    for valueset, name, analytes in CODED_DISORDERS:
        coded = facts.conditions_within(valueset, CODED_DISORDER_WINDOW_DAYS)
        if coded and not any(facts.labs(a, within_days=LAB_WINDOW_DAYS) for a in analytes):
            unmeasured.append((name, analytes, coded[0]))
    if not unmeasured:
        return None
    names = " and ".join(dict.fromkeys(name for name, _, _ in unmeasured))
    summary = (
        f"Recently coded {names} with no result in {LAB_WINDOW_DAYS} days may explain "
        "cramps; consider checking."
    )
    measured = {a for _, analytes, _ in unmeasured for a in analytes}
    suggestions = [BMP]
    if "magnesium" in measured:
        suggestions.append(MAGNESIUM)
    if measured & set(CALCIUM_ANALYTES):
        suggestions.append(CMP)
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity="info",
        summary=fit_summary(summary),
        explanation=(
            "An electrolyte or volume disorder was coded in the last "
            f"{CODED_DISORDER_WINDOW_DAYS} days, but no matching result is on record in the "
            f"last {LAB_WINDOW_DAYS} days. Such disorders cause muscle cramps; a current value "
            "shows whether it persists."
        ),
        evidence=(
            *(condition_evidence(c) for _, _, c in unmeasured),
            *complaint_evidence(facts.leg_complaints),
        ),
        suggestions=tuple(suggestions),
        specificity=45,  # a coded diagnosis without a value: the least specific of this rule
    )


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="Electrolyte or volume disturbance",
    severities=("info", "warning", "critical"),
    provenance=Provenance(
        guideline=(
            "Hyponatraemia: Spasovski et al., Eur J Endocrinol 2014 (ESE/ESICM/ERA-EDTA "
            "guideline); acute hypocalcaemia: Turner et al., Society for Endocrinology "
            "emergency guidance, Endocr Connect 2016; standard laboratory definitions"
        ),
        url="https://doi.org/10.1530/EJE-13-1020",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Lab window 90 days, the same as diuretic-electrolytes, so both cards judge the same "
            "result and the diuretic card can suppress this one (Finding.labs lists every "
            "abnormal result). The lab's interpretation, then its reference range, decides "
            "'outside the range' (§1.2); catalog defaults apply only without a range: K < 3.5, Mg"
            " < 0.70 mmol/L, corrected Ca 8.5-10.5 mg/dL; no default upper limit for K or Mg, so "
            "high K/Mg is flagged only by the lab. Na < 135 and > 145 are warnings whatever the "
            "range (§3). Critical cut-offs are fixed and apply to censored results only when "
            "unambiguous ('<2.0' is below 2.5). Calcium: a reported albumin-corrected value is "
            "used unless a total calcium is newer; a total is corrected with albumin from the "
            "same window and compared with the lab's total-calcium range (its flag describes the "
            "uncorrected value); without albumin the total is judged as measured and the card "
            "says so, and a low uncorrected total is a warning, never critical (low albumin alone"
            " lowers it); a censored total or albumin makes the corrected value a bound "
            "('<'/'>'), used only when it settles the question. Ionized calcium has no catalog "
            "cut-offs: lab flag or range only, never critical. Hyperkalaemia is a warning, not "
            "critical: §3 lists no critical limit for it. Info (coded disorder in 30 days with no"
            " matching result in 90 days) is a candidate cause and needs a leg complaint (§1.6); "
            "dehydration counts as unmeasured when neither sodium nor potassium was measured."
        ),
    ),
    requires=(
        DataRequirement(
            "Observation",
            (
                "potassium",
                "magnesium",
                "sodium",
                "calcium-total",
                "calcium-corrected",
                "calcium-ionized",
                "albumin",
                "leg-complaint",  # a complaint may be recorded as a coded Observation
            ),
        ),
        DataRequirement("Condition"),
        DataRequirement("Encounter"),
    ),
    evaluate=evaluate,
    valuesets=(
        "potassium",
        "magnesium",
        "sodium",
        "calcium-total",
        "calcium-corrected",
        "calcium-ionized",
        "albumin",
        "hypokalemia",
        "hypomagnesemia",
        "hyponatremia",
        "hypernatremia",
        "hypocalcemia",
        "hypercalcemia",
        "dehydration",
        "leg-complaint",
    ),
)
