"""cds.rules.lib.complaints.v1: the leg complaints on record (clinical-content.md §1.6), by
kind, and how a card lists them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.lib.complaints.v1 import (
    PAIN_OR_CRAMP,
    RESTLESS_LEGS,
    SWELLING,
    UNILATERAL_SWELLING,
)
from cds.rules.lib.library import Library2026_11
from cds.terminology import Terminology
from tests.support.fhir import ICD10, SNOMED, condition, encounter, facts_for, observation, when

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

SYMPTOM = "75325-1"  # LOINC "Symptom": the complaint is the coded answer
RESTLESS_LEGS_FINDING = (SNOMED, "32914008")


def facts(terminology: Terminology, *resources: dict[str, Any]) -> Facts:
    return facts_for(terminology, resources)


def references(entries: Iterable[ConditionEntry]) -> list[str]:
    return [e.reference for e in entries]


def cramp(**kwargs: Any) -> dict[str, Any]:
    return condition("G47.62", system=ICD10, display="Sleep related leg cramps", **kwargs)


# -- what counts as a complaint on record -----------------------------------------------------


def test_an_active_complaint_counts_however_old(terminology: Terminology) -> None:
    old = cramp(onset_days_ago=2000)
    f = facts(terminology, old)
    assert references(LIBRARY.leg_complaints(f)) == [f"Condition/{old['id']}"]
    assert LIBRARY.has_leg_complaint(f)


@pytest.mark.parametrize(("onset", "counts"), [(90, True), (91, False)])
def test_a_resolved_complaint_counts_for_90_days(
    terminology: Terminology, onset: int, counts: bool
) -> None:
    resolved = cramp(clinical_status="resolved", onset_days_ago=onset)
    assert LIBRARY.has_leg_complaint(facts(terminology, resolved)) is counts


def test_a_complaint_without_onset_counts_from_its_recording(terminology: Terminology) -> None:
    recorded = cramp(clinical_status="resolved", onset_days_ago=None)
    recorded["recordedDate"] = when(30)
    assert LIBRARY.has_leg_complaint(facts(terminology, recorded))


@pytest.mark.parametrize(("days_ago", "counts"), [(90, True), (91, False)])
def test_a_complaint_observation_counts_for_90_days(
    terminology: Terminology, days_ago: int, counts: bool
) -> None:
    finding = observation(SYMPTOM, None, value_code=RESTLESS_LEGS_FINDING, days_ago=days_ago)
    found = LIBRARY.leg_complaints(facts(terminology, finding))
    assert references(found) == ([f"Observation/{finding['id']}"] if counts else [])
    if counts:
        assert found[0].source == "Observation"


@pytest.mark.parametrize(("days_ago", "counts"), [(90, True), (91, False)])
def test_an_encounter_for_a_leg_complaint_counts_for_90_days(
    terminology: Terminology, days_ago: int, counts: bool
) -> None:
    visit = encounter(start_days_ago=days_ago, reason=(ICD10, "M79.604"))
    found = LIBRARY.leg_complaints(facts(terminology, visit))
    assert references(found) == ([f"Encounter/{visit['id']}"] if counts else [])
    if counts:
        (complaint,) = found
        assert complaint.source == "Encounter"
        assert [c["code"] for c in complaint.codings] == ["M79.604"]
        assert complaint.onset == complaint.recorded
        assert complaint.onset is not None


def test_an_encounter_for_something_else_is_no_complaint(terminology: Terminology) -> None:
    visit = encounter(start_days_ago=5, reason=(ICD10, "N18.4"))
    assert not LIBRARY.has_leg_complaint(facts(terminology, visit))


def test_complaints_are_listed_conditions_then_observations_then_encounters(
    terminology: Terminology,
) -> None:
    visit = encounter(start_days_ago=3, reason=(ICD10, "R25.2"))
    finding = observation(SYMPTOM, None, value_code=RESTLESS_LEGS_FINDING, days_ago=2)
    problem = cramp(onset_days_ago=1)
    assert references(LIBRARY.leg_complaints(facts(terminology, visit, finding, problem))) == [
        f"Condition/{problem['id']}",
        f"Observation/{finding['id']}",
        f"Encounter/{visit['id']}",
    ]


# -- complaints by kind -------------------------------------------------------------------------


def test_complaints_in_keeps_the_complaints_of_one_kind(terminology: Terminology) -> None:
    leg_cramp = cramp()
    restless = condition("G25.81", system=ICD10, display="Restless legs syndrome")
    right_swelling = condition("R22.41", system=ICD10, display="Swelling, right lower limb")
    oedema = condition("R60.0", system=ICD10, display="Localized edema")
    f = facts(terminology, leg_cramp, restless, right_swelling, oedema)
    ref = {
        f"Condition/{c['id']}": name
        for c, name in (
            (leg_cramp, "cramp"),
            (restless, "restless"),
            (right_swelling, "right swelling"),
            (oedema, "oedema"),
        )
    }

    def kinds(entries: Iterable[ConditionEntry]) -> list[str]:
        return [ref[r] for r in references(entries)]

    assert kinds(LIBRARY.complaints_in(f, PAIN_OR_CRAMP)) == ["cramp"]
    assert kinds(LIBRARY.complaints_in(f, RESTLESS_LEGS)) == ["restless"]
    assert kinds(LIBRARY.complaints_in(f, SWELLING)) == ["right swelling", "oedema"]
    assert kinds(LIBRARY.complaints_in(f, UNILATERAL_SWELLING)) == ["right swelling"]
    assert kinds(LIBRARY.pain_or_cramp_complaints(f)) == ["cramp"]
    assert kinds(LIBRARY.swelling_complaints(f)) == ["right swelling", "oedema"]
    assert kinds(LIBRARY.unilateral_swelling(f)) == ["right swelling"]


def test_complaints_in_reads_only_complaints_on_record(terminology: Terminology) -> None:
    # An old resolved cramp is in the value set but is no complaint on record now.
    old = cramp(clinical_status="resolved", onset_days_ago=400)
    assert LIBRARY.complaints_in(facts(terminology, old), PAIN_OR_CRAMP) == []


def test_a_complaint_coded_two_ways_is_listed_once(terminology: Terminology) -> None:
    both = condition("R25.2", system=ICD10, display="Cramp and spasm")
    both["code"]["coding"].append(
        {"system": ICD10, "code": "G25.81", "display": "Restless legs syndrome"}
    )
    assert len(LIBRARY.pain_cramp_or_restless_complaints(facts(terminology, both))) == 1


def test_complaint_kinds(terminology: Terminology) -> None:
    leg_cramp = condition("G47.62", system=ICD10, display="Sleep related leg cramps")
    restless = condition("G25.81", system=ICD10, display="Restless legs syndrome")
    swelling = condition("R22.41", system=ICD10, display="Swelling, right lower limb")
    f = facts(terminology, leg_cramp, restless, swelling)
    refs = {f"Condition/{c['id']}": name for c, name in ((leg_cramp, "c"), (restless, "r"))}
    refs[f"Condition/{swelling['id']}"] = "s"
    assert sorted(refs[c.reference] for c in LIBRARY.pain_cramp_or_restless_complaints(f)) == [
        "c",
        "r",
    ]
    assert sorted(refs[c.reference] for c in LIBRARY.pain_or_swelling_complaints(f)) == ["c", "s"]


# -- on a card ----------------------------------------------------------------------------------


def test_complaint_evidence_lists_two(terminology: Terminology) -> None:
    complaints = [
        condition(code, system=ICD10, display=f"Complaint {n}")
        for n, code in enumerate(("M79.604", "M79.605", "R25.2"))
    ]
    f = facts(terminology, *complaints)
    assert len(LIBRARY.leg_complaints(f)) == 3
    assert [e.label for e in LIBRARY.complaint_evidence(LIBRARY.leg_complaints(f))] == [
        "Complaint 0",
        "Complaint 1",
    ]
    # What a card lists when it shows the complaints on record, of any kind.
    assert LIBRARY.leg_complaint_evidence(f) == LIBRARY.complaint_evidence(
        LIBRARY.leg_complaints(f)
    )
