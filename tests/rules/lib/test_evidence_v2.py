"""cds.rules.lib.evidence.v2: a result is shown as reported, comparator included, in evidence
lines and summaries alike (§22.2 g)."""

from __future__ import annotations

from dataclasses import replace

from cds.rules.lib.library import Library2026_12
from cds.terminology import Terminology
from tests.rules.lib.test_evidence import lab
from tests.support.fhir import facts_for, observation

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_12()

K = "2823-3"
MG_MASS = "19123-9"


def test_a_censored_result_keeps_its_comparator_once(terminology: Terminology) -> None:
    facts = facts_for(
        terminology, [observation(K, 2.5, "mmol/L", comparator="<", low=3.5, high=5.1)]
    )
    lab = LIBRARY.latest_lab(facts, "potassium", within_days=90)
    assert lab is not None
    line = LIBRARY.lab_evidence(lab, "Potassium", "mmol/L")
    assert line.value == "<2.5 mmol/L (reference 3.5-5.1)"
    assert LIBRARY.result_evidence(lab, "Potassium", "mmol/L") == line
    assert LIBRARY.measured(lab, "mmol/L") == "<2.5 mmol/L"


def test_an_exact_converted_result_says_how_it_was_reported(terminology: Terminology) -> None:
    facts = facts_for(terminology, [observation(MG_MASS, 1.4, "mg/dL")])
    lab = LIBRARY.latest_lab(facts, "magnesium", within_days=90)
    assert lab is not None
    assert LIBRARY.lab_evidence(lab, "Magnesium", "mmol/L").value == (
        "0.58 mmol/L; reported as 1.4 mg/dL"
    )
    assert LIBRARY.measured(lab, "mmol/L") == "0.58 mmol/L"


def test_every_result_line_keeps_its_comparator_once() -> None:
    potassium = replace(lab(2.5, "<", "potassium", "mmol/L"), reference_low=3.5, reference_high=5.1)
    expected = "<2.5 mmol/L (reference 3.5-5.1)"
    assert LIBRARY.lab_evidence(potassium, "Potassium", "mmol/L", 1).value == expected
    assert LIBRARY.result_evidence(potassium, "Potassium", "mmol/L", 1).value == expected


def test_an_uncensored_result_is_shown_as_in_v1() -> None:
    potassium = lab(3.1, None, "potassium", "mmol/L")
    assert LIBRARY.lab_evidence(potassium, "Potassium", "mmol/L").value == "3.1 mmol/L"


def test_a_summary_names_a_censored_vital_sign_as_reported() -> None:
    assert LIBRARY.measured(lab(90.0, "<", "oxygen-saturation", "%"), "%", 0) == "<90 %"
