"""Alerts raised by time rather than by a change: follow-ups falling due, and each user's
daily digest at the hour they chose. Both run from the scheduler every minute or so and
rely on the outbox's dedupe key, so running them twice sends nothing twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadtrack.models import AlertPreferences, Lead, Organization, User
from leadtrack.services import alert_context, outbox, recipients

FOLLOW_UP_WINDOW = timedelta(hours=1)  # a scheduler down for longer skips older reminders
DIGEST_LEADS = 10


def follow_ups_due(session: Session, now: datetime) -> int:
    """Tell assignees about follow-ups that fell due within the last hour."""
    written = 0
    for org in session.scalars(select(Organization)):
        due = session.scalars(
            select(Lead).where(
                Lead.org_id == org.id,
                Lead.follow_up_at > now - FOLLOW_UP_WINDOW,
                Lead.follow_up_at <= now,
                Lead.closed_at.is_(None),
                Lead.merged_into_id.is_(None),
                Lead.assignee_id.is_not(None),
            )
        )
        for lead in due:
            zone = recipients.zone_of(lead.assignee)
            written += len(
                outbox.notify(
                    session,
                    org,
                    "follow_up_due",
                    lead.assignee,
                    now,
                    lead=lead,
                    step=lead.follow_up_at.isoformat(),
                    details={"due_at": lead.follow_up_at.astimezone(zone).strftime("%H:%M")},
                )
            )
    return written


def digests_due(session: Session, now: datetime) -> int:
    """Write the daily digest of every user whose chosen hour it is, once per local day."""
    written = 0
    wanted = select(AlertPreferences).where(AlertPreferences.digest_enabled.is_(True))
    for preferences in session.scalars(wanted):
        user = session.get(User, preferences.user_id)
        if user is None or user.org_id is None:
            continue
        local = now.astimezone(recipients.zone_of(user))
        if local.hour != preferences.digest_hour:
            continue
        written += len(
            outbox.notify(
                session,
                user.organization,
                "daily_digest",
                user,
                now,
                step=local.date().isoformat(),
                context={"digest": digest_of(session, user, now)},
                stand_in=False,
            )
        )
    return written


def digest_of(session: Session, user: User, now: datetime) -> dict:
    zone = recipients.zone_of(user)
    local_midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = local_midnight + timedelta(days=1)
    mine = select(Lead).where(
        Lead.org_id == user.org_id,
        Lead.assignee_id == user.id,
        Lead.closed_at.is_(None),
        Lead.merged_into_id.is_(None),
    )

    def count(stmt) -> int:
        return session.scalar(select(func.count()).select_from(stmt.subquery()))

    needing = session.scalars(
        mine.where(Lead.follow_up_at < tomorrow).order_by(Lead.follow_up_at).limit(DIGEST_LEADS)
    ).all()
    return {
        "open": count(mine),
        "new": count(mine.where(Lead.created_at > now - timedelta(days=1))),
        "due_today": count(mine.where(Lead.follow_up_at >= now, Lead.follow_up_at < tomorrow)),
        "overdue": count(mine.where(Lead.follow_up_at < now)),
        "leads": [
            {
                "name": lead.name,
                "status": lead.status.name,
                "url": alert_context.lead_url(lead.id),
            }
            for lead in needing
        ],
    }
