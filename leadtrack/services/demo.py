"""The demo organization: a car dealer group with two areas and four stores. Idempotent."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import Organization, Role, RuleKind, Unit, User
from leadtrack.services import demo_leads, organizations, rule_book, rules_document, units, users
from leadtrack.services.auth import find_user_by_email
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow

DEMO_PASSWORD = "leadtrack-demo-1"  # noqa: S105 - printed for the demo on purpose
DEMO_SLUG = "northwind"
SUPER_ADMIN_EMAIL = "super@leadtrack.example"

# area -> stores; each store has a manager and two sales associates.
AREAS = {
    "North Area": ["Springfield Motors", "Shelbyville Motors"],
    "South Area": ["Ogdenville Motors", "Capital City Motors"],
}
PEOPLE = {
    "North Area": ("Nadia North", "north.manager"),
    "South Area": ("Sam South", "south.manager"),
    "Springfield Motors": ("Sofia Ramos", "springfield.manager", ["Ava Chen", "Ben Okafor"]),
    "Shelbyville Motors": ("Sean Brody", "shelbyville.manager", ["Chloe Diaz", "Dev Patel"]),
    "Ogdenville Motors": ("Olga Berg", "ogdenville.manager", ["Eli Novak", "Fay Ito"]),
    "Capital City Motors": ("Carl Meyer", "capital.manager", ["Gus Lind", "Hana Kim"]),
}
DOMAIN = "northwind.example"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    where: str


def seed_demo(session: Session) -> list[DemoLogin]:
    """Create whatever part of the demo is missing; return the logins to print."""
    logins: list[DemoLogin] = []
    _ensure_super_admin(session, logins)
    org = session.scalars(select(Organization).where(Organization.slug == DEMO_SLUG)).first()
    if org is None:
        org, _ = organizations.create_organization(
            session,
            slug=DEMO_SLUG,
            name="Northwind Motors",
            admin_email=f"admin@{DOMAIN}",
            admin_password=DEMO_PASSWORD,
            admin_name="Alex Admin",
            timezone="America/Chicago",
        )
        organizations.add_holiday(session, org, date(2026, 12, 25), "Christmas Day")
        organizations.add_holiday(session, org, date(2027, 1, 1), "New Year's Day")
    logins.append(DemoLogin(f"admin@{DOMAIN}", "Organization admin", org.name))
    _seed_tree(session, org, logins)
    receptionist = _user(session, org, "Rita Front", f"reception@{DOMAIN}", Role.RECEPTIONIST, None)
    logins.append(DemoLogin(receptionist.email, "Receptionist", org.name))
    session.flush()
    _seed_rules(session, org)
    _seed_tasks(session, org)
    demo_leads.seed_leads(session, org, utcnow(), random.Random(2026))  # noqa: S311 - demo data
    return logins


def _seed_rules(session: Session, org: Organization) -> None:
    """The demo's assignment and scoring rules, unless the organization has changed its own."""
    if rule_book.settings_of(session, org.id).version > 0:
        return
    stores = {"Downtown": "Springfield Motors", "Eastside": "Shelbyville Motors"}
    stores |= {"Harbor": "Ogdenville Motors", "Hills": "Capital City Motors"}
    document = {
        "settings": {"hot_from": 50, "warm_from": 20, "priority_from": {"urgent": 70, "high": 40}},
        "assignment": [
            {
                "name": "Big deals to a senior rep",
                "when": {"field": "value", "op": "gte", "value": 60000},
                "assign": {"user": f"ava.chen@{DOMAIN}"},
            },
            {
                "name": "Fleet enquiries to Inside Sales",
                "when": _has_tag("fleet"),
                "assign": {"team": "Inside Sales", "method": "fewest_open", "hours": False},
            },
            {
                "name": "Small deals to Inside Sales",
                "when": {"field": "value", "op": "lt", "value": 5000},
                "assign": {"team": "Inside Sales", "method": "round_robin", "hours": False},
            },
            {
                "name": "Walk-ins assigned by hand",
                "when": _source_is("walk-in"),
                "assign": {"queue": None},
            },
            {
                "name": "Web leads to the district's store",
                "when": _source_is("web"),
                "assign": {"by_field": "district", "map": stores, "otherwise": "Inside Sales"},
            },
        ],
        "scoring": [
            {"name": "Web enquiry", "when": _source_is("web"), "points": 10},
            {"name": "Referral", "when": _source_is("referral"), "points": 25},
            {
                "name": "Big ticket",
                "when": {"field": "value", "op": "gte", "value": 30000},
                "points": 30,
            },
            {"name": "VIP", "when": _has_tag("vip"), "points": 25},
            {"name": "Wants a test drive", "when": _has_tag("test-drive"), "points": 15},
            {"name": "Needs financing", "when": _has_tag("financing"), "points": 10},
        ],
        **DEMO_CLOCK_RULES,
    }
    actor = Actor(org.id, via="system")
    rules_document.apply(session, org, document, actor, utcnow(), summary="demo rules")


