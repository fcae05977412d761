"""E-mail over SMTP (`SMTP_URL`), or into a mail-drop folder when no server is configured."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None = None
    sender_name: str = "LeadTrack"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    use_ssl: bool
    starttls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """smtp://user:pass@host:587?starttls=1, or smtps://host:465 for implicit TLS."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_ssl=parts.scheme == "smtps",
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        )


def build_message(email: OutgoingEmail, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((email.sender_name, mail_from))
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain=mail_from.split("@")[-1] or "leadtrack")
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    return message


def send(email: OutgoingEmail, *, smtp_url: str, mail_from: str, drop_dir: Path) -> str:
    """Deliver one message; return where it went (for the log, never its content)."""
    message = build_message(email, mail_from)
    if not smtp_url:
        return _drop(message, drop_dir)
    settings = SmtpSettings.from_url(smtp_url)
    context = ssl.create_default_context()
    if settings.use_ssl:
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=30, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=30)
    with smtp:
        if settings.starttls:
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)
    log.info("mail to %s sent through %s:%s", email.to, settings.host, settings.port)
    return f"smtp://{settings.host}:{settings.port}"


def _drop(message: EmailMessage, drop_dir: Path) -> str:
    drop_dir.mkdir(parents=True, exist_ok=True)
    name = message["Message-ID"].strip("<>").replace("@", "_") + ".eml"
    path = drop_dir / name
    path.write_bytes(bytes(message))
    log.info("no SMTP_URL: mail to %s written to %s", message["To"], path)
    return str(path)
