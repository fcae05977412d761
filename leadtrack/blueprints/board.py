"""The live lead board: status columns or a table, filters in the URL, counters, and the
card fragments the browser fetches when an event says a lead changed."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, organization_members_only
from leadtrack.extensions import db
from leadtrack.models import Lead
from leadtrack.redis_conn import get_redis
from leadtrack.services import access, board, board_counters, lead_settings, live_events, users
from leadtrack.services.errors import Forbidden, NotFound, ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.units import tree
from leadtrack.timeutil import utcnow
from leadtrack.web import is_htmx

bp = Blueprint("board", __name__, url_prefix="/board")
bp.before_request(organization_members_only)


def _filters() -> board.BoardFilters:
    filters = board.BoardFilters.from_args(request.args)
    if filters.view not in board.VIEWS:
        filters.view = "board"
    return filters


def _content(filters: board.BoardFilters) -> dict:
    org, now = current_org(), utcnow()
    context: dict = {"filters": filters, "now": now, "filter_errors": None}
    try:
        if filters.view == "table":
            context["cards"], context["total"] = board.table(
                db.session, org, current_user, filters, now
            )
        else:
            context["columns"] = board.columns(db.session, org, current_user, filters, now)
    except ValidationError as exc:
        context["filter_errors"] = exc.errors
    context["statuses"] = lead_settings.statuses(db.session, org.id)
    return context


@bp.get("")
def index():
    filters = _filters()
    context = _content(filters)
    if is_htmx() and request.headers.get("HX-Target") == "board-content":
        return render_template("board/_content.html", **context)
    org = current_org()
    return render_template(
        "board/index.html",
        counters=board_counters.counters(db.session, org, current_user, utcnow()),
        last_event=live_events.latest_id(get_redis(), org.id),
        sources=lead_settings.sources(db.session, org.id),
        colleagues=users.colleagues(db.session, org.id),
        unit_rows=tree(db.session, org.id),
        **context,
    )


@bp.get("/counters")
def counters():
    numbers = board_counters.counters(db.session, current_org(), current_user, utcnow())
    return render_template("board/_counters.html", counters=numbers)


@bp.get("/cards/<id:lead_id>")
def card(lead_id: int):
    """The lead as this viewer's board shows it now; empty when it is not on their board."""
    filters = _filters()
    found = board.card(db.session, current_org(), current_user, filters, utcnow(), lead_id)
    return _card_fragment(found, filters)


def _card_fragment(found: board.Card | None, filters: board.BoardFilters):
    if found is None:
        return ""
    template = "board/_row.html" if filters.view == "table" else "board/_card.html"
    statuses = lead_settings.statuses(db.session, current_user.org_id)
    return render_template(template, card=found, statuses=statuses, now=utcnow())


@bp.post("/leads/<id:lead_id>/move")
def move(lead_id: int):
    """A card dropped on a column (or moved with its menu). Answers the card as it is now,
    or a message and the reason the move was refused (the browser puts the card back)."""
    org, now = current_org(), utcnow()
    try:
        lead = access.get_visible(db.session, current_user, Lead, lead_id)
        actor = Actor(org.id, user=current_user, via="web")
        status, reason = request.form.get("status", ""), request.form.get("reason", "")
        board.move(db.session, org, lead, status, reason, actor, now)
    except NotFound:
        return jsonify(error="This lead is no longer on your board."), 404
    except Forbidden as exc:
        db.session.rollback()
        return jsonify(error=str(exc)), 403
    except ValidationError as exc:
        db.session.rollback()
        return jsonify(error=" ".join(exc.errors.values()), fields=exc.errors), 422
    db.session.commit()
    filters = _filters()
    return _card_fragment(board.card(db.session, org, current_user, filters, now, lead_id), filters)
