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
- Low calcium (albumin-corrected) or magnesium within 90 days, for the "newly found CKD with
  low Ca or Mg" warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.fhirtime import days_between
from cds.record import ConditionEntry, LabEntry, ProcedureEntry
from cds.rules._lab_bounds import is_below, value_text
from cds.rules.base import Evidence
from cds.rules.common import condition_evidence, fmt, lab_evidence, procedure_evidence
from cds.terminology.units import CANONICAL_UNIT, corrected_calcium

EGFR_CKD_LIMIT = 60.0  # mL/min/1.73 m2: below it is CKD G3a or worse
EGFR_CHRONICITY_DAYS = 90  # two results < 60 at least this far apart (KDIGO > 3 months)
EGFR_CURRENT_DAYS = 365  # the latest eGFR must be this recent to stage or define CKD
DIALYSIS_PROCEDURE_DAYS = 90  # a dialysis session this recent means "on dialysis"
ELECTROLYTE_WINDOW_DAYS = 90  # §2 look-back for calcium and magnesium
CALCIUM_LOW = 8.5  # mg/dL, albumin-corrected (§2 default when the lab gives no range)
MAGNESIUM_LOW = 0.70  # mmol/L (1.7 mg/dL, §1.3)
EGFR_UNIT = CANONICAL_UNIT["egfr"]  # as labs send it, so the evidence adds no "reported as"

