"""cds.rules.lib.smoking.v1: a current smoker (§22.2 f), from a Condition or the latest
smoking-status answer, the newest deciding."""

from __future__ import annotations

from cds.rules.lib.library import Library2026_12
from cds.terminology import Terminology
from tests.support.fhir import SNOMED, condition, facts_for, observation

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_12()

SMOKING_STATUS = "72166-2"
SMOKES_DAILY = (SNOMED, "449868002")
# An answer outside the `smoker` set (an ex-smoker answer, say).
NOT_A_SMOKER = (SNOMED, "answer-not-in-the-smoker-set")


def status(answer: tuple[str, str], days_ago: float) -> dict[str, object]:
    return observation(SMOKING_STATUS, None, days_ago=days_ago, value_code=answer)


def test_a_smoker_recorded_only_by_a_smoking_status_observation(terminology: Terminology) -> None:
    smoking = LIBRARY.current_smoker(facts_for(terminology, [status(SMOKES_DAILY, 30)]))
    assert smoking is not None
    assert smoking.reference.startswith("Observation/")


def test_an_answer_is_worded_as_the_answer_never_as_the_question(
    terminology: Terminology,
) -> None:
    # The answer coding has no display: the verified code list's wording, not "72166-2".
    smoking = LIBRARY.current_smoker(facts_for(terminology, [status(SMOKES_DAILY, 30)]))
    assert smoking is not None
    assert smoking.display == "Smokes tobacco daily (finding)"


def test_an_active_smoker_condition(terminology: Terminology) -> None:
    smoker = condition("F17.210", system="http://hl7.org/fhir/sid/icd-10-cm", onset_days_ago=400)
    assert LIBRARY.current_smoker(facts_for(terminology, [smoker])) is not None


def test_a_later_answer_outside_the_set_wins_over_a_smoker_condition(
    terminology: Terminology,
) -> None:
    smoker = condition("449868002", system=SNOMED, onset_days_ago=400)
    assert (
        LIBRARY.current_smoker(facts_for(terminology, [smoker, status(NOT_A_SMOKER, 10)])) is None
    )


def test_a_smoker_condition_newer_than_the_answer_wins(terminology: Terminology) -> None:
    smoker = condition("449868002", system=SNOMED, onset_days_ago=5)
    found = LIBRARY.current_smoker(facts_for(terminology, [smoker, status(NOT_A_SMOKER, 100)]))
    assert found is not None
    assert found.reference == f"Condition/{smoker['id']}"


def test_the_newest_answer_decides(terminology: Terminology) -> None:
    answers = [status(SMOKES_DAILY, 300), status(NOT_A_SMOKER, 20)]
    assert LIBRARY.current_smoker(facts_for(terminology, answers)) is None
    answers = [status(NOT_A_SMOKER, 300), status(SMOKES_DAILY, 20)]
    assert LIBRARY.current_smoker(facts_for(terminology, answers)) is not None


def test_a_resolved_smoker_condition_is_not_smoking_now(terminology: Terminology) -> None:
    quit = condition("449868002", system=SNOMED, clinical_status="resolved")
    assert LIBRARY.current_smoker(facts_for(terminology, [quit])) is None
