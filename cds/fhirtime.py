"""FHIR date, dateTime and instant parsing: pure, tolerant, UTC.

FHIR allows partial dates ("2020", "2020-05"); they are read as the first moment of the period,
which is the conservative choice for "within N days" windows on past events.
A value without a time zone is taken as UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        if len(text) == 4:
            return datetime(int(text), 1, 1, tzinfo=UTC)
        if len(text) == 7:
            return datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
        if len(text) == 10:
            return datetime(int(text[:4]), int(text[5:7]), int(text[8:10]), tzinfo=UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: Any) -> date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole calendar days from `earlier` to `later` (UTC dates), the unit of every window."""
    return (later.date() - earlier.date()).days