DEMO_CLOCK_RULES = {
    "response": [
        {
            "name": "Web leads in 15 minutes",
            "when": {"field": "source", "op": "is", "value": "web"},
            "within": "15m",
            "warnings": [50, 80],
            "ladder": [
                {"to": "backup", "action": "reassign", "overdue": True},
                {"after": "30m", "to": "manager", "action": "notify"},
            ],
        },
        {
            "name": "Everything else within 2 hours",
            "within": "2h",
            "warnings": [75],
            "ladder": [
                {"to": "supervisor", "action": "watch", "overdue": True},
                {"after": "1h", "to": "manager", "action": "reassign"},
            ],
        },
    ],
    "aging": [{"name": "Quiet for 30 days", "after": "30d", "business_time": False}],
    "auto_close": [
        {
            "name": "Unreachable for 90 days",
            "when": {"field": "status", "op": "is", "value": "Could not reach"},
            "after": "90d",
            "business_time": False,
            "close_as": "Lost",
        }
    ],
}


DEMO_TASKS = [
    {
        "name": "Could not reach: try again every 2 days",
        "trigger": {"status_changed": "Could not reach"},
        "until": "status_changed",
        "within": "2d",
        "business_time": False,
        "then": [{"notify": {"to": ["assignee"], "message": "Try to reach them again"}}],
        "repeat": {"every": "2d", "until": "30d"},
        "finally": [{"reassign": {"team": "Inside Sales"}}],
    },
    {
        "name": "Lead value within a week",
        "trigger": "assigned",
        "until": {"filled": "value"},
        "within": "7d",
        "then": [{"notify": {"to": ["assignee"], "cc": ["manager"]}}],
        "if_met": {
            "when": {"field": "value", "op": "gte", "value": 60000},
            "then": [{"notify": {"to": ["manager"], "message": "A big deal came in"}}],
        },
    },
    {
        "name": "Not updated for two weeks",
        "trigger": "idle",
        "within": "14d",
        "business_time": False,
        "then": [{"notify": {"to": ["manager"], "channels": ["in_app"]}}],
    },
]


def _seed_tasks(session: Session, org: Organization) -> None:
    """The demo's tasks, added once to a rule set the demo wrote and nobody has changed since
    (a demo database seeded before tasks existed gets them too)."""
    if rule_book.rules_of(session, org.id, RuleKind.TASK):
        return
    [latest] = rules_document.versions(session, org.id, limit=1) or [None]
    if latest is None or latest.via != "system":
        return
    document = rules_document.export(session, org)
    document["tasks"] = DEMO_TASKS
    actor = Actor(org.id, via="system")
    rules_document.apply(session, org, document, actor, utcnow(), summary="demo tasks")


def _source_is(code: str) -> dict:
    return {"field": "source", "op": "is", "value": code}


def _has_tag(tag: str) -> dict:
    return {"field": "tags", "op": "has", "value": tag}


def _ensure_super_admin(session: Session, logins: list[DemoLogin]) -> None:
    if find_user_by_email(session, SUPER_ADMIN_EMAIL) is None:
        users.create_user(
            session,
            None,
            email=SUPER_ADMIN_EMAIL,
            name="Platform Owner",
            role=Role.SUPER_ADMIN,
            password=DEMO_PASSWORD,
        )
    logins.append(DemoLogin(SUPER_ADMIN_EMAIL, "Super admin", "all organizations"))


def _seed_tree(session: Session, org: Organization, logins: list[DemoLogin]) -> None:
    inside = _unit(session, org, "Inside Sales", "team", None)
    for area_name, stores in AREAS.items():
        area = _unit(session, org, area_name, "area", None)
        name, handle = PEOPLE[area_name]
        area.manager = _user(session, org, name, f"{handle}@{DOMAIN}", Role.MANAGER, area)
        logins.append(DemoLogin(area.manager.email, "Area manager", area_name))
        for store_name in stores:
            store = _unit(session, org, store_name, "store", area)
            name, handle, associates = PEOPLE[store_name]
            store.manager = _user(session, org, name, f"{handle}@{DOMAIN}", Role.MANAGER, store)
            logins.append(DemoLogin(store.manager.email, "Store manager", store_name))
            reps = [_agent(session, org, rep, store) for rep in associates]
            reps[0].backup, reps[1].backup = reps[1], reps[0]
            logins.append(DemoLogin(reps[0].email, "Sales associate", store_name))
    closer = _agent(session, org, "Ivy Inside", inside)
    inside.manager = closer


def _agent(session: Session, org: Organization, name: str, unit: Unit) -> User:
    handle = name.lower().replace(" ", ".")
    return _user(session, org, name, f"{handle}@{DOMAIN}", Role.AGENT, unit)


def _unit(session: Session, org: Organization, name: str, kind: str, parent: Unit | None) -> Unit:
    existing = session.scalars(select(Unit).where(Unit.org_id == org.id, Unit.name == name)).first()
    if existing is not None:
        return existing
    return units.create_unit(
        session, org, name=name, kind=kind, parent_id=parent.id if parent else None
    )


def _user(
    session: Session, org: Organization, name: str, email: str, role: Role, unit: Unit | None
) -> User:
    existing = find_user_by_email(session, email)
    if existing is not None:
        return existing
    return users.create_user(
        session,
        org,
        email=email,
        name=name,
        role=role,
        password=DEMO_PASSWORD,
        unit_id=unit.id if unit else None,
        phone=f"+1 217 555 01{zlib.crc32(email.encode()) % 100:02d}",
    )
