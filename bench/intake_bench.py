"""Intake under load: `POST /api/v1/leads` through gunicorn against a bare Flask endpoint
that inserts one row into the same PostgreSQL database (bare_app.py, the stack's ceiling).
Figures only, no pass/fail; the goal is real/bare throughput >= 0.5.

    .venv/bin/python bench/intake_bench.py                 # 3,000 requests each, 16 clients
    .venv/bin/python bench/intake_bench.py --requests 5000 --rounds 2

What it does:
1. creates the scratch database `leadtrack_bench_intake_<pid>` on 127.0.0.1:5432 and runs
   `leadtrack db upgrade` on it; makes the organization through the services and seeds
   --existing leads (default 100,000) with seed_leads.py, so the existing-contact lookups
   search real indexes; creates an API key (scope leads:create);
2. per round: starts gunicorn (-w 4 -k gthread --threads 4, 127.0.0.1, a free port) for
   bare_app:app, then for wsgi:app (REDIS_URL=redis://127.0.0.1:6379/14, API_RATE_LIMIT out
   of reach); each gets 200 warm-up requests, then --requests requests from 16 client
   threads (http.client, keep-alive), each a realistic JSON lead with a unique phone and
   e-mail (half of the phones typed in national format), plus an Idempotency-Key header;
3. reports throughput, p50/p99 latency and real/bare; drops the database, stops the servers,
   deletes its rate-limit keys from Redis and its temp dir.

The clients run on the same 2 cores as the servers and PostgreSQL: the bare figure is a
ceiling for this machine, not for the stack on bigger hardware.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "bench-secret-key")  # no instance/secret_key is written

import scratch_db
import seed_leads
from sqlalchemy import func, select

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"
CLIENTS = 16
WARMUP = 200
REDIS_URL = "redis://127.0.0.1:6379/14"
API_RATE_LIMIT = "100000000 per minute"
ORG_SLUG = "bench-intake"
GUNICORN = ["-w", "4", "-k", "gthread", "--threads", "4"]


def log(message: str) -> None:
    print(f"[intake] {message}", file=sys.stderr, flush=True)


# -- request bodies ---------------------------------------------------------------------------


def bodies(n: int, start: int, rng: random.Random) -> list[bytes]:
    """n JSON leads as a web form or an integration sends them; phones and e-mails unique
    (a counter in the subscriber number), half the phones in national format."""
    out = []
    for i in range(start, start + n):
        german = rng.random() < 0.7
        first = rng.choice(seed_leads.FIRST_DE if german else seed_leads.FIRST_US)
        last = rng.choice(seed_leads.LAST_DE if german else seed_leads.LAST_US)
        subscriber = 20_000_000 + i  # 8 digits, unique per request
        phone = f"0151 {subscriber}" if i % 2 else f"+49151{subscriber}"
        if not german:
            phone = f"+1 (415) {200 + i // 10_000 % 800:03d}-{i % 10_000:04d}"
        local = f"{seed_leads._ascii(first)}.{seed_leads._ascii(last)}.{i}"
        body = {
            "name": f"{first} {last}",
            "phones": [phone],
            "emails": [f"{local}@{rng.choice(seed_leads.MAIL_DOMAINS_DE)}"],
            "source": rng.choice(("web", "web", "web", "campaign", "referral")),
            "intake_form": "contact-form",
            "company": rng.choice(("", "", f"{last} Logistik GmbH", f"{last} & Partner")),
            "address": f"{rng.choice(seed_leads.STREETS_DE)} {rng.randrange(1, 200)}, 10115 Berlin",
            "tags": rng.sample(["newsletter", "financing", "test-drive", "trade-in"], 2),
            "value": rng.choice((None, 5000, 12000, 25500.5)),
            "temperature": rng.choice(("hot", "warm", "cold", None)),
        }
        out.append(json.dumps(body).encode())
    return out


# -- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn in its own process group; stopped by that group's id."""

    def __init__(self, label: str, app: str, chdir: Path, env: dict[str, str], tmp: Path):
        self.label = label
        self.port = free_port()
        self.log_path = tmp / f"gunicorn-{label}.log"
        command = [
            str(VENV_BIN / "gunicorn"),
            *GUNICORN,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(chdir),
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
            app,
        ]
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
            command,
            env={**os.environ, **env},
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str, headers: dict[str, str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path, headers=headers)
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.label} did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_file.close()


