"""FHIR date, dateTime and instant parsing: pure, tolerant, UTC.

FHIR allows partial dates ("2020", "2020-05"); they are read as the first moment of the period,
which is the conservative choice for "within N days" windows on past events.
A value without a time zone is taken as UTC. Anything else that is not a date (wrong type,
impossible day, a time zone that pushes it outside the years 1-9999) gives None, never an error.

Parsing is memoised: a record repeats the same timestamps many times (every result of a panel,
every resource of an encounter), and a parsed datetime is immutable, so sharing it is safe.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

__all__ = ("days_between", "parse_date", "parse_datetime")

_DATE_CACHE_SIZE = 16_384  # distinct timestamps kept; a 10,000-resource record has ~10,000


def parse_datetime(value: Any) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware UTC datetime; None if it is not one."""
    if type(value) is not str or not value:  # exact type: a str subclass could be unhashable
        return None
    return _parse(value)


@lru_cache(maxsize=_DATE_CACHE_SIZE)
def _parse(value: str) -> datetime | None:
    text = value.strip()
    try:
        length = len(text)
        # Partial dates: YYYY, YYYY-MM, YYYY-MM-DD, ASCII digits only ("2_020" and "٢٠٢٠" are
        # numbers to int(), not FHIR dates).
        if length == 4:
            return datetime(_digits(text), 1, 1, tzinfo=UTC)
        if length == 7 and text[4] == "-":
            return datetime(_digits(text[:4]), _digits(text[5:]), 1, tzinfo=UTC)
        if length == 10 and text[4] == "-" and text[7] == "-":
            return datetime(_digits(text[:4]), _digits(text[5:7]), _digits(text[8:]), tzinfo=UTC)
        if length < 10 or not text[:4].isascii() or not text[:4].isdigit():
            return None
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, TypeError, OverflowError):  # OverflowError: 0001-01-01T00:00+05:00
        return None


def _digits(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(text)
    return int(text)


def parse_date(value: Any) -> date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole calendar days from `earlier` to `later` (UTC dates), the unit of every window."""
    if earlier.tzinfo is not None and earlier.utcoffset():
        earlier = earlier.astimezone(UTC)
    if later.tzinfo is not None and later.utcoffset():
        later = later.astimezone(UTC)
    return (later.date() - earlier.date()).days
