"""Questions several metabolic cramp-cause rules ask: low potassium, high TSH, low vitamin D,
statin muscle context, and threshold tests that also read censored results ("<5").

Shared by electrolyte-abnormality, beta2-agonist-cramps, statin-muscle-symptoms,
vitamin-d-deficiency and hypothyroidism, so that the rules agree on what "low potassium" or
"TSH above range" means. A rule version that imports this module includes its source in its
content hash. The hash covers only the `cds.rules.*` modules a rule imports directly, so a
rule importing this module must also import `cds.rules.common` itself (tests/test_rule_versions.py
checks that no rule depends on a rule module its hash does not cover).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry, MedicationEntry
from cds.rules.base import Evidence
from cds.rules.common import fmt, lab_evidence

# §2 look-back for electrolytes; §3 and §5 read the same window, so the drug-agnostic card and
# the diuretic card judge the same result (needed for the suppression in cds.cards).
ELECTROLYTE_WINDOW_DAYS = 90
K_LOW = 3.5  # mmol/L, default lower limit when the lab gives no range (§2)

# §15/§16 give no window; thyroid function and vitamin D change over months, and §16 itself
# speaks of "none in 12 months", so one year is the look-back for both.
THYROID_WINDOW_DAYS = 365
VITAMIN_D_WINDOW_DAYS = 365
# A free T4 classifies a TSH only when drawn close to it (normally the same panel).
FREE_T4_PAIRING_DAYS = 30
# §16: "typically ~4-4.5 mIU/L; lab-specific". Used only when the lab gives no range; the upper
# end of the typical range, so a missing range never makes a card more likely.
TSH_ULN_DEFAULT = 4.5  # mIU/L
TSH_TREATMENT_THRESHOLD = 10.0  # mIU/L, usual threshold for treating subclinical disease

VITAMIN_D_DEFICIENT = 12.0  # ng/mL (30 nmol/L), IOM 2011 risk threshold
VITAMIN_D_INSUFFICIENT = 20.0  # ng/mL (50 nmol/L): 12-19 is insufficient for bone health

_LOWER_BOUND = frozenset({">", ">="})
_UPPER_BOUND = frozenset({"<", "<="})


# -- thresholds that respect a censored result (§1.2: drop comparator results unless the
#    decision is still unambiguous) ------------------------------------------------------------


def surely_below(lab: LabEntry, threshold: float) -> bool:
    """The true value is below `threshold`: "3.1" < 3.5, and "<5" < 12, but never ">5"."""
    if lab.value is None or lab.comparator in _LOWER_BOUND:
        return False
    if lab.comparator == "<":
        return lab.value <= threshold
    if lab.comparator in (None, "<="):
        return lab.value < threshold
    return False  # "ad" (sufficient to achieve) says nothing about the value


def surely_above(lab: LabEntry, threshold: float) -> bool:
    """The true value is above `threshold`: "2450" > 1900, and ">20000" > 20000."""
    if lab.value is None or lab.comparator in _UPPER_BOUND:
        return False
    if lab.comparator == ">":
        return lab.value >= threshold
    if lab.comparator in (None, ">="):
        return lab.value > threshold
    return False


def surely_at_least(lab: LabEntry, threshold: float) -> bool:
    """The true value is at or above `threshold` (catalog limits written as "≥")."""
    if lab.value is None or lab.comparator in _UPPER_BOUND:
        return False
    if lab.comparator in (None, ">", ">="):
        return lab.value >= threshold
    return False


def value_text(lab: LabEntry, digits: int = 2) -> str:
    """The canonical value as written on a card, keeping a comparator ("<5")."""
    if lab.value is None:
        return "(no value)"
    return f"{lab.comparator or ''}{fmt(lab.value, digits)}"


def result_evidence(lab: LabEntry, label: str, unit: str, digits: int = 2) -> Evidence:
    """common.lab_evidence, keeping a censored result's comparator ("<5 ng/mL")."""
    evidence = lab_evidence(lab, label, unit, digits)
    if lab.comparator:
        return replace(evidence, value=f"{lab.comparator}{evidence.value}")
    return evidence


# -- potassium -------------------------------------------------------------------------------


