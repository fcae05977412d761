"""The notification outbox: an alert is a row written in the transaction of the change that
caused it; after that transaction commits, a delivery job is queued. If Redis is down at that
moment the row waits and the sweep (jobs/alerts.py) queues it later: an alert is never lost.

A dedupe key (event, recipient, lead, step, channel) makes every alert exactly one row,
however often the code that raises it runs."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask, has_app_context
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadtrack.models import (
    AlertSettings,
    ChannelName,
    DeliveryStatus,
    Lead,
    Notification,
    Organization,
    User,
)
from leadtrack.services import alert_context, alert_events, alert_templates, recipients

log = logging.getLogger(__name__)

QUEUED_KEY = "leadtrack.outbox"  # session.info: ids to queue once the transaction commits
DELIVER_JOB = "jobs.alerts.deliver"
BATCH = 50


def settings_of(session: Session, org_id: int) -> AlertSettings:
    saved = session.get(AlertSettings, org_id)
    if saved is not None:
        return saved
    return AlertSettings(org_id=org_id, hourly_caps={}, urgent_ignores_quiet_hours=True)


def each_time(now: datetime) -> str:
    """A step for events that may happen again and again (each assignment, each queueing):
    the moment itself, so each occurrence is its own alert and a replay is still one."""
    return now.strftime("%Y%m%dT%H%M%S.%f")


def dedupe_key(event_key: str, user_id: int | None, lead_id: int | None, step: str, channel) -> str:
    return f"{event_key}:{user_id or '-'}:{lead_id or '-'}:{step or '-'}:{channel}"


def notify(
    session: Session,
    org: Organization,
    event_key: str,
    user: User,
    now: datetime,
    *,
    lead: Lead | None = None,
    step: str = "",
    details: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    stand_in: bool = True,
    channels: tuple[str, ...] | None = None,
) -> list[Notification]:
    """Alert `user` (or, when they are away and `stand_in`, whoever stands in for them)
    about an event on each channel they chose — or on `channels`, when a rule names them.
    Returns the rows written now; an alert already written for the same key is not
    repeated."""
    event = alert_events.get(event_key)
    if stand_in:
        target = recipients.stand_in_for(user, now)
    else:
        target = user if recipients.available(user, now) else None
    if target is None:
        log.warning("no one available for %s alert to user %s", event_key, user.id)
        return []
    preferences = recipients.preferences_of(session, target)
    policy = settings_of(session, org.id)
    held_until = None
    if not (event.urgent and policy.urgent_ignores_quiet_hours):
        held_until = recipients.quiet_until(preferences, recipients.zone_of(target), now)
    written = []
    chosen = recipients.channels_for(preferences, event_key)
    if channels is not None:
        chosen = tuple(ChannelName(c) for c in channels)
    for channel in chosen:
        if channel == ChannelName.VOICE and not policy.voice_enabled:
            continue
        notification = Notification(
            org_id=org.id,
            event=event_key,
            channel=channel,
            recipient_id=target.id,
            recipient=target,
            intended_recipient_id=user.id if target.id != user.id else None,
            lead_id=lead.id if lead else None,
            lead=lead,
            address=_address(channel, target),
            dedupe_key=dedupe_key(event_key, user.id, lead.id if lead else None, step, channel),
            urgent=event.urgent,
            context={"details": details or {}, **(context or {})},
            next_attempt_at=held_until if channel != ChannelName.IN_APP and held_until else now,
            created_at=now,
        )
        if write_once(session, notification, now):
            written.append(notification)
    return written


def _address(channel: ChannelName, user: User) -> str:
    if channel == ChannelName.EMAIL:
        return user.email
    if channel in (ChannelName.SMS, ChannelName.VOICE):
        return user.phone or ""
    return ""


def write_once(session: Session, notification: Notification, now: datetime) -> bool:
    """Add the row unless its dedupe key exists; in-app alerts are delivered right here."""
    taken = select(Notification.id).where(
        Notification.org_id == notification.org_id,
        Notification.dedupe_key == notification.dedupe_key,
    )
    if session.scalar(taken) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(notification)
    except IntegrityError:  # a concurrent transaction wrote the same alert first
        return False
    if notification.channel == ChannelName.IN_APP:
        deliver_in_app(session, notification, now)
    elif notification.next_attempt_at <= now:
        queue_after_commit(session, notification.id)
    return True


def deliver_in_app(session: Session, notification: Notification, now: datetime) -> None:
    """The row is the in-app alert: render it and mark it sent; the notification centre
    shows it as soon as the transaction commits."""
    rendered = alert_templates.render(
        session,
        notification.org_id,
        notification.event,
        ChannelName.IN_APP,
        alert_context.build(session, notification),
    )
    notification.subject = rendered.subject[:300]
    notification.body = rendered.body
    notification.used_fallback = rendered.used_fallback
    notification.status = DeliveryStatus.SENT
    notification.sent_at = now


def queue_after_commit(session: Session, notification_id: int) -> None:
    session.info.setdefault(QUEUED_KEY, []).append(notification_id)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the rows are not committed yet
        return
    ids = session.info.pop(QUEUED_KEY, None)
    if not ids or not has_app_context():
        return
    from leadtrack.queues import enqueue

    try:
        for start in range(0, len(ids), BATCH):
            enqueue(DELIVER_JOB, ids[start : start + BATCH])
    except Exception:
        log.warning("could not queue %d alerts now; the sweep will", len(ids), exc_info=True)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(QUEUED_KEY, None)


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
