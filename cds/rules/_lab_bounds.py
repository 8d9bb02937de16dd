"""Comparing a lab result with a fixed decision limit, honouring its comparator (§1.2).

§1.2 drops results with a `comparator` ("<5", ">14") "unless the decision is still
unambiguous". These helpers answer "is the true value certainly below / at most / at least the
limit?": "<5" is certainly below 75, ">14" is certainly at least 6.5, but "<80" is not certainly
at most 75, so the answer is False (the result is not used for that decision).

Used for guideline cut-offs that are not reference-range questions (ferritin <= 75 ng/mL,
HbA1c >= 6.5 %, eGFR < 60); reference-range questions go through `Facts.is_low` / `is_high`.
"""

from __future__ import annotations

from cds.record import LabEntry
from cds.rules.common import fmt

_BELOW = frozenset({"<", "<="})
_ABOVE = frozenset({">", ">="})


def is_below(lab: LabEntry, limit: float) -> bool:
    """The true value is certainly < limit."""
    if lab.value is None or lab.comparator in _ABOVE:
        return False
    if lab.comparator == "<":
        return lab.value <= limit
    return lab.value < limit  # no comparator, or "<=" (x <= v < limit)


def is_at_most(lab: LabEntry, limit: float) -> bool:
    """The true value is certainly <= limit."""
    if lab.value is None or lab.comparator in _ABOVE:
        return False
    return lab.value <= limit


def is_at_least(lab: LabEntry, limit: float) -> bool:
    """The true value is certainly >= limit."""
    if lab.value is None or lab.comparator in _BELOW:
        return False
    return lab.value >= limit


def number(value: float, digits: int = 1) -> str:
    """`common.fmt`, rounded first, so that digits=0 keeps integer zeros (30 -> "30"):
    fmt alone strips them when asked for no decimals (fmt(30, 0) gives "3")."""
    return fmt(round(value, digits), max(digits, 1))


def value_text(lab: LabEntry, digits: int = 1) -> str:
    """The canonical value with its comparator, for summaries: "<5" stays "<5", never "5"."""
    if lab.value is None:
        return "(no value)"
    comparator = lab.comparator if lab.comparator in _BELOW | _ABOVE else ""
    return f"{comparator}{number(lab.value, digits)}"
