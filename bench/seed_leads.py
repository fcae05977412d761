"""Seed N realistic leads into one organization, fast: `bench/seed_leads.py --n 1000000`.

The organization, its unit tree (2 areas > 6 stores > 12 teams) and its 52 people are made
through the real services (organizations, units, users) when the slug is missing. The leads
are then bulk-inserted with Core `insert()` in batches of 10,000 into lead, lead_email,
lead_phone, lead_tag and lead_event (one "created" event per lead), ids assigned up front.
Each table's `insert()` is compiled once and run on the driver's cursor with ready-made rows
(see BulkInsert): on PostgreSQL one `INSERT … SELECT unnest(…)` statement per table and batch,
with the foreign-key triggers off for the loading connection when it is a superuser's
(`session_replication_role = replica`); on SQLite an executemany. The next batch is generated
in a thread while the database works. About 4,800 leads/s (21,000 rows/s) into PostgreSQL on
2 busy cores: 1,000,000 leads in 3.5 minutes.

What the leads look like (deterministic for a given --seed):
- created_at over the last 180 days, business hours mostly, ids in time order;
- German (65 %) and US (35 %) contacts: E.164 mobiles and landlines, ASCII e-mails;
  85 % have a phone, 70 % an e-mail, some two; 3 % are repeat contacts (same phone or
  e-mail as an earlier lead, linked by previous_lead_id; a few of those merged);
- sources web 35 %, phone 20 %, walk-in 15 %, e-mail 8 %, API 8 %, referral 6 %,
  campaign 5 %, import 3 %;
- status by age: fresh leads mostly New, older ones increasingly Won/Lost/Dead;
- 88 % assigned over 42 agents (unit = the agent's team), the rest waiting in a store;
- tags (newsletter 15 %, financing 12 %, … vip 3 %, fleet 2 %), values for 55 %,
  follow-ups for most Follow-up leads and some others (many of them overdue).

`--database-url` may be SQLite or PostgreSQL; the schema is migrated first (idempotent).
On PostgreSQL the sequences are moved past the inserted ids, and VACUUM ANALYZE runs at the
end (as autovacuum would on a live database), timed separately.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

os.environ.setdefault("SECRET_KEY", "bench-secret-key")  # no instance/secret_key is written

from sqlalchemy import bindparam, cast, func, insert, select, text
from sqlalchemy.orm import Session

from leadtrack.models import (
    Lead,
    LeadEmail,
    LeadEvent,
    LeadPhone,
    LeadTag,
    Organization,
    Role,
    Unit,
    User,
)
from leadtrack.services import lead_settings, organizations, units, users

BATCH = 10_000
DAYS = 180
PASSWORD = "bench-password-9"  # noqa: S105 - throwaway accounts in a scratch database
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"

# -- the organization -------------------------------------------------------------------------

AREAS = {
    "North": ["Hamburg Harbour", "Berlin Mitte", "Hannover Ost"],
    "South": ["Munich Centre", "Stuttgart West", "Frankfurt Main"],
}
TEAMS = ("Sales", "Service")
AGENTS_PER_TEAM = (4, 3)  # 6 stores x (4 + 3) = 42 agents


@dataclass(frozen=True)
class OrgInfo:
    org_id: int
    slug: str
    admin_id: int
    receptionist_id: int | None
    area_ids: tuple[int, ...]
    store_ids: tuple[int, ...]
    team_ids: tuple[int, ...]
    agents: tuple[tuple[int, int], ...]  # (user id, unit id)
    managers: tuple[int, ...]
    status_ids: dict[str, int]  # status name -> id
    users: int


def ensure_org(session: Session, slug: str) -> tuple[OrgInfo, bool]:
    """The organization with this slug, made through the real services if missing.
    Returns (info, created)."""
    org = session.scalars(select(Organization).where(Organization.slug == slug)).first()
    created = org is None
    if created:
        _create_org(session, slug)
        session.commit()
        org = session.scalars(select(Organization).where(Organization.slug == slug)).first()
    return _describe(session, org), created


def _create_org(session: Session, slug: str) -> None:
    domain = f"{slug}.example.com"
    org, _ = organizations.create_organization(
        session,
        slug=slug,
        name=f"{slug.replace('-', ' ').title()} GmbH",
        admin_email=f"admin@{domain}",
        admin_password=PASSWORD,
        admin_name="Bench Admin",
        timezone="Europe/Berlin",
        default_country="DE",
    )
    rng = random.Random(slug)
    names = iter(rng.sample([f"{f} {la}" for f in FIRST_DE + FIRST_US for la in LAST_DE], 80))

    def person(role: Role, unit: Unit | None, handle: str) -> User:
        return users.create_user(
            session,
            org,
            email=f"{handle}@{domain}",
            name=next(names),
            role=role,
            password=PASSWORD,
            unit_id=unit.id if unit else None,
        )

    person(Role.RECEPTIONIST, None, "reception")
    n_agent = 0
    for area_name, stores in AREAS.items():
        area = units.create_unit(session, org, name=area_name, kind="area")
        area.manager_id = person(Role.MANAGER, area, f"manager.{area_name.lower()}").id
        for store_name in stores:
            store = units.create_unit(
                session, org, name=store_name, kind="store", parent_id=area.id
            )
            handle = store_name.lower().replace(" ", "-")
            store.manager_id = person(Role.MANAGER, store, f"manager.{handle}").id
            for team_name, agents in zip(TEAMS, AGENTS_PER_TEAM, strict=True):
                team = units.create_unit(
                    session, org, name=f"{store_name} {team_name}", kind="team", parent_id=store.id
                )
                for _ in range(agents):
                    n_agent += 1
                    person(Role.AGENT, team, f"agent{n_agent}")
    session.flush()


def _describe(session: Session, org: Organization) -> OrgInfo:
    people = session.scalars(select(User).where(User.org_id == org.id).order_by(User.id)).all()
    unit_rows = session.scalars(select(Unit).where(Unit.org_id == org.id).order_by(Unit.id)).all()

    def ids(kind: str) -> tuple[int, ...]:
        return tuple(u.id for u in unit_rows if u.kind == kind)

    def role_ids(role: Role) -> list[User]:
        return [u for u in people if u.role == role]

    admins = role_ids(Role.ORG_ADMIN)
    receptionists = role_ids(Role.RECEPTIONIST)
    return OrgInfo(
        org_id=org.id,
        slug=org.slug,
        admin_id=admins[0].id,
        receptionist_id=receptionists[0].id if receptionists else None,
        area_ids=ids("area"),
        store_ids=ids("store"),
        team_ids=ids("team"),
        agents=tuple((u.id, u.unit_id) for u in role_ids(Role.AGENT) if u.is_active_user),
        managers=tuple(u.id for u in role_ids(Role.MANAGER)),
        status_ids={s.name: s.id for s in lead_settings.statuses(session, org.id, False)},
        users=len(people),
    )


# -- what leads are made of -------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


FIRST_DE = _words(
    "Anna Anne Annika Andreas Alexander Benjamin Birgit Christian Christina Claudia Daniel "
    "Dirk Elena Emma Erik Felix Finn Frank Franziska Friedrich Gabriele Hannah Hannes Heike "
    "Helga Ingrid Jan Jana Jens Johanna Jonas Julia Jürgen Karin Katharina Klaus Lara Laura "
    "Lea Leon Lukas Maria Marie Markus Martin Matthias Maximilian Mia Michael Monika Nina "
    "Niklas Ole Paul Petra Philipp Ralf Sabine Sandra Sarah Sebastian Simon Sophie Stefan "
    "Susanne Svenja Thomas Tim Tobias Uwe Ursula Wolfgang Yvonne"
)
FIRST_US = _words(
    "Aaron Abigail Ashley Brandon Brian Brittany Chris Courtney Dylan Emily Ethan Grace "
    "Hunter Isabella Jacob Jason Jennifer Jessica Joshua Kayla Kevin Madison Megan Noah "
    "Olivia Ryan Samantha Tyler Zachary"
)
LAST_DE = _words(
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer "
    "Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann "
    "Hartmann Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler "
    "Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung "
    "Hahn Schubert Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz "
    "Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher "
    "Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf "
    "Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer "
    "Arnold Wolff Pfeiffer"
)
LAST_US = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Taylor Moore Jackson Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts"
)
COMPANY_SUFFIX_DE = ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "UG")
COMPANY_SUFFIX_US = ("Inc", "LLC", "Corp", "Co", "Group", "Partners")
COMPANY_WORDS = _words(
    "Bau Logistik Handel Technik Consulting Immobilien Medien Software Transport Energie "
    "Holding Service Systems Solutions Foods Motors Studio Design Digital Media"
)
CITIES_DE = (
    ("Berlin", "10115", "30"),
    ("Hamburg", "20095", "40"),
    ("München", "80331", "89"),
    ("Köln", "50667", "221"),
    ("Frankfurt am Main", "60311", "69"),
    ("Stuttgart", "70173", "711"),
    ("Hannover", "30159", "511"),
    ("Leipzig", "04109", "341"),
)
STREETS_DE = _phrases(
    "Hauptstraße, Bahnhofstraße, Gartenweg, Schulstraße, Dorfstraße, Bergstraße, "
    "Lindenallee, Kirchweg, Mühlenweg, Am Markt, Rosenweg, Ringstraße"
)
CITIES_US = (
    ("New York", "NY", "10001", "212"),
    ("San Francisco", "CA", "94103", "415"),
    ("Chicago", "IL", "60601", "312"),
    ("Boston", "MA", "02108", "617"),
    ("Seattle", "WA", "98101", "206"),
    ("Miami", "FL", "33101", "305"),
    ("Austin", "TX", "73301", "512"),
    ("Denver", "CO", "80202", "303"),
)
STREETS_US = ("Main St", "Oak Ave", "Maple Dr", "Park Ave", "Cedar Ln", "Elm St", "2nd St")
DE_MOBILE = (("151", 8), ("152", 8), ("157", 8), ("160", 7), ("162", 7), ("170", 7))
DE_MOBILE += (("171", 7), ("172", 7), ("176", 8), ("177", 7), ("179", 7))
MAIL_DOMAINS_DE = ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de", "posteo.de")
MAIL_DOMAINS_US = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com")
DISTRICTS = ("Mitte", "Nord", "Süd", "Ost", "West", "Altstadt", "Hafen", "Neustadt")
DIVISIONS = ("Retail", "Fleet", "Used cars", "Service", "Parts", "Leasing")
PROFESSIONS = _phrases(
    "Teacher, Engineer, Nurse, Physician, Lawyer, Student, Retiree, Craftsman, Consultant, "
    "Manager, Sales representative, Accountant, Architect, Driver, Chef, Developer, Farmer"
)
SOURCES = (
    ("web", 35),
    ("phone", 20),
    ("walk-in", 15),
    ("email", 8),
    ("api", 8),
    ("referral", 6),
    ("campaign", 5),
    ("import", 3),
)
INTAKE_FORMS = {
    "web": ("contact-form", "quote-request", "test-drive"),
    "campaign": ("spring-promo",),
}
TAGS = (
    ("newsletter", 0.15),
    ("financing", 0.12),
    ("trade-in", 0.10),
    ("test-drive", 0.10),
    ("callback", 0.08),
    ("spring-promo", 0.05),
    ("b2b", 0.04),
    ("vip", 0.03),
    ("warranty", 0.03),
    ("fleet", 0.02),
)
CLOSED = {"Won": 0.35, "Lost": 0.45, "Dead": 0.20}
OPEN = {"New": 0.20, "Contacted": 0.30, "Qualified": 0.15, "Follow-up": 0.20}
OPEN["Could not reach"] = 0.15
FRESH = {"New": 0.70, "Contacted": 0.20, "Could not reach": 0.05, "Qualified": 0.05}
TEMPERATURES = (("hot", 15), ("warm", 30), ("cold", 20), (None, 35))
PRIORITIES = (("normal", 70), ("high", 15), ("low", 10), ("urgent", 5))
REPEAT_RATE = 0.03
MERGED_SHARE_OF_REPEATS = 0.05
RECENT_WINDOW = 50_000  # repeat contacts pick an earlier lead among the last 50,000


def _ascii(name: str) -> str:
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), (" ", "")):
        name = name.replace(a, b)
    return name.lower()


class _Chooser:
    """Weighted choice by bisect over cumulative weights (faster than rng.choices per call)."""

    def __init__(self, pairs):
        self.values = [v for v, _ in pairs]
        total = sum(w for _, w in pairs)
        acc, self.edges = 0.0, []
        for _, w in pairs:
            acc += w / total
            self.edges.append(acc)

    def __call__(self, rng: random.Random):
        return self.values[min(bisect.bisect(self.edges, rng.random()), len(self.values) - 1)]


SOURCE = _Chooser(SOURCES)
TEMPERATURE = _Chooser(TEMPERATURES)
PRIORITY = _Chooser(PRIORITIES)
CLOSED_STATUS = _Chooser(CLOSED.items())
OPEN_STATUS = _Chooser(OPEN.items())
FRESH_STATUS = _Chooser(FRESH.items())


def german_phone(rng: random.Random, city_code: str | None = None) -> str:
    if city_code and rng.random() < 0.35:
        digits = 8 if len(city_code) == 2 else 7
        return f"+49{city_code}{rng.randrange(2 * 10 ** (digits - 1), 10**digits)}"
    prefix, digits = rng.choice(DE_MOBILE)
    return f"+49{prefix}{rng.randrange(10 ** (digits - 1), 10**digits)}"


def us_phone(rng: random.Random, area: str) -> str:
    return f"+1{area}{rng.randrange(200, 1000)}{rng.randrange(10_000):04d}"


def created_times(rng: random.Random, n: int, now: datetime) -> list[float]:
    """N moments (epoch seconds) in the last DAYS days, sorted: weekdays and business hours
    (Berlin) mostly."""
    start = (now - timedelta(days=DAYS)).timestamp()
    weekend = {d for d in range(DAYS) if datetime.fromtimestamp(start + d * 86_400).weekday() >= 5}
    moments = []
    for _ in range(n):
        day = rng.randrange(DAYS)
        if day in weekend and rng.random() < 0.6:
            day = rng.randrange(DAYS)  # fewer leads at weekends
        # 85 % between 07:00 and 19:00 Berlin, roughly; the rest at any time
        business = rng.random() < 0.85
        seconds = rng.uniform(6 * 3600, 18 * 3600) if business else rng.uniform(0, 86_400)
        moments.append(start + day * 86_400 + seconds)
    moments.sort()
    limit = now.timestamp() - 1
    return [min(m, limit) for m in moments]


# Columns written, in order (the rest keep their defaults or NULL).
COLUMNS = {
    "lead": _words(
        "id org_id name name_key company company_key address district division profession source "
        "intake_form value custom temperature score priority temperature_by_hand priority_by_hand "
        "status_id assignee_id unit_id "
        "follow_up_at close_reason primary_email primary_phone previous_lead_id merged_into_id "
        "created_by_id created_via created_at updated_at first_assigned_at first_response_at "
        "closed_at"
    ),
    "lead_email": ("id", "org_id", "lead_id", "email", "position"),
    "lead_phone": ("id", "org_id", "lead_id", "phone", "position"),
    "lead_tag": ("lead_id", "tag", "org_id"),
    "lead_event": ("id", "org_id", "lead_id", "at", "actor_id", "via", "kind", "data"),
}


def _pg_time(epoch: float | None):
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _sqlite_time(epoch: float | None):
    """SQLAlchemy's SQLite DATETIME storage format (naive UTC, always with microseconds)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@dataclass
