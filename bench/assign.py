"""Assignment rules: what the decision costs per lead with 50 assignment rules, 12 scoring
rules and 200 users, and intake throughput with the rules on vs off, in the same run.
Figures only, no pass/fail; the goal is a median decision of <= 2 ms.

    .venv/bin/python bench/assign.py                    # a temp SQLite file (the default setup)
    .venv/bin/python bench/assign.py --postgres         # a scratch PostgreSQL database
    .venv/bin/python bench/assign.py --proposed         # and a series with the proposed fixes
    .venv/bin/python bench/assign.py --leads 2000 --existing 50000 --profile 0

What it does:
1. makes a scratch database (a SQLite file in a temp dir, or with --postgres
   `leadtrack_bench_assign_<pid>` on 127.0.0.1:5432, dropped afterwards), migrates it, and
   uses the embedded Redis in the same temp dir (the after-commit jobs of the assignment
   alerts go there; it is stopped and removed at the end);
2. makes two organizations of the same shape through the services: "with rules" and
   "without rules". Each has 200 people: an admin, a receptionist, 17 managers and 181 agents
   in 27 teams (head office: Inside sales, Fulfilment, Senior reps; 4 areas > 12 stores >
   Sales and Service teams). Some agents are out of office, inactive, outside their working
   hours or at their cap of open leads, so every eligibility check has work. Each org gets
   --existing realistic leads (seed_leads.seed), so open-lead counts read real rows;
3. gives the first organization 50 assignment rules and 12 scoring rules through
   `rules_document.apply`. The first 40 are specific (fleet after hours, weekend test
   drives, trade-ins with financing per store, …) and rarely match; the usual leads are
   decided by rules 41-50 (big deals, walk-ins, web info requests, quote requests and phone
   leads by district, the catch-all), so most leads are tested against 40+ rules first;
4. sends --leads leads per series through `intake.create_lead` with an API actor, one
   commit per lead; the series ("with rules", "without rules", and with --proposed "with
   rules, proposed fixes" in the same organization as "with rules") take the same bodies in
   turns of --batch leads. The intake's `_initial_assignment` (rule book, scoring, routing,
   carried out: the part the rules add) is timed per lead with its SQL counted; so are
   create_lead and the commit. The clock (`now`) is a Tuesday at 10:00 in Berlin;
5. times the decision alone for the same kind of leads: the simulator's sample lead,
   `scoring.grade` and `routing.decide` with an in-memory rotation (nothing written);
6. unless --profile 0, times the parts of --profile decisions (rule book, scoring, decide,
   carrying out, the alerts, the unit tree) and profiles as many with cProfile; prints the
   SQL of one decision (and of one with the fixes).

The proposed fixes (`--fixes` picks some) are prototyped here by patching the services in
this process for the "proposed" turns only: (1) one rule book and one unit tree per lead,
handed to scoring and routing; (2) the round-robin rows read once; (3) no dedupe SELECT and
SAVEPOINT for alerts about a lead inserted in the same transaction; (4) no autoflush while
scoring and deciding, so the rows go out together.

Everything runs in this one process on the same cores as the database.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("SECRET_KEY", "bench-secret-key")  # no instance/secret_key is written

import alerts
import measure
import scratch_db
import seed_leads

ZONE = ZoneInfo("Europe/Berlin")
PASSWORD = "bench-password-9"  # noqa: S105 - throwaway accounts in a scratch database
GOAL_MS = 2.0
USERS = 200
HEAD_OFFICE = ("Inside sales", "Fulfilment", "Senior reps")
AREAS = {
    **seed_leads.AREAS,
    "East": ["Leipzig Zentrum", "Dresden Neustadt", "Erfurt Anger"],
    "West": ["Cologne Ring", "Düsseldorf Hafen", "Essen Rüttenscheid"],
}
SLUGS = {"rules": "bench-assign-rules", "plain": "bench-assign-plain"}
TICK = timedelta(milliseconds=20)  # the intake clock advances this much per lead


def log(message: str) -> None:
    print(f"[assign] {message}", file=sys.stderr, flush=True)


def bench_now() -> datetime:
    """Next Tuesday, 10:00 in Berlin: inside business hours, after the seeded leads."""
    today = datetime.now(ZONE).date()
    tuesday = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
    return datetime(tuesday.year, tuesday.month, tuesday.day, 10, 0, tzinfo=ZONE).astimezone(UTC)


# -- the organization -------------------------------------------------------------------------


@dataclass
class Cast:
    org_id: int
    admin_id: int
    teams: dict[str, int]  # team name -> unit id
    agents: dict[str, list[str]] = field(default_factory=dict)  # team name -> e-mails
    skipped: Counter = field(default_factory=Counter)  # why some agents cannot take leads


def build_org(session, slug: str, now: datetime) -> Cast:
    """200 people in 27 teams, made through the services (cheap password hashing)."""
    from leadtrack.models import Role
    from leadtrack.services import lead_settings, organizations, units, users

    domain = f"{slug}.example.com"
    org, admin = organizations.create_organization(
        session,
        slug=slug,
        name=f"{slug.replace('-', ' ').title()} GmbH",
        admin_email=f"admin@{domain}",
        admin_password=PASSWORD,
        admin_name="Bench Admin",
        timezone="Europe/Berlin",
        default_country="DE",
    )
    for key, label, kind in (("budget", "Budget", "money"), ("financing", "Financing", "checkbox")):
        lead_settings.add_custom_field(session, org, key=key, label=label, type=kind)
    made = {"people": 1}

    def person(role: Role, unit_id: int | None, handle: str, name: str):
        made["people"] += 1
        return users.create_user(
            session,
            org,
            email=f"{handle}@{domain}",
            name=name,
            role=role,
            password=PASSWORD,
            unit_id=unit_id,
        )

    person(Role.RECEPTIONIST, None, "reception", "Front Desk")
    teams: dict[str, int] = {}

    def unit(name: str, kind: str, parent_id: int | None):
        made_unit = units.create_unit(session, org, name=name, kind=kind, parent_id=parent_id)
        handle = name.lower().replace(" ", "-")
        made_unit.manager_id = person(Role.MANAGER, made_unit.id, f"manager.{handle}", name).id
        return made_unit

    office = unit("Head office", "area", None)
    for name in HEAD_OFFICE:
        teams[name] = units.create_unit(
            session, org, name=name, kind="team", parent_id=office.id
        ).id
    for area_name, stores in AREAS.items():
        area = unit(area_name, "area", None)
        for store_name in stores:
            store = unit(store_name, "store", area.id)
            for team in seed_leads.TEAMS:
                name = f"{store_name} {team}"
                teams[name] = units.create_unit(
                    session, org, name=name, kind="team", parent_id=store.id
                ).id
    cast = Cast(org.id, admin.id, teams, {name: [] for name in teams})
    names = list(teams)
    rng = random.Random(slug)
    for number in range(USERS - made["people"]):
        team = names[number % len(names)]
        name = f"{rng.choice(seed_leads.FIRST_DE)} {rng.choice(seed_leads.LAST_DE)}"
        agent = person(Role.AGENT, teams[team], f"agent{number + 1}", name)
        cast.agents[team].append(agent.email)
        _unavailable(session, agent, admin, number, now, cast.skipped)
    session.commit()
    return cast


def _unavailable(session, agent, admin, number: int, now: datetime, why: Counter) -> None:
    """About one agent in six cannot take a lead at `now`, for each of the four reasons."""
    from leadtrack.services import users

    if number % 20 == 7:
        users.add_out_of_office(session, agent, now - timedelta(days=2), now + timedelta(days=5))
        why["out of office"] += 1
    elif number % 50 == 13:
        users.deactivate(agent, admin, now)
        why["inactive"] += 1
    elif number % 25 == 11:
        agent.working_hours = {str(day): [["13:00", "18:00"]] for day in range(5)}
        why["afternoons only"] += 1
    elif number % 10 == 3:
        agent.max_open_leads = 5
        why["cap of 5 open leads"] += 1


# -- the rules ----------------------------------------------------------------------------------


def bench_rules(cast: Cast) -> dict:
    """50 assignment rules (40 specific ones first) and 12 scoring rules."""
    stores = [store for stores in AREAS.values() for store in stores]
    area_of = {store: area for area, stores in AREAS.items() for store in stores}
    districts = seed_leads.DISTRICTS
    specific = []
    for n, store in enumerate(stores):
        district = districts[n % len(districts)]
        specific += [
            {
                "name": f"{store}: fleet after hours",
                "when": {
                    "all": [
                        {"field": "division", "op": "is", "value": "Fleet"},
                        {"field": "unit", "op": "within", "value": area_of[store]},
                        {"field": "time_of_day", "op": "between", "value": ["18:00", "22:00"]},
                    ]
                },
                "assign": {"team": f"{store} Sales", "method": "fewest_open"},
            },
            {
                "name": f"{store}: trade-ins with financing",
                "when": {
                    "all": [
                        {"field": "tags", "op": "has_all", "value": ["trade-in", "financing"]},
                        {"field": "custom.financing", "op": "is", "value": True},
                        {"field": "district", "op": "is", "value": district},
                        {"field": "value", "op": "between", "value": [20000, 40000]},
                    ]
                },
                "assign": {"team": f"{store} Service"},
            },
            {
                "name": f"{store}: weekend test drives",
                "when": {
                    "all": [
                        {"field": "intake_form", "op": "is", "value": "test-drive"},
                        {"field": "weekday", "op": "in", "value": ["sat", "sun"]},
                        {
                            "any": [
                                {"field": "district", "op": "is", "value": district},
                                {"field": "company", "op": "contains", "value": store},
                            ]
                        },
                    ]
                },
                "assign": {"team": f"{store} Sales", "hours": False},
            },
        ]
    senior = cast.agents["Senior reps"][0]
    specific += [
        {
            "name": "Spam guard",
            "when": {
                "any": [
                    {"field": "email_domain", "op": "in", "value": ["mailinator.com", "x.invalid"]},
                    {"field": "company", "op": "starts_with", "value": "test "},
                ]
            },
            "assign": {"queue": "Head office"},
        },
        {
            "name": "VIP fleet accounts",
            "when": {"field": "tags", "op": "has_all", "value": ["vip", "fleet"]},
            "assign": {"user": senior},
        },
        {
            "name": "Night owls",
            "when": {"field": "time_of_day", "op": "between", "value": ["22:00", "06:00"]},
            "assign": {"queue": None},
        },
        {
            "name": "Leasing over budget",
            "when": {
                "all": [
                    {"field": "division", "op": "is", "value": "Leasing"},
                    {"field": "custom.budget", "op": "gt", "value": 100000},
                    {"not": {"field": "has_phone", "op": "is", "value": True}},
                ]
            },
            "assign": {"team": "Senior reps"},
        },
    ]
    sales = [f"{store} Sales" for store in stores]
    by_district = dict(zip(districts, sales, strict=False))
    inside = cast.agents["Inside sales"]
    common = [
        {
            "name": "Existing contacts to inside sales",
            "when": {"field": "existing_contact", "op": "is", "value": True},
            "assign": {"team": "Inside sales", "method": "fewest_open"},
        },
        {
            "name": "Big deals to senior reps",
            "when": {"field": "value", "op": "gte", "value": 50000},
            "assign": {"team": "Senior reps", "method": "fewest_open"},
        },
        {
            "name": "Walk-ins by hand",
            "when": {"field": "source", "op": "is", "value": "walk-in"},
            "assign": {"queue": None},
        },
        {
            "name": "Web info requests to fulfilment",
            "when": {
                "all": [
                    {"field": "source", "op": "is", "value": "web"},
                    {"field": "intake_form", "op": "is", "value": "contact-form"},
                ]
            },
            "assign": {"team": "Fulfilment"},
        },
        {
            "name": "Quote requests by district",
            "when": {"field": "intake_form", "op": "in", "value": ["quote-request", "test-drive"]},
            "assign": {"by_field": "district", "map": by_district, "otherwise": "Inside sales"},
        },
        {
            "name": "Phone leads by district",
            "when": {
                "all": [
                    {"field": "source", "op": "is", "value": "phone"},
                    {"field": "district", "op": "is_set"},
                ]
            },
            "assign": {
                "by_field": "district",
                "map": by_district,
                "method": "fewest_open",
                "otherwise": "Inside sales",
            },
        },
        {
            "name": "E-mail leads to fulfilment",
            "when": {"field": "source", "op": "is", "value": "email"},
            "assign": {"team": "Fulfilment", "method": "fewest_open"},
        },
        {
            "name": "Referrals and campaigns",
            "when": {"field": "source", "op": "in", "value": ["referral", "campaign"]},
            "assign": {"team": "Inside sales", "weights": {inside[0]: 2}},
        },
        {
            "name": "Small deals to inside sales",
            "when": {"field": "value", "op": "lt", "value": 5000},
            "assign": {"team": "Inside sales"},
        },
        {
            "name": "Everything else",
            "when": {"all": []},
            "assign": {"team": "Inside sales", "weights": {inside[0]: 2, inside[1]: 3}},
        },
    ]
    return {
        "settings": {"return_policy": "fresh_start", "fallback": {"queue": None}},
        "assignment": specific + common,
        "scoring": SCORING,
    }


SCORING = [
    {"name": "Web", "when": {"field": "source", "op": "is", "value": "web"}, "points": 10},
    {"name": "Worth 10k", "when": {"field": "value", "op": "gte", "value": 10000}, "points": 20},
    {"name": "Worth 50k", "when": {"field": "value", "op": "gte", "value": 50000}, "points": 30},
    {
        "name": "Financing or trade-in",
        "when": {"field": "tags", "op": "has_any", "value": ["financing", "trade-in"]},
        "points": 10,
    },
    {
        "name": "Known",
        "when": {"field": "existing_contact", "op": "is", "value": True},
        "points": 15,
    },
    {"name": "Phone", "when": {"field": "has_phone", "op": "is", "value": True}, "points": 5},
    {"name": "E-mail", "when": {"field": "has_email", "op": "is", "value": True}, "points": 5},
    {"name": "Company", "when": {"field": "company", "op": "is_set"}, "points": 10},
    {
        "name": "Morning",
        "when": {"field": "time_of_day", "op": "between", "value": ["09:00", "12:00"]},
        "points": 5,
    },
    {"name": "Fleet", "when": {"field": "division", "op": "is", "value": "Fleet"}, "points": 20},
    {"name": "VIP", "when": {"field": "tags", "op": "has", "value": "vip"}, "points": 40},
    {
        "name": "Quote",
        "when": {"field": "intake_form", "op": "is", "value": "quote-request"},
        "points": 15,
    },
]


# -- the leads ----------------------------------------------------------------------------------


def lead_bodies(count: int, start: int, rng: random.Random) -> list[dict]:
    """Leads as the intake API takes them; sources, forms, districts, divisions, tags and
    values drawn like seed_leads draws them; the e-mail is unique per lead."""
    out = []
    for number in range(start, start + count):
        first, last = rng.choice(seed_leads.FIRST_DE), rng.choice(seed_leads.LAST_DE)
        source = seed_leads.SOURCE(rng)
        city = rng.choice(seed_leads.CITIES_DE)
        value = round(math.exp(rng.gauss(8.5, 1.0)) / 10) * 10 if rng.random() < 0.55 else None
        body = {
            "name": f"{first} {last}",
            "emails": [
                f"{seed_leads._ascii(first)}.{number}@{rng.choice(seed_leads.MAIL_DOMAINS_DE)}"
            ],
            "phones": [seed_leads.german_phone(rng, city[2])] if rng.random() < 0.85 else [],
            "source": source,
            "intake_form": rng.choice(seed_leads.INTAKE_FORMS.get(source, ("",))),
            "district": rng.choice(seed_leads.DISTRICTS) if rng.random() < 0.6 else "",
            "division": rng.choice(seed_leads.DIVISIONS) if rng.random() < 0.5 else "",
            "tags": [tag for tag, share in seed_leads.TAGS if rng.random() < share],
            "value": value,
            "custom": {"budget": value, "financing": rng.random() < 0.2} if value else {},
        }
        if rng.random() < 0.45:
            body["company"] = (
                f"{last} {rng.choice(seed_leads.COMPANY_WORDS)} "
                f"{rng.choice(seed_leads.COMPANY_SUFFIX_DE)}"
            )
        out.append(body)
    return out


# -- measuring ----------------------------------------------------------------------------------


SERIES = {
    "rules": "with rules",
    "proposed": "with rules, proposed fixes",
    "plain": "without rules",
}


@dataclass
class Figures:
    decision: list[float] = field(default_factory=list)  # _initial_assignment, seconds
    decision_sql: list[float] = field(default_factory=list)  # of which inside SQL
    decision_statements: list[int] = field(default_factory=list)
    intake: list[float] = field(default_factory=list)  # create_lead (includes the decision)
    commit: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)  # create_lead + commit
    lead_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> list[float]:
        return [a + b for a, b in zip(self.intake, self.commit, strict=True)]

    @property
    def per_second(self) -> float:
        return len(self.intake) / sum(self.total)


class Probe:
    """Counts SQL statements and the time inside them, and times `_initial_assignment` (the
    part of intake the rules add: rule book, scoring, routing) by wrapping it where
    intake.create_lead looks it up. `implementation` is what the wrapper calls."""

    def __init__(self, engine):
        self.engine = engine
        self.implementation = CURRENT["initial_assignment"]
        self.statements = 0
        self.sql = 0.0
        self._mark = 0.0
        self.capture: list[str] | None = None  # the statements of the decisions, when a list
        self.profiler: cProfile.Profile | None = None
        self.flush_first = False  # charge intake's pending rows to intake (anatomy only)
        self.by_statement: dict[str, list[float]] | None = None  # SQL text -> durations
        self._statement = ""
        self.last: tuple[float, float, int] = (0.0, 0.0, 0)
        self._deciding = False

    def __enter__(self) -> Probe:
        from sqlalchemy import event

        from leadtrack.services import intake

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        intake._initial_assignment = self._timed
        return self

    def __exit__(self, *exc_info) -> None:
        from sqlalchemy import event

        from leadtrack.services import intake

        intake._initial_assignment = CURRENT["initial_assignment"]
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.statements += 1
        if self._deciding and (self.capture is not None or self.by_statement is not None):
            self._statement = " ".join(statement.split())[:110]
            if self.capture is not None:
                self.capture.append(self._statement)
        self._mark = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        spent = time.perf_counter() - self._mark
        self.sql += spent
        if self._deciding and self.by_statement is not None:
            self.by_statement.setdefault(self._statement, []).append(spent)

    def _timed(self, session, *args, **kwargs):
        if self.flush_first:
            session.flush()
        statements, sql = self.statements, self.sql
        started = time.perf_counter()
        self._deciding = True
        if self.profiler is not None:
            self.profiler.enable()
        try:
            return self.implementation(session, *args, **kwargs)
        finally:
            if self.profiler is not None:
                self.profiler.disable()
            self._deciding = False
            self.last = (
                time.perf_counter() - started,
                self.sql - sql,
                self.statements - statements,
            )


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def tick(self) -> datetime:
        self.now += TICK
        return self.now


def send(session, org_id: int, bodies: list[dict], clock: Clock, probe: Probe, out: Figures):
    """Each body through intake.create_lead as the API sends it, one commit per lead."""
    from leadtrack.models import Organization
    from leadtrack.services import intake
    from leadtrack.services.history import Actor

    actor = Actor(org_id, via="api")
    for raw in bodies:
        org = session.get(Organization, org_id)
        statements = probe.statements
        started = time.perf_counter()
        lead = intake.create_lead(session, org, raw, actor, clock.tick()).lead
        created = time.perf_counter()
        session.commit()
        out.commit.append(time.perf_counter() - created)
        out.intake.append(created - started)
        out.statements.append(probe.statements - statements)
        seconds, sql, count = probe.last
        out.decision.append(seconds)
        out.decision_sql.append(sql)
        out.decision_statements.append(count)
        out.lead_ids.append(lead.id)


def decide_only(
    session, org_id: int, bodies: list[dict], clock: Clock, variants: tuple[bool, ...]
) -> list[list[float]]:
    """The decision alone on the simulator's sample leads: scoring.grade and routing.decide
    with an in-memory rotation, as route and classify call them; nothing is written. Each
    lead is decided once per variant, in turns: False as today, True with fix 1 (the unit
    tree loaded for scoring is handed to decide)."""
    from leadtrack.models import Organization
    from leadtrack.services import rule_book, scoring, simulator
    from leadtrack.services.lead_facts import UnitTree, facts_of
    from leadtrack.services.rotation import SimulatedRotation
    from leadtrack.services.routing import decide

    org = session.get(Organization, org_id)
    zone = ZoneInfo(org.timezone)
    durations: list[list[float]] = [[] for _ in variants]
    with session.no_autoflush:
        for number, raw in enumerate(bodies):
            sample = {k: v for k, v in raw.items() if k in simulator.SAMPLE_FIELDS}
            lead = simulator.sample_lead(session, org, sample)
            now = clock.tick()
            turn = number % len(variants)
            for index in [*range(turn, len(variants)), *range(turn)]:
                started = time.perf_counter()
                book = rule_book.load(session, org)
                units = UnitTree.load(session, org.id)
                scoring.grade(book, facts_of(lead, zone, now, units))
                rotation = SimulatedRotation(session, org.id)
                once = units if variants[index] else None
                decide(session, org, lead, now, book, rotation, units=once)
                durations[index].append(time.perf_counter() - started)
    session.rollback()
    return durations


# -- the proposed fixes, prototyped -------------------------------------------------------------

CURRENT: dict = {}  # the real functions, saved before anything is patched
FIXES = {1, 2, 3, 4}  # which fixes the "proposed" series has (--fixes)
FRESH_LEADS = "bench.fresh_leads"  # session.info: leads inserted in this transaction


def save_current() -> None:
    from leadtrack.services import intake, outbox
    from leadtrack.services.rotation import Rotation

    CURRENT.update(
        initial_assignment=intake._initial_assignment,
        write_once=outbox.write_once,
        rotation_read=Rotation.read,
        rotation_write=Rotation.write,
    )


def proposed_initial_assignment(session, lead, clean, actor, now) -> None:
    """intake._initial_assignment with the fixes in FIXES: (1) the rule book and the unit tree
    loaded once and handed to scoring and routing; (3) the new lead marked fresh for the
    outbox; (4) no autoflush while scoring and deciding, so the rows written on the way go
    to the database together (one multi-row INSERT per table) at the next flush."""
    from leadtrack.models import Organization, Privilege, Role, User
    from leadtrack.services import leads, routing, rule_book, scoring
    from leadtrack.services.errors import ValidationError
    from leadtrack.services.lead_facts import UnitTree
    from leadtrack.services.rotation import Rotation

    if 3 in FIXES:
        session.info[FRESH_LEADS] = {lead.id}  # proposal: intake sets it, after_commit clears it
    org = session.get(Organization, lead.org_id)
    book = rule_book.load(session, org)
    units = UnitTree.load(session, org.id) if 1 in FIXES else None
    with session.no_autoflush if 4 in FIXES else nullcontext():
        if book.score_rules:
            lead.temperature_by_hand = clean["temperature"] is not None
            lead.priority_by_hand = clean["priority"] != "normal"
        scoring.classify(session, org, lead, actor, now, book=book, units=units)
        assignee_id = clean["assignee_id"]
        user = actor.user
        if assignee_id is None and user is not None and user.role_enum is Role.AGENT:
            assignee_id = user.id
        if (
            user is not None
            and assignee_id not in (None, user.id)
            and not user.can(Privilege.REASSIGN_LEADS)
        ):
            raise ValidationError({"assignee_id": "You may give leads only to yourself."})
        if assignee_id is not None:
            assignee = session.get(User, assignee_id)
            leads.assign(session, lead, assignee, actor, now, reason="at intake")
            return
        # routing.route(session, org, lead, actor, now, book=book, units=units):
        if 1 not in FIXES:
            book = rule_book.load(session, org)
        rotation = Rotation(session, org.id)
        decision = routing.decide(session, org, lead, now, book, rotation, units=units)
        routing._carry_out(session, org, lead, decision, actor, now)


def proposed_rotation_read(self, pool: str, user_ids: list[int]):
    """Rotation.read as proposed (fix 2): keeps the rows it loaded for write()."""
    from leadtrack.services.rotation import Slot

    rows = self._rows(pool, user_ids)
    self.__dict__.setdefault("loaded", {})[pool] = (set(user_ids), rows)
    return {row.user_id: Slot(row.served, row.away, row.last_served_at) for row in rows.values()}


def proposed_rotation_write(self, pool: str, changed: dict) -> None:
    """Rotation.write as proposed (fix 2): no second SELECT for the rows read() saw."""
    from leadtrack.models import RotationSlot

    seen, rows = self.__dict__.get("loaded", {}).get(pool, (set(), {}))
    rows = dict(rows)
    rows.update(self._rows(pool, [u for u in changed if u not in seen]))
    for user_id, slot in changed.items():
        row = rows.get(user_id)
        if row is None:
            row = RotationSlot(org_id=self.org_id, pool=pool, user_id=user_id)
            self.session.add(row)
        row.served, row.away, row.last_served_at = slot.served, slot.away, slot.last_served_at


def proposed_write_once(session, notification, now) -> bool:
    """outbox.write_once as proposed (fix 3): an alert about a lead inserted in this very
    transaction cannot exist yet, and no other transaction can write one (it cannot see the
    lead), so the dedupe SELECT and the SAVEPOINT around the INSERT are skipped."""
    from leadtrack.models import ChannelName
    from leadtrack.services import outbox

    if notification.lead_id not in session.info.get(FRESH_LEADS, ()):
        return CURRENT["write_once"](session, notification, now)
    session.add(notification)
    session.flush()  # the in-app text links to the notification by id
    if notification.channel == ChannelName.IN_APP:
        outbox.deliver_in_app(session, notification, now)
    elif notification.next_attempt_at <= now:
        outbox.queue_after_commit(session, notification.id)
    return True


class Proposed:
    """The proposed fixes, patched in for the "proposed" batches only (the same organization
    and rules as the "with rules" batches); everything is restored on exit."""

    def __init__(self, probe: Probe):
        self.probe = probe

    def __enter__(self) -> Proposed:
        from leadtrack.services import outbox
        from leadtrack.services.rotation import Rotation

        self.probe.implementation = proposed_initial_assignment
        if 2 in FIXES:
            Rotation.read, Rotation.write = proposed_rotation_read, proposed_rotation_write
        if 3 in FIXES:
            outbox.write_once = proposed_write_once
        return self

    def __exit__(self, *exc_info) -> None:
        from leadtrack.services import outbox
        from leadtrack.services.rotation import Rotation

        self.probe.implementation = CURRENT["initial_assignment"]
        Rotation.read, Rotation.write = CURRENT["rotation_read"], CURRENT["rotation_write"]
        outbox.write_once = CURRENT["write_once"]


# -- the run ------------------------------------------------------------------------------------


class NoProposal:
    def __enter__(self) -> NoProposal:
        return self

    def __exit__(self, *exc_info) -> None:
        return None


# -- where the time goes -------------------------------------------------------------------------

PARTS = (  # (label, module, attribute); a part's own writes are flushed before its clock stops
    ("rule_book.load (routing_settings row; compiled book cached)", "rule_book", "load"),
    ("scoring.classify (score, temperature, priority, history rows)", "scoring", "classify"),
    ("routing.decide (rules, candidates, eligibility, rotation)", "routing", "decide"),
    ("routing._carry_out (decision row, assignment, history rows)", "routing", "_carry_out"),
    ("  outbox.notify (the assignee's alerts: in-app and e-mail)", "outbox", "notify"),
    ("UnitTree.load (in classify and in decide)", "UnitTree", "load"),
)


class Parts:
    """Wall-clock timers around the main steps of a decision (for the anatomy only): the
    session is flushed before each part's clock starts and before it stops, so the rows a
    part wrote are its cost and not the next query's."""

    def __init__(self, session):
        self.session = session
        self.spent: dict[str, float] = dict.fromkeys([label for label, _, _ in PARTS], 0.0)
        self.saved: list[tuple[object, str, object]] = []

    def __enter__(self) -> Parts:
        from leadtrack.services import outbox, routing, rule_book, scoring
        from leadtrack.services.lead_facts import UnitTree

        owners = {
            "rule_book": rule_book,
            "scoring": scoring,
            "routing": routing,
            "outbox": outbox,
            "UnitTree": UnitTree,
        }
        for label, owner_name, attribute in PARTS:
            owner = owners[owner_name]
            raw = owner.__dict__[attribute]
            self.saved.append((owner, attribute, raw))
            wrapped = self._timer(label, getattr(owner, attribute))
            setattr(owner, attribute, staticmethod(wrapped) if owner is UnitTree else wrapped)
        return self

    def __exit__(self, *exc_info) -> None:
        for owner, attribute, raw in reversed(self.saved):
            setattr(owner, attribute, raw)

    def _timer(self, label: str, function):
        def timed(*args, **kwargs):
            self.session.flush()  # what the caller wrote so far is the caller's cost
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.session.flush()
                self.spent[label] += time.perf_counter() - started

        return timed


