"""The leads list at size: p50/p95 of the list page's queries and of the API's cursor page,
for the common filters, on PostgreSQL and SQLite. Figures only, no pass/fail.

    .venv/bin/python bench/list_bench.py                       # quick: 100,000 PG, 50,000 SQLite
    .venv/bin/python bench/list_bench.py --postgres-leads 1000000 --sqlite-leads 200000
    .venv/bin/python bench/list_bench.py --database-url URL    # an already seeded database
    .venv/bin/python bench/list_bench.py ... --explain         # + EXPLAIN ANALYZE (PostgreSQL)
    .venv/bin/python bench/list_bench.py ... --proposed        # + again with the proposed fixes

Without --database-url, each database is a scratch one (`leadtrack_bench_list_<pid>` on
127.0.0.1:5432, a SQLite file in a temp dir), seeded by seed_leads.py and removed at the end.

Per filter and run (fresh session each run; loading the actor and the organization is not
timed, as a request has them already):
- page: `lead_query.build_query` as the org admin, `count`, then the first 50 sorted
  -created with `with_relations`, exactly as blueprints/leads.py `_results` does;
- API: `build_query` for the API key (actor None), the API view's extra `selectinload`s,
  `page_by_cursor(limit=50)` and `lead_json` for each lead, as GET /api/v1/leads does.
Then, for reference, the real HTTP handlers once through Flask's test client (a few calls).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

os.environ.setdefault("SECRET_KEY", "bench-secret-key")  # no instance/secret_key is written

import measure
import scratch_db
import seed_leads
from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload

from leadtrack.extensions import db
from leadtrack.models import (
    Lead,
    LeadPhone,
    Organization,
    Product,
    Role,
    Unit,
    User,
)
from leadtrack.services import lead_query
from leadtrack.timeutil import utcnow

GOAL_MS = 150
RUNS = 30
CASE_BUDGET_S = 20.0  # a slow case stops sampling after this long (fewer runs, noted)
HTTP_RUNS = 3
ORG_SLUG = "bench-leads"
PROPOSED = {"on": False}
NAME_PREFIX = "hann"  # Hannah, Hannes, Hanna: a first-name prefix as typed in the search box
TAG = "vip"  # a rare tag (3 % of leads)
DEEP_OFFSET = 100_000


@dataclass
class Case:
    label: str
    filters: dict[str, str]
    actor: str = "admin"  # whose list page: admin or store_manager
    cursor_offset: int = 0  # API: start the cursor after this many leads


@dataclass
class Timing:
    total: measure.Sample
    count: measure.Sample | None
    rows: int
    matches: int | None


@dataclass
class CaseResult:
    case: Case
    page: Timing | None
    api: Timing


@dataclass
class DatabaseRun:
    label: str
    version: str
    leads: int
    seed: seed_leads.SeedResult | None
    results: list[CaseResult] = field(default_factory=list)
    http: list[tuple[str, measure.Sample, int]] = field(default_factory=list)
    explains: list[tuple[str, str, list[str]]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Context:
    org_id: int
    admin_id: int
    store_manager_id: int
    agent_id: int
    store_id: int
    area_id: int
    phone: str
    deep_cursor: str | None


def log(message: str) -> None:
    print(f"[list] {message}", file=sys.stderr, flush=True)


# -- the cases --------------------------------------------------------------------------------


def context(session) -> Context:
    org = session.scalars(select(Organization).where(Organization.slug == ORG_SLUG)).one()
    people = session.scalars(select(User).where(User.org_id == org.id).order_by(User.id)).all()
    admin = next(u for u in people if u.role == Role.ORG_ADMIN)
    agent = next(u for u in people if u.role == Role.AGENT)
    stores = session.scalars(
        select(Unit).where(Unit.org_id == org.id, Unit.kind == "store").order_by(Unit.id)
    ).all()
    areas = session.scalars(
        select(Unit).where(Unit.org_id == org.id, Unit.kind == "area").order_by(Unit.id)
    ).all()
    total = session.scalar(select(func.count()).select_from(Lead).where(Lead.org_id == org.id))
    # a phone of a lead from the middle of the range, as someone would type it in full
    middle = session.scalar(
        select(LeadPhone.phone)
        .where(LeadPhone.org_id == org.id)
        .order_by(LeadPhone.id)
        .offset(total // 2)
        .limit(1)
    )
    deep = None
    if total > DEEP_OFFSET:
        row = session.execute(
            select(Lead.created_at, Lead.id)
            .where(Lead.org_id == org.id, Lead.merged_into_id.is_(None))
            .order_by(Lead.created_at.desc(), Lead.id.desc())
            .offset(DEEP_OFFSET - 1)
            .limit(1)
        ).one()
        raw = json.dumps([row.created_at.isoformat(), row.id]).encode()
        deep = base64.urlsafe_b64encode(raw).decode().rstrip("=")  # as lead_query encodes
    return Context(
        org_id=org.id,
        admin_id=admin.id,
        store_manager_id=stores[0].manager_id,
        agent_id=agent.id,
        store_id=stores[0].id,
        area_id=areas[0].id,
        phone=middle,
        deep_cursor=deep,
    )


def cases(ctx: Context) -> list[Case]:
    found = [
        Case("none", {}),
        Case("status=new (category)", {"status": "new"}),
        Case("assignee=<one agent>", {"assignee": str(ctx.agent_id)}),
        Case("source=web", {"source": "web"}),
        Case(f"q={NAME_PREFIX} (name prefix)", {"q": NAME_PREFIX}),
        Case("phone=<full number>", {"phone": ctx.phone}),
        Case(f"tag={TAG}", {"tag": TAG}),
        Case("time_frame=7d", {"time_frame": "7d"}),
        Case("unit=<store> (subtree)", {"unit": str(ctx.store_id)}),
        Case(
            "status=open source=phone 30d unit=<area>",
            {"status": "open", "source": "phone", "time_frame": "30d", "unit": str(ctx.area_id)},
        ),
        Case("none, as a store manager", {}, actor="store_manager"),
    ]
    if ctx.deep_cursor:
        found.append(Case(f"none, cursor after {DEEP_OFFSET:,} leads", {}, cursor_offset=1))
    return found


# -- measuring --------------------------------------------------------------------------------


def sample_case(fn: Callable[[], tuple], runs: int) -> tuple[list[float], list[float], tuple]:
    """Run fn (fresh session each time; fn returns (count seconds or None, rows, matches))."""
    totals, counts, last = [], [], ()
    started = time.perf_counter()
    for _ in range(runs):
        db.session.remove()
        begin = time.perf_counter()
        last = fn()
        totals.append(time.perf_counter() - begin)
        if last[0] is not None:
            counts.append(last[0])
        if time.perf_counter() - started > CASE_BUDGET_S and len(totals) >= 5:
            break
    db.session.remove()
    return totals, counts, last


def page_fn(ctx: Context, case: Case) -> Callable[[], tuple]:
    actor_id = ctx.admin_id if case.actor == "admin" else ctx.store_manager_id
    filters = lead_query.LeadFilters.from_args(case.filters)

    def run() -> tuple:
        session = db.session
        org = session.get(Organization, ctx.org_id)
        actor = session.get(User, actor_id)
        begin = time.perf_counter()
        stmt = lead_query.build_query(session, org, actor, filters, utcnow())
        c0 = time.perf_counter()
        total = lead_query.count(session, stmt)
        count_s = time.perf_counter() - c0
        ordered = lead_query.with_relations(lead_query.sorted_query(stmt, filters.sort))
        rows = session.scalars(ordered.offset(0).limit(lead_query.PAGE_SIZE)).all()
        return count_s, len(rows), total, time.perf_counter() - begin

    return run


def api_fn(ctx: Context, case: Case) -> Callable[[], tuple]:
    from leadtrack.blueprints.api.serializers import lead_json

    filters = lead_query.LeadFilters.from_args(case.filters)
    cursor = ctx.deep_cursor if case.cursor_offset else None

    def run() -> tuple:
        session = db.session
        org = session.get(Organization, ctx.org_id)
        begin = time.perf_counter()
        stmt = lead_query.build_query(session, org, None, filters, utcnow())
        stmt = stmt.options(
            selectinload(Lead.emails),
            selectinload(Lead.phones),
            selectinload(Lead.product).selectinload(Product.brand),
        )
        page = lead_query.page_by_cursor(session, stmt, cursor, lead_query.PAGE_SIZE)
        body = [lead_json(lead, "http://localhost/") for lead in page.leads]
        return None, len(body), None, time.perf_counter() - begin

    return run


def timed(fn: Callable[[], tuple], runs: int) -> Timing:
    """The run functions time themselves (after the untimed loading of org and actor)."""
    own: list[float] = []

    def wrapper() -> tuple:
        result = fn()
        own.append(result[3])
        return result

    _, counts, last = sample_case(wrapper, runs)
    return Timing(
        total=measure.Sample(tuple(own)),
        count=measure.Sample(tuple(counts)) if counts else None,
        rows=last[1],
        matches=last[2],
    )


def bench_cases(ctx: Context, runs: int) -> list[CaseResult]:
    results = []
    for case in cases(ctx):
        page = None
        if not case.cursor_offset:
            page_fn(ctx, case)()  # warm-up: plans, caches, lazy imports
            page = timed(page_fn(ctx, case), runs)
        api_fn(ctx, case)()
        api = timed(api_fn(ctx, case), runs)
        results.append(CaseResult(case, page, api))
        page_text = (
            f"page p50 {measure.ms(page.total.median_ms)} p95 {measure.ms(page.total.p95_ms)} ms"
            f" ({page.matches:,} matches)"
            if page
            else "page -"
        )
        log(
            f"  {case.label}: {page_text}; API p50 {measure.ms(api.total.median_ms)} "
            f"p95 {measure.ms(api.total.p95_ms)} ms"
        )
    return results


# -- the proposed fixes (--proposed) ---------------------------------------------------------
#
# What the figures say would bring every case under the goal, tried here without touching the
# app: the code changes are patched into lead_query for this process only, the indexes are
# created in the benchmark database for the run and dropped afterwards (PostgreSQL only; on
# SQLite a LIKE with a `? || '%'` pattern never uses an index).

COUNT_CAP = 10_000
PROPOSED_INDEXES = {
    # LIKE 'prefix%' can use a btree only with pattern ops (the collation is not "C").
    "ix_lead_phone_org_phone_prefix": "lead_phone (org_id, phone varchar_pattern_ops)",
    "ix_lead_email_org_email_prefix": "lead_email (org_id, email varchar_pattern_ops)",
    "ix_lead_org_name_prefix": "lead (org_id, name_key varchar_pattern_ops)",
    "ix_lead_org_company_prefix": "lead (org_id, lower(company) varchar_pattern_ops)",
}


def create_proposed_indexes() -> list[str]:
    """The proposed indexes that are missing, created now; returns their names."""
    if db.engine.dialect.name != "postgresql":
        return []
    made = []
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        have = set(conn.scalars(text("SELECT indexname FROM pg_indexes")))
        for name, definition in PROPOSED_INDEXES.items():
            if name not in have:
                started = time.perf_counter()
                conn.execute(text(f"CREATE INDEX {name} ON {definition}"))
                made.append(name)
                log(f"created {name} in {time.perf_counter() - started:.1f} s")
        conn.execute(text("ANALYZE lead, lead_phone, lead_email"))
    return made


def drop_indexes(names: list[str]) -> None:
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for name in names:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


def patch_proposed() -> Callable[[], None]:
    """Patch the two proposed code changes into lead_query; returns the undo. (The third,
    NULLS LAST only on nullable sort columns, is in lead_query since commit 866eb79.)"""
    from sqlalchemy import and_, or_

    saved = (lead_query.count, lead_query.page_by_cursor)

    def count(session, stmt) -> int:
        # Count at most COUNT_CAP + 1 leads; the page says "10,000+" beyond that.
        capped = stmt.with_only_columns(Lead.id).order_by(None).limit(COUNT_CAP + 1)
        return session.scalar(select(func.count()).select_from(capped.subquery())) or 0

    def page_by_cursor(session, stmt, cursor, limit):
        # The same keyset, plus `created_at <= bound`: an index condition, so a deep cursor
        # starts where it should instead of filtering every newer lead away.
        limit = max(1, min(limit, lead_query.MAX_LIMIT))
        stmt = stmt.order_by(Lead.created_at.desc(), Lead.id.desc())
        if cursor:
            created, lead_id = lead_query._decode_cursor(cursor)
            stmt = stmt.where(
                Lead.created_at <= created,
                or_(Lead.created_at < created, and_(Lead.created_at == created, Lead.id < lead_id)),
            )
        rows = list(session.scalars(lead_query.with_relations(stmt.limit(limit + 1))))
        next_cursor = lead_query._encode_cursor(rows[limit - 1]) if len(rows) > limit else None
        return lead_query.Page(rows[:limit], next_cursor)

    lead_query.count, lead_query.page_by_cursor = count, page_by_cursor

    def undo() -> None:
        lead_query.count, lead_query.page_by_cursor = saved

    return undo


# -- EXPLAIN ----------------------------------------------------------------------------------


def explain(session, stmt) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of a select, parameters bound as the app binds them."""
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    processors = compiled._bind_processors
    bound = {k: processors[k](v) if k in processors else v for k, v in params.items()}
    result = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, bound)
    return [row[0] for row in result]


