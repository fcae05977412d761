"""What a task does when it is not met (or when it is, with `if_met`): reassign, notify,
change the status, set a field, add a tag, set a follow-up. Each returns its words for the
lead's history ("reassigned to Jane (from Inside Sales), alerted by SMS")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from leadtrack.models import Lead, LeadStatus, Organization, Timer, User
from leadtrack.services import clock_steps, leads, outbox, routing
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.timeutil import describe_duration


@dataclass
class Context:
    """One task acting on one lead; shaped like clock_steps.Step so the ladder's choice of
    person (backup, supervisor, manager, team) serves tasks too."""

    session: Session
    org: Organization
    lead: Lead
    timer: Timer
    now: datetime
    task_name: str

    @property
    def actor(self) -> Actor:
        return Actor(org_id=self.org.id, via="clock")

    def local(self, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(self.org.timezone)).strftime("%a %d %b %H:%M")

    @property
    def reason(self) -> str:
        return f"Task “{self.task_name}”"


def run(ctx: Context, actions: list[dict]) -> list[str]:
    return [DO[action["type"]](ctx, action) for action in actions if action.get("type") in DO]


def reassign(ctx: Context, action: dict) -> str:
    lead = ctx.lead
    person, who = clock_steps.ladder_target(ctx, action.get("to") or {})
    if person is None or person.id == lead.assignee_id:
        holder = lead.assignee.name if lead.assignee else "nobody"
        return f"left with {holder}: nobody else could take it"
    previous = lead.assignee
    channels = tuple(action.get("channels") or ())
    leads.assign(
        ctx.session, lead, person, ctx.actor, ctx.now, reason=ctx.reason, tell=not channels
    )
    text = f"reassigned to {person.name} ({who})"
    if channels:
        written = outbox.notify(
            ctx.session,
            ctx.org,
            "lead_reassigned",
            person,
            ctx.now,
            lead=lead,
            step=f"task-{ctx.timer.id}",
            details={"reason": ctx.reason, "previous": previous.name if previous else ""},
            channels=channels,
        )
        text += _by(written)
    return text


def notify(ctx: Context, action: dict) -> str:
    to = _people(ctx, action.get("to") or [])
    cc = [p for p in _people(ctx, action.get("cc") or []) if p not in to]
    if not to and not cc:
        return "nobody to tell"
    channels = tuple(action.get("channels") or ()) or None
    written = []
    for person in to + cc:
        written += outbox.notify(
            ctx.session,
            ctx.org,
            "task_reminder",
            person,
            ctx.now,
            lead=ctx.lead,
            step=f"task-{ctx.timer.id}",
            details={"task": action.get("message") or ctx.task_name},
            channels=channels,
        )
    names = ", ".join(p.name for p in to)
    if cc:
        names += f" (cc {', '.join(p.name for p in cc)})"
    return f"{names} told" + _by(written)


def _people(ctx: Context, refs: list[dict]) -> list[User]:
    found: list[User] = []
    for ref in refs:
        for person in _person(ctx, ref):
            if person is not None and person not in found and person.org_id == ctx.org.id:
                found.append(person)
    return found


def _person(ctx: Context, ref: dict) -> list[User | None]:
    role, lead = ref.get("role"), ctx.lead
    if role == "assignee":
        return [lead.assignee]
    if role == "supervisor":
        return [lead.assignee.effective_supervisor if lead.assignee else None]
    if role == "manager":
        return routing.managers_for(ctx.session, ctx.org, lead.unit)[:1]
    return [ctx.session.get(User, ref.get("user_id") or 0)]


def _by(written) -> str:
    labels = clock_steps.channel_labels(written)
    return f", by {' and '.join(labels)}" if labels else ""


def status(ctx: Context, action: dict) -> str:
    target = ctx.session.get(LeadStatus, action.get("status_id") or 0)
    if target is None or target.org_id != ctx.lead.org_id:
        return "the status to set no longer exists"
    if target.id == ctx.lead.status_id:
        return f"status already {target.name}"
    leads.change_status(ctx.session, ctx.lead, target, ctx.actor, ctx.now, reason=ctx.reason)
    return f"status set to {target.name}"


def set_field(ctx: Context, action: dict) -> str:
    field, value = action.get("field") or "", action.get("value")
    name = field.removeprefix("custom.")
    raw = (
        {"custom": {**(ctx.lead.custom or {}), name: value}}
        if field.startswith("custom.")
        else {field: value}
    )
    try:
        leads.update_fields(ctx.session, ctx.org, ctx.lead, raw, ctx.actor, ctx.now)
    except ValidationError as exc:
        return f"could not set {field}: {'; '.join(exc.errors.values())}"
    return f"{field} set to {value}"


def tag(ctx: Context, action: dict) -> str:
    leads.add_tags(ctx.session, ctx.lead, [action["tag"]], ctx.actor, ctx.now)
    return f"tagged {action['tag']}"


def follow_up(ctx: Context, action: dict) -> str:
    at = ctx.now + timedelta(seconds=action.get("after") or 86400)
    leads.set_follow_up(ctx.session, ctx.lead, at, ctx.actor, ctx.now)
    return f"follow-up set for {ctx.local(at)}"


DO = {
    "reassign": reassign,
    "notify": notify,
    "status": status,
    "set": set_field,
    "tag": tag,
    "follow_up": follow_up,
}


def summary(action: dict) -> str:
    """An action in a few words, for the task list and the lead page."""
    kind = action.get("type")
    if kind == "reassign":
        to = action.get("to") or {}
        target = {
            "team": "a team member",
            "user": "a named person",
            "backup": "the backup",
            "supervisor": "the supervisor",
            "manager": "the manager",
        }.get(to.get("type"), "someone else")
        return f"reassign to {target}"
    if kind == "notify":
        who = [p.get("role") or "a named person" for p in action.get("to") or []]
        return "notify " + " and ".join(who)
    if kind == "status":
        return "change the status"
    if kind == "set":
        return f"set {action.get('field')}"
    if kind == "tag":
        return f"tag {action.get('tag')}"
    if kind == "follow_up":
        return f"follow up in {describe_duration(action.get('after') or 0)}"
    return str(kind)


def messages_per_firing(action: dict) -> int:
    """How many people an action messages each time (for the preview's estimate)."""
    if action.get("type") == "notify":
        return len(action.get("to") or []) + len(action.get("cc") or [])
    if action.get("type") == "reassign":
        return 1
    return 0
