"""How numbers, drugs and times are worded on a card, the same way on every card."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from cds.facts import Facts
from cds.record import MedicationEntry

SUMMARY_LIMIT = 140  # CDS Hooks: a card's summary is under 140 characters


def fmt(value: float, digits: int = 2) -> str:
    """3.1 -> "3.1", 3.10 -> "3.1", 2450.0 -> "2,450": short, as clinicians write numbers.
    Only fractional zeros are stripped, so fmt(100, 0) is "100"."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.{digits}f}"
    if "." in text:  # strip only fractional zeros: 100 stays "100"
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def capitalise(text: str) -> str:
    """The first letter upper-cased, the rest kept: "metoclopramide and X" -> "Metoclopramide
    and X" (str.capitalize would lower-case the rest)."""
    return text[:1].upper() + text[1:]


def fit_summary(summary: str) -> str:
    """Cards must stay under 140 characters (CDS Hooks); rules write to fit, this guards."""
    return summary if len(summary) < SUMMARY_LIMIT else summary[:136].rstrip() + "..."


def join_parts(
    parts: Sequence[str], limit: int, separator: str = ", ", *, reserve_more: bool = True
) -> str:
    """Join as "a, b (+2 more)": the first parts that fit in `limit` characters, never fewer
    than one, so a summary stays short however much the record holds. With `reserve_more` the
    " (+N more)" suffix counts towards the limit; without it only the joined parts do."""
    shown: list[str] = []
    for index, part in enumerate(parts):
        rest = len(parts) - index - 1
        candidate = separator.join([*shown, part])
        if reserve_more and rest:
            candidate += f" (+{rest} more)"
        if shown and len(candidate) > limit:
            break
        shown.append(part)
    hidden = len(parts) - len(shown)
    return separator.join(shown) + (f" (+{hidden} more)" if hidden else "")


class Wording:
    """How drugs, times and uncertain matches are worded on a card."""

    def time_ago(self, facts: Facts, when: datetime | None) -> str:
        """How long ago, as "5 days ago" or "3 wk ago": clinicians count recent events in weeks."""
        if when is None:
            return "date unknown"
        days = facts.days_ago(when)
        if days < 14:
            return f"{days} day{'s' if days != 1 else ''} ago"
        return f"{days // 7} wk ago"

    def drug_names(self, meds: Iterable[MedicationEntry]) -> str:
        """ "furosemide and hydrochlorothiazide": generic names, in the order found, no repeats."""
        names: list[str] = []
        for med in meds:
            for name in med.names:
                if name not in names:
                    names.append(name)
        if len(names) <= 1:
            return names[0] if names else "a medication"
        return ", ".join(names[:-1]) + " and " + names[-1]

    def low_confidence_cautions(self, meds: Iterable[MedicationEntry]) -> tuple[str, ...]:
        uncertain = [m.display for m in meds if m.low_confidence]
        if not uncertain:
            return ()
        return (
            "Medication identified from its name only (no recognised RxNorm code): "
            + "; ".join(uncertain)
            + ". Confirm it on the medication list.",
        )
