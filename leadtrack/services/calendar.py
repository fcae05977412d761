"""Weekly hours (business hours, a user's working hours): validation and display."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from leadtrack.models.organization import WEEKDAYS, WeeklyHours
from leadtrack.services.errors import ValidationError

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_weekly_hours(rows: dict[int, tuple[str, str]], field_prefix: str = "day") -> WeeklyHours:
    """{weekday: (start, end)} with "" for a closed day -> validated WeeklyHours."""
    hours: WeeklyHours = {}
    errors: dict[str, str] = {}
    for day in range(7):
        start, end = (value.strip() for value in rows.get(day, ("", "")))
        if not start and not end:
            hours[str(day)] = []
            continue
        field = f"{field_prefix}_{day}"
        if not (_HHMM.match(start) and _HHMM.match(end)):
            errors[field] = f"{WEEKDAYS[day]}: give both times as HH:MM, or leave both empty."
        elif time.fromisoformat(start) >= time.fromisoformat(end):
            errors[field] = f"{WEEKDAYS[day]}: the day must end after it starts."
        else:
            hours[str(day)] = [[start, end]]
    if errors:
        raise ValidationError(errors)
    return hours


def first_interval(hours: WeeklyHours | None, day: int) -> tuple[str, str]:
    intervals = (hours or {}).get(str(day)) or []
    return (intervals[0][0], intervals[0][1]) if intervals else ("", "")


def describe(hours: WeeklyHours | None) -> list[tuple[str, str]]:
    """[(weekday name, "09:00–18:00" or "closed")] for display."""
    out = []
    for day, name in enumerate(WEEKDAYS):
        intervals = (hours or {}).get(str(day)) or []
        text = ", ".join(f"{a}–{b}" for a, b in intervals) or "closed"
        out.append((name, text))
    return out


def is_open(hours: WeeklyHours | None, moment: datetime, zone: ZoneInfo) -> bool:
    """Whether `moment` falls inside one of the day's intervals, in `zone`'s local time."""
    local = moment.astimezone(zone)
    clock = local.strftime("%H:%M")
    intervals = (hours or {}).get(str(local.weekday())) or []
    return any(start <= clock < end for start, end in intervals)
