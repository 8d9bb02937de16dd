"""Moving a chart's dates so that its latest date is yesterday: old exports and synthetic
patients (Synthea writes whole lives, often ending years ago) judged as if they were current.

Pure: no IO, no clock (the caller passes `as_of`), inputs never mutated.

What moves, and how:

- Every FHIR date, dateTime and instant held by an element whose name says it is one: names
  ending in `Date`, `DateTime` or `Instant` (`effectiveDateTime`, `recordedDate`, `birthDate`,
  `valueDateTime`...), Period's `start` and `end`, and the date elements with plain names
  (`authoredOn`, `issued`, `date`, `recorded`, `created`, `lastUpdated`, ...). Elements are
  found by name, never by looking like a date: an RxNorm code such as "4603" is not a year.
- A full date or dateTime moves by whole days on its calendar date as written: its time of day,
  fractional seconds and UTC offset are kept, so a result taken at 08:30 local time is still
  taken at 08:30 local time.
- Partial dates keep their precision: `YYYY-MM` moves by the whole number of months nearest to
  the shift, `YYYY` by the nearest whole number of years.
- `birthDate` moves with everything else. Ages at every recorded event, and the age at the
  moment of judgement, are then the ages the record had at its latest date: a woman 24 weeks
  pregnant at her last visit is still 24 weeks pregnant, a patient who was 64 is not suddenly
  80. The alternative (birth dates kept) would age every patient by the shift.
- Values that are not valid FHIR dates are left as they are, and do not count as the latest.
- `meta` (`lastUpdated`: when a server stored the resource, often the day of the export) is
  neither moved nor counted: it would make every export look current.

`days_to_yesterday` decides the shift (from the latest date written, the time of day
ignored); `shift_resources` applies it to copies, `shift_in_place` to data the caller has just
built and owns. Each walks the JSON once, and each distinct value is read or moved once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson

__all__ = (
    "days_to_yesterday",
    "latest_date",
    "shift_in_place",
    "shift_resource",
    "shift_resources",
    "shift_value",
)

# Date elements whose names do not end in Date/DateTime/Instant (FHIR R4).
PLAIN_DATE_ELEMENTS = frozenset(
    {
        "start",  # Period
        "end",  # Period
        "date",
        "issued",
        "authoredOn",
        "recorded",
        "created",
        "timestamp",
        "time",  # Annotation
        "lastOccurrence",
        "whenHandedOver",
        "whenPrepared",
        "dateWritten",
        "dateAsserted",
        "occurrence",
        "event",  # Timing: a list of dateTimes
    }
)
_DATE_SUFFIXES = ("Date", "DateTime", "Instant")

# FHIR's date / dateTime / instant: YYYY, YYYY-MM, YYYY-MM-DD, or a full date with a time.
_DATE = re.compile(
    r"^(?P<date>[0-9]{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12][0-9]|3[01]))?)?)"
    r"(?P<rest>T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?"
    r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?)?$"
)
_DAYS_PER_MONTH = 365.2425 / 12
_DAYS_PER_YEAR = 365.2425
_CACHE_SIZE = 16_384  # distinct values remembered: a chart repeats its timestamps many times

# Where a date value sits: its container (a dict or a list) and its key or index there.
Slot = tuple[Any, Any]


def is_date_element(name: str) -> bool:
    return name in PLAIN_DATE_ELEMENTS or name.endswith(_DATE_SUFFIXES)


def latest_date(resources: Iterable[Any]) -> date | None:
    """The latest calendar date written in any date element of `resources` (partial dates
    count as their first day), or None when there is none."""
    found = [_calendar_date(c[k]) for c, k in _date_slots(list(resources))]
    return max((d for d in found if d is not None), default=None)


def days_to_yesterday(resources: Iterable[Any], as_of: datetime) -> int:
    """Whole days to add to every date so that the latest becomes the day before `as_of` (its
    calendar date as given); 0 when there is no date."""
    latest = latest_date(resources)
    if latest is None:
        return 0
    return (as_of.date() - timedelta(days=1) - latest).days


def shift_resources(resources: Iterable[Mapping[str, Any]], days: int) -> list[Mapping[str, Any]]:
    """Copies of `resources` with every date element moved by `days` (the originals when 0)."""
    if days == 0:
        return list(resources)
    return [shift_resource(resource, days) for resource in resources]


def shift_resource(resource: Mapping[str, Any], days: int) -> dict[str, Any]:
    """A copy of one resource (any JSON object) with its date elements moved by `days`."""
    copy: dict[str, Any] = orjson.loads(orjson.dumps(resource))
    shift_in_place(copy, days)
    return copy


def shift_in_place(value: Any, days: int) -> None:
    """Move every date element held anywhere in `value` (JSON: dicts, lists, strings...) by
    `days`, changing `value` itself: for data the caller has just built and owns."""
    if days == 0:
        return
    for container, key in _date_slots(value):
        container[key] = shift_value(container[key], days)


@lru_cache(maxsize=_CACHE_SIZE)
def shift_value(value: str, days: int) -> str:
    """One FHIR date, dateTime or instant moved by `days` (see the module's rules); a value
    that is not one is returned unchanged."""
    match = _DATE.match(value)
    if match is None:
        return value
    written = match.group("date")
    rest = match.group("rest") or ""
    try:
        if len(written) == 4:
            years = round(days / _DAYS_PER_YEAR)
            year = int(written) + years
            return f"{year:04d}{rest}" if 1 <= year <= 9999 else value
        if len(written) == 7:
            months = int(written[:4]) * 12 + int(written[5:7]) - 1 + round(days / _DAYS_PER_MONTH)
            year, month = divmod(months, 12)
            return f"{year:04d}-{month + 1:02d}{rest}" if 1 <= year <= 9999 else value
        moved = date.fromisoformat(written) + timedelta(days=days)
    except (ValueError, OverflowError):  # 2023-02-30, or moved outside years 1-9999
        return value
    return moved.isoformat() + rest


def _date_slots(value: Any) -> list[Slot]:
    """Where every string held by a date element is, depth first, `meta` left out. Iterative:
    no nesting depth exhausts the stack."""
    slots: list[Slot] = []
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        current, dated = stack.pop()
        if isinstance(current, dict):
            for key, item in current.items():
                if type(item) is str:
                    if is_date_element(key):
                        slots.append((current, key))
                elif isinstance(item, dict | list) and key != "meta":
                    stack.append((item, is_date_element(key)))
        elif isinstance(current, list):
            for index, item in enumerate(current):
                if type(item) is str:
                    if dated:
                        slots.append((current, index))
                elif isinstance(item, dict | list):
                    stack.append((item, dated))
    return slots


@lru_cache(maxsize=_CACHE_SIZE)
def _calendar_date(value: str) -> date | None:
    match = _DATE.match(value)
    if match is None:
        return None
    written = match.group("date")
    try:
        if len(written) == 4:
            return date(int(written), 1, 1)
        if len(written) == 7:
            return date(int(written[:4]), int(written[5:7]), 1)
        return date.fromisoformat(written)
    except ValueError:
        return None
