"""The e-mails the platform sends about accounts (not lead alerts: those are issue 4's)."""

from __future__ import annotations

from flask import render_template

from leadtrack.channels.email import OutgoingEmail
from leadtrack.models import User


def password_reset_email(user: User, reset_url: str, valid_minutes: int) -> OutgoingEmail:
    sender = user.organization.sender_name if user.organization else ""
    context = {"user": user, "reset_url": reset_url, "valid_minutes": valid_minutes}
    return OutgoingEmail(
        to=user.email,
        subject="Reset your LeadTrack password",
        text=render_template("mail/password_reset.txt", **context),
        html=render_template("mail/password_reset.html", **context),
        sender_name=sender or "LeadTrack",
    )
