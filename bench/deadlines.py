"""Response deadlines under load: 10,000 leads whose deadlines fall in the same 60 seconds,
escalated by 2 real RQ workers and the clock sweep. Figures only, no pass/fail (exit 1 only
if the setup fails); the goal is an escalation lateness p99 <= 1.5 s, and every lead
escalated exactly once.

    .venv/bin/python bench/deadlines.py                   # 10,000 leads per scenario
    .venv/bin/python bench/deadlines.py --n 2000 --scenarios queued --simple-worker

What it does:
1. creates the scratch database `leadtrack_bench_deadlines_<pid>` on 127.0.0.1:5432 and runs
   `leadtrack db upgrade` on it; uses Redis db 9 (REDIS_URL=redis://127.0.0.1:6379/9), which
   must be empty or hold RQ keys only, and is flushed at the start and the end (only db 9);
2. makes, through the services, one organization, a manager and --agents agents, each with
   a backup (the next agent); "lead assigned" alerts in the app only (no delivery jobs);
   one response rule through `rules_document.apply`: web leads within --within seconds,
   around the clock, no warnings, a ladder of one step: reassign to the backup, alerted in
   the app (channels [in_app], so no SMTP server is needed);
3. per scenario, starts --workers `leadtrack worker` processes (RQ workers with RQ's
   scheduler; each job runs in a forked child) and one `leadtrack scheduler` (the clock sweep
   every CLOCK_SWEEP_SECONDS), then creates --n web leads through `intake.create_lead`,
   each given to an agent, --batch per commit: `clock.started` writes each lead's step-0
   escalation timer and `timer_queue` hands it to RQ (`enqueue_at`) after the commit. The
   leads' `now` is spread so that the deadlines fall evenly in one --window second window
   that opens --within seconds after the creation started: lead i gets
   now = min(real now, start + window * i / n), so no lead is dated in the future and, with
   creation slower than the window, later leads are back-dated by up to (creation time -
   window). --within must exceed the creation time: the report shows the margin between the
   last commit and the first deadline;
4. scenario "queued": the timers fire from the RQ jobs queued after commit (and the sweep
   for any it finds due and pending). Scenario "Redis flushed": after the last commit and
   before the first deadline Redis db 9 is flushed while the processes run, so every
   scheduled job is lost and only the sweep finds the timers;
5. waits until every timer is done, then reports the lateness (clock_timer.fired_at -
   fire_at) p50/p99/max, the leads with exactly one "escalated" history event (and any with
   none or more), escalations/s, the RQ jobs that ran (fire: fired or found nothing to do;
   fire_batch from the sweep) and the scenario's total time;
6. unless --profile 0: one escalation step in this process (`clock_steps.fire`), timed with
   its SQL statements counted, and the cold start of a forked job.

--simple-worker runs the workers as RQ SimpleWorkers (no fork per job; the same app, jobs
and scheduler) from this file, to measure what the fork per job costs.

Workers, the scheduler, PostgreSQL, Redis and this script share the same cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import scratch_db

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"
REDIS_URL = "redis://127.0.0.1:6379/9"
SECRET_KEY = "bench-secret-key"  # noqa: S105 - a scratch instance
ORG_SLUG = "bench-deadlines"
PASSWORD = "bench-password-9"  # noqa: S105 - throwaway accounts in a scratch database
RULE_NAME = "Bench: web leads"
GOAL_P99 = 1.5
PROGRESS_EVERY = 10.0
FORKED = 41  # timers fired by forked children in the profile (20 + 1 + 20)


def log(message: str) -> None:
    print(f"[deadlines] {message}", file=sys.stderr, flush=True)


def epoch(moment) -> float:
    """Seconds since the epoch; a naive datetime (RQ's, SQLite's) is UTC."""
    from datetime import UTC

    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


# -- Redis --------------------------------------------------------------------------------------


def redis_client():
    import redis

    return redis.Redis.from_url(REDIS_URL)


def claim_redis_db() -> None:
    """Redis db 9 is ours only if it is empty or holds what an earlier run of RQ left."""
    client = redis_client()
    try:
        foreign = [
            k
            for k in client.scan_iter(count=1000)
            if not k.startswith((b"rq:", b"leadtrack:scheduler:"))
        ]
        if foreign:
            raise RuntimeError(
                f"{REDIS_URL} holds {len(foreign)} keys that are not RQ's "
                f"(e.g. {foreign[0]!r}); not touching it"
            )
        client.flushdb()
    finally:
        client.close()


def flush_redis_db() -> None:
    client = redis_client()
    try:
        client.flushdb()  # db 9 only, never FLUSHALL
    finally:
        client.close()


# -- processes ----------------------------------------------------------------------------------


class Processes:
    """The workers and the scheduler, each in its own process group; stopped by group id."""

    def __init__(self, args, env: dict[str, str], tmp: Path, label: str) -> None:
        self.processes: list[subprocess.Popen] = []
        self.logs = []
        if args.simple_worker:
            worker = [str(VENV_BIN / "python"), str(Path(__file__).resolve()), "--as-worker"]
        else:
            worker = [str(VENV_BIN / "leadtrack"), "worker"]
        commands = [worker] * args.workers + [[str(VENV_BIN / "leadtrack"), "scheduler"]]
        for number, command in enumerate(commands):
            name = "scheduler" if number == args.workers else f"worker-{number}"
            log_file = (tmp / f"{label}-{name}.log").open("w")
            self.logs.append(log_file)
            self.processes.append(
                subprocess.Popen(  # noqa: S603 - our own venv's CLI
                    command,
                    env=env,
                    cwd=ROOT,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log_file in self.logs:
            log_file.close()

    def tail(self) -> str:
        return "\n".join(Path(f.name).read_text()[-1500:] for f in self.logs)


def wait_for_workers(count: int, processes: Processes, timeout: float = 60) -> None:
    from leadtrack.queues import cron_schedulers, worker_count

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and processes.alive():
        if worker_count() >= count and cron_schedulers() >= 1:
            return
        time.sleep(0.05)
    raise RuntimeError("the workers or the scheduler did not start:\n" + processes.tail())


# -- a worker without the fork (--simple-worker), started as a subprocess of this file -----------


def run_simple_worker() -> None:
    """`leadtrack worker` as an RQ SimpleWorker: jobs run in this process, one after another,
    with the app, the imports and the connection pool warm."""
    from rq import SimpleWorker
    from sqlalchemy.orm import configure_mappers

    from leadtrack import create_app

    app = create_app()
    with app.app_context():
        from leadtrack.channels import email  # noqa: F401
        from leadtrack.queues import QUEUE_NAMES
        from leadtrack.redis_conn import get_redis

        configure_mappers()
        SimpleWorker(list(QUEUE_NAMES), connection=get_redis()).work(with_scheduler=True)


# -- setup --------------------------------------------------------------------------------------


@dataclass
class Cast:
    org_id: int
    admin_id: int
    agent_ids: list[int]


def process_env(url: str, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "LEADTRACK_INSTANCE": str(tmp / "instance"),
        "SECRET_KEY": SECRET_KEY,
        "SMTP_URL": "smtp://127.0.0.1:9",  # nothing listens; no e-mail is due anyway
        "BASE_URL": "http://bench.local",
        "PYTHONPATH": str(ROOT),
    }


def migrate(env: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603
        [str(VENV_BIN / "leadtrack"), "db", "upgrade"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    log("leadtrack db upgrade: done")


def make_app(env: dict[str, str]):
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    from leadtrack import create_app

    return create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


def build_cast(agents: int, within: int) -> Cast:
    from leadtrack.extensions import db
    from leadtrack.models import AlertPreferences, Role
    from leadtrack.services import organizations, rules_document, users
    from leadtrack.services.history import Actor
    from leadtrack.timeutil import utcnow

    session = db.session
    domain = f"{ORG_SLUG}.example.com"
    org, admin = organizations.create_organization(
        session,
        slug=ORG_SLUG,
        name="Bench Deadlines GmbH",
        admin_email=f"admin@{domain}",
        admin_password=PASSWORD,
        admin_name="Bench Admin",
        timezone="Europe/Berlin",
        default_country="DE",
    )
    users.create_user(
        session,
        org,
        email=f"manager@{domain}",
        name="Bench Manager",
        role=Role.MANAGER,
        password=PASSWORD,
    )
    people = []
    for number in range(1, agents + 1):
        agent = users.create_user(
            session,
            org,
            email=f"agent{number}@{domain}",
            name=f"Agent {number}",
            role=Role.AGENT,
            password=PASSWORD,
        )
        session.add(AlertPreferences(user_id=agent.id, channels={"lead_assigned": ["in_app"]}))
        people.append(agent)
    for number, agent in enumerate(people):
        agent.backup_id = people[(number + 1) % len(people)].id
    session.commit()
    document = {
        "response": [
            {
                "name": RULE_NAME,
                "when": {"field": "source", "op": "is", "value": "web"},
                "within": f"{within}s",
                "business_time": False,
                "warnings": [],
                "ladder": [{"to": "backup", "action": "reassign", "channels": ["in_app"]}],
            }
        ]
    }
    rules_document.apply(session, org, document, Actor(org.id, user=admin), utcnow(), "bench")
    session.commit()
    log(f"organization, {agents} agents with backups, response rule within {within}s: done")
    return Cast(org.id, admin.id, [p.id for p in people])


@dataclass
class Created:
    lead_ids: list[int]
    started: float  # time.time() when the creation started
    seconds: float
    first_deadline: float  # epoch seconds
    last_deadline: float


def create_leads(cast: Cast, label: str, args, back: float = 0) -> Created:
    """--n web leads through the intake, each given to an agent, --batch per commit; their
    `now` is spread so the deadlines fall evenly in one --window second window."""
    from sqlalchemy import func, select

    from leadtrack.extensions import db
    from leadtrack.models import Lead, Organization, User
    from leadtrack.services import intake
    from leadtrack.services.history import Actor
    from leadtrack.timeutil import utcnow

    session = db.session
    org = session.get(Organization, cast.org_id)
    actor = Actor(cast.org_id, user=session.get(User, cast.admin_id), via="api")
    ids = []
    start = utcnow()
    started = time.time()
    next_progress = time.monotonic() + PROGRESS_EVERY
    for number in range(args.n):
        now = min(utcnow(), start + timedelta(seconds=args.window * number / args.n))
        now -= timedelta(seconds=back)
        raw = {
            "name": f"Bench Lead {label} {number}",
            "emails": [f"lead-{label}-{number}@customer.example.com"],
            "phones": [f"+49151{(40_000_000 if label == 'queued' else 50_000_000) + number}"],
            "source": "web",
            "assignee_id": cast.agent_ids[number % len(cast.agent_ids)],
        }
        ids.append(intake.create_lead(session, org, raw, actor, now).lead.id)
        if number % args.batch == args.batch - 1:
            session.commit()
        if time.monotonic() > next_progress:
            log(f"  {number + 1:,} leads created")
            next_progress += PROGRESS_EVERY
    session.commit()
    seconds = time.time() - started
    first, last = session.execute(
        select(func.min(Lead.response_due_at), func.max(Lead.response_due_at)).where(
            Lead.id.in_(ids)
        )
    ).one()
    session.remove()
    return Created(ids, started, seconds, epoch(first), epoch(last))


# -- the scenarios ------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    created: Created
    flushed_jobs: int | None
    lateness: list[float]  # seconds, one per fired step-0 escalation timer
    timer_states: dict[str, int]
    escalated: Counter  # events per lead -> number of leads
    first_fired: float | None
    last_fired: float | None
    seconds: float  # from the first deadline to the last timer fired (or the timeout)
    total: float  # the whole scenario: processes started to all done
    jobs: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.created.lead_ids)

    def pct(self, p: float) -> float | None:
        """Nearest rank over every timer; one never fired counts as infinitely late."""
        ordered = sorted(self.lateness) + [math.inf] * (self.n - len(self.lateness))
        if not ordered:
            return None
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timer_rows(lead_ids: list[int]):
    from sqlalchemy import select

    from leadtrack.extensions import db
    from leadtrack.models import Timer, TimerKind

    rows = db.session.execute(
        select(Timer.state, Timer.fire_at, Timer.fired_at).where(
            Timer.lead_id.in_(lead_ids), Timer.kind == TimerKind.ESCALATION, Timer.step == 0
        )
    ).all()
    db.session.remove()
    return rows


def states_of(lead_ids: list[int]) -> dict[str, int]:
    from sqlalchemy import func, select

    from leadtrack.extensions import db
    from leadtrack.models import Timer, TimerKind

    rows = db.session.execute(
        select(Timer.state, func.count())
        .where(Timer.lead_id.in_(lead_ids), Timer.kind == TimerKind.ESCALATION, Timer.step == 0)
        .group_by(Timer.state)
    ).all()
    db.session.remove()
    return {str(getattr(s, "value", s)): c for s, c in rows}


def escalations_per_lead(lead_ids: list[int]) -> Counter:
    from sqlalchemy import func, select

    from leadtrack.extensions import db
    from leadtrack.models import LeadEvent

    counted = dict(
        db.session.execute(
            select(LeadEvent.lead_id, func.count())
            .where(LeadEvent.lead_id.in_(lead_ids), LeadEvent.kind == "escalated")
            .group_by(LeadEvent.lead_id)
        ).all()
    )
    db.session.remove()
    return Counter(counted.get(lead_id, 0) for lead_id in lead_ids)


def job_outcomes() -> dict[str, int]:
    """What the finished RQ jobs did: fire (stepped, or found nothing to do), fire_batch (the
    timers the sweep's batches fired), sweep runs."""
    from rq.job import Job

    from leadtrack.queues import get_queue

    queue = get_queue()
    out: Counter = Counter()
    idle: dict[int, float] = {}  # timer id -> when a fire job for it found nothing to do
    ids = queue.finished_job_registry.get_job_ids()
    for start in range(0, len(ids), 500):
        for job in Job.fetch_many(ids[start : start + 500], connection=queue.connection):
            if job is None:
                continue
            name = job.func_name.rsplit(".", 1)[-1]
            value = job.return_value()
            if name == "fire":
                out["fire: stepped" if value else "fire: nothing to do"] += 1
                if not value and job.started_at is not None:
                    idle[job.args[0]] = epoch(job.started_at)
            elif name == "fire_on_time":
                out["fire_on_time jobs (one per second of deadlines per commit)"] += 1
                out["fire_on_time: timers fired"] += value or 0
            elif name == "fire_batch":
                out["fire_batch jobs"] += 1
                out["fire_batch: timers fired"] += value or 0
            elif name == "sweep" and job.func_name == "jobs.clock.sweep":
                out["clock sweeps"] += 1
                out["sweep: timers found due"] += value or 0
    out["failed jobs"] = queue.failed_job_registry.count
    if idle:
        out["  of which before the timer was due"] = sum(
            started < fire_at
            for timer_id, fire_at in fire_at_of(list(idle)).items()
            if (started := idle[timer_id])
        )
    return dict(out)


def fire_at_of(timer_ids: list[int]) -> dict[int, float]:
    from sqlalchemy import select

    from leadtrack.extensions import db
    from leadtrack.models import Timer

    rows = db.session.execute(select(Timer.id, Timer.fire_at).where(Timer.id.in_(timer_ids)))
    out = {timer_id: epoch(fire_at) for timer_id, fire_at in rows}
    db.session.remove()
    return out


def run_scenario(cast: Cast, label: str, flush: bool, args, env, tmp) -> Result:
    log(f"scenario {label}: starting {args.workers} workers and the scheduler")
    began = time.time()
    processes = Processes(args, env, tmp, label.split()[0])
    try:
        wait_for_workers(args.workers, processes)
        created = create_leads(cast, label.split()[0], args)
        margin = created.first_deadline - time.time()
        log(
            f"scenario {label}: {args.n:,} leads in {created.seconds:.1f} s; first deadline in "
            f"{margin:.1f} s, last in {created.last_deadline - time.time():.1f} s"
        )
        flushed_jobs = None
        if flush:
            flushed_jobs = redis_client().zcard("rq:scheduled:default")
            flush_redis_db()
            log(f"scenario {label}: flushed {REDIS_URL} ({flushed_jobs:,} scheduled jobs lost)")
        wait_for_timers(created, processes, args)
        settle = time.time()
        time.sleep(2)  # late duplicates would show now
        total = settle - began
        rows = timer_rows(created.lead_ids)
        fired = [r for r in rows if r.fired_at is not None]
        lateness = [(r.fired_at - r.fire_at).total_seconds() for r in fired]
        result = Result(
            label=label,
            created=created,
            flushed_jobs=flushed_jobs,
            lateness=lateness,
            timer_states=states_of(created.lead_ids),
            escalated=escalations_per_lead(created.lead_ids),
            first_fired=min((epoch(r.fired_at) for r in fired), default=None),
            last_fired=max((epoch(r.fired_at) for r in fired), default=None),
            seconds=settle - created.first_deadline,
            total=total,
            jobs=job_outcomes(),
        )
        if margin < 1:
            result.notes.append(
                f"creation ended {-margin:.1f} s after the first deadline: raise --within"
            )
    finally:
        processes.stop()
    log(
        f"scenario {label}: p50 {result.pct(50)} p99 {result.pct(99)} "
        f"escalated per lead {dict(result.escalated)}"
    )
    return result


def wait_for_timers(created: Created, processes: Processes, args) -> None:
    deadline = created.last_deadline + args.timeout
    next_progress = time.monotonic() + PROGRESS_EVERY
    while time.time() < deadline:
        states = states_of(created.lead_ids)
        if not states.get("pending") and not states.get("firing"):
            return
        if not processes.alive():
            log("a process exited early:\n" + processes.tail())
            return
        if time.monotonic() > next_progress:
            log(f"  timers: {states}")
            next_progress += PROGRESS_EVERY
        time.sleep(0.5)
    log(f"timed out {args.timeout:.0f} s after the last deadline")


# -- one step in-process ------------------------------------------------------------------------


@dataclass
class StepCost:
    steps: int
    ms: float  # per step
    statements: float  # per step
    sql_ms: float  # per step
    cold: dict  # a fresh process: create_app, then the first and a second step


def step_cost(cast: Cast, args, env: dict[str, str]) -> StepCost:
    """`clock_steps.fire` in this process on --profile timers already due (the leads are
    dated --within + 1 s back), timed with the SQL counted; then the cold start."""
    from sqlalchemy import event, select

    from leadtrack.extensions import db
    from leadtrack.models import Timer, TimerKind
    from leadtrack.services import clock_steps
    from leadtrack.timeutil import utcnow

    count = args.profile + 2 + FORKED
    sub = argparse.Namespace(**{**vars(args), "n": count, "window": 0})
    created = create_leads(cast, "profile", sub, back=args.within + 1)
    flush_redis_db()  # their queued jobs: no worker runs now
    ids = list(
        db.session.scalars(
            select(Timer.id)
            .where(Timer.lead_id.in_(created.lead_ids), Timer.kind == TimerKind.ESCALATION)
            .order_by(Timer.id)
        )
    )
    db.session.remove()
    wait = created.first_deadline - time.time() + 0.1
    if wait > 0:
        log(f"step cost: waiting {wait:.0f} s for the timers to fall due")
        time.sleep(wait)
    clock = {"sql": 0.0, "mark": 0.0, "statements": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        clock["statements"] += 1
        clock["mark"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        clock["sql"] += time.perf_counter() - clock["mark"]

    engine = db.engine
    timed = ids[: args.profile]
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        started = time.perf_counter()
        for timer_id in timed:
            clock_steps.fire(db.session, timer_id, utcnow())
        seconds = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        db.session.remove()
    return StepCost(
        steps=len(timed),
        ms=seconds * 1000 / len(timed),
        statements=clock["statements"] / len(timed),
        sql_ms=clock["sql"] * 1000 / len(timed),
        cold={
            **cold_job(env, ids[args.profile : args.profile + 2]),
            **fork_probe(env, ids[args.profile + 2 :]),
        },
    )


COLD_JOB = """
import json, sys, time
started = time.perf_counter()
from leadtrack import create_app
from leadtrack.extensions import db
app = create_app()
out = {"create_app": (time.perf_counter() - started) * 1000}
with app.app_context():
    import jobs.clock
    for label, timer_id in (("cold", int(sys.argv[1])), ("warm", int(sys.argv[2]))):
        started = time.perf_counter()
        result = jobs.clock.fire(timer_id)
        out[label] = (time.perf_counter() - started) * 1000
        out[label + "_fired"] = result is not None
print(json.dumps(out))
"""


def cold_job(env: dict[str, str], timer_ids: list[int]) -> dict:
    """One timer fired by a fresh process right after create_app (about what a forked work
    horse starts from: it inherits the imports, not the connections), then a second one."""
    done = subprocess.run(  # noqa: S603
        [str(VENV_BIN / "python"), "-c", COLD_JOB, *map(str, timer_ids)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


FORK_PROBE = """
import json, os, sys, time
from sqlalchemy.orm import configure_mappers
from leadtrack import create_app
from leadtrack.extensions import db
app = create_app()
with app.app_context():
    import jobs.alerts, jobs.clock
    from leadtrack.channels import email
    configure_mappers()
    engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    ids = [int(i) for i in sys.argv[1:]]
    half = len(ids) // 2

    def forked(timer_ids):
        started = time.perf_counter()
        for timer_id in timer_ids:
            pid = os.fork()
            if pid == 0:
                code = 0 if jobs.clock.fire(timer_id) is not None else 3
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, status
        return (time.perf_counter() - started) * 1000 / len(timer_ids)

    started = time.perf_counter()
    for _ in range(100):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    out = {"fork": (time.perf_counter() - started) * 1000 / 100}
    out["cold parent"] = forked(ids[:half])
    jobs.clock.fire(ids[half])  # the parent's caches warm: compiled SQL, templates, rules
    out["warm parent"] = forked(ids[half + 1 :])
print(json.dumps(out))
"""


def fork_probe(env: dict[str, str], timer_ids: list[int]) -> dict:
    """ms per timer fired by a forked child, as RQ's Worker runs each job (without RQ's own
    bookkeeping): from a parent set up like `leadtrack worker`, then from the same parent
    after it fired one timer itself (its caches warm); and a bare fork + exit + wait."""
    done = subprocess.run(  # noqa: S603
        [str(VENV_BIN / "python"), "-c", FORK_PROBE, *map(str, timer_ids)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- main ---------------------------------------------------------------------------------------


SCENARIOS = {"queued": ("queued", False), "flushed": ("Redis flushed", True)}


def run_all(args, url: str, tmp: Path):
    from leadtrack.extensions import db

    env = process_env(url, tmp)
    migrate(env)
    app = make_app(env)
    with app.app_context():
        sweep_seconds = app.config["CLOCK_SWEEP_SECONDS"]
        cast = build_cast(args.agents, args.within)
        results = []
        for name in args.scenarios.split(","):
            label, flush = SCENARIOS[name]
            results.append(run_scenario(cast, label, flush, args, env, tmp))
            flush_redis_db()
        cost = None
        if args.profile:
            cost = step_cost(cast, args, env)
        db.session.remove()
        db.engine.dispose()
    return sweep_seconds, results, cost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="leads per scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--window", type=float, default=60, help="seconds the deadlines span")
    parser.add_argument(
        "--within",
        type=int,
        default=360,
        help="the rule's response time in seconds: must exceed the creation time",
    )
    parser.add_argument("--batch", type=int, default=100, help="leads per commit")
    parser.add_argument("--scenarios", default="queued,flushed", help="queued,flushed")
    parser.add_argument(
        "--timeout", type=float, default=180, help="seconds after the last deadline"
    )
    parser.add_argument("--profile", type=int, default=100, help="steps timed in-process (0: skip)")
    parser.add_argument(
        "--simple-worker", action="store_true", help="RQ SimpleWorkers (no fork per job)"
    )
    parser.add_argument("--as-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.as_worker:
        run_simple_worker()
        return 0
    if not scratch_db.postgres_reachable():
        return 1
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    try:
        claim_redis_db()
    except Exception as exc:
        log(f"Redis: {exc}")
        return 1
    try:
        with (
            scratch_db.scratch_dir("leadtrack-bench-deadlines-") as tmp,
            scratch_db.scratch_postgres("leadtrack_bench_deadlines") as url,
        ):
            sweep_seconds, results, cost = run_all(args, url, tmp)
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        if isinstance(detail, str):
            detail = detail.encode()
        log(f"setup failed: {exc}\n{detail.decode(errors='replace')[-2000:]}")
        return 1
    finally:
        flush_redis_db()
        log(f"flushed {REDIS_URL}")
    print(report(args, sweep_seconds, results, cost, (load_start, os.getloadavg()[0]), started))
    return 0


def _s(value: float | None) -> str:
    if value is None:
        return "-"
    return "not fired" if math.isinf(value) else f"{value:.3f}"


def report(args, sweep_seconds: int, results: list[Result], cost, loads, started) -> str:
    import measure

    workers = (
        "RQ SimpleWorker processes (no fork per job; bench/deadlines.py --as-worker)"
        if args.simple_worker
        else "`leadtrack worker` processes (RQ Worker + its scheduler; a forked child per job)"
    )
    out = [
        "LeadTrack benchmark: response deadlines and escalations (figures only, no pass/fail)",
        "",
        f"  date      {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"  machine   {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"python {platform.python_version()}",
        f"  load      {loads[0]:.2f} at start, {loads[1]:.2f} at end (1-minute load average)",
        f"  setup     PostgreSQL scratch database; Redis {REDIS_URL}; {args.workers} {workers};",
        f"            1 `leadtrack scheduler` (clock sweep every CLOCK_SWEEP_SECONDS = "
        f"{sweep_seconds} s)",
        f"  leads     {args.n:,} per scenario through intake.create_lead ({args.batch} per "
        f"commit), each given to one of {args.agents} agents; rule: web leads within "
        f"{args.within} s,",
        f"            deadlines spread evenly over {args.window:.0f} s; ladder: one step, "
        f"reassign to the agent's backup, alert in the app only (channels [in_app]: no SMTP)",
        "",
        measure.table(
            [
                "scenario",
                "create s",
                "margin s",
                "p50 late s",
                "p90",
                "p99",
                "max",
                "escalations/s",
                "first->last fired s",
                "total s",
            ],
            [
                [
                    r.label,
                    f"{r.created.seconds:.1f}",
                    f"{r.created.first_deadline - (r.created.started + r.created.seconds):.1f}",
                    _s(r.pct(50)),
                    _s(r.pct(90)),
                    _s(r.pct(99)),
                    _s(max(r.lateness, default=None)),
                    f"{len(r.lateness) / (r.last_fired - r.first_fired):,.1f}"
                    if r.first_fired and r.last_fired > r.first_fired
                    else "-",
                    f"{r.last_fired - r.first_fired:.1f}" if r.first_fired else "-",
                    f"{r.total:.0f}",
                ]
                for r in results
            ],
        ),
        "",
        measure.table(
            [
                "scenario",
                "leads",
                "escalated once",
                "none (yet)",
                "twice or more",
                "timers",
                "p99 <= 1.5 s",
            ],
            [
                [
                    r.label,
                    r.n,
                    r.escalated.get(1, 0),
                    r.escalated.get(0, 0),
                    sum(c for k, c in r.escalated.items() if k > 1),
                    " ".join(f"{s} {c}" for s, c in sorted(r.timer_states.items())),
                    "yes" if (r.pct(99) or 99) <= GOAL_P99 else "no",
                ]
                for r in results
            ],
        ),
        "",
        measure.table(
            ["scenario", "RQ jobs that ran"],
            [
                [
                    r.label,
                    (f"{r.flushed_jobs:,} scheduled jobs flushed; " if r.flushed_jobs else "")
                    + ", ".join(f"{k} {v:,}" for k, v in sorted(r.jobs.items())),
                ]
                for r in results
            ],
        ),
        *[f"  note: {r.label}: {note}" for r in results for note in r.notes],
        "",
        "  create s: intake of all the leads; margin s: from the last commit to the first",
        "  deadline. Lateness: clock_timer.fired_at - fire_at of each step-0 escalation timer",
        "  (fired_at is when the step started, before its commit). escalations/s: timers fired /",
        "  seconds from the first to the last firing (the deadlines arrive at "
        f"{args.n / args.window:,.0f}/s). total s:",
        "  processes started, leads created, every timer done. Escalated once: leads with",
        '  exactly one "escalated" history event.',
    ]
    if cost is not None:
        cold = cost.cold
        out += [
            "",
            f"One escalation step in-process (`clock_steps.fire`, {cost.steps} steps, warm): "
            f"{cost.ms:.1f} ms per step, {cost.statements:.1f} SQL statements, "
            f"{cost.sql_ms:.1f} ms in SQL.",
            f"A fresh process: create_app {cold['create_app']:.0f} ms, then `jobs.clock.fire` "
            f"{cold['cold']:.0f} ms for the first timer (cold) and {cold['warm']:.0f} ms for "
            f"the next (warm).",
            f"One timer per forked child (RQ Worker's way, its bookkeeping left out), from a "
            f"parent set up like `leadtrack worker`: {cold['cold parent']:.0f} ms per timer;",
            f"from the same parent after it fired one timer itself (caches warm before the "
            f"fork): {cold['warm parent']:.0f} ms; a bare fork + exit + wait: "
            f"{cold['fork']:.1f} ms.",
        ]
    out += ["", f"  total runtime {time.perf_counter() - started:.0f} s"]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
