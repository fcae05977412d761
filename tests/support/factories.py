"""Organizations and people built through the real services, as an admin would."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from leadtrack.extensions import db
from leadtrack.models import Organization, Role, Unit, User
from leadtrack.services import organizations, units, users

PASSWORD = "correct-horse-9"


@dataclass(frozen=True)
class Ref:
    """What a test needs of a row after its session is gone."""

    id: int
    name: str
    email: str = ""
    slug: str = ""

    @classmethod
    def of(cls, row: Organization | Unit | User) -> Ref:
        return cls(row.id, row.name, getattr(row, "email", ""), getattr(row, "slug", ""))


@dataclass(frozen=True)
class Tenant:
    org: Ref
    admin: Ref
    area: Ref
    store: Ref
    other_store: Ref
    area_manager: Ref
    store_manager: Ref
    agent: Ref
    other_agent: Ref
    receptionist: Ref


def build_tenant(slug: str) -> Tenant:
    session = db.session
    org, admin = organizations.create_organization(
        session,
        slug=slug,
        name=f"{slug.title()} Inc",
        admin_email=f"admin@{slug}.example.com",
        admin_password=PASSWORD,
        admin_name=f"{slug.title()} Admin",
        timezone="Europe/Berlin",
        default_country="DE",
    )
    area = units.create_unit(session, org, name="North", kind="area")
    store = units.create_unit(session, org, name="Main Street", kind="store", parent_id=area.id)
    other_store = units.create_unit(session, org, name="Harbour", kind="store", parent_id=area.id)

    def person(handle: str, role: Role, unit: Unit | None) -> User:
        return users.create_user(
            session,
            org,
            email=f"{handle}@{slug}.example.com",
            name=f"{handle.title()} {slug.title()}",
            role=role,
            password=PASSWORD,
            unit_id=unit.id if unit else None,
        )

    area_manager = person("area", Role.MANAGER, area)
    store_manager = person("storeboss", Role.MANAGER, store)
    area.manager, store.manager = area_manager, store_manager
    agent = person("agent", Role.AGENT, store)
    other_agent = person("harbouragent", Role.AGENT, other_store)
    receptionist = person("reception", Role.RECEPTIONIST, None)
    session.commit()
    rows = (
        org,
        admin,
        area,
        store,
        other_store,
        area_manager,
        store_manager,
        agent,
        other_agent,
        receptionist,
    )
    return Tenant(*(Ref.of(row) for row in rows))


@pytest.fixture
def tenant(app) -> Tenant:
    with app.app_context():
        return build_tenant("acme")


@pytest.fixture
def other_tenant(app) -> Tenant:
    with app.app_context():
        return build_tenant("globex")


@pytest.fixture
def super_admin(app) -> Ref:
    with app.app_context():
        user = users.create_user(
            db.session,
            None,
            email="root@platform.example.com",
            name="Root",
            role=Role.SUPER_ADMIN,
            password=PASSWORD,
        )
        db.session.commit()
        return Ref.of(user)
