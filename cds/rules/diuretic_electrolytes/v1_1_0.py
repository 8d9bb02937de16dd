"""diuretic-electrolytes 1.1.0: an active order past its dispensing window still counts, results
are shown as reported, calcium is judged against the lab's own range, each finding cites its own
source, and a thiazide combination names its potassium-sparing partner (§22)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cds.facts import Facts
from cds.record import LabEntry, MedicationEntry
from cds.rules.base import Finding, GuidelineSource, Provenance, Severity
from cds.rules.diuretic_electrolytes import v1_0_0 as previous
from cds.rules.diuretic_electrolytes.v1_0_0 import _Abnormal as Abnormal
from cds.rules.lib.electrolytes.v1 import Calcium
from cds.rules.lib.electrolytes.v2 import HYPONATRAEMIA_GUIDELINE, LABORATORY_LIMITS
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.orders.v1 import OrderSuggestion
from cds.rules.lib.requirements.v1 import (
    CONDITIONS_IF_AVAILABLE,
    ENCOUNTERS_IF_AVAILABLE,
    MEDICATIONS,
    PATIENT,
    observations,
)
from cds.rules.lib.results.v1 import certainly_below
from cds.rules.lib.text.v1 import SUMMARY_LIMIT, capitalise, fit_summary, fmt

# What `complaint_words` reads to say which complaint is on record.
COMPLAINT_WORDS: tuple[str, ...] = ("leg-pain", "leg-cramp", "restless-legs", "leg-swelling")
# §1.5: potassium-sparing agents. They never open this card (no value set it reads holds them),
# but a thiazide combination product names them (§22.2 o).
POTASSIUM_SPARING: tuple[str, ...] = ("amiloride", "triamterene", "spironolactone", "eplerenone")


@dataclass(frozen=True)
class DiureticElectrolytes(previous.DiureticElectrolytes, Library2026_12):
    """What 1.1.0 decides differently:

    - which diuretic orders count, from the 2026.12 library (§22.2 c, d): an active order whose
      dispensing window (`dispenseRequest.validityPeriod`) has ended is still taken;
    - results are shown as reported, comparator included ("K <2.5 mmol/L", §22.2 g);
    - calcium is low or high by the lab's flag or range first (§1.2), as the electrolyte card
      judges it (`calcium_outside_range`), so the two cards agree and suppression holds (§1.4);
    - a potassium or magnesium supplement lowers a warning to info only when it treats every
      abnormal result on the card, and never a critical one (§22.2 b);
    - a thiazide combination with triamterene or amiloride fires as the thiazide and names the
      partner (§22.2 o); on a low potassium the card says the partner usually offsets it;
    - each finding cites its own source: a hyponatraemia finding the hyponatraemia guideline,
      the others the laboratory limits (§22: "each card cites the guideline for its own finding");
    - magnesium is suggested only on a card about potassium or magnesium;
    - the monitoring gap is a candidate cause (§1.6): it opens on a leg pain or cramp complaint
      (the symptoms potassium and magnesium loss explain) or the diuretic being ordered.
    """

    potassium_sparing: tuple[str, ...] = POTASSIUM_SPARING
    hyponatraemia_source: GuidelineSource = HYPONATRAEMIA_GUIDELINE
    laboratory_source: GuidelineSource = LABORATORY_LIMITS
    evidence_shown: int = 6  # lines on a card: the drugs, the results, a complaint
    cautions_shown: int = 2

    # -- results --------------------------------------------------------------------------------

    def abnormal_results(self, facts: Facts, *, on_loop: bool, on_thiazide: bool) -> list[Abnormal]:
        found = [
            *self.low_result("potassium", "K", self.low_potassium(facts), self.k_critical),
            *self.low_result("magnesium", "Mg", self.low_magnesium(facts), self.mg_critical),
        ]
        if on_thiazide:
            sodium = self.latest_lab(facts, "sodium", within_days=self.lab_window_days)
            if sodium is not None and self.is_low(sodium, self.na_low):
                found.append(
                    Abnormal(
                        "sodium",
                        sodium,
                        False,
                        f"Low sodium (Na {self.measured(sodium, 'mmol/L', 1)})",
                        self.lab_evidence(sodium, "Sodium", "mmol/L", 1),
                    )
                )
        calcium = self.albumin_corrected_calcium(facts, self.lab_window_days)
        if calcium is not None:
            direction = self.calcium_outside_range(
                calcium, default_low=self.ca_low, default_high=self.ca_high
            )
            if on_thiazide and direction == "high":
                found.append(self.calcium_change(calcium, "High"))
            elif on_loop and direction == "low":
                found.append(self.calcium_change(calcium, "Low"))
        return found

    def low_result(
        self, analyte: str, symbol: str, lab: LabEntry | None, critical_below: float
    ) -> list[Abnormal]:
        """A low potassium or magnesium (mmol/L), shown as reported ("K <2.5 mmol/L")."""
        if lab is None or lab.value is None:
            return []
        return [
            Abnormal(
                analyte,
                lab,
                certainly_below(lab, critical_below),
                f"Low {analyte} ({symbol} {self.measured(lab, 'mmol/L')})",
                self.lab_evidence(lab, analyte.capitalize(), "mmol/L"),
            )
        ]

    def calcium_change(self, calcium: Calcium, direction: str) -> Abnormal:
        limits = ""
        if calcium.source == "calculated":
            # The corrected value is judged against the lab's total-calcium range, else the
            # defaults: the evidence says which.
            low = calcium.lab.reference_low
            high = calcium.lab.reference_high
            low = low if low is not None else self.ca_low
            high = high if high is not None else self.ca_high
            limits = f"reference {fmt(low, 1)}-{fmt(high, 1)}"
        uncorrected = "" if calcium.corrected else ", uncorrected"
        phrase = f"{direction} calcium ({calcium.value_text(1)} mg/dL{uncorrected})"
        return Abnormal(
            "calcium", calcium.lab, False, phrase, self.calcium_evidence(calcium, limits)
        )

    # -- the card -------------------------------------------------------------------------------

    def abnormal_finding(
        self, facts: Facts, abnormal: list[Abnormal], diuretics: list[MedicationEntry]
    ) -> Finding:
        names = self.diuretic_names(diuretics)
        drafted = any(m.drafted for m in diuretics)
        critical = any(a.critical for a in abnormal)
        abnormal.sort(key=lambda a: (not a.critical, a.analyte != "potassium"))
        analytes = {a.analyte for a in abnormal}
        supplements = self.supplements_for(facts, analytes)
        treated = {analyte for analyte, _ in supplements}
        # §22.2 b: a supplement shows the deficiency is known and treated: a warning becomes
        # info when it treats every abnormal result; a critical result stays critical.
        severity: Severity = (
            "critical" if critical else ("info" if analytes <= treated else "warning")
        )
        complaints = self.pain_or_cramp_complaints(facts)
        words = self.complaint_words(facts, complaints) if complaints else ""
        summary = self.abnormal_summary(abnormal, names, words, drafted=drafted)
        if len(summary) >= SUMMARY_LIMIT:  # many drugs or results: the complaint goes first
            summary = self.abnormal_summary(abnormal, names, "", drafted=drafted)
        cautions = [*self.low_confidence_cautions(diuretics)]
        if supplements:
            cautions.append(
                "A supplement is already prescribed ("
                + self.drug_names([m for _, m in supplements])
                + "): the deficiency appears known."
            )
        partners = self.partners(diuretics)
        if partners and "potassium" in analytes:
            verb = "is" if len(partners) == 1 else "are"
            cautions.append(
                f"{capitalise(join_words(partners))} {verb} potassium-sparing and usually offsets "
                "the diuretic's potassium loss: look for another cause of the low potassium too."
            )
        evidence = (
            *(self.medication_evidence(m) for m in diuretics[:2]),
            *(a.evidence for a in abnormal),
            *self.complaint_evidence(complaints)[:1],
        )
        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=(
                "Loop and thiazide diuretics cause potassium and magnesium loss (thiazides also "
                "low sodium and high calcium, loop diuretics low calcium), a common cause of "
                "muscle cramps, often at night. The latest result of each within "
                f"{self.lab_window_days} days is shown, judged by the lab's flag or range."
            ),
            evidence=evidence[: self.evidence_shown],
            suggestions=self.abnormal_suggestions(facts, abnormal, critical=critical),
            cautions=tuple(cautions[: self.cautions_shown]),
            labs=tuple((a.analyte, a.lab.reference) for a in abnormal),
            involves_draft_order=drafted,
            specificity=10,
            source=self.hyponatraemia_source
            if abnormal[0].analyte == "sodium"
            else self.laboratory_source,
            candidate=False,  # an abnormal result on a diuretic stands on its own (§1.6)
        )

    def abnormal_summary(
        self, abnormal: Sequence[Abnormal], names: str, words: str, *, drafted: bool
    ) -> str:
        """The lead result as reported, the diuretic, and the complaint on record (`words`, as
        `complaint_words` says it; empty when none)."""
        lead = abnormal[0].phrase
        others = len(abnormal) - 1
        more = f" and {others} other change{'s' if others > 1 else ''}" if others else ""
        if any(a.critical for a in abnormal):
            tail = f"; may explain the {words}" if words else ""
            return f"{lead}{more} on {names}: severe, review today{tail}."
        if drafted:
            tail = f" and the {words}" if words else ""
            return f"{lead}{more}: the {names} being ordered may worsen it{tail}."
        if words:
            return f"{lead}{more} on {names} may explain the {words} on record."
        return f"{lead}{more} on {names} can cause muscle cramps."

    def abnormal_suggestions(
        self, facts: Facts, abnormal: Sequence[Abnormal], *, critical: bool
    ) -> tuple[OrderSuggestion, ...]:
        """A panel to recheck; magnesium only on a card about potassium or magnesium, when none
        is on record in the window (or to recheck a critical card); CMP for a calcium."""
        suggestions = [self.bmp]
        about_k_or_mg = any(a.analyte in ("potassium", "magnesium") for a in abnormal)
        measured = self.lab_results(facts, "magnesium", within_days=self.lab_window_days)
        if about_k_or_mg and (critical or not measured):
            suggestions.append(self.magnesium)
        if any(a.analyte == "calcium" for a in abnormal):
            suggestions.append(self.cmp)
        return tuple(suggestions)

    def supplements_for(
        self, facts: Facts, analytes: set[str]
    ) -> list[tuple[str, MedicationEntry]]:
        """The active supplements that treat one of the abnormal results, with what each treats."""
        found: list[tuple[str, MedicationEntry]] = []
        for analyte, valueset in (
            ("potassium", "potassium-supplements"),
            ("magnesium", "magnesium-supplements"),
        ):
            if analyte in analytes:
                found += [(analyte, m) for m in self.active_medications(facts, valueset)]
        return found

    def monitoring_gap(self, facts: Facts, diuretics: list[MedicationEntry]) -> Finding | None:
        # §1.6: a candidate cause: a leg pain or cramp complaint on record, or the diuretic
        # being drafted now.
        drafted = any(m.drafted for m in diuretics)
        complaints = self.pain_or_cramp_complaints(facts)
        if not (complaints or drafted):
            return None
        window = self.monitoring_window_days
        if self.lab_results(facts, "potassium", within_days=window) or self.lab_results(
            facts, "magnesium", within_days=window
        ):
            return None
        names = self.diuretic_names(diuretics)
        summary = (
            f"On {names} with no potassium or magnesium result in 12 months; consider checking."
        )
        if complaints:
            named = (
                f"On {names} with {self.complaint_words(facts, complaints)} and no potassium or "
                "magnesium result in 12 months; consider checking."
            )
            summary = named if len(named) < SUMMARY_LIMIT else summary
        else:
            summary = (
                f"{capitalise(names)} being ordered, no potassium or magnesium result in 12 "
                "months; consider checking."
            )
        evidence = (
            *(self.medication_evidence(m) for m in diuretics[:2]),
            *self.complaint_evidence(complaints)[:1],
        )
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=(
                "Diuretics deplete potassium and magnesium, a common cause of leg cramps; neither "
                "has been measured in the last 12 months."
            ),
            evidence=evidence,
            suggestions=(self.bmp, self.magnesium),
            cautions=self.low_confidence_cautions(diuretics)[: self.cautions_shown],
            involves_draft_order=drafted,
            specificity=40,
            source=self.laboratory_source,
            candidate=True,
        )

    # -- wording ----------------------------------------------------------------------------------

    def partners(self, diuretics: Sequence[MedicationEntry]) -> list[str]:
        """The potassium-sparing partners of thiazide combinations (§22.2 o), by ingredient or,
        for a product matched by name, by the name on the order."""
        found: list[str] = []
        for med in diuretics:
            text = f"{med.display} {' '.join(med.names)}".casefold()
            found += [p for p in self.potassium_sparing if p in text and p not in found]
        return found

    def diuretic_names(self, diuretics: Sequence[MedicationEntry]) -> str:
        """ "furosemide", "hydrochlorothiazide (with triamterene)": the diuretics, with the
        potassium-sparing partner of a combination named after its thiazide."""
        partners = self.partners(diuretics)
        names: list[str] = []
        for med in diuretics:
            names += [n for n in med.names if n not in partners and n not in names]
        text = join_words(names) if names else "a diuretic"
        return f"{text} (with {join_words(partners)})" if partners else text


def join_words(words: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


LOGIC = DiureticElectrolytes()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    requires=(
        PATIENT,
        *MEDICATIONS,
        observations(*previous.RESULTS, "leg-complaint"),
        # Diagnoses and visits are read for the complaint only (the monitoring gap, a candidate
        # cause): without them every finding on a result still stands.
        CONDITIONS_IF_AVAILABLE,
        ENCOUNTERS_IF_AVAILABLE,
    ),
    valuesets=(*previous.RULE.valuesets, "leg-cramp-complaint", *COMPLAINT_WORDS),
    source_label="Laboratory reference limits",
    provenance=Provenance(
        guideline=(
            "Standard laboratory definitions (the lab's flag and range, catalog limits); "
            "hyponatraemia: Spasovski et al., Eur J Endocrinol 2014 (ESE/ESICM/ERA-EDTA "
            "guideline)"
        ),
        url="https://doi.org/10.1530/EJE-13-1020",
        released="2026-12-07",
        changes=(
            "An active diuretic order whose dispensing window (validityPeriod) has ended still "
            "counts (§22.2 c, d): such a chart with a low potassium now gets its card. Results "
            "are shown as reported, comparator included: 'K <2.5 mmol/L' (§22.2 g). Calcium is "
            "judged by the lab's flag or range first, as electrolyte-abnormality judges it. A "
            "thiazide combined with triamterene or amiloride fires as the thiazide and names "
            "the partner (§22.2 o). A hyponatraemia card cites the hyponatraemia guideline, a "
            "potassium, magnesium or calcium card the laboratory limits. A supplement lowers a "
            "warning to info only when it treats every abnormal result, never a critical one "
            "(§22.2 b). Magnesium is suggested only on a potassium or magnesium card. The "
            "monitoring-gap card opens on a leg pain or cramp complaint (or the diuretic being "
            "ordered) and says which; wider value sets of terminology 2026.12 (§22.1)."
        ),
        rationale=(
            "§1.5 excludes potassium-sparing agents from hypokalaemia logic; read with §22.2 o, "
            "this means they never open the card themselves (no value set this rule reads "
            "holds them: spironolactone alone gives no card), while a combination product "
            "carries a thiazide, which still lowers sodium and magnesium, raises calcium and can "
            "lower potassium: the combination fires as its thiazide, is named 'hydrochlorothiazide "
            "(with triamterene)', and a low potassium on it carries a caution that the partner "
            "usually offsets potassium loss, so another cause should be sought. Spironolactone "
            "and eplerenone combinations are named the same way (§1.5 lists them with the other "
            "two). A partner is read from the product's ingredients, or from the order's text "
            "when the product is matched by name. A supplement lowering a card to info still "
            "leaves an abnormal result on a diuretic: it stays a finding (not a candidate "
            "cause), otherwise the drug-agnostic electrolyte card would show the same result "
            "as a warning. The monitoring gap (a candidate cause, §1.6) opens only on a leg pain "
            "or cramp complaint: potassium and magnesium loss explain cramps, not a swollen leg "
            "or restless legs. Evidence is capped at six lines (two drugs, the results, one "
            "complaint) and cautions at two; Finding.labs keeps every abnormal result, so "
            "suppression of electrolyte-abnormality is unchanged."
        ),
    ),
)
