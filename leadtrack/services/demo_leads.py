"""A few days of believable leads for the demo organization, through the real services."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadtrack.models import Lead, Organization, Role, User
from leadtrack.services import intake, lead_settings, leads
from leadtrack.services.history import Actor

FIRST = [
    "Mia",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Lucas",
    "Sofia",
    "Ethan",
    "Amelia",
    "Mason",
    "Harper",
    "Logan",
    "Ella",
    "James",
    "Aria",
    "Jack",
    "Chloe",
    "Henry",
    "Zoe",
    "Owen",
]
LAST = [
    "Garcia",
    "Miller",
    "Nguyen",
    "Johnson",
    "Brown",
    "Walker",
    "Lopez",
    "Young",
    "King",
    "Scott",
    "Baker",
    "Hill",
    "Adams",
    "Nelson",
    "Carter",
    "Reed",
    "Cook",
    "Bell",
]
MODELS = [
    ("Sedans", "Northwind", "Aurora", "Hybrid"),
    ("SUVs", "Northwind", "Trailblazer", "AWD"),
    ("SUVs", "Northwind", "Trailblazer", "7-seat"),
    ("Trucks", "Hauler", "H-250", ""),
    ("Electric", "Voltra", "E-One", "Long range"),
]
SOURCES = ["web"] * 5 + ["phone"] * 3 + ["walk-in"] * 3 + ["referral", "campaign", "email"]
TAGS = ["test-drive", "trade-in", "financing", "fleet", "vip", "quote"]
DEMO_LEADS = 48


def seed_leads(session: Session, org: Organization, now: datetime, rng: random.Random) -> int:
    """Create the demo leads unless the organization has leads already; return how many."""
    if session.scalar(select(func.count()).where(Lead.org_id == org.id)):
        return 0
    if not lead_settings.products(session, org.id):
        for category, brand, name, variant in MODELS:
            lead_settings.add_product(
                session, org, name=name, variant=variant, category_name=category, brand_name=brand
            )
    products = lead_settings.products(session, org.id)
    agents = list(
        session.scalars(
            select(User).where(
                User.org_id == org.id, User.role == Role.AGENT, User.is_active_user.is_(True)
            )
        )
    )
    receptionist = session.scalars(
        select(User).where(User.org_id == org.id, User.role == Role.RECEPTIONIST)
    ).first()
    statuses = {s.name: s for s in lead_settings.statuses(session, org.id)}
    for number in range(DEMO_LEADS):
        created = now - timedelta(minutes=rng.randint(5, 4 * 24 * 60))
        _one_lead(session, org, number, created, now, rng, products, agents, receptionist, statuses)
    return DEMO_LEADS


def _one_lead(session, org, number, created, now, rng, products, agents, receptionist, statuses):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    owner = rng.choice(agents)
    raw = {
        "name": f"{first} {last}",
        "phones": f"+1 217 555 {1000 + number:04d}",
        "emails": f"{first}.{last}{number}@mail.example".lower(),
        "source": rng.choice(SOURCES),
        "product_id": rng.choice(products).id,
        "value": rng.choice([18500, 24900, 31900, 42500, 56000, None]),
        "temperature": rng.choice(["hot", "warm", "warm", "cold", None]),
        "tags": rng.sample(TAGS, rng.randint(0, 2)),
        "assignee_id": owner.id if rng.random() < 0.9 else None,
        "district": rng.choice(["Downtown", "Eastside", "Harbor", "Hills"]),
    }
    via_desk = raw["source"] in ("walk-in", "phone") and receptionist is not None
    actor = Actor(org.id, user=receptionist if via_desk else None, via="web" if via_desk else "api")
    lead = intake.create_lead(session, org, raw, actor, created).lead
    if lead.assignee is None or rng.random() < 0.3:
        return
    owner_actor = Actor(org.id, user=lead.assignee, via="web")
    reply_at = min(now, created + timedelta(minutes=rng.choice([2, 4, 9, 25, 70, 240])))
    leads.add_activity(
        session,
        lead,
        owner_actor,
        reply_at,
        kind="call",
        outcome=rng.choice(["reached", "no answer", "left voicemail"]),
    )
    next_status = rng.choice(["Contacted", "Qualified", "Follow-up", "Won", "Lost"])
    if next_status in ("Won", "Lost"):
        reason = "Signed the contract" if next_status == "Won" else "Bought elsewhere"
        leads.close(session, lead, statuses[next_status], reason, owner_actor, reply_at)
    else:
        leads.change_status(session, lead, statuses[next_status], owner_actor, reply_at)
        if next_status == "Follow-up":
            leads.set_follow_up(
                session, lead, now + timedelta(hours=rng.randint(-30, 40)), owner_actor, reply_at
            )
