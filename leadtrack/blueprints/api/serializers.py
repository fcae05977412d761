"""JSON shapes of the API: a lead, an activity, a history event. The OpenAPI document
(openapi.py) describes exactly these; tests/test_openapi_contract.py holds them to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadtrack.models import Activity, ApiKey, Lead, LeadEvent, Unit, User
from leadtrack.services import history
from leadtrack.timeutil import as_utc


def moment(value: datetime | None) -> str | None:
    """An aware UTC timestamp as ISO 8601 (`2026-03-01T09:30:00+00:00`), or None."""
    return as_utc(value).isoformat() if value is not None else None


def person(user: User | None) -> dict[str, Any] | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def lead_json(lead: Lead, base_url: str) -> dict[str, Any]:
    """`base_url` is the site root (request.host_url): `url` links to the lead's page."""
    status = lead.status
    product = lead.product
    unit: Unit | None = lead.unit
    return {
        "id": lead.id,
        "name": lead.name,
        "emails": [row.email for row in lead.emails],
        "phones": [row.phone for row in lead.phones],
        "company": lead.company,
        "address": lead.address,
        "district": lead.district,
        "division": lead.division,
        "profession": lead.profession,
        "source": lead.source,
        "intake_form": lead.intake_form,
        "product": {"id": product.id, "label": product.label} if product else None,
        "value": str(lead.value) if lead.value is not None else None,
        "custom": dict(lead.custom or {}),
        "tags": lead.tags,
        "temperature": lead.temperature,
        "score": lead.score or 0,
        "priority": lead.priority,
        "status": {"id": status.id, "name": status.name, "category": str(status.category)},
        "assignee": person(lead.assignee),
        "unit": {"id": unit.id, "name": unit.name} if unit else None,
        "follow_up_at": moment(lead.follow_up_at),
        "close_reason": lead.close_reason,
        "created_at": moment(lead.created_at),
        "updated_at": moment(lead.updated_at),
        "first_assigned_at": moment(lead.first_assigned_at),
        "first_response_at": moment(lead.first_response_at),
        "closed_at": moment(lead.closed_at),
        "previous_lead_id": lead.previous_lead_id,
        "merged_into_id": lead.merged_into_id,
        "state": lead.state,
        "response_due_at": moment(lead.response_due_at),
        "overdue_at": moment(lead.overdue_at),
        "escalation_tier": lead.escalation_tier or 1,
        "url": f"{base_url.rstrip('/')}/leads/{lead.id}",
    }


def activity_json(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "lead_id": activity.lead_id,
        "kind": str(activity.kind),
        "outcome": activity.outcome,
        "body": activity.body,
        "occurred_at": moment(activity.occurred_at),
        "created_at": moment(activity.created_at),
        "actor": person(activity.actor),
    }


def event_json(event: LeadEvent, keys: dict[int, ApiKey]) -> dict[str, Any]:
    """`keys`: the API keys named by the events, by id (one query for the whole history)."""
    key = keys.get(event.api_key_id) if event.api_key_id is not None else None
    return {
        "id": event.id,
        "at": moment(event.at),
        "kind": event.kind,
        "via": event.via,
        "actor": person(event.actor),
        "api_key": {"id": key.id, "name": key.name} if key else None,
        "data": event.data or {},
        "text": history.describe(event),
    }
