"""Who hears about an event and when: the person, or their backup when they are away;
the channels they chose; the end of their quiet hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from leadtrack.models import AlertPreferences, ChannelName, User
from leadtrack.services import alert_events
from leadtrack.services.users import is_out_of_office

MAX_HOPS = 5


def available(user: User, now: datetime) -> bool:
    return user.is_active_user and not is_out_of_office(user, now)


def stand_in_for(user: User, now: datetime) -> User | None:
    """The user if they can act now, else the first available person along their backup
    chain (each person's backup, else their supervisor); None when the chain runs dry."""
    seen: set[int] = set()
    candidate: User | None = user
    while candidate is not None and candidate.id not in seen and len(seen) < MAX_HOPS:
        if available(candidate, now):
            return candidate
        seen.add(candidate.id)
        candidate = candidate.backup or candidate.effective_supervisor
    return None


def preferences_of(session: Session, user: User) -> AlertPreferences:
    """The user's saved preferences, or the defaults (not added to the session)."""
    saved = session.get(AlertPreferences, user.id)
    if saved is not None:
        return saved
    return AlertPreferences(user_id=user.id, channels={}, digest_enabled=False, digest_hour=8)


def channels_for(preferences: AlertPreferences, event_key: str) -> tuple[ChannelName, ...]:
    chosen = (preferences.channels or {}).get(event_key)
    if chosen is None:
        return alert_events.get(event_key).default_channels
    return tuple(ChannelName(c) for c in chosen if c in ChannelName.__members__.values())


def zone_of(user: User) -> ZoneInfo:
    return ZoneInfo(user.effective_timezone)


def quiet_until(preferences: AlertPreferences, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When the user's quiet hours end, if `now` falls inside them (else None)."""
    start, end = preferences.quiet_from, preferences.quiet_until
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # the quiet hours wrap midnight, e.g. 21:00-07:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return _at(end_day, end, zone).astimezone(now.tzinfo)


def _at(day, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)