def anatomy(session, org_id: int, count: int, offset: int, rng, clock, probe) -> dict:
    """`count` leads with the part timers, then `count` more under cProfile."""
    probe.flush_first = True
    probe.by_statement = {}
    out = Figures()
    try:
        with Parts(session) as parts:
            send(session, org_id, lead_bodies(count, offset, rng), clock, probe, out)
        by_statement = probe.by_statement
    finally:
        probe.flush_first = False
        probe.by_statement = None
    profiler = cProfile.Profile()
    probe.profiler = profiler
    profiled = Figures()
    try:
        send(session, org_id, lead_bodies(count, offset + count, rng), clock, probe, profiled)
    finally:
        probe.profiler = None
    per = 1000 / count
    stats = pstats.Stats(profiler).stats
    matching = sum(
        value[2]
        for (filename, _line, _name), value in stats.items()
        if filename.endswith("services/conditions.py")
    )
    return {
        "count": count,
        "ms": sum(out.decision) * per,
        "sql_ms": sum(out.decision_sql) * per,
        "statements": sum(out.decision_statements) / count,
        "parts": [(label, spent * per) for label, spent in parts.spent.items()],
        "profiled_ms": sum(profiled.decision) * per,
        "matching_ms": matching * per,
        "top": alerts._top(stats, per, count=12),
        "statements_top": sorted(
            ((text, sum(times) * per, len(times) / count) for text, times in by_statement.items()),
            key=lambda item: item[1],
            reverse=True,
        )[:8],
    }


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Run:
    database: str
    seeded: int
    casts: dict[str, Cast]
    rules: dict
    figures: dict[str, Figures]
    decide_only: dict[str, list[float]]
    matched: Counter  # rule position (1-50, 0 = fallback) -> leads
    outcomes: Counter
    skipped_reasons: Counter
    one_decision_sql: dict[str, list[str]]
    anatomy: dict | None
    seconds: float = 0.0


