"""cds.rules.lib.medications.v2: which medications count as taken now, as §22.2 c and d settle
it (the dispensing window is not the end of therapy; ordering intents; statements)."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.lib.library import Library2026_12
from cds.terminology import Terminology
from tests.support.fhir import draft_order, facts_for, medication_request, when

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_12()

SIMVASTATIN = "36567"


def statin(**kwargs: Any) -> dict[str, Any]:
    return medication_request(SIMVASTATIN, "simvastatin 20 MG Oral Tablet", **kwargs)


def with_bounds(order: dict[str, Any], *, end_days_ago: float) -> dict[str, Any]:
    order["dosageInstruction"] = [
        {"timing": {"repeat": {"boundsPeriod": {"start": when(400), "end": when(end_days_ago)}}}}
    ]
    return order


def active(terminology: Terminology, *resources: dict[str, Any], **kwargs: Any) -> bool:
    return bool(LIBRARY.active_medications(facts_for(terminology, resources, **kwargs), "statins"))


def test_an_active_order_past_its_dispensing_window_is_still_taken(
    terminology: Terminology,
) -> None:
    # The missed critical card: validityPeriod ended weeks ago, the order is still active.
    order = statin(days_ago=200, ended_days_ago=40)
    assert active(terminology, order)


@pytest.mark.parametrize(("ended", "expected"), [(30, True), (31, False)])
def test_an_active_order_whose_therapy_ended_counts_for_30_days(
    terminology: Terminology, ended: int, expected: bool
) -> None:
    order = with_bounds(statin(days_ago=400), end_days_ago=ended)
    assert active(terminology, order) is expected


def test_the_latest_dosage_bounds_end_the_therapy(terminology: Terminology) -> None:
    order = with_bounds(statin(days_ago=400), end_days_ago=100)
    order["dosageInstruction"].append({"timing": {"repeat": {"boundsPeriod": {"end": when(10)}}}})
    assert active(terminology, order)


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ("order", True),
        ("original-order", True),
        ("reflex-order", True),
        ("filler-order", True),
        ("instance-order", True),
        ("plan", True),
        ("directive", False),
    ],
)
def test_only_ordering_intents_count(terminology: Terminology, intent: str, expected: bool) -> None:
    assert active(terminology, statin(intent=intent)) is expected


@pytest.mark.parametrize(("status", "expected"), [("active", True), ("on-hold", True)])
def test_an_order_active_or_on_hold_counts(
    terminology: Terminology, status: str, expected: bool
) -> None:
    assert active(terminology, statin(status=status)) is expected


def statement(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": f"ms-{status}",
        "status": status,
        "subject": {"reference": "Patient/patient-1"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": SIMVASTATIN,
                    "display": "simvastatin",
                }
            ]
        },
        **extra,
    }


def test_a_statement_counts_while_active_but_not_on_hold(terminology: Terminology) -> None:
    assert active(terminology, statement("active"))
    assert not active(terminology, statement("on-hold"))


@pytest.mark.parametrize(("ended", "expected"), [(30, True), (31, False)])
def test_a_stopped_order_counts_for_30_days_after_its_therapy_end(
    terminology: Terminology, ended: int, expected: bool
) -> None:
    order = with_bounds(statin(status="stopped", days_ago=400), end_days_ago=ended)
    assert active(terminology, order) is expected


@pytest.mark.parametrize(("authored", "expected"), [(30, True), (31, False)])
def test_a_stopped_order_without_an_end_counts_from_when_it_was_ordered(
    terminology: Terminology, authored: int, expected: bool
) -> None:
    assert active(terminology, statin(status="stopped", days_ago=authored)) is expected


def test_a_completed_statement_without_an_end_counts_from_when_it_was_asserted(
    terminology: Terminology,
) -> None:
    assert active(terminology, statement("completed", dateAsserted=when(10)))
    assert not active(terminology, statement("completed", dateAsserted=when(45)))


def test_a_drafted_order_is_taken_now(terminology: Terminology) -> None:
    draft = draft_order(SIMVASTATIN, "simvastatin 20 MG Oral Tablet")
    assert active(terminology, draft_orders=[draft])


def test_exposure_within_a_window_uses_the_therapy_end(terminology: Terminology) -> None:
    facts = facts_for(
        terminology, [with_bounds(statin(status="completed", days_ago=500), end_days_ago=200)]
    )
    assert LIBRARY.medications_within(facts, "statins", 365)
    assert not LIBRARY.medications_within(facts, "statins", 199)
    [med] = LIBRARY.medications_within(facts, "statins", 365)
    assert LIBRARY.last_taken(med) is not None
    assert facts.days_ago(LIBRARY.last_taken(med) or facts.as_of) == 200


def test_a_proposal_is_not_exposure(terminology: Terminology) -> None:
    facts = facts_for(terminology, [statin(intent="directive")])
    assert not LIBRARY.medications_within(facts, "statins", 365)