def explain_cases(ctx: Context) -> list[tuple[str, str, list[str]]]:
    out = []
    for case in cases(ctx):
        if case.cursor_offset or case.actor != "admin":
            continue
        session = db.session
        org = session.get(Organization, ctx.org_id)
        admin = session.get(User, ctx.admin_id)
        filters = lead_query.LeadFilters.from_args(case.filters)
        stmt = lead_query.build_query(session, org, admin, filters, utcnow())
        count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
        if PROPOSED["on"]:
            capped = stmt.with_only_columns(Lead.id).order_by(None).limit(COUNT_CAP + 1)
            count_stmt = select(func.count()).select_from(capped.subquery())
        page_stmt = lead_query.sorted_query(stmt, filters.sort).limit(lead_query.PAGE_SIZE)
        api_stmt = (
            lead_query.build_query(session, org, None, filters, utcnow())
            .order_by(Lead.created_at.desc(), Lead.id.desc())
            .limit(lead_query.PAGE_SIZE + 1)
        )  # the first page; the deep cursor is in docs/performance.md
        out.append((case.label, "count", explain(session, count_stmt)))
        out.append((case.label, "page", explain(session, page_stmt)))
        out.append((case.label, "API", explain(session, api_stmt)))
        db.session.remove()
    return out


# -- the real handlers, once ------------------------------------------------------------------


