"""cds.rules.lib.complaints.v2: where a complaint or a symptom may be coded (§22.2 e), and how a
card names what is on record."""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.lib.complaints.v2 import LEG_CRAMP
from cds.rules.lib.library import Library2026_12
from cds.terminology import Terminology
from tests.support.fhir import ICD10, SNOMED, condition, encounter, facts_for, observation

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_12()

DYSPNOEA = "R06.02"
CRAMPS = "G47.62"


def test_an_encounter_reason_code_is_a_symptom_on_record(terminology: Terminology) -> None:
    visit = encounter(class_code="EMER", start_days_ago=0, reason=(ICD10, DYSPNOEA))
    facts = facts_for(terminology, [visit])
    [found] = LIBRARY.recorded(facts, "pe-symptoms", within_days=7)
    assert (found.reference, found.source) == (f"Encounter/{visit['id']}", "Encounter")


def test_an_encounter_reason_reference_to_a_symptom_condition_counts(
    terminology: Terminology,
) -> None:
    # An old, resolved dyspnoea Condition: only the visit made for it today makes it recent.
    reason = condition(DYSPNOEA, system=ICD10, clinical_status="resolved", onset_days_ago=400)
    visit = encounter(start_days_ago=0)
    visit["reasonReference"] = [{"reference": f"Condition/{reason['id']}"}]
    facts = facts_for(terminology, [reason, visit])
    [found] = LIBRARY.recorded(facts, "pe-symptoms", within_days=7)
    assert found.reference == f"Encounter/{visit['id']}"
    assert facts.days_ago(found.onset or facts.as_of) == 0


def test_an_observation_coded_by_its_value_counts(terminology: Terminology) -> None:
    symptom = observation("75325-1", None, days_ago=2, value_code=(ICD10, DYSPNOEA))
    facts = facts_for(terminology, [symptom])
    assert [o.source for o in LIBRARY.recorded(facts, "pe-symptoms", within_days=7)] == [
        "Observation"
    ]
    assert not LIBRARY.recorded(facts, "pe-symptoms", within_days=1)


def test_leg_complaints_from_every_place_they_may_be_coded(terminology: Terminology) -> None:
    facts = facts_for(
        terminology,
        [
            encounter(start_days_ago=5, reason=(ICD10, CRAMPS)),
            observation("75325-1", None, days_ago=20, value_code=(ICD10, "M79.605")),
        ],
    )
    assert LIBRARY.has_leg_complaint(facts)
    assert sorted(c.source for c in LIBRARY.leg_complaints(facts)) == ["Encounter", "Observation"]


@pytest.mark.parametrize(("days", "counts"), [(90, True), (91, False)])
def test_the_complaint_window(terminology: Terminology, days: int, counts: bool) -> None:
    old = condition(CRAMPS, system=ICD10, clinical_status="resolved", onset_days_ago=days)
    assert LIBRARY.has_leg_complaint(facts_for(terminology, [old])) is counts


@pytest.mark.parametrize(
    ("codes", "words"),
    [
        (["G47.62"], "leg cramps"),
        (["M79.605"], "leg pain"),
        (["M79.605", "R25.2"], "leg pain and cramps"),
        (["G25.81"], "restless legs"),
        (["R22.41"], "leg swelling"),
        (["R22.41", "G25.81"], "leg swelling and restless legs"),
        (["R29.0"], "leg symptoms"),
    ],
)
def test_complaint_words_say_what_is_on_record(
    terminology: Terminology, codes: list[str], words: str
) -> None:
    resources: list[dict[str, Any]] = [condition(code, system=ICD10) for code in codes]
    facts = facts_for(terminology, resources)
    assert LIBRARY.complaint_words(facts, LIBRARY.leg_complaints(facts)) == words


def test_restless_legs_by_snomed_is_restless_legs(terminology: Terminology) -> None:
    facts = facts_for(terminology, [condition("32914008", system=SNOMED)])
    assert LIBRARY.complaint_words(facts, LIBRARY.leg_complaints(facts)) == "restless legs"
    assert not [c for c in LIBRARY.leg_complaints(facts) if facts.matches(LEG_CRAMP, c.codings)]


def test_complaints_of_several_kinds_lists_each_resource_once(terminology: Terminology) -> None:
    pain = condition("M79.605", system=ICD10, onset_days_ago=3)
    swelling = condition("R22.42", system=ICD10, onset_days_ago=3)
    restless = condition("G25.81", system=ICD10, onset_days_ago=3)
    facts = facts_for(terminology, [restless, swelling, pain])
    found = LIBRARY.complaints_of(facts, "leg-pain", "leg-swelling", "leg-pain")
    assert [c.reference for c in found] == [
        f"Condition/{pain['id']}",
        f"Condition/{swelling['id']}",
    ]
    assert LIBRARY.complaints_of(facts) == []


def test_worded_evidence_names_a_bare_code_as_the_code_list_does(
    terminology: Terminology,
) -> None:
    visit = encounter(class_code="EMER", start_days_ago=0, reason=(ICD10, DYSPNOEA))
    named = condition(CRAMPS, system=ICD10, display="Night cramps, both calves", onset_days_ago=2)
    facts = facts_for(terminology, [visit, named])
    [symptom] = LIBRARY.worded_evidence(
        facts, LIBRARY.recorded(facts, "pe-symptoms", within_days=7), "pe-symptoms"
    )
    assert (symptom.label, symptom.reference) == ("Shortness of breath", f"Encounter/{visit['id']}")
    # The record's own wording is kept when it has one.
    [complaint] = LIBRARY.worded_evidence(facts, LIBRARY.complaints_in(facts, LEG_CRAMP))
    assert complaint.label == "Night cramps, both calves"
