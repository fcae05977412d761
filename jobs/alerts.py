"""Alert delivery jobs: deliver a batch of outbox rows; sweep for rows nobody queued (Redis
was away, a retry fell due, quiet hours ended, a worker died mid-delivery)."""

from __future__ import annotations

from leadtrack.extensions import db
from leadtrack.queues import enqueue
from leadtrack.services import delivery, outbox, reminders
from leadtrack.timeutil import utcnow


def deliver(notification_ids: list[int]) -> dict[str, int]:
    outcomes = delivery.deliver(db.session, notification_ids)
    db.session.remove()
    counts: dict[str, int] = {}
    for status in outcomes.values():
        counts[status.value] = counts.get(status.value, 0) + 1
    return counts


def sweep() -> int:
    """Queue every due row; a row queued twice is still sent once (the claim decides)."""
    ids = delivery.due_ids(db.session, utcnow())
    db.session.remove()
    for start in range(0, len(ids), outbox.BATCH):
        enqueue(outbox.DELIVER_JOB, ids[start : start + outbox.BATCH])
    return len(ids)


def follow_up_reminders() -> int:
    written = reminders.follow_ups_due(db.session, utcnow())
    db.session.commit()
    db.session.remove()
    return written


def daily_digests() -> int:
    written = reminders.digests_due(db.session, utcnow())
    db.session.commit()
    db.session.remove()
    return written