G5_BELOW = 15.0  # mL/min/1.73 m2, kidney failure range
# (upper bound exclusive, KDIGO GFR category), checked in order.
GFR_CATEGORIES: tuple[tuple[float, str], ...] = (
    (G5_BELOW, "G5"),
    (30.0, "G4"),
    (45.0, "G3b"),
    (60.0, "G3a"),
    (90.0, "G2"),
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
        """The KDIGO G category of the latest eGFR, when its value is unambiguous."""
        lab = self.latest_egfr
        if lab is None or lab.value is None:
            return None
        if lab.comparator in (">", ">="):
            return "G1" if lab.value >= 90 else None
        if lab.comparator == "<":
            return "G5" if lab.value <= G5_BELOW else None  # "<30" could be G4 or G5
        if lab.comparator == "<=":
            return "G5" if lab.value < G5_BELOW else None
        return gfr_category(lab.value)

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

    def evidence(self, facts: Facts) -> tuple[Evidence, ...]:
        # `ckd` includes the ESRD codes, so ESRD appears once.
        items = [condition_evidence(c) for c in (*self.ckd_conditions, *self.dialysis_conditions)]
        items += [procedure_evidence(p, facts) for p in self.dialysis_procedures[:1]]
        if self.sustained_low_egfr is not None:
            latest, earliest = self.sustained_low_egfr
            items.append(lab_evidence(latest, "eGFR (latest)", EGFR_UNIT, 0))
            span = _days_apart(earliest, latest)
            items.append(
                Evidence(
                    label="eGFR (earlier; every result since is below 60)",
                    value=f"{value_text(earliest, 0)} {EGFR_UNIT}, {span} days before the latest",
                    when=earliest.effective,
                    reference=earliest.reference,
                )
            )
        elif self.latest_egfr is not None:
            items.append(lab_evidence(self.latest_egfr, "eGFR (latest)", EGFR_UNIT, 0))
        return tuple(items)


def _days_apart(earlier: LabEntry, later: LabEntry) -> int:
    if earlier.effective is None or later.effective is None:
        return 0
    return days_between(earlier.effective, later.effective)


def kidney_status(facts: Facts) -> KidneyStatus:
    ckd = tuple(facts.conditions("ckd"))
    esrd = tuple(facts.conditions("esrd"))
    coded_stage = next((stage for name, stage in CODED_STAGES if facts.has_condition(name)), None)
    latest = facts.latest_lab("egfr", within_days=EGFR_CURRENT_DAYS)
    return KidneyStatus(
        ckd_conditions=ckd,
        esrd_conditions=esrd,
        dialysis_conditions=tuple(facts.conditions("dialysis")),
        dialysis_procedures=tuple(facts.procedures_within("dialysis", DIALYSIS_PROCEDURE_DAYS)),
        latest_egfr=latest,
        sustained_low_egfr=_sustained_low_egfr(facts, latest),
        coded_stage=coded_stage,
    )


def _sustained_low_egfr(facts: Facts, latest: LabEntry | None) -> tuple[LabEntry, LabEntry] | None:
    if latest is None or latest.effective is None or not is_below(latest, EGFR_CKD_LIMIT):
        return None
    for result in facts.labs("egfr"):  # newest first, none in the future
        if result.value is None or result.effective is None:
            continue
        if result.effective > latest.effective:
            continue
        if not is_below(result, EGFR_CKD_LIMIT):
            return None  # a result >= 60 (or ambiguous) breaks the run
        if days_between(result.effective, latest.effective) >= EGFR_CHRONICITY_DAYS:
            return latest, result
    return None


@dataclass(frozen=True)
class LowMineral:
    analyte: str  # "calcium" or "magnesium"
    lab: LabEntry
    phrase: str  # for summaries, e.g. "low calcium 7.9 mg/dL"
    evidence: Evidence


def low_calcium_or_magnesium(facts: Facts) -> list[LowMineral]:
    """Low albumin-corrected calcium and low magnesium in the last 90 days (latest result of
    each). Interpretation and the lab's range come first (§1.2), then the §2 defaults."""
    found: list[LowMineral] = []
    calcium = _low_corrected_calcium(facts)
    if calcium is not None:
        found.append(calcium)
    magnesium = facts.latest_lab("magnesium", within_days=ELECTROLYTE_WINDOW_DAYS)
    if (
        magnesium is not None
        and magnesium.value is not None
        and facts.is_low(magnesium, MAGNESIUM_LOW)
    ):
        found.append(
            LowMineral(
                "magnesium",
                magnesium,
                f"low magnesium {value_text(magnesium, 2)} mmol/L",
                lab_evidence(magnesium, "Magnesium", "mmol/L"),
            )
        )
    return found


def _low_corrected_calcium(facts: Facts) -> LowMineral | None:
    reported = facts.latest_lab("calcium-corrected", within_days=ELECTROLYTE_WINDOW_DAYS)
    total = facts.latest_lab("calcium-total", within_days=ELECTROLYTE_WINDOW_DAYS)
    newest_is_reported = reported is not None and (
        total is None or (reported.effective or facts.as_of) >= (total.effective or facts.as_of)
    )
    if reported is not None and newest_is_reported:
        if not facts.is_low(reported, CALCIUM_LOW):
            return None
        return LowMineral(
            "calcium",
            reported,
            f"low calcium {value_text(reported)} mg/dL",
            lab_evidence(reported, "Calcium, albumin-corrected", "mg/dL", 1),
        )
    if total is None or total.value is None:
        return None
    albumin = facts.latest_lab("albumin", within_days=ELECTROLYTE_WINDOW_DAYS)
    if albumin is None or albumin.value is None or albumin.comparator or total.comparator:
        # Without albumin the total is judged as measured (and labelled uncorrected).
        if not facts.is_low(total, CALCIUM_LOW):
            return None
        return LowMineral(
            "calcium",
            total,
            f"low calcium {value_text(total)} mg/dL",
            lab_evidence(total, "Calcium, total (uncorrected)", "mg/dL", 1),
        )
    # Low albumin is common in CKD and lowers total calcium without hypocalcaemia: judge the
    # corrected value against the lab's lower limit (or the default), not the total's flag.
    value = corrected_calcium(total.value, albumin.value)
    low = total.reference_low if total.reference_low is not None else CALCIUM_LOW
    if value >= low:
        return None
    return LowMineral(
        "calcium",
        total,
        f"low corrected calcium {fmt(value, 1)} mg/dL",
        Evidence(
            label="Calcium, albumin-corrected",
            value=(
                f"{fmt(value, 1)} mg/dL (total {fmt(total.value, 1)} mg/dL, "
                f"albumin {fmt(albumin.value, 1)} g/dL; lower limit {fmt(low, 1)})"
            ),
            when=total.effective,
            reference=total.reference,
        ),
    )
