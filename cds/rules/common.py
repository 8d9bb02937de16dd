"""Helpers that rule versions share, so that every rule answers a shared question the same way:
how numbers, results and records are worded on a card; whether a result is certainly beyond a
decision limit (§1.2); and the §2 electrolyte questions (look-back, default limits, low potassium
or magnesium, albumin-corrected calcium) that the diuretic, electrolyte, beta-2 agonist and
kidney cards must answer alike.

A rule version's content hash covers every `cds.rules.*` module it imports, directly or through
another module (`registry.content_hash`). Every rule imports this one, so once rules are
released a change here that alters their output needs new versions of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Protocol, TypeVar

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry, MedicationEntry, ProcedureEntry
from cds.rules.base import Evidence
from cds.terminology.units import corrected_calcium

LOW_CONFIDENCE_NOTE = "matched by name only: check the medication list"


# -- numbers and text ------------------------------------------------------------------------


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
    return summary if len(summary) < 140 else summary[:136].rstrip() + "..."


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


def time_ago(facts: Facts, when: datetime | None) -> str:
    """How long ago, as "5 days ago" or "3 wk ago": clinicians count recent events in weeks."""
    if when is None:
        return "date unknown"
    days = facts.days_ago(when)
    if days < 14:
        return f"{days} day{'s' if days != 1 else ''} ago"
    return f"{days // 7} wk ago"


def drug_names(meds: Iterable[MedicationEntry]) -> str:
    """ "furosemide and hydrochlorothiazide": generic names, in the order found, no repeats."""
    names: list[str] = []
    for med in meds:
        for name in med.names:
            if name not in names:
                names.append(name)
    if len(names) <= 1:
        return names[0] if names else "a medication"
    return ", ".join(names[:-1]) + " and " + names[-1]


def low_confidence_cautions(meds: Iterable[MedicationEntry]) -> tuple[str, ...]:
    uncertain = [m.display for m in meds if m.low_confidence]
    if not uncertain:
        return ()
    return (
        "Medication identified from its name only (no recognised RxNorm code): "
        + "; ".join(uncertain)
        + ". Confirm it on the medication list.",
    )


# -- records as evidence ---------------------------------------------------------------------


class _Referenced(Protocol):
    @property
    def reference(self) -> str: ...


_Entry = TypeVar("_Entry", bound=_Referenced)


def unique_by_reference(entries: Iterable[_Entry]) -> list[_Entry]:
    """Each resource once (the first entry of each reference), in the order found: the same
    Condition can match several value sets, and a card lists it once."""
    seen: set[str] = set()
    kept: list[_Entry] = []
    for entry in entries:
        if entry.reference not in seen:
            seen.add(entry.reference)
            kept.append(entry)
    return kept


def condition_code(condition: ConditionEntry) -> str:
    """The first code of a condition, for a summary such as "PAD on record (I73.9)"."""
    for coding in condition.codings:
        code = coding.get("code")
        if code:
            return str(code)
    return ""


def condition_name(condition: ConditionEntry) -> str:
    """The record's own wording and code, e.g. "Lumbar radiculopathy (M54.16)". Kept as
    written: lower-casing would mangle eponyms (Parkinson's, Addison's, Baker's)."""
    code = condition_code(condition)
    name = condition.display or code or "condition"
    return f"{name} ({code})" if code and code != name else name


def lab_value(lab: LabEntry, unit: str, digits: int = 2) -> str:
    """The canonical value and unit, e.g. "3.1 mmol/L"."""
    return f"{fmt(lab.value, digits)} {unit}" if lab.value is not None else "(no value)"


def lab_evidence(lab: LabEntry, label: str, unit: str, digits: int = 2) -> Evidence:
    value = lab_value(lab, unit, digits)
    if lab.reference_low is not None or lab.reference_high is not None:
        low = fmt(lab.reference_low, digits) if lab.reference_low is not None else ""
        high = fmt(lab.reference_high, digits) if lab.reference_high is not None else ""
        value += f" (reference {low}-{high})"
    if lab.raw_unit and lab.raw_unit != unit and lab.raw_value is not None:
        value += f"; reported as {fmt(lab.raw_value, digits)} {lab.raw_unit}"
    return Evidence(label=label, value=value, when=lab.effective, reference=lab.reference)


def result_evidence(lab: LabEntry, label: str, unit: str, digits: int = 2) -> Evidence:
    """lab_evidence, keeping a censored result's comparator ("<5 ng/mL")."""
    evidence = lab_evidence(lab, label, unit, digits)
    if lab.comparator:
        return replace(evidence, value=f"{lab.comparator}{evidence.value}")
    return evidence


def medication_evidence(med: MedicationEntry) -> Evidence:
    status = "draft order (being ordered now)" if med.drafted else med.status
    return Evidence(
        label=med.display or ", ".join(med.names),
        value=status,
        when=med.start,
        reference=med.reference,
        note=LOW_CONFIDENCE_NOTE if med.low_confidence else "",
    )


def condition_evidence(condition: ConditionEntry, what: str = "") -> Evidence:
    code = condition_code(condition)
    status = condition.clinical_status or (
        "recorded" if condition.source == "Condition" else condition.source.lower()
    )
    label = condition.display or what or code
    return Evidence(
        label=label,
        value=f"{status}{f', code {code}' if code else ''}",
        when=condition.onset or condition.recorded,
        reference=condition.reference,
    )


def conditions_evidence(conditions: Iterable[ConditionEntry]) -> tuple[Evidence, ...]:
    """One line per condition, each resource once."""
    return tuple(condition_evidence(c) for c in unique_by_reference(conditions))


def procedure_evidence(procedure: ProcedureEntry, facts: Facts) -> Evidence:
    when = procedure.end or procedure.start
    ago = f"{facts.days_ago(when)} days ago" if when else "date unknown"
    return Evidence(label=procedure.display, value=ago, when=when, reference=procedure.reference)


def unique_evidence(evidence: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """One line per resource and label: the same condition can be, say, both a complaint and a
    risk item, and a card should list it once."""
    seen: set[tuple[str, str]] = set()
    kept: list[Evidence] = []
    for item in evidence:
        key = (item.reference, item.label)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return tuple(kept)


# -- a result against a decision limit (§1.2) ------------------------------------------------
#
# §1.2 drops results with a comparator ("<5", ">14") "unless the decision is still
# unambiguous". These answer "is the true value certainly below / above / at least / at most
# the limit?": "<5" is certainly below 12, ">14" certainly at least 6.5, but "<80" is not
# certainly at most 75, so the answer is False and the result does not decide.
#
# - "<v" means x < v and "<=v" means x <= v (and the mirror for ">" and ">="): the boundary
#   counts only where it is excluded ("<75" is certainly below 75, "<=75" is not).
# - Any other comparator, such as FHIR's "ad" ("sufficient to achieve this total quantity",
#   a dosing notion that says nothing about a measured value), is never certain: treating it as
#   a plain number could fire or silence a card on a value nobody measured, so the safe answer
#   is False, as for a result with no value.
# Reference-range questions ("outside the lab's range") go through Facts.is_low / is_high.

_UPPER_BOUNDS = frozenset({"<", "<="})  # the true value is at most the reported one
_LOWER_BOUNDS = frozenset({">", ">="})  # the true value is at least the reported one


def certainly_below(lab: LabEntry, limit: float) -> bool:
    """The true value is < limit: "3.1" < 3.5, "<5" < 12 and "<5" < 5; "<=5" is not < 5."""
    return _below(lab.value, lab.comparator, limit)


def certainly_at_most(lab: LabEntry, limit: float) -> bool:
    """The true value is <= limit: for 75, "75", "<=75" and "<75" are; "<80" is not."""
    return _at_most(lab.value, lab.comparator, limit)


def certainly_above(lab: LabEntry, limit: float) -> bool:
    """The true value is > limit: "2450" > 1900, ">20000" > 20000; ">=10" is not > 10."""
    return _above(lab.value, lab.comparator, limit)


def certainly_at_least(lab: LabEntry, limit: float) -> bool:
    """The true value is >= limit (catalog limits written "≥"): ">14" is at least 6.5."""
    return _at_least(lab.value, lab.comparator, limit)


def _below(value: float | None, comparator: str | None, limit: float) -> bool:
    if value is None:
        return False
    if comparator is None:
        return value < limit
    if comparator == "<":
        return value <= limit
    if comparator == "<=":
        return value < limit
    return False  # ">" / ">=" never are; "ad" or anything else is not a measured bound


def _at_most(value: float | None, comparator: str | None, limit: float) -> bool:
    if value is None or (comparator is not None and comparator not in _UPPER_BOUNDS):
        return False
    return value <= limit


def _above(value: float | None, comparator: str | None, limit: float) -> bool:
    if value is None:
        return False
    if comparator is None:
        return value > limit
    if comparator == ">":
        return value >= limit
    if comparator == ">=":
        return value > limit
    return False


def _at_least(value: float | None, comparator: str | None, limit: float) -> bool:
    if value is None or (comparator is not None and comparator not in _LOWER_BOUNDS):
        return False
    return value >= limit


def value_text(lab: LabEntry, digits: int = 2) -> str:
    """The canonical value as written on a card, with its comparator as reported: "<5" stays
    "<5", never "5" (a censored or qualified result is never shown as an exact one)."""
    if lab.value is None:
        return "(no value)"
    return f"{lab.comparator or ''}{fmt(lab.value, digits)}"


# -- §2 electrolytes -------------------------------------------------------------------------
#
# The diuretic and the drug-agnostic electrolyte cards must judge the same result (the first
# suppresses the second when it explains the same labs, cds.cards.select_findings), and the
# beta-2 agonist and kidney cards read the same potassium, magnesium and calcium: one window
# and one set of default limits for all of them. The defaults apply only when the lab gives no
# range (§1.2).

ELECTROLYTE_WINDOW_DAYS = 90  # §2 look-back (latest result within it)
K_LOW = 3.5  # mmol/L
MG_LOW = 0.70  # mmol/L (1.7 mg/dL, §1.3)
CA_LOW = 8.5  # mg/dL, albumin-corrected
CA_HIGH = 10.5  # mg/dL, albumin-corrected


def low_potassium(facts: Facts) -> LabEntry | None:
    """The latest potassium in the §2 window when it is below range: the lab's flag, then its
    range, then K_LOW (Facts.is_low, which also settles a censored "<3.0")."""
    potassium = facts.latest_lab("potassium", within_days=ELECTROLYTE_WINDOW_DAYS)
    if potassium is not None and facts.is_low(potassium, K_LOW):
        return potassium
    return None


def low_magnesium(facts: Facts) -> LabEntry | None:
    """The latest magnesium in the §2 window when it is below range (flag, range, MG_LOW)."""
    magnesium = facts.latest_lab("magnesium", within_days=ELECTROLYTE_WINDOW_DAYS)
    if magnesium is not None and facts.is_low(magnesium, MG_LOW):
        return magnesium
    return None


# How the calcium value was obtained: a reported albumin-corrected result; a total calcium
# corrected here with albumin; or a total judged as measured because there is no albumin.
CalciumSource = Literal["reported", "calculated", "no-albumin"]


@dataclass(frozen=True)
class Calcium:
    """The calcium the §2/§3/§14 cards judge (§1.3: Ca + 0.8 × (4.0 − albumin g/dL)).

    `value` is in mg/dL; `comparator` is None for an exact value, or the bound it is: the
    reported result's own ("<1.5 mmol/L"), or, for a value corrected here, the bound that a
    censored total or albumin implies (see `albumin_corrected_calcium`). Decide with the
    `certainly_*` methods, which honour it as `common.certainly_*` do for a result."""

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
        return _below(self.value, self.comparator, limit)

    def certainly_above(self, limit: float) -> bool:
        return _above(self.value, self.comparator, limit)

    def certainly_at_least(self, limit: float) -> bool:
        return _at_least(self.value, self.comparator, limit)

    def value_text(self, digits: int = 1) -> str:
        return f"{self.comparator or ''}{fmt(self.value, digits)}"

    def evidence(self, limits: str = "") -> Evidence:
        """The evidence line; `limits` (e.g. "lower limit 8.5") is added to a calculated
        value, whose total calcium range describes the uncorrected value."""
        if self.source == "reported":
            return lab_evidence(self.lab, "Calcium, albumin-corrected", "mg/dL", 1)
        if self.source == "no-albumin" or self.albumin is None:
            return lab_evidence(self.lab, "Calcium, total (uncorrected)", "mg/dL", 1)
        return Evidence(
            label="Calcium, albumin-corrected",
            value=(
                f"{self.value_text(1)} mg/dL (total {value_text(self.lab, 1)} mg/dL, "
                f"albumin {value_text(self.albumin, 1)} g/dL{f'; {limits}' if limits else ''})"
            ),
            when=self.lab.effective,
            reference=self.lab.reference,
        )


def albumin_corrected_calcium(
    facts: Facts, within_days: int = ELECTROLYTE_WINDOW_DAYS
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
    reported = facts.latest_lab("calcium-corrected", within_days=within_days)
    total = facts.latest_lab("calcium-total", within_days=within_days)
    if reported is not None and reported.value is not None:
        newest = facts.as_of
        if total is None or (reported.effective or newest) >= (total.effective or newest):
            return Calcium(reported, reported.value, reported.comparator, "reported", None)
    if total is None or total.value is None:
        return None
    albumin = facts.latest_lab("albumin", within_days=within_days)
    if albumin is None or albumin.value is None:
        return Calcium(total, total.value, total.comparator, "no-albumin", None)
    usable, comparator = _corrected_bound(total.comparator, albumin.comparator)
    if not usable:
        return None
    value = corrected_calcium(total.value, albumin.value)
    return Calcium(total, value, comparator, "calculated", albumin)


def _corrected_bound(total: str | None, albumin: str | None) -> tuple[bool, str | None]:
    """Whether Ca + 0.8 × (4 − albumin) is usable given its inputs' comparators, and the
    comparator it then carries (None: exact)."""
    directions: set[str] = set()
    strict = False
    for comparator, flips in ((total, False), (albumin, True)):
        if comparator is None:
            continue
        if comparator not in _UPPER_BOUNDS | _LOWER_BOUNDS:
            return False, None
        upper = (comparator in _UPPER_BOUNDS) != flips  # an albumin floor caps the result
        directions.add("<" if upper else ">")
        strict = strict or comparator in ("<", ">")
    if not directions:
        return True, None
    if len(directions) > 1:
        return False, None
    (direction,) = directions
    return True, direction if strict else direction + "="
