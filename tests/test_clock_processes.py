"""The clock engine with its real processes: `leadtrack worker` (RQ, forking a work horse per
job, with RQ's scheduler for `enqueue_at`) and `leadtrack scheduler` (the cron sweep, every
2 s here), on the real Redis and the real database, with mail to the SMTP server on loopback.

- End to end: an unanswered lead is escalated to tier 2 on its 2-second deadline and the
  backup gets the e-mail; a lead answered after 1 second is not escalated.
- Faults: Redis flushed after 100 leads were taken in (every `enqueue_at` lost) → the sweep
  escalates each one, exactly once, within the sweep interval plus 3 s of its deadline; two
  workers, the sweep and a pile of duplicate jobs racing → each lead escalated once; a worker
  SIGKILLed in the middle of a step → the step is rolled back and happens once, later.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from rq import Queue, Worker
from rq.cron import CronScheduler
from rq.job import Job
from sqlalchemy import text
from sqlalchemy.orm import Session

from leadtrack.extensions import db
from leadtrack.models import ChannelName, Lead, Notification, TimerState, User
from leadtrack.redis_conn import get_redis
from leadtrack.services import leads, outbox
from leadtrack.services.history import Actor
from leadtrack.timeutil import as_utc, utcnow
from tests.support.clock import (
    SWEEP_SECONDS,
    Processes,
    assignees,
    escalated_count,
    escalation_alerts,
    escalations,
    make_leads,
    process_env,
    response_rule,
    set_backup,
    step_zero,
    timers,
    wait_until,
    work_horses,
)
from tests.support.smtp import text_part


@pytest.fixture
def processes(app, tmp_path):
    running = Processes(process_env(app), tmp_path)
    yield running
    running.stop_all()


@pytest.fixture
def backed_up(app, tenant):
    """The agent's backup is the other agent: tier 2 of the ladder."""
    set_backup(app, tenant.agent.id, tenant.other_agent.id)
    return tenant


def _ready(app, processes: Processes, workers: int) -> None:
    """Wait for the workers and the cron scheduler to register with Redis."""
    redis = get_redis(app)

    def up() -> bool:
        return len(Worker.all(connection=redis)) >= workers and bool(
            CronScheduler.all(connection=redis)
        )

    assert wait_until(up, 60), "the processes did not start:\n" + processes.output()


def _exactly_once(app, processes: Processes, lead_ids: list[int], backup_id: int) -> None:
    """Each lead: one `escalated` line in its history, one step-0 timer and it is done after
    one claim, one escalation alert, and it is with the backup at tier 2."""
    log = processes.output()
    per_lead = Counter(e.lead_id for e in escalations(app, lead_ids))
    twice = {lead_id: n for lead_id, n in per_lead.items() if n != 1}
    assert not twice, f"escalated more than once: {twice}\n{log}"
    assert set(per_lead) == set(lead_ids), log
    for lead_id, rows in step_zero(app, lead_ids).items():
        assert [(r.state, r.attempts) for r in rows] == [(TimerState.DONE, 1)], (lead_id, rows)
    assert escalation_alerts(app, lead_ids) == Counter(dict.fromkeys(lead_ids, 1))
    assert set(assignees(app, lead_ids).values()) == {(backup_id, 2)}


def _mail_to(smtp_sink, address: str):
    return next((m for m in list(smtp_sink.messages) if m["To"] == address), None)


# -- end to end -------------------------------------------------------------------------------


def test_an_unanswered_lead_is_escalated_and_an_answered_one_is_not(
    app, backed_up, processes, smtp_sink
):
    tenant = backed_up
    response_rule(app, tenant.org.id, within=2, channels=["email"])
    processes.start("worker")
    processes.start("scheduler")
    _ready(app, processes, workers=1)

    silent, answered = make_leads(
        app, tenant.org.id, tenant.agent.id, ["Nora Noreply", "Andy Answered"]
    )
    deadline = {t.lead_id: t.fire_at for t in timers(app, [silent, answered])}
    time.sleep(max(0.0, (deadline[answered] - timedelta(seconds=1) - utcnow()).total_seconds()))
    with app.app_context():  # about a second in: the assignee logs a call
        lead = db.session.get(Lead, answered)
        agent = db.session.get(User, tenant.agent.id)
        leads.add_activity(
            db.session, lead, Actor(tenant.org.id, user=agent), utcnow(), kind="call"
        )
        db.session.commit()
        db.session.remove()
    assert utcnow() < deadline[answered], (
        "the call came after the deadline; the machine is too slow"
    )

    mail = wait_until(lambda: _mail_to(smtp_sink, tenant.other_agent.email), 30)
    assert mail, "no escalation e-mail:\n" + processes.output()
    assert "Nora Noreply" in mail["Subject"]
    assert "it comes to you as the backup" in text_part(mail)
    [escalation] = escalations(app, [silent])
    assert escalation.text.startswith(f"No response from {tenant.agent.name} within 2")
    assert f"reassigned to {tenant.other_agent.name}" in escalation.text
    assert escalation.text.endswith("alerted by E-mail")
    assert assignees(app, [silent])[silent] == (tenant.other_agent.id, 2)

    # Past the answered lead's deadline and another sweep: still nothing for it.
    time.sleep(SWEEP_SECONDS + 1)
    assert escalations(app, [answered]) == []
    assert {t.state for t in timers(app, [answered])} == {TimerState.CANCELLED}
    assert assignees(app, [answered])[answered] == (tenant.agent.id, 1)
    to_backup = [m for m in smtp_sink.messages if m["To"] == tenant.other_agent.email]
    assert len(to_backup) == 1
    assert all("Andy Answered" not in m["Subject"] for m in to_backup)


