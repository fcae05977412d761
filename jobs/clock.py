"""Clock jobs: fire one timer on its second (queued by `enqueue_at` after the commit that
wrote it), and sweep for every due timer that nobody fired (Redis flushed, a worker killed,
an enqueue that failed). A timer fired twice still acts once: the claim decides."""

from __future__ import annotations

import logging

from leadtrack.extensions import db
from leadtrack.queues import enqueue
from leadtrack.services import clock_steps
from leadtrack.timeutil import utcnow

log = logging.getLogger(__name__)

BATCH = 25
FIRE_BATCH_JOB = "jobs.clock.fire_batch"


def fire(timer_id: int) -> str | None:
    try:
        return clock_steps.fire(db.session, timer_id, utcnow())
    finally:
        db.session.remove()


def fire_batch(timer_ids: list[int]) -> int:
    """Fire each timer in its own transaction; one failing step does not hold up the rest
    (it is counted, retried by the next sweep, and shown on the System page)."""
    fired = 0
    try:
        for timer_id in timer_ids:
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
