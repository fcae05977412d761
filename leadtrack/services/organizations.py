"""Organizations (tenants): creation with a first admin, settings, holidays."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import Holiday, Organization, Role, User
from leadtrack.models.organization import DEFAULT_BUSINESS_HOURS, WeeklyHours
from leadtrack.services import lead_settings
from leadtrack.services import users as user_service
from leadtrack.services.errors import NotFound, ValidationError
from leadtrack.timeutil import is_valid_timezone

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")


def create_organization(
    session: Session,
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str,
    admin_name: str = "",
    timezone: str = "UTC",
    default_country: str = "US",
) -> tuple[Organization, User]:
    slug = slug.strip().lower()
    errors: dict[str, str] = {}
    if not _SLUG.match(slug):
        errors["slug"] = "Use 3–60 lower-case letters, digits and dashes."
    elif session.scalars(select(Organization).where(Organization.slug == slug)).first():
        errors["slug"] = "This slug is taken."
    if not name.strip():
        errors["name"] = "Give the organization a name."
    if not is_valid_timezone(timezone):
        errors["timezone"] = "Pick a time zone from the list."
    if errors:
        raise ValidationError(errors)
    org = Organization(
        slug=slug,
        name=name.strip(),
        timezone=timezone,
        sender_name=name.strip(),
        default_country=default_country.upper(),
        business_hours=dict(DEFAULT_BUSINESS_HOURS),
    )
    session.add(org)
    session.flush()
    lead_settings.ensure_defaults(session, org)
    admin = user_service.create_user(
        session,
        org,
        email=admin_email,
        name=admin_name or "Administrator",
        role=Role.ORG_ADMIN,
        password=admin_password,
        field_prefix="admin_",
    )
    return org, admin


def get_by_slug(session: Session, slug: str) -> Organization:
    org = session.scalars(select(Organization).where(Organization.slug == slug)).first()
    if org is None:
        raise NotFound(f"organization {slug}")
    return org


def update_settings(
    org: Organization,
    *,
    name: str,
    timezone: str,
    sender_name: str,
    default_country: str,
    business_hours: WeeklyHours,
) -> None:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Give the organization a name."
    if not is_valid_timezone(timezone):
        errors["timezone"] = "Pick a time zone from the list."
    if not re.fullmatch(r"[A-Za-z]{2}", default_country.strip()):
        errors["default_country"] = "Use a two-letter country code, such as US or DE."
    if errors:
        raise ValidationError(errors)
    org.name = name.strip()
    org.timezone = timezone
    org.sender_name = sender_name.strip() or org.name
    org.default_country = default_country.strip().upper()
    org.business_hours = business_hours


def add_holiday(session: Session, org: Organization, day: date, name: str) -> Holiday:
    if not name.strip():
        raise ValidationError({"name": "Name the holiday."})
    if any(h.day == day for h in org.holidays):
        raise ValidationError({"day": "There is already a holiday on this day."})
    holiday = Holiday(org_id=org.id, day=day, name=name.strip())
    session.add(holiday)
    org.holidays.append(holiday)
    return holiday


def remove_holiday(session: Session, org: Organization, holiday_id: int) -> None:
    holiday = session.get(Holiday, holiday_id)
    if holiday is None or holiday.org_id != org.id:
        raise NotFound(f"holiday {holiday_id}")
    org.holidays.remove(holiday)
    session.delete(holiday)
