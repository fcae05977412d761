"""Time is UTC and timezone-aware everywhere; display converts to the viewer's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetime; naive values are taken to be UTC (SQLite drops the offset)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_zone(value: datetime | None, zone: str) -> datetime | None:
    if value is None:
        return None
    return as_utc(value).astimezone(ZoneInfo(zone))


def is_valid_timezone(name: str) -> bool:
    return name in _timezones()


_TIMEZONES: frozenset[str] | None = None


def _timezones() -> frozenset[str]:
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(available_timezones())
    return _TIMEZONES


def timezone_choices() -> list[str]:
    return sorted(_timezones())


def describe_duration(seconds: float) -> str:
    """A span in words a manager reads at a glance: "45 s", "5 min", "1 h 30 min", "2 days"."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {secs} s" if secs else "")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
