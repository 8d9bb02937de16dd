"""cds.rules.lib.electrolytes.v2: whether a calcium is outside its range, judged as §1.2 says
(the lab's flag, then its range, then the default), the same for every card that asks."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.lib.electrolytes.v1 import Calcium
from cds.rules.lib.library import Library2026_12
from cds.terminology import Terminology
from tests.support.fhir import facts_for, observation

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_12()

CA_TOTAL = "17861-6"  # mg/dL
CA_CORRECTED = "29265-6"  # mmol/L
ALBUMIN = "1751-7"  # g/dL


def calcium(terminology: Terminology, *resources: dict[str, Any]) -> Calcium:
    found = LIBRARY.albumin_corrected_calcium(facts_for(terminology, resources))
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("total", "direction"), [(8.5, "low"), (8.6, None), (10.2, None), (10.3, "high")]
)
def test_a_total_without_albumin_is_judged_against_the_labs_range(
    terminology: Terminology, total: float, direction: str | None
) -> None:
    ca = calcium(terminology, observation(CA_TOTAL, total, "mg/dL", low=8.6, high=10.2))
    assert ca.source == "no-albumin"
    assert LIBRARY.calcium_outside_range(ca) == direction


@pytest.mark.parametrize(("total", "direction"), [(8.4, "low"), (8.5, None), (10.6, "high")])
def test_without_a_range_the_defaults_apply(
    terminology: Terminology, total: float, direction: str | None
) -> None:
    ca = calcium(terminology, observation(CA_TOTAL, total, "mg/dL"))
    assert LIBRARY.calcium_outside_range(ca) == direction


def test_the_labs_flag_comes_first(terminology: Terminology) -> None:
    flagged = observation(CA_CORRECTED, 2.3, "mmol/L", interpretation="H")  # 9.2 mg/dL
    assert LIBRARY.calcium_outside_range(calcium(terminology, flagged)) == "high"


@pytest.mark.parametrize(("total", "direction"), [(9.9, "high"), (9.8, None)])
def test_a_corrected_value_is_judged_against_the_labs_total_calcium_range(
    terminology: Terminology, total: float, direction: str | None
) -> None:
    # + 0.8 x (4.0 - 3.5): 9.9 -> 10.3 (above 10.2), 9.8 -> 10.2 (not above).
    ca = calcium(
        terminology,
        observation(CA_TOTAL, total, "mg/dL", low=8.6, high=10.2, interpretation="N"),
        observation(ALBUMIN, 3.5, "g/dL"),
    )
    assert ca.source == "calculated"
    assert LIBRARY.calcium_outside_range(ca) == direction


def test_a_low_total_flagged_by_the_lab_is_not_low_once_corrected(
    terminology: Terminology,
) -> None:
    # 8.0 + 0.8 x 1.5 = 9.2 mg/dL: the total's flag describes the uncorrected value.
    ca = calcium(
        terminology,
        observation(CA_TOTAL, 8.0, "mg/dL", low=8.5, high=10.5, interpretation="L"),
        observation(ALBUMIN, 2.5, "g/dL"),
    )
    assert LIBRARY.calcium_outside_range(ca) is None


def test_a_censored_corrected_value_decides_only_when_its_bound_settles_it(
    terminology: Terminology,
) -> None:
    albumin = observation(ALBUMIN, 2.0, "g/dL")
    unsettled = calcium(terminology, observation(CA_TOTAL, 7.0, "mg/dL", comparator="<"), albumin)
    assert LIBRARY.calcium_outside_range(unsettled) is None  # "<8.6" may be normal
    settled = calcium(terminology, observation(CA_TOTAL, 12.0, "mg/dL", comparator=">"), albumin)
    assert LIBRARY.calcium_outside_range(settled) == "high"  # ">13.6"
