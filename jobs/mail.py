"""Deliver an e-mail built by a service."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from leadtrack.channels.email import OutgoingEmail, send


def deliver_email(message: dict) -> str:
    config = current_app.config
    return send(
        OutgoingEmail(**message),
        smtp_url=config["SMTP_URL"],
        mail_from=config["MAIL_FROM"],
        drop_dir=Path(config["INSTANCE_PATH"]) / "mail",
    )