def make_app(url: str, tmp: Path):
    os.environ["LEADTRACK_INSTANCE"] = str(tmp / "instance")
    from leadtrack import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": "",  # the embedded server, under the temp instance dir
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )


def prepare(session, args, now: datetime) -> tuple[dict[str, Cast], dict]:
    from leadtrack.models import Organization, User
    from leadtrack.services import rules_document
    from leadtrack.services.history import Actor

    casts = {}
    for label, slug in SLUGS.items():
        casts[label] = cast = build_org(session, slug, now)
        org = session.get(Organization, cast.org_id)
        info = seed_leads._describe(session, org)
        if args.existing:
            seed_leads.seed(session, info, args.existing, now=now - timedelta(hours=1))
        log(f"{slug}: {info.users} people, {len(cast.teams)} teams, {args.existing:,} leads")
    cast = casts["rules"]
    document = bench_rules(cast)
    org = session.get(Organization, cast.org_id)
    admin = session.get(User, cast.admin_id)
    rules_document.apply(session, org, document, Actor(org.id, user=admin), now)
    session.commit()
    log(
        f"{SLUGS['rules']}: {len(document['assignment'])} assignment rules, "
        f"{len(document['scoring'])} scoring rules applied"
    )
    return casts, document


def measure_series(session, args, casts, clock, probe, rng) -> tuple[dict[str, Figures], int]:
    """Warm-up, then the same bodies to each series in turn, the order rotating per batch."""
    keys = ["rules", "proposed", "plain"] if args.proposed else ["rules", "plain"]
    org_of = {"rules": "rules", "proposed": "rules", "plain": "plain"}
    figures = {key: Figures() for key in keys}
    warm = lead_bodies(args.warmup, 0, rng)
    for key in keys:
        with Proposed(probe) if key == "proposed" else NoProposal():
            send(session, casts[org_of[key]].org_id, warm, clock, probe, Figures())
    log(f"warmed up with {args.warmup} leads per series")
    offset = args.warmup
    for number, start in enumerate(range(0, args.leads, args.batch)):
        bodies = lead_bodies(min(args.batch, args.leads - start), offset, rng)
        offset += len(bodies)
        for key in keys[number % len(keys) :] + keys[: number % len(keys)]:
            with Proposed(probe) if key == "proposed" else NoProposal():
                send(session, casts[org_of[key]].org_id, bodies, clock, probe, figures[key])
        log(f"{start + len(bodies):,} of {args.leads:,} leads per series")
    return figures, offset


