"""Each role's home page, the health check and the system status page."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from redis.exceptions import RedisError
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from leadtrack import queues
from leadtrack.blueprints.guards import roles_required
from leadtrack.extensions import db
from leadtrack.models import Role, User
from leadtrack.redis_conn import get_redis
from leadtrack.services import access
from leadtrack.services.calendar import describe
from leadtrack.services.users import is_out_of_office
from leadtrack.timeutil import utcnow

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.role_enum is Role.SUPER_ADMIN:
        return redirect(url_for("platform.organizations"))
    team = db.session.scalars(
        _people_in_view().where(User.is_active_user.is_(True)).order_by(User.name)
    ).all()
    hours = current_user.working_hours or current_user.organization.business_hours
    return render_template(
        "home.html",
        team=[member for member in team if member.id != current_user.id],
        hours=describe(hours),
        away=is_out_of_office(current_user, utcnow()),
    )


def _people_in_view():
    """Agents see their unit's colleagues; everyone else whom their scope shows."""
    if current_user.role_enum is Role.AGENT and current_user.unit_id is not None:
        return select(User).where(
            User.org_id == current_user.org_id, User.unit_id == current_user.unit_id
        )
    return access.visible(db.session, current_user, User)


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError:
        checks["database"] = "unreachable"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except RedisError:
        checks["redis"] = "unreachable"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), (200 if healthy else 503)


@bp.get("/status")
@login_required
@roles_required(Role.SUPER_ADMIN, Role.ORG_ADMIN)
def status():
    return render_template(
        "status.html",
        workers=queues.worker_count(),
        schedulers=queues.cron_schedulers(),
        heartbeat=queues.last_heartbeat(),
        queued=len(queues.get_queue()),
    )
