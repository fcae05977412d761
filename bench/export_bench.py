"""Export benchmark: seed N realistic leads with bulk inserts, then time the export of all of
them (`lead_export.csv_stream`, or `xlsx_file`) and report rows/s and peak RSS.

    .venv/bin/python bench/export_bench.py                    # 200,000 leads, temp SQLite file
    .venv/bin/python bench/export_bench.py --n 1000000 --postgres   # scratch PostgreSQL DB
    .venv/bin/python bench/export_bench.py --database-url postgresql://postgres@host/x_bench

`--postgres` creates `leadtrack_exportbench_<pid>` on 127.0.0.1:5432 (user postgres, trust
auth) and drops it afterwards. `--database-url` must name a throwaway database (its name
contains "bench" or "test"): the script creates the tables if needed and adds an organization
with N leads, which it leaves there. The SQLite temp directory is removed unless `--keep`.

The export runs in a child process, so its peak RSS (`ru_maxrss`) is the export's and not
the seeding's; the child's RSS before the export (modules and one session loaded) is shown
too. The export is what a request does: the scoped query of an org admin with the given
filters (`--filters "source=web&status=open"`), sorted newest first, counted, then every row
encoded as UTF-8 and written to /dev/null. No Flask, no Redis: services and a session only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from leadtrack.config import normalize_database_url  # noqa: E402
from leadtrack.models import (  # noqa: E402
    CustomField,
    Lead,
    LeadEmail,
    LeadPhone,
    LeadStatus,
    LeadTag,
    Organization,
    Role,
    StatusCategory,
    Unit,
    User,
)
from leadtrack.models.base import Base  # noqa: E402
from leadtrack.services import lead_export, lead_query, lead_settings  # noqa: E402
from leadtrack.services.lead_query import LeadFilters  # noqa: E402

BATCH = 5_000
AGENTS = 60
STORES = 12
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

_FIRST = (
    "Anna Ben Clara David Elif Felix Greta Hannes Ida Jonas Karla Lukas Mia Noah Olga Paul "
    "Quirin Rosa Sven Tanja Uwe Vera Wolfgang Yara Zoe Jürgen Zoë Mehmet Ayşe Łukasz Priya "
    "Chen Fatima Omar Sofia Mateo Lena Tim Nora Emil"
)
_LAST = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch "
    "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Yılmaz Kowalski Nguyen Rossi García O'Brien Schmitt Werner Krause"
)
FIRST, LAST = _FIRST.split(), _LAST.split()
STREETS = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Lindenallee",
    "Schillerstraße",
    "Am Markt",
    "Kirchplatz",
    "Bergstraße",
    "Hafenstraße",
    "Rosenweg",
)
DISTRICTS = ("Mitte", "Altona", "Eimsbüttel", "Nord", "Wandsbek", "Harburg", "Bergedorf")
DIVISIONS = ("Hamburg", "Schleswig-Holstein", "Niedersachsen", "Bremen")
PROFESSIONS = (
    "Engineer",
    "Teacher",
    "Nurse",
    "Student",
    "Retired",
    "Lawyer",
    "Driver",
    "Chef",
    "Architect",
    "Self-employed",
    "",
)
COMPANY_SUFFIX = ("GmbH", "AG", "KG", "& Co. KG", "e.K.", "Ltd")
DOMAINS = ("example.com", "mail.example.org", "web.example.net", "firma.example.de")
TAGS = ("vip", "test-drive", "financing", "trade-in", "newsletter", "callback", "fleet")
SOURCES = (
    ("web", 35),
    ("phone", 20),
    ("walk-in", 15),
    ("email", 10),
    ("referral", 8),
    ("campaign", 7),
    ("api", 3),
    ("import", 2),
)
STATUS_WEIGHTS = {
    "New": 20,
    "Contacted": 18,
    "Qualified": 12,
    "Follow-up": 12,
    "Could not reach": 8,
    "Won": 12,
    "Lost": 12,
    "Dead": 6,
}
LOST_REASONS = ("Price too high", "Bought elsewhere", "No longer interested", "No budget")
INTERESTS = ("Test drive", "Leasing", "Service", "Parts")


def log(message: str) -> None:
    print(f"[export-bench] {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- seeding -------------------------------------------------------------------------------


def seed(session: Session, n: int, rng: random.Random) -> tuple[int, int]:
    """An organization with stores, agents, two custom fields and `n` leads. Returns the
    organization's and its admin's ids."""
    org = Organization(
        slug=f"export-bench-{os.getpid()}",
        name="Export Bench GmbH",
        timezone="Europe/Berlin",
        default_country="DE",
    )
    session.add(org)
    session.flush()
    lead_settings.ensure_defaults(session, org)
    for position, (key, label, kind, options) in enumerate(
        (("budget", "Budget", "money", []), ("interest", "Interest", "select", list(INTERESTS)))
    ):
        session.add(
            CustomField(
                org_id=org.id, key=key, label=label, type=kind, options=options, position=position
            )
        )
    stores = _ids(
        session,
        Unit,
        [{"org_id": org.id, "name": f"Store {i + 1}", "kind": "store"} for i in range(STORES)],
    )
    people = [
        {
            "org_id": org.id,
            "email": f"admin@{org.slug}.example.com",
            "name": "Bench Admin",
            "password_hash": "x",
            "role": Role.ORG_ADMIN.value,
        }
    ]
    people += [
        {
            "org_id": org.id,
            "email": f"agent{i}@{org.slug}.example.com",
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "password_hash": "x",
            "role": Role.AGENT.value,
            "unit_id": stores[i % STORES],
        }
        for i in range(AGENTS)
    ]
    admin_id, *agent_ids = _ids(session, User, people)
    agents = [(agent_id, stores[i % STORES]) for i, agent_id in enumerate(agent_ids)]
    statuses = {
        s.name: (s.id, s.category)
        for s in session.scalars(select(LeadStatus).where(LeadStatus.org_id == org.id))
    }
    session.commit()

    # Lead ids are given here: SQLite cannot return ids in order for a multi-row insert, and
    # SQLAlchemy would fall back to one INSERT per lead.
    next_id = (session.scalar(select(func.max(Lead.id))) or 0) + 1
    status_names = list(STATUS_WEIGHTS)
    status_weights = list(STATUS_WEIGHTS.values())
    source_codes = [code for code, _ in SOURCES]
    source_weights = [weight for _, weight in SOURCES]
    done = 0
    started = time.perf_counter()
    while done < n:
        size = min(BATCH, n - done)
        leads, contacts = [], []
        for _ in range(size):
            lead, extra = _lead(
                org.id,
                rng,
                agents,
                stores,
                statuses,
                status_names,
                status_weights,
                source_codes,
                source_weights,
            )
            leads.append(lead)
            contacts.append(extra)
        lead_ids = list(range(next_id, next_id + size))
        next_id += size
        for lead_id, lead in zip(lead_ids, leads, strict=True):
            lead["id"] = lead_id
        # Core inserts (`insert(Lead.__table__)`): one executemany per batch. The ORM's bulk
        # insert splits the batch wherever a row's None values differ.
        session.execute(insert(Lead.__table__), leads)
        emails, phones, tags = [], [], []
        for lead_id, (lead_emails, lead_phones, lead_tags) in zip(lead_ids, contacts, strict=True):
            emails += [
                {"org_id": org.id, "lead_id": lead_id, "email": e, "position": p}
                for p, e in enumerate(lead_emails)
            ]
            phones += [
                {"org_id": org.id, "lead_id": lead_id, "phone": ph, "position": p}
                for p, ph in enumerate(lead_phones)
            ]
            tags += [{"org_id": org.id, "lead_id": lead_id, "tag": t} for t in lead_tags]
        for model, rows in ((LeadEmail, emails), (LeadPhone, phones), (LeadTag, tags)):
            if rows:
                session.execute(insert(model.__table__), rows)
        session.commit()
        done += size
        if done % 100_000 == 0 or done == n:
            rate = done / (time.perf_counter() - started)
            log(f"seeded {done:,} leads ({rate:,.0f}/s)")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('lead', 'id'), :top)"), {"top": next_id - 1}
        )
        session.commit()
    return org.id, admin_id


def _ids(session: Session, model: type, rows: list[dict]) -> list[int]:
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


def _lead(
    org_id,
    rng,
    agents,
    stores,
    statuses,
    status_names,
    status_weights,
    source_codes,
    source_weights,
):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = f"{first} {last}"
    if rng.random() < 0.005:  # what the neutralization is for
        name = rng.choice(("=cmd|' /C calc'!A0", "+49 unknown", "-", "@import"))
    handle = f"{first}.{last}".lower().replace("'", "")
    emails = [f"{handle}{rng.randrange(1000)}@{rng.choice(DOMAINS)}"] if rng.random() < 0.85 else []
    phones = [f"+49{rng.choice('1234')}{rng.randrange(10**8, 10**9)}"]
    if emails and rng.random() < 0.2:
        phones = []
    if rng.random() < 0.1:
        emails.append(f"{last.lower()}.{rng.randrange(100)}@{rng.choice(DOMAINS)}")
    if rng.random() < 0.1:
        phones.append(f"+4930{rng.randrange(10**6, 10**7)}")
    created = NOW - timedelta(seconds=rng.randrange(730 * 86400))
    status = rng.choices(status_names, status_weights)[0]
    status_id, category = statuses[status]
    closed = StatusCategory(category).is_closed
    assignee_id, unit_id = rng.choice(agents) if rng.random() < 0.85 else (None, None)
    if unit_id is None and rng.random() < 0.5:
        unit_id = rng.choice(stores)
    follow_up = None
    if not closed and rng.random() < 0.4:
        follow_up = created + timedelta(days=rng.randrange(1, 30), hours=rng.randrange(9, 18))
    custom = {}
    if rng.random() < 0.5:
        custom["budget"] = f"{rng.randrange(5, 80) * 1000}.00"
    if rng.random() < 0.5:
        custom["interest"] = rng.choice(INTERESTS)
    lead = {
        "org_id": org_id,
        "name": name,
        "name_key": name.lower(),
        "company": f"{last} {rng.choice(COMPANY_SUFFIX)}" if rng.random() < 0.5 else "",
        "address": f"{rng.choice(STREETS)} {rng.randrange(1, 200)}, {rng.randrange(10000, 99999)}",
        "district": rng.choice(DISTRICTS),
        "division": rng.choice(DIVISIONS),
        "profession": rng.choice(PROFESSIONS),
        "source": rng.choices(source_codes, source_weights)[0],
        "intake_form": "Website contact form" if rng.random() < 0.3 else "",
        "product_id": None,
        "value": Decimal(rng.randrange(500, 9_000_000)) / 100 if rng.random() < 0.6 else None,
        "custom": custom,
        "temperature": rng.choice(("hot", "warm", "cold", None)),
        "score": rng.randrange(100),
        "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
        "status_id": status_id,
        "assignee_id": assignee_id,
        "unit_id": unit_id,
        "follow_up_at": follow_up,
        "close_reason": rng.choice(LOST_REASONS) if status in ("Lost", "Dead") else "",
        "primary_email": emails[0] if emails else "",
        "primary_phone": phones[0] if phones else "",
        "previous_lead_id": None,
        "merged_into_id": None,
        "created_by_id": None,
        "created_via": "web",
        "created_at": created,
        "updated_at": created,
        "first_assigned_at": created if assignee_id else None,
        "first_response_at": None,
        "closed_at": created + timedelta(days=rng.randrange(1, 60)) if closed else None,
    }
    tags = rng.sample(TAGS, rng.randrange(1, 4)) if rng.random() < 0.3 else []
    return lead, (emails, phones, tags)


# --- the export (in a child process) -------------------------------------------------------


def export(url: str, org_id: int, admin_id: int, filters: str, fmt: str, chunk: int) -> dict:
    engine = create_engine(url)
    with Session(engine) as session:
        org = session.get(Organization, org_id)
        admin = session.get(User, admin_id)
        wanted = LeadFilters.from_args(dict(parse_qsl(filters)))
        rss_before = peak_rss_mb()
        started = time.perf_counter()
        stmt = lead_query.build_query(session, org, admin, wanted, NOW)
        count = lead_query.count(session, stmt, cap=None)
        counted = time.perf_counter()
        cpu_counted = time.process_time()
        stmt = lead_query.sorted_query(stmt, wanted.sort)
        lines = size = 0
        first_chunk = None
        if fmt == "csv":
            with open(os.devnull, "wb") as sink:
                for piece in lead_export.csv_stream(session, stmt, org, chunk_size=chunk):
                    data = piece.encode()
                    sink.write(data)
                    size += len(data)
                    lines += piece.count("\n")  # "\r\n" (portable path) or "\n" (COPY)
                    if first_chunk is None and lines > 1:
                        first_chunk = time.perf_counter() - counted
            rows = lines - 1
        else:
            path = lead_export.xlsx_file(session, stmt, org, chunk_size=chunk)
            size = path.stat().st_size
            path.unlink()
            rows = count
        finished = time.perf_counter()
        cpu = time.process_time() - cpu_counted
    engine.dispose()
    seconds = finished - counted
    return {
        "format": fmt,
        "rows": rows,
        "count": count,
        "count_seconds": counted - started,
        "export_seconds": seconds,
        "first_rows_seconds": first_chunk,
        "rows_per_second": rows / seconds if seconds else 0,
        "cpu_seconds": cpu,
        "rows_per_cpu_second": rows / cpu if cpu else 0,
        "megabytes": size / 1e6,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
    }


# --- driver --------------------------------------------------------------------------------


@contextmanager
def scratch_postgres() -> Iterator[str]:
    import psycopg
    from psycopg import sql

    name = f"leadtrack_exportbench_{os.getpid()}"
    with psycopg.connect(**PG, dbname="postgres", autocommit=True, connect_timeout=3) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def database(args) -> Iterator[str]:
    if args.postgres:
        with scratch_postgres() as url:
            yield url
        return
    if args.database_url:
        url = normalize_database_url(args.database_url)
        name = url.rsplit("/", 1)[-1].split("?")[0]
        if "bench" not in name and "test" not in name:
            sys.exit(f"refusing to write to database {name!r}: use a *bench* or *test* one")
        yield url
        return
    directory = Path(tempfile.mkdtemp(prefix="leadtrack-export-bench-"))
    try:
        yield f"sqlite:///{directory / 'bench.db'}"
    finally:
        if args.keep:
            log(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


def server(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            version = conn.execute(text("SHOW server_version")).scalar_one()
            label = f"PostgreSQL {version}"
        else:
            version = conn.execute(text("select sqlite_version()")).scalar_one()
            label = f"SQLite {version}"
    engine.dispose()
    return label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="leads to seed (200,000)")
    parser.add_argument("--database-url", help="a throwaway database (default: temp SQLite)")
    parser.add_argument("--postgres", action="store_true", help="a scratch DB on 127.0.0.1")
    parser.add_argument("--format", choices=lead_export.FORMATS, default="csv")
    parser.add_argument("--filters", default="", help='a query string, e.g. "source=web"')
    parser.add_argument("--chunk-size", type=int, default=lead_export.CHUNK_SIZE)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temp SQLite file")
    parser.add_argument(
        "--export-only", nargs=3, metavar=("URL", "ORG_ID", "ADMIN_ID"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()

    if args.export_only:
        url, org_id, admin_id = args.export_only
        result = export(url, int(org_id), int(admin_id), args.filters, args.format, args.chunk_size)
        print(json.dumps(result))
        return

    with database(args) as url:
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        log(f"seeding {args.n:,} leads into {engine.dialect.name}")
        started = time.perf_counter()
        with Session(engine) as session:
            org_id, admin_id = seed(session, args.n, random.Random(args.seed))
        seed_seconds = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
        log(f"exporting ({args.format}) in a child process")
        child = subprocess.run(  # noqa: S603 - our own script, our own arguments
            [
                sys.executable,
                __file__,
                "--export-only",
                url,
                str(org_id),
                str(admin_id),
                "--filters",
                args.filters,
                "--format",
                args.format,
                "--chunk-size",
                str(args.chunk_size),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        result["database"] = server(url)
    print(f"database         {result['database']}")
    print(f"leads seeded     {args.n:,} in {seed_seconds:,.1f} s")
    print(f"filters          {args.filters or '(none)'}; chunk {args.chunk_size:,}")
    print(f"count query      {result['count']:,} rows in {result['count_seconds'] * 1000:,.0f} ms")
    print(
        f"export ({result['format']})     {result['rows']:,} rows, "
        f"{result['megabytes']:,.1f} MB in {result['export_seconds']:,.2f} s"
    )
    if result["first_rows_seconds"] is not None:
        print(f"first rows after {result['first_rows_seconds'] * 1000:,.0f} ms")
    print(f"rows/s           {result['rows_per_second']:,.0f} (wall clock)")
    print(
        f"rows/CPU-s       {result['rows_per_cpu_second']:,.0f} "
        f"({result['cpu_seconds']:,.2f} s CPU in the export process; not the DB server's)"
    )
    print(
        f"load average     {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs (other processes slow the wall clock)"
    )
    print(f"RSS before       {result['rss_before_mb']:,.0f} MB (modules, one session)")
    print(f"peak RSS         {result['peak_rss_mb']:,.0f} MB (ru_maxrss of the export process)")


if __name__ == "__main__":
    main()
