"""Signed, expiring links in alerts: "View lead" and "I'm on it". The signature is the
authority for "I'm on it", so a rep can answer from a phone without signing in; the link
names one notification, one user and one lead, and does nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "leadtrack.alert-link"
ACTIONS = ("view", "ack")


@dataclass(frozen=True)
class AlertLink:
    action: str
    notification_id: int
    user_id: int
    lead_id: int


class LinkError(Exception):
    """The link is forged, altered or too old; the message says which, for the page."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(link: AlertLink) -> str:
    return _serializer().dumps([link.action, link.notification_id, link.user_id, link.lead_id])


def read_token(token: str) -> AlertLink:
    try:
        data = _serializer().loads(token, max_age=current_app.config["ALERT_LINK_MAX_AGE"])
    except SignatureExpired as exc:
        raise LinkError("This link has expired. Open the lead in LeadTrack instead.") from exc
    except BadSignature as exc:
        raise LinkError("This link is not valid: it may have been altered or cut off.") from exc
    try:
        action, notification_id, user_id, lead_id = data
        link = AlertLink(str(action), int(notification_id), int(user_id), int(lead_id))
    except (TypeError, ValueError) as exc:
        raise LinkError("This link is not valid.") from exc
    if link.action not in ACTIONS:
        raise LinkError("This link is not valid.")
    return link


def url(link: AlertLink) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/alert/{make_token(link)}"
