"""Users: creation, profile and place in the tree, privileges, availability, deactivation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadtrack.models import ORG_ROLES, Organization, OutOfOffice, Privilege, Role, Unit, User
from leadtrack.models.organization import WeeklyHours
from leadtrack.models.roles import ROLE_PRIVILEGES
from leadtrack.services.access import scope_for
from leadtrack.services.contact_fields import normalize_email, normalize_phone
from leadtrack.services.errors import Forbidden, NotFound, ValidationError
from leadtrack.services.passwords import hash_password, password_problem
from leadtrack.timeutil import is_valid_timezone


@dataclass
class Profile:
    """The editable part of a user, as an admin form gives it."""

    name: str
    email: str
    role: str
    unit_id: int | None = None
    supervisor_id: int | None = None
    backup_id: int | None = None
    phone: str = ""
    timezone: str | None = None
    working_hours: WeeklyHours | None = None
    max_open_leads: int | None = None
    extra_errors: dict[str, str] = field(default_factory=dict)


def create_user(
    session: Session,
    org: Organization | None,
    *,
    email: str,
    name: str,
    role: Role | str,
    password: str,
    unit_id: int | None = None,
    supervisor_id: int | None = None,
    backup_id: int | None = None,
    phone: str = "",
    field_prefix: str = "",
    extra_errors: dict[str, str] | None = None,
) -> User:
    profile = Profile(
        name=name,
        email=email,
        role=str(role),
        unit_id=unit_id,
        supervisor_id=supervisor_id,
        backup_id=backup_id,
        phone=phone,
        extra_errors=dict(extra_errors or {}),
    )
    problem = password_problem(password)
    if problem:
        profile.extra_errors["password"] = problem
    user = User(org_id=org.id if org else None, password_hash=hash_password(password))
    _apply_profile(session, org, user, profile, field_prefix)
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, org: Organization, user: User, profile: Profile) -> None:
    _apply_profile(session, org, user, profile)


def _apply_profile(
    session: Session, org: Organization | None, user: User, p: Profile, prefix: str = ""
) -> None:
    errors = dict(p.extra_errors)
    email = _checked_email(session, p.email, user, errors)
    if not p.name.strip():
        errors["name"] = "Give the user's name."
    allowed_roles = ORG_ROLES if org is not None else (Role.SUPER_ADMIN,)
    if p.role not in allowed_roles:
        errors["role"] = "Pick a role from the list."
    phone = ""
    if p.phone.strip():
        try:
            phone = normalize_phone(p.phone, org.default_country if org else "US")
        except ValueError as exc:
            errors["phone"] = str(exc)
    if p.timezone and not is_valid_timezone(p.timezone):
        errors["timezone"] = "Pick a time zone from the list."
    if org is not None:
        _check_unit(session, org, p.unit_id, errors)
        _check_colleague(session, org, user, p.supervisor_id, "supervisor_id", errors)
        _check_colleague(session, org, user, p.backup_id, "backup_id", errors)
    if errors:
        raise ValidationError({prefix + k: v for k, v in errors.items()})
    user.email, user.name, user.role = email, p.name.strip(), Role(p.role)
    user.unit_id, user.supervisor_id, user.backup_id = p.unit_id, p.supervisor_id, p.backup_id
    user.phone, user.timezone, user.working_hours = phone, p.timezone or None, p.working_hours
    user.max_open_leads = p.max_open_leads


def _checked_email(session: Session, raw: str, user: User, errors: dict[str, str]) -> str:
    try:
        email = normalize_email(raw)
    except ValueError as exc:
        errors["email"] = str(exc)
        return raw
    clash = session.scalars(select(User).where(func.lower(User.email) == email)).first()
    if clash is not None and clash is not user:
        errors["email"] = "Another user already signs in with this e-mail."
    return email


def _check_unit(
    session: Session, org: Organization, unit_id: int | None, errors: dict[str, str]
) -> None:
    if unit_id is None:
        return
    unit = session.get(Unit, unit_id)
    if unit is None or unit.org_id != org.id:
        errors["unit_id"] = "Pick a unit from the list."


def _check_colleague(
    session: Session,
    org: Organization,
    user: User,
    other_id: int | None,
    field_name: str,
    errors: dict[str, str],
) -> None:
    if other_id is None:
        return
    other = session.get(User, other_id)
    if other is None or other.org_id != org.id or not other.is_active_user:
        errors[field_name] = "Pick an active colleague from the list."
    elif user.id is not None and other.id == user.id:
        errors[field_name] = "A user cannot be their own supervisor or backup."


def set_privilege_overrides(user: User, wanted: dict[Privilege, bool]) -> None:
    """Store only the differences from the role's defaults, so role changes stay meaningful."""
    defaults = ROLE_PRIVILEGES[user.role_enum]
    user.privilege_overrides = {
        str(priv): allowed for priv, allowed in wanted.items() if (priv in defaults) != allowed
    }


