"""cds.rules.lib.procedures.v1: procedures done recently, and inpatient stays as the record's
proxy for "bedridden >= 3 days" (clinical-content.md §1.2, §10: >= 3 days ending <= 28 days ago)."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.lib.library import Library2026_11
from cds.terminology import Terminology
from tests.support.fhir import encounter, facts_for, procedure, when

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

HAEMODIALYSIS = "302497006"


def stays(terminology: Terminology, *encounters: dict[str, Any]) -> list[str]:
    facts = facts_for(terminology, encounters)
    return [e.reference for e in LIBRARY.inpatient_stays(facts, min_days=3, ended_within_days=28)]


# -- inpatient stays ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "counts"),
    [
        (31, 28, True),  # 3 days, ended 28 days ago
        (30, 28, False),  # 2 days
        (32, 29, False),  # ended 29 days ago
        (10, 0, True),  # discharged today
        (13.9, 10.1, True),  # three midnights, not 72 hours: a length of stay in days
    ],
)
def test_inpatient_stay_boundaries(
    terminology: Terminology, start: float, end: float, counts: bool
) -> None:
    stay = encounter(class_code="IMP", start_days_ago=start, end_days_ago=end)
    assert bool(stays(terminology, stay)) is counts


@pytest.mark.parametrize("class_code", ["AMB", "EMER", "HH", "VR"])
def test_only_inpatient_classes_count(terminology: Terminology, class_code: str) -> None:
    visit = encounter(class_code=class_code, start_days_ago=20, end_days_ago=10)
    assert not stays(terminology, visit)


@pytest.mark.parametrize("class_code", ["IMP", "ACUTE", "NONAC"])
def test_inpatient_classes(terminology: Terminology, class_code: str) -> None:
    assert stays(terminology, encounter(class_code=class_code, start_days_ago=20, end_days_ago=10))


def test_a_stay_still_running_counts_to_as_of(terminology: Terminology) -> None:
    running = encounter(class_code="IMP", start_days_ago=4)
    running["status"] = "in-progress"
    del running["period"]["end"]
    planned_end = encounter(class_code="IMP", start_days_ago=4, end_days_ago=-3)
    planned_end["status"] = "in-progress"
    just_admitted = {**running, "id": "enc-new", "period": {"start": when(1)}}
    assert stays(terminology, running) == [f"Encounter/{running['id']}"]
    assert stays(terminology, planned_end) == [f"Encounter/{planned_end['id']}"]
    assert not stays(terminology, just_admitted)


def test_a_finished_stay_without_an_end_is_not_a_stay_of_years(terminology: Terminology) -> None:
    old = encounter(class_code="IMP", start_days_ago=2000)
    del old["period"]["end"]  # status "finished": the end was just not recorded
    assert not stays(terminology, old)


def test_a_planned_stay_is_not_a_stay(terminology: Terminology) -> None:
    planned = encounter(class_code="IMP", start_days_ago=-2, end_days_ago=-7)
    planned["status"] = "planned"
    assert not stays(terminology, planned)


# -- procedures within a window -----------------------------------------------------------------


def test_procedures_within_lists_the_newest_first_and_never_the_future(
    terminology: Terminology,
) -> None:
    older = procedure(HAEMODIALYSIS, days_ago=40)
    newer = procedure(HAEMODIALYSIS, days_ago=2)
    too_old = procedure(HAEMODIALYSIS, days_ago=91)
    booked = procedure(HAEMODIALYSIS, days_ago=-3)
    facts = facts_for(terminology, [older, too_old, booked, newer])
    assert [p.reference for p in LIBRARY.procedures_within(facts, "dialysis", 90)] == [
        f"Procedure/{newer['id']}",
        f"Procedure/{older['id']}",
    ]
