"""Each role's home page, the health check and the system status page."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

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
        access.visible(db.session, current_user, User)
        .where(User.is_active_user.is_(True))
        .order_by(User.name)
    ).all()
    hours = current_user.working_hours or current_user.organization.business_hours
    return render_template(
        "home.html",
        team=[member for member in team if member.id != current_user.id],
        hours=describe(hours),
        away=is_out_of_office(current_user, utcnow()),
    )


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    get_redis().ping()
    return jsonify(status="ok")


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
