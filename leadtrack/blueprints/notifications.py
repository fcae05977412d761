"""The notification centre: a signed-in user's in-app alerts, the bell with its unread count."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from leadtrack.blueprints.guards import organization_members_only
from leadtrack.extensions import db
from leadtrack.services import delivery_log, inbox
from leadtrack.timeutil import utcnow
from leadtrack.web import is_htmx

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
CHANGED = {"HX-Trigger": "notifications-changed"}  # the bell fetches its count again


@bp.before_request
def _organization_members_only():
    if not current_user.is_authenticated and is_htmx():
        return "", 204  # a poll from a page whose session ended: leave the bell as it is
    return organization_members_only()


@bp.get("")
def index():
    number = max(1, request.args.get("page", 1, type=int) or 1)
    return render_template(
        "notifications/index.html",
        inbox_page=inbox.page(db.session, current_user, number),
        unread=inbox.unread_count(db.session, current_user),
        event_label=delivery_log.event_label,
    )


@bp.get("/count")
def count():
    newest = inbox.newest_unread(db.session, current_user)
    return render_template(
        "notifications/_bell.html",
        unread=inbox.unread_count(db.session, current_user),
        newest=newest,
    )


@bp.post("/<id:notification_id>/read")
def read(notification_id: int):
    notification = inbox.mark_read(db.session, current_user, notification_id, utcnow())
    db.session.commit()
    return (
        render_template(
            "notifications/_row.html",
            item=notification,
            oob_unread=inbox.unread_count(db.session, current_user),
            event_label=delivery_log.event_label,
        ),
        200,
        CHANGED,
    )


@bp.post("/read-all")
def read_all():
    inbox.mark_all_read(db.session, current_user, utcnow())
    db.session.commit()
    return (
        render_template(
            "notifications/_list.html",
            inbox_page=inbox.page(db.session, current_user, 1),
            unread=0,
            event_label=delivery_log.event_label,
        ),
        200,
        CHANGED,
    )
