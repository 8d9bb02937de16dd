"""Moving a chart's dates (cds.fhir.date_shift): which elements move, by how much, and what
stays."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from cds.fhir.date_shift import (
    days_to_yesterday,
    latest_date,
    shift_resource,
    shift_resources,
    shift_value,
)

AS_OF = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-03-14"}
LAB = {
    "resourceType": "Observation",
    "id": "k",
    "meta": {"lastUpdated": "2026-11-20T08:00:00Z"},
    "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "4603"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2020-02-28T08:30:00-05:00",
    "issued": "2020-02-28T15:00:00.123Z",
    "valueString": "2020-01-01",
    "note": [{"time": "2020-02-29", "text": "seen 2019"}],
}
ORDER = {
    "resourceType": "MedicationRequest",
    "id": "m",
    "authoredOn": "2019-12",
    "dispenseRequest": {"validityPeriod": {"start": "2019", "end": "2020-03-01"}},
}


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("2020-02-28T08:30:00-05:00", 2, "2020-03-01T08:30:00-05:00"),  # time and offset kept
        ("2020-02-28T23:59:59.5Z", 1, "2020-02-29T23:59:59.5Z"),
        ("2020-02-28", -59, "2019-12-31"),
        ("2020-02", 31, "2020-03"),  # nearest whole month
        ("2020-02", 14, "2020-02"),
        ("2020-12", 31, "2021-01"),
        ("2020", 200, "2021"),  # nearest whole year
        ("2020", 100, "2020"),
        ("not a date", 10, "not a date"),
        ("2020-13-01", 10, "2020-13-01"),
        ("9999-12-31", 1, "9999-12-31"),  # would leave the years FHIR allows: unchanged
    ],
)
def test_shift_value(value: str, days: int, expected: str) -> None:
    assert shift_value(value, days) == expected


def test_latest_date_reads_date_elements_only() -> None:
    # The valueString and the RxNorm code look like dates but are not date elements; meta is
    # the server's bookkeeping.
    assert latest_date([PATIENT, LAB, ORDER]) == date(2020, 3, 1)
    assert latest_date([{"resourceType": "Patient", "id": "x"}]) is None


def test_days_to_yesterday() -> None:
    days = days_to_yesterday([PATIENT, LAB, ORDER], AS_OF)
    assert date(2020, 3, 1).toordinal() + days == date(2026, 11, 20).toordinal()
    assert days_to_yesterday([{"resourceType": "Patient"}], AS_OF) == 0


def test_after_the_shift_the_latest_date_is_yesterday_and_ages_are_kept() -> None:
    original = [copy.deepcopy(r) for r in (PATIENT, LAB, ORDER)]
    days = days_to_yesterday(original, AS_OF)
    patient, lab, order = shift_resources(original, days)

    assert latest_date([patient, lab, order]) == date(2026, 11, 20)
    assert original == [PATIENT, LAB, ORDER]  # inputs untouched
    # Every full date moved by the same number of days: age at the lab result is unchanged.
    born = date.fromisoformat(patient["birthDate"])
    taken = date.fromisoformat(lab["note"][0]["time"])
    assert (taken - born).days == (date(2020, 2, 29) - date(1950, 3, 14)).days
    assert lab["effectiveDateTime"].endswith("T08:30:00-05:00")
    assert lab["issued"].endswith("T15:00:00.123Z")
    assert order["dispenseRequest"]["validityPeriod"]["end"] == "2026-11-20"
    # Not date elements, or metadata: unchanged.
    assert lab["valueString"] == "2020-01-01"
    assert lab["code"]["coding"][0]["code"] == "4603"
    assert lab["meta"] == {"lastUpdated": "2026-11-20T08:00:00Z"}
    assert lab["note"][0]["text"] == "seen 2019"
    # Partial dates keep their precision.
    assert len(order["authoredOn"]) == 7
    assert len(order["dispenseRequest"]["validityPeriod"]["start"]) == 4


def test_zero_days_returns_the_resources_themselves() -> None:
    assert shift_resources([LAB], 0)[0] is LAB


def test_lists_of_dates_move() -> None:
    timing = {"event": ["2020-01-01T10:00:00Z", "2020-01-02"]}
    assert shift_resource(timing, 1) == {"event": ["2020-01-02T10:00:00Z", "2020-01-03"]}
