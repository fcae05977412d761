"""Changing a lead: fields, assignment, status, follow-up, activities, closing, merging.
Each change is recorded in the lead's history in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadtrack.models import (
    Activity,
    ActivityKind,
    Lead,
    LeadEmail,
    LeadEvent,
    LeadPhone,
    LeadStatus,
    LeadTag,
    Organization,
    Privilege,
    Role,
    StatusCategory,
    User,
)
from leadtrack.services import clock, history, lead_settings, outbox, rule_book, scoring, tasks
from leadtrack.services.errors import Forbidden, ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.lead_fields import CONTROL_MESSAGE, FieldReader, has_control_characters

SIMPLE_FIELDS = (
    "name",
    "company",
    "address",
    "district",
    "division",
    "profession",
    "source",
    "intake_form",
    "product_id",
    "value",
    "custom",
    "close_reason",
    "unit_id",
)
OUTCOMES = ("reached", "no answer", "left voicemail", "wrong number", "meeting set", "other")


def require(actor: Actor, privilege: Privilege, doing: str = "") -> None:
    if actor.user is not None and not actor.user.can(privilege):
        what = f"you to {doing}" if doing else f"this ({privilege.label.lower()})"
        raise Forbidden(f"Your role does not allow {what}.")


def update_fields(
    session: Session,
    org: Organization,
    lead: Lead,
    raw: dict[str, Any],
    actor: Actor,
    now: datetime,
    zone: str | None = None,
) -> Lead:
    """Apply a partial update (PATCH or the edit form); every changed field goes to history."""
    reader = FieldReader(session, org, zone=zone)
    clean = reader.read(raw, partial=True)
    if reader.errors:
        raise ValidationError(reader.errors)
    if "custom" in clean:  # values of fields switched off since are kept, not dropped
        active = {f.key for f in lead_settings.custom_fields(session, org.id)}
        kept = {k: v for k, v in (lead.custom or {}).items() if k not in active}
        clean["custom"] = {**kept, **clean["custom"]}
    if "assignee_id" in clean and clean["assignee_id"] != lead.assignee_id:
        require(actor, Privilege.REASSIGN_LEADS)
    changed: list[str] = []
    for name in SIMPLE_FIELDS:
        if name in clean and getattr(lead, name) != clean[name]:
            changed += _changed_names(name, getattr(lead, name), clean[name])
            _set(session, lead, name, clean[name], actor, now)
    book = rule_book.load(session, org)
    _hand_classification(session, lead, raw, clean, bool(book.score_rules), actor, now)
    _update_contacts(session, lead, clean, actor, now)
    if "tags" in clean:
        set_tags(session, lead, clean["tags"], actor, now)
    if clean.get("status") is not None:
        change_status(session, lead, clean["status"], actor, now)
    if "follow_up_at" in clean:
        set_follow_up(session, lead, clean["follow_up_at"], actor, now)
    if "assignee_id" in clean and clean["assignee_id"] != lead.assignee_id:
        assignee = session.get(User, clean["assignee_id"]) if clean["assignee_id"] else None
        assign(session, lead, assignee, actor, now)
    scoring.classify(session, org, lead, actor, now, book=book)
    if changed:
        tasks.changed(session, lead, actor, now, "field_changed", fields=tuple(changed))
    return lead


def _changed_names(name: str, old: Any, new: Any) -> list[str]:
    """The field names a task's trigger can name: custom fields one by one."""
    if name != "custom":
        return [name]
    old, new = old or {}, new or {}
    return [f"custom.{key}" for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


def _hand_classification(session, lead, raw, clean, scored: bool, actor, now) -> None:
    """Temperature and priority chosen by a person stay as chosen; choosing none ("by the
    rules") hands them back to the scoring rules."""
    for name in ("temperature", "priority"):
        if name not in clean:
            continue
        flag = f"{name}_by_hand"
        value = clean[name]
        if raw.get(name) in (None, "") and scored:
            if getattr(lead, flag):
                setattr(lead, flag, False)
                history.record(session, lead, actor, now, "classification_released", field=name)
            continue
        if not getattr(lead, flag) and value == getattr(lead, name):
            continue  # the form sent back the value the rules gave
        if scored and not getattr(lead, flag):
            setattr(lead, flag, True)
        if getattr(lead, name) != value:
            _set(session, lead, name, value, actor, now)


def _set(session, lead: Lead, name: str, value: Any, actor: Actor, now: datetime) -> None:
    old = getattr(lead, name)
    setattr(lead, name, value)
    lead.updated_at = now
    history.record(session, lead, actor, now, "field_changed", field=name, old=old, new=value)


def _update_contacts(session, lead: Lead, clean: dict, actor: Actor, now: datetime) -> None:
    if "emails" in clean and clean["emails"] != [e.email for e in lead.emails]:
        old = [e.email for e in lead.emails]
        lead.emails = [
            LeadEmail(org_id=lead.org_id, email=e, position=n)
            for n, e in enumerate(clean["emails"])
        ]
        lead.primary_email = (clean["emails"] or [""])[0]
        history.record(
            session, lead, actor, now, "field_changed", field="emails", old=old, new=clean["emails"]
        )
    if "phones" in clean and clean["phones"] != [p.phone for p in lead.phones]:
        old = [p.phone for p in lead.phones]
        lead.phones = [
            LeadPhone(org_id=lead.org_id, phone=p, position=n)
            for n, p in enumerate(clean["phones"])
        ]
        lead.primary_phone = (clean["phones"] or [""])[0]
        history.record(
            session, lead, actor, now, "field_changed", field="phones", old=old, new=clean["phones"]
        )
    if not lead.emails and not lead.phones:
        raise ValidationError({"phones": "Give a phone number or an e-mail to reach them."})


def set_tags(session: Session, lead: Lead, tags: list[str], actor: Actor, now: datetime) -> None:
    old = lead.tags
    if sorted(tags) == old:
        return
    lead.tag_rows = [LeadTag(org_id=lead.org_id, tag=tag) for tag in sorted(set(tags))]
    lead.updated_at = now
    history.record(
        session, lead, actor, now, "field_changed", field="tags", old=old, new=sorted(set(tags))
    )
    tasks.changed(session, lead, actor, now, "field_changed", fields=("tags",))


def add_tags(session: Session, lead: Lead, tags: list[str], actor: Actor, now: datetime) -> None:
    set_tags(session, lead, sorted(set(lead.tags) | set(tags)), actor, now)


def assign(
    session: Session,
    lead: Lead,
    assignee: User | None,
    actor: Actor,
    now: datetime,
    reason: str = "",
    tell: bool = True,
) -> None:
    """Give the lead to `assignee` (None: back to the queue); they are alerted unless
    `tell` is off (the clock's ladder sends its own escalation alert instead)."""
    if assignee is not None and (assignee.org_id != lead.org_id or not assignee.is_active_user):
        raise ValidationError({"assignee_id": "Pick an active colleague."})
    previous = lead.assignee
    if previous is assignee:
        return
    old_unit_id = lead.unit_id
    lead.assignee = assignee
    lead.assignee_id = assignee.id if assignee else None
    if assignee is not None:
        if assignee.unit_id is not None:
            lead.unit_id = assignee.unit_id
        if lead.first_assigned_at is None:
            lead.first_assigned_at = now
    lead.updated_at = now
    history.record(
        session,
        lead,
        actor,
        now,
        "assigned",
        from_id=previous.id if previous else None,
        from_name=previous.name if previous else None,
        to_id=assignee.id if assignee else None,
        to_name=assignee.name if assignee else None,
        reason=reason,
        from_unit_id=old_unit_id,
        to_unit_id=lead.unit_id,
    )
    clock.assigned(session, lead, assignee, now)
    if assignee is not None:
        tasks.changed(session, lead, actor, now, "assigned")
    if tell and assignee is not None and assignee.id != actor.user_id:
        _tell_assignee(session, lead, assignee, previous, now, reason)


def _tell_assignee(
    session: Session, lead: Lead, assignee: User, previous: User | None, now: datetime, reason: str
) -> None:
    details = {"reason": reason, "previous": previous.name if previous else ""}
    outbox.notify(
        session,
        session.get(Organization, lead.org_id),
        "lead_reassigned" if previous is not None else "lead_assigned",
        assignee,
        now,
        lead=lead,
        step=outbox.each_time(now),
        details=details,
    )


def change_status(
    session: Session, lead: Lead, status: LeadStatus, actor: Actor, now: datetime, reason: str = ""
) -> None:
    if status.org_id != lead.org_id:
        raise ValidationError({"status": "Unknown status."})
    old = lead.status
    if old.id == status.id:
        return
    was_closed = lead.closed_at is not None
    if was_closed and not status.category_enum.is_closed:
        # Won and lost are numbers in the reports: reopening one is a manager's call.
        require(actor, Privilege.REASSIGN_LEADS, "reopen a closed lead")
    lead.status = status
    lead.status_id = status.id
    lead.updated_at = now
    category = status.category_enum
    if category.is_closed:
        lead.closed_at = lead.closed_at or now
        if reason:
            lead.close_reason = reason
    else:
        lead.closed_at = None
    history.record(
        session,
        lead,
        actor,
        now,
        "status_changed",
        old=old.name,
        new=status.name,
        category=category.value,
        reason=reason,
    )
    if category is not StatusCategory.NEW and old.category_enum is StatusCategory.NEW:
        _count_as_response(session, lead, "status", actor, now)
    clock.status_changed(session, lead, was_closed, now)
    tasks.changed(session, lead, actor, now, "status_changed")


def close(
    session: Session, lead: Lead, status: LeadStatus, reason: str, actor: Actor, now: datetime
) -> None:
    if not status.category_enum.is_closed:
        raise ValidationError({"status": "Close with a won, lost or dead status."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why the lead is closed."})
    if has_control_characters(reason):
        raise ValidationError({"reason": CONTROL_MESSAGE})
    change_status(session, lead, status, actor, now, reason=reason.strip()[:300])


def set_follow_up(
    session: Session, lead: Lead, at: datetime | None, actor: Actor, now: datetime
) -> None:
    if lead.follow_up_at == at:
        return
    lead.follow_up_at = at
    lead.updated_at = now
    history.record(session, lead, actor, now, "follow_up_set", at=at)
    tasks.changed(session, lead, actor, now, "field_changed", fields=("follow_up_at",))


def add_activity(
    session: Session,
    lead: Lead,
    actor: Actor,
    now: datetime,
    *,
    kind: str,
    outcome: str = "",
    body: str = "",
    occurred_at: datetime | None = None,
) -> Activity:
    errors = {}
    if kind not in ActivityKind.__members__.values():
        errors["kind"] = "Use one of: " + ", ".join(k.value for k in ActivityKind) + "."
    if len(outcome) > 60:
        errors["outcome"] = "At most 60 characters."
    if len(body) > 5000:
        errors["body"] = "At most 5000 characters."
    if kind == ActivityKind.NOTE and not body.strip():
        errors["body"] = "Write the note."
    if has_control_characters(outcome):
        errors["outcome"] = CONTROL_MESSAGE
    if has_control_characters(body, allow_newlines=True):
        errors["body"] = CONTROL_MESSAGE
    if occurred_at is not None and occurred_at > now:
        errors["occurred_at"] = "An activity cannot happen in the future."
    if errors:
        raise ValidationError(errors)
    activity = Activity(
        org_id=lead.org_id,
        lead_id=lead.id,
        kind=kind,
        outcome=outcome.strip(),
        body=body.strip(),
        actor_id=actor.user_id,
        occurred_at=occurred_at or now,
        created_at=now,
    )
    session.add(activity)
    lead.updated_at = now
    event_kind = "note" if kind == ActivityKind.NOTE else "activity"
    history.record(
        session,
        lead,
        actor,
        now,
        event_kind,
        activity_kind=kind,
        outcome=activity.outcome,
        body=activity.body[:500],
    )
    if kind != ActivityKind.NOTE:
        how = "ack" if kind == ActivityKind.ACK else "activity"
        _count_as_response(session, lead, how, actor, now)
    tasks.changed(session, lead, actor, now, "activity")
    return activity


def _count_as_response(session, lead: Lead, how: str, actor: Actor, now: datetime) -> None:
    """The first act that counts as a response (see clock.counts_as_response) stops the
    response clock."""
    if clock.counts_as_response(session, lead, how, actor):
        clock.responded(session, lead, now)


def may_merge(user: User | None) -> bool:
    return user is not None and user.role_enum in (Role.MANAGER, Role.ORG_ADMIN)


def merge(session: Session, survivor: Lead, other: Lead, actor: Actor, now: datetime) -> Lead:
    """Fold `other` into `survivor`: contacts, tags, activities and history move over;
    `other` is closed and points at the survivor."""
    if not may_merge(actor.user):
        raise Forbidden("Only managers merge leads.")
    if survivor.id == other.id or survivor.org_id != other.org_id:
        raise ValidationError({"other_lead_id": "Pick another lead of this organization."})
    if other.merged_into_id is not None or survivor.merged_into_id is not None:
        raise ValidationError({"other_lead_id": "One of these leads was already merged."})
    old_emails, old_phones = [e.email for e in survivor.emails], [p.phone for p in survivor.phones]
    emails = [e.email for e in survivor.emails]
    phones = [p.phone for p in survivor.phones]
    for email in (e.email for e in other.emails):
        if email not in emails:
            survivor.emails.append(
                LeadEmail(org_id=survivor.org_id, email=email, position=len(emails))
            )
            emails.append(email)
    for phone in (p.phone for p in other.phones):
        if phone not in phones:
            survivor.phones.append(
                LeadPhone(org_id=survivor.org_id, phone=phone, position=len(phones))
            )
            phones.append(phone)
    survivor.primary_email = survivor.primary_email or (emails or [""])[0]
    survivor.primary_phone = survivor.primary_phone or (phones or [""])[0]
    for field_name, old, new in (("emails", old_emails, emails), ("phones", old_phones, phones)):
        if old != new:
            history.record(
                session,
                survivor,
                actor,
                now,
                "field_changed",
                field=field_name,
                old=old,
                new=list(new),
            )
    add_tags(session, survivor, other.tags, actor, now)
    for column in ("company", "address", "district", "division", "profession", "value"):
        if not getattr(survivor, column) and getattr(other, column):
            _set(session, survivor, column, getattr(other, column), actor, now)
    session.execute(
        update(Activity).where(Activity.lead_id == other.id).values(lead_id=survivor.id)
    )
    session.execute(
        update(LeadEvent).where(LeadEvent.lead_id == other.id).values(lead_id=survivor.id)
    )
    history.record(
        session, survivor, actor, now, "merged", other_lead_id=other.id, other_name=other.name
    )
    other.merged_into_id = survivor.id
    dead = _first_status(session, other.org_id, StatusCategory.DEAD)
    if dead is not None:
        change_status(session, other, dead, actor, now, reason=f"Merged into lead #{survivor.id}")
    other.closed_at = other.closed_at or now
    other.close_reason = f"Merged into lead #{survivor.id}"
    history.record(
        session,
        other,
        actor,
        now,
        "merged",
        other_lead_id=survivor.id,
        other_name=survivor.name,
        survivor=False,
    )
    return survivor


def _first_status(session: Session, org_id: int, category: StatusCategory) -> LeadStatus | None:
    for status in lead_settings.statuses(session, org_id):
        if status.category == category:
            return status
    return None


def activities_of(session: Session, lead_id: int) -> list[Activity]:
    return list(
        session.scalars(
            select(Activity)
            .where(Activity.lead_id == lead_id)
            .order_by(Activity.occurred_at.desc())
        )
    )
