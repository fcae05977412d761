"""Who may take a new lead right now, and, for each person who may not, why not."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadtrack.models import Holiday, Lead, Organization, User
from leadtrack.services.calendar import is_open
from leadtrack.services.users import absence_at
from leadtrack.timeutil import to_zone

INACTIVE = "inactive"
OUTSIDE_BUSINESS_HOURS = "outside business hours"
HOLIDAY = "holiday"
OUTSIDE_WORKING_HOURS = "outside their working hours"
EXCLUDED = "had the lead before"


def open_lead_counts(session: Session, org_id: int, user_ids: Iterable[int]) -> dict[int, int]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Lead.assignee_id, func.count())
        .where(
            Lead.org_id == org_id,
            Lead.assignee_id.in_(ids),
            Lead.closed_at.is_(None),
            Lead.merged_into_id.is_(None),
        )
        .group_by(Lead.assignee_id)
    )
    return dict(rows.all())


def business_closed_reason(session: Session, org: Organization, now: datetime) -> str:
    """'' when the organization is open now; else why not (a holiday, or the hours)."""
    zone = ZoneInfo(org.timezone)
    today = now.astimezone(zone).date()
    holiday = session.scalar(
        select(Holiday.name).where(Holiday.org_id == org.id, Holiday.day == today)
    )
    if holiday is not None:
        return f"{HOLIDAY} ({holiday})"
    return "" if is_open(org.business_hours, now, zone) else OUTSIDE_BUSINESS_HOURS


def skip_reason(
    user: User,
    org: Organization,
    now: datetime,
    open_leads: int,
    *,
    closed_reason: str | None,
    excluded: bool = False,
) -> str:
    """'' when the user may take a lead now. `closed_reason` None means hours do not count
    for this rule; '' means the organization is open."""
    if not user.is_active_user:
        return INACTIVE
    if excluded:
        return EXCLUDED
    absence = absence_at(user, now)
    if absence is not None:
        back = to_zone(absence.ends_at, user.effective_timezone)
        return f"out of office until {back:%Y-%m-%d %H:%M}"
    if closed_reason is not None:
        if closed_reason:
            return closed_reason
        hours = user.working_hours if user.working_hours is not None else org.business_hours
        if not is_open(hours, now, ZoneInfo(user.effective_timezone)):
            return OUTSIDE_WORKING_HOURS
    cap = user.max_open_leads
    if cap is not None and open_leads >= cap:
        return f"at capacity ({open_leads} of {cap} open leads)"
    return ""
