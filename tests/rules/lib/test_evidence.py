"""cds.rules.lib.evidence.v1: records as a card's evidence lines, each resource once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cds.record import LabEntry
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.library import Library2026_11

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()


def lab(value: float, comparator: str | None, analyte: str, unit: str) -> LabEntry:
    return LabEntry(
        reference="Observation/1",
        analyte=analyte,
        display=analyte,
        value=value,
        unit=unit,
        raw_value=value,
        raw_unit=unit,
        comparator=comparator,
        effective=datetime(2026, 11, 1, tzinfo=UTC),
        reference_low=None,
        reference_high=None,
        interpretation=(),
    )


def test_unique_by_reference_keeps_the_first_of_each_in_order() -> None:
    @dataclass(frozen=True)
    class Entry:
        reference: str
        tag: int

    entries = [Entry("A", 1), Entry("B", 2), Entry("A", 3), Entry("C", 4), Entry("B", 5)]
    assert unique_by_reference(entries) == [Entry("A", 1), Entry("B", 2), Entry("C", 4)]


def test_result_evidence_keeps_the_comparator() -> None:
    vitamin_d = lab(5.0, "<", "vitamin-d-25oh", "ng/mL")
    assert LIBRARY.result_evidence(vitamin_d, "25-OH D", "ng/mL", 1).value == "<5 ng/mL"
    potassium = lab(3.1, None, "potassium", "mmol/L")
    assert LIBRARY.result_evidence(potassium, "Potassium", "mmol/L").value == "3.1 mmol/L"
