"""The demo organization: a car dealer group with two areas and four stores. Idempotent."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import Organization, Role, Unit, User
from leadtrack.services import demo_leads, organizations, units, users
from leadtrack.services.auth import find_user_by_email
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
    demo_leads.seed_leads(session, org, utcnow(), random.Random(2026))  # noqa: S311 - demo data
    return logins


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
