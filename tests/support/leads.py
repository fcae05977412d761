"""Leads made through the real intake service, for tests."""

from __future__ import annotations

from datetime import datetime

from leadtrack.extensions import db
from leadtrack.models import Organization, User
from leadtrack.services import intake
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow


def make_lead(app, org_id: int, *, by: int | None = None, now: datetime | None = None, **fields):
    """Create a lead as user `by` (or as the API); return its id."""
    raw = {"name": "Pat Doe", "phones": "030 5550100", "source": "walk-in", **fields}
    with app.app_context():
        org = db.session.get(Organization, org_id)
        user = db.session.get(User, by) if by else None
        actor = Actor(org_id, user=user, via="web" if user else "api")
        result = intake.create_lead(db.session, org, raw, actor, now or utcnow())
        db.session.commit()
        return result.lead.id
