"""cds.rules.lib.results.v1: which results count, and whether a result is below or above a
limit (clinical-content.md §1.2), censored results ("<5", ">14") included."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from cds.record import LabEntry
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.results.v1 import (
    certainly_above,
    certainly_at_least,
    certainly_at_most,
    certainly_below,
    value_text,
)
from cds.terminology import Terminology
from tests.support.fhir import facts_for, observation

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

K = "2823-3"


def lab(
    value: float | None,
    comparator: str | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    interpretation: tuple[str, ...] = (),
) -> LabEntry:
    return LabEntry(
        reference="Observation/1",
        analyte="potassium",
        display="Potassium",
        value=value,
        unit="mmol/L",
        raw_value=value,
        raw_unit="mmol/L",
        comparator=comparator,
        effective=datetime(2026, 11, 1, tzinfo=UTC),
        reference_low=low,
        reference_high=high,
        interpretation=interpretation,
    )


# -- which results count ------------------------------------------------------------------------


def test_a_censored_result_reaches_the_rules_as_the_newest_value(
    terminology: Terminology,
) -> None:
    below = observation(K, 2.5, "mmol/L", comparator="<", days_ago=1)
    facts = facts_for(terminology, [below, observation(K, 4.0, "mmol/L", days_ago=30)])
    latest = LIBRARY.latest_lab(facts, "potassium", within_days=90)
    assert latest is not None
    assert (latest.value, latest.comparator) == (2.5, "<")
    assert LIBRARY.is_low(latest, 3.5)


def test_a_future_result_never_counts_and_an_undated_one_only_without_a_window(
    terminology: Terminology,
) -> None:
    future = observation(K, 3.0, "mmol/L", days_ago=-1)
    undated = observation(K, 3.2, "mmol/L")
    del undated["effectiveDateTime"]
    recent = observation(K, 3.4, "mmol/L", days_ago=10)
    facts = facts_for(terminology, [future, undated, recent])
    everything = [e.reference for e in LIBRARY.lab_results(facts, "potassium")]
    assert everything == [f"Observation/{recent['id']}", f"Observation/{undated['id']}"]
    windowed = [e.reference for e in LIBRARY.lab_results(facts, "potassium", within_days=3650)]
    assert windowed == [f"Observation/{recent['id']}"]


@pytest.mark.parametrize(("days_ago", "found"), [(90, True), (91, False)])
def test_latest_lab_looks_back_whole_calendar_days(
    terminology: Terminology, days_ago: int, found: bool
) -> None:
    facts = facts_for(terminology, [observation(K, 3.1, "mmol/L", days_ago=days_ago)])
    assert (LIBRARY.latest_lab(facts, "potassium", within_days=90) is not None) is found


def test_latest_lab_passes_over_a_result_without_a_value(terminology: Terminology) -> None:
    flag_only = observation(K, None, days_ago=1, interpretation="L")
    valued = observation(K, 3.1, "mmol/L", days_ago=20)
    facts = facts_for(terminology, [flag_only, valued])
    assert len(LIBRARY.lab_results(facts, "potassium")) == 2
    latest = LIBRARY.latest_lab(facts, "potassium", within_days=90)
    assert latest is not None
    assert latest.reference == f"Observation/{valued['id']}"


# -- below or above range -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "comparator", "low", "low_result"),
    [
        (3.0, None, 3.5, True),
        (3.5, None, 3.5, False),
        (3.0, "<", 3.5, True),  # certainly below 3.0
        (3.5, "<", 3.5, True),  # x < 3.5
        (3.6, "<", 3.5, False),  # could be 3.55
        (3.4, "<=", 3.5, True),
        (3.5, "<=", 3.5, False),  # could be exactly 3.5
        (2.0, ">", 3.5, False),  # could be anything above 2
        (2.0, ">=", 3.5, False),
        (3.0, "ad", 3.5, False),  # "sufficient to achieve": not a bound
    ],
)
def test_is_low_uses_a_censored_result_only_when_it_settles_the_answer(
    value: float, comparator: str | None, low: float, low_result: bool
) -> None:
    assert LIBRARY.is_low(lab(value, comparator, low=low)) is low_result
    assert LIBRARY.is_low(lab(value, comparator), low) is low_result  # the default


@pytest.mark.parametrize(
    ("value", "comparator", "high", "high_result"),
    [
        (5.5, None, 5.1, True),
        (5.1, None, 5.1, False),
        (5.1, ">", 5.1, True),
        (5.0, ">", 5.1, False),
        (5.2, ">=", 5.1, True),
        (5.1, ">=", 5.1, False),
        (9.0, "<", 5.1, False),
        (9.0, "<=", 5.1, False),
    ],
)
def test_is_high_mirrors_is_low(
    value: float, comparator: str | None, high: float, high_result: bool
) -> None:
    assert LIBRARY.is_high(lab(value, comparator, high=high)) is high_result
    assert LIBRARY.is_high(lab(value, comparator), high) is high_result  # the default


def test_the_labs_own_range_beats_the_default_and_interpretation_beats_both() -> None:
    assert not LIBRARY.is_low(lab(3.4, low=3.3), 3.5)
    assert LIBRARY.is_low(lab(3.4, low=3.3, interpretation=("L",)), 3.5)
    assert LIBRARY.is_high(lab(None, interpretation=("HH",)))
    assert not LIBRARY.is_high(lab(5.0, high=5.1), 4.5)
    assert not LIBRARY.is_low(lab(None), 3.5)
    assert not LIBRARY.is_low(lab(3.0))  # no range, no default: unknown, not low


# -- a result against a decision limit ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "comparator", "limit", "below", "at_most", "above", "at_least"),
    [
        (3.1, None, 3.5, True, True, False, False),
        (3.5, None, 3.5, False, True, False, True),
        (5.0, "<", 5.0, True, True, False, False),  # x < 5
        (5.0, "<=", 5.0, False, True, False, False),  # x <= 5: may be 5
        (4.0, "<", 5.0, True, True, False, False),
        (8.0, "<", 5.0, False, False, False, False),  # "<8" may be 6
        (10.0, ">", 10.0, False, False, True, True),  # x > 10
        (10.0, ">=", 10.0, False, False, False, True),  # x >= 10: may be 10
        (12.0, ">", 10.0, False, False, True, True),
        (8.0, ">", 10.0, False, False, False, False),  # ">8" may be 9
        # "ad" and any other comparator are no measured bound: never certain.
        (3.0, "ad", 5.0, False, False, False, False),
        (7.0, "ad", 5.0, False, False, False, False),
        (3.0, "~", 5.0, False, False, False, False),
    ],
)
def test_certainly_honours_the_comparator(
    value: float,
    comparator: str | None,
    limit: float,
    below: bool,
    at_most: bool,
    above: bool,
    at_least: bool,
) -> None:
    result = lab(value, comparator)
    assert certainly_below(result, limit) is below
    assert certainly_at_most(result, limit) is at_most
    assert certainly_above(result, limit) is above
    assert certainly_at_least(result, limit) is at_least


def test_a_result_without_a_value_is_never_certain() -> None:
    empty = lab(None)
    checks = (certainly_below, certainly_at_most, certainly_above, certainly_at_least)
    assert not any(check(empty, 1.0) for check in checks)


def test_certainly_is_sound_for_every_value_a_censored_result_allows() -> None:
    """Whenever a check says "certainly", it holds for every true value the result allows."""
    grid = [x / 4 for x in range(0, 41)]  # 0 .. 10 in quarters
    for value, limit, comparator in itertools.product(grid, grid, ["<", "<=", ">", ">="]):
        allowed = {
            "<": [x for x in grid if x < value],
            "<=": [x for x in grid if x <= value],
            ">": [x for x in grid if x > value],
            ">=": [x for x in grid if x >= value],
        }[comparator]
        result = lab(value, comparator)
        if certainly_below(result, limit):
            assert all(x < limit for x in allowed)
        if certainly_at_most(result, limit):
            assert all(x <= limit for x in allowed)
        if certainly_above(result, limit):
            assert all(x > limit for x in allowed)
        if certainly_at_least(result, limit):
            assert all(x >= limit for x in allowed)


def test_value_text_keeps_the_comparator_and_whole_numbers() -> None:
    assert value_text(lab(5.0, "<"), 1) == "<5"
    assert value_text(lab(100.0), 0) == "100"
    assert value_text(lab(3.14159)) == "3.14"
    assert value_text(lab(None)) == "(no value)"
