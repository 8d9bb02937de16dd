"""cds.rules.lib.conditions.v1: which coded conditions count (clinical-content.md §1.2)."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.lib.library import Library2026_11
from cds.terminology import Terminology
from tests.support.fhir import ICD10, condition, facts_for, when

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()


def ckd(**kwargs: Any) -> dict[str, Any]:
    return condition("N18.4", system=ICD10, display="Chronic kidney disease, stage 4", **kwargs)


def counts(terminology: Terminology, resource: dict[str, Any], *, include_history: bool) -> bool:
    facts = facts_for(terminology, [resource])
    found = LIBRARY.coded_conditions(facts, "ckd", include_history=include_history)
    assert LIBRARY.has_condition(facts, "ckd", include_history=include_history) is bool(found)
    return bool(found)


@pytest.mark.parametrize(
    ("clinical_status", "active", "history"),
    [
        ("active", True, True),
        ("recurrence", True, True),
        ("relapse", True, True),
        ("inactive", False, True),
        ("remission", False, True),
        ("resolved", False, True),
    ],
)
def test_active_conditions_and_with_history_the_resolved_ones(
    terminology: Terminology, clinical_status: str, active: bool, history: bool
) -> None:
    resource = ckd(clinical_status=clinical_status)
    assert counts(terminology, resource, include_history=False) is active
    assert counts(terminology, resource, include_history=True) is history


def test_a_condition_without_a_clinical_status_counts_until_it_abates(
    terminology: Terminology,
) -> None:
    ongoing = ckd(clinical_status=None, verification_status="unconfirmed")
    assert counts(terminology, ongoing, include_history=False)
    assert counts(terminology, ongoing, include_history=True)
    abated = ckd(clinical_status=None, verification_status="unconfirmed", abated_days_ago=10)
    assert not counts(terminology, abated, include_history=False)
    assert not counts(terminology, abated, include_history=True)


def test_coded_conditions_keep_the_record_order_of_the_value_set_only(
    terminology: Terminology,
) -> None:
    first = ckd()
    other = condition("I73.9", system=ICD10, display="Peripheral vascular disease")
    second = condition("N18.9", system=ICD10, display="Chronic kidney disease, unspecified")
    facts = facts_for(terminology, [first, other, second])
    assert [c.reference for c in LIBRARY.coded_conditions(facts, "ckd")] == [
        f"Condition/{first['id']}",
        f"Condition/{second['id']}",
    ]


@pytest.mark.parametrize(("onset", "found"), [(0, True), (90, True), (91, False), (-1, False)])
def test_conditions_within_count_from_onset_whatever_the_status(
    terminology: Terminology, onset: int, found: bool
) -> None:
    resolved = ckd(clinical_status="resolved", onset_days_ago=onset)
    assert bool(LIBRARY.conditions_within(facts_for(terminology, [resolved]), "ckd", 90)) is found


def test_conditions_within_count_from_recording_without_an_onset(
    terminology: Terminology,
) -> None:
    recorded = ckd(onset_days_ago=None)
    recorded["recordedDate"] = when(30)
    assert LIBRARY.conditions_within(facts_for(terminology, [recorded]), "ckd", 30)
    assert not LIBRARY.conditions_within(facts_for(terminology, [recorded]), "ckd", 29)
    undated = ckd(onset_days_ago=None)
    assert not LIBRARY.conditions_within(facts_for(terminology, [undated]), "ckd", 36500)
