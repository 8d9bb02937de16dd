"""Laboratory results as rules judge them (clinical-content.md §1.2).

- Which results count: usable results (final, amended or corrected: the record keeps no
  others), newest first; a window counts whole calendar days before as_of, never the future.
- Below or above range: the lab's interpretation flag first, then the lab's reference range,
  then the rule's default limit.
- A censored result ("<5", ">14") decides only when its bound settles the question: the
  `certainly_*` functions. "<5" is certainly below 12, ">14" certainly at least 6.5, but "<80"
  is not certainly at most 75. "<v" means x < v and "<=v" means x <= v (and the mirror for ">"
  and ">="): the boundary counts only where it is excluded ("<75" is certainly below 75, "<=75"
  is not). Any other comparator, such as FHIR's "ad" (a dosing notion that says nothing about a
  measured value), is never certain: treating it as a plain number could fire or silence a card
  on a value nobody measured.
"""

from __future__ import annotations

from cds.facts import Facts
from cds.record import LabEntry
from cds.rules.lib.evidence.v1 import EvidenceLines
from cds.rules.lib.text.v1 import fmt

LOW_INTERPRETATIONS = frozenset({"L", "LL", "LU", "<"})
HIGH_INTERPRETATIONS = frozenset({"H", "HH", "HU", ">"})
UPPER_BOUNDS = frozenset({"<", "<="})  # the true value is at most the reported one
LOWER_BOUNDS = frozenset({">", ">="})  # the true value is at least the reported one


class Results(EvidenceLines):
    """Laboratory results as rules judge them (§1.2)."""

    def lab_results(
        self, facts: Facts, analyte: str, *, within_days: int | None = None
    ) -> list[LabEntry]:
        """Usable results of an analyte, newest first, optionally within a window."""
        entries = facts.results_of(analyte)
        if within_days is None:
            return [e for e in entries if e.effective is None or facts.days_ago(e.effective) >= 0]
        return [e for e in entries if facts.within(e.effective, within_days)]

    def latest_lab(self, facts: Facts, analyte: str, *, within_days: int) -> LabEntry | None:
        """The newest result with a value within the window."""
        for entry in self.lab_results(facts, analyte, within_days=within_days):
            if entry.value is not None:
                return entry
        return None

    def is_low(self, lab: LabEntry, default_low: float | None = None) -> bool:
        """Below range: interpretation first (§1.2), then the lab's range, then the default. A
        censored result counts only when its bound settles it: "<3.0" is below a low limit of 3.5
        (and of 3.0), "<=3.0" is below 3.5 but not 3.0, ">..." never is."""
        if any(code in LOW_INTERPRETATIONS for code in lab.interpretation):
            return True
        low = lab.reference_low if lab.reference_low is not None else default_low
        return low is not None and certainly_below(lab, low)

    def is_high(self, lab: LabEntry, default_high: float | None = None) -> bool:
        """Above range; the mirror of is_low (">10" is above a high limit of 10)."""
        if any(code in HIGH_INTERPRETATIONS for code in lab.interpretation):
            return True
        high = lab.reference_high if lab.reference_high is not None else default_high
        return high is not None and certainly_above(lab, high)


def certainly_below(lab: LabEntry, limit: float) -> bool:
    """The true value is < limit: "3.1" < 3.5, "<5" < 12 and "<5" < 5; "<=5" is not < 5."""
    return below(lab.value, lab.comparator, limit)


def certainly_at_most(lab: LabEntry, limit: float) -> bool:
    """The true value is <= limit: for 75, "75", "<=75" and "<75" are; "<80" is not."""
    return at_most(lab.value, lab.comparator, limit)


def certainly_above(lab: LabEntry, limit: float) -> bool:
    """The true value is > limit: "2450" > 1900, ">20000" > 20000; ">=10" is not > 10."""
    return above(lab.value, lab.comparator, limit)


def certainly_at_least(lab: LabEntry, limit: float) -> bool:
    """The true value is >= limit (catalog limits written "≥"): ">14" is at least 6.5."""
    return at_least(lab.value, lab.comparator, limit)


def below(value: float | None, comparator: str | None, limit: float) -> bool:
    if value is None:
        return False
    if comparator is None:
        return value < limit
    if comparator == "<":
        return value <= limit
    if comparator == "<=":
        return value < limit
    return False  # ">" / ">=" never are; "ad" or anything else is not a measured bound


def at_most(value: float | None, comparator: str | None, limit: float) -> bool:
    if value is None or (comparator is not None and comparator not in UPPER_BOUNDS):
        return False
    return value <= limit


def above(value: float | None, comparator: str | None, limit: float) -> bool:
    if value is None:
        return False
    if comparator is None:
        return value > limit
    if comparator == ">":
        return value >= limit
    if comparator == ">=":
        return value > limit
    return False


def at_least(value: float | None, comparator: str | None, limit: float) -> bool:
    if value is None or (comparator is not None and comparator not in LOWER_BOUNDS):
        return False
    return value >= limit


def value_text(lab: LabEntry, digits: int = 2) -> str:
    """The canonical value as written on a card, with its comparator as reported: "<5" stays
    "<5", never "5" (a censored or qualified result is never shown as an exact one)."""
    if lab.value is None:
        return "(no value)"
    return f"{lab.comparator or ''}{fmt(lab.value, digits)}"
