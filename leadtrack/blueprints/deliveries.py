"""Admin "Deliveries": every alert and message with its outcome, filters, and the dead letters
with a retry button. Organization admins see all; managers their people's deliveries."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from leadtrack.extensions import db
from leadtrack.models import ChannelName, DeliveryStatus
from leadtrack.services import delivery_log
from leadtrack.services.delivery_log import DeliveryFilters
from leadtrack.services.errors import ValidationError
from leadtrack.timeutil import utcnow
from leadtrack.web import viewer_timezone

bp = Blueprint("deliveries", __name__, url_prefix="/admin/deliveries")


@bp.before_request
@login_required
def _admins_and_managers_only():
    if current_user.org_id is None or current_user.role_enum not in delivery_log.MAY_VIEW:
        abort(403)


def _labels() -> dict:
    return {
        "event_label": delivery_log.event_label,
        "status_label": delivery_log.status_label,
        "events": delivery_log.event_choices(),
        "channels": [(c.value, c.label) for c in ChannelName],
        "statuses": [(s.value, delivery_log.status_label(s)) for s in DeliveryStatus],
    }


@bp.get("")
def index():
    filters = DeliveryFilters.from_args(request.args)
    number = max(1, request.args.get("page", 1, type=int) or 1)
    try:
        stmt = delivery_log.search(db.session, current_user, filters, viewer_timezone())
    except ValidationError as exc:
        log_page, errors = None, exc.errors
    else:
        log_page, errors = delivery_log.page(db.session, stmt, number), {}
    return render_template(
        "deliveries/index.html",
        filters=filters,
        log_page=log_page,
        errors=errors,
        dead=delivery_log.dead_count(db.session, current_user),
        **_labels(),
    ), (422 if errors else 200)


@bp.post("/<id:notification_id>/retry")
def retry(notification_id: int):
    error = None
    try:
        item = delivery_log.retry(db.session, current_user, notification_id, utcnow())
    except ValidationError as exc:
        db.session.rollback()
        item = delivery_log.get(db.session, current_user, notification_id)
        error = " ".join(exc.errors.values())
    else:
        db.session.commit()
    return render_template("deliveries/_row.html", item=item, row_error=error, **_labels()), (
        422 if error else 200
    )