def deactivate(user: User, actor: User, now: datetime) -> None:
    if user.id == actor.id:
        raise ValidationError({"user": "You cannot deactivate your own account."})
    user.is_active_user = False
    user.deactivated_at = now


def reactivate(user: User) -> None:
    user.is_active_user = True
    user.deactivated_at = None
    user.failed_logins = 0
    user.locked_until = None


def add_out_of_office(
    session: Session, user: User, starts_at: datetime, ends_at: datetime, note: str = ""
) -> OutOfOffice:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The absence must end after it starts."})
    if user.org_id is None:
        raise ValidationError({"user": "Super admins have no out-of-office periods."})
    period = OutOfOffice(
        org_id=user.org_id, user=user, starts_at=starts_at, ends_at=ends_at, note=note.strip()
    )
    session.add(period)
    return period


def remove_out_of_office(session: Session, user: User, period_id: int) -> None:
    period = session.get(OutOfOffice, period_id)
    if period is None or period.user_id != user.id:
        raise NotFound(f"out-of-office {period_id}")
    user.out_of_office.remove(period)
    session.delete(period)


def absence_at(user: User, now: datetime) -> OutOfOffice | None:
    return next((p for p in user.out_of_office if p.starts_at <= now < p.ends_at), None)


def is_out_of_office(user: User, now: datetime) -> bool:
    return absence_at(user, now) is not None


def colleagues(session: Session, org_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.org_id == org_id, User.is_active_user.is_(True))
            .order_by(User.name)
        )
    )


def assignable_roles(actor: User) -> tuple[Role, ...]:
    """Organization admins hand out every role; anyone else given `manage_users` only their
    own role or an agent's, so nobody can give more than they have."""
    if actor.role_enum is Role.ORG_ADMIN:
        return ORG_ROLES
    return tuple(dict.fromkeys((actor.role_enum, Role.AGENT)))


def assignment_errors(
    actor: User,
    role: str,
    unit_id: int | None,
    visible_unit_ids: frozenset[int] | None,
    target: User | None = None,
) -> dict[str, str]:
    """A delegated user manager may only hand out their roles, inside their own subtree,
    and nobody changes their own role."""
    errors: dict[str, str] = {}
    if target is not None and target.id == actor.id and role != actor.role:
        errors["role"] = "You cannot change your own role."
    elif role in ORG_ROLES and role not in assignable_roles(actor):
        errors["role"] = "You cannot give this role."
    if visible_unit_ids is not None and unit_id not in visible_unit_ids:
        errors["unit_id"] = "Pick one of your own units."
    return errors


def manageable_unit_ids(session: Session, actor: User) -> frozenset[int] | None:
    """Units a user manager may place people in: None means any unit of the organization."""
    if actor.role_enum is Role.ORG_ADMIN:
        return None
    scope = scope_for(session, actor)
    if scope.unit_ids is not None:
        return scope.unit_ids
    if scope.owner_id is not None:  # an agent given the privilege: their own unit only
        return frozenset({actor.unit_id}) if actor.unit_id else frozenset()
    return None


def ensure_may_manage(actor: User, target: User) -> None:
    """Only organization admins touch admins; a delegated manager cannot climb above them."""
    if actor.role_enum is Role.ORG_ADMIN:
        return
    if target.role_enum is Role.ORG_ADMIN:
        raise Forbidden("Only organization admins can change an organization admin.")


def ensure_may_set_privileges(actor: User) -> None:
    if actor.role_enum is not Role.ORG_ADMIN:
        raise Forbidden("Only organization admins change privileges.")
