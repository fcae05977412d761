"""The System page: queues, workers and schedulers, the clock's timers, the alert outbox,
failed jobs and failed timers with a retry button. It refreshes its figures every 5 s.

Who sees what: queue, worker and scheduler figures are the installation's and every viewer
sees them. The super admin sees every organization's timers and outbox, and the failed RQ
jobs (their arguments may belong to any organization) with their retry button. An
organization admin sees their organization's timers and outbox only, and retries their own
failed timers; another organization's timer is a 404."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from leadtrack.extensions import db
from leadtrack.models import Role
from leadtrack.services import system_status
from leadtrack.services.errors import ValidationError
from leadtrack.timeutil import as_utc, describe_duration, utcnow
from leadtrack.web import is_htmx

bp = Blueprint("system", __name__, url_prefix="/system")

MAY_VIEW = (Role.SUPER_ADMIN, Role.ORG_ADMIN)


@bp.before_request
def _guard():
    if not current_user.is_authenticated:
        if is_htmx():
            return "", 204  # a poll from a page whose session ended: leave it as it is
        return current_app.login_manager.unauthorized()
    if current_user.role_enum not in MAY_VIEW:
        abort(403)
    return None


def _is_super() -> bool:
    return current_user.role_enum is Role.SUPER_ADMIN


def _org_scope() -> int | None:
    """None (every organization) for the super admin, else the admin's organization."""
    return None if _is_super() else current_user.org_id


def _helpers(now: datetime) -> dict:
    def ago(moment: datetime | None) -> str:
        if moment is None:
            return "never"
        seconds = (now - as_utc(moment)).total_seconds()
        return "just now" if seconds < 1 else f"{describe_duration(seconds)} ago"

    return {
        "ago": ago,
        "duration": describe_duration,
        "kind_labels": system_status.KIND_LABELS,
        "is_super": _is_super(),
        "sweep_seconds": current_app.config.get("CLOCK_SWEEP_SECONDS", 10),
    }


def _status() -> dict:
    now = utcnow()
    status = system_status.gather(db.session, now, org_id=_org_scope(), include_jobs=_is_super())
    return {"status": status, **_helpers(now)}


@bp.get("")
def index():
    return render_template("system/index.html", **_status())


@bp.get("/figures")
def figures():
    """The fragment the page polls every 5 s."""
    return render_template("system/_figures.html", **_status())


@bp.post("/jobs/<job_id>/retry")
def retry_job(job_id: str):
    if not _is_super():
        abort(403)  # failed jobs are the installation's: the super admin's to retry
    error = None
    try:
        job = system_status.retry_failed_job(job_id)
    except ValidationError as exc:
        job, error = None, " ".join(exc.errors.values())
    if not is_htmx():
        flash(
            error or f"Job {job_id} is back in the {job.queue} queue.",
            "error" if error else "success",
        )
        return redirect(url_for(".index"))
    return render_template(
        "system/_job_retried.html", job_id=job_id, job=job, row_error=error, **_helpers(utcnow())
    ), (422 if error else 200)


@bp.post("/timers/<id:timer_id>/retry")
def retry_timer(timer_id: int):
    now = utcnow()
    timer, error = None, None
    try:
        timer = system_status.retry_failed_timer(db.session, timer_id, now, org_id=_org_scope())
    except ValidationError as exc:
        db.session.rollback()
        error = " ".join(exc.errors.values())
    else:
        db.session.commit()
    if not is_htmx():
        flash(
            error or f"Timer {timer_id} is pending again; the next sweep fires it.",
            "error" if error else "success",
        )
        return redirect(url_for(".index"))
    return render_template(
        "system/_timer_retried.html",
        timer_id=timer_id,
        timer=timer,
        row_error=error,
        **_helpers(now),
    ), (422 if error else 200)