def bench_http(app, ctx: Context) -> list[tuple[str, measure.Sample, int]]:
    from leadtrack.services import api_keys

    with app.app_context():
        org = db.session.get(Organization, ctx.org_id)
        admin = db.session.get(User, ctx.admin_id)
        _, token = api_keys.create_api_key(
            db.session, org, name="List bench", scopes="leads:read", created_by=admin
        )
        db.session.commit()
        email = admin.email
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": seed_leads.PASSWORD})
    assert response.status_code in (302, 303), f"login failed: {response.status_code}"
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    for label, url, hdrs in (
        ("GET /leads (HTML page, no filter)", "/leads", {}),
        ("GET /leads?status=new", "/leads?status=new", {}),
        ("GET /api/v1/leads (no filter)", "/api/v1/leads", headers),
        ("GET /api/v1/leads?status=new", "/api/v1/leads?status=new", headers),
    ):
        statuses = set()

        def hit(url=url, hdrs=hdrs, statuses=statuses) -> None:
            statuses.add(client.get(url, headers=hdrs).status_code)

        hit()  # warm-up
        timing, _ = measure.sample(hit, HTTP_RUNS)
        out.append((label, timing, max(statuses)))
    with app.app_context():
        db.session.remove()
    return out


# -- one database -----------------------------------------------------------------------------


