"""cds.rules.lib.pregnancy.v1: whether the patient is pregnant now (clinical-content.md §13),
from explicit evidence only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from cds.rules.lib.library import Library2026_11
from cds.rules.lib.pregnancy.v1 import PREGNANCY_ENDED_AFTER_WEEKS, Pregnancy
from cds.terminology import Terminology
from tests.support.fhir import (
    ICD10,
    SNOMED,
    condition,
    facts_for,
    observation,
    patient,
    procedure,
    when,
)
from tests.support.rules import terminology_release

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

PREGNANCY_STATUS = "82810-3"
GESTATIONAL_AGE = "49051-6"
PREGNANT = (SNOMED, "77386006")  # the Pregnant answer, in the `pregnancy` value set
# Any other answer (not pregnant, unknown): a placeholder code outside the `pregnancy` set.
OTHER_ANSWER = (SNOMED, "answer-other-than-pregnant")
PREGNANCY_CONDITION = "77386006"
DELIVERY = "236973005"


def pregnancy_of(terminology: Terminology, *resources: dict[str, Any]) -> Pregnancy | None:
    return LIBRARY.current_pregnancy(facts_for(terminology, resources))


def status(answer: tuple[str, str], days_ago: float) -> dict[str, Any]:
    return observation(PREGNANCY_STATUS, None, value_code=answer, days_ago=days_ago)


def gestational_age(weeks: float, days_ago: float) -> dict[str, Any]:
    return observation(GESTATIONAL_AGE, weeks, "wk", days_ago=days_ago)


def pregnancy_condition(**kwargs: Any) -> dict[str, Any]:
    return condition(PREGNANCY_CONDITION, display="Pregnancy", **kwargs)


def delivery(days_ago: float) -> dict[str, Any]:
    return procedure(DELIVERY, display="Delivery procedure", days_ago=days_ago)


def test_a_pregnant_answer_with_gestational_age_advanced_to_as_of(
    terminology: Terminology,
) -> None:
    answer = status(PREGNANT, days_ago=20)
    pregnancy = pregnancy_of(terminology, answer, gestational_age(20, days_ago=14))
    assert pregnancy is not None
    assert pregnancy.evidence == f"Observation/{answer['id']}"
    assert pregnancy.gestational_weeks == pytest.approx(22.0)
    assert pregnancy.when == datetime.fromisoformat(answer["effectiveDateTime"])


def test_never_from_sex_or_age(terminology: Terminology) -> None:
    assert pregnancy_of(terminology, patient(birth_date="1996-01-01", gender="female")) is None
    assert pregnancy_of(terminology, gestational_age(20, days_ago=3)) is None


def test_the_newest_answer_decides(terminology: Terminology) -> None:
    assert pregnancy_of(terminology, status(PREGNANT, 40), status(OTHER_ANSWER, 5)) is None
    assert pregnancy_of(terminology, status(OTHER_ANSWER, 40), status(PREGNANT, 5))


def test_a_pregnancy_condition_newer_than_a_negative_answer_counts(
    terminology: Terminology,
) -> None:
    negative = status(OTHER_ANSWER, days_ago=120)
    pregnant = pregnancy_condition(onset_days_ago=60)
    pregnancy = pregnancy_of(terminology, negative, pregnant)
    assert pregnancy is not None
    assert pregnancy.evidence == f"Condition/{pregnant['id']}"


def test_a_negative_answer_newer_than_the_condition_ends_it(terminology: Terminology) -> None:
    # The problem list still says pregnant; the newest explicit check says otherwise.
    stale = pregnancy_condition(onset_days_ago=200)
    assert pregnancy_of(terminology, stale, status(OTHER_ANSWER, days_ago=10)) is None


def test_an_undated_pregnancy_condition_is_not_a_pregnancy_now(terminology: Terminology) -> None:
    undated = pregnancy_condition(onset_days_ago=None)
    assert pregnancy_of(terminology, undated) is None


def test_a_pregnancy_condition_recorded_but_without_onset(terminology: Terminology) -> None:
    recorded = pregnancy_condition(onset_days_ago=None)
    recorded["recordedDate"] = when(30)
    pregnancy = pregnancy_of(terminology, recorded)
    assert pregnancy is not None
    assert pregnancy.when == datetime.fromisoformat(when(30))


@pytest.mark.parametrize(("onset", "pregnant"), [(300, True), (301, False), (2000, False)])
def test_a_pregnancy_condition_goes_stale(
    terminology: Terminology, onset: int, pregnant: bool
) -> None:
    assert bool(pregnancy_of(terminology, pregnancy_condition(onset_days_ago=onset))) is pregnant


@pytest.mark.parametrize(("days_ago", "pregnant"), [(280, True), (281, False)])
def test_a_pregnant_answer_goes_stale(
    terminology: Terminology, days_ago: int, pregnant: bool
) -> None:
    assert bool(pregnancy_of(terminology, status(PREGNANT, days_ago))) is pregnant


@pytest.mark.parametrize("clinical_status", ["resolved", "inactive"])
def test_a_resolved_pregnancy_condition_is_over(
    terminology: Terminology, clinical_status: str
) -> None:
    over = pregnancy_condition(onset_days_ago=100, clinical_status=clinical_status)
    assert pregnancy_of(terminology, over) is None


def test_an_abated_pregnancy_condition_is_over(terminology: Terminology) -> None:
    abated = pregnancy_condition(onset_days_ago=250, abated_days_ago=3)
    assert pregnancy_of(terminology, abated) is None


def test_a_delivery_since_the_evidence_ends_the_pregnancy(terminology: Terminology) -> None:
    # The problem list was never updated after the birth.
    unresolved = pregnancy_condition(onset_days_ago=280)
    assert pregnancy_of(terminology, unresolved, delivery(days_ago=10)) is None
    answer = status(PREGNANT, days_ago=30)
    assert pregnancy_of(terminology, answer, delivery(days_ago=2)) is None


def test_an_earlier_delivery_belongs_to_an_earlier_pregnancy(terminology: Terminology) -> None:
    answer = status(PREGNANT, days_ago=10)
    old_ga = gestational_age(39, days_ago=50)  # measured before that birth
    pregnancy = pregnancy_of(terminology, delivery(days_ago=45), old_ga, answer)
    assert pregnancy is not None
    assert pregnancy.gestational_weeks is None  # not 46 weeks from the last pregnancy


@pytest.mark.parametrize(("weeks", "pregnant"), [(38.0, True), (38.1, False)])
def test_by_default_a_gestational_age_past_42_weeks_means_it_has_ended(
    terminology: Terminology, weeks: float, pregnant: bool
) -> None:
    # Measured 28 days (4 weeks) ago: 38 -> 42.0 weeks now, 38.1 -> 42.1 weeks now.
    assert PREGNANCY_ENDED_AFTER_WEEKS == 42.0
    answer = status(PREGNANT, days_ago=28)
    assert bool(pregnancy_of(terminology, answer, gestational_age(weeks, days_ago=28))) is pregnant


def test_ended_after_weeks_moves_the_limit(terminology: Terminology) -> None:
    # Measured 28 days ago at 39 weeks: 43 weeks now. Ended by default, not with a 44-week
    # limit. Asked of the same Facts each time: the limit is applied after the shared memo.
    facts = facts_for(terminology, [status(PREGNANT, days_ago=28), gestational_age(39, 28)])
    assert LIBRARY.current_pregnancy(facts) is None
    pregnancy = LIBRARY.current_pregnancy(facts, ended_after_weeks=44)
    assert pregnancy is not None
    assert pregnancy.gestational_weeks == pytest.approx(43.0)
    assert LIBRARY.current_pregnancy(facts, ended_after_weeks=42.5) is None


def test_an_old_gestational_age_is_not_used(terminology: Terminology) -> None:
    pregnancy = pregnancy_of(
        terminology, status(PREGNANT, days_ago=5), gestational_age(12, days_ago=61)
    )
    assert pregnancy is not None
    assert pregnancy.gestational_weeks is None


def test_only_the_value_sets_codes_count() -> None:
    # Z33.1 "Pregnant state, incidental" joined the `pregnancy` set in terminology release
    # 2026.12 (VSAC Pregnancy, §22.1): before it, the code proved nothing, after it, it does.
    other = condition("Z33.1", system=ICD10, onset_days_ago=30)
    assert pregnancy_of(terminology_release("2026.11"), other) is None
    assert pregnancy_of(terminology_release("2026.12"), other) is not None
