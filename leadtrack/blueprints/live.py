"""Live events for open pages: a Server-Sent Events stream, and the same events by polling
for browsers that cannot keep a stream open. Each viewer gets only the events of leads
their scope covers (services/live_events.may_see)."""

from __future__ import annotations

import threading

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user

from leadtrack.blueprints.guards import organization_members_only
from leadtrack.extensions import db
from leadtrack.redis_conn import get_redis
from leadtrack.services import access, live_events

bp = Blueprint("live", __name__, url_prefix="/live")
bp.before_request(organization_members_only)


def _slots() -> threading.BoundedSemaphore:
    """Open streams in this process are capped, so they never take every thread from the
    pages; a browser turned away polls instead."""
    slots = current_app.extensions.get("live_slots")
    if slots is None:
        slots = current_app.extensions.setdefault(
            "live_slots", threading.BoundedSemaphore(current_app.config["LIVE_MAX_STREAMS"])
        )
    return slots


def _start_id() -> str:
    given = request.headers.get("Last-Event-ID") or request.args.get("last")
    return live_events.valid_id(given) or live_events.latest_id(get_redis(), current_user.org_id)


@bp.get("/events")
def events():
    slots = _slots()
    if not slots.acquire(blocking=False):
        return Response("Too many live pages open; polling instead.", 503, {"Retry-After": "30"})
    try:
        org_id, viewer_id = current_user.org_id, current_user.id
        scope = access.scope_for(db.session, current_user)
        after = _start_id()
        db.session.remove()  # a stream holds no database connection
    except BaseException:
        slots.release()
        raise
    config = current_app.config
    lines = live_events.sse_stream(
        get_redis(),
        org_id,
        scope,
        viewer_id,
        after,
        heartbeat_seconds=config["LIVE_HEARTBEAT_SECONDS"],
        lifetime_seconds=config["LIVE_STREAM_SECONDS"],
    )
    response = Response(lines, mimetype="text/event-stream")
    response.call_on_close(slots.release)  # also when the browser left before the first line
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


@bp.get("/poll")
def poll():
    scope = access.scope_for(db.session, current_user)
    answer = live_events.poll(get_redis(), current_user.org_id, scope, current_user.id, _start_id())
    return jsonify(answer)
