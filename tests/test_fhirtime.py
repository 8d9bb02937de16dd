"""cds.fhirtime: FHIR date and dateTime values as UTC times, and calendar days between them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from cds.fhirtime import days_between, parse_date, parse_datetime


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
