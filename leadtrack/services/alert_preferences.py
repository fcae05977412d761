"""A user's own alert preferences: which channels for which event, quiet hours, the digest."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy.orm import Session

from leadtrack.models import AlertPreferences, ChannelName, User
from leadtrack.services import alert_events, outbox, recipients
from leadtrack.services.alert_events import AlertEvent
from leadtrack.services.errors import ValidationError

CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")
# The digest has its own on/off switch and goes by e-mail; the grid offers the other events.
GRID_EVENTS = tuple(key for key in alert_events.USER_EVENTS if key != "daily_digest")


@dataclass(frozen=True)
class PreferencesInput:
    channels: dict[str, list[str]] = field(default_factory=dict)  # event -> channels ticked
    quiet_from: str = ""
    quiet_until: str = ""
    digest_enabled: bool = False
    digest_hour: str | int = 8


@dataclass(frozen=True)
class GridRow:
    event: AlertEvent
    cells: dict[ChannelName, bool | None]  # ticked or not; None: not offered for this event


def offered_channels(event: AlertEvent, voice_enabled: bool) -> tuple[ChannelName, ...]:
    return tuple(
        channel
        for channel in alert_events.editable_channels(event)
        if channel != ChannelName.VOICE or voice_enabled
    )


def grid_channels(voice_enabled: bool) -> tuple[ChannelName, ...]:
    return tuple(c for c in alert_events.USER_CHANNELS if c != ChannelName.VOICE or voice_enabled)


def grid(session: Session, user: User, chosen: dict[str, list[str]] | None = None) -> list[GridRow]:
    """One row per event a user chooses for; `chosen` (a refused form) overrides the saved."""
    voice = voice_enabled(session, user)
    preferences = recipients.preferences_of(session, user)
    rows = []
    for key in GRID_EVENTS:
        event = alert_events.get(key)
        ticked = (
            set(chosen.get(key, []))
            if chosen is not None
            else set(recipients.channels_for(preferences, key))
        )
        offered = offered_channels(event, voice)
        cells = {c: (c in ticked if c in offered else None) for c in grid_channels(voice)}
        rows.append(GridRow(event, cells))
    return rows


def voice_enabled(session: Session, user: User) -> bool:
    return bool(user.org_id and outbox.settings_of(session, user.org_id).voice_enabled)


def save_preferences(
    session: Session, user: User, data: PreferencesInput, now: datetime
) -> AlertPreferences:
    """Check and store; raises ValidationError (per field) and stores nothing."""
    errors: dict[str, str] = {}
    previous = recipients.preferences_of(session, user)
    channels = _channels(data.channels, previous, voice_enabled(session, user), errors)
    quiet_from = _clock(data.quiet_from, "quiet_from", errors)
    quiet_until = _clock(data.quiet_until, "quiet_until", errors)
    _check_quiet_hours(quiet_from, quiet_until, errors)
    digest_hour = _hour(data.digest_hour, errors)
    if errors:
        raise ValidationError(errors)
    preferences = session.get(AlertPreferences, user.id)
    if preferences is None:
        preferences = AlertPreferences(user_id=user.id)
        session.add(preferences)
    preferences.channels = channels
    preferences.quiet_from, preferences.quiet_until = quiet_from, quiet_until
    preferences.digest_enabled = data.digest_enabled
    preferences.digest_hour = digest_hour
    preferences.updated_at = now
    return preferences


def _channels(
    ticked: dict[str, list[str]], previous: AlertPreferences, voice: bool, errors: dict
) -> dict[str, list[str]]:
    """Every event's channels, explicitly (none ticked means: do not tell me). A channel the
    page did not offer (phone calls while they are switched off) keeps its earlier choice."""
    unknown = set(ticked) - set(GRID_EVENTS)
    if unknown:
        errors["channels"] = f"Unknown alert: {', '.join(sorted(unknown))}."
        return {}
    chosen = dict(previous.channels or {})
    for key in GRID_EVENTS:
        event = alert_events.get(key)
        offered = offered_channels(event, voice)
        wanted = set(ticked.get(key, []))
        if wanted - set(offered):
            errors["channels"] = f"{event.label}: pick from the channels shown."
            continue
        kept = {c for c in recipients.channels_for(previous, key) if c not in offered}
        kept &= set(alert_events.editable_channels(event))
        chosen[key] = [str(c) for c in alert_events.USER_CHANNELS if c in wanted | kept]
    return chosen


def _clock(raw: str, name: str, errors: dict) -> time | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    match = CLOCK.match(raw)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    errors[name] = "Write a time such as 21:30."
    return None


def _check_quiet_hours(start: time | None, end: time | None, errors: dict) -> None:
    if "quiet_from" in errors or "quiet_until" in errors:
        return
    if (start is None) != (end is None):
        missing = "quiet_until" if end is None else "quiet_from"
        errors[missing] = "Give both times, or leave both empty for no quiet hours."
    elif start is not None and start == end:
        errors["quiet_until"] = "The quiet hours would end as they start: pick another time."


def _hour(raw: str | int, errors: dict) -> int:
    try:
        hour = int(str(raw).strip())
    except ValueError:
        hour = -1
    if not 0 <= hour <= 23:
        errors["digest_hour"] = "Pick an hour from 0 to 23."
        return 8
    return hour
