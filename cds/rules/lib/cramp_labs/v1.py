"""Questions the thyroid, vitamin D and statin cards ask alike: a TSH above range (with its
free T4), a low 25-OH vitamin D, and the §4 statin muscle context.

Shared by hypothyroidism, vitamin-d-deficiency and statin-muscle-symptoms, so that the rules
agree on what "TSH above range" or "vitamin D below 20 ng/mL" means. Threshold tests that read
censored results ("<5") are `results.certainly_*`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry, MedicationEntry
from cds.rules.base import Evidence
from cds.rules.lib.complaints.v1 import ANY_LEG_COMPLAINT
from cds.rules.lib.kidney.v1 import Kidney
from cds.rules.lib.results.v1 import certainly_at_least, certainly_below

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
        return certainly_at_least(self.tsh, TSH_TREATMENT_THRESHOLD)


class CrampLabs(Kidney):
    """The thyroid, vitamin D and statin-context questions (§4, §15, §16)."""

    def high_tsh(self, facts: Facts) -> HighTsh | None:
        """The latest TSH within a year when above range (§16), classified by its free T4."""
        tsh = self.latest_lab(facts, "tsh", within_days=THYROID_WINDOW_DAYS)
        if tsh is None:
            return None
        # Flag, then range, then the default; a censored result (">10") counts when its bound
        # settles it (`results.is_high`).
        if not self.is_high(tsh, TSH_ULN_DEFAULT):
            return None
        free_t4 = self._paired_free_t4(facts, tsh)
        # No default lower limit for free T4: the catalog gives none and assays differ, so only the
        # lab's own flag or range can call it low.
        free_t4_low = free_t4 is not None and self.is_low(free_t4)
        return HighTsh(tsh, free_t4, free_t4_low)

    def _paired_free_t4(self, facts: Facts, tsh: LabEntry) -> LabEntry | None:
        for free_t4 in self.lab_results(facts, "free-t4", within_days=THYROID_WINDOW_DAYS):
            if free_t4.value is None and not free_t4.interpretation:
                continue
            if tsh.effective is None or free_t4.effective is None:
                continue
            if abs((free_t4.effective - tsh.effective).days) <= FREE_T4_PAIRING_DAYS:
                return free_t4
        return None

    def tsh_evidence(self, lab: LabEntry) -> Evidence:
        return self.result_evidence(lab, "TSH", "mIU/L", 2)

    def free_t4_evidence(self, lab: LabEntry) -> Evidence:
        return self.result_evidence(lab, "Free T4", "ng/dL", 2)

    def low_vitamin_d(self, facts: Facts) -> LowVitaminD | None:
        """The latest 25-OH vitamin D within a year when below 20 ng/mL (§15); nmol/L results
        arrive already converted to ng/mL (÷ 2.496)."""
        lab = self.latest_lab(facts, "vitamin-d-25oh", within_days=VITAMIN_D_WINDOW_DAYS)
        if lab is None:
            return None
        if certainly_below(lab, VITAMIN_D_DEFICIENT):
            return LowVitaminD(lab, "deficient")
        if certainly_below(lab, VITAMIN_D_INSUFFICIENT):
            return LowVitaminD(lab, "insufficient")
        return None

    def vitamin_d_evidence(self, lab: LabEntry) -> Evidence:
        return self.result_evidence(lab, "25-OH vitamin D", "ng/mL", 1)

    def statin_muscle_context(self, facts: Facts) -> StatinMuscleContext | None:
        statins = self.active_medications(facts, "statins")
        if not statins:
            return None
        symptoms = self.coded_conditions(facts, "sams-myopathy") + self.leg_complaints(facts)
        if not symptoms:
            return None
        return StatinMuscleContext(statins, symptoms)


# -- vitamin D -------------------------------------------------------------------------------

VitaminDStatus = Literal["deficient", "insufficient"]


@dataclass(frozen=True)
class LowVitaminD:
    lab: LabEntry
    status: VitaminDStatus


# -- statin context --------------------------------------------------------------------------

# Value sets `statin_muscle_context` reads; rules that ask it list them in their own `valuesets`.
STATIN_CONTEXT_VALUESETS: tuple[str, ...] = ("statins", "sams-myopathy", ANY_LEG_COMPLAINT)


@dataclass(frozen=True)
class StatinMuscleContext:
    """§4 context: an active statin together with muscle symptoms on record."""

    statins: list[MedicationEntry]
    symptoms: list[ConditionEntry]  # SAMS/myopathy codes, then leg complaints