def server_version() -> str:
    if db.engine.dialect.name == "postgresql":
        raw = db.session.execute(text("SHOW server_version")).scalar_one()
        return f"PostgreSQL {raw.split()[0]}"
    return f"SQLite {sqlite3.sqlite_version}"


def make_app(url: str, redis_url: str, key_prefix: str):
    from leadtrack import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": redis_url,
            "API_RATE_LIMIT": "1000000 per minute",
            "RATELIMIT_KEY_PREFIX": key_prefix,
            "WTF_CSRF_ENABLED": False,  # the test client signs in without reading the form
        }
    )


def bench_database(
    label: str,
    url: str,
    seed_n: int | None,
    runs: int,
    redis_url: str,
    key_prefix: str,
    want_explain: bool,
    proposed: bool = False,
) -> DatabaseRun:
    from flask_migrate import upgrade

    started = time.perf_counter()
    app = make_app(url, redis_url, key_prefix)
    with app.app_context():
        seeded = None
        if seed_n is not None:
            upgrade()
            info, _ = seed_leads.ensure_org(db.session, ORG_SLUG)
            log(f"{label}: seeding {seed_n:,} leads")
            seeded = seed_leads.seed(
                db.session, info, seed_n, progress=_every(seed_n // 10 or 1, label)
            )
            log(
                f"{label}: seeded {seeded.total_rows:,} rows in {seeded.seconds:.0f} s "
                f"({seeded.leads / seeded.seconds:,.0f} leads/s), vacuum/analyze "
                f"{seeded.vacuum_seconds:.1f} s"
            )
        version = server_version()
    made: list[str] = []
    undo = None
    try:
        with app.app_context():
            if proposed:
                made = create_proposed_indexes()
                undo = patch_proposed()
                PROPOSED["on"] = True
            ctx = context(db.session)
            leads = db.session.scalar(
                select(func.count()).select_from(Lead).where(Lead.org_id == ctx.org_id)
            )
            db.session.remove()
            log(f"{label}: {leads:,} leads; {runs} runs per case")
            run = DatabaseRun(label + (", proposed" if proposed else ""), version, leads, seeded)
            run.results = bench_cases(ctx, runs)
            if want_explain and db.engine.dialect.name == "postgresql":
                log(f"{label}: EXPLAIN ANALYZE")
                run.explains = explain_cases(ctx)
        log(f"{label}: the real handlers through the test client")
        run.http = bench_http(app, ctx)
    finally:
        PROPOSED["on"] = False
        if undo:
            undo()
        with app.app_context():
            db.session.remove()
            if made:
                drop_indexes(made)
                log(f"{label}: dropped {', '.join(made)}")
            db.engine.dispose()
    run.seconds = time.perf_counter() - started
    return run


def _every(step: int, label: str):
    state = {"next": step}

    def progress(message: str) -> None:
        done = int(message.split(" ", 1)[0].replace(",", ""))
        if done >= state["next"]:
            state["next"] += step
            log(f"{label}: {message}")

    return progress


# -- report -----------------------------------------------------------------------------------


def report(runs: list[DatabaseRun], n_runs: int, loads: tuple[float, float], total: float) -> str:
    out = [
        "LeadTrack benchmark: the leads list (figures only, no pass/fail)",
        "",
        f"  date      {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"  machine   {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"python {platform.python_version()}",
        f"  load      {loads[0]:.2f} at start, {loads[1]:.2f} at end (1-minute load average)",
    ]
    for run in runs:
        seeded = ""
        if run.seed:
            s = run.seed
            seeded = (
                f"; seeded {s.total_rows:,} rows in {s.seconds:.0f} s "
                f"({s.leads / s.seconds:,.0f} leads/s, {s.total_rows / s.seconds:,.0f} rows/s"
                f"{'' if s.fk_checks else ', FK triggers off'}), "
                f"{'VACUUM ANALYZE' if 'Postgre' in run.version else 'ANALYZE'} "
                f"{s.vacuum_seconds:.0f} s"
            )
        out.append(f"  {run.label:<20}  {run.version}, {run.leads:,} leads{seeded}")
    out += [
        "",
        f"Per case {n_runs} runs (fewer if a case passed {CASE_BUDGET_S:.0f} s), fresh session "
        "each; ms. page = build_query + count + first 50 (-created, with relations);",
        "API = build_query + page_by_cursor(50) + lead_json. Goal: p95 <= "
        f"{GOAL_MS} ms. '!' marks a p95 over the goal.",
    ]
    if any(run.label.endswith("proposed") for run in runs):
        out.append(
            f"'proposed': count capped at {COUNT_CAP + 1:,}, cursor with `created_at <= bound`; "
            f"on PostgreSQL also the indexes {', '.join(PROPOSED_INDEXES)}."
        )
    out += [
        "",
    ]
    rows = []
    for run in runs:
        for r in run.results:
            page = r.page
            rows.append(
                [
                    run.label,
                    r.case.label,
                    f"{page.matches:,}" if page else "",
                    measure.ms(page.count.median_ms) if page and page.count else "",
                    measure.ms(page.total.median_ms) if page else "",
                    _p95(page.total) if page else "",
                    measure.ms(r.api.total.median_ms),
                    _p95(r.api.total),
                    f"{page.total.runs}/{r.api.total.runs}" if page else f"-/{r.api.total.runs}",
                ]
            )
    out.append(
        measure.table(
            [
                "database",
                "filter",
                "matches",
                "count p50",
                "page p50",
                "page p95",
                "API p50",
                "API p95",
                "runs",
            ],
            rows,
            left=2,
        )
    )
    out += [
        "",
        f"The real handlers through Flask's test client, {HTTP_RUNS} calls after 1 warm-up:",
    ]
    out.append("")
    out.append(
        measure.table(
            ["database", "request", "status", "median ms", "max ms"],
            [
                [
                    run.label,
                    label,
                    status,
                    measure.ms(t.median_ms),
                    measure.ms(max(t.durations) * 1000),
                ]
                for run in runs
                for label, t, status in run.http
            ],
            left=2,
        )
    )
    for run in runs:
        if run.explains:
            out += ["", f"EXPLAIN (ANALYZE, BUFFERS), {run.label}:"]
            for label, what, lines in run.explains:
                out += ["", f"-- {label}: {what}", *("   " + line for line in lines)]
    out += ["", f"total runtime {total:.0f} s"]
    return "\n".join(out)


def _p95(sample: measure.Sample) -> str:
    value = measure.ms(sample.p95_ms)
    return value + (" !" if sample.p95_ms > GOAL_MS else "")


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-leads", type=int, default=100_000)
    parser.add_argument("--sqlite-leads", type=int, default=50_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--database-url", help="bench this seeded database instead (no seeding, not dropped)"
    )
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE (PostgreSQL)")
    parser.add_argument(
        "--proposed",
        action="store_true",
        help="then again with the proposed fixes (code patched in this process, indexes "
        "created for the run and dropped)",
    )
    args = parser.parse_args(argv)

    from leadtrack.config import normalize_database_url

    redis_url = os.environ.get("REDIS_URL") or seed_leads.DEFAULT_REDIS_URL
    key_prefix = f"ltbench-list-{os.getpid()}"
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    runs: list[DatabaseRun] = []

    def bench(label: str, url: str, seed_n: int | None, explain: bool) -> None:
        runs.append(bench_database(label, url, seed_n, args.runs, redis_url, key_prefix, explain))
        if args.proposed:
            runs.append(
                bench_database(
                    label, url, None, args.runs, redis_url, key_prefix, explain, proposed=True
                )
            )

    try:
        if args.database_url:
            url = normalize_database_url(args.database_url)
            bench(
                "PostgreSQL" if url.startswith("postgresql") else "SQLite", url, None, args.explain
            )
        else:
            if not args.skip_postgres and scratch_db.postgres_reachable():
                with scratch_db.scratch_postgres("leadtrack_bench_list") as url:
                    bench("PostgreSQL", url, args.postgres_leads, args.explain)
            if not args.skip_sqlite:
                with scratch_db.scratch_dir("leadtrack-bench-list-") as tmp:
                    bench("SQLite", f"sqlite:///{tmp / 'leads.db'}", args.sqlite_leads, False)
    finally:
        scratch_db.delete_redis_keys(redis_url, f"*{key_prefix}*")
    print(report(runs, args.runs, (load_start, os.getloadavg()[0]), time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
