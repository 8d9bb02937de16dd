"""The electrolyte questions of v1, and one more that release 2026.12 asks: whether a calcium is
outside its range, judged as §1.2 says (the lab's flag, then its range, then the default), so
that diuretic-electrolytes and electrolyte-abnormality call the same calcium low or high and the
diuretic card can suppress the drug-agnostic one (§1.4).

v1 left that judgement to each card: electrolyte-abnormality used the lab's range, while
diuretic-electrolytes 1.0.0 compared every calcium with the fixed 8.5-10.5 mg/dL, so a lab whose
range ends at 10.2 mg/dL could flag a calcium the diuretic card did not see.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from cds.rules.base import GuidelineSource
from cds.rules.lib.electrolytes.v1 import CA_HIGH, CA_LOW, Calcium, Electrolytes

Direction = Literal["low", "high"]

# The guidelines an electrolyte finding rests on (clinical-content.md §2, §3, §21), each card
# citing the one for its own finding: a low potassium never cites the hyponatraemia guideline.
HYPONATRAEMIA_GUIDELINE = GuidelineSource(
    "ESE/ESICM/ERA-EDTA hyponatraemia guideline 2014", "https://doi.org/10.1530/EJE-13-1020"
)
# §3: Society for Endocrinology emergency guidance, acute hypocalcaemia (Endocr Connect 2016);
# the catalog gives no stable address for it.
HYPOCALCAEMIA_GUIDANCE = GuidelineSource(
    "Society for Endocrinology acute hypocalcaemia guidance 2016"
)
# §2 "standard laboratory definitions": the lab's flag and range, the catalog's default limits.
LABORATORY_LIMITS = GuidelineSource("Laboratory reference limits")
# A corrected calcium is judged at the precision it carries (mg/dL): float arithmetic must not
# move it across a limit (9.8 + 0.8 x (4.0 - 3.5) is 10.200000000000001, not above 10.2).
CALCIUM_DIGITS = 2


class ElectrolytesV2(Electrolytes):
    """The v1 questions, and whether a calcium is outside its range (§1.2)."""

    def calcium_outside_range(
        self, calcium: Calcium, *, default_low: float = CA_LOW, default_high: float = CA_HIGH
    ) -> Direction | None:
        """ "low" or "high" when the calcium is outside its range, else None.

        A reported albumin-corrected calcium, or a total judged as measured (no albumin): the
        lab's flag, then its range, then the defaults (`results.is_low` / `is_high`, which settle
        a censored result only when its bound does). A calcium corrected here from a total and
        an albumin: the total's flag describes the uncorrected value, so the corrected value (a
        bound when an input is censored) is compared with the lab's total-calcium range, else
        the defaults."""
        calcium = self.rounded_calcium(calcium)
        if calcium.source != "calculated":
            if self.is_low(calcium.lab, default_low):
                return "low"
            if self.is_high(calcium.lab, default_high):
                return "high"
            return None
        low = calcium.lab.reference_low
        high = calcium.lab.reference_high
        if calcium.certainly_below(low if low is not None else default_low):
            return "low"
        if calcium.certainly_above(high if high is not None else default_high):
            return "high"
        return None

    def rounded_calcium(self, calcium: Calcium) -> Calcium:
        """The calcium with its value at the precision it carries (CALCIUM_DIGITS), for
        comparisons with a limit."""
        return replace(calcium, value=round(calcium.value, CALCIUM_DIGITS))