def one_decision_sql(session, org_id, offset, rng, clock, probe, proposed: bool) -> list[str]:
    probe.capture = []
    with Proposed(probe) if proposed else NoProposal():
        send(session, org_id, lead_bodies(1, offset, rng), clock, probe, Figures())
    captured, probe.capture = probe.capture, None
    return captured


def bench_database(label: str, url: str, tmp: Path, args) -> Run:
    from flask_migrate import upgrade

    from leadtrack import embedded_redis
    from leadtrack.extensions import db

    started = time.perf_counter()
    app = make_app(url, tmp)
    now = bench_now()
    rng = random.Random(args.seed)
    save_current()
    try:
        with app.app_context():
            upgrade()
            session = db.session
            casts, document = prepare(session, args, now)
            rules_org = casts["rules"].org_id
            clock = Clock(now)
            with Probe(db.engine) as probe:
                figures, offset = measure_series(session, args, casts, clock, probe, rng)
                samples = lead_bodies(args.leads, offset, rng)
                variants = (False, True) if args.proposed else (False,)
                timed = decide_only(session, rules_org, samples, clock, variants)
                alone = dict(zip(("rules", "proposed"), timed, strict=False))
                offset += args.leads
                log(f"{label}: {args.leads:,} decisions alone per series")
                sql = {
                    "rules": one_decision_sql(session, rules_org, offset, rng, clock, probe, False)
                }
                if args.proposed:
                    sql["proposed"] = one_decision_sql(
                        session, rules_org, offset + 1, rng, clock, probe, True
                    )
                offset += 2
                parts = None
                if args.profile:
                    parts = anatomy(session, rules_org, args.profile, offset, rng, clock, probe)
            matched, outcomes, reasons = decisions(session, figures["rules"].lead_ids, document)
            version = server_version(session)
            session.remove()
            db.engine.dispose()
    finally:
        embedded_redis.stop(tmp / "instance" / "redis")
    run = Run(
        version,
        args.existing,
        casts,
        document,
        figures,
        alone,
        matched,
        outcomes,
        reasons,
        sql,
        parts,
    )
    run.seconds = time.perf_counter() - started
    return run


