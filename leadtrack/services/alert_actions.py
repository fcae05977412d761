"""What a signed alert link does: "I'm on it" records a response by the alert's recipient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import Activity, ActivityKind, Lead, Notification, User
from leadtrack.services import leads
from leadtrack.services.alert_links import AlertLink, LinkError
from leadtrack.services.history import Actor


@dataclass(frozen=True)
class LinkTarget:
    lead: Lead
    user: User
    notification: Notification


def resolve(session: Session, link: AlertLink) -> LinkTarget:
    """The lead, user and alert a correctly signed link names — all of one organization."""
    notification = session.get(Notification, link.notification_id)
    user = session.get(User, link.user_id)
    lead = session.get(Lead, link.lead_id)
    if (
        notification is None
        or user is None
        or lead is None
        or notification.recipient_id != user.id
        or notification.lead_id != lead.id
        or lead.org_id != user.org_id
    ):
        raise LinkError("This link does not match any alert.")
    if not user.is_active_user:
        raise LinkError("This account is deactivated, so the link no longer works.")
    return LinkTarget(lead, user, notification)


def already_acknowledged(session: Session, target: LinkTarget) -> bool:
    return (
        session.scalar(
            select(Activity.id).where(
                Activity.lead_id == target.lead.id,
                Activity.actor_id == target.user.id,
                Activity.kind == ActivityKind.ACK,
                Activity.created_at >= target.notification.created_at,
            )
        )
        is not None
    )


def acknowledge(session: Session, target: LinkTarget, now: datetime, via: str = "alert") -> bool:
    """Record "I'm on it" once per alert; False when it was already recorded."""
    if already_acknowledged(session, target):
        return False
    channel = target.notification.channel_enum.label.lower()
    leads.add_activity(
        session,
        target.lead,
        Actor(org_id=target.lead.org_id, user=target.user, via=via),
        now,
        kind=ActivityKind.ACK,
        body=f"I'm on it (answered the {channel} alert).",
    )
    return True
