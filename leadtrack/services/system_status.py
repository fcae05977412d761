"""The System page's figures: the queues, the processes behind them, the clock's timers and
the alert outbox, and the two repairs an admin can make (retry a failed job, retry a failed
timer).

Redis figures (queues, workers, schedulers, failed jobs) are the installation's; database
figures (timers, outbox) are scoped: `org_id=None` is every organization (the super admin),
a number is one organization (its admins). Nothing here writes, except the two retries.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.cron import CronScheduler
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.results import Result
from rq.scheduler import RQScheduler
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from leadtrack.models import (
    DeliveryStatus,
    Notification,
    Organization,
    Timer,
    TimerKind,
    TimerState,
)
from leadtrack.queues import HEARTBEAT_KEY, QUEUE_NAMES
from leadtrack.redis_conn import get_redis
from leadtrack.services import timer_queue
from leadtrack.services.errors import NotFound, ValidationError
from leadtrack.timeutil import as_utc

FAILED_LIST_LIMIT = 50  # rows of failed timers and failed jobs shown; the totals say the rest
JOB_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

KIND_LABELS = {
    TimerKind.WARNING: "Warnings",
    TimerKind.ESCALATION: "Escalations",
    TimerKind.AGING: "Aging",
    TimerKind.RECLAIM: "Reclaim",
    TimerKind.AUTO_CLOSE: "Auto-close",
    TimerKind.TASK: "Tasks",
}
KIND_LABEL_ONE = {
    TimerKind.WARNING: "warning",
    TimerKind.ESCALATION: "escalation",
    TimerKind.AGING: "aging",
    TimerKind.RECLAIM: "reclaim",
    TimerKind.AUTO_CLOSE: "auto-close",
    TimerKind.TASK: "task",
}


# -- what the page shows --------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFigures:
    name: str
    queued: int  # waiting for a worker
    scheduled: int  # enqueue_at jobs waiting for their time (RQ's ScheduledJobRegistry)
    scheduled_late: int  # of those, past their time: nobody moves them (no worker scheduler)
    started: int  # being run now
    failed: int  # in the failed-job registry


@dataclass(frozen=True)
class WorkerFigures:
    name: str
    hostname: str
    pid: int | None
    state: str  # idle, busy, started, suspended…
    queues: list[str]
    current_job: str | None
    last_heartbeat: datetime | None
    born_at: datetime | None
    successful: int
    failed: int


@dataclass(frozen=True)
class CronFigures:
    name: str
    hostname: str
    pid: int
    started_at: datetime | None
    last_heartbeat: datetime | None


@dataclass(frozen=True)
class Health:
    """The installation's processes and queues, read from Redis."""

    queues: list[QueueFigures]
    workers: list[WorkerFigures]
    cron_schedulers: list[CronFigures]
    heartbeat_job_at: datetime | None  # when a worker last ran jobs.system.heartbeat
    # Per queue, which worker's scheduler moves its enqueue_at jobs (None: nobody).
    scheduler_holders: dict[str, str | None]

    @property
    def queued(self) -> int:
        return sum(q.queued for q in self.queues)

    @property
    def failed(self) -> int:
        return sum(q.failed for q in self.queues)


@dataclass(frozen=True)
class FailedTimer:
    id: int
    org_id: int
    org_name: str
    lead_id: int
    kind: str
    step: int
    attempts: int
    outcome: str
    fire_at: datetime
    fired_at: datetime | None

    @property
    def kind_label(self) -> str:
        """ "warning 1", "escalation (tier 2)", "aging"…: steps counted as people do."""
        label = KIND_LABEL_ONE.get(TimerKind(self.kind), self.kind)
        if self.kind == TimerKind.WARNING:
            return f"{label} {self.step + 1}"
        if self.kind == TimerKind.ESCALATION:
            return f"{label} (tier {self.step + 2})"
        return label


