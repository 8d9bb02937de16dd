"""electrolyte-abnormality 1.1.0: potassium of 6.0 mmol/L or more, or flagged HH, is critical;
results are shown as reported; each finding cites its own source; shorter cards (§22)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import LabEntry
from cds.rules.base import Finding, GuidelineSource, Provenance
from cds.rules.electrolyte_abnormality import v1_0_0 as previous
from cds.rules.electrolyte_abnormality.v1_0_0 import CALCIUM_ANALYTES
from cds.rules.electrolyte_abnormality.v1_0_0 import _Abnormal as Abnormal
from cds.rules.electrolyte_abnormality.v1_0_0 import _Limits as Limits
from cds.rules.lib.electrolytes.v2 import (
    HYPOCALCAEMIA_GUIDANCE,
    HYPONATRAEMIA_GUIDELINE,
    LABORATORY_LIMITS,
)
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.orders.v1 import OrderSuggestion
from cds.rules.lib.requirements.v1 import (
    CONDITIONS_IF_AVAILABLE,
    ENCOUNTERS_IF_AVAILABLE,
    observations,
)
from cds.rules.lib.text.v1 import SUMMARY_LIMIT, fit_summary, fmt

# What `complaint_words` reads to say which complaint is on record.
COMPLAINT_WORDS: tuple[str, ...] = ("leg-pain", "leg-cramp", "restless-legs", "leg-swelling")

# (analyte, direction) -> what a critical value of it can do, for the summary.
CRITICAL_CONSEQUENCES: tuple[tuple[str, str, str], ...] = (
    ("potassium", "high", "risk of arrhythmia"),
    ("potassium", "low", "can cause cramps, weakness or arrhythmia"),
    ("magnesium", "low", "can cause cramps, tetany or arrhythmia"),
    ("sodium", "low", "can cause cramps, confusion or seizures"),
    ("sodium", "high", "can cause weakness, confusion or seizures"),
    ("calcium", "low", "can cause cramps, tetany or arrhythmia"),
    ("calcium", "high", "can cause weakness, confusion or arrhythmia"),
)


@dataclass(frozen=True)
class ElectrolyteAbnormality(previous.ElectrolyteAbnormality, Library2026_12):
    """What 1.1.0 decides differently:

    - hyperkalaemia (§22.2 h): potassium of 6.0 mmol/L or more, or a result the lab flags HH, is
      critical ("review today"); below 6.0 a high potassium stays a warning, flagged by the lab's
      range alone. Potassium is shown with two decimals, so a 5.99 never reads as "6";
    - results are shown as reported, comparator included (§22.2 g); the caution that said a
      result was censored goes, since the value now shows it;
    - each finding cites its own source: a low sodium the hyponatraemia guideline, a low calcium
      the Society for Endocrinology hypocalcaemia guidance, the others the laboratory limits;
    - the coded disorder without a result is a candidate cause (§1.6): it opens on a leg pain
      or cramp complaint and says which;
    - magnesium is suggested only on a card about potassium or magnesium.
    """

    k_critical_at_or_above: float = 6.0  # mmol/L (§22.2 h)
    k_critical_flags: frozenset[str] = frozenset({"HH"})  # v3 interpretation (§22.2 h)
    k_digits: int = 2  # 5.99 is shown as 5.99, not 6
    critical_consequences: tuple[tuple[str, str, str], ...] = CRITICAL_CONSEQUENCES
    hyponatraemia_source: GuidelineSource = HYPONATRAEMIA_GUIDELINE
    hypocalcaemia_source: GuidelineSource = HYPOCALCAEMIA_GUIDANCE
    laboratory_source: GuidelineSource = LABORATORY_LIMITS
    evidence_shown: int = 6
    cautions_shown: int = 2

    # -- how potassium is judged -------------------------------------------------------------

    def potassium_limits(self) -> Limits:
        limits = self.low_only_limits("potassium", self.k_digits, self.k_low, self.k_critical_below)
        return replace(limits, critical_at_or_above=self.k_critical_at_or_above)

    def judge(self, lab: LabEntry, limits: Limits) -> list[Abnormal]:
        """As 1.0.0, and a potassium the lab flags critically high (HH) is critical (§22.2 h)."""
        if limits.analyte == "potassium" and self.k_critical_flags & set(lab.interpretation):
            return [self.abnormal(lab, limits, "high", True, limits.name.capitalize())]
        return super().judge(lab, limits)

    def calcium(self, facts: Facts) -> Abnormal | None:
        """As 1.0.0 for a reported or uncorrected calcium. A calcium corrected here is low or high
        by the library's `calcium_outside_range`, the question diuretic-electrolytes asks too, so
        the two cards judge it alike and suppression holds (§1.4); compared at the precision it
        carries, so float arithmetic never moves it across a limit."""
        found = self.albumin_corrected_calcium(facts, self.lab_window_days)
        if found is None or found.source != "calculated":
            return super().calcium(facts)
        calcium = self.rounded_calcium(found)
        direction = self.calcium_outside_range(
            calcium, default_low=self.ca_low, default_high=self.ca_high
        )
        if direction is None:
            return None
        critical = calcium.certainly_below(self.ca_critical_below) or calcium.certainly_at_least(
            self.ca_critical_at_or_above
        )
        low_limit, high_limit = self.corrected_calcium_range(calcium)
        return self.abnormal(
            calcium.lab,
            self.calculated_calcium_limits(),
            direction,
            critical,
            "Calcium, albumin-corrected",
            value=calcium.value_text(1),
            evidence=self.calcium_evidence(
                calcium, f"reference {fmt(low_limit, 1)}-{fmt(high_limit, 1)}"
            ),
        )

    # -- the card --------------------------------------------------------------------------------

    def abnormal_finding(self, facts: Facts, abnormal: list[Abnormal]) -> Finding:
        critical = any(a.critical for a in abnormal)
        lead = abnormal[0]
        others = len(abnormal) - 1
        more = f" and {others} other abnormal result{'s' if others > 1 else ''}" if others else ""
        if critical:
            summary = f"{lead.phrase}{more}: {self.consequence(lead)}; review today."
        elif lead.direction == "low" and not others:
            summary = f"{lead.phrase} can cause muscle cramps; review cause and replacement."
        elif lead.direction == "low":
            summary = f"{lead.phrase}{more} can cause muscle cramps; review the cause."
        else:
            summary = f"{lead.phrase}{more} can cause muscle weakness or cramps; review the cause."
        complaints = self.pain_or_cramp_complaints(facts)
        evidence = (*(a.evidence for a in abnormal), *self.complaint_evidence(complaints)[:1])
        return Finding(
            severity="critical" if critical else "warning",
            summary=fit_summary(summary),
            explanation=self.abnormal_explanation(lead, critical=critical),
            evidence=evidence[: self.evidence_shown],
            suggestions=self.abnormal_suggestions(facts, abnormal),
            cautions=tuple(a.caution for a in abnormal if a.caution)[: self.cautions_shown],
            labs=tuple((a.analyte, a.lab.reference) for a in abnormal),
            specificity=30,
            source=self.source_for(lead.analyte, lead.direction),
            candidate=False,  # an abnormal result stands on its own (§1.6)
        )

    def consequence(self, lead: Abnormal) -> str:
        analyte = "calcium" if lead.analyte.startswith("calcium") else lead.analyte
        for name, direction, text in self.critical_consequences:
            if (name, direction) == (analyte, lead.direction):
                return text
        return "can cause cramps or arrhythmia"

    def abnormal_explanation(self, lead: Abnormal, *, critical: bool) -> str:
        if critical and (lead.analyte, lead.direction) == ("potassium", "high"):
            return (
                "Potassium of 6.0 mmol/L or more, or flagged critical by the lab, can cause "
                "muscle weakness and dangerous arrhythmias. Review today: ECG, a repeat sample "
                "if haemolysis is possible, and the cause (kidney function, drugs)."
            )
        if (lead.analyte, lead.direction) == ("potassium", "high"):
            first = "High potassium can cause muscle weakness and, when marked, arrhythmia."
        else:
            first = (
                "Low potassium, magnesium, sodium or calcium, and high sodium or calcium, make "
                "muscles and nerves excitable and are common, treatable causes of cramps."
            )
        if critical:
            return (
                f"{first} A critical value needs same-day review of the cause and replacement, "
                "with an ECG for potassium, magnesium or calcium."
            )
        return (
            f"{first} The latest result of each within {self.lab_window_days} days is shown, "
            "judged by the lab's own flag or range where it gives one."
        )

    def abnormal_suggestions(
        self, facts: Facts, abnormal: list[Abnormal]
    ) -> tuple[OrderSuggestion, ...]:
        """A panel to recheck; magnesium on a magnesium card, or on a low-potassium card when no
        magnesium is on record in the window (low magnesium keeps potassium low); CMP for a
        calcium."""
        suggestions = [self.bmp]
        magnesium = self.latest_lab(facts, "magnesium", within_days=self.lab_window_days)
        low_potassium = any(a.analyte == "potassium" and a.direction == "low" for a in abnormal)
        if any(a.analyte == "magnesium" for a in abnormal) or (low_potassium and magnesium is None):
            suggestions.append(self.magnesium)
        if any(a.analyte.startswith("calcium") for a in abnormal):
            suggestions.append(self.cmp)
        return tuple(suggestions)

    def source_for(self, analyte: str, direction: str) -> GuidelineSource:
        """The guideline a finding about this analyte rests on (§3 References, §21)."""
        if (analyte, direction) == ("sodium", "low"):
            return self.hyponatraemia_source
        if analyte.startswith("calcium") and direction == "low":
            return self.hypocalcaemia_source
        return self.laboratory_source

    # -- coded disorder, no result: a candidate cause ------------------------------------------

    def coded_without_result(self, facts: Facts) -> Finding | None:
        # §1.6: "this disorder could explain the leg symptoms" needs a leg pain or cramp
        # complaint on record (electrolyte and volume disorders explain cramps, not swelling).
        complaints = self.pain_or_cramp_complaints(facts)
        if not complaints:
            return None
        unmeasured = []
        for valueset, name, analytes in self.coded_disorders:
            coded = self.conditions_within(facts, valueset, self.coded_disorder_window_days)
            if coded and not any(
                self.lab_results(facts, a, within_days=self.lab_window_days) for a in analytes
            ):
                unmeasured.append((valueset, name, analytes, coded[0]))
        if not unmeasured:
            return None
        disorders = list(dict.fromkeys(name for _, name, _, _ in unmeasured))
        words = self.complaint_words(facts, complaints)
        summary = ""
        for shown in (" and ".join(disorders), f"{disorders[0]} (+{len(disorders) - 1} more)"):
            summary = (
                f"Recently coded {shown}, no result in {self.lab_window_days} days: may explain "
                f"the {words}; consider checking."
            )
            if len(summary) < SUMMARY_LIMIT:
                break
        measured = {a for _, _, analytes, _ in unmeasured for a in analytes}
        suggestions = [self.bmp]
        if "magnesium" in measured:
            suggestions.append(self.magnesium)
        if measured & set(CALCIUM_ANALYTES):
            suggestions.append(self.cmp)
        evidence = (
            *(self.condition_evidence(c) for _, _, _, c in unmeasured),
            *self.complaint_evidence(complaints)[:1],
        )
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=(
                "An electrolyte or volume disorder was coded in the last "
                f"{self.coded_disorder_window_days} days, but no matching result is on record "
                f"in the last {self.lab_window_days} days. Such disorders cause muscle cramps; "
                "a current value shows whether it persists."
            ),
            evidence=evidence[: self.evidence_shown],
            suggestions=tuple(suggestions),
            specificity=45,
            source=self.coded_source(unmeasured[0][0]),
            candidate=True,
        )

    def coded_source(self, valueset: str) -> GuidelineSource:
        """The source of the first coded disorder the card names."""
        if valueset == "hyponatremia":
            return self.hyponatraemia_source
        if valueset == "hypocalcemia":
            return self.hypocalcaemia_source
        return self.laboratory_source


LOGIC = ElectrolyteAbnormality()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    # Coded disorders without a result are a candidate cause, visits are read for the complaint:
    # without them every finding on a result still stands.
    requires=(
        observations(*previous.RESULTS, "leg-complaint"),
        CONDITIONS_IF_AVAILABLE,
        ENCOUNTERS_IF_AVAILABLE,
    ),
    valuesets=(*previous.RULE.valuesets, "leg-cramp-complaint", *COMPLAINT_WORDS),
    source_label="Laboratory reference limits",
    provenance=Provenance(
        guideline=(
            "Standard laboratory definitions; hyperkalaemia: catalog §22.2 h; hyponatraemia: "
            "Spasovski et al., Eur J Endocrinol 2014 (ESE/ESICM/ERA-EDTA guideline); acute "
            "hypocalcaemia: Turner et al., Society for Endocrinology emergency guidance, Endocr "
            "Connect 2016"
        ),
        url="https://doi.org/10.1530/EJE-13-1020",
        released="2026-12-07",
        changes=(
            "Potassium of 6.0 mmol/L or more, or flagged HH by the lab, is a critical card "
            "('review today', §22.2 h); 5.99 stays a warning when the lab's range flags it. "
            "Results are shown as reported, comparator included (§22.2 g), and potassium with "
            "two decimals. A low-sodium card cites the hyponatraemia guideline, a low-calcium "
            "card the Society for Endocrinology hypocalcaemia guidance, the others the "
            "laboratory limits. The coded-disorder card (no result) is a candidate cause: it "
            "needs a leg pain or cramp complaint and names it. Magnesium is suggested only on a "
            "potassium or magnesium card. Shorter explanation; wider value sets (§22.1)."
        ),
        rationale=(
            "§22.2 h names potassium only: other analytes are critical by the catalog's fixed "
            "limits, as in 1.0.0, and an LL/HH flag on them does not change severity. A "
            "censored potassium is critical only when its bound settles it ('>6.0' does, "
            "'>5.5' does not). Below 6.0 there is still no default upper limit: a high "
            "potassium without the lab's flag or range gives no card. Potassium is shown with "
            "two decimals: with one, 5.99 read '6 mmol/L (high)' on a warning card, and 3.49 "
            "would read 3.5. The acute hypocalcaemia guidance has no stable address in the "
            "catalog, so its source has a label only; where no guideline names the limit (high "
            "potassium, magnesium, high calcium, hypernatraemia) the card cites the laboratory "
            "limits. Abnormal results stay findings whatever the chart holds (§1.6); only the "
            "coded-disorder card is a candidate cause, opened by a leg pain or cramp complaint "
            "(an electrolyte disorder does not explain a swollen leg or restless legs). Evidence "
            "is capped at six lines, one complaint included."
        ),
    ),
)
