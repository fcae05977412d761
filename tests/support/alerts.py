"""Helpers for alert tests: raise alerts through the real services, read the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import Lead, Notification, User
from leadtrack.services import leads
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow

from .leads import make_lead


def assigned_lead(app, tenant, *, to=None, by=None, now: datetime | None = None, **fields) -> int:
    """A lead created by the API, then assigned by a manager: the assignee gets alerts."""
    to = to or tenant.agent
    by = by or tenant.store_manager
    lead_id = make_lead(app, tenant.org.id, **fields)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        manager = db.session.get(User, by.id)
        leads.assign(
            db.session,
            lead,
            db.session.get(User, to.id),
            Actor(tenant.org.id, user=manager),
            now or utcnow(),
            reason="test",
        )
        db.session.commit()
    return lead_id


def outbox(app, **where) -> list[Notification]:
    with app.app_context():
        query = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows
