"""cds.rules.lib.medications.v1: which medications count as taken now, or recently
(clinical-content.md §1.2, §19), and which allergy records still stand."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.medications.v1 import MEDICATION_GRACE_DAYS
from cds.terminology import Terminology
from tests.support.fhir import (
    PATIENT_ID,
    RXNORM,
    draft_order,
    facts_for,
    medication_request,
    when,
)

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

SIMVASTATIN = "36567"
FUROSEMIDE = "4603"

_ids = itertools.count(1)


def simvastatin(**kwargs: Any) -> dict[str, Any]:
    return medication_request(SIMVASTATIN, "simvastatin", **kwargs)


def simvastatin_concept() -> dict[str, Any]:
    return {"coding": [{"system": RXNORM, "code": SIMVASTATIN, "display": "simvastatin"}]}


def statement(
    status: str, *, start_days_ago: float, end_days_ago: float | None = None
) -> dict[str, Any]:
    """A MedicationStatement of simvastatin: taken from `start_days_ago` (to `end_days_ago`)."""
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": f"ms-{next(_ids)}",
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": simvastatin_concept(),
    }
    if end_days_ago is None:
        resource["effectiveDateTime"] = when(start_days_ago)
    else:
        resource["effectivePeriod"] = {"start": when(start_days_ago), "end": when(end_days_ago)}
    return resource


def administration(days_ago: float) -> dict[str, Any]:
    """A completed MedicationAdministration of simvastatin, given at one moment (no end)."""
    return {
        "resourceType": "MedicationAdministration",
        "id": f"ma-{next(_ids)}",
        "status": "completed",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": simvastatin_concept(),
        "effectiveDateTime": when(days_ago),
    }


def allergy(code: str, clinical_status: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": f"allergy-{next(_ids)}",
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": RXNORM, "code": code}]},
    }
    if clinical_status is not None:
        resource["clinicalStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": clinical_status,
                }
            ]
        }
    return resource


def the_statin(facts: Facts) -> MedicationEntry:
    (med,) = facts.medications_in("statins")
    return med


def statin_is_active(terminology: Terminology, resource: dict[str, Any]) -> bool:
    facts = facts_for(terminology, [resource])
    return LIBRARY.is_active(facts, the_statin(facts))


# -- active now ---------------------------------------------------------------------------------


def test_a_drafted_order_is_active(terminology: Terminology) -> None:
    facts = facts_for(terminology, [], draft_orders=[draft_order(SIMVASTATIN, "simvastatin")])
    med = the_statin(facts)
    assert LIBRARY.is_active(facts, med)
    assert LIBRARY.drafted([med]) == [med]
    assert LIBRARY.active_medications(facts, "statins") == [med]


def test_a_draft_in_the_chart_is_not_active(terminology: Terminology) -> None:
    facts = facts_for(terminology, [simvastatin(status="draft", days_ago=0)])
    med = the_statin(facts)
    assert not LIBRARY.is_active(facts, med)
    assert LIBRARY.drafted([med]) == []


@pytest.mark.parametrize("status", ["active", "on-hold"])
def test_an_active_order_without_an_end_is_active_however_old(
    terminology: Terminology, status: str
) -> None:
    assert statin_is_active(terminology, simvastatin(status=status, days_ago=3000))


@pytest.mark.parametrize(
    ("ended", "active"),
    [(30, True), (31, False), (-10, True)],  # -10: an end still ahead
)
def test_an_active_order_that_ended_counts_for_30_days(
    terminology: Terminology, ended: int, active: bool
) -> None:
    assert MEDICATION_GRACE_DAYS == 30
    order = simvastatin(status="active", days_ago=200, ended_days_ago=ended)
    assert statin_is_active(terminology, order) is active


@pytest.mark.parametrize("status", ["completed", "stopped"])
@pytest.mark.parametrize(("ended", "active"), [(0, True), (30, True), (31, False)])
def test_a_completed_or_stopped_order_counts_for_30_days_after_its_end(
    terminology: Terminology, status: str, ended: int, active: bool
) -> None:
    order = simvastatin(status=status, days_ago=200, ended_days_ago=ended)
    assert statin_is_active(terminology, order) is active


def test_a_completed_order_without_an_end_is_not_active(terminology: Terminology) -> None:
    assert not statin_is_active(terminology, simvastatin(status="completed", days_ago=1))


@pytest.mark.parametrize(("given", "active"), [(30, True), (31, False)])
def test_an_administration_without_an_end_counts_for_30_days_after_it_was_given(
    terminology: Terminology, given: int, active: bool
) -> None:
    assert statin_is_active(terminology, administration(given)) is active


def test_an_administration_counts_from_when_it_was_given_even_with_no_end_at_all(
    terminology: Terminology,
) -> None:
    # The record gives an administration without a period its moment as both start and end;
    # the library itself also falls back to the start for an administration.
    facts = facts_for(terminology, [administration(20)])
    given = replace(the_statin(facts), end=None)
    assert LIBRARY.is_active(facts, given)
    assert not LIBRARY.is_active(facts, replace(given, administered=False))


def test_a_completed_statement_without_an_end_is_not_active(terminology: Terminology) -> None:
    # Unlike an administration, a statement's date says when it began, not when it ended.
    assert not statin_is_active(terminology, statement("completed", start_days_ago=1))
    assert statin_is_active(
        terminology, statement("completed", start_days_ago=100, end_days_ago=30)
    )


def test_the_grace_period_can_be_given(terminology: Terminology) -> None:
    facts = facts_for(terminology, [simvastatin(status="stopped", days_ago=90, ended_days_ago=45)])
    med = the_statin(facts)
    assert not LIBRARY.is_active(facts, med)
    assert LIBRARY.is_active(facts, med, grace_days=45)


@pytest.mark.parametrize("status", ["intended", "unknown"])
def test_other_statuses_are_not_active(terminology: Terminology, status: str) -> None:
    assert not statin_is_active(terminology, statement(status, start_days_ago=1))


def test_active_medications_keep_the_record_order_of_the_value_set_only(
    terminology: Terminology,
) -> None:
    first = simvastatin(days_ago=5)
    furosemide = medication_request(FUROSEMIDE, "furosemide")
    stopped = simvastatin(status="stopped", days_ago=400, ended_days_ago=300)
    second = simvastatin(days_ago=50)
    facts = facts_for(terminology, [first, furosemide, stopped, second])
    assert [m.reference for m in LIBRARY.active_medications(facts, "statins")] == [
        f"MedicationRequest/{first['id']}",
        f"MedicationRequest/{second['id']}",
    ]


# -- exposure within a window ---------------------------------------------------------------------


def within_a_year(terminology: Terminology, *resources: dict[str, Any], **kwargs: Any) -> bool:
    facts = facts_for(terminology, resources, **kwargs)
    return bool(LIBRARY.medications_within(facts, "statins", 365))


@pytest.mark.parametrize(("ended", "exposed"), [(365, True), (366, False)])
def test_exposure_is_an_end_within_the_window(
    terminology: Terminology, ended: int, exposed: bool
) -> None:
    order = simvastatin(status="completed", days_ago=500, ended_days_ago=ended)
    assert within_a_year(terminology, order) is exposed


@pytest.mark.parametrize(("started", "exposed"), [(365, True), (366, False)])
def test_without_an_end_exposure_is_a_start_within_the_window(
    terminology: Terminology, started: int, exposed: bool
) -> None:
    assert within_a_year(terminology, statement("completed", start_days_ago=started)) is exposed


def test_an_active_medication_is_exposure_however_old(terminology: Terminology) -> None:
    assert within_a_year(terminology, simvastatin(status="active", days_ago=3000))


def test_a_draft_in_the_chart_is_not_exposure(terminology: Terminology) -> None:
    assert not within_a_year(terminology, simvastatin(status="draft", days_ago=10))


def test_an_intended_statement_is_not_exposure(terminology: Terminology) -> None:
    assert not within_a_year(terminology, statement("intended", start_days_ago=10))


def test_a_drafted_order_is_exposure(terminology: Terminology) -> None:
    assert within_a_year(terminology, draft_orders=[draft_order(SIMVASTATIN, "simvastatin")])


# -- allergies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clinical_status", "stands"),
    [("active", True), (None, True), ("inactive", False), ("resolved", False)],
)
def test_an_allergy_stands_while_active_or_without_a_status(
    terminology: Terminology, clinical_status: str | None, stands: bool
) -> None:
    record = allergy(SIMVASTATIN, clinical_status)
    facts = facts_for(terminology, [record])
    found = [a.reference for a in LIBRARY.active_allergies_to(facts, "statins")]
    assert found == ([f"AllergyIntolerance/{record['id']}"] if stands else [])
    assert LIBRARY.allergies_to(facts, "statins") == found


def test_an_allergy_to_another_drug_is_not_listed(terminology: Terminology) -> None:
    facts = facts_for(terminology, [allergy(FUROSEMIDE, "active")])
    assert LIBRARY.active_allergies_to(facts, "statins") == []
    assert len(LIBRARY.active_allergies_to(facts, "loop-diuretics")) == 1
