"""Kidney disease as the rules read it from the record (clinical-content.md §14).

Shared by `ckd-dialysis-cramps` (the kidney card) and `rls-secondary-causes` (ESRD changes the
iron thresholds; CKD is an RLS association). One place decides what "CKD", "ESRD", "on
dialysis" and the GFR category mean, so the two cards never disagree.

- CKD: an active CKD code (any stage, ESRD, dialysis), or eGFR < 60 sustained for at least
  90 days (KDIGO: > 3 months). Sustained means: the latest eGFR (within 12 months) is < 60 and
  every result back to one at least 90 days older is < 60 too; a result >= 60 in between breaks
  the run (recovery, or an acute kidney injury rather than CKD).
- GFR category from the latest eGFR (KDIGO 2024): G3a 45-59, G3b 30-44, G4 15-29, G5 < 15.
- On dialysis: a dialysis-dependence code, or a dialysis procedure in the last 90 days.
- Low calcium (albumin-corrected, `electrolytes.albumin_corrected_calcium`) or magnesium within the
  §2 window (90 days), for the "newly found CKD with low Ca or Mg" warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.fhirtime import days_between
from cds.record import ConditionEntry, LabEntry, ProcedureEntry
from cds.rules.base import Evidence
from cds.rules.lib.electrolytes.v1 import CA_LOW, Electrolytes
from cds.rules.lib.results.v1 import certainly_at_least, certainly_below, value_text
from cds.rules.lib.text.v1 import fmt
from cds.terminology.units import CANONICAL_UNIT

EGFR_CKD_LIMIT = 60.0  # mL/min/1.73 m2: below it is CKD G3a or worse
EGFR_CHRONICITY_DAYS = 90  # two results < 60 at least this far apart (KDIGO > 3 months)
EGFR_CURRENT_DAYS = 365  # the latest eGFR must be this recent to stage or define CKD
DIALYSIS_PROCEDURE_DAYS = 90  # a dialysis session this recent means "on dialysis"
EGFR_UNIT = CANONICAL_UNIT["egfr"]  # as labs send it, so the evidence adds no "reported as"

G5_BELOW = 15.0  # mL/min/1.73 m2, kidney failure range
G1_FROM = 90.0  # mL/min/1.73 m2, normal or high
# (upper bound exclusive, KDIGO GFR category), checked in order.
GFR_CATEGORIES: tuple[tuple[float, str], ...] = (
    (G5_BELOW, "G5"),
    (30.0, "G4"),
    (45.0, "G3b"),
    (60.0, "G3a"),
    (G1_FROM, "G2"),
)
# Coded stage value sets, most advanced first (ckd-stage-5 includes ESRD).
CODED_STAGES: tuple[tuple[str, str], ...] = (
    ("ckd-stage-5", "5"),
    ("ckd-stage-4", "4"),
    ("ckd-stage-3", "3"),
    ("ckd-stage-2", "2"),
    ("ckd-stage-1", "1"),
)

KIDNEY_VALUESETS: tuple[str, ...] = (
    "ckd",
    "esrd",
    "dialysis",
    "egfr",
    *(name for name, _ in CODED_STAGES),
)
ELECTROLYTE_VALUESETS: tuple[str, ...] = (
    "calcium-total",
    "calcium-corrected",
    "albumin",
    "magnesium",
)


def gfr_category(egfr: float) -> str:
    for upper, category in GFR_CATEGORIES:
        if egfr < upper:
            return category
    return "G1"


@dataclass(frozen=True)
class KidneyStatus:
    ckd_conditions: tuple[ConditionEntry, ...]  # active CKD codes of any stage (incl. ESRD)
    esrd_conditions: tuple[ConditionEntry, ...]
    dialysis_conditions: tuple[ConditionEntry, ...]
    dialysis_procedures: tuple[ProcedureEntry, ...]
    latest_egfr: LabEntry | None  # newest eGFR within EGFR_CURRENT_DAYS
    # eGFR < 60 sustained >= 90 days: (latest, the earliest result of the run that is at least
    # 90 days older). None when not sustained.
    sustained_low_egfr: tuple[LabEntry, LabEntry] | None
    coded_stage: str | None  # "1".."5" from the most advanced coded stage

    @property
    def on_dialysis(self) -> bool:
        return bool(self.dialysis_conditions or self.dialysis_procedures)

    @property
    def esrd(self) -> bool:
        """End-stage kidney disease: coded ESRD, or on dialysis."""
        return bool(self.esrd_conditions) or self.on_dialysis

    @property
    def coded(self) -> bool:
        return bool(self.ckd_conditions) or self.esrd

    @property
    def has_ckd(self) -> bool:
        return self.coded or self.sustained_low_egfr is not None

    @property
    def found_by_egfr_only(self) -> bool:
        """CKD shown by eGFR alone, with no CKD, ESRD or dialysis code: newly found."""
        return self.sustained_low_egfr is not None and not self.coded

    @property
    def egfr_category(self) -> str | None:
        """The KDIGO G category of the latest eGFR, when its value is unambiguous: a censored
        result only at the open ends (">90" is G1, "<15" G5; "<30" could be G4 or G5)."""
        lab = self.latest_egfr
        if lab is None or lab.value is None:
            return None
        if lab.comparator is None:
            return gfr_category(lab.value)
        if certainly_at_least(lab, G1_FROM):
            return "G1"
        if certainly_below(lab, G5_BELOW):
            return "G5"
        return None

    def stage_label(self) -> str:
        """How the card names the kidney disease: "ESRD on dialysis", "CKD G4", "CKD stage 3"."""
        if self.on_dialysis:
            return "ESRD on dialysis" if self.esrd_conditions else "Kidney failure on dialysis"
        if self.esrd_conditions:
            return "ESRD"
        category = self.egfr_category
        if category is not None and (category.startswith("G3") or category in ("G4", "G5")):
            return f"CKD {category}"
        if self.coded_stage is not None:
            return f"Stage {self.coded_stage} CKD"
        if category is not None:
            return f"CKD ({category} by eGFR)"
        return "CKD"


def days_apart(earlier: LabEntry, later: LabEntry) -> int:
    """Days between two results (0 when either is undated; sustained_low_egfr never is)."""
    if earlier.effective is None or later.effective is None:
        return 0
    return days_between(earlier.effective, later.effective)


class Kidney(Electrolytes):
    """Kidney disease as the rules read it (§14)."""

    def kidney_status(self, facts: Facts) -> KidneyStatus:
        ckd = tuple(self.coded_conditions(facts, "ckd"))
        esrd = tuple(self.coded_conditions(facts, "esrd"))
        coded_stage = next(
            (stage for name, stage in CODED_STAGES if self.has_condition(facts, name)), None
        )
        latest = self.latest_lab(facts, "egfr", within_days=EGFR_CURRENT_DAYS)
        return KidneyStatus(
            ckd_conditions=ckd,
            esrd_conditions=esrd,
            dialysis_conditions=tuple(self.coded_conditions(facts, "dialysis")),
            dialysis_procedures=tuple(
                self.procedures_within(facts, "dialysis", DIALYSIS_PROCEDURE_DAYS)
            ),
            latest_egfr=latest,
            sustained_low_egfr=self._sustained_low_egfr(facts, latest),
            coded_stage=coded_stage,
        )

    def _sustained_low_egfr(
        self, facts: Facts, latest: LabEntry | None
    ) -> tuple[LabEntry, LabEntry] | None:
        if (
            latest is None
            or latest.effective is None
            or not certainly_below(latest, EGFR_CKD_LIMIT)
        ):
            return None
        for result in self.lab_results(facts, "egfr"):  # newest first, none in the future
            if result.value is None or result.effective is None:
                continue
            if result.effective > latest.effective:
                continue
            if not certainly_below(result, EGFR_CKD_LIMIT):
                return None  # a result >= 60 (or ambiguous) breaks the run
            if days_between(result.effective, latest.effective) >= EGFR_CHRONICITY_DAYS:
                return latest, result
        return None

    def low_calcium_or_magnesium(self, facts: Facts) -> list[LowMineral]:
        """Low albumin-corrected calcium and low magnesium in the §2 window (latest result of
        each). Interpretation and the lab's range come first (§1.2), then the §2 defaults."""
        found: list[LowMineral] = []
        calcium = self._low_calcium(facts)
        if calcium is not None:
            found.append(calcium)
        magnesium = self.low_magnesium(facts)
        if magnesium is not None:
            found.append(
                LowMineral(
                    "magnesium",
                    magnesium,
                    f"low magnesium {value_text(magnesium, 2)} mmol/L",
                    self.lab_evidence(magnesium, "Magnesium", "mmol/L"),
                )
            )
        return found

    def _low_calcium(self, facts: Facts) -> LowMineral | None:
        calcium = self.albumin_corrected_calcium(facts)
        if calcium is None:
            return None
        if calcium.source != "calculated":
            # Reported as corrected, or a total judged as measured (labelled uncorrected): the
            # lab's flag, then its range, then the §2 default.
            if not self.is_low(calcium.lab, CA_LOW):
                return None
            phrase = f"low calcium {value_text(calcium.lab, 1)} mg/dL"
            return LowMineral("calcium", calcium.lab, phrase, self.calcium_evidence(calcium))
        # Low albumin is common in CKD and lowers total calcium without hypocalcaemia: judge the
        # corrected value (a bound when an input is censored) against the lab's lower limit (or
        # the default), not the total's flag.
        if not calcium.certainly_below(calcium.low_limit):
            return None
        return LowMineral(
            "calcium",
            calcium.lab,
            f"low corrected calcium {calcium.value_text(1)} mg/dL",
            self.calcium_evidence(calcium, f"lower limit {fmt(calcium.low_limit, 1)}"),
        )

    def kidney_evidence(self, facts: Facts, status: KidneyStatus) -> tuple[Evidence, ...]:
        """The evidence lines of a kidney status."""
        # `ckd` includes the ESRD codes, so ESRD appears once.
        items = [
            self.condition_evidence(c)
            for c in (*status.ckd_conditions, *status.dialysis_conditions)
        ]
        items += [self.procedure_evidence(p, facts) for p in status.dialysis_procedures[:1]]
        if status.sustained_low_egfr is not None:
            latest, earliest = status.sustained_low_egfr
            items.append(self.lab_evidence(latest, "eGFR (latest)", EGFR_UNIT, 0))
            span = days_apart(earliest, latest)
            items.append(
                Evidence(
                    label="eGFR (earlier; every result since is below 60)",
                    value=f"{value_text(earliest, 0)} {EGFR_UNIT}, {span} days before the latest",
                    when=earliest.effective,
                    reference=earliest.reference,
                )
            )
        elif status.latest_egfr is not None:
            items.append(self.lab_evidence(status.latest_egfr, "eGFR (latest)", EGFR_UNIT, 0))
        return tuple(items)


@dataclass(frozen=True)
class LowMineral:
    analyte: str  # "calcium" or "magnesium"
    lab: LabEntry
    phrase: str  # for summaries, e.g. "low calcium 7.9 mg/dL"
    evidence: Evidence