def decisions(session, lead_ids: list[int], document: dict) -> tuple[Counter, Counter, Counter]:
    """Which rule decided each lead (by position), the outcomes, and the skip reasons."""
    from sqlalchemy import select

    from leadtrack.models import AssignmentDecision

    position = {rule["name"]: n for n, rule in enumerate(document["assignment"], start=1)}
    rows = session.scalars(
        select(AssignmentDecision).where(AssignmentDecision.lead_id.in_(lead_ids))
    ).all()
    matched = Counter(position.get(row.rule_name, 0) for row in rows)
    outcomes = Counter(row.outcome for row in rows)
    reasons = Counter(
        candidate["skipped"].split(" (")[0].split(" until")[0]
        for row in rows
        for candidate in row.detail.get("candidates", [])
        if candidate["skipped"]
    )
    return matched, outcomes, reasons


def server_version(session) -> str:
    import sqlite3

    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        raw = session.execute(text("SHOW server_version")).scalar_one()
        return f"PostgreSQL {raw.split()[0]}"
    return f"SQLite {sqlite3.sqlite_version}"


# -- the report ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile, in ms."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


def med(values: list[float]) -> float:
    return statistics.median(values) * 1000


def report(args, run: Run, loads: tuple[float, float]) -> str:
    figures = run.figures
    rules, plain = figures["rules"], figures["plain"]
    keys = list(figures)
    rows = [
        ("decision: _initial_assignment (rule book, scoring, routing, done)", "decision"),
        ("  of which inside SQL (cursor.execute)", "decision_sql"),
        ("intake.create_lead (includes the decision)", "intake"),
        ("commit (and the after-commit alert job)", "commit"),
        ("create_lead + commit", "total"),
    ]
    headers = ["per lead, ms"]
    for key in keys:
        short = {"rules": "rules", "proposed": "proposed", "plain": "none"}[key]
        headers += [f"{short} p50", f"{short} p99"]
    headers.append("added p50")
    body = []
    for label, name in rows:
        line = [label]
        for key in keys:
            values = getattr(figures[key], name)
            line += [measure.ms(med(values)), measure.ms(pct(values, 0.99))]
        line.append(measure.ms(med(getattr(rules, name)) - med(getattr(plain, name))))
        body.append(line)
    statements = [
        "  SQL statements per lead, median, create_lead + commit (in the decision): "
        + ", ".join(
            f"{SERIES[key]} {statistics.median(figures[key].statements):.0f} "
            f"({statistics.median(figures[key].decision_statements):.0f})"
            for key in keys
        )
    ]
    positions = sorted(run.matched.elements())
    deep = sum(n for pos, n in run.matched.items() if pos > 40)
    total = sum(run.matched.values())
    decision_ms = med(rules.decision)
    out = [
        "LeadTrack benchmark: assignment rules (figures only, no pass/fail)",
        "",
        f"  date      {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"  machine   {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"python {platform.python_version()}",
        f"  load      {loads[0]:.2f} at start, {loads[1]:.2f} at end (1-minute load average)",
        f"  database  {run.database} (scratch); the embedded Redis takes the alert jobs",
        f"  orgs      2 of one shape: {USERS} people (181 agents in 27 teams), "
        f"{run.seeded:,} existing leads each; agents who cannot take leads: "
        + ", ".join(f"{n} {why}" for why, n in sorted(run.casts["rules"].skipped.items())),
        f"  rules     {len(run.rules['assignment'])} assignment + {len(run.rules['scoring'])} "
        "scoring rules in one org; none in the other (its leads wait in the queue)",
        f"  leads     {len(rules.intake):,} per series through intake.create_lead (API actor), "
        f"one commit each; series alternate in batches of {args.batch}, after "
        f"{args.warmup} warm-up leads each",
        f"  matched   median rule position {statistics.median(positions):.0f} of "
        f"{len(run.rules['assignment'])}; {deep / total:.0%} decided by rules 41-50; "
        + ", ".join(f"{k} {v}" for k, v in sorted(run.outcomes.items())),
        "  skipped   "
        + ", ".join(f"{why} {n}" for why, n in run.skipped_reasons.most_common())
        + " (candidates passed over, all leads)",
        "",
        measure.table(headers, body),
        "",
        *statements,
        "  decision alone (simulator's sample lead; scoring.grade + routing.decide with an "
        "in-memory rotation; nothing written): "
        + "; ".join(
            f"{'as today' if key == 'rules' else 'with fix 1'} p50 {measure.ms(med(values))} "
            f"ms, p99 {measure.ms(pct(values, 0.99))} ms"
            for key, values in run.decide_only.items()
        ),
        "",
        f"  GOAL  median decision <= {GOAL_MS:.0f} ms with rules: {measure.ms(decision_ms)} ms "
        f"-> {'MET' if decision_ms <= GOAL_MS else 'NOT MET'}"
        + (
            f" (with the proposed fixes: {measure.ms(med(figures['proposed'].decision))} ms)"
            if "proposed" in figures
            else ""
        ),
        "",
        measure.table(
            ["intake throughput, create_lead + commit, one at a time", "leads/s", "vs none"],
            [
                [
                    SERIES[key],
                    f"{figures[key].per_second:,.0f}",
                    f"{figures[key].per_second / plain.per_second:.2f}",
                ]
                for key in keys
            ],
        ),
    ]
    if run.anatomy:
        out += anatomy_report(run.anatomy)
    for key, lines in run.one_decision_sql.items():
        out += ["", f"  SQL of one decision, {SERIES[key]} (`_initial_assignment`), in order:"]
        out += [f"    {line}" for line in lines]
    out += ["", f"  total runtime {run.seconds:.0f} s"]
    return "\n".join(out)


def anatomy_report(parts: dict) -> list[str]:
    ms = parts["ms"]
    return [
        "",
        f"Where a decision's time goes ({parts['count']} leads in the org with rules, intake's "
        f"own rows flushed first): {ms:.2f} ms per decision, {parts['statements']:.1f} "
        f"statements, {parts['sql_ms']:.2f} ms inside SQL. Wall clock per part, its writes "
        "flushed inside it; the UnitTree row overlaps the two above it:",
        "",
        measure.table(
            ["part (mean per decision)", "ms", "share"],
            [[label, f"{value:.2f}", f"{value / ms:.0%}"] for label, value in parts["parts"]],
        ),
        "",
        f"  rule matching (own time in services/conditions.py, under cProfile): "
        f"{parts['matching_ms']:.3f} ms per decision of {parts['profiled_ms']:.2f} ms profiled",
        "",
        measure.table(
            ["function, most own time under cProfile", "own ms", "cum ms"],
            [[name, f"{own:.3f}", f"{cum:.3f}"] for name, own, cum in parts["top"]],
        ),
        "",
        measure.table(
            ["statement, most time inside cursor.execute", "ms", "runs"],
            [
                [text[:80], f"{spent:.3f}", f"{runs:.1f}"]
                for text, spent, runs in parts["statements_top"]
            ],
        ),
        "  (ms and runs per decision)",
    ]


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="a scratch PostgreSQL database")
    parser.add_argument("--leads", type=int, default=1000, help="leads per series")
    parser.add_argument("--batch", type=int, default=10, help="leads per alternating batch")
    parser.add_argument("--warmup", type=int, default=50, help="untimed leads per series")
    parser.add_argument("--existing", type=int, default=20_000, help="seeded leads per org")
    parser.add_argument("--profile", type=int, default=300, help="leads for the anatomy (0: skip)")
    parser.add_argument(
        "--proposed",
        action="store_true",
        help="a third series: the org with rules, with the proposed fixes patched in",
    )
    parser.add_argument(
        "--fixes", default="1,2,3,4", help="which proposed fixes (comma-separated numbers)"
    )
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    FIXES.clear()
    FIXES.update(int(n) for n in args.fixes.split(",") if n.strip())
    load_start = os.getloadavg()[0]
    with scratch_db.scratch_dir("leadtrack-bench-assign-") as tmp:
        if args.postgres:
            if not scratch_db.postgres_reachable():
                return 1
            with scratch_db.scratch_postgres("leadtrack_bench_assign") as url:
                run = bench_database("PostgreSQL", url, tmp, args)
        else:
            run = bench_database("SQLite", f"sqlite:///{tmp / 'assign.db'}", tmp, args)
    print(report(args, run, (load_start, os.getloadavg()[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
