"""Alert texts: sandboxed Jinja that organization admins edit, checked when saved, and a
fallback to the default text when one still fails at send time — an alert is never lost to
a typo."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import ChannelName, NotificationTemplate, Organization
from leadtrack.services import alert_events
from leadtrack.services.alert_events import AlertEvent
from leadtrack.services.errors import ValidationError

log = logging.getLogger(__name__)

MAX_SUBJECT = 300
MAX_BODY = 5000
SMS_SOFT_LIMIT = 480  # about three SMS segments

_strict = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_lenient = SandboxedEnvironment(autoescape=False)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    used_fallback: bool = False


def template_for(
    session: Session, org_id: int, event: str, channel: ChannelName
) -> NotificationTemplate | None:
    return session.scalars(
        select(NotificationTemplate).where(
            NotificationTemplate.org_id == org_id,
            NotificationTemplate.event == event,
            NotificationTemplate.channel == channel,
        )
    ).first()


def text_for(
    session: Session, org_id: int, event: AlertEvent, channel: ChannelName
) -> tuple[str, str]:
    """The (subject, body) in force: the organization's own, else the default."""
    own = template_for(session, org_id, event.key, channel)
    return (own.subject, own.body) if own else event.default_text(channel)


def render(
    session: Session, org_id: int, event_key: str, channel: ChannelName, context: dict[str, Any]
) -> Rendered:
    event = alert_events.get(event_key)
    subject, body = text_for(session, org_id, event, channel)
    try:
        return Rendered(_render(_lenient, subject, context), _render(_lenient, body, context))
    except Exception:
        log.exception("alert text %s/%s of org %s failed; default used", event_key, channel, org_id)
    subject, body = event.default_text(channel)
    return Rendered(
        _render(_lenient, subject, context), _render(_lenient, body, context), used_fallback=True
    )


def _render(env: SandboxedEnvironment, source: str, context: dict[str, Any]) -> str:
    if not source:
        return ""
    template = _compiled(source) if env is _lenient else env.from_string(source)
    return template.render(context).strip()


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """Compiling is most of a render's cost; a text's source is its own cache key."""
    return _lenient.from_string(source)


def check(event: AlertEvent, channel: ChannelName, subject: str, body: str) -> dict[str, str]:
    """Errors per field for an edited text: syntax, private attributes, unknown placeholders
    (rendered against the sample with StrictUndefined), the sandbox's refusals, lengths."""
    errors: dict[str, str] = {}
    if len(subject) > MAX_SUBJECT:
        errors["subject"] = f"At most {MAX_SUBJECT} characters."
    if len(body) > MAX_BODY:
        errors["body"] = f"At most {MAX_BODY} characters."
    if not body.strip():
        errors["body"] = "Write the text (or reset it to the default)."
    sample = sample_context(event)
    for field, source in (("subject", subject), ("body", body)):
        if field not in errors and source:
            problem = _problem(source, sample)
            if problem:
                errors[field] = problem
    if "body" not in errors and channel == ChannelName.SMS:
        length = len(_render(_lenient, body, sample))
        if length > SMS_SOFT_LIMIT:
            errors["body"] = (
                f"The sample SMS is {length} characters; keep it under {SMS_SOFT_LIMIT}."
            )
    return errors


def _problem(source: str, sample: dict[str, Any]) -> str:
    try:
        tree = _strict.parse(source)
    except TemplateError as exc:
        return f"Line {getattr(exc, 'lineno', '?')}: {exc.message}"
    for node in tree.find_all((nodes.Getattr, nodes.Name)):
        name = node.attr if isinstance(node, nodes.Getattr) else node.name
        if name.startswith("_"):
            return f"“{name}” is not a placeholder; names starting with _ are not allowed."
    unknown = _unknown_placeholder(tree, sample)
    if unknown:
        return f"Unknown placeholder “{unknown}”. Use one from the list."
    try:
        _strict.from_string(source).render(sample)
    except TemplateError as exc:
        return _explain(exc)
    except Exception as exc:
        return f"This text cannot be rendered: {exc}"
    return ""


