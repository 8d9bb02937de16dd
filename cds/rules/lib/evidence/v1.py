"""How records become a card's evidence lines: one line per resource, in the record's words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol, TypeVar

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry, MedicationEntry, ProcedureEntry
from cds.rules.base import Evidence
from cds.rules.lib.text.v1 import Wording, fmt

LOW_CONFIDENCE_NOTE = "matched by name only: check the medication list"


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


class EvidenceLines(Wording):
    """Evidence lines from record entries, one per resource, in the record's words."""

    def lab_evidence(self, lab: LabEntry, label: str, unit: str, digits: int = 2) -> Evidence:
        value = lab_value(lab, unit, digits)
        if lab.reference_low is not None or lab.reference_high is not None:
            low = fmt(lab.reference_low, digits) if lab.reference_low is not None else ""
            high = fmt(lab.reference_high, digits) if lab.reference_high is not None else ""
            value += f" (reference {low}-{high})"
        if lab.raw_unit and lab.raw_unit != unit and lab.raw_value is not None:
            value += f"; reported as {fmt(lab.raw_value, digits)} {lab.raw_unit}"
        return Evidence(label=label, value=value, when=lab.effective, reference=lab.reference)

    def result_evidence(self, lab: LabEntry, label: str, unit: str, digits: int = 2) -> Evidence:
        """lab_evidence, keeping a censored result's comparator ("<5 ng/mL")."""
        evidence = self.lab_evidence(lab, label, unit, digits)
        if lab.comparator:
            return replace(evidence, value=f"{lab.comparator}{evidence.value}")
        return evidence

    def medication_evidence(self, med: MedicationEntry) -> Evidence:
        status = "draft order (being ordered now)" if med.drafted else med.status
        return Evidence(
            label=med.display or ", ".join(med.names),
            value=status,
            when=med.start,
            reference=med.reference,
            note=LOW_CONFIDENCE_NOTE if med.low_confidence else "",
        )

    def condition_evidence(self, condition: ConditionEntry, what: str = "") -> Evidence:
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

    def conditions_evidence(self, conditions: Iterable[ConditionEntry]) -> tuple[Evidence, ...]:
        """One line per condition, each resource once."""
        return tuple(self.condition_evidence(c) for c in unique_by_reference(conditions))

    def procedure_evidence(self, procedure: ProcedureEntry, facts: Facts) -> Evidence:
        when = procedure.end or procedure.start
        ago = f"{facts.days_ago(when)} days ago" if when else "date unknown"
        return Evidence(
            label=procedure.display, value=ago, when=when, reference=procedure.reference
        )


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
