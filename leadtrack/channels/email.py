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

from leadtrack.channels import (
    Accounts,
    DeliveryRun,
    OutgoingAlert,
    PermanentFailure,
    TemporaryFailure,
)

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 20  # seconds for connect and each command


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None = None
    sender_name: str = "LeadTrack"
    headers: dict[str, str] | None = None

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
    for name, value in (email.headers or {}).items():
        message[name] = value
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
    with connect(settings) as smtp:
        smtp.send_message(message)
    log.info("mail to %s sent through %s:%s", email.to, settings.host, settings.port)
    return f"smtp://{settings.host}:{settings.port}"


def connect(settings: SmtpSettings, timeout: float = SMTP_TIMEOUT) -> smtplib.SMTP:
    if settings.use_ssl:
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    if settings.starttls:
        smtp.starttls(context=ssl.create_default_context())
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def _drop(message: EmailMessage, drop_dir: Path) -> str:
    drop_dir.mkdir(parents=True, exist_ok=True)
    name = message["Message-ID"].strip("<>").replace("@", "_") + ".eml"
    path = drop_dir / name
    path.write_bytes(bytes(message))
    log.info("no SMTP_URL: mail to %s written to %s", message["To"], path)
    return str(path)


class EmailChannel:
    """Alerts by e-mail; one SMTP connection per server is kept open for a batch."""

    def send(self, alert: OutgoingAlert, accounts: Accounts, run: DeliveryRun) -> str:
        email = OutgoingEmail(
            to=alert.to,
            subject=alert.subject,
            text=alert.text,
            html=alert.html,
            sender_name=alert.sender_name,
            headers=alert.headers,
        )
        message = build_message(email, accounts.mail_from)
        if not accounts.smtp_url:
            return _drop(message, Path(accounts.mail_drop_dir))
        try:
            settings = SmtpSettings.from_url(accounts.smtp_url)
        except ValueError as exc:
            raise PermanentFailure(f"SMTP settings: {exc}") from exc
        try:
            self._connection(settings, run).send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"The mail server refused {alert.to}.") from exc
        except smtplib.SMTPResponseException as exc:
            run.connections.pop(settings, None)
            failure = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
            raise failure(f"Mail server answered {exc.smtp_code}: {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            run.connections.pop(settings, None)
            raise TemporaryFailure(f"Mail server unreachable: {exc}") from exc
        return message["Message-ID"]

    def _connection(self, settings: SmtpSettings, run: DeliveryRun) -> smtplib.SMTP:
        smtp = run.connections.get(settings)
        if smtp is None:
            smtp = connect(settings)
            run.connections[settings] = smtp
        return smtp


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
