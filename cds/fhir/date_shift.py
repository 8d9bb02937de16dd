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

`days_to_yesterday` decides the shift (from the latest date written in the chart, the time of
day ignored); `shift_resources` applies it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

__all__ = ("days_to_yesterday", "latest_date", "shift_resource", "shift_resources", "shift_value")

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


def is_date_element(name: str) -> bool:
    return name in PLAIN_DATE_ELEMENTS or name.endswith(_DATE_SUFFIXES)


def latest_date(resources: Iterable[Mapping[str, Any]]) -> date | None:
    """The latest calendar date written in any date element of `resources` (partial dates
    count as their first day), or None when there is none."""
    latest: date | None = None
    for resource in resources:
        for value in _date_values(resource):
            found = _calendar_date(value)
            if found is not None and (latest is None or found > latest):
                latest = found
    return latest


def days_to_yesterday(resources: Iterable[Mapping[str, Any]], as_of: datetime) -> int:
    """Whole days to add to every date so that the latest becomes the day before `as_of` (its
    calendar date as given); 0 for a chart without dates."""
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
    shifted: dict[str, Any] = _shift_object(resource, days)
    return shifted


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


def _shift_object(obj: Mapping[str, Any], days: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "meta":
            out[key] = value
        elif isinstance(value, str):
            out[key] = shift_value(value, days) if is_date_element(key) else value
        elif isinstance(value, Mapping):
            out[key] = _shift_object(value, days)
        elif isinstance(value, list):
            out[key] = _shift_list(value, days, dated=is_date_element(key))
        else:
            out[key] = value
    return out


def _shift_list(items: list[Any], days: int, *, dated: bool) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            out.append(shift_value(item, days) if dated else item)
        elif isinstance(item, Mapping):
            out.append(_shift_object(item, days))
        elif isinstance(item, list):
            out.append(_shift_list(item, days, dated=dated))
        else:
            out.append(item)
    return out


def _date_values(value: Any, dated: bool = False) -> Iterable[str]:
    """Every string held by a date element, depth first (iterative: no recursion limit)."""
    stack: list[tuple[Any, bool]] = [(value, dated)]
    while stack:
        current, is_dated = stack.pop()
        if isinstance(current, str):
            if is_dated:
                yield current
        elif isinstance(current, Mapping):
            stack.extend((v, is_date_element(k)) for k, v in current.items() if k != "meta")
        elif isinstance(current, list):
            stack.extend((item, is_dated) for item in current)


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
