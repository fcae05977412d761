"""The four numbers at the top of a manager's board, over the leads they may see:

- new today: leads that arrived since midnight (the organization's time zone);
- unanswered now: open leads nobody has responded to yet;
- overdue now: unanswered leads past their response deadline;
- on time today: of the leads whose deadline fell due today (so far) or that were answered
  today, the share answered by their deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from leadtrack.models import Lead, Organization, User
from leadtrack.services import access
from leadtrack.services.lead_query import start_of_day


@dataclass(frozen=True)
class Counters:
    new_today: int
    unanswered: int
    overdue: int
    on_time: int  # answered by the deadline, of `measured`
    measured: int

    @property
    def on_time_percent(self) -> int | None:
        return round(100 * self.on_time / self.measured) if self.measured else None


def counters(session: Session, org: Organization, viewer: User, now: datetime) -> Counters:
    today = start_of_day(now, ZoneInfo(org.timezone))
    visible = access.visible(session, viewer, Lead).where(
        Lead.org_id == org.id, Lead.merged_into_id.is_(None)
    )
    leads = visible.subquery()
    unanswered = and_(leads.c.closed_at.is_(None), leads.c.first_response_at.is_(None))
    overdue = and_(unanswered, or_(leads.c.overdue_at.is_not(None), leads.c.response_due_at < now))
    measured = and_(
        leads.c.response_due_at.is_not(None),
        or_(
            and_(leads.c.response_due_at >= today, leads.c.response_due_at <= now),
            leads.c.first_response_at >= today,
        ),
    )
    on_time = and_(measured, leads.c.first_response_at <= leads.c.response_due_at)
    row = session.execute(
        select(
            _count(leads.c.created_at >= today),
            _count(unanswered),
            _count(overdue),
            _count(on_time),
            _count(measured),
        )
    ).one()
    return Counters(*(int(value or 0) for value in row))


def _count(condition):
    return func.sum(case((condition, 1), else_=0))
