"""What may this actor see? The one scoping helper every query goes through.

- super admin: everything (across organizations, for platform administration)
- organization admin: their organization
- manager: their unit subtree (the unit they manage or belong to, and everything below)
- agent: their own records
- receptionist: their organization's intake (they enter and route leads, see the unit tree)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from leadtrack.models import Role, Unit, User
from leadtrack.services.errors import NotFound


@dataclass(frozen=True)
class Scope:
    org_id: int | None  # None: every organization (super admin only)
    unit_ids: frozenset[int] | None = None  # None: the whole organization
    owner_id: int | None = None  # set: only records owned by this user

    @property
    def is_platform(self) -> bool:
        return self.org_id is None


def unit_subtree_ids(session: Session, root_id: int) -> frozenset[int]:
    """The unit and all its descendants, by a recursive CTE (SQLite and PostgreSQL alike)."""
    tree = select(Unit.id).where(Unit.id == root_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return frozenset(session.scalars(select(tree.c.id)))


def scope_for(session: Session, actor: User) -> Scope:
    role = actor.role_enum
    if role is Role.SUPER_ADMIN:
        return Scope(org_id=None)
    if role in (Role.ORG_ADMIN, Role.RECEPTIONIST):
        return Scope(org_id=actor.org_id)
    if role is Role.MANAGER:
        root = _managed_root(session, actor)
        if root is None:
            return Scope(org_id=actor.org_id, owner_id=actor.id)
        # Their units' records, and their own wherever they sit (a lead assigned to them).
        return Scope(
            org_id=actor.org_id, unit_ids=unit_subtree_ids(session, root), owner_id=actor.id
        )
    return Scope(org_id=actor.org_id, owner_id=actor.id)


def _managed_root(session: Session, actor: User) -> int | None:
    """The highest unit the manager manages, else their own unit."""
    managed = session.scalars(
        select(Unit).where(Unit.org_id == actor.org_id, Unit.manager_id == actor.id)
    ).all()
    if managed:
        managed_ids = {u.id for u in managed}
        tops = [u for u in managed if u.parent_id not in managed_ids]
        return min(tops, key=lambda u: u.id).id
    return actor.unit_id


def apply_scope(stmt: Select[Any], model: type, scope: Scope) -> Select[Any]:
    """Restrict a select of `model` to what the scope may see.

    A model takes part by naming its columns: `__scope_unit__` (the unit a row belongs to)
    and `__scope_owner__` (the user who owns it). Tenant models always have `org_id`.
    """
    if scope.org_id is not None:
        stmt = stmt.where(model.org_id == scope.org_id)
    unit_col = getattr(model, "__scope_unit__", None)
    owner_col = getattr(model, "__scope_owner__", None)
    if scope.unit_ids is not None and unit_col is not None:
        unit_filter = getattr(model, unit_col).in_(scope.unit_ids)
        if owner_col is not None and scope.owner_id is not None:
            unit_filter = unit_filter | (getattr(model, owner_col) == scope.owner_id)
        stmt = stmt.where(unit_filter)
    elif scope.owner_id is not None and owner_col is not None:
        stmt = stmt.where(getattr(model, owner_col) == scope.owner_id)
    return stmt


def visible(session: Session, actor: User, model: type) -> Select[Any]:
    return apply_scope(select(model), model, scope_for(session, actor))


def get_visible(session: Session, actor: User, model: type, object_id: int) -> Any:
    """The object if the actor may see it; NotFound otherwise (another tenant's id included)."""
    stmt = visible(session, actor, model).where(model.id == object_id)
    obj = session.scalars(stmt).first()
    if obj is None:
        raise NotFound(f"{model.__name__} {object_id}")
    return obj


def org_scope(actor: User) -> Scope:
    """The whole organization of the actor, for admin pages."""
    return Scope(org_id=actor.org_id)


def get_in_org(session: Session, actor: User, model: type, object_id: int) -> Any:
    obj = session.get(model, object_id)
    if obj is None or obj.org_id != actor.org_id:
        raise NotFound(f"{model.__name__} {object_id}")
    return obj
