"""Alert delivery under load: 1,000 "lead assigned" e-mails written to the outbox, then
delivered by 2 real RQ workers to an SMTP server on loopback. Figures only, no pass/fail
(exit 1 only if the setup fails); the goal is >= 200 messages/s, none lost, none doubled.

    .venv/bin/python bench/alerts.py                  # 1,000 alerts per scenario, 2 workers
    .venv/bin/python bench/alerts.py --n 2000 --workers 4 --profile 0

What it does:
1. creates the scratch database `leadtrack_bench_alerts_<pid>` on 127.0.0.1:5432 and runs
   `leadtrack db upgrade` on it; uses Redis db 12 (REDIS_URL=redis://127.0.0.1:6379/12),
   which must be empty or hold RQ keys only, and is flushed at the start and the end;
2. starts an aiosmtpd server in this process on a free loopback port; it records each
   message's `X-LeadTrack-Alert` header (the notification id) and when it arrived;
3. makes, through the services, one organization, a manager and --agents agents; an
   AlertSettings row with hourly_caps {"email": 100000} (the default cap of 30 an hour would
   fold most of the 40 alerts each agent gets into summaries); AlertPreferences for every
   agent with {"lead_assigned": ["email"]} (e-mail only, so one message per alert);
   2 x --n leads through `intake.create_lead`, unassigned;
4. scenario "after-commit jobs": with no worker running, the manager assigns --n leads
   round-robin (`leads.assign`, 100 per transaction), so the outbox rows are written and
   their delivery jobs queued exactly as in production and pile up in Redis; then
   --workers `leadtrack worker` processes start (SMTP_URL=smtp://127.0.0.1:<port>) and the
   clock runs from their start to the last message received;
5. scenario "sweep only": the workers stop, the next --n leads are assigned the same way,
   then the queue is emptied (the after-commit jobs are lost, as when Redis drops them);
   the workers start again and, once both are up, `jobs.alerts.sweep` is enqueued: the clock
   runs from that moment to the last message received;
6. reports per scenario: ms per assignment (lead, history and outbox row, commit, enqueue),
   messages/s, the ids received (distinct, doubled, missing, unexpected) and the outbox
   statuses afterwards; stops the workers (SIGTERM to their process group, then SIGKILL),
   flushes Redis db 12, drops the database and removes its temp dir, whatever happens;
7. unless --profile 0: `delivery.deliver` in this process on --profile alerts (one batch),
   timed with its SQL counted, then as many under cProfile (where the time goes per alert);
   and one alert delivered by a fresh process right after create_app, the cold start every
   job forked by an RQ worker pays.

Workers, PostgreSQL, the SMTP server and this script share the same 2 cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import scratch_db

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"
REDIS_URL = "redis://127.0.0.1:6379/12"
SECRET_KEY = "bench-secret-key"  # noqa: S105 - a scratch instance
BASE_URL = "http://bench.local"
ORG_SLUG = "bench-alerts"
PASSWORD = "bench-password-9"  # noqa: S105 - throwaway accounts in a scratch database
PER_TRANSACTION = 100
EMAIL_CAP = 100_000
IDLE_GRACE = 5.0  # seconds with no job queued or running: nothing more will arrive
PROGRESS_EVERY = 10.0
ALERT_HEADER = re.compile(rb"^X-LeadTrack-Alert:[ \t]*(\d+)", re.MULTILINE | re.IGNORECASE)


def log(message: str) -> None:
    print(f"[alerts] {message}", file=sys.stderr, flush=True)


# -- the SMTP server ----------------------------------------------------------------------------


class _Recorder:
    """aiosmtpd handler: keeps (notification id, arrival) and the client connections seen."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        arrived = time.monotonic()
        head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        match = ALERT_HEADER.search(head)
        self.sink.arrivals.append((int(match.group(1)) if match else -1, arrived))
        self.sink.peers.add(session.peer)
        return "250 OK"


class Sink:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrivals: list[tuple[int, float]] = []
        self.peers: set = set()
        self.port = free_port()
        self._controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Sink:
        self._controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._controller.stop()

    def reset(self) -> None:
        self.arrivals.clear()
        self.peers.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- workers ------------------------------------------------------------------------------------


