"""Intake: the one way a lead enters LeadTrack, whatever the channel."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from leadtrack.models import (
    IdempotencyRecord,
    Lead,
    LeadEmail,
    LeadPhone,
    LeadTag,
    Organization,
    Privilege,
    Role,
    User,
)
from leadtrack.services import (
    clock,
    history,
    lead_settings,
    leads,
    routing,
    rule_book,
    scoring,
    tasks,
)
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.lead_fields import FieldReader

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class ExistingContact:
    """Earlier leads of the same person (same e-mail or phone) in the organization."""

    count: int
    last_lead_id: int | None
    last_owner: str | None

    @property
    def message(self) -> str:
        if not self.count:
            return ""
        owner = f", last owned by {self.last_owner}" if self.last_owner else ""
        plural = "lead" if self.count == 1 else "leads"
        return f"Existing contact: {self.count} earlier {plural}{owner}."

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "last_lead_id": self.last_lead_id,
            "last_owner": self.last_owner,
            "message": self.message,
        }


NO_MATCH = ExistingContact(0, None, None)


@dataclass(frozen=True)
class IntakeResult:
    lead: Lead
    existing: ExistingContact
    replayed: bool = False  # the same Idempotency-Key was seen before: nothing new was created


def find_existing_contact(
    session: Session,
    org_id: int,
    emails: list[str],
    phones: list[str],
    exclude_lead_id: int | None = None,
    before_lead_id: int | None = None,
) -> ExistingContact:
    """Earlier leads sharing an e-mail or phone, and one step further: a person who wrote
    from their e-mail once and called from their phone once is one contact."""
    ids = _leads_with(session, org_id, emails, phones)
    if ids:
        more_emails, more_phones = _contacts_of_leads(session, ids)
        if not (more_emails <= set(emails) and more_phones <= set(phones)):
            ids |= _leads_with(session, org_id, list(more_emails), list(more_phones))
    ids.discard(exclude_lead_id)
    if before_lead_id is not None:
        ids = {lead_id for lead_id in ids if lead_id < before_lead_id}
    if not ids:
        return NO_MATCH
    last = session.scalars(
        select(Lead)
        .options(joinedload(Lead.assignee))
        .where(Lead.id.in_(ids))
        .order_by(Lead.created_at.desc(), Lead.id.desc())
    ).first()
    owner = last.assignee.name if last and last.assignee else None
    return ExistingContact(len(ids), last.id if last else None, owner)


def _leads_with(session: Session, org_id: int, emails: list[str], phones: list[str]) -> set[int]:
    """Leads (not merged away) with one of these e-mails or phones, in one statement."""
    matches = []
    if emails:
        matches.append(
            select(LeadEmail.lead_id).where(LeadEmail.org_id == org_id, LeadEmail.email.in_(emails))
        )
    if phones:
        matches.append(
            select(LeadPhone.lead_id).where(LeadPhone.org_id == org_id, LeadPhone.phone.in_(phones))
        )
    if not matches:
        return set()
    return set(
        session.scalars(
            select(Lead.id).where(Lead.id.in_(union_all(*matches)), Lead.merged_into_id.is_(None))
        )
    )


def _contacts_of_leads(session: Session, ids: set[int]) -> tuple[set[str], set[str]]:
    """All e-mails and all phones of these leads, in one statement."""
    rows = session.execute(
        union_all(
            select(literal("email"), LeadEmail.email).where(LeadEmail.lead_id.in_(ids)),
            select(literal("phone"), LeadPhone.phone).where(LeadPhone.lead_id.in_(ids)),
        )
    )
    emails: set[str] = set()
    phones: set[str] = set()
    for kind, value in rows:
        (emails if kind == "email" else phones).add(value)
    return emails, phones


def request_fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def create_lead(
    session: Session,
    org: Organization,
    raw: dict[str, Any],
    actor: Actor,
    now: datetime,
    *,
    default_source: str | None = None,
    idempotency_key: str | None = None,
    zone: str | None = None,
) -> IntakeResult:
    """Validate, store, link to the existing contact and record history — or raise
    ValidationError with a message per field and store nothing."""
    fingerprint = request_fingerprint({k: v for k, v in raw.items() if k != "submission_id"})
    if idempotency_key:
        replay = _replay(session, org, idempotency_key, fingerprint)
        if replay is not None:
            return replay
    raw = dict(raw)
    if default_source and not raw.get("source"):
        raw["source"] = default_source
    reader = FieldReader(session, org, zone=zone)
    clean = reader.read(raw)
    if reader.errors:
        raise ValidationError(reader.errors)

    existing = find_existing_contact(session, org.id, clean["emails"], clean["phones"])
    lead = _new_lead(session, org, clean, actor, now, existing)
    history.record(
        session,
        lead,
        actor,
        now,
        "created",
        via=actor.via,
        source=lead.source,
        existing_contact=existing.count,
    )
    _initial_assignment(session, lead, clean, actor, now)
    org_row = session.get(Organization, lead.org_id)
    clock.started(session, org_row, lead, now)
    tasks.started(session, org_row, lead, now)
    if idempotency_key:
        _remember(session, org, idempotency_key, fingerprint, lead)
    return IntakeResult(lead, existing)


def _new_lead(
    session: Session,
    org: Organization,
    clean: dict[str, Any],
    actor: Actor,
    now: datetime,
    existing: ExistingContact,
) -> Lead:
    status = clean["status"] or lead_settings.initial_status(session, org.id)
    lead = Lead(
        org_id=org.id,
        name=clean["name"],
        company=clean["company"],
        address=clean["address"],
        district=clean["district"],
        division=clean["division"],
        profession=clean["profession"],
        source=clean["source"],
        intake_form=clean["intake_form"],
        product_id=clean["product_id"],
        value=clean["value"],
        custom=clean["custom"],
        temperature=clean["temperature"],
        priority=clean["priority"],
        status=status,
        unit_id=clean["unit_id"],
        follow_up_at=clean["follow_up_at"],
        close_reason=clean["close_reason"],
        primary_email=(clean["emails"] or [""])[0],
        primary_phone=(clean["phones"] or [""])[0],
        previous_lead_id=existing.last_lead_id,
        created_by_id=actor.user_id,
        created_via=actor.via,
        created_at=now,
        updated_at=now,
        closed_at=now if status.category_enum.is_closed else None,
    )
    lead.emails = [
        LeadEmail(org_id=org.id, email=e, position=n) for n, e in enumerate(clean["emails"])
    ]
    lead.phones = [
        LeadPhone(org_id=org.id, phone=p, position=n) for n, p in enumerate(clean["phones"])
    ]
    lead.tag_rows = [LeadTag(org_id=org.id, tag=tag) for tag in clean["tags"]]
    session.add(lead)
    session.flush()
    return lead


def _initial_assignment(
    session: Session, lead: Lead, clean: dict[str, Any], actor: Actor, now: datetime
) -> None:
    """Scoring rules grade the lead; then the chosen person gets it, or an agent who enters
    a lead keeps it (as in a store), or the assignment rules decide."""
    org = session.get(Organization, lead.org_id)
    book = rule_book.load(session, org)
    if book.score_rules:  # a value given at intake is a person's choice: rules keep off it
        lead.temperature_by_hand = clean["temperature"] is not None
        lead.priority_by_hand = clean["priority"] != "normal"
    scoring.classify(session, org, lead, actor, now, book=book)
    assignee_id = clean["assignee_id"]
    user = actor.user
    if assignee_id is None and user is not None and user.role_enum is Role.AGENT:
        assignee_id = user.id
    if (
        user is not None
        and assignee_id not in (None, user.id)
        and not user.can(Privilege.REASSIGN_LEADS)
    ):
        raise ValidationError({"assignee_id": "You may give leads only to yourself."})
    if assignee_id is not None:
        leads.assign(session, lead, session.get(User, assignee_id), actor, now, reason="at intake")
    else:
        routing.route(session, org, lead, actor, now)


def _replay(session: Session, org: Organization, key: str, fingerprint: str) -> IntakeResult | None:
    record = session.execute(
        select(IdempotencyRecord.request_hash, IdempotencyRecord.lead_id).where(
            IdempotencyRecord.org_id == org.id, IdempotencyRecord.key == key
        )
    ).first()
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise ValidationError(
            {"Idempotency-Key": "This key was already used with a different request body."}
        )
    lead = session.get(Lead, record.lead_id)
    return IntakeResult(lead, existing_before(session, lead), replayed=True)


def existing_before(session: Session, lead: Lead) -> ExistingContact:
    """The existing-contact answer as it was when this lead arrived."""
    if lead.previous_lead_id is None:
        return NO_MATCH
    found = find_existing_contact(
        session,
        lead.org_id,
        [e.email for e in lead.emails],
        [p.phone for p in lead.phones],
        exclude_lead_id=lead.id,
        before_lead_id=lead.id,
    )
    return found


def _remember(session: Session, org: Organization, key: str, fingerprint: str, lead: Lead) -> None:
    if len(key) > 200:
        raise ValidationError({"Idempotency-Key": "At most 200 characters."})
    values = {"org_id": org.id, "key": key, "request_hash": fingerprint, "lead_id": lead.id}
    # One statement instead of SAVEPOINT / INSERT / RELEASE. A concurrent request with the
    # same key that won the race makes this insert nothing.
    insert = _INSERTS[session.get_bind(IdempotencyRecord).dialect.name]
    stmt = insert(IdempotencyRecord.__table__).values(values).on_conflict_do_nothing()
    if session.execute(stmt).rowcount == 0:
        raise ValidationError(
            {"Idempotency-Key": "A request with this key is being processed; retry."}
        )