def test_without_the_sweep_timers_fire_from_rq_on_their_moment(app, backed_up, processes):
    """Only a worker (with RQ's scheduler), no `leadtrack scheduler`: each timer fires from
    the job queued after its commit — one job for the timers of one second, released at the
    start of that second, waiting for each timer's own moment, never firing one early."""
    tenant = backed_up
    response_rule(app, tenant.org.id, within=2, channels=["in_app"])
    processes.start("worker")
    assert wait_until(lambda: len(Worker.all(connection=get_redis(app))) >= 1, 60)
    lead_ids = make_leads(app, tenant.org.id, tenant.agent.id, [f"Lead {n}" for n in range(5)])
    assert wait_until(lambda: escalated_count(app, lead_ids) == 5, 30), processes.output()
    for timer in timers(app, lead_ids):
        assert as_utc(timer.fired_at) >= as_utc(timer.fire_at), "fired before its moment"
    queue = _queue(app)
    finished = Job.fetch_many(
        queue.finished_job_registry.get_job_ids(), connection=queue.connection
    )
    fire_jobs = [j for j in finished if j and j.func_name == "jobs.clock.fire_on_time"]
    # Five timers of one commit: one job per second they fall in, not one each.
    assert 1 <= len(fire_jobs) <= 2
    assert sum(len(j.args[0]) for j in fire_jobs) == 5


# -- faults -----------------------------------------------------------------------------------


def _queue(app) -> Queue:
    return Queue("default", connection=get_redis(app))


def _drained(app) -> bool:
    """No job waiting, scheduled or running (the cron scheduler adds its sweeps again)."""
    queue = _queue(app)
    return (
        queue.count == 0
        and queue.scheduled_job_registry.count == 0
        and queue.started_job_registry.count == 0
    )


def _deadlines(app, lead_ids: list[int]) -> dict[int, datetime]:
    found = {}
    for lead_id, rows in step_zero(app, lead_ids).items():
        [row] = rows
        found[lead_id] = row.fire_at
    return found


def test_redis_flushed_after_intake_every_lead_still_escalates_once(app, backed_up, processes):
    tenant = backed_up
    response_rule(app, tenant.org.id, within=3, channels=["in_app"])
    processes.start("worker")
    processes.start("worker")
    processes.start("scheduler")
    _ready(app, processes, workers=2)

    names = [f"Flushed Lead {n}" for n in range(100)]
    lead_ids = make_leads(app, tenant.org.id, tenant.agent.id, names, by_assignee=True)
    committed = utcnow()
    get_redis(app).flushdb()  # every enqueue_at is gone, and the workers' registrations too
    assert escalated_count(app, lead_ids) == 0
    # A timer is due at its deadline, or — on a slow machine that took longer than 3 s to
    # write the 100 leads — when the transaction that wrote it committed.
    deadlines = {n: max(at, committed) for n, at in _deadlines(app, lead_ids).items()}

    last = max(deadlines.values()) + timedelta(seconds=SWEEP_SECONDS + 3)
    patience = (last - utcnow()).total_seconds() + 60
    done = wait_until(lambda: escalated_count(app, lead_ids) == len(lead_ids), patience, 0.25)
    assert done, f"{escalated_count(app, lead_ids)} of 100 escalated\n" + processes.output()
    assert wait_until(lambda: _drained(app), 60), processes.output()

    _exactly_once(app, processes, lead_ids, tenant.other_agent.id)
    late = {e.lead_id: e.at - deadlines[e.lead_id] for e in escalations(app, lead_ids)}
    worst = max(late.values())
    spread = sorted(round(v.total_seconds(), 2) for v in late.values())[::10]
    assert worst <= timedelta(seconds=SWEEP_SECONDS + 3), f"late by (every 10th) {spread}"
    assert min(late.values()) >= timedelta(0)


