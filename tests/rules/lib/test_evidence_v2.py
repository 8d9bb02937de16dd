"""cds.rules.lib.evidence.v2: a result is shown as reported, its comparator kept, in every line
and summary (§22.2 g)."""

from __future__ import annotations

from dataclasses import replace

from cds.rules.lib.library import Library2026_12
from tests.rules.lib.test_evidence import lab

# The rule libraries, as a rule version of ruleset 2026.12 inherits them.
LIBRARY = Library2026_12()


def test_every_result_line_keeps_its_comparator_once() -> None:
    potassium = replace(lab(2.5, "<", "potassium", "mmol/L"), reference_low=3.5, reference_high=5.1)
    expected = "<2.5 mmol/L (reference 3.5-5.1)"
    assert LIBRARY.lab_evidence(potassium, "Potassium", "mmol/L", 1).value == expected
    assert LIBRARY.result_evidence(potassium, "Potassium", "mmol/L", 1).value == expected


def test_an_uncensored_result_is_shown_as_in_v1() -> None:
    potassium = lab(3.1, None, "potassium", "mmol/L")
    assert LIBRARY.lab_evidence(potassium, "Potassium", "mmol/L").value == "3.1 mmol/L"


def test_a_summary_names_the_value_as_reported() -> None:
    assert LIBRARY.measured(lab(90.0, "<", "oxygen-saturation", "%"), "%", 0) == "<90 %"
    assert LIBRARY.measured(lab(3.12, None, "potassium", "mmol/L"), "mmol/L", 1) == "3.1 mmol/L"
