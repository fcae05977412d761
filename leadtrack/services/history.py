"""The history of a lead: every change, with who, when and through which channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import Lead, LeadEvent, User
from leadtrack.services import live_events
from leadtrack.timeutil import to_zone


@dataclass(frozen=True)
class Actor:
    """Who does something: a signed-in user, an API key, or the system itself."""

    org_id: int
    user: User | None = None
    api_key_id: int | None = None
    via: str = "web"  # web, api, import, system, …

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


def record(
    session: Session, lead: Lead, actor: Actor, now: datetime, kind: str, **data: Any
) -> LeadEvent:
    event = LeadEvent(
        org_id=lead.org_id,
        lead_id=lead.id,
        at=now,
        actor_id=actor.user_id,
        api_key_id=actor.api_key_id,
        via=actor.via,
        kind=kind,
        data=jsonable(data),
    )
    session.add(event)
    live_events.touched(session, lead, kind, actor.user_id, event.data)
    return event


def events_of(session: Session, lead_ids: list[int]) -> list[LeadEvent]:
    return list(
        session.scalars(
            select(LeadEvent)
            .where(LeadEvent.lead_id.in_(lead_ids))
            .order_by(LeadEvent.at, LeadEvent.id)
        )
    )


def describe(event: LeadEvent, zone: str = "UTC") -> str:
    """One readable line for the timeline; times in the reader's zone."""
    data = event.data or {}
    match event.kind:
        case "created":
            return f"Created through {data.get('via', event.via)} (source {data.get('source')})"
        case "field_changed":
            why = f" ({data['reason']})" if data.get("reason") else ""
            return f"{data['field']}: {_show(data.get('old'))} → {_show(data.get('new'))}{why}"
        case "assigned":
            return f"Assigned to {data.get('to_name') or 'nobody'}" + (
                f" (was {data['from_name']})" if data.get("from_name") else ""
            )
        case "queued":
            return f"Waits in the queue of {data.get('unit_name') or 'the organization'}"
        case "classification_released":
            return f"{str(data.get('field', '')).capitalize()} handed back to the scoring rules"
        case "status_changed":
            return f"Status {data.get('old')} → {data.get('new')}"
        case "activity":
            outcome = f" — {data['outcome']}" if data.get("outcome") else ""
            return f"{str(data.get('activity_kind', '')).capitalize()} logged{outcome}"
        case "note":
            return "Note added"
        case "follow_up_set":
            return f"Follow-up set for {_moment(data.get('at'), zone)}"
        case "closed":
            return f"Closed as {data.get('status')}: {data.get('reason') or 'no reason given'}"
        case "merged":
            return f"Merged with lead #{data.get('other_lead_id')}"
        case "exported":
            return f"Exported ({data.get('format')})"
        case (
            "response_warning"
            | "escalated"
            | "aged"
            | "reclaimed"
            | "auto_closed"
            | "task_fired"
            | "task_held"
            | "reminder_set"
        ):
            # The clock's steps write their own sentence (services/clock_steps.py).
            return str(data.get("text") or CLOCK_FALLBACK[event.kind])
        case _:
            return event.kind.replace("_", " ").capitalize()


CLOCK_FALLBACK = {
    "response_warning": "Reminded the assignee to respond",
    "escalated": "Escalated: no response in time",
    "aged": "No activity for too long",
    "reclaimed": "Back through the assignment rules: not touched in time",
    "auto_closed": "Closed by an auto-close rule",
    "task_fired": "A task acted",
    "task_held": "A task was held back by its cap",
    "reminder_set": "Reminder set",
}


def actor_name(event: LeadEvent) -> str:
    """Who did it, for the timeline: a person, the API, the clock, or the system."""
    if event.actor is not None:
        return event.actor.name
    if event.via == "api":
        return "API"
    if event.via == "clock":
        return "LeadTrack clock"
    return "system"


def _moment(value: str | None, zone: str) -> str:
    if not value:
        return "—"
    return to_zone(datetime.fromisoformat(value), zone).strftime("%Y-%m-%d %H:%M")


def _show(value: Any) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