@dataclass(frozen=True)
class TimerFigures:
    pending_by_kind: dict[str, int]  # every kind, in TimerKind order, zeros included
    due_now: int  # pending and at or past their time
    oldest_due_at: datetime | None
    lag_seconds: float | None  # now - oldest_due_at; None when nothing is due
    lag_alarm_seconds: float  # a lag above this is late (sweep interval + 5 s)
    failed_total: int
    failed: list[FailedTimer]

    @property
    def pending(self) -> int:
        return sum(self.pending_by_kind.values())

    @property
    def late(self) -> bool:
        return self.lag_seconds is not None and self.lag_seconds > self.lag_alarm_seconds


@dataclass(frozen=True)
class OutboxFigures:
    due: int  # pending or retrying, at or past next_attempt_at: a worker should take them
    waiting: int  # pending or retrying, not yet due (quiet hours, back-off)
    sending: int
    retrying: int
    dead: int
    oldest_due_at: datetime | None
    lag_seconds: float | None


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    func_name: str
    description: str
    enqueued_at: datetime | None
    ended_at: datetime | None
    error: str  # the last line of the exception


@dataclass
class SystemStatus:
    now: datetime
    org_id: int | None  # None: every organization
    health: Health | None  # None: Redis did not answer
    redis_error: str
    timers: TimerFigures
    outbox: OutboxFigures
    failed_jobs: list[FailedJob] | None = None  # None: not shown to this viewer
    failed_jobs_total: int = 0
    notes: list[str] = field(default_factory=list)


def gather(
    session: Session,
    now: datetime,
    *,
    org_id: int | None,
    include_jobs: bool,
    redis: Redis | None = None,
) -> SystemStatus:
    """Every figure of the page. `include_jobs` lists the failed RQ jobs (super admin)."""
    sweep = current_app.config.get("CLOCK_SWEEP_SECONDS", 10)
    status = SystemStatus(
        now=now,
        org_id=org_id,
        health=None,
        redis_error="",
        timers=timer_figures(session, now, org_id, lag_alarm_seconds=sweep + 5),
        outbox=outbox_figures(session, now, org_id),
    )
    try:
        connection = redis or get_redis()
        status.health = health(connection)
        if include_jobs:
            status.failed_jobs = failed_jobs(connection)
            status.failed_jobs_total = status.health.failed
    except RedisError as exc:
        status.redis_error = f"{type(exc).__name__}: {exc}"
    return status


# -- Redis: queues and processes ------------------------------------------------------------


def health(connection: Redis) -> Health:
    return Health(
        queues=[queue_figures(Queue(name, connection=connection)) for name in QUEUE_NAMES],
        workers=sorted(
            (_worker(w) for w in Worker.all(connection=connection)), key=lambda w: w.name
        ),
        cron_schedulers=sorted(
            (_cron(s) for s in CronScheduler.all(connection=connection)), key=lambda s: s.name
        ),
        heartbeat_job_at=_heartbeat_job_at(connection),
        scheduler_holders={name: _scheduler_holder(connection, name) for name in QUEUE_NAMES},
    )


def queue_figures(queue: Queue) -> QueueFigures:
    scheduled = queue.scheduled_job_registry
    return QueueFigures(
        name=queue.name,
        queued=queue.count,
        scheduled=scheduled.get_job_count(cleanup=False),
        scheduled_late=queue.connection.zcount(scheduled.key, 0, time.time() - 5),
        # Read only: cleaning up the started registry (abandoned jobs) is the workers' job.
        started=queue.started_job_registry.get_job_count(cleanup=False),
        failed=queue.failed_job_registry.count,
    )


def _worker(worker: Worker) -> WorkerFigures:
    return WorkerFigures(
        name=worker.name,
        hostname=worker.hostname or "",
        pid=worker.pid,
        state=str(worker.get_state() or "?"),
        queues=worker.queue_names(),
        current_job=worker.get_current_job_id(),
        last_heartbeat=as_utc(worker.last_heartbeat),
        born_at=as_utc(worker.birth_date),
        successful=worker.successful_job_count,
        failed=worker.failed_job_count,
    )