def low_potassium(facts: Facts) -> LabEntry | None:
    """The latest potassium in the §2 window when it is below range (interpretation first)."""
    potassium = facts.latest_lab("potassium", within_days=ELECTROLYTE_WINDOW_DAYS)
    if potassium is None:
        return None
    # is_low reads the flag, then the range, then the default; a censored result ("<3.0") is
    # low when its bound is below the same limit.
    limit = potassium.reference_low if potassium.reference_low is not None else K_LOW
    if facts.is_low(potassium, K_LOW) or surely_below(potassium, limit):
        return potassium
    return None


# -- thyroid ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HighTsh:
    """A TSH above range, with the free T4 drawn alongside it (if any)."""

    tsh: LabEntry
    free_t4: LabEntry | None
    free_t4_low: bool

    @property
    def overt(self) -> bool:
        return self.free_t4_low

    @property
    def at_treatment_threshold(self) -> bool:
        return surely_at_least(self.tsh, TSH_TREATMENT_THRESHOLD)


def high_tsh(facts: Facts) -> HighTsh | None:
    """The latest TSH within a year when above range (§16), classified by its free T4."""
    tsh = facts.latest_lab("tsh", within_days=THYROID_WINDOW_DAYS)
    if tsh is None:
        return None
    uln = tsh.reference_high if tsh.reference_high is not None else TSH_ULN_DEFAULT
    if not (facts.is_high(tsh, TSH_ULN_DEFAULT) or surely_above(tsh, uln)):
        return None
    free_t4 = _paired_free_t4(facts, tsh)
    # No default lower limit for free T4: the catalog gives none and assays differ, so only the
    # lab's own flag or range can call it low.
    free_t4_low = free_t4 is not None and facts.is_low(free_t4)
    return HighTsh(tsh, free_t4, free_t4_low)


def _paired_free_t4(facts: Facts, tsh: LabEntry) -> LabEntry | None:
    for free_t4 in facts.labs("free-t4", within_days=THYROID_WINDOW_DAYS):
        if free_t4.value is None and not free_t4.interpretation:
            continue
        if tsh.effective is None or free_t4.effective is None:
            continue
        if abs((free_t4.effective - tsh.effective).days) <= FREE_T4_PAIRING_DAYS:
            return free_t4
    return None


def tsh_evidence(lab: LabEntry) -> Evidence:
    return result_evidence(lab, "TSH", "mIU/L", 2)


def free_t4_evidence(lab: LabEntry) -> Evidence:
    return result_evidence(lab, "Free T4", "ng/dL", 2)


# -- vitamin D -------------------------------------------------------------------------------

VitaminDStatus = Literal["deficient", "insufficient"]


@dataclass(frozen=True)
class LowVitaminD:
    lab: LabEntry
    status: VitaminDStatus


def low_vitamin_d(facts: Facts) -> LowVitaminD | None:
    """The latest 25-OH vitamin D within a year when below 20 ng/mL (§15); nmol/L results
    arrive already converted to ng/mL (÷ 2.496)."""
    lab = facts.latest_lab("vitamin-d-25oh", within_days=VITAMIN_D_WINDOW_DAYS)
    if lab is None:
        return None
    if surely_below(lab, VITAMIN_D_DEFICIENT):
        return LowVitaminD(lab, "deficient")
    if surely_below(lab, VITAMIN_D_INSUFFICIENT):
        return LowVitaminD(lab, "insufficient")
    return None


def vitamin_d_evidence(lab: LabEntry) -> Evidence:
    return result_evidence(lab, "25-OH vitamin D", "ng/mL", 1)


# -- statin context --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatinMuscleContext:
    """§4 context: an active statin together with muscle symptoms on record."""

    statins: list[MedicationEntry]
    symptoms: list[ConditionEntry]  # SAMS/myopathy codes, then leg complaints


def statin_muscle_context(facts: Facts) -> StatinMuscleContext | None:
    statins = facts.active_medications("statins")
    if not statins:
        return None
    symptoms = facts.conditions("sams-myopathy") + facts.leg_complaints
    if not symptoms:
        return None
    return StatinMuscleContext(statins, symptoms)
