"""The electrolyte questions (clinical-content.md §2) that the diuretic, electrolyte, beta-2
agonist and kidney cards must answer alike: the look-back, the default limits, low potassium or
magnesium, and albumin-corrected calcium. The diuretic card suppresses the drug-agnostic
electrolyte card when it explains the same result, so both must pick the same results. The
defaults apply only when the lab gives no range (§1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cds.facts import Facts
from cds.record import LabEntry
from cds.rules.base import Evidence
from cds.rules.lib.pregnancy.v1 import Pregnancies
from cds.rules.lib.results.v1 import (
    LOWER_BOUNDS,
    UPPER_BOUNDS,
    above,
    at_least,
    below,
    value_text,
)
from cds.rules.lib.text.v1 import fmt
from cds.terminology.units import corrected_calcium

ELECTROLYTE_WINDOW_DAYS = 90  # §2 look-back (latest result within it)
K_LOW = 3.5  # mmol/L
MG_LOW = 0.70  # mmol/L (1.7 mg/dL, §1.3)
CA_LOW = 8.5  # mg/dL, albumin-corrected
CA_HIGH = 10.5  # mg/dL, albumin-corrected


class Electrolytes(Pregnancies):
    """The §2 electrolyte questions the diuretic, electrolyte, beta-2 agonist and kidney cards
    answer alike."""

    def low_potassium(self, facts: Facts) -> LabEntry | None:
        """The latest potassium in the §2 window when it is below range: the lab's flag, then its
        range, then K_LOW (`results.is_low`, which also settles a censored "<3.0")."""
        potassium = self.latest_lab(facts, "potassium", within_days=ELECTROLYTE_WINDOW_DAYS)
        if potassium is not None and self.is_low(potassium, K_LOW):
            return potassium
        return None

    def low_magnesium(self, facts: Facts) -> LabEntry | None:
        """The latest magnesium in the §2 window when it is below range (flag, range, MG_LOW)."""
        magnesium = self.latest_lab(facts, "magnesium", within_days=ELECTROLYTE_WINDOW_DAYS)
        if magnesium is not None and self.is_low(magnesium, MG_LOW):
            return magnesium
        return None

    def albumin_corrected_calcium(
        self, facts: Facts, within_days: int = ELECTROLYTE_WINDOW_DAYS
    ) -> Calcium | None:
        """The latest calcium in the window, albumin-corrected where possible (§1.3). Every card
        that judges calcium asks this, so they pick the same result (and diuretic-electrolytes can
        suppress electrolyte-abnormality: their Finding.labs refer to the same Observation).

        A reported corrected calcium is used unless a total calcium is newer; a total is corrected
        with the latest albumin in the same window; without an albumin, the total is judged as
        measured (source "no-albumin", labelled uncorrected).

        Censored inputs (§1.2): the corrected value rises with the total and falls with albumin, so
        a total "<7.0" or an albumin ">4.5" makes it an upper bound ("<"), a total ">12" or an
        albumin "<2.0" a lower bound (">"), and the decision is taken on that bound like any
        censored result. Correcting with the bound as if it were the value, or ignoring the albumin
        and judging the total as measured, can each call a calcium low or high when it may not be.
        When the bounds point opposite ways (a total "<7.0" with an albumin "<2.0"), or a
        comparator is not a bound ("ad"), nothing certain can be said and None is returned.
        """
        reported = self.latest_lab(facts, "calcium-corrected", within_days=within_days)
        total = self.latest_lab(facts, "calcium-total", within_days=within_days)
        if reported is not None and reported.value is not None:
            newest = facts.as_of
            if total is None or (reported.effective or newest) >= (total.effective or newest):
                return Calcium(reported, reported.value, reported.comparator, "reported", None)
        if total is None or total.value is None:
            return None
        albumin = self.latest_lab(facts, "albumin", within_days=within_days)
        if albumin is None or albumin.value is None:
            return Calcium(total, total.value, total.comparator, "no-albumin", None)
        usable, comparator = _corrected_bound(total.comparator, albumin.comparator)
        if not usable:
            return None
        value = corrected_calcium(total.value, albumin.value)
        return Calcium(total, value, comparator, "calculated", albumin)

    def calcium_evidence(self, calcium: Calcium, limits: str = "") -> Evidence:
        """The evidence line of a calcium; `limits` (e.g. "lower limit 8.5") is added to a
        calculated value, whose total calcium range describes the uncorrected value."""
        if calcium.source == "reported":
            return self.lab_evidence(calcium.lab, "Calcium, albumin-corrected", "mg/dL", 1)
        if calcium.source == "no-albumin" or calcium.albumin is None:
            return self.lab_evidence(calcium.lab, "Calcium, total (uncorrected)", "mg/dL", 1)
        return Evidence(
            label="Calcium, albumin-corrected",
            value=(
                f"{calcium.value_text(1)} mg/dL (total {value_text(calcium.lab, 1)} mg/dL, "
                f"albumin {value_text(calcium.albumin, 1)} g/dL{f'; {limits}' if limits else ''})"
            ),
            when=calcium.lab.effective,
            reference=calcium.lab.reference,
        )


# How the calcium value was obtained: a reported albumin-corrected result; a total calcium
# corrected here with albumin; or a total judged as measured because there is no albumin.
CalciumSource = Literal["reported", "calculated", "no-albumin"]


@dataclass(frozen=True)
class Calcium:
    """The calcium the §2/§3/§14 cards judge (§1.3: Ca + 0.8 × (4.0 − albumin g/dL)).

    `value` is in mg/dL; `comparator` is None for an exact value, or the bound it is: the
    reported result's own ("<1.5 mmol/L"), or, for a value corrected here, the bound that a
    censored total or albumin implies (see `albumin_corrected_calcium`). Decide with the
    `certainly_*` methods, which honour it as `results.certainly_*` do for a result."""

    lab: LabEntry  # the result used: the reported corrected calcium, or the total calcium
    value: float
    comparator: str | None
    source: CalciumSource
    albumin: LabEntry | None  # the albumin used for the correction ("calculated" only)

    @property
    def corrected(self) -> bool:
        """Albumin-corrected (reported so, or calculated here); False: judged as measured."""
        return self.source != "no-albumin"

    @property
    def low_limit(self) -> float:
        """The lab's lower limit for this result, else the §2 default."""
        return self.lab.reference_low if self.lab.reference_low is not None else CA_LOW

    @property
    def high_limit(self) -> float:
        return self.lab.reference_high if self.lab.reference_high is not None else CA_HIGH

    def certainly_below(self, limit: float) -> bool:
        return below(self.value, self.comparator, limit)

    def certainly_above(self, limit: float) -> bool:
        return above(self.value, self.comparator, limit)

    def certainly_at_least(self, limit: float) -> bool:
        return at_least(self.value, self.comparator, limit)

    def value_text(self, digits: int = 1) -> str:
        return f"{self.comparator or ''}{fmt(self.value, digits)}"


def _corrected_bound(total: str | None, albumin: str | None) -> tuple[bool, str | None]:
    """Whether Ca + 0.8 × (4 − albumin) is usable given its inputs' comparators, and the
    comparator it then carries (None: exact)."""
    directions: set[str] = set()
    strict = False
    for comparator, flips in ((total, False), (albumin, True)):
        if comparator is None:
            continue
        if comparator not in UPPER_BOUNDS | LOWER_BOUNDS:
            return False, None
        upper = (comparator in UPPER_BOUNDS) != flips  # an albumin floor caps the result
        directions.add("<" if upper else ">")
        strict = strict or comparator in ("<", ">")
    if not directions:
        return True, None
    if len(directions) > 1:
        return False, None
    (direction,) = directions
    return True, direction if strict else direction + "="