def test_two_workers_the_sweep_and_duplicate_jobs_escalate_each_lead_once(
    app, backed_up, processes
):
    tenant = backed_up
    response_rule(app, tenant.org.id, within=3, channels=["in_app"])
    processes.start("scheduler")
    names = [f"Raced Lead {n}" for n in range(50)]
    lead_ids = make_leads(app, tenant.org.id, tenant.agent.id, names, by_assignee=True)
    deadlines = _deadlines(app, lead_ids)
    timer_ids = [rows[0].id for rows in step_zero(app, lead_ids).values()]

    # Besides each timer's own enqueue_at job: two more fire jobs per timer, side by side so
    # that the two workers take the same timer at once, both orders of one batch of all, and
    # sweeps of our own — all waiting when the workers start, after the deadlines.
    queue = _queue(app)
    for timer_id in timer_ids:
        queue.enqueue("jobs.clock.fire", timer_id)
        queue.enqueue("jobs.clock.fire", timer_id)
    queue.enqueue("jobs.clock.fire_batch", timer_ids)
    queue.enqueue("jobs.clock.fire_batch", timer_ids[::-1])
    queue.enqueue("jobs.clock.sweep")
    queue.enqueue("jobs.clock.sweep")
    wait_until(lambda: utcnow() > max(deadlines.values()), 30)
    processes.start("worker")
    processes.start("worker")
    _ready(app, processes, workers=2)

    done = wait_until(lambda: escalated_count(app, lead_ids) == len(lead_ids), 60, 0.25)
    assert done, f"{escalated_count(app, lead_ids)} of 50 escalated\n" + processes.output()
    assert wait_until(lambda: _drained(app), 60), processes.output()
    _exactly_once(app, processes, lead_ids, tenant.other_agent.id)


def _blocked_in_the_outbox(app) -> bool:
    """PostgreSQL: a session waits for a lock while inserting an alert."""
    with db.engine.connect() as conn:
        waiting = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO notification%'"
            )
        )
    return waiting > 0


def _stuck_firing(app, worker_pid: int) -> bool:
    """SQLite: the worker's horse has been firing a timer for over a second — a step that
    takes milliseconds, unless it waits for the write lock (busy timeout: 10 s). A fire job
    that came a little early finds the timer not due and ends at once, without writing."""
    [worker] = Worker.all(connection=get_redis(app))
    job = worker.get_current_job()
    return bool(
        job
        and job.func_name.startswith("jobs.clock.fire")
        and job.started_at
        and utcnow() - as_utc(job.started_at) > timedelta(seconds=1)
        and work_horses(worker_pid)
    )


def test_a_worker_killed_in_the_middle_of_a_step_the_step_happens_once(
    app, ctx, backed_up, processes
):
    """The step is held in the middle by a transaction of the test's that has written the
    alert the step is about to write (same dedupe key, not committed):
    - on PostgreSQL the step has claimed the timer, reassigned the lead and written its
      history, and waits on the unique index of the outbox;
    - on SQLite, one writer at a time, the step waits for the write lock at its claim.
    Then the worker and its work horse are SIGKILLed, the test's transaction rolls back,
    and the sweep and a new worker take over."""
    tenant = backed_up
    response_rule(app, tenant.org.id, within=3, channels=["in_app"])
    worker = processes.start("worker")
    processes.start("scheduler")
    _ready(app, processes, workers=1)
    [lead_id] = make_leads(app, tenant.org.id, tenant.agent.id, ["Kim Killed"], by_assignee=True)
    [timer] = step_zero(app, [lead_id])[lead_id]
    key = outbox.dedupe_key(
        "escalated_tier2",
        tenant.other_agent.id,
        lead_id,
        f"escalation-{timer.id}",
        ChannelName.IN_APP,
    )
    blocker = Session(db.engine)
    try:
        blocker.add(
            Notification(
                org_id=tenant.org.id,
                event="escalated_tier2",
                channel=ChannelName.IN_APP,
                dedupe_key=key,
                context={},
                next_attempt_at=utcnow(),
                created_at=utcnow(),
            )
        )
        blocker.flush()
        assert utcnow() < timer.fire_at, "the lock came after the deadline"
        if db.engine.dialect.name == "postgresql":
            held = wait_until(lambda: _blocked_in_the_outbox(app), 30)
        else:
            held = wait_until(lambda: _stuck_firing(app, worker.pid), 30)
        assert held, "the step did not start:\n" + processes.output()
        assert work_horses(worker.pid), "no work horse"

        killed = processes.sigkill(worker)
        assert killed
    finally:
        blocker.rollback()
        blocker.close()

    [after_kill] = step_zero(app, [lead_id])[lead_id]
    assert (after_kill.state, after_kill.attempts) == (TimerState.PENDING, 0)
    assert escalations(app, [lead_id]) == []
    assert assignees(app, [lead_id])[lead_id] == (tenant.agent.id, 1)

    processes.start("worker")
    done = wait_until(lambda: escalated_count(app, [lead_id]) == 1, 60, 0.25)
    assert done, processes.output()
    time.sleep(SWEEP_SECONDS + 1)  # another sweep: nothing fires again
    _exactly_once(app, processes, [lead_id], tenant.other_agent.id)
