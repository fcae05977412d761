"""A rep writes to the lead by e-mail or SMS from the lead page. The message is an outbox row
(sent as written by the delivery job) and an activity on the lead, which counts as the rep's
response; a double submit of the same form sends once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from leadtrack.models import ActivityKind, ChannelName, Lead, Notification, Organization, User
from leadtrack.services import alert_context, alert_templates, leads, outbox, recipients
from leadtrack.services.alert_events import LEAD_MESSAGE_CHANNELS
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.lead_fields import CONTROL_MESSAGE, has_control_characters

EVENT = "lead_message"
MAX_SUBJECT = 300
MAX_EMAIL_BODY = 5000
MAX_SMS_BODY = 1600
NONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
ACTIVITY_KIND = {ChannelName.EMAIL: ActivityKind.EMAIL, ChannelName.SMS: ActivityKind.SMS}


@dataclass(frozen=True)
class Draft:
    channel: ChannelName
    subject: str
    body: str


def channels_for(lead: Lead) -> list[ChannelName]:
    """The channels the lead can be written on: those it has an address for."""
    return [channel for channel in LEAD_MESSAGE_CHANNELS if address_of(lead, channel)]


def address_of(lead: Lead, channel: ChannelName | str) -> str:
    if channel == ChannelName.EMAIL:
        return lead.primary_email or ""
    if channel == ChannelName.SMS:
        return lead.primary_phone or ""
    return ""


def draft(
    session: Session, org: Organization, lead: Lead, sender: User, channel: ChannelName
) -> Draft:
    """The organization's "Message to the lead" text for this channel, filled in for this lead."""
    rendered = alert_templates.render(
        session, org.id, EVENT, channel, message_context(org, lead, sender)
    )
    return Draft(channel, rendered.subject if channel == ChannelName.EMAIL else "", rendered.body)


def message_context(org: Organization, lead: Lead, sender: User) -> dict:
    first_name = lead.name.split()[0] if lead.name else ""
    return {
        "lead": alert_context.lead_facts(lead, recipients.zone_of(sender)),
        "sender": {"name": sender.name},
        "org": {"name": org.name},
        "recipient": {"name": lead.name, "first_name": first_name},
        "links": {"view": alert_context.lead_url(lead.id)},
        "details": {},
    }


def send_to_lead(
    session: Session,
    org: Organization,
    lead: Lead,
    sender: User,
    channel: str,
    subject: str,
    body: str,
    now: datetime,
    nonce: str,
) -> Notification | None:
    """Queue the message and log it on the lead. Returns the new outbox row, or None when this
    form (its nonce) was sent before: nothing is written twice."""
    channel, subject, body = _checked(lead, channel, subject, body, nonce)
    message = Notification(
        org_id=org.id,
        event=EVENT,
        channel=channel,
        recipient_id=None,
        lead_id=lead.id,
        lead=lead,
        address=address_of(lead, channel),
        dedupe_key=f"{EVENT}:{lead.id}:{nonce}",
        context={"written": True},
        subject=subject,
        body=body,
        created_by_id=sender.id,
        created_at=now,
        next_attempt_at=now,
    )
    if not outbox.write_once(session, message, now):
        return None
    leads.add_activity(
        session,
        lead,
        Actor(org.id, user=sender, via="web"),
        now,
        kind=ACTIVITY_KIND[channel],
        outcome="sent",
        body=body,
    )
    return message


def _checked(
    lead: Lead, channel: str, subject: str, body: str, nonce: str
) -> tuple[ChannelName, str, str]:
    errors: dict[str, str] = {}
    chosen = ChannelName(channel) if channel in LEAD_MESSAGE_CHANNELS else None
    subject, body = (subject or "").strip(), (body or "").strip()
    if chosen is None:
        errors["channel"] = "Choose e-mail or SMS."
    elif not address_of(lead, chosen):
        what = "e-mail address" if chosen == ChannelName.EMAIL else "phone number"
        errors["channel"] = f"This lead has no {what}."
    if chosen == ChannelName.EMAIL:
        errors.update(_subject_errors(subject))
    else:
        subject = ""
    errors.update(_body_errors(chosen, body))
    if not NONCE.match(nonce or ""):
        errors["form"] = "This form is out of date. Reload the page and send again."
    if errors:
        raise ValidationError(errors)
    return chosen, subject, body


def _subject_errors(subject: str) -> dict[str, str]:
    if not subject:
        return {"subject": "Write a subject."}
    if len(subject) > MAX_SUBJECT:
        return {"subject": f"At most {MAX_SUBJECT} characters."}
    if has_control_characters(subject):
        return {"subject": CONTROL_MESSAGE}
    return {}


def _body_errors(channel: ChannelName | None, body: str) -> dict[str, str]:
    limit = MAX_SMS_BODY if channel == ChannelName.SMS else MAX_EMAIL_BODY
    if not body:
        return {"body": "Write the message."}
    if len(body) > limit:
        return {"body": f"At most {limit} characters (this one has {len(body)})."}
    if has_control_characters(body, allow_newlines=True):
        return {"body": CONTROL_MESSAGE}
    return {}
