"""Live updates: after each commit that changed a lead, one event per lead goes to the
organization's Redis stream; the board's SSE endpoint reads it and passes on what each viewer
may see.

A stream rather than plain pub/sub because a browser that lost its connection (a restart, a
train tunnel) comes back with the id of the last event it saw (`Last-Event-ID`) and must be
given what it missed. Each entry names the people and units the lead belonged to before and
after the change, so a rep whose lead moved to a colleague hears that it left their board.

Every change of a lead goes through `history.record`, which calls `touched`; nothing else
needs to remember to publish. Publishing never fails a commit: with Redis away the boards
fall back on their own refresh."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from leadtrack.services.access import Scope

log = logging.getLogger(__name__)

TOUCHED_KEY = "leadtrack.live.touched"  # session.info: lead id -> Change
READY_KEY = "leadtrack.live.ready"  # session.info: entries to publish after commit
STREAM_LENGTH = 10_000  # per organization; a browser further behind reloads its board
ALERT_KINDS = {"assigned": "assigned to you", "escalated": "escalated to you"}


def stream_key(org_id: int) -> str:
    return f"leadtrack:live:{org_id}"


@dataclass
class Change:
    """What one transaction did to one lead, and whom it concerns."""

    lead: object
    kinds: list[str] = field(default_factory=list)
    users: set[int] = field(default_factory=set)
    units: set[int] = field(default_factory=set)
    alert_user: int | None = None
    alert: str = ""


def touched(session: Session, lead, kind: str, actor_user_id: int | None, data: dict) -> None:
    """Remember that `lead` changed in this transaction (called by history.record)."""
    changes: dict[int, Change] = session.info.setdefault(TOUCHED_KEY, {})
    change = changes.setdefault(lead.id, Change(lead))
    if kind not in change.kinds:
        change.kinds.append(kind)
    _note_audience(change, lead.assignee_id, lead.unit_id)
    _note_audience(change, data.get("from_id"), data.get("from_unit_id"))
    _note_audience(change, data.get("to_id"), data.get("to_unit_id"))
    target = data.get("to_id")
    if kind in ALERT_KINDS and target and target != actor_user_id:
        change.alert_user, change.alert = target, ALERT_KINDS[kind]


def _note_audience(change: Change, user_id, unit_id) -> None:
    if user_id:
        change.users.add(int(user_id))
    if unit_id:
        change.units.add(int(unit_id))


def entry_of(change: Change) -> dict[str, str]:
    """The stream entry for one changed lead, read from the lead as it is at commit."""
    lead = change.lead
    _note_audience(change, lead.assignee_id, lead.unit_id)
    entry = {
        "lead": str(lead.id),
        "kinds": ",".join(change.kinds),
        "users": _ids(change.users),
        "units": _ids(change.units),
    }
    if change.alert_user:
        entry |= {"alert_user": str(change.alert_user), "alert": change.alert, "name": lead.name}
    return entry


def _ids(values: Iterable[int]) -> str:
    return ",".join(str(v) for v in sorted(values))


def may_see(scope: Scope, viewer_id: int, entry: dict[str, str]) -> bool:
    """Whether the viewer's scope (services/access.py) covers the lead of this entry: the
    organization's people see everything, a manager their units and their own leads, a rep
    only leads that are or were theirs."""
    users = _parse_ids(entry.get("users", ""))
    if scope.owner_id is not None and scope.owner_id in users:
        return True
    if scope.unit_ids is not None:
        return bool(_parse_ids(entry.get("units", "")) & scope.unit_ids)
    return scope.owner_id is None


def _parse_ids(text: str) -> set[int]:
    return {int(part) for part in text.split(",") if part.isdigit()}


def message_for(entry: dict[str, str], viewer_id: int) -> dict:
    """The JSON a viewer receives; the alert words only for the person they concern."""
    message: dict = {"lead": int(entry["lead"]), "kinds": entry.get("kinds", "").split(",")}
    if entry.get("alert_user") == str(viewer_id):
        message["alert"] = f"Lead {entry.get('name', '')} {entry.get('alert', '')}".strip()
    return message


# -- publishing, after commit ------------------------------------------------------------


def _before_commit(session: Session) -> None:
    changes: dict[int, Change] | None = session.info.pop(TOUCHED_KEY, None)
    if changes:
        ready = session.info.setdefault(READY_KEY, [])
        ready += [(change.lead.org_id, entry_of(change)) for change in changes.values()]


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    ready = session.info.pop(READY_KEY, None)
    if not ready or not has_app_context():
        return
    publish(current_app.extensions["redis"], ready)


def publish(redis, entries: list[tuple[int, dict[str, str]]]) -> None:
    try:
        with redis.pipeline(transaction=False) as pipe:
            for org_id, entry in entries:
                pipe.xadd(stream_key(org_id), entry, maxlen=STREAM_LENGTH, approximate=True)
            pipe.execute()
    except Exception:
        log.warning("could not publish %d live events; boards catch up on refresh", len(entries))


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(TOUCHED_KEY, None)
        session.info.pop(READY_KEY, None)


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)


# -- reading ----------------------------------------------------------------------------


def latest_id(redis, org_id: int) -> str:
    """The id of the newest event, where a page rendered now starts listening."""
    newest = redis.xrevrange(stream_key(org_id), count=1)
    return _text(newest[0][0]) if newest else "0-0"


def behind(redis, org_id: int, last_id: str) -> bool:
    """Whether events after `last_id` were already trimmed away: the viewer must reload."""
    if last_id in ("", "0-0") or redis.xlen(stream_key(org_id)) < STREAM_LENGTH:
        return False
    oldest = redis.xrange(stream_key(org_id), count=1)
    return bool(oldest) and _id_tuple(_text(oldest[0][0])) > _id_tuple(last_id)


def read(redis, org_id: int, after: str, block_ms: int | None, count: int = 200) -> list:
    """Entries after `after`: [(id, {field: value})], waiting up to `block_ms` for one."""
    found = redis.xread({stream_key(org_id): after}, count=count, block=block_ms)
    if not found:
        return []
    return [
        (_text(i), {_text(k): _text(v) for k, v in fields.items()}) for i, fields in found[0][1]
    ]


def valid_id(text: str | None) -> str | None:
    """A stream id from a browser (Last-Event-ID or ?last=), or None when it is not one."""
    if not text:
        return None
    parts = text.strip().split("-")
    if len(parts) == 2 and all(p.isdigit() and len(p) <= 20 for p in parts):
        return text.strip()
    return None


def _id_tuple(stream_id: str) -> tuple[int, int]:
    ms, seq = stream_id.split("-")
    return int(ms), int(seq)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


# -- what a browser receives ------------------------------------------------------------

RETRY_MS = 2000  # how long a browser waits before reconnecting


def sse(event_name: str, event_id: str, message: dict) -> str:
    return f"id: {event_id}\nevent: {event_name}\ndata: {encode(message)}\n\n"


def sse_stream(
    redis,
    org_id: int,
    scope: Scope,
    viewer_id: int,
    after: str,
    *,
    heartbeat_seconds: float,
    lifetime_seconds: float,
    clock=time.monotonic,
) -> Iterator[str]:
    """The text of one Server-Sent Events response: the viewer's events after `after` as
    they come, a comment line when it is quiet, until `lifetime_seconds` are up (the browser
    then reconnects with the last id it saw)."""
    yield f"retry: {RETRY_MS}\n\n"
    if behind(redis, org_id, after):
        after = latest_id(redis, org_id)
        yield sse("reset", after, {})
    ends = clock() + lifetime_seconds
    while (left := ends - clock()) > 0:
        wait_ms = max(int(min(heartbeat_seconds, left) * 1000), 1)
        entries = read(redis, org_id, after, block_ms=wait_ms)
        if not entries:
            yield ": keep-alive\n\n"
            continue
        for entry_id, entry in entries:
            after = entry_id
            if may_see(scope, viewer_id, entry):
                yield sse("lead", entry_id, message_for(entry, viewer_id))


def poll(redis, org_id: int, scope: Scope, viewer_id: int, after: str) -> dict:
    """The same events for a browser that cannot hold a stream open: what came after
    `after`, at once, and the id to ask from next time."""
    if behind(redis, org_id, after):
        return {"reset": True, "last": latest_id(redis, org_id), "events": []}
    entries = read(redis, org_id, after, block_ms=None)
    events = [
        {"id": entry_id, **message_for(entry, viewer_id)}
        for entry_id, entry in entries
        if may_see(scope, viewer_id, entry)
    ]
    last = entries[-1][0] if entries else after
    return {"reset": False, "last": last, "events": events}
