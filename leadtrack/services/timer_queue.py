"""Precision for the clock: once the transaction that wrote a timer commits, the timer is
handed to RQ's scheduler (`enqueue_at`) so it fires on the second. If Redis is away at that
moment nothing is lost: the timer row is the truth and the sweep fires it late.

RQ schedules in whole seconds and its scheduler looks once a second, so a job due at
12:00:00 reaches a worker somewhere in 12:00:00–12:00:01. The timers of one commit are
grouped by the second they fall in, and each group's job is due one second early: it reaches
a worker before its timers and waits for each one's own moment (`jobs.clock.fire_on_time`).
A busy commit (an import, a bulk reassignment) queues a few jobs, not one per lead."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

SCHEDULED_KEY = "leadtrack.timers"  # session.info: timers to hand to RQ after commit
FIRE_JOB = "jobs.clock.fire_on_time"
EARLY = timedelta(seconds=1)  # RQ's scheduler may release a job up to a second late


def schedule_after_commit(session: Session, timer, fire_at: datetime) -> None:
    session.info.setdefault(SCHEDULED_KEY, []).append((timer, fire_at))


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending = session.info.pop(SCHEDULED_KEY, None)
    if not pending or not has_app_context() or current_app.config.get("RQ_SYNC"):
        return  # tests drive the clock with an explicit `now`, through the sweep
    from leadtrack.queues import get_queue

    try:
        queue = get_queue()
        with queue.connection.pipeline() as pipe:
            for second, ids in by_second(pending).items():
                queue.enqueue_at(second - EARLY, FIRE_JOB, ids, pipeline=pipe)
            pipe.execute()
    except Exception:
        log.warning("could not schedule %d timers; the sweep will fire them", len(pending))


def by_second(pending: list) -> dict[datetime, list[int]]:
    """Timer ids grouped by the whole second they fall due in, each group in time order."""
    groups: dict[datetime, list[tuple[datetime, int]]] = defaultdict(list)
    for timer, fire_at in pending:
        identity = inspect(timer).identity  # no reload of the expired row
        if identity is not None:
            moment = fire_at if fire_at.tzinfo else fire_at.replace(tzinfo=UTC)
            groups[moment.replace(microsecond=0)].append((moment, identity[0]))
    return {second: [i for _, i in sorted(group)] for second, group in groups.items()}


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(SCHEDULED_KEY, None)


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
