"""Evidence lines, as v1, except that a result is always shown as reported: a censored value
keeps its comparator ("<2.5 mmol/L"), everywhere (clinical-content.md §22.2 g)."""

from __future__ import annotations

from dataclasses import replace

from cds.record import LabEntry
from cds.rules.base import Evidence
from cds.rules.lib.evidence.v1 import EvidenceLines
from cds.rules.lib.results.v1 import value_text


class EvidenceLinesV2(EvidenceLines):
    """As v1, except that a result always keeps its comparator (§22.2 g)."""

    def lab_evidence(self, lab: LabEntry, label: str, unit: str, digits: int = 2) -> Evidence:
        """The result's line: value with its comparator and unit, the lab's range, the unit it was
        reported in when converted."""
        evidence = super().lab_evidence(lab, label, unit, digits)
        if lab.comparator:
            return replace(evidence, value=f"{lab.comparator}{evidence.value}")
        return evidence

    def result_evidence(self, lab: LabEntry, label: str, unit: str, digits: int = 2) -> Evidence:
        """The same line as `lab_evidence`: every result keeps its comparator now."""
        return self.lab_evidence(lab, label, unit, digits)

    def measured(self, lab: LabEntry, unit: str, digits: int = 2) -> str:
        """A result as a summary names it: "<2.5 mmol/L", "3.1 mmol/L"."""
        return f"{value_text(lab, digits)} {unit}"