def _unknown_placeholder(tree: nodes.Template, sample: dict[str, Any]) -> str:
    """The first dotted name (lead.nmae) that the sample context does not have. Names set
    inside the template ({% for item in … %}) are left to the render check."""
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in tree.find_all(nodes.Getattr):
        path = _dotted(node)
        if not path or path[0] in assigned:
            continue
        value: Any = sample
        for part in path:
            if not isinstance(value, dict):
                break  # a method of a value, e.g. lead.name.upper(): the render check decides
            if part not in value:
                return ".".join(path)
            value = value[part]
    known = assigned | set(sample) | set(_strict.globals)
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in known:
            return node.name
    return ""


def _dotted(node: nodes.Expr) -> list[str]:
    parts: list[str] = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name):
        return []
    return [node.name, *reversed(parts)]


def _explain(exc: TemplateError) -> str:
    message = exc.message or str(exc)
    if "is undefined" in message or "has no attribute" in message:
        return f"Unknown placeholder: {message}. Use one from the list."
    if "unsafe" in message:
        return "That is not allowed in a template."
    return f"This text cannot be rendered: {message}"


def preview(
    event: AlertEvent, channel: ChannelName, subject: str, body: str
) -> tuple[Rendered, dict[str, str]]:
    """The text rendered with the sample lead, and the errors saving it would report."""
    errors = check(event, channel, subject, body)
    sample = sample_context(event)
    if errors:
        return Rendered("", ""), errors
    return Rendered(_render(_lenient, subject, sample), _render(_lenient, body, sample)), {}


def save(
    session: Session,
    org: Organization,
    event_key: str,
    channel: ChannelName,
    subject: str,
    body: str,
    editor_id: int | None,
    now: datetime,
) -> NotificationTemplate:
    event = alert_events.get(event_key)
    if channel not in alert_events.editable_channels(event):
        raise ValidationError({"channel": "This event is not sent on that channel."})
    errors = check(event, channel, subject, body)
    if errors:
        raise ValidationError(errors)
    own = template_for(session, org.id, event_key, channel)
    if own is None:
        own = NotificationTemplate(org_id=org.id, event=event_key, channel=channel)
        session.add(own)
    own.subject, own.body = subject.strip(), body.strip()
    own.updated_by_id, own.updated_at = editor_id, now
    return own


def reset(session: Session, org: Organization, event_key: str, channel: ChannelName) -> None:
    own = template_for(session, org.id, event_key, channel)
    if own is not None:
        session.delete(own)


def sample_context(event: AlertEvent) -> dict[str, Any]:
    """What the preview and the checks render with: a realistic lead and every detail."""
    context: dict[str, Any] = {
        "recipient": {"name": "Alex Morgan", "first_name": "Alex"},
        "org": {"name": "Autohaus Berger"},
        "sender": {"name": "Alex Morgan"},
        "links": {
            "view": "https://leadtrack.example/leads/1042",
            "ack": "https://leadtrack.example/alert/ack-sample",
            "preferences": "https://leadtrack.example/account/alerts",
            "inbox": "https://leadtrack.example/notifications",
        },
        "lead": {
            "id": 1042,
            "name": "Jana Schulz",
            "company": "Schulz Logistik GmbH",
            "phone": "+4915123456789",
            "email": "jana.schulz@example.de",
            "source": "web",
            "status": "New",
            "temperature": "hot",
            "value": "25,500.00",
            "product": "ID.4 Pro",
            "assignee": "Alex Morgan",
            "created_at": "2026-11-22 09:41",
        },
        "details": {
            "reason": "rule “Web leads Berlin”, round robin",
            "previous": "Sam Lee",
            "deadline": "2026-11-22 10:11",
            "minutes_left": 5,
            "due_at": "2026-11-22 14:00",
            "task": "Send the offer",
            "file_name": "fair-contacts.xlsx",
            "created": 212,
            "rejected": 3,
            "url": "https://leadtrack.example/imports/7",
            "rows": 1834,
        },
        "digest": {
            "open": 14,
            "new": 3,
            "due_today": 4,
            "overdue": 1,
            "leads": [
                {
                    "name": "Jana Schulz",
                    "status": "New",
                    "url": "https://leadtrack.example/leads/1",
                },
                {
                    "name": "Tom Becker",
                    "status": "Follow-up",
                    "url": "https://leadtrack.example/leads/2",
                },
            ],
        },
        "summary": {
            "count": 7,
            "channel": "SMS",
            "lines": ["New lead: Jana Schulz.", "Escalation: no response to Tom Becker yet."],
        },
    }
    return context