def _cron(scheduler: CronScheduler) -> CronFigures:
    return CronFigures(
        name=scheduler.name,
        hostname=scheduler.hostname,
        pid=scheduler.pid,
        started_at=as_utc(scheduler.created_at),
        last_heartbeat=scheduler.last_heartbeat,
    )


def _heartbeat_job_at(connection: Redis) -> datetime | None:
    raw = connection.get(HEARTBEAT_KEY)
    return as_utc(datetime.fromisoformat(raw.decode())) if raw else None


def _scheduler_holder(connection: Redis, queue_name: str) -> str | None:
    raw = connection.get(RQScheduler.get_locking_key(queue_name))
    return raw.decode() if isinstance(raw, bytes) else raw


def failed_jobs(connection: Redis, limit: int = FAILED_LIST_LIMIT) -> list[FailedJob]:
    """The newest failed jobs first, across the queues."""
    listed: list[tuple[float, FailedJob]] = []
    for name in QUEUE_NAMES:
        registry = Queue(name, connection=connection).failed_job_registry
        ids = registry.get_job_ids(0, limit - 1, desc=True)
        for job in Job.fetch_many(ids, connection=connection):
            if job is None:  # its data expired before its registry entry
                continue
            failed = _failed_job(job, name)
            moment = failed.ended_at or failed.enqueued_at
            listed.append((moment.timestamp() if moment else 0.0, failed))
    listed.sort(key=lambda pair: pair[0], reverse=True)
    return [failed for _, failed in listed[:limit]]


def _failed_job(job: Job, queue_name: str) -> FailedJob:
    error = ""
    result = job.latest_result()
    if result is not None and result.type == Result.Type.FAILED and result.exc_string:
        lines = [line for line in result.exc_string.strip().splitlines() if line.strip()]
        error = lines[-1].strip() if lines else ""
    return FailedJob(
        id=job.id,
        queue=queue_name,
        func_name=job.func_name or "?",
        description=(job.description or "")[:300],
        enqueued_at=as_utc(job.enqueued_at),
        ended_at=as_utc(job.ended_at) or (as_utc(result.created_at) if result else None),
        error=error[:500],
    )


def retry_failed_job(job_id: str, connection: Redis | None = None) -> FailedJob:
    """Put a failed job back on its queue. NotFound: no such job. ValidationError: the job
    exists but is no longer failed (retried already, or running)."""
    if not JOB_ID.match(job_id):
        raise NotFound("job")
    try:
        return _requeue(job_id, connection or get_redis())
    except RedisError:
        raise ValidationError(
            {"job": "Redis does not answer: try again when it is back."}
        ) from None


def _requeue(job_id: str, connection: Redis) -> FailedJob:
    for name in QUEUE_NAMES:
        registry = Queue(name, connection=connection).failed_job_registry
        if job_id not in registry:
            continue
        try:
            job = registry.requeue(job_id)
        except NoSuchJobError:
            registry.remove(job_id)  # an entry whose job data is gone: nothing to run
            raise NotFound("job") from None
        except InvalidJobOperation:  # another admin requeued it a moment ago
            break
        return _failed_job(job, name)
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        raise NotFound("job") from None
    state = job.get_status()
    state = getattr(state, "value", state) or "gone"
    raise ValidationError({"job": f"This job is no longer failed (it is {state})."})


# -- the database: timers and the outbox ----------------------------------------------------


def _scoped(stmt, column, org_id: int | None):
    return stmt if org_id is None else stmt.where(column == org_id)