class Workers:
    """`leadtrack worker` processes, each in its own process group; stopped by group id."""

    def __init__(self, count: int, env: dict[str, str], tmp: Path, label: str) -> None:
        self.processes: list[subprocess.Popen] = []
        self.logs = []
        for number in range(count):
            log_file = (tmp / f"worker-{label}-{number}.log").open("w")
            self.logs.append(log_file)
            self.processes.append(
                subprocess.Popen(  # noqa: S603 - our own venv's CLI
                    [str(VENV_BIN / "leadtrack"), "worker"],
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


# -- Redis --------------------------------------------------------------------------------------


def claim_redis_db() -> None:
    """Redis db 12 is ours only if it is empty or holds what an earlier run of RQ left."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        foreign = [k for k in client.scan_iter(count=1000) if not k.startswith(b"rq:")]
        if foreign:
            raise RuntimeError(
                f"{REDIS_URL} holds {len(foreign)} keys that are not RQ's "
                f"(e.g. {foreign[0]!r}); not touching it"
            )
        client.flushdb()
    finally:
        client.close()


def flush_redis_db() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


# -- setup --------------------------------------------------------------------------------------


@dataclass
class Cast:
    org_id: int
    manager_id: int
    agent_ids: list[int]
    lead_ids: list[int]


def process_env(url: str, tmp: Path, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "LEADTRACK_INSTANCE": str(tmp / "instance"),
        "SECRET_KEY": SECRET_KEY,
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "BASE_URL": BASE_URL,
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
    """The app in this process, configured like the workers (it reads the same variables);
    cheaper password hashing, since 52 accounts are made and none signs in."""
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    from leadtrack import create_app

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
    return app


def build_cast(agents: int, leads: int) -> Cast:
    from leadtrack.extensions import db
    from leadtrack.models import AlertPreferences, AlertSettings, Role
    from leadtrack.services import organizations, users

    session = db.session
    domain = f"{ORG_SLUG}.example.com"
    org, admin = organizations.create_organization(
        session,
        slug=ORG_SLUG,
        name="Bench Alerts GmbH",
        admin_email=f"admin@{domain}",
        admin_password=PASSWORD,
        admin_name="Bench Admin",
        timezone="Europe/Berlin",
        default_country="DE",
    )
    manager = users.create_user(
        session,
        org,
        email=f"manager@{domain}",
        name="Bench Manager",
        role=Role.MANAGER,
        password=PASSWORD,
    )
    agent_ids = []
    for number in range(1, agents + 1):
        agent = users.create_user(
            session,
            org,
            email=f"agent{number}@{domain}",
            name=f"Agent {number}",
            role=Role.AGENT,
            password=PASSWORD,
        )
        session.add(AlertPreferences(user_id=agent.id, channels={"lead_assigned": ["email"]}))
        agent_ids.append(agent.id)
    session.add(AlertSettings(org_id=org.id, hourly_caps={"email": EMAIL_CAP}))
    session.commit()
    log(f"organization, manager, {agents} agents, alert settings and preferences: done")
    return Cast(org.id, manager.id, agent_ids, create_leads(org.id, admin.id, leads))


def create_leads(org_id: int, admin_id: int, count: int) -> list[int]:
    from leadtrack.extensions import db
    from leadtrack.models import Organization, User
    from leadtrack.services import intake
    from leadtrack.services.history import Actor
    from leadtrack.timeutil import utcnow

    session = db.session
    org = session.get(Organization, org_id)
    actor = Actor(org_id, user=session.get(User, admin_id), via="api")
    ids = []
    for number in range(count):
        raw = {
            "name": f"Bench Lead {number}",
            "emails": [f"lead{number}@customer.example.com"],
            "phones": [f"+49151{30_000_000 + number}"],
            "source": "web",
        }
        ids.append(intake.create_lead(session, org, raw, actor, utcnow()).lead.id)
        if number % 500 == 499:
            session.commit()
    session.commit()
    log(f"{count:,} unassigned leads: done")
    return ids


# -- the scenarios ------------------------------------------------------------------------------


@dataclass
class Written:
    seconds: float
    assignments: int
    notification_ids: list[int]
    queued_jobs: int


def assign_round_robin(cast: Cast, lead_ids: list[int]) -> Written:
    """The manager assigns each lead to the next agent, PER_TRANSACTION per commit; the
    after-commit hook queues the delivery jobs (no worker runs, so they wait in Redis)."""
    from sqlalchemy import select

    from leadtrack.extensions import db
    from leadtrack.models import Lead, Notification, User
    from leadtrack.queues import get_queue
    from leadtrack.services import leads
    from leadtrack.services.history import Actor
    from leadtrack.timeutil import utcnow

    session = db.session
    manager = session.get(User, cast.manager_id)
    agents = {u.id: u for u in session.scalars(select(User).where(User.id.in_(cast.agent_ids)))}
    actor = Actor(cast.org_id, user=manager)
    agent_of = {
        lead_id: agents[cast.agent_ids[n % len(cast.agent_ids)]]
        for n, lead_id in enumerate(lead_ids)
    }
    started = time.perf_counter()
    for start in range(0, len(lead_ids), PER_TRANSACTION):
        chunk = lead_ids[start : start + PER_TRANSACTION]
        batch = session.scalars(select(Lead).where(Lead.id.in_(chunk)).order_by(Lead.id))
        for lead in batch:
            leads.assign(session, lead, agent_of[lead.id], actor, utcnow(), reason="bench")
        session.commit()
    seconds = time.perf_counter() - started
    ids = list(
        session.scalars(
            select(Notification.id)
            .where(Notification.lead_id.in_(lead_ids))
            .order_by(Notification.id)
        )
    )
    session.remove()
    return Written(seconds, len(lead_ids), ids, get_queue().count)


@dataclass
class Delivery:
    label: str
    written: Written
    clock_from: str
    seconds: float | None  # clock start to the last expected message (None: not all came)
    first_to_last: float | None
    received: Counter
    statuses: dict[str, int]
    smtp_connections: int
    jobs_run: int
    jobs_lost: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def expected(self) -> set[int]:
        return set(self.written.notification_ids)

    @property
    def doubled(self) -> int:
        return sum(1 for count in self.received.values() if count > 1)

    @property
    def missing(self) -> int:
        return len(self.expected - set(self.received))

    @property
    def unexpected(self) -> int:
        return len(set(self.received) - self.expected)


def wait_for_messages(sink: Sink, expected: set[int], workers: Workers, timeout: float) -> None:
    """Until every expected id arrived, or the queue stayed idle for IDLE_GRACE seconds
    (nothing more will come), or a worker died, or `timeout`."""
    from leadtrack.queues import get_queue

    queue = get_queue()
    deadline = time.monotonic() + timeout
    idle_since = None
    next_progress = time.monotonic() + PROGRESS_EVERY
    while time.monotonic() < deadline:
        received = {notification_id for notification_id, _ in sink.arrivals}
        if expected <= received:
            return
        if not workers.alive():
            log("a worker exited early:\n" + workers.tail())
            return
        if queue.count == 0 and queue.started_job_registry.count == 0:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > IDLE_GRACE:
                log(f"queue idle with {len(expected - received):,} alerts not received")
                return
        else:
            idle_since = None
        if time.monotonic() > next_progress:
            log(
                f"  {len(received & expected):,} of {len(expected):,} received, "
                f"{queue.count} jobs queued"
            )
            next_progress += PROGRESS_EVERY
        time.sleep(0.01)
    log(f"timed out after {timeout:.0f} s waiting for messages")


def wait_until_idle(timeout: float = 30) -> None:
    """Until no job is queued or running, so late duplicates would have arrived."""
    from leadtrack.queues import get_queue

    queue = get_queue()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue.count == 0 and queue.started_job_registry.count == 0:
            return
        time.sleep(0.1)


def wait_for_workers(count: int, workers: Workers, timeout: float = 60) -> None:
    from leadtrack.queues import worker_count

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and workers.alive():
        if worker_count() >= count:
            return
        time.sleep(0.05)
    raise RuntimeError("the workers did not register:\n" + workers.tail())


def statuses_of(ids: list[int]) -> dict[str, int]:
    from sqlalchemy import func, select

    from leadtrack.extensions import db
    from leadtrack.models import Notification

    rows = db.session.execute(
        select(Notification.status, func.count())
        .where(Notification.id.in_(ids))
        .group_by(Notification.status)
    ).all()
    db.session.remove()
    return {str(getattr(status, "value", status)): count for status, count in rows}


def deliver_and_measure(
    label: str, written: Written, sink: Sink, args, env, tmp, *, sweep: bool
) -> Delivery:
    from leadtrack.queues import enqueue, get_queue

    finished = get_queue().finished_job_registry
    finished_before = finished.count
    sink.reset()
    expected = set(written.notification_ids)
    workers = Workers(args.workers, env, tmp, label.split()[0])
    try:
        started = time.monotonic()
        if sweep:
            wait_for_workers(args.workers, workers)
            started = time.monotonic()
            enqueue("jobs.alerts.sweep")
        log(f"{label}: {args.workers} workers delivering {len(expected):,} alerts")
        wait_for_messages(sink, expected, workers, args.timeout)
        wait_until_idle()
    finally:
        workers.stop()
    arrivals = list(sink.arrivals)
    last = max((t for i, t in arrivals if i in expected), default=None)
    complete = expected <= {i for i, _ in arrivals}
    first = min((t for _, t in arrivals), default=None)
    delivery = Delivery(
        label=label,
        written=written,
        clock_from="sweep enqueued (workers up)" if sweep else "workers started",
        seconds=(last - started) if complete else None,
        first_to_last=(last - first) if complete and first is not None else None,
        received=Counter(i for i, _ in arrivals),
        statuses=statuses_of(written.notification_ids),
        smtp_connections=len(sink.peers),
        jobs_run=finished.count - finished_before,
    )
    log(
        f"{label}: {len(delivery.received):,} distinct ids, {delivery.doubled} doubled, "
        f"{delivery.missing} missing, statuses {delivery.statuses}"
    )
    return delivery


# -- one worker's batch, in-process -------------------------------------------------------------

PARTS = (  # (label, module file suffix, function): cumulative time, nested parts overlap
    ("claim: UPDATE, commit, reload", "services/delivery.py", "claim"),
    ("hourly cap: count query", "services/delivery.py", "_over_cap"),
    ("context (lead, links)", "services/alert_context.py", "build"),
    ("template text (render)", "services/alert_templates.py", "render"),
    ("  of which compiling", "jinja2/environment.py", "from_string"),
    ("HTML mail (render_template)", "services/delivery.py", "_html"),
    ("MIME message built", "channels/email.py", "build_message"),
    ("SMTP send_message", "smtplib.py", "send_message"),
    ("session.commit (all)", "orm/session.py", "commit"),
)


@dataclass
class Anatomy:
    messages: int
    seconds: float  # without the profiler
    statements: float  # per message
    sql_ms: float  # per message, inside cursor.execute
    parts: list[tuple[str, float]]  # label, ms per message (under the profiler)
    profiled_seconds: float
    top: list[tuple[str, float, float]]  # function, own ms, cumulative ms per message
    cold: dict  # cold_job(): "cold" and "warm" ms, "parts" of the cold one


def anatomy(cast: Cast, lead_ids: list[int], sink: Sink, env: dict[str, str]) -> Anatomy:
    """`delivery.deliver` on (len(lead_ids) - 2) // 2 alerts in this process, one batch (one
    SMTP connection), as a worker's job runs it: once timed with the SQL counted, once under
    cProfile; then the last 2 alerts by cold_job()."""
    import cProfile
    import pstats

    from sqlalchemy import event

    from leadtrack.extensions import db
    from leadtrack.queues import get_queue
    from leadtrack.services import delivery

    half = (len(lead_ids) - 2) // 2
    timed_ids = assign_round_robin(cast, lead_ids[:half]).notification_ids
    profiled_ids = assign_round_robin(cast, lead_ids[half:-2]).notification_ids
    cold_ids = assign_round_robin(cast, lead_ids[-2:]).notification_ids
    get_queue().empty()
    clock = {"sql": 0.0, "mark": 0.0, "statements": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        clock["statements"] += 1
        clock["mark"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        clock["sql"] += time.perf_counter() - clock["mark"]

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        started = time.perf_counter()
        delivery.deliver(db.session, timed_ids)
        seconds = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    db.session.remove()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(delivery.deliver, db.session, profiled_ids)
    profiled_seconds = time.perf_counter() - started
    db.session.remove()
    stats = pstats.Stats(profiler).stats
    per = 1000 / len(profiled_ids)
    log(f"in-process: {len(timed_ids)} alerts in {seconds:.2f} s, {len(sink.arrivals)} received")
    return Anatomy(
        messages=len(timed_ids),
        seconds=seconds,
        statements=clock["statements"] / len(timed_ids),
        sql_ms=clock["sql"] * 1000 / len(timed_ids),
        parts=[(label, _cumulative(stats, f, fn) * per) for label, f, fn in PARTS],
        profiled_seconds=profiled_seconds,
        top=_top(stats, per),
        cold=cold_job(env, cold_ids),
    )


COLD_JOB = """
import cProfile, json, pstats, sys, time
from leadtrack import create_app
from leadtrack.extensions import db
app = create_app()
out = {}
with app.app_context():
    from leadtrack.services import delivery
    for label, notification_id in (("cold", int(sys.argv[1])), ("warm", int(sys.argv[2]))):
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.runcall(delivery.deliver, db.session, [notification_id])
        out[label] = (time.perf_counter() - started) * 1000
        db.session.remove()
        if label == "cold":
            stats = pstats.Stats(profiler).stats
            out["parts"] = {
                name: sum(v[3] for (f, _l, n), v in stats.items() if n == fn and f.endswith(mod))
                * 1000
                for name, mod, fn in json.loads(sys.argv[3])
            }
print(json.dumps(out))
"""
COLD_PARTS = (  # what the first alert of a forked job pays for (cumulative, under cProfile)
    ("imports", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("ORM mappers configured", "orm/mapper.py", "_configure_registries"),
    ("SQL compiled (statement cache misses)", "sql/elements.py", "_compiler"),
    ("PostgreSQL connect", "psycopg/connection.py", "connect"),
    ("SMTP connect", "channels/email.py", "connect"),
    ("  of which ssl.create_default_context", "ssl.py", "create_default_context"),
    ("template text (render)", "services/alert_templates.py", "render"),
    ("HTML mail (render_template)", "services/delivery.py", "_html"),
)


def cold_job(env: dict[str, str], notification_ids: list[int]) -> dict:
    """One alert delivered by a fresh process after create_app (what an RQ work horse, forked
    from a worker that never ran a job, starts from), then a second one in that process."""
    done = subprocess.run(  # noqa: S603
        [
            str(VENV_BIN / "python"),
            "-c",
            COLD_JOB,
            *map(str, notification_ids[:2]),
            json.dumps(COLD_PARTS),
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cumulative(stats: dict, file_suffix: str, function: str) -> float:
    return sum(
        value[3]
        for (filename, _line, name), value in stats.items()
        if name == function and filename.endswith(file_suffix)
    )


def _top(stats: dict, per: float, count: int = 12) -> list[tuple[str, float, float]]:
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:count]
    return [
        (f"{_short(filename)}:{line} {name}", own * per, cumulative * per)
        for (filename, line, name), (_cc, _nc, own, cumulative, _callers) in ranked
    ]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def run_scenarios(args, url: str, tmp: Path, sink: Sink) -> tuple[list[Delivery], Anatomy | None]:
    from leadtrack.extensions import db
    from leadtrack.queues import get_queue

    env = process_env(url, tmp, sink.port)
    migrate(env)
    app = make_app(env)
    with app.app_context():
        cast = build_cast(args.agents, 2 * args.n + 2 * args.profile + 2)
        first, second = cast.lead_ids[: args.n], cast.lead_ids[args.n : 2 * args.n]

        written = assign_round_robin(cast, first)
        log(
            f"after-commit: {written.assignments:,} assignments in {written.seconds:.2f} s, "
            f"{written.queued_jobs} jobs queued"
        )
        results = [
            deliver_and_measure("after-commit jobs", written, sink, args, env, tmp, sweep=False)
        ]

        written = assign_round_robin(cast, second)
        lost = written.queued_jobs
        get_queue().empty()
        log(f"sweep only: {written.assignments:,} assignments, {lost} queued jobs thrown away")
        result = deliver_and_measure("sweep only", written, sink, args, env, tmp, sweep=True)
        result.jobs_lost = lost
        results.append(result)
        parts = anatomy(cast, cast.lead_ids[2 * args.n :], sink, env) if args.profile else None
        db.session.remove()
        db.engine.dispose()
    return results, parts


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="alerts per scenario")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--profile",
        type=int,
        default=200,
        help="alerts delivered in-process, then as many under cProfile (0: skip)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait per scenario")
    args = parser.parse_args(argv)
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
            scratch_db.scratch_dir("leadtrack-bench-alerts-") as tmp,
            scratch_db.scratch_postgres("leadtrack_bench_alerts") as url,
            Sink() as sink,
        ):
            results, parts = run_scenarios(args, url, tmp, sink)
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        log(f"setup failed: {exc}\n{detail.decode(errors='replace')[-2000:]}")
        return 1
    finally:
        flush_redis_db()
        log(f"flushed {REDIS_URL}")
    print(report(args, results, parts, (load_start, os.getloadavg()[0]), started))
    return 0


def report(args, results: list[Delivery], parts: Anatomy | None, loads, started) -> str:
    import measure

    out = [
        "LeadTrack benchmark: alert delivery by RQ workers to SMTP (figures only, no pass/fail)",
        "",
        f"  date      {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"  machine   {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"python {platform.python_version()}",
        f"  load      {loads[0]:.2f} at start, {loads[1]:.2f} at end (1-minute load average)",
        f"  setup     PostgreSQL scratch database; Redis {REDIS_URL}; {args.workers} "
        f"`leadtrack worker` processes (RQ, a forked child per job); aiosmtpd on loopback in "
        f"the bench process",
        f"  alerts    {args.n:,} lead_assigned per scenario, round-robin to {args.agents} agents "
        f"(e-mail only); outbox.BATCH {_batch()} ids per job; hourly e-mail cap raised to "
        f"{EMAIL_CAP:,} so no alert is folded into a summary",
        "",
        measure.table(
            [
                "scenario",
                "ms/assign",
                "jobs queued",
                "jobs run",
                "clock from",
                "seconds",
                "msg/s",
                "1st->last msg/s",
            ],
            [
                [
                    r.label,
                    measure.ms(r.written.seconds / r.written.assignments * 1000),
                    f"{r.written.queued_jobs}" + (" (lost)" if r.jobs_lost else ""),
                    r.jobs_run,
                    r.clock_from,
                    f"{r.seconds:.2f}" if r.seconds else "incomplete",
                    f"{len(r.expected) / r.seconds:,.0f}" if r.seconds else "-",
                    f"{(len(r.expected) - 1) / r.first_to_last:,.0f}" if r.first_to_last else "-",
                ]
                for r in results
            ],
            left=1,
        ),
        "",
        measure.table(
            [
                "scenario",
                "written",
                "received",
                "distinct",
                "doubled",
                "missing",
                "unexpected",
                "SMTP conns",
                "outbox statuses",
            ],
            [
                [
                    r.label,
                    len(r.expected),
                    sum(r.received.values()),
                    len(r.received),
                    r.doubled,
                    r.missing,
                    r.unexpected,
                    r.smtp_connections,
                    " ".join(f"{s} {n}" for s, n in sorted(r.statuses.items())),
                ]
                for r in results
            ],
        ),
        "",
        "  jobs queued: by the after-commit hook while the assignments were written; jobs run:",
        "  finished by the workers (the sweep's 1 and the delivery jobs it queued).",
        "  ms/assign: lead loaded, assigned, history and outbox rows written, commit and the",
        f"  after-commit enqueue, {PER_TRANSACTION} assignments per transaction.",
        "  msg/s: alerts / seconds from the clock's start to the last message received;",
        "  1st->last: the rate between the first and the last message (worker start-up and",
        "  the sweep's query left out).",
        *(anatomy_report(parts) if parts else []),
        "",
        f"  total runtime {time.perf_counter() - started:.0f} s",
    ]
    return "\n".join(out)


def anatomy_report(parts: Anatomy) -> list[str]:
    import measure

    per_message = parts.seconds / parts.messages * 1000
    profiled = parts.profiled_seconds / parts.messages * 1000
    return [
        "",
        f"One worker's batch in-process: `delivery.deliver` on {parts.messages} alerts, one "
        f"batch, one SMTP connection: {per_message:.1f} ms per alert ({1000 / per_message:,.0f}"
        f"/s on one core), {parts.statements:.1f} SQL statements per alert, "
        f"{parts.sql_ms:.1f} ms in SQL. Under cProfile ({profiled:.1f} ms per alert), per alert:",
        "",
        measure.table(
            ["part (cumulative, nested parts overlap)", "ms", "share"],
            [[label, measure.ms(ms), f"{ms / profiled:.0%}"] for label, ms in parts.parts],
        ),
        "",
        measure.table(
            ["function (most own time)", "own ms", "cum ms"],
            [[name, f"{own:.2f}", f"{cum:.2f}"] for name, own, cum in parts.top],
        ),
        "",
        f"A forked job starts cold: in a fresh process after create_app (what an RQ work horse "
        f"starts from), the first alert took {parts.cold['cold']:.0f} ms, the next one "
        f"{parts.cold['warm']:.0f} ms (both under cProfile). The first one's parts:",
        "",
        measure.table(
            ["part of the first alert (cumulative)", "ms"],
            [[label, measure.ms(ms)] for label, ms in parts.cold["parts"].items()],
        ),
    ]


def _batch() -> int:
    from leadtrack.services import outbox

    return outbox.BATCH


if __name__ == "__main__":
    sys.exit(main())