class Ids:
    lead: int
    email: int
    phone: int
    event: int


class LeadMaker:
    """Rows as tuples in COLUMNS order, already in the driver's terms (times as aware
    datetimes for psycopg, as SQLAlchemy's text format for SQLite; JSON as text)."""

    def __init__(self, info: OrgInfo, rng: random.Random, now: datetime, dialect: str):
        self.info = info
        self.rng = rng
        self.now = now.timestamp()
        self.time = _pg_time if dialect == "postgresql" else _sqlite_time
        self.status_ids = info.status_ids
        self.recent: list[tuple[int, str, str, str]] = []  # (lead id, name, email, phone)
        self.companies = [
            f"{rng.choice(LAST_DE)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIX_DE)}"
            for _ in range(3000)
        ] + [
            f"{rng.choice(LAST_US)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIX_US)}"
            for _ in range(1500)
        ]
        self.stores = info.store_ids or info.team_ids or (None,)
        self.ascii = {n: _ascii(n) for n in FIRST_DE + FIRST_US + LAST_DE + LAST_US}
        self.event_data = {
            (via, source, repeat): json.dumps(
                {"via": via, "source": source, "existing_contact": repeat}
            )
            for via in ("api", "web", "import")
            for source, _ in SOURCES
            for repeat in (0, 1)
        }

    def batch(self, created: list[float], ids: Ids) -> dict[str, list[tuple]]:
        rng, org_id, now, ts = self.rng, self.info.org_id, self.now, self.time
        random_ = rng.random
        choice = rng.choice
        randrange = rng.randrange
        agents, stores, status_ids = self.info.agents, self.stores, self.status_ids
        receptionist, admin = self.info.receptionist_id, self.info.admin_id
        recent, asc = self.recent, self.ascii
        leads, emails, phones, tags, events = [], [], [], [], []
        for at in created:
            lead_id = ids.lead
            ids.lead += 1
            # -- contact
            previous_id = merged_into = None
            if recent and random_() < REPEAT_RATE:
                previous_id, name, email, phone = choice(recent)
                email_list = [email] if email else []
                phone_list = [phone] if phone else []
                if random_() < MERGED_SHARE_OF_REPEATS:
                    merged_into = previous_id
                german = phone.startswith("+49") if phone else random_() < 0.65
                city = choice(CITIES_DE) if german else choice(CITIES_US)
            else:
                german = random_() < 0.65
                first = choice(FIRST_DE if german and random_() < 0.9 else FIRST_US)
                last = choice(LAST_DE if german else LAST_US)
                name = f"{first} {last}"
                city = choice(CITIES_DE) if german else choice(CITIES_US)
                phone_list, email_list = [], []
                if random_() < 0.85:
                    phone_list.append(
                        german_phone(rng, city[2]) if german else us_phone(rng, city[3])
                    )
                    if random_() < 0.15:
                        phone_list.append(german_phone(rng) if german else us_phone(rng, city[3]))
                if random_() < 0.70 or not phone_list:
                    domains = MAIL_DOMAINS_DE if german else MAIL_DOMAINS_US
                    local = f"{asc[first]}.{asc[last]}"
                    if random_() < 0.5:
                        local += str(randrange(1, 1000))
                    email_list.append(f"{local}@{choice(domains)}")
                    if random_() < 0.10:
                        email_list.append(f"{asc[first][0]}{asc[last]}@{choice(domains)}")
            primary_email = email_list[0] if email_list else ""
            primary_phone = phone_list[0] if phone_list else ""
            recent.append((lead_id, name, primary_email, primary_phone))
            if german:
                address = f"{choice(STREETS_DE)} {randrange(1, 200)}, {city[1]} {city[0]}"
            else:
                address = (
                    f"{randrange(1, 9000)} {choice(STREETS_US)}, {city[0]}, {city[1]} {city[2]}"
                )
            # -- channel and owner
            source = SOURCE(rng)
            if random_() < 0.88 and agents:
                assignee_id, unit_id = choice(agents)
                first_assigned = at + random_() * 7200 + 30
            else:
                assignee_id, unit_id, first_assigned = None, choice(stores), None
            if source in ("web", "api", "campaign"):
                via, created_by = "api", None
            elif source == "import":
                via, created_by = "import", admin
            elif source == "walk-in" and receptionist and random_() < 0.5:
                via, created_by = "web", receptionist
            else:
                via, created_by = "web", assignee_id
            # -- status, clocks, follow-up
            age_days = (now - at) / 86_400
            if age_days < 2:
                status = FRESH_STATUS(rng)
            elif random_() < 0.15 + 0.6 * min(1.0, age_days / 90):
                status = CLOSED_STATUS(rng)
            else:
                status = OPEN_STATUS(rng)
            if status == "New" or assignee_id is None:
                first_response = None
            else:
                first_response = at + 180 + random_() * 172_800
            closed_at = None
            if status in CLOSED:
                closed_at = min(now, at + 43_200 + random_() * 45 * 86_400)
            follow_up = None
            if closed_at is None and random_() < (0.9 if status == "Follow-up" else 0.12):
                follow_up = at + randrange(1, 22) * 86_400 + (random_() - 0.5) * 21_600
            updated = min(now, max(at, first_assigned or 0, first_response or 0, closed_at or 0))
            value = round(math.exp(rng.gauss(8.5, 1.0)) / 10) * 10 if random_() < 0.55 else None
            company = choice(self.companies) if random_() < 0.45 else ""
            leads.append(
                (
                    lead_id,
                    org_id,
                    name,
                    name.lower(),
                    company,
                    company.lower(),
                    address,
                    choice(DISTRICTS) if random_() < 0.6 else "",
                    choice(DIVISIONS) if random_() < 0.5 else "",
                    choice(PROFESSIONS) if random_() < 0.4 else "",
                    source,
                    choice(INTAKE_FORMS.get(source, ("",))),
                    value,
                    "{}",
                    TEMPERATURE(rng),
                    randrange(0, 101) if random_() < 0.5 else 0,
                    PRIORITY(rng),
                    False,  # temperature_by_hand
                    False,  # priority_by_hand
                    status_ids[status],
                    assignee_id,
                    unit_id,
                    ts(follow_up),
                    "Bought elsewhere" if status == "Lost" else "",
                    primary_email,
                    primary_phone,
                    previous_id,
                    merged_into,
                    created_by,
                    via,
                    ts(at),
                    ts(updated),
                    ts(first_assigned),
                    ts(first_response),
                    ts(closed_at),
                )
            )
            for position, address_ in enumerate(email_list):
                emails.append((ids.email, org_id, lead_id, address_, position))
                ids.email += 1
            for position, number in enumerate(phone_list):
                phones.append((ids.phone, org_id, lead_id, number, position))
                ids.phone += 1
            for tag, share in TAGS:
                if random_() < share:
                    tags.append((lead_id, tag, org_id))
            data = self.event_data[via, source, 1 if previous_id else 0]
            events.append((ids.event, org_id, lead_id, ts(at), created_by, via, "created", data))
            ids.event += 1
        if len(recent) > RECENT_WINDOW:
            del recent[: len(recent) - RECENT_WINDOW // 2]
        return {
            "lead": leads,
            "lead_email": emails,
            "lead_phone": phones,
            "lead_tag": tags,
            "lead_event": events,
        }


# -- inserting --------------------------------------------------------------------------------

TABLES = {
    "lead": Lead.__table__,
    "lead_email": LeadEmail.__table__,
    "lead_phone": LeadPhone.__table__,
    "lead_tag": LeadTag.__table__,
    "lead_event": LeadEvent.__table__,
}


class BulkInsert:
    """One `insert()` per table, compiled once, run on the driver's cursor with rows that are
    already in the driver's terms (no per-row work in SQLAlchemy or the driver's parser).

    SQLite: executemany of `insert(table)`, the statement prepared once.
    PostgreSQL: `insert(table).from_select(...)` over one `unnest()` array per column, so a
    whole batch is one statement (row-by-row executemany costs ~40 µs of client time a row,
    and a 1,000-row VALUES list is parsed by psycopg with a regex on every call)."""

    def __init__(self, dialect_name: str, table, columns: tuple[str, ...]):
        self.postgres = dialect_name == "postgresql"
        if self.postgres:
            from sqlalchemy.dialects.postgresql import ARRAY, psycopg

            arrays = [
                func.unnest(cast(bindparam(c), ARRAY(table.c[c].type))).label(c) for c in columns
            ]
            stmt = insert(table).from_select(columns, select(*arrays))
            dialect = psycopg.dialect(paramstyle="format")
        else:
            from sqlalchemy.dialects.sqlite import pysqlite

            stmt = insert(table)
            dialect = pysqlite.dialect(paramstyle="qmark")
        compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
        assert tuple(compiled.positiontup) == tuple(columns), (compiled.positiontup, columns)
        # PostgreSQL: binary parameters (%b), so arrays are not text-escaped by a regex.
        self.sql = compiled.string.replace("%s", "%b") if self.postgres else compiled.string

    def run(self, cursor, rows: list[tuple]) -> None:
        if self.postgres:
            cursor.execute(self.sql, [list(c) for c in zip(*rows, strict=True)])
        else:
            cursor.executemany(self.sql, rows)


@dataclass
class SeedResult:
    leads: int
    rows: dict[str, int]
    seconds: float  # generating and inserting, committed
    vacuum_seconds: float
    fk_checks: bool = True  # False: PostgreSQL foreign-key triggers were off while loading

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _skip_fk_triggers(raw, cursor) -> bool:
    """`session_replication_role = replica` for this connection: PostgreSQL then skips the
    foreign-key triggers (half the server time of a lead row). The rows are consistent by
    construction (ids assigned here, users/units/statuses read from the database). Needs a
    superuser; without one, the checks stay on."""
    try:
        cursor.execute("SET session_replication_role = replica")
    except Exception:  # not a superuser: load with the checks
        raw.rollback()
        cursor.execute("SET synchronous_commit = off")
        return False
    return True


def _next_id(session: Session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def seed(
    session: Session,
    info: OrgInfo,
    n: int,
    *,
    seed_value: int = 42,
    now: datetime | None = None,
    progress=None,
) -> SeedResult:
    """Insert n leads (and their e-mails, phones, tags and created events) for `info`."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed_value)
    ids = Ids(*(_next_id(session, m) for m in (Lead, LeadEmail, LeadPhone, LeadEvent)))
    session.commit()
    engine = session.get_bind()
    dialect = engine.dialect.name
    maker = LeadMaker(info, rng, now, dialect)
    writers = {name: BulkInsert(dialect, t, COLUMNS[name]) for name, t in TABLES.items()}
    rows = dict.fromkeys(TABLES, 0)
    started = time.perf_counter()
    moments = created_times(rng, n, now)
    raw = engine.raw_connection()
    fk_checks = True
    try:
        cursor = raw.cursor()
        if dialect == "postgresql":
            cursor.execute("SET synchronous_commit = off")
            fk_checks = not _skip_fk_triggers(raw, cursor)
        # The next batch is generated in a thread while the driver waits for the database.
        with ThreadPoolExecutor(max_workers=1) as pool:
            slices = [moments[o : o + BATCH] for o in range(0, n, BATCH)]
            pending = pool.submit(maker.batch, slices[0], ids) if slices else None
            for number in range(len(slices)):
                batch = pending.result()
                if number + 1 < len(slices):
                    pending = pool.submit(maker.batch, slices[number + 1], ids)
                for name, writer in writers.items():
                    if batch[name]:
                        writer.run(cursor, batch[name])
                        rows[name] += len(batch[name])
                raw.commit()
                if progress:
                    done = min(n, (number + 1) * BATCH)
                    elapsed = time.perf_counter() - started
                    progress(f"{done:,} leads, {sum(rows.values()):,} rows, {elapsed:.0f} s")
        if dialect == "postgresql":
            for table, next_id in (
                ("lead", ids.lead),
                ("lead_email", ids.email),
                ("lead_phone", ids.phone),
                ("lead_event", ids.event),
            ):
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", (table, next_id)
                )
            raw.commit()
        cursor.close()
    finally:
        # Settings changed above live on in the pooled connection: drop it rather than reuse.
        raw.invalidate()
        raw.close()
    seconds = time.perf_counter() - started
    vacuum_seconds = analyze(engine)
    return SeedResult(n, rows, seconds, vacuum_seconds, fk_checks)


def analyze(engine) -> float:
    """VACUUM ANALYZE (PostgreSQL) or ANALYZE (SQLite) the lead tables: fresh statistics and,
    on PostgreSQL, a visibility map for index-only scans, as autovacuum would leave them."""
    started = time.perf_counter()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "postgresql":
            conn.execute(text("VACUUM ANALYZE " + ", ".join(f'"{t}"' for t in TABLES)))
        else:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


# -- command line -----------------------------------------------------------------------------


def make_app(database_url: str):
    from leadtrack import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,  # never connected here
        }
    )


def log(message: str) -> None:
    print(f"[seed] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="sqlite:///… or postgresql://…")
    parser.add_argument("--n", type=int, default=100_000, help="leads to add (default 100,000)")
    parser.add_argument("--org-slug", default="bench-leads")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from leadtrack.config import normalize_database_url
    from leadtrack.extensions import db

    app = make_app(normalize_database_url(args.database_url))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        info, created = ensure_org(db.session, args.org_slug)
        org_seconds = time.perf_counter() - started
        what = "created through the services" if created else "exists"
        log(
            f"organization {info.slug!r} (id {info.org_id}) {what} in {org_seconds:.1f} s: "
            f"{info.users} users, {len(info.area_ids) + len(info.store_ids) + len(info.team_ids)}"
            f" units, {len(info.agents)} agents"
        )
        result = seed(db.session, info, args.n, seed_value=args.seed, progress=log)
        db.session.remove()
        db.engine.dispose()
    per_table = ", ".join(f"{name} {count:,}" for name, count in result.rows.items())
    print(
        f"seeded {result.leads:,} leads into {info.slug!r}: {result.total_rows:,} rows "
        f"({per_table}) in {result.seconds:.1f} s = {result.leads / result.seconds:,.0f} leads/s, "
        f"{result.total_rows / result.seconds:,.0f} rows/s; "
        f"{'VACUUM ANALYZE' if 'postgres' in args.database_url else 'ANALYZE'} "
        f"{result.vacuum_seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
