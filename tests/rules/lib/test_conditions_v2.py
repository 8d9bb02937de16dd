"""cds.rules.lib.conditions.v2: each condition once (release 2026.12)."""

from __future__ import annotations

from cds.rules.lib.library import Library2026_12
from cds.terminology import Terminology
from tests.support.fhir import ICD10, SNOMED, condition, encounter, facts_for

LIBRARY = Library2026_12()


def test_a_condition_and_the_visit_whose_reason_it_is_are_one_condition(
    terminology: Terminology,
) -> None:
    pain = condition("M79.606", system=ICD10, display="Pain in leg, unspecified", onset_days_ago=5)
    visit = encounter(start_days_ago=5)
    visit["reasonReference"] = [{"reference": f"Condition/{pain['id']}"}]
    coded_visit = encounter(start_days_ago=20, reason=(ICD10, "M79.606"))
    facts = facts_for(terminology, [pain, visit, coded_visit])
    complaints = LIBRARY.leg_complaints(facts)
    assert len(complaints) == 3
    kept = LIBRARY.one_per_condition(complaints)
    assert [c.reference for c in kept] == [f"Condition/{pain['id']}"]


def test_different_conditions_are_kept_in_order(terminology: Terminology) -> None:
    cramps = condition("G47.62", system=ICD10, display="Sleep related leg cramps")
    rls = condition("32914008", system=SNOMED, display="Restless legs")
    cramps_again = condition("G47.62", system=ICD10, display="Sleep related leg cramps")
    facts = facts_for(terminology, [cramps, rls, cramps_again])
    kept = LIBRARY.one_per_condition(LIBRARY.leg_complaints(facts))
    assert [c.reference for c in kept] == [f"Condition/{cramps['id']}", f"Condition/{rls['id']}"]
