"""The helpers rules share (cds/rules/common.py, cds/rules/_leg_context.py): one answer to each
shared question, whichever rule asks it."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from cds.record import LabEntry
from cds.rules._leg_context import (
    complaint_evidence,
    pain_cramp_or_restless_complaints,
    pain_or_swelling_complaints,
)
from cds.rules.common import (
    albumin_corrected_calcium,
    capitalise,
    certainly_above,
    certainly_at_least,
    certainly_at_most,
    certainly_below,
    fmt,
    join_parts,
    result_evidence,
    unique_by_reference,
    value_text,
)
from cds.terminology import Terminology
from cds.terminology.units import corrected_calcium
from tests.support.fhir import ICD10, condition, facts_for, observation

CA_TOTAL = "17861-6"  # mg/dL
CA_CORRECTED = "29265-6"  # mmol/L
ALBUMIN = "1751-7"  # g/dL


def lab(value: float | None, comparator: str | None = None, **kwargs: Any) -> LabEntry:
    fields: dict[str, Any] = {
        "reference": "Observation/1",
        "analyte": "potassium",
        "display": "Potassium",
        "value": value,
        "unit": "mmol/L",
        "raw_value": value,
        "raw_unit": "mmol/L",
        "comparator": comparator,
        "effective": datetime(2026, 11, 1, tzinfo=UTC),
        "reference_low": None,
        "reference_high": None,
        "interpretation": (),
    }
    fields.update(kwargs)
    return LabEntry(**fields)


# -- numbers and text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (100, 0, "100"),
        (30, 0, "30"),
        (30.4, 0, "30"),
        (3.10, 2, "3.1"),
        (3.0, 1, "3"),
        (2450.0, 2, "2,450"),
        (-0.001, 2, "0"),
    ],
)
def test_fmt_strips_only_fractional_zeros(value: float, digits: int, text: str) -> None:
    assert fmt(value, digits) == text


def test_capitalise_keeps_the_rest() -> None:
    assert capitalise("simvastatin and ACE inhibitor") == "Simvastatin and ACE inhibitor"
    assert capitalise("") == ""


def test_join_parts_reserves_room_for_the_more_suffix_unless_asked_not_to() -> None:
    parts = ["aaaa", "bbbb", "cccc", "dddd"]
    # "aaaa, bbbb (+2 more)" is 20 characters: it fits in 20, not in 19.
    assert join_parts(parts, 20) == "aaaa, bbbb (+2 more)"
    assert join_parts(parts, 19) == "aaaa (+3 more)"
    # Without the reservation only the joined parts count: "aaaa, bbbb" is 10.
    assert join_parts(parts, 10) == "aaaa (+3 more)"
    assert join_parts(parts, 10, reserve_more=False) == "aaaa, bbbb (+2 more)"
    assert join_parts(parts, 1) == "aaaa (+3 more)"  # never fewer than one
    assert join_parts(["a", "b"], 50, " + ") == "a + b"


def test_unique_by_reference_keeps_the_first_of_each_in_order() -> None:
    @dataclass(frozen=True)
    class Entry:
        reference: str
        tag: int

    entries = [Entry("A", 1), Entry("B", 2), Entry("A", 3), Entry("C", 4), Entry("B", 5)]
    assert unique_by_reference(entries) == [Entry("A", 1), Entry("B", 2), Entry("C", 4)]


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


def test_result_evidence_keeps_the_comparator() -> None:
    vitamin_d = lab(5.0, "<", analyte="vitamin-d-25oh", unit="ng/mL", raw_unit="ng/mL")
    evidence = result_evidence(vitamin_d, "25-OH D", "ng/mL", 1)
    assert evidence.value == "<5 ng/mL"
    assert result_evidence(lab(3.1), "Potassium", "mmol/L").value == "3.1 mmol/L"


# -- albumin-corrected calcium ------------------------------------------------------------------


def calcium_of(terminology: Terminology, *resources: dict[str, Any]) -> Any:
    return albumin_corrected_calcium(facts_for(terminology, resources))


def test_calcium_corrected_with_albumin(terminology: Terminology) -> None:
    total = observation(CA_TOTAL, 7.0, "mg/dL", days_ago=3)
    albumin = observation(ALBUMIN, 3.0, "g/dL", days_ago=3)
    calcium = calcium_of(terminology, total, albumin)
    assert calcium.source == "calculated"
    assert calcium.corrected
    assert calcium.lab.reference == f"Observation/{total['id']}"
    assert calcium.albumin.reference == f"Observation/{albumin['id']}"
    assert calcium.value == pytest.approx(7.8)
    assert calcium.comparator is None
    assert calcium.evidence().value == "7.8 mg/dL (total 7 mg/dL, albumin 3 g/dL)"
    assert calcium.evidence("lower limit 8.5").value == (
        "7.8 mg/dL (total 7 mg/dL, albumin 3 g/dL; lower limit 8.5)"
    )
    assert calcium.evidence().label == "Calcium, albumin-corrected"


def test_a_reported_corrected_calcium_is_preferred_unless_a_total_is_newer(
    terminology: Terminology,
) -> None:
    reported = observation(CA_CORRECTED, 2.0, "mmol/L", days_ago=5)
    same_day = observation(CA_TOTAL, 9.0, "mg/dL", days_ago=5)
    newer = observation(CA_TOTAL, 9.0, "mg/dL", days_ago=2)
    albumin = observation(ALBUMIN, 3.0, "g/dL", days_ago=2)
    calcium = calcium_of(terminology, reported, same_day, albumin)
    assert calcium.source == "reported"
    assert calcium.lab.reference == f"Observation/{reported['id']}"
    assert calcium.evidence().label == "Calcium, albumin-corrected"
    assert calcium_of(terminology, reported, newer, albumin).source == "calculated"


def test_without_albumin_the_total_is_judged_as_measured(terminology: Terminology) -> None:
    calcium = calcium_of(terminology, observation(CA_TOTAL, 7.9, "mg/dL"))
    assert calcium.source == "no-albumin"
    assert not calcium.corrected
    assert calcium.value == pytest.approx(7.9)
    assert calcium.albumin is None
    assert calcium.evidence().label == "Calcium, total (uncorrected)"
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


# -- leg complaints ----------------------------------------------------------------------------


def test_a_complaint_coded_two_ways_is_listed_once(terminology: Terminology) -> None:
    both = condition("R25.2", system=ICD10, display="Cramp and spasm")
    both["code"]["coding"].append(
        {"system": ICD10, "code": "G25.81", "display": "Restless legs syndrome"}
    )
    facts = facts_for(terminology, [both])
    assert len(pain_cramp_or_restless_complaints(facts)) == 1


def test_complaint_kinds(terminology: Terminology) -> None:
    cramp = condition("G47.62", system=ICD10, display="Sleep related leg cramps")
    restless = condition("G25.81", system=ICD10, display="Restless legs syndrome")
    swelling = condition("R22.41", system=ICD10, display="Swelling, right lower limb")
    facts = facts_for(terminology, [cramp, restless, swelling])
    refs = {f"Condition/{c['id']}": name for c, name in ((cramp, "c"), (restless, "r"))}
    refs[f"Condition/{swelling['id']}"] = "s"
    assert sorted(refs[c.reference] for c in pain_cramp_or_restless_complaints(facts)) == [
        "c",
        "r",
    ]
    assert sorted(refs[c.reference] for c in pain_or_swelling_complaints(facts)) == ["c", "s"]


def test_complaint_evidence_lists_two(terminology: Terminology) -> None:
    complaints = [
        condition(code, system=ICD10, display=f"Complaint {n}")
        for n, code in enumerate(("M79.604", "M79.605", "R25.2"))
    ]
    facts = facts_for(terminology, complaints)
    assert len(facts.leg_complaints) == 3
    assert [e.label for e in complaint_evidence(facts.leg_complaints)] == [
        "Complaint 0",
        "Complaint 1",
    ]
