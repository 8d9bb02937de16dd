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
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.lib.electrolytes.v1 import (
    CA_HIGH,
    CA_LOW,
    ELECTROLYTE_WINDOW_DAYS,
    K_LOW,
    MG_LOW,
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
from cds.rules.lib.requirements.v1 import CONDITIONS, ENCOUNTERS, observations
from cds.rules.lib.results.v1 import (
    certainly_above,
    certainly_at_least,
    certainly_below,
    value_text,
)
from cds.rules.lib.text.v1 import fit_summary, fmt

CALCIUM_ANALYTES = ("calcium-total", "calcium-corrected", "calcium-ionized")
# The results it reads (its Observations, with the complaints).
RESULTS: tuple[str, ...] = ("potassium", "magnesium", "sodium", *CALCIUM_ANALYTES, "albumin")

# (value set of the coded disorder, its name on the card, the analytes that measure it)
CodedDisorder = tuple[str, str, tuple[str, ...]]


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


@dataclass(frozen=True)
class _Abnormal:
    analyte: str
    lab: LabEntry
    direction: str  # "low" or "high"
    critical: bool
    phrase: str  # e.g. "Serum magnesium 0.58 mmol/L (low)"
    evidence: Evidence
    caution: str = ""


@dataclass(frozen=True)
class ElectrolyteAbnormality(RuleLogic, Library2026_11):
    """§3. The default limits (K < 3.5, Mg < 0.70 mmol/L, albumin-corrected Ca 8.5-10.5 mg/dL)
    and the look-back are the `electrolytes` library's §2 ones, shared with
    diuretic-electrolytes: both cards must judge the same result for the diuretic card to
    suppress this one."""

    lab_window_days: int = ELECTROLYTE_WINDOW_DAYS  # 90 days, as §2: both cards read one result
    coded_disorder_window_days: int = 30  # §3 info: coded in the last 30 days with no lab
    k_low: float = K_LOW  # mmol/L
    mg_low: float = MG_LOW  # mmol/L
    ca_low: float = CA_LOW  # mg/dL, albumin-corrected
    ca_high: float = CA_HIGH  # mg/dL, albumin-corrected
    k_critical_below: float = 2.5  # mmol/L
    mg_critical_below: float = 0.50  # mmol/L (≈ 1.2 mg/dL)
    na_low: float = 135.0  # mmol/L: 125-134 is a warning whatever the lab's range
    na_high: float = 145.0  # mmol/L: above it is hypernatraemia, a warning whatever the range
    na_critical_below: float = 125.0  # "profound" hyponatraemia (Spasovski 2014)
    na_critical_at_or_above: float = 160.0  # common laboratory critical limit (confirm locally)
    # Society for Endocrinology acute hypocalcaemia guidance.
    ca_critical_below: float = 7.6  # mg/dL (1.9 mmol/L)
    ca_critical_at_or_above: float = 14.0  # mg/dL (3.5 mmol/L), severe hypercalcaemia
    # §3 info: a coded disorder counts as "with no lab" when none of its analytes has a result
    # in the lab window. Dehydration is judged on the basic metabolic panel.
    coded_disorders: tuple[CodedDisorder, ...] = (
        ("hypokalemia", "hypokalaemia", ("potassium",)),
        ("hypomagnesemia", "hypomagnesaemia", ("magnesium",)),
        ("hyponatremia", "hyponatraemia", ("sodium",)),
        ("hypernatremia", "hypernatraemia", ("sodium",)),
        ("hypocalcemia", "hypocalcaemia", CALCIUM_ANALYTES),
        ("hypercalcemia", "hypercalcaemia", CALCIUM_ANALYTES),
        ("dehydration", "dehydration", ("sodium", "potassium")),
    )
    bmp: OrderSuggestion = order(BASIC_METABOLIC_PANEL, "Recheck electrolytes")
    magnesium: OrderSuggestion = order(MAGNESIUM, "Magnesium with muscle cramps")
    cmp: OrderSuggestion = order(
        COMPREHENSIVE_METABOLIC_PANEL, "Calcium with albumin for correction"
    )
    uncorrected_caution: str = (
        "No albumin result within the window: calcium was judged as measured, not corrected "
        "for albumin."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        abnormal = self.abnormal_results(facts)
        if abnormal:
            return self.abnormal_finding(facts, abnormal)
        return self.coded_without_result(facts)

    # -- how each analyte is judged ----------------------------------------------------------

    def potassium_limits(self) -> _Limits:
        return self.low_only_limits("potassium", 1, self.k_low, self.k_critical_below)

    def magnesium_limits(self) -> _Limits:
        return self.low_only_limits("magnesium", 2, self.mg_low, self.mg_critical_below)

    def low_only_limits(
        self, analyte: str, digits: int, low: float, critical_below: float
    ) -> _Limits:
        """Potassium and magnesium (mmol/L): a default lower limit and a critical one, but no
        default upper limit, so a high value is flagged by the lab alone."""
        return _Limits(
            analyte, analyte, "mmol/L", digits, default_low=low, critical_below=critical_below
        )

    def sodium_limits(self) -> _Limits:
        # §3: outside 135-145 mmol/L is a warning whatever the lab's range says, so these are
        # both the defaults and the limits that always apply.
        low, high = self.na_low, self.na_high
        return _Limits(
            "sodium",
            "sodium",
            "mmol/L",
            1,
            default_low=low,
            default_high=high,
            always_low_below=low,
            always_high_above=high,
            critical_below=self.na_critical_below,
            critical_at_or_above=self.na_critical_at_or_above,
        )

    def ionized_calcium_limits(self) -> _Limits:
        # Ionized calcium has no catalog thresholds: judged on the lab's own flag or range only.
        return _Limits("calcium-ionized", "ionized calcium", "mmol/L", 2)

    def reported_calcium_limits(self) -> _Limits:
        return _Limits(
            "calcium",
            "calcium (albumin-corrected)",
            "mg/dL",
            1,
            default_low=self.ca_low,
            default_high=self.ca_high,
            critical_below=self.ca_critical_below,
            critical_at_or_above=self.ca_critical_at_or_above,
        )

    def uncorrected_calcium_limits(self) -> _Limits:
        # The reported corrected calcium's limits without its critical low: low albumin lowers
        # the total, so an uncorrected low total is no evidence of a critically low corrected
        # calcium, while a total >= 14 stays >= 14 unless albumin is above 4 g/dL.
        return replace(
            self.reported_calcium_limits(),
            name="calcium (total, uncorrected)",
            critical_below=None,
        )

    def calculated_calcium_limits(self) -> _Limits:
        # A total corrected here: no catalog cut-offs in the limits, the corrected value is
        # compared with the lab's total-calcium range (or the defaults) in `calcium`.
        return _Limits("calcium", "calcium (albumin-corrected)", "mg/dL", 1)

    # -- abnormal results --------------------------------------------------------------------

    def abnormal_results(self, facts: Facts) -> list[_Abnormal]:
        found: list[_Abnormal] = []
        for limits in (self.potassium_limits(), self.magnesium_limits(), self.sodium_limits()):
            lab = self.latest_lab(facts, limits.analyte, within_days=self.lab_window_days)
            if lab is not None:
                found += self.judge(lab, limits)
        calcium = self.calcium(facts)
        if calcium is not None:
            found.append(calcium)
        ionized = self.latest_lab(facts, "calcium-ionized", within_days=self.lab_window_days)
        if ionized is not None:
            found += self.judge(ionized, self.ionized_calcium_limits())
        # Critical first, then in the order a clinician reads a panel (K, Mg, Na, Ca).
        return sorted(found, key=lambda a: not a.critical)

    def judge(self, lab: LabEntry, limits: _Limits) -> list[_Abnormal]:
        critical_low = limits.critical_below is not None and certainly_below(
            lab, limits.critical_below
        )
        critical_high = limits.critical_at_or_above is not None and certainly_at_least(
            lab, limits.critical_at_or_above
        )
        # results.is_low / is_high: the flag, then the lab's range, then the default; a
        # censored result ("<3.0") counts when its bound settles it (§1.2).
        low = (
            critical_low
            or self.is_low(lab, limits.default_low)
            or (
                limits.always_low_below is not None
                and certainly_below(lab, limits.always_low_below)
            )
        )
        high = (
            critical_high
            or self.is_high(lab, limits.default_high)
            or (
                limits.always_high_above is not None
                and certainly_above(lab, limits.always_high_above)
            )
        )
        if not (low or high):
            return []
        direction = "low" if low else "high"
        critical = critical_low or critical_high
        return [self.abnormal(lab, limits, direction, critical, limits.name.capitalize())]

    def abnormal(
        self,
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
            evidence=evidence or self.result_evidence(lab, label, limits.unit, limits.digits),
        )

    def calcium(self, facts: Facts) -> _Abnormal | None:
        """Albumin-corrected calcium (§1.3): the result diuretic-electrolytes reads too
        (`electrolytes.albumin_corrected_calcium`), so suppression can match it."""
        calcium = self.albumin_corrected_calcium(facts, self.lab_window_days)
        if calcium is None:
            return None
        if calcium.source == "reported":
            judged = self.judge(calcium.lab, self.reported_calcium_limits())
            return judged[0] if judged else None
        if calcium.source == "no-albumin":
            # Judged as measured, on the lab's own flag or range, and the card says so.
            uncorrected = self.judge(calcium.lab, self.uncorrected_calcium_limits())
            if not uncorrected:
                return None
            return replace(uncorrected[0], caution=self.uncorrected_caution)
        # Corrected from total and albumin: the total's flag describes the uncorrected value,
        # so the corrected number (a bound when an input is censored) is compared with the
        # lab's total-calcium range (or the defaults).
        low_limit, high_limit = self.corrected_calcium_range(calcium)
        low = calcium.certainly_below(low_limit)
        if not (low or calcium.certainly_above(high_limit)):
            return None
        critical = calcium.certainly_below(self.ca_critical_below) or calcium.certainly_at_least(
            self.ca_critical_at_or_above
        )
        return self.abnormal(
            calcium.lab,
            self.calculated_calcium_limits(),
            "low" if low else "high",
            critical,
            "Calcium, albumin-corrected",
            value=calcium.value_text(1),
            evidence=self.calcium_evidence(
                calcium, f"reference {fmt(low_limit, 1)}-{fmt(high_limit, 1)}"
            ),
        )

    def corrected_calcium_range(self, calcium: Calcium) -> tuple[float, float]:
        """The range a calcium corrected here is judged against: the lab's total-calcium range,
        else `ca_low` / `ca_high`. (`Calcium.low_limit` / `high_limit` fall back on the
        library's defaults instead: the same values today, but then the default limits of a
        version would not be one parameter.)"""
        low = calcium.lab.reference_low
        high = calcium.lab.reference_high
        return (
            low if low is not None else self.ca_low,
            high if high is not None else self.ca_high,
        )

    def abnormal_finding(self, facts: Facts, abnormal: list[_Abnormal]) -> Finding:
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
            "Low potassium, magnesium, sodium or calcium (and high sodium or calcium) make "
            "muscles and nerves excitable and are common, treatable causes of muscle cramps, "
            f"often at night. The latest result of each within {self.lab_window_days} days is "
            "shown; the lab's own flag or reference range is used where reported."
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
            severity="critical" if critical else "warning",
            summary=fit_summary(summary),
            explanation=explanation,
            evidence=(
                *(a.evidence for a in abnormal),
                *self.leg_complaint_evidence(facts),
            ),
            suggestions=self.abnormal_suggestions(facts, abnormal),
            cautions=tuple(cautions),
            labs=tuple((a.analyte, a.lab.reference) for a in abnormal),
            # Drug-agnostic and so less specific than a drug-explained card
            # (diuretic-electrolytes is 10), more specific than a risk pattern.
            specificity=30,
        )

    def abnormal_suggestions(
        self, facts: Facts, abnormal: list[_Abnormal]
    ) -> tuple[OrderSuggestion, ...]:
        suggestions = [self.bmp]
        magnesium = self.latest_lab(facts, "magnesium", within_days=self.lab_window_days)
        # Magnesium is not part of a metabolic panel: order it when unknown or itself abnormal
        # (low magnesium keeps potassium and calcium low until it is replaced).
        if magnesium is None or any(a.analyte == "magnesium" for a in abnormal):
            suggestions.append(self.magnesium)
        if any(a.analyte.startswith("calcium") for a in abnormal):
            suggestions.append(self.cmp)
        return tuple(suggestions)

    # -- coded disorder, no result ---------------------------------------------------------

    def coded_without_result(self, facts: Facts) -> Finding | None:
        # §1.6: "this disorder could explain the cramps" is a candidate cause: complaint needed.
        if not self.has_leg_complaint(facts):
            return None
        unmeasured = []
        for valueset, name, analytes in self.coded_disorders:
            coded = self.conditions_within(facts, valueset, self.coded_disorder_window_days)
            if coded and not any(
                self.lab_results(facts, a, within_days=self.lab_window_days) for a in analytes
            ):
                unmeasured.append((name, analytes, coded[0]))
        if not unmeasured:
            return None
        names = " and ".join(dict.fromkeys(name for name, _, _ in unmeasured))
        summary = (
            f"Recently coded {names} with no result in {self.lab_window_days} days may explain "
            "cramps; consider checking."
        )
        measured = {a for _, analytes, _ in unmeasured for a in analytes}
        suggestions = [self.bmp]
        if "magnesium" in measured:
            suggestions.append(self.magnesium)
        if measured & set(CALCIUM_ANALYTES):
            suggestions.append(self.cmp)
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=(
                "An electrolyte or volume disorder was coded in the last "
                f"{self.coded_disorder_window_days} days, but no matching result is on record "
                f"in the last {self.lab_window_days} days. Such disorders cause muscle cramps; "
                "a current value shows whether it persists."
            ),
            evidence=(
                *(self.condition_evidence(c) for _, _, c in unmeasured),
                *self.leg_complaint_evidence(facts),
            ),
            suggestions=tuple(suggestions),
            specificity=45,  # a coded diagnosis without a value: the least specific of this rule
        )


LOGIC = ElectrolyteAbnormality()

RULE = RuleVersion(
    id="electrolyte-abnormality",
    version="1.0.0",
    title="Electrolyte or volume disturbance",
    severities=("info", "warning", "critical"),
    logic=LOGIC,
    requires=(observations(*RESULTS, "leg-complaint"), CONDITIONS, ENCOUNTERS),
    valuesets=(
        *RESULTS,
        *(valueset for valueset, _, _ in LOGIC.coded_disorders),
        "leg-complaint",
    ),
    terminology="2026.11",
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
)
