"""cds.facts: the record at `as_of`, by value set, as one rule version may read it.

RecordFacts finds entries by value set and counts calendar days; Facts is a rule version's view
of it, limited to the value sets that version declares, with computations shared between views.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from cds.facts import Facts, RecordFacts, UndeclaredValueSet
from cds.record import PatientRecord
from cds.terminology import Terminology
from tests.support.fhir import (
    AS_OF,
    ICD10,
    PATIENT_ID,
    condition,
    facts_for,
    observation,
    patient,
    record_facts,
)

K = "2823-3"


def facts(terminology: Terminology, *resources: dict[str, Any], **kwargs: Any) -> Facts:
    return facts_for(terminology, resources, **kwargs)


# -- as_of and calendar days ------------------------------------------------------------------


def test_as_of_must_be_timezone_aware(terminology: Terminology) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        RecordFacts(PatientRecord(), as_of=datetime(2026, 1, 1), terminology=terminology)


def test_as_of_in_another_zone_gives_the_same_calendar_days(terminology: Terminology) -> None:
    # 23:30 in New York is already tomorrow in UTC, where the record's times live. A result
    # taken an hour before as_of is from "today", not from the future.
    new_york = timezone(timedelta(hours=-5))
    as_of = datetime(2026, 11, 21, 23, 30, tzinfo=new_york)
    obs = observation(K, 3.1, "mmol/L")
    obs["effectiveDateTime"] = (as_of - timedelta(hours=1)).astimezone(UTC).isoformat()
    f = facts(terminology, obs, as_of=as_of)
    assert f.as_of == as_of
    assert f.as_of.tzinfo == UTC
    (result,) = f.results_of("potassium")
    assert result.effective is not None
    assert f.days_ago(result.effective) == 0
    assert f.within(result.effective, 0)


@pytest.mark.parametrize(("days_ago", "inside"), [(-1, False), (0, True), (90, True), (91, False)])
def test_within_is_whole_calendar_days_and_never_the_future(
    terminology: Terminology, days_ago: int, inside: bool
) -> None:
    f = facts(terminology)
    assert f.within(AS_OF - timedelta(days=days_ago), 90) is inside


def test_within_an_unknown_time_is_never_true(terminology: Terminology) -> None:
    assert not facts(terminology).within(None, 36500)


@pytest.mark.parametrize(
    ("when", "days_ago"),
    [
        (datetime(2026, 11, 20, 23, 59, tzinfo=UTC), 1),  # two minutes earlier, but yesterday
        (datetime(2026, 11, 21, 0, 0, tzinfo=UTC), 0),
        (datetime(2026, 11, 19, 0, 2, tzinfo=UTC), 2),
        (datetime(2026, 11, 22, 0, 0, tzinfo=UTC), -1),  # tomorrow: negative
    ],
)
def test_days_ago_counts_calendar_days_not_hours(
    terminology: Terminology, when: datetime, days_ago: int
) -> None:
    f = facts(terminology, as_of=datetime(2026, 11, 21, 0, 1, tzinfo=UTC))
    assert f.days_ago(when) == days_ago


# -- patient ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "age"),
    [
        ("1956-11-21", 70),  # the 70th birthday is today
        ("1956-11-22", 69),  # tomorrow
        ("1956-11-20", 70),
        ("2026-11-21", 0),
        ("1956", 70),  # a partial date: 1 January
        ("2026-11-22", None),  # born after as_of: a data error, not an age
    ],
)
def test_age_at_as_of(terminology: Terminology, birth_date: str, age: int | None) -> None:
    assert facts(terminology, patient(birth_date=birth_date)).age_years == age


def test_age_on_a_leap_day_birthday(terminology: Terminology) -> None:
    born = patient(birth_date="2000-02-29")
    assert facts(terminology, born, as_of=datetime(2026, 2, 28, tzinfo=UTC)).age_years == 25
    assert facts(terminology, born, as_of=datetime(2026, 3, 1, tzinfo=UTC)).age_years == 26


def test_sex_and_unknown_age(terminology: Terminology) -> None:
    f = facts(terminology, {"resourceType": "Patient", "id": PATIENT_ID, "gender": "male"})
    assert (f.sex, f.age_years, f.birth_date, f.patient_id) == ("male", None, None, PATIENT_ID)


# -- results ----------------------------------------------------------------------------------


def test_results_of_lists_the_newest_first_and_undated_last(terminology: Terminology) -> None:
    older = observation(K, 4.0, "mmol/L", days_ago=30)
    undated = observation(K, 3.8, "mmol/L")
    del undated["effectiveDateTime"]
    newer = observation(K, 3.1, "mmol/L", days_ago=2)
    f = facts(terminology, older, undated, newer)
    assert [r.reference for r in f.results_of("potassium")] == [
        f"Observation/{newer['id']}",
        f"Observation/{older['id']}",
        f"Observation/{undated['id']}",
    ]


def test_results_of_an_analyte_without_results_is_empty(terminology: Terminology) -> None:
    assert list(facts(terminology, observation(K, 4.0, "mmol/L")).results_of("magnesium")) == []


# -- a rule version reads only the value sets it declares ---------------------------------------

# Each primitive that reads a value set, called with the value set named `name`.
Read = Callable[[Facts, str], object]
PRIMITIVES: list[tuple[str, str, Read]] = [
    ("conditions_in", "ckd", lambda f, name: f.conditions_in(name)),
    ("procedures_in", "dialysis", lambda f, name: f.procedures_in(name)),
    ("medications_in", "statins", lambda f, name: f.medications_in(name)),
    ("allergies_in", "statins", lambda f, name: f.allergies_in(name)),
    ("family_history_in", "pad", lambda f, name: f.family_history_in(name)),
    ("observations_in", "leg-complaint", lambda f, name: f.observations_in(name)),
    ("results_of", "potassium", lambda f, name: f.results_of(name)),
    ("valueset", "ckd", lambda f, name: f.valueset(name)),
    ("matches", "ckd", lambda f, name: f.matches(name, [{"system": ICD10, "code": "N18.4"}])),
]


@pytest.mark.parametrize(
    ("valueset", "read"), [p[1:] for p in PRIMITIVES], ids=[p[0] for p in PRIMITIVES]
)
def test_reading_an_undeclared_value_set_raises(
    terminology: Terminology, valueset: str, read: Read
) -> None:
    f = facts(terminology, valuesets=["magnesium"])
    with pytest.raises(UndeclaredValueSet, match=f"reads value set '{valueset}'"):
        read(f, valueset)
    assert f.read == set()


@pytest.mark.parametrize(
    ("valueset", "read"), [p[1:] for p in PRIMITIVES], ids=[p[0] for p in PRIMITIVES]
)
def test_reading_a_declared_value_set_is_recorded(
    terminology: Terminology, valueset: str, read: Read
) -> None:
    f = facts(terminology, valuesets=[valueset, "magnesium"])
    assert f.read == set()
    read(f, valueset)
    read(f, valueset)
    assert f.read == {valueset}


def test_the_error_names_the_reader_and_the_value_set(terminology: Terminology) -> None:
    f = Facts(record_facts(terminology, []), valuesets=["ckd"], reader="pad-rest-pain@1.0.0")
    with pytest.raises(UndeclaredValueSet, match=r"^pad-rest-pain@1\.0\.0 reads value set 'pad'"):
        f.conditions_in("pad")


def test_read_collects_every_value_set_asked_about(terminology: Terminology) -> None:
    f = facts(terminology, valuesets=["ckd", "potassium", "statins", "magnesium"])
    f.conditions_in("ckd")
    f.results_of("potassium")
    assert f.read == {"ckd", "potassium"}


def test_the_patient_and_the_moment_need_no_declaration(terminology: Terminology) -> None:
    f = facts(terminology, patient(birth_date="1956-11-21"), valuesets=[])
    assert (f.age_years, f.sex, f.as_of) == (70, "female", AS_OF)
    assert f.encounters == []
    assert f.read == set()


# -- memo: computations shared by the views of one record ---------------------------------------

CKD_KEY = ("tests.test_facts", "ckd references")


def ckd_references(calls: list[Facts]) -> Callable[[Facts], list[str]]:
    """A computation that reads the `ckd` value set, recording each time it runs."""

    def compute(f: Facts) -> list[str]:
        calls.append(f)
        return [c.reference for c in f.conditions_in("ckd")]

    return compute


def ckd4() -> dict[str, Any]:
    return condition("N18.4", system=ICD10, display="Chronic kidney disease, stage 4")


def test_memo_computes_once_per_record_and_shares_the_result_between_views(
    terminology: Terminology,
) -> None:
    ckd = ckd4()
    shared = record_facts(terminology, [ckd])
    first = Facts(shared, valuesets=["ckd"], reader="first")
    second = Facts(shared, valuesets=["ckd"], reader="second")
    calls: list[Facts] = []
    compute = ckd_references(calls)
    result = first.memo(CKD_KEY, compute)
    assert result == [f"Condition/{ckd['id']}"]
    assert first.memo(CKD_KEY, compute) is result
    assert second.memo(CKD_KEY, compute) is result
    assert calls == [first]
    # Another record is another computation.
    other = Facts(record_facts(terminology, [ckd]), valuesets=["ckd"], reader="other")
    assert other.memo(CKD_KEY, compute) == result
    assert calls == [first, other]


def test_a_view_served_from_the_memo_has_read_what_the_computation_read(
    terminology: Terminology,
) -> None:
    shared = record_facts(terminology, [ckd4()])
    Facts(shared, valuesets=["ckd"], reader="first").memo(CKD_KEY, ckd_references([]))
    second = Facts(shared, valuesets=["ckd", "magnesium"], reader="second")
    second.memo(CKD_KEY, ckd_references([]))
    assert second.read == {"ckd"}


def test_a_memoised_none_is_not_computed_again(terminology: Terminology) -> None:
    calls: list[Facts] = []

    def nothing(f: Facts) -> None:
        calls.append(f)

    f = facts(terminology)
    assert f.memo(("tests.test_facts", "nothing"), nothing) is None
    assert f.memo(("tests.test_facts", "nothing"), nothing) is None
    assert len(calls) == 1


def test_different_keys_are_different_computations(terminology: Terminology) -> None:
    f = facts(terminology)
    assert f.memo(("tests.test_facts", "one"), lambda _: 1) == 1
    assert f.memo(("tests.test_facts", "two"), lambda _: 2) == 2


def test_the_memo_never_hides_an_undeclared_read(terminology: Terminology) -> None:
    shared = record_facts(terminology, [ckd4()])
    first = Facts(shared, valuesets=["ckd", "potassium"], reader="first")
    first.memo(CKD_KEY, ckd_references([]))
    second = Facts(shared, valuesets=["potassium"], reader="second")
    with pytest.raises(UndeclaredValueSet, match=r"^second reads value set 'ckd'"):
        second.memo(CKD_KEY, ckd_references([]))
    assert second.read == set()


def test_a_computation_refused_to_one_view_is_not_memoised(terminology: Terminology) -> None:
    ckd = ckd4()
    shared = record_facts(terminology, [ckd])
    calls: list[Facts] = []
    undeclared = Facts(shared, valuesets=["potassium"], reader="undeclared")
    with pytest.raises(UndeclaredValueSet):
        undeclared.memo(CKD_KEY, ckd_references(calls))
    declared = Facts(shared, valuesets=["ckd"], reader="declared")
    assert declared.memo(CKD_KEY, ckd_references(calls)) == [f"Condition/{ckd['id']}"]
    assert calls == [undeclared, declared]


@pytest.mark.parametrize("inner_first", [True, False], ids=["inner-memoised", "inner-fresh"])
def test_a_memo_built_on_another_memo_carries_both_reads(
    terminology: Terminology, inner_first: bool
) -> None:
    shared = record_facts(terminology, [ckd4()])
    first = Facts(shared, valuesets=["ckd", "statins"], reader="first")
    inner = ckd_references([])

    def outer(f: Facts) -> tuple[list[str], int]:
        return f.memo(CKD_KEY, inner), len(f.medications_in("statins"))

    if inner_first:
        first.memo(CKD_KEY, inner)
    first.memo(("tests.test_facts", "outer"), outer)
    second = Facts(shared, valuesets=["statins"], reader="second")
    with pytest.raises(UndeclaredValueSet, match="'ckd'"):
        second.memo(("tests.test_facts", "outer"), outer)
