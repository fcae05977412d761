"""Bulk actions on the lead list: reassign, change status, tag, close — each gated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadtrack.models import AuditEvent, Lead, LeadStatus, Organization, Privilege, User
from leadtrack.services import access, lead_settings, leads
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.ids import parse_id

ACTIONS = ("assign", "status", "tag", "close")
MAX_BULK = 500


def apply(
    session: Session,
    org: Organization,
    user: User,
    lead_ids: list[int],
    action: str,
    value: str,
    now: datetime,
    reason: str = "",
) -> int:
    """Apply one action to the selected leads the user may see; return how many changed."""
    if action not in ACTIONS:
        raise ValidationError({"action": "Pick an action."})
    if not lead_ids:
        raise ValidationError({"ids": "Select at least one lead."})
    if len(lead_ids) > MAX_BULK:
        raise ValidationError({"ids": f"Select at most {MAX_BULK} leads at a time."})
    actor = Actor(org.id, user=user, via="web")
    selected = list(
        session.scalars(access.visible(session, user, Lead).where(Lead.id.in_(lead_ids)))
    )
    change = _action(session, org, actor, action, value, reason)
    for lead in selected:
        change(lead, now)
    session.add(
        AuditEvent(
            org_id=org.id,
            at=now,
            actor_id=user.id,
            kind=f"bulk_{action}",
            data={"lead_ids": [lead.id for lead in selected], "value": value},
        )
    )
    return len(selected)


def _action(session, org, actor: Actor, action: str, value: str, reason: str):
    if action == "assign":
        leads.require(actor, Privilege.REASSIGN_LEADS)
        assignee = _colleague(session, org, value)
        return lambda lead, now: leads.assign(session, lead, assignee, actor, now, reason="bulk")
    if action == "tag":
        tag = value.strip().lower()
        if not tag or len(tag) > 60 or not tag.isprintable():
            raise ValidationError({"value": "Give a tag of at most 60 characters."})
        return lambda lead, now: leads.add_tags(session, lead, [tag], actor, now)
    status = _status(session, org, value)
    if action == "close":
        return lambda lead, now: leads.close(session, lead, status, reason, actor, now)
    return lambda lead, now: leads.change_status(session, lead, status, actor, now)


def _colleague(session, org, value: str) -> User | None:
    if value in ("", "none"):
        return None
    user_id = parse_id(value)
    user = session.get(User, user_id) if user_id else None
    if user is None or user.org_id != org.id or not user.is_active_user:
        raise ValidationError({"value": "Pick an active colleague."})
    return user


def _status(session, org, value: str) -> LeadStatus:
    try:
        return lead_settings.status_by_id(session, org.id, value)
    except ValidationError as exc:
        raise ValidationError({"value": "Pick a status."}) from exc