# -- load -------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    label: str
    requests: int
    seconds: float
    latencies: list[float]
    statuses: Counter
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


def drive(label: str, port: int, path: str, payloads: list[bytes], headers: dict) -> LoadResult:
    """Send every payload once from CLIENTS threads with keep-alive connections."""
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors = [0]
    idempotent = "Authorization" in headers

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, codes, failed = [], Counter(), 0
        while True:
            with lock:
                i = next(counter)
            if i >= len(payloads):
                break
            hdrs = dict(headers)
            if idempotent:
                hdrs["Idempotency-Key"] = f"bench-{os.getpid()}-{label}-{i}"
            begin = time.perf_counter()
            try:
                conn.request("POST", path, body=payloads[i], headers=hdrs)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            mine.append(time.perf_counter() - begin)
            codes[response.status] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return LoadResult(label, len(payloads), seconds, latencies, statuses, errors[0])


# -- setup ------------------------------------------------------------------------------------


def prepare(url: str, tmp: Path, existing: int) -> tuple[str, str, int, seed_leads.SeedResult]:
    """Migrate with the CLI, seed, make the key and the bare table. Returns (token, key
    prefix, org id, seed result)."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "LEADTRACK_INSTANCE": str(tmp / "instance"),
    }
    subprocess.run(  # noqa: S603
        [str(VENV_BIN / "leadtrack"), "db", "upgrade"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    log("leadtrack db upgrade: done")

    import bare_app

    from leadtrack.extensions import db
    from leadtrack.models import Organization, User
    from leadtrack.services import api_keys

    app = seed_leads.make_app(url)
    with app.app_context():
        info, _ = seed_leads.ensure_org(db.session, ORG_SLUG)
        log(f"seeding {existing:,} existing leads")
        seeded = seed_leads.seed(db.session, info, existing)
        org = db.session.get(Organization, info.org_id)
        admin = db.session.get(User, info.admin_id)
        key, token = api_keys.create_api_key(
            db.session, org, name="Intake bench", scopes="leads:create", created_by=admin
        )
        prefix = key.prefix
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    engine = bare_app.make_engine(url)
    bare_app.metadata.create_all(engine)
    engine.dispose()
    return token, prefix, info.org_id, seeded


def count_rows(url: str, org_id: int) -> tuple[int, int]:
    import bare_app

    from leadtrack.models import Lead

    engine = bare_app.make_engine(url)
    with engine.connect() as conn:
        leads = conn.scalar(select(func.count()).select_from(Lead).where(Lead.org_id == org_id))
        rows = conn.scalar(select(func.count()).select_from(bare_app.rows))
    engine.dispose()
    return leads, rows


# -- one request, in-process -------------------------------------------------------------------


@dataclass
class Anatomy:
    label: str
    ms_per_request: float
    statements: float  # SQL statements per request (BEGIN/COMMIT not counted)
    statuses: Counter
    sql: list[str]  # the statements of one request, first line of each
    sql_ms: float  # time inside cursor.execute (round trip + server), per request
    cpu_ms: float  # CPU time of this process (the app's Python), per request
    redis_ms: float  # time in Redis commands (the rate limiter), per request


def anatomy(url: str, tmp: Path, token: str, requests: int, rng: random.Random) -> list[Anatomy]:
    """Both endpoints through Flask's test client in this process, one request at a time:
    what one request costs without concurrency, and how many statements it sends."""
    import bare_app
    from sqlalchemy import event

    from leadtrack import create_app
    from leadtrack.extensions import db

    real = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": REDIS_URL,
            "API_RATE_LIMIT": API_RATE_LIMIT,
        }
    )
    bare_app.engine = bare_app.make_engine(url)
    with real.app_context():
        real_engine = db.engine
    out = []
    import redis

    original_command = redis.Redis.execute_command
    for label, app, engine, path in (
        ("bare Flask + 1 INSERT", bare_app.app, bare_app.engine, "/rows"),
        ("POST /api/v1/leads", real, real_engine, "/api/v1/leads"),
    ):
        seen: list[str] = []
        clock = {"sql": 0.0, "redis": 0.0, "mark": 0.0}

        def before(conn, cursor, statement, parameters, context, executemany, seen=seen, c=clock):
            seen.append(statement.strip().split("\n")[0][:100])
            c["mark"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany, c=clock):
            c["sql"] += time.perf_counter() - c["mark"]

        def timed_command(self, *args, c=clock, **kwargs):
            begin = time.perf_counter()
            try:
                return original_command(self, *args, **kwargs)
            finally:
                c["redis"] += time.perf_counter() - begin

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        redis.Redis.execute_command = timed_command
        client = app.test_client()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        payloads = bodies(requests + 20, 5_000_000 + len(out) * 100_000, rng)
        statuses: Counter = Counter()
        try:
            for number, payload in enumerate(payloads):
                if number == 20:  # after the warm-up
                    seen.clear()
                    clock.update(sql=0.0, redis=0.0)
                    started = time.perf_counter()
                    cpu_started = time.process_time()
                hdrs = {**headers, "Idempotency-Key": f"anatomy-{os.getpid()}-{label}-{number}"}
                statuses[client.post(path, data=payload, headers=hdrs).status_code] += 1
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
            redis.Redis.execute_command = original_command
        per = len(seen) / requests
        out.append(
            Anatomy(
                label,
                elapsed / requests * 1000,
                per,
                statuses,
                seen[: round(per)],
                clock["sql"] / requests * 1000,
                cpu / requests * 1000,
                clock["redis"] / requests * 1000,
            )
        )
        log(f"in-process: {label}: {elapsed / requests * 1000:.1f} ms, {per:.1f} statements")
    bare_app.engine.dispose()
    with real.app_context():
        db.session.remove()
        db.engine.dispose()
    return out


# -- main -------------------------------------------------------------------------------------


def run_round(
    number: int, url: str, tmp: Path, token: str, requests: int, rng: random.Random
) -> tuple[LoadResult, LoadResult]:
    offset = number * 2 * (requests + WARMUP)
    results = []
    for label, app, chdir, path in (
        ("bare", "bare_app:app", BENCH, "/rows"),
        ("real", "wsgi:app", ROOT, "/api/v1/leads"),
    ):
        env = {"DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        headers = {"Content-Type": "application/json"}
        ready_path, ready_headers = "/health", {}
        if label == "real":
            env.update(
                REDIS_URL=REDIS_URL,
                API_RATE_LIMIT=API_RATE_LIMIT,
                LEADTRACK_INSTANCE=str(tmp / "instance"),
                SECRET_KEY="bench-secret-key",  # noqa: S106 - a scratch server
            )
            headers["Authorization"] = f"Bearer {token}"
            ready_path, ready_headers = "/api/v1/openapi.json", {"Authorization": f"Bearer {token}"}
        warm = bodies(WARMUP, offset, rng)
        payloads = bodies(requests, offset + WARMUP, rng)
        offset += WARMUP + requests
        server = Server(f"{label}{number}", app, chdir, env, tmp)
        try:
            server.wait_ready(ready_path, ready_headers)
            drive(f"{label}-warm{number}", server.port, path, warm, headers)
            log(f"round {number + 1}: {label}: {requests:,} requests, {CLIENTS} clients")
            result = drive(f"{label}{number}", server.port, path, payloads, headers)
        finally:
            server.stop()
        log(
            f"round {number + 1}: {label}: {result.throughput:,.0f} req/s, p50 "
            f"{result.percentile_ms(0.5):.1f} ms, p99 {result.percentile_ms(0.99):.1f} ms, "
            f"statuses {dict(result.statuses)}, errors {result.errors}"
        )
        results.append(result)
    return results[0], results[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per server and round")
    parser.add_argument("--rounds", type=int, default=1, help="bare then real, this many times")
    parser.add_argument("--existing", type=int, default=100_000, help="leads seeded first")
    parser.add_argument(
        "--anatomy", type=int, default=200, help="in-process sequential requests (0: skip)"
    )
    args = parser.parse_args(argv)
    if not scratch_db.postgres_reachable():
        return 1
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    rng = random.Random(7)
    rounds: list[tuple[LoadResult, LoadResult]] = []
    prefix = None
    with (
        scratch_db.scratch_dir("leadtrack-bench-intake-") as tmp,
        scratch_db.scratch_postgres("leadtrack_bench_intake") as url,
    ):
        try:
            token, prefix, org_id, seeded = prepare(url, tmp, args.existing)
            before = count_rows(url, org_id)
            for number in range(args.rounds):
                rounds.append(run_round(number, url, tmp, token, args.requests, rng))
            after = count_rows(url, org_id)
            parts = anatomy(url, tmp, token, args.anatomy, rng) if args.anatomy else []
        finally:
            if prefix:
                scratch_db.delete_redis_keys(REDIS_URL, f"*key:{prefix}*")
    created = [after[0] - before[0], after[1] - before[1]]
    loads = (load_start, os.getloadavg()[0])
    print(report(args, rounds, seeded, created, parts, loads, started))
    return 0


def report(args, rounds, seeded, created, parts, loads, started) -> str:
    import measure

    out = [
        "LeadTrack benchmark: intake through gunicorn (figures only, no pass/fail)",
        "",
        f"  date      {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"  machine   {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"python {platform.python_version()}",
        f"  load      {loads[0]:.2f} at start, {loads[1]:.2f} at end (1-minute load average)",
        f"  servers   gunicorn {' '.join(GUNICORN)}, 127.0.0.1; PostgreSQL scratch database "
        f"with {seeded.leads:,} leads already in it; Redis {REDIS_URL}",
        f"  load      {CLIENTS} client threads (http.client, keep-alive), {WARMUP} warm-up "
        f"then {args.requests:,} requests per server and round, unique phones and e-mails",
        "",
    ]
    rows = []
    for number, (bare, real) in enumerate(rounds, start=1):
        for result in (bare, real):
            rows.append(
                [
                    number,
                    "bare Flask + 1 INSERT" if result is bare else "POST /api/v1/leads",
                    f"{result.throughput:,.0f}",
                    measure.ms(result.percentile_ms(0.5)),
                    measure.ms(result.percentile_ms(0.99)),
                    " ".join(f"{c}x{n}" for c, n in sorted(result.statuses.items()))
                    + (f" errors {result.errors}" if result.errors else ""),
                    f"{real.throughput / bare.throughput:.2f}" if result is real else "",
                ]
            )
    out.append(
        measure.table(
            ["round", "endpoint", "req/s", "p50 ms", "p99 ms", "statuses", "real/bare"],
            rows,
            left=2,
        )
    )
    total_real = sum(r.requests for _, r in rounds) + WARMUP * len(rounds)
    total_bare = sum(b.requests for b, _ in rounds) + WARMUP * len(rounds)
    out += [
        "",
        f"  rows written: {created[0]:,} leads (sent {total_real:,} incl. warm-up), "
        f"{created[1]:,} bare rows (sent {total_bare:,})",
    ]
    if parts:
        out += [
            "",
            f"One request at a time, in-process (Flask test client, no HTTP server), "
            f"{args.anatomy} requests after 20 warm-up:",
            "",
            measure.table(
                [
                    "endpoint",
                    "ms/request",
                    "CPU ms",
                    "statements",
                    "in SQL ms",
                    "in Redis ms",
                    "statuses",
                ],
                [
                    [
                        a.label,
                        measure.ms(a.ms_per_request),
                        measure.ms(a.cpu_ms),
                        f"{a.statements:.1f}",
                        measure.ms(a.sql_ms),
                        measure.ms(a.redis_ms),
                        " ".join(f"{c}x{n}" for c, n in sorted(a.statuses.items())),
                    ]
                    for a in parts
                ],
            ),
            "",
            f"  statements of one {parts[-1].label} (plus BEGIN/COMMIT):",
            *(f"    {line}" for line in parts[-1].sql),
        ]
    out += ["", f"  total runtime {time.perf_counter() - started:.0f} s"]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
