"""cds.rules.lib.laterality.v1: the side a coded complaint is about, read from the verified
display of the code it matches."""

from __future__ import annotations

import pytest

from cds.rules.lib.library import Library2026_12
from cds.terminology import Terminology
from tests.support.fhir import ICD10, condition, facts_for

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_12()


@pytest.mark.parametrize(
    ("codes", "side"),
    [
        (["M79.604"], "right"),
        (["M79.605"], "left"),
        (["R22.41"], "right"),
        (["R22.42"], "left"),
        (["R22.43"], "both"),
        (["M79.604", "R22.42"], "both"),
        (["M79.606"], None),
        (["G47.62"], None),
    ],
)
def test_the_side_of_the_complaints(
    terminology: Terminology, codes: list[str], side: str | None
) -> None:
    facts = facts_for(terminology, [condition(code, system=ICD10) for code in codes])
    assert LIBRARY.side_of(facts, LIBRARY.leg_complaints(facts), "leg-complaint") == side


def test_the_records_own_wording_is_never_read(terminology: Terminology) -> None:
    # The display the EHR sent says "left"; the code says nothing of a side.
    unspecified = condition("M79.606", system=ICD10, display="Pain in LEFT leg (per patient)")
    facts = facts_for(terminology, [unspecified])
    assert LIBRARY.side_of(facts, LIBRARY.leg_complaints(facts), "leg-complaint") is None


def test_a_code_outside_the_set_says_nothing(terminology: Terminology) -> None:
    # "Pain in left leg" is a leg complaint naming a side, but not a code of leg swelling.
    facts = facts_for(terminology, [condition("M79.605", system=ICD10)])
    complaints = LIBRARY.leg_complaints(facts)
    assert LIBRARY.side_of(facts, complaints, "leg-complaint") == "left"
    assert LIBRARY.side_of(facts, complaints, "unilateral-leg-swelling") is None
