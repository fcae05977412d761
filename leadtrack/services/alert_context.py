"""The placeholders an alert text is rendered with: the lead as it is when the alert goes
out, the recipient, the organization, the signed links, and the event's own details."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.orm import Session

from leadtrack.models import Lead, Notification, Organization, User
from leadtrack.services import alert_links, recipients
from leadtrack.services.alert_links import AlertLink


def base_url() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def lead_url(lead_id: int) -> str:
    return f"{base_url()}/leads/{lead_id}"


def build(session: Session, notification: Notification) -> dict[str, Any]:
    org = session.get(Organization, notification.org_id)
    recipient = notification.recipient
    context: dict[str, Any] = dict(notification.context or {})
    context.setdefault("details", {})
    context["org"] = {"name": org.name if org else ""}
    context["recipient"] = _person(recipient)
    context["links"] = {
        "preferences": f"{base_url()}/account/alerts",
        "inbox": f"{base_url()}/notifications",
    }
    if notification.lead is not None:
        zone = recipients.zone_of(recipient) if recipient else _org_zone(org)
        context["lead"] = lead_facts(notification.lead, zone)
        context["links"].update(_lead_links(notification, recipient))
    return context


def _person(user: User | None) -> dict[str, str]:
    if user is None:
        return {"name": "", "first_name": ""}
    return {"name": user.name, "first_name": user.name.split()[0] if user.name else ""}


def _org_zone(org: Organization | None) -> ZoneInfo:
    return ZoneInfo(org.timezone if org else "UTC")


def _lead_links(notification: Notification, recipient: User | None) -> dict[str, str]:
    links = {"view": lead_url(notification.lead_id)}
    if recipient is not None:
        links["ack"] = alert_links.url(
            AlertLink("ack", notification.id, recipient.id, notification.lead_id)
        )
    else:
        links["ack"] = links["view"]
    return links


def lead_facts(lead: Lead, zone: ZoneInfo) -> dict[str, Any]:
    product = lead.product
    return {
        "id": lead.id,
        "name": lead.name,
        "company": lead.company,
        "phone": lead.primary_phone,
        "email": lead.primary_email,
        "source": lead.source,
        "status": lead.status.name if lead.status else "",
        "temperature": lead.temperature or "",
        "value": f"{lead.value:,.2f}" if lead.value is not None else "",
        "product": " ".join(p for p in (product.name, product.variant) if p) if product else "",
        "assignee": lead.assignee.name if lead.assignee else "",
        "created_at": lead.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
    }
