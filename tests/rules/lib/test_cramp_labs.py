"""cds.rules.lib.cramp_labs.v1: a TSH above range, a low vitamin D and the statin muscle context,
as the thyroid, vitamin D and statin cards read them.

tests/rules/test_hypothyroidism.py, test_vitamin_d_deficiency.py and test_statin_muscle_symptoms.py
already pin the limits, windows, units and the free T4 pairing through their cards; these are
the parts no card test reaches.
"""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.lib.cramp_labs.v1 import HighTsh
from cds.rules.lib.library import Library2026_11
from cds.terminology import Terminology
from tests.support.fhir import ICD10, condition, facts_for, medication_request, observation

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

TSH = "3016-3"
FREE_T4 = "3024-7"


def high_tsh_of(terminology: Terminology, *resources: dict[str, Any]) -> HighTsh | None:
    return LIBRARY.high_tsh(facts_for(terminology, resources))


# -- TSH above range ------------------------------------------------------------------------------


def test_the_labs_high_flag_makes_a_tsh_high_within_its_range(terminology: Terminology) -> None:
    flagged = observation(TSH, 4.0, "mIU/L", high=4.2, interpretation="H")
    assert high_tsh_of(terminology, flagged) is not None
    assert high_tsh_of(terminology, observation(TSH, 4.0, "mIU/L", high=4.2)) is None


def test_a_censored_tsh_above_the_default_limit_is_high(terminology: Terminology) -> None:
    thyroid = high_tsh_of(terminology, observation(TSH, 10, "mIU/L", comparator=">"))
    assert thyroid is not None
    assert thyroid.at_treatment_threshold
    assert high_tsh_of(terminology, observation(TSH, 10, "mIU/L", comparator="<")) is None


@pytest.mark.parametrize(
    ("value", "comparator", "at_threshold"),
    [(10.0, None, True), (9.9, None, False), (9.0, ">", False), (10.0, ">=", True)],
)
def test_the_treatment_threshold_is_10_and_needs_certainty(
    terminology: Terminology, value: float, comparator: str | None, at_threshold: bool
) -> None:
    thyroid = high_tsh_of(terminology, observation(TSH, value, "mIU/L", comparator=comparator))
    assert thyroid is not None
    assert thyroid.at_treatment_threshold is at_threshold


def test_a_free_t4_flagged_low_without_a_value_makes_it_overt(terminology: Terminology) -> None:
    flag_only = observation(FREE_T4, None, days_ago=5, interpretation="L")
    thyroid = high_tsh_of(terminology, observation(TSH, 14, "mIU/L", days_ago=5), flag_only)
    assert thyroid is not None
    assert thyroid.free_t4 is not None
    assert thyroid.free_t4.reference == f"Observation/{flag_only['id']}"
    assert thyroid.overt


# -- statin muscle context ------------------------------------------------------------------------


def test_statin_context_lists_muscle_codes_before_leg_complaints(
    terminology: Terminology,
) -> None:
    statin = medication_request("83367", "atorvastatin")
    cramp = condition("G47.62", system=ICD10, display="Sleep related leg cramps")
    myopathy = condition("G72.0", system=ICD10, display="Drug-induced myopathy")
    context = LIBRARY.statin_muscle_context(facts_for(terminology, [statin, cramp, myopathy]))
    assert context is not None
    assert [m.reference for m in context.statins] == [f"MedicationRequest/{statin['id']}"]
    assert [s.reference for s in context.symptoms] == [
        f"Condition/{myopathy['id']}",
        f"Condition/{cramp['id']}",
    ]
