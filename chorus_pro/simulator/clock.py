"""Simulated time: a frozen clock that only moves when a test or a demo says so.

A frozen clock makes every timestamp the simulator hands out reproducible; letting it follow the
wall clock would make a status change depend on how slow the machine is. Times are kept to the
minute because history timestamps (`YYYY-MM-DD HH:MM`) have no seconds, so the search result's
`dateHeureEtatCourant` and the history entry of the same change compare equal.

Also here: the three timestamp forms Chorus Pro speaks, and lenient parsing of request dates.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "PARIS",
    "SimClock",
    "format_date",
    "format_history",
    "format_iso",
    "parse_request_date",
    "parse_request_datetime",
    "to_paris",
]

PARIS = ZoneInfo("Europe/Paris")

#: A bare date as a start means the start of a working day.
_DEFAULT_START_TIME = time(9, 0)

_DATETIME_FORM = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def to_paris(value: datetime | date) -> datetime:
    """Aware datetime in Europe/Paris, truncated to the minute; naive values are Paris time."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, _DEFAULT_START_TIME)
    aware = value.replace(tzinfo=PARIS) if value.tzinfo is None else value.astimezone(PARIS)
    return aware.replace(second=0, microsecond=0)


class SimClock:
    """Not thread-safe by itself: the store's lock guards it with everything else."""

    def __init__(self, start: datetime) -> None:
        self._now = to_paris(start)

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.date()

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the simulated clock never goes back")
        self._now = to_paris(self._now + delta)
        return self._now

    def set(self, moment: datetime) -> datetime:
        target = to_paris(moment)
        if target < self._now:
            raise ValueError("the simulated clock never goes back")
        self._now = target
        return self._now


def format_date(value: date) -> str:
    return value.isoformat()


def format_iso(value: datetime) -> str:
    """`2026-09-14T22:57:00+02:00`, as in search results and flux reports."""
    return value.astimezone(PARIS).isoformat(timespec="seconds")


def format_history(value: datetime) -> str:
    """`2026-09-14 22:57`, as in `histoStatutDatePassage`."""
    return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")


def parse_request_datetime(text: str, *, end_of_day: bool = False) -> datetime:
    """Accepts 'YYYY-MM-DD', ISO with or without seconds/offset, and 'YYYY-MM-DD HH:MM'.

    A bare date used as an upper bound covers the whole day, so `...Au: 2025-11-05` includes
    changes at 23:59 that day. Naive values are Paris time.
    """
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        if end_of_day:
            return datetime.combine(day, time(23, 59, 59, 999999), tzinfo=PARIS)
        return datetime.combine(day, time(), tzinfo=PARIS)
    if not _DATETIME_FORM.match(text):
        raise ValueError(f"unrecognised date-time {text!r}")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=PARIS) if parsed.tzinfo is None else parsed


def parse_request_date(text: str) -> date:
    """A request date; a date-time is accepted and reduced to its (Paris) date."""
    text = text.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return parse_request_datetime(text).astimezone(PARIS).date()
