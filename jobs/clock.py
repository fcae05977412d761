"""Clock jobs: fire one timer on its second (queued by `enqueue_at` after the commit that
wrote it), and sweep for every due timer that nobody fired (Redis flushed, a worker killed,
an enqueue that failed). A timer fired twice still acts once: the claim decides."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import Timer
from leadtrack.queues import enqueue
from leadtrack.services import clock_steps
from leadtrack.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

BATCH = 25
FIRE_BATCH_JOB = "jobs.clock.fire_batch"
# A fire_on_time job is due a second before its timers (services/timer_queue.py) and RQ
# releases it within a second of that: it waits for each timer, at most this long.
LONGEST_WAIT = 2.5


def fire(timer_id: int) -> str | None:
    try:
        return clock_steps.fire(db.session, timer_id, utcnow())
    finally:
        db.session.remove()


def fire_on_time(timer_ids: list[int]) -> int:
    """Fire one second's timers, each on its own moment (queued by `timer_queue`)."""
    return _fire_each(timer_ids, on_time=True)


def fire_batch(timer_ids: list[int]) -> int:
    """Fire each due timer (the sweep's batches)."""
    return _fire_each(timer_ids, on_time=False)


def _fire_each(timer_ids: list[int], on_time: bool) -> int:
    """Each timer in its own transaction; one failing step does not hold up the rest (it is
    counted, retried by the next sweep, and shown on the System page)."""
    fired = 0
    try:
        if on_time:
            due = dict(
                db.session.execute(
                    select(Timer.id, Timer.fire_at).where(Timer.id.in_(timer_ids))
                ).all()
            )
            db.session.rollback()
            timer_ids = sorted(due, key=lambda i: due[i])
        for timer_id in timer_ids:
            if on_time:
                wait = (as_utc(due[timer_id]) - utcnow()).total_seconds()
                if 0 < wait <= LONGEST_WAIT:
                    time.sleep(wait)
            try:
                fired += clock_steps.fire(db.session, timer_id, utcnow()) is not None
            except Exception:
                log.warning("timer %s failed; the sweep will retry it", timer_id)
    finally:
        db.session.remove()
    return fired


def sweep() -> int:
    """Queue every due timer in batches, so all workers share a backlog."""
    try:
        ids = clock_steps.due_ids(db.session, utcnow())
    finally:
        db.session.remove()
    for start in range(0, len(ids), BATCH):
        enqueue(FIRE_BATCH_JOB, ids[start : start + BATCH])
    return len(ids)
