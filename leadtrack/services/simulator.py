"""The simulator: which rule would match, and who would get the lead — changing nothing.

For a sample lead (fields as the intake API takes them) or for the organization's last N
leads. The round-robin advances in memory from one simulated lead to the next, starting
from the real counters, so "the last 20 leads" shows the spread the rules would give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import Lead, LeadTag, Organization, Product
from leadtrack.services import lead_settings, rule_book, scoring
from leadtrack.services.errors import ValidationError
from leadtrack.services.lead_facts import UnitTree, facts_of
from leadtrack.services.lead_fields import FieldReader
from leadtrack.services.rotation import SimulatedRotation
from leadtrack.services.routing import Decision, decide

MAX_LAST = 200
SAMPLE_FIELDS = (
    "name",
    "source",
    "intake_form",
    "value",
    "tags",
    "temperature",
    "priority",
    "district",
    "division",
    "company",
    "profession",
    "product_id",
    "unit_id",
    "custom",
    "emails",
    "phones",
)


@dataclass(frozen=True)
class Simulated:
    lead_id: int | None
    lead_name: str
    score: int
    temperature: str | None
    priority: str
    scoring_rules: list[str]
    decision: Decision

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "lead_name": self.lead_name,
            "score": self.score,
            "temperature": self.temperature,
            "priority": self.priority,
            "scoring_rules": self.scoring_rules,
            **self.decision.as_dict(),
        }


def sample_lead(session: Session, org: Organization, raw: dict[str, Any]) -> Lead:
    """A transient lead built from sample fields (never added to the session)."""
    unknown = sorted(set(raw) - set(SAMPLE_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    raw = {"name": "Sample lead", "source": "web", "phones": [], "emails": [], **raw}
    reader = FieldReader(session, org)
    clean = reader.read(raw, partial=True)
    if reader.errors:
        raise ValidationError(reader.errors)
    status = lead_settings.initial_status(session, org.id)
    lead = Lead(
        org_id=org.id,
        name=clean.get("name", "Sample lead"),
        source=clean.get("source", "web"),
        intake_form=clean.get("intake_form", ""),
        value=clean.get("value"),
        temperature=clean.get("temperature"),
        priority=clean.get("priority") or "normal",
        district=clean.get("district", ""),
        division=clean.get("division", ""),
        company=clean.get("company", ""),
        profession=clean.get("profession", ""),
        product_id=clean.get("product_id"),
        unit_id=clean.get("unit_id"),
        custom=clean.get("custom") or {},
        primary_email=(clean.get("emails") or [""])[0],
        primary_phone=(clean.get("phones") or [""])[0],
        score=0,
        created_via="api",
    )
    lead.status = status
    lead.product = session.get(Product, lead.product_id) if lead.product_id else None
    lead.tag_rows = [LeadTag(tag=tag) for tag in clean.get("tags") or []]
    lead.temperature_by_hand = lead.temperature is not None
    lead.priority_by_hand = lead.priority != "normal"
    return lead


def simulate(
    session: Session, org: Organization, leads: list[Lead], now: datetime
) -> list[Simulated]:
    """What the rules would do with each lead, in order, without writing anything."""
    book = rule_book.load(session, org)
    units = UnitTree.load(session, org.id)
    rotation = SimulatedRotation(session, org.id)
    zone = ZoneInfo(org.timezone)
    results = []
    with session.no_autoflush:
        for lead in leads:
            facts = facts_of(lead, zone, now, units)
            score, temperature, priority, hits = scoring.grade(book, facts)
            if book.score_rules:
                temperature = lead.temperature if lead.temperature_by_hand else temperature
                priority = lead.priority if lead.priority_by_hand else priority
            else:
                score, temperature, priority = lead.score, lead.temperature, lead.priority
            graded = _Graded(lead, score, temperature, priority)
            decision = decide(session, org, graded, now, book, rotation, units=units)
            results.append(
                Simulated(lead.id, lead.name, score, temperature, priority, hits, decision)
            )
    return results


def last_leads(session: Session, org: Organization, count: int) -> list[Lead]:
    if not 1 <= count <= MAX_LAST:
        raise ValidationError({"last": f"Simulate 1 to {MAX_LAST} leads."})
    rows = session.scalars(
        select(Lead)
        .where(Lead.org_id == org.id, Lead.merged_into_id.is_(None))
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(count)
    ).all()
    return list(reversed(rows))


class _Graded:
    """A lead seen with the score the rules would give it now, without touching the lead."""

    def __init__(self, lead: Lead, score: int, temperature: str | None, priority: str):
        self._lead = lead
        self.score, self.temperature, self.priority = score, temperature, priority

    def __getattr__(self, name: str):
        return getattr(self._lead, name)