def timer_figures(
    session: Session, now: datetime, org_id: int | None, *, lag_alarm_seconds: float = 15
) -> TimerFigures:
    by_kind = dict(
        session.execute(
            _scoped(
                select(Timer.kind, func.count())
                .where(Timer.state == TimerState.PENDING)
                .group_by(Timer.kind),
                Timer.org_id,
                org_id,
            )
        ).all()
    )
    due_now, oldest = session.execute(
        _scoped(
            select(func.count(), func.min(Timer.fire_at)).where(
                Timer.state == TimerState.PENDING, Timer.fire_at <= now
            ),
            Timer.org_id,
            org_id,
        )
    ).one()
    oldest = as_utc(oldest)
    failed_total = session.scalar(
        _scoped(
            select(func.count()).select_from(Timer).where(Timer.state == TimerState.FAILED),
            Timer.org_id,
            org_id,
        )
    )
    return TimerFigures(
        pending_by_kind={kind.value: by_kind.get(kind.value, 0) for kind in TimerKind},
        due_now=due_now,
        oldest_due_at=oldest,
        lag_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else None,
        lag_alarm_seconds=lag_alarm_seconds,
        failed_total=failed_total or 0,
        failed=failed_timers(session, org_id),
    )


def failed_timers(
    session: Session, org_id: int | None, limit: int = FAILED_LIST_LIMIT
) -> list[FailedTimer]:
    rows = session.execute(
        _scoped(
            select(Timer, Organization.name)
            .join(Organization, Organization.id == Timer.org_id)
            .where(Timer.state == TimerState.FAILED)
            .order_by(Timer.fired_at.desc(), Timer.id.desc())
            .limit(limit),
            Timer.org_id,
            org_id,
        )
    ).all()
    return [_failed_timer(timer, org_name) for timer, org_name in rows]


def _failed_timer(timer: Timer, org_name: str) -> FailedTimer:
    return FailedTimer(
        id=timer.id,
        org_id=timer.org_id,
        org_name=org_name,
        lead_id=timer.lead_id,
        kind=str(timer.kind),
        step=timer.step,
        attempts=timer.attempts,
        outcome=timer.outcome,
        fire_at=timer.fire_at,
        fired_at=timer.fired_at,
    )


def retry_failed_timer(
    session: Session, timer_id: int, now: datetime, org_id: int | None = None
) -> Timer:
    """Set a failed timer back to pending, due now, with its attempts reset: the next sweep
    fires it (and it is handed to RQ after the commit, so a worker may fire it sooner).
    NotFound: no such timer in `org_id`. ValidationError: it is not failed (any more).
    The caller commits."""
    timer = session.scalar(_scoped(select(Timer).where(Timer.id == timer_id), Timer.org_id, org_id))
    if timer is None:
        raise NotFound("timer")
    changed = session.execute(
        update(Timer)
        .where(Timer.id == timer_id, Timer.state == TimerState.FAILED)
        .values(
            state=TimerState.PENDING,
            attempts=0,
            fire_at=now,
            outcome=f"retried after: {timer.outcome}"[:300] if timer.outcome else "",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(timer)
    if not changed:
        raise ValidationError({"timer": f"This timer is no longer failed (it is {timer.state})."})
    timer_queue.schedule_after_commit(session, timer, now)
    return timer


def outbox_figures(session: Session, now: datetime, org_id: int | None) -> OutboxFigures:
    waiting_states = (DeliveryStatus.PENDING.value, DeliveryStatus.RETRYING.value)
    counts = dict(
        session.execute(
            _scoped(
                select(Notification.status, func.count())
                .where(
                    Notification.status.in_(
                        [*waiting_states, DeliveryStatus.SENDING.value, DeliveryStatus.DEAD.value]
                    )
                )
                .group_by(Notification.status),
                Notification.org_id,
                org_id,
            )
        ).all()
    )
    due, oldest = session.execute(
        _scoped(
            select(func.count(), func.min(Notification.next_attempt_at)).where(
                Notification.status.in_(waiting_states), Notification.next_attempt_at <= now
            ),
            Notification.org_id,
            org_id,
        )
    ).one()
    oldest = as_utc(oldest)
    waiting_total = sum(counts.get(state, 0) for state in waiting_states)
    return OutboxFigures(
        due=due,
        waiting=waiting_total - due,
        sending=counts.get(DeliveryStatus.SENDING.value, 0),
        retrying=counts.get(DeliveryStatus.RETRYING.value, 0),
        dead=counts.get(DeliveryStatus.DEAD.value, 0),
        oldest_due_at=oldest,
        lag_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else None,
    )
