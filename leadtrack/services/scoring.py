"""Classification: scoring rules add points; the score gives the lead its temperature and
priority — unless a person set those by hand, which the rules then leave alone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from leadtrack.models import Lead, Organization
from leadtrack.services import history, rule_book
from leadtrack.services.history import Actor
from leadtrack.services.lead_facts import UnitTree, facts_of
from leadtrack.services.rule_book import RuleBook


def grade(book: RuleBook, facts: dict) -> tuple[int, str, str, list[str]]:
    """(score, temperature, priority, names of the rules that scored)."""
    hits = [rule for rule in book.score_rules if rule.matches(facts)]
    score = sum(rule.points for rule in hits)
    if score >= book.hot_from:
        temperature = "hot"
    elif score >= book.warm_from:
        temperature = "warm"
    else:
        temperature = "cold"
    priority = "normal"
    for name in ("urgent", "high"):
        threshold = book.priority_from.get(name)
        if threshold is not None and score >= threshold:
            priority = name
            break
    return score, temperature, priority, [rule.name for rule in hits]


def classify(
    session: Session,
    org: Organization,
    lead: Lead,
    actor: Actor,
    now: datetime,
    book: RuleBook | None = None,
    units: UnitTree | None = None,
) -> None:
    """Score the lead and set temperature and priority from the score (fields set by hand
    are kept). Does nothing while the organization has no scoring rules."""
    book = book or rule_book.load(session, org)
    if not book.score_rules:
        return
    units = units or UnitTree.load(session, org.id)
    facts = facts_of(lead, ZoneInfo(org.timezone), now, units)
    score, temperature, priority, hits = grade(book, facts)
    changes = {"score": score}
    if not lead.temperature_by_hand:
        changes["temperature"] = temperature
    if not lead.priority_by_hand:
        changes["priority"] = priority
    for name, value in changes.items():
        old = getattr(lead, name)
        if old == value:
            continue
        setattr(lead, name, value)
        history.record(
            session,
            lead,
            actor,
            now,
            "field_changed",
            field=name,
            old=old,
            new=value,
            reason="scoring rules: " + (", ".join(hits) or "none matched"),
        )
