"""cds.facts: the questions rules ask, at `as_of` (clinical-content.md §1.2, §13, §19).

Windows, censored results, inpatient stays, age, pregnancy; and the proof that the pure core
(record, facts, rules, cards, pipeline) reads no clock and does no IO.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cds.facts import Facts
from cds.fhirtime import days_between, parse_date, parse_datetime
from cds.record import LabEntry, PatientRecord
from cds.terminology import Terminology
from tests.support.fhir import (
    AS_OF,
    ICD10,
    PATIENT_ID,
    SNOMED,
    condition,
    encounter,
    facts_for,
    observation,
    patient,
    procedure,
    when,
)
from tests.support.paths import REPO

K = "2823-3"
PREGNANCY_STATUS = "82810-3"
GESTATIONAL_AGE = "49051-6"
PREGNANT = (SNOMED, "77386006")  # the Pregnant answer, in the `pregnancy` value set
# Any other answer (not pregnant, unknown): a placeholder code outside the `pregnancy` set.
OTHER_ANSWER = (SNOMED, "answer-other-than-pregnant")
PREGNANCY_CONDITION = "77386006"
DELIVERY = "236973005"


def facts(terminology: Terminology, *resources: dict[str, Any], **kwargs: Any) -> Facts:
    return facts_for(terminology, resources, **kwargs)


def lab(
    value: float | None,
    *,
    comparator: str | None = None,
    low: float | None = None,
    high: float | None = None,
    interpretation: tuple[str, ...] = (),
) -> LabEntry:
    return LabEntry(
        reference="Observation/x",
        analyte="potassium",
        display="Potassium",
        value=value,
        unit="mmol/L",
        raw_value=value,
        raw_unit="mmol/L",
        comparator=comparator,
        effective=AS_OF,
        reference_low=low,
        reference_high=high,
        interpretation=interpretation,
    )


# -- as_of and windows ------------------------------------------------------------------------


def test_as_of_must_be_timezone_aware(terminology: Terminology) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Facts(PatientRecord(), as_of=datetime(2026, 1, 1), terminology=terminology)


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
    assert f.latest_lab("potassium", within_days=0) is not None
    assert f.days_ago(datetime.fromisoformat(obs["effectiveDateTime"])) == 0


@pytest.mark.parametrize(("days_ago", "inside"), [(-1, False), (0, True), (90, True), (91, False)])
def test_within_is_whole_calendar_days_and_never_the_future(
    terminology: Terminology, days_ago: int, inside: bool
) -> None:
    f = facts(terminology)
    assert f.within(AS_OF - timedelta(days=days_ago), 90) is inside
    assert not f.within(None, 90)


def test_calendar_days_count_dates_not_hours() -> None:
    late = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
    early = datetime(2026, 11, 21, 0, 1, tzinfo=UTC)
    assert days_between(late, early) == 1
    plus_two = timezone(timedelta(hours=2))
    assert days_between(early.astimezone(plus_two), late.astimezone(plus_two)) == -1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-03", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-04", datetime(2026, 3, 4, tzinfo=UTC)),
        (" 2026-03-04 ", datetime(2026, 3, 4, tzinfo=UTC)),
        ("2026-03-04T05:06:07+02:00", datetime(2026, 3, 4, 3, 6, 7, tzinfo=UTC)),
        ("2026-03-04T05:06:07.123456789Z", datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)),
        ("2026-03-04T05:06:07", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),  # no zone: UTC
        ("2026-02-29", None),
        ("2026-13", None),
        ("2_026", None),
        ("٢٠٢٦", None),  # digits to int(), not to FHIR
        ("20260304", None),
        ("0001-01-01T00:00:00+05:00", None),  # before year 1 in UTC
        ("9999-12-31T23:00:00-05:00", None),  # after year 9999 in UTC
        ("yesterday", None),
        ("", None),
        (20260304, None),
        (None, None),
        (["2026"], None),
    ],
)
def test_parse_datetime(text: Any, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected
    assert parse_date(text) == (expected.date() if expected else None)


# -- censored results and ranges (§1.2) -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "comparator", "low", "is_low"),
    [
        (3.0, None, 3.5, True),
        (3.5, None, 3.5, False),
        (3.0, "<", 3.5, True),  # certainly below 3.0
        (3.5, "<", 3.5, True),  # x < 3.5
        (3.6, "<", 3.5, False),  # could be 3.55
        (3.4, "<=", 3.5, True),
        (3.5, "<=", 3.5, False),  # could be exactly 3.5
        (2.0, ">", 3.5, False),  # could be anything above 2
        (2.0, ">=", 3.5, False),
        (3.0, "ad", 3.5, False),  # "sufficient to achieve": not a bound
    ],
)
def test_is_low_uses_a_censored_result_only_when_it_settles_the_answer(
    value: float, comparator: str | None, low: float, is_low: bool
) -> None:
    assert Facts.is_low(lab(value, comparator=comparator, low=low)) is is_low
    assert Facts.is_low(lab(value, comparator=comparator), low) is is_low  # the default


@pytest.mark.parametrize(
    ("value", "comparator", "high", "is_high"),
    [
        (5.5, None, 5.1, True),
        (5.1, None, 5.1, False),
        (5.1, ">", 5.1, True),
        (5.0, ">", 5.1, False),
        (5.2, ">=", 5.1, True),
        (5.1, ">=", 5.1, False),
        (9.0, "<", 5.1, False),
        (9.0, "<=", 5.1, False),
    ],
)
def test_is_high_mirrors_is_low(
    value: float, comparator: str | None, high: float, is_high: bool
) -> None:
    assert Facts.is_high(lab(value, comparator=comparator, high=high)) is is_high


def test_the_labs_own_range_beats_the_default_and_interpretation_beats_both() -> None:
    assert not Facts.is_low(lab(3.4, low=3.3), 3.5)
    assert Facts.is_low(lab(3.4, low=3.3, interpretation=("L",)), 3.5)
    assert Facts.is_high(lab(None, interpretation=("HH",)))
    assert not Facts.is_low(lab(None), 3.5)
    assert not Facts.is_low(lab(3.0))  # no range, no default: unknown, not low


def test_a_censored_result_reaches_the_rules_as_the_newest_value(
    terminology: Terminology,
) -> None:
    below = observation(K, 2.5, "mmol/L", comparator="<", days_ago=1)
    f = facts(terminology, below, observation(K, 4.0, "mmol/L", days_ago=30))
    latest = f.latest_lab("potassium", within_days=90)
    assert latest is not None
    assert (latest.value, latest.comparator) == (2.5, "<")
    assert f.is_low(latest, 3.5)


# -- inpatient stays: the bedridden proxy (§1.2, §10: >= 3 days ending <= 28 days ago) ---------


def stays(terminology: Terminology, *encounters: dict[str, Any]) -> list[str]:
    f = facts(terminology, *encounters)
    return [e.reference for e in f.inpatient_stays(min_days=3, ended_within_days=28)]


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
    assert (f.sex, f.age_years, f.patient_id) == ("male", None, PATIENT_ID)


# -- pregnancy: explicit evidence only (§13) ------------------------------------------------


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
    f = facts(terminology, answer, gestational_age(20, days_ago=14))
    pregnancy = f.pregnancy
    assert pregnancy is not None
    assert pregnancy.evidence == f"Observation/{answer['id']}"
    assert pregnancy.gestational_weeks == pytest.approx(22.0)
    assert pregnancy.when == datetime.fromisoformat(answer["effectiveDateTime"])


def test_never_from_sex_or_age(terminology: Terminology) -> None:
    f = facts(terminology, patient(birth_date="1996-01-01", gender="female"))
    assert f.pregnancy is None
    assert facts(terminology, gestational_age(20, days_ago=3)).pregnancy is None


def test_the_newest_answer_decides(terminology: Terminology) -> None:
    assert facts(terminology, status(PREGNANT, 40), status(OTHER_ANSWER, 5)).pregnancy is None
    assert facts(terminology, status(OTHER_ANSWER, 40), status(PREGNANT, 5)).pregnancy


def test_a_pregnancy_condition_newer_than_a_negative_answer_counts(
    terminology: Terminology,
) -> None:
    negative = status(OTHER_ANSWER, days_ago=120)
    pregnant = pregnancy_condition(onset_days_ago=60)
    pregnancy = facts(terminology, negative, pregnant).pregnancy
    assert pregnancy is not None
    assert pregnancy.evidence == f"Condition/{pregnant['id']}"


def test_a_negative_answer_newer_than_the_condition_ends_it(terminology: Terminology) -> None:
    # The problem list still says pregnant; the newest explicit check says otherwise.
    stale = pregnancy_condition(onset_days_ago=200)
    assert facts(terminology, stale, status(OTHER_ANSWER, days_ago=10)).pregnancy is None


def test_an_undated_pregnancy_condition_is_not_a_pregnancy_now(terminology: Terminology) -> None:
    undated = pregnancy_condition(onset_days_ago=None)
    assert facts(terminology, undated).pregnancy is None


def test_a_pregnancy_condition_recorded_but_without_onset(terminology: Terminology) -> None:
    recorded = pregnancy_condition(onset_days_ago=None)
    recorded["recordedDate"] = when(30)
    pregnancy = facts(terminology, recorded).pregnancy
    assert pregnancy is not None
    assert pregnancy.when == datetime.fromisoformat(when(30))


@pytest.mark.parametrize(("onset", "pregnant"), [(300, True), (301, False), (2000, False)])
def test_a_pregnancy_condition_goes_stale(
    terminology: Terminology, onset: int, pregnant: bool
) -> None:
    assert bool(facts(terminology, pregnancy_condition(onset_days_ago=onset)).pregnancy) is (
        pregnant
    )


@pytest.mark.parametrize(("days_ago", "pregnant"), [(280, True), (281, False)])
def test_a_pregnant_answer_goes_stale(
    terminology: Terminology, days_ago: int, pregnant: bool
) -> None:
    assert bool(facts(terminology, status(PREGNANT, days_ago)).pregnancy) is pregnant


@pytest.mark.parametrize("clinical_status", ["resolved", "inactive"])
def test_a_resolved_pregnancy_condition_is_over(
    terminology: Terminology, clinical_status: str
) -> None:
    over = pregnancy_condition(onset_days_ago=100, clinical_status=clinical_status)
    assert facts(terminology, over).pregnancy is None


def test_an_abated_pregnancy_condition_is_over(terminology: Terminology) -> None:
    abated = pregnancy_condition(onset_days_ago=250, abated_days_ago=3)
    assert facts(terminology, abated).pregnancy is None


def test_a_delivery_since_the_evidence_ends_the_pregnancy(terminology: Terminology) -> None:
    # The problem list was never updated after the birth.
    unresolved = pregnancy_condition(onset_days_ago=280)
    assert facts(terminology, unresolved, delivery(days_ago=10)).pregnancy is None
    answer = status(PREGNANT, days_ago=30)
    assert facts(terminology, answer, delivery(days_ago=2)).pregnancy is None


def test_an_earlier_delivery_belongs_to_an_earlier_pregnancy(terminology: Terminology) -> None:
    answer = status(PREGNANT, days_ago=10)
    old_ga = gestational_age(39, days_ago=50)  # measured before that birth
    f = facts(terminology, delivery(days_ago=45), old_ga, answer)
    pregnancy = f.pregnancy
    assert pregnancy is not None
    assert pregnancy.gestational_weeks is None  # not 46 weeks from the last pregnancy


@pytest.mark.parametrize(("weeks", "pregnant"), [(38.0, True), (40.0, False)])
def test_a_gestational_age_past_44_weeks_means_it_has_ended(
    terminology: Terminology, weeks: float, pregnant: bool
) -> None:
    # Measured 30 days (4.3 weeks) ago: 38 -> 42.3 weeks now, 40 -> 44.3 weeks now.
    f = facts(terminology, status(PREGNANT, days_ago=30), gestational_age(weeks, days_ago=30))
    assert bool(f.pregnancy) is pregnant


def test_an_old_gestational_age_is_not_used(terminology: Terminology) -> None:
    f = facts(terminology, status(PREGNANT, days_ago=5), gestational_age(12, days_ago=61))
    pregnancy = f.pregnancy
    assert pregnancy is not None
    assert pregnancy.gestational_weeks is None


def test_a_pregnancy_status_as_a_condition_code_in_icd10_is_not_guessed(
    terminology: Terminology,
) -> None:
    # Only the value set's codes count: a Z33.1-like code outside it proves nothing here.
    other = condition("Z33.1", system=ICD10, onset_days_ago=30)
    assert facts(terminology, other).pregnancy is None


# -- the pure core: no clock, no IO ---------------------------------------------------------

CDS = REPO / "cds"
PURE_MODULES = sorted(
    {
        *(CDS / "record").rglob("*.py"),
        CDS / "fhir" / "bundles.py",
        CDS / "facts.py",
        CDS / "fhirtime.py",
        CDS / "cards.py",
        CDS / "pipeline.py",
        *(CDS / "rules").rglob("*.py"),
    }
    # The registry imports the rule modules and reads released.json once, at start-up.
    - {CDS / "rules" / "registry.py"}
)
FORBIDDEN_IMPORTS = frozenset(
    {
        "alembic",
        "asyncio",
        "fastapi",
        "http",
        "httpx",
        "io",
        "multiprocessing",
        "os",
        "psycopg",
        "random",
        "redis",
        "requests",
        "secrets",
        "shutil",
        "socket",
        "sqlalchemy",
        "sqlmodel",
        "ssl",
        "starlette",
        "subprocess",
        "sys",
        "tempfile",
        "threading",
        "time",
        "urllib",
        "uvicorn",
    }
)
# Calls that read the clock, randomness, the environment or files, whatever they are imported as.
FORBIDDEN_CALLS = frozenset({"open", "input", "print", "exec", "eval", "__import__", "breakpoint"})
FORBIDDEN_METHODS = frozenset(
    {
        "now",
        "utcnow",
        "today",
        "monotonic",
        "perf_counter",
        "process_time",
        "uuid1",
        "uuid4",
        "getenv",
        "urlopen",
        "read_text",
        "read_bytes",
        "write_text",
        "write_bytes",
        "iterdir",
        "glob",
        "rglob",
    }
)


def impurities(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    label = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
    found = []
    for node in ast.walk(tree):
        where = f"{label}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [
                f"{where} import {a.name}"
                for a in node.names
                if a.name.split(".")[0] in FORBIDDEN_IMPORTS
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in FORBIDDEN_IMPORTS:
                found.append(f"{where} from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"{where} {func.id}(...)")
            elif isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
                found.append(f"{where} .{func.attr}(...)")
        elif isinstance(node, ast.Attribute) and node.attr == "environ":
            found.append(f"{where} .environ")
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found.append(f"{where} global/nonlocal {', '.join(node.names)}")
    return found


def test_the_scan_covers_the_pure_core() -> None:
    names = {p.relative_to(CDS).as_posix() for p in PURE_MODULES}
    assert {"record/builder.py", "facts.py", "cards.py", "pipeline.py", "rules/base.py"} <= names
    assert any(n.startswith("rules/diuretic_electrolytes/v") for n in names)


def test_the_scan_finds_what_it_forbids(tmp_path: Path) -> None:
    impure = tmp_path / "impure.py"
    impure.write_text(
        "import time\nfrom datetime import datetime\nimport httpx\nimport os.path\n"
        "def f():\n    global X\n    return datetime.now(), time.time(), open('x'), os.environ\n"
        "def g(p):\n    return p.read_text(), date.today(), uuid.uuid4()\n"
    )
    found = "\n".join(impurities(impure))
    expected = (
        "import time",
        "import httpx",
        "import os.path",
        "global",
        ".now(",
        "open(",
        ".today(",
    )
    for impurity in (*expected, ".read_text(", ".uuid4(", ".environ"):
        assert impurity in found


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: p.relative_to(CDS).as_posix())
def test_pure_core_reads_no_clock_and_does_no_io(path: Path) -> None:
    assert impurities(path) == []


def test_importing_the_pure_core_loads_no_io_library() -> None:
    # In a fresh interpreter: the core and every rule module, nothing of HTTP or the database.
    code = (
        "import sys\n"
        "import cds.pipeline, cds.record, cds.facts, cds.cards\n"
        "from cds.rules.registry import load_registry\n"
        "load_registry()\n"
        "io = ('httpx', 'sqlmodel', 'sqlalchemy', 'fastapi', 'starlette', 'requests', 'redis',\n"
        "      'psycopg', 'alembic', 'uvicorn', 'urllib.request', 'http.client')\n"
        "print(','.join(m for m in io if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == ""
