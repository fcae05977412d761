"""The signed links in alerts. "View lead" opens the lead (the lead page asks for a login as
usual). "I'm on it" shows a confirmation with one button: mail scanners that follow links
must not answer for the rep, so only the POST records anything."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template

from leadtrack.extensions import db, limiter
from leadtrack.services import alert_actions, alert_links
from leadtrack.services.alert_links import LinkError
from leadtrack.timeutil import utcnow

bp = Blueprint("alert_links", __name__)
LINK_LIMIT = "60 per minute"


@bp.get("/alert/<token>")
@limiter.limit(LINK_LIMIT)
def open_link(token: str):
    try:
        link = alert_links.read_token(token)
        target = alert_actions.resolve(db.session, link)
    except LinkError as exc:
        return _invalid(exc)
    if link.action == "view":
        return redirect(f"/leads/{target.lead.id}")
    done = alert_actions.already_acknowledged(db.session, target)
    return render_template("alerts/ack.html", target=target, token=token, done=done)


@bp.post("/alert/<token>")
@limiter.limit(LINK_LIMIT)
def acknowledge(token: str):
    try:
        link = alert_links.read_token(token)
        if link.action != "ack":
            raise LinkError("This link does not answer alerts.")
        target = alert_actions.resolve(db.session, link)
    except LinkError as exc:
        return _invalid(exc)
    alert_actions.acknowledge(db.session, target, utcnow())
    db.session.commit()
    return render_template("alerts/ack.html", target=target, token=token, done=True)


def _invalid(exc: LinkError):
    db.session.rollback()
    return render_template("alerts/link_invalid.html", message=str(exc)), 400
