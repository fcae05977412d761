"""The unit tree: areas, stores and teams at any depth, each with a manager."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadtrack.models import UNIT_KINDS, Organization, Unit, User
from leadtrack.services.access import unit_subtree_ids
from leadtrack.services.errors import NotFound, ValidationError


@dataclass(frozen=True)
class TreeRow:
    unit: Unit
    depth: int
    member_count: int


def tree(session: Session, org_id: int) -> list[TreeRow]:
    """Every unit of the organization in depth-first order, for display."""
    units = session.scalars(select(Unit).where(Unit.org_id == org_id).order_by(Unit.name)).all()
    counts = dict(
        session.execute(
            select(User.unit_id, func.count())
            .where(User.org_id == org_id, User.is_active_user.is_(True))
            .group_by(User.unit_id)
        ).all()
    )
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    rows: list[TreeRow] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for unit in children.get(parent_id, []):
            rows.append(TreeRow(unit, depth, counts.get(unit.id, 0)))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return rows


def _validate(
    session: Session,
    org: Organization,
    *,
    name: str,
    kind: str,
    parent_id: int | None,
    manager_id: int | None,
    unit: Unit | None = None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Name the unit."
    if kind not in UNIT_KINDS:
        errors["kind"] = "Pick a kind from the list."
    if parent_id is not None:
        parent = session.get(Unit, parent_id)
        if parent is None or parent.org_id != org.id:
            errors["parent_id"] = "Pick a parent unit from the list."
        elif unit is not None and parent_id in unit_subtree_ids(session, unit.id):
            errors["parent_id"] = "A unit cannot sit under itself or one of its own units."
    if manager_id is not None:
        manager = session.get(User, manager_id)
        if manager is None or manager.org_id != org.id or not manager.is_active_user:
            errors["manager_id"] = "Pick an active user of this organization."
    if "name" not in errors and "parent_id" not in errors:
        clash = select(Unit).where(
            Unit.org_id == org.id,
            Unit.parent_id.is_(None) if parent_id is None else Unit.parent_id == parent_id,
            func.lower(Unit.name) == name.strip().lower(),
        )
        existing = session.scalars(clash).first()
        if existing is not None and existing is not unit:
            errors["name"] = "A unit with this name already sits under the same parent."
    return errors


def create_unit(
    session: Session,
    org: Organization,
    *,
    name: str,
    kind: str = "team",
    parent_id: int | None = None,
    manager_id: int | None = None,
) -> Unit:
    errors = _validate(
        session, org, name=name, kind=kind, parent_id=parent_id, manager_id=manager_id
    )
    if errors:
        raise ValidationError(errors)
    unit = Unit(
        org_id=org.id, name=name.strip(), kind=kind, parent_id=parent_id, manager_id=manager_id
    )
    session.add(unit)
    session.flush()
    return unit


def update_unit(
    session: Session,
    unit: Unit,
    *,
    name: str,
    kind: str,
    parent_id: int | None,
    manager_id: int | None,
) -> None:
    errors = _validate(
        session,
        unit_org(session, unit),
        name=name,
        kind=kind,
        parent_id=parent_id,
        manager_id=manager_id,
        unit=unit,
    )
    if errors:
        raise ValidationError(errors)
    unit.name, unit.kind = name.strip(), kind
    unit.parent_id, unit.manager_id = parent_id, manager_id


def delete_unit(session: Session, unit: Unit) -> None:
    """Only an empty leaf can go: users and sub-units must be moved first."""
    members = session.scalar(select(func.count()).where(User.unit_id == unit.id)) or 0
    if members:
        raise ValidationError(
            {"unit": f"{unit.name} still has {members} user(s). Move them to another unit first."}
        )
    if session.scalar(select(func.count()).where(Unit.parent_id == unit.id)):
        raise ValidationError(
            {"unit": f"{unit.name} still has sub-units. Move or delete them first."}
        )
    session.delete(unit)


def unit_org(session: Session, unit: Unit) -> Organization:
    org = session.get(Organization, unit.org_id)
    if org is None:
        raise NotFound("organization")
    return org
