"""cds.rules.lib.electrolytes.v1: albumin-corrected calcium (clinical-content.md §1.3), as every
card that judges calcium reads it, censored inputs included."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from cds.rules.lib.electrolytes.v1 import Calcium
from cds.rules.lib.library import Library2026_11
from cds.terminology import Terminology
from cds.terminology.units import corrected_calcium
from tests.support.fhir import facts_for, observation

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

CA_TOTAL = "17861-6"  # mg/dL
CA_CORRECTED = "29265-6"  # mmol/L
ALBUMIN = "1751-7"  # g/dL


def calcium_of(terminology: Terminology, *resources: dict[str, Any]) -> Calcium | None:
    return LIBRARY.albumin_corrected_calcium(facts_for(terminology, resources))


def calcium_found(terminology: Terminology, *resources: dict[str, Any]) -> Calcium:
    calcium = calcium_of(terminology, *resources)
    assert calcium is not None
    return calcium


def test_calcium_corrected_with_albumin(terminology: Terminology) -> None:
    total = observation(CA_TOTAL, 7.0, "mg/dL", days_ago=3)
    albumin = observation(ALBUMIN, 3.0, "g/dL", days_ago=3)
    calcium = calcium_found(terminology, total, albumin)
    assert calcium.source == "calculated"
    assert calcium.corrected
    assert calcium.lab.reference == f"Observation/{total['id']}"
    assert calcium.albumin is not None
    assert calcium.albumin.reference == f"Observation/{albumin['id']}"
    assert calcium.value == pytest.approx(7.8)
    assert calcium.comparator is None
    assert LIBRARY.calcium_evidence(calcium).value == "7.8 mg/dL (total 7 mg/dL, albumin 3 g/dL)"
    assert LIBRARY.calcium_evidence(calcium, "lower limit 8.5").value == (
        "7.8 mg/dL (total 7 mg/dL, albumin 3 g/dL; lower limit 8.5)"
    )
    assert LIBRARY.calcium_evidence(calcium).label == "Calcium, albumin-corrected"


def test_a_reported_corrected_calcium_is_preferred_unless_a_total_is_newer(
    terminology: Terminology,
) -> None:
    reported = observation(CA_CORRECTED, 2.0, "mmol/L", days_ago=5)
    same_day = observation(CA_TOTAL, 9.0, "mg/dL", days_ago=5)
    newer = observation(CA_TOTAL, 9.0, "mg/dL", days_ago=2)
    albumin = observation(ALBUMIN, 3.0, "g/dL", days_ago=2)
    calcium = calcium_found(terminology, reported, same_day, albumin)
    assert calcium.source == "reported"
    assert calcium.lab.reference == f"Observation/{reported['id']}"
    assert LIBRARY.calcium_evidence(calcium).label == "Calcium, albumin-corrected"
    assert calcium_found(terminology, reported, newer, albumin).source == "calculated"


def test_without_albumin_the_total_is_judged_as_measured(terminology: Terminology) -> None:
    calcium = calcium_found(terminology, observation(CA_TOTAL, 7.9, "mg/dL"))
    assert calcium.source == "no-albumin"
    assert not calcium.corrected
    assert calcium.value == pytest.approx(7.9)
    assert calcium.albumin is None
    assert LIBRARY.calcium_evidence(calcium).label == "Calcium, total (uncorrected)"
    assert calcium_of(terminology, observation(ALBUMIN, 3.0, "g/dL")) is None


@pytest.mark.parametrize(
    ("total", "albumin", "comparator"),
    [
        (("<", 7.0), (None, 4.0), "<"),  # total below 7: corrected below 7
        (("<=", 7.0), (None, 4.0), "<="),
        ((">", 12.0), (None, 4.0), ">"),
        ((None, 9.0), ("<", 2.0), ">"),  # less albumin: more correction
        ((None, 9.0), (">=", 4.5), "<="),
        (("<", 7.0), (">=", 4.5), "<"),  # both push the same way; one strict
        ((">=", 12.0), ("<=", 2.0), ">="),
        (("<", 7.0), ("<", 2.0), None),  # opposite ways: nothing certain
        ((">", 12.0), (">", 4.5), None),
        (("ad", 7.0), (None, 4.0), None),  # not a bound
        ((None, 9.0), ("ad", 2.0), None),
    ],
)
def test_censored_inputs_make_the_corrected_value_a_bound(
    terminology: Terminology,
    total: tuple[str | None, float],
    albumin: tuple[str | None, float],
    comparator: str | None,
) -> None:
    calcium = calcium_of(
        terminology,
        observation(CA_TOTAL, total[1], "mg/dL", comparator=total[0]),
        observation(ALBUMIN, albumin[1], "g/dL", comparator=albumin[0]),
    )
    if comparator is None:
        assert calcium is None
        return
    assert calcium is not None
    assert calcium.source == "calculated"
    assert calcium.comparator == comparator
    assert calcium.value == pytest.approx(corrected_calcium(total[1], albumin[1]))
    assert calcium.value_text(1).startswith(comparator)


def test_decisions_on_a_corrected_bound_are_sound(terminology: Terminology) -> None:
    """Whatever true total and albumin the censored results allow, a "certainly" answer holds
    for the corrected value they give."""
    rng = random.Random(7)
    comparators = [None, "<", "<=", ">", ">="]
    for _ in range(300):
        total = (rng.choice(comparators), round(rng.uniform(5, 14), 1))
        albumin = (rng.choice(comparators), round(rng.uniform(1.5, 5.5), 1))
        calcium = calcium_of(
            terminology,
            observation(CA_TOTAL, total[1], "mg/dL", comparator=total[0]),
            observation(ALBUMIN, albumin[1], "g/dL", comparator=albumin[0]),
        )
        if calcium is None:
            continue
        limit = round(rng.uniform(6, 13), 1)
        for true_total, true_albumin in itertools.product(
            _allowed(*total, step=0.05), _allowed(*albumin, step=0.05)
        ):
            true = corrected_calcium(true_total, true_albumin)
            if calcium.certainly_below(limit):
                assert true < limit, (total, albumin, limit)
            if calcium.certainly_above(limit):
                assert true > limit, (total, albumin, limit)
            if calcium.certainly_at_least(limit):
                assert true >= limit, (total, albumin, limit)


def _allowed(comparator: str | None, value: float, *, step: float) -> list[float]:
    """Sample true values a result allows (a few steps around the bound, the bound included
    when the comparator includes it)."""
    span = [value + step * k for k in range(-4, 5)]
    return {
        None: [value],
        "<": [x for x in span if x < value],
        "<=": [x for x in span if x <= value],
        ">": [x for x in span if x > value],
        ">=": [x for x in span if x >= value],
    }[comparator]
