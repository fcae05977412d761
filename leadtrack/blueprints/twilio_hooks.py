"""Twilio's callback when a rep presses a key during an alert call (channels/voice.py).

Twilio signs each request with the auth token of the account that placed the call, so the
signature is the authority here, checked with the token of the alert's organization: a
callback another organization's account signed, or anyone forged, is refused (403) before
anything is read or recorded. No CSRF token: Twilio cannot send one; the signature does
that work."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from leadtrack.channels import twilio
from leadtrack.extensions import csrf, db, limiter
from leadtrack.models import ChannelName, Notification, Organization
from leadtrack.services import alert_actions, delivery
from leadtrack.services.alert_links import AlertLink, LinkError
from leadtrack.timeutil import utcnow

bp = Blueprint("twilio_hooks", __name__)
HOOK_LIMIT = "120 per minute"  # Twilio calls from a shared pool of addresses

ACCEPTED = "Thank you. The lead is yours."
DECLINED = "Goodbye."
NOT_POSSIBLE = "Sorry, this lead cannot be accepted by phone any more. Goodbye."


@bp.post("/hooks/twilio/voice/<int:notification_id>")
@csrf.exempt
@limiter.limit(HOOK_LIMIT)
def voice_answer(notification_id: int):
    notification = db.session.get(Notification, notification_id)
    if notification is None or not _signed_by_twilio(notification):
        return Response("Forbidden", status=403, mimetype="text/plain")
    if request.form.get("Digits") != "1":
        return _say(DECLINED)
    link = AlertLink("ack", notification.id, notification.recipient_id, notification.lead_id)
    try:
        target = alert_actions.resolve(db.session, link)
    except LinkError:
        return _say(NOT_POSSIBLE)
    alert_actions.acknowledge(db.session, target, utcnow(), via="phone")
    db.session.commit()
    return _say(ACCEPTED)


def _signed_by_twilio(notification: Notification) -> bool:
    if notification.channel != ChannelName.VOICE:
        return False
    org = db.session.get(Organization, notification.org_id)
    token = delivery.accounts_for(db.session, org).twilio_auth_token
    given = request.headers.get("X-Twilio-Signature", "")
    return twilio.valid_signature(token, _called_url(), request.form.to_dict(), given)


def _called_url() -> str:
    """The URL Twilio called, as we gave it to Twilio: behind a proxy `request.url` may
    differ in scheme or host, so it is rebuilt from BASE_URL."""
    url = current_app.config["BASE_URL"].rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return url


def _say(text: str) -> Response:
    twiml = f"<Response><Say>{text}</Say></Response>"
    return Response(twiml, mimetype="text/xml")
