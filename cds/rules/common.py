"""Helpers that rule versions share: how evidence is worded and numbers are shown.

Rule versions that import this module include its source in their content hash, so a change
here that alters a released rule's output shows up as a hash mismatch in the test suite.
"""

from __future__ import annotations

from collections.abc import Iterable

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry, MedicationEntry, ProcedureEntry
from cds.rules.base import Evidence

LOW_CONFIDENCE_NOTE = "matched by name only: check the medication list"


def fmt(value: float, digits: int = 2) -> str:
    """3.1 -> "3.1", 3.10 -> "3.1", 2450.0 -> "2,450": short, as clinicians write numbers."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.{digits}f}"
    if "." in text:  # strip only fractional zeros: 100 stays "100"
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


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
    code = ""
    for coding in condition.codings:
        if coding.get("code"):
            code = str(coding["code"])
            break
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


def procedure_evidence(procedure: ProcedureEntry, facts: Facts) -> Evidence:
    when = procedure.end or procedure.start
    ago = f"{facts.days_ago(when)} days ago" if when else "date unknown"
    return Evidence(label=procedure.display, value=ago, when=when, reference=procedure.reference)


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


def fit_summary(summary: str) -> str:
    """Cards must stay under 140 characters (CDS Hooks); rules write to fit, this guards."""
    return summary if len(summary) < 140 else summary[:136].rstrip() + "..."
