"""An organization's own alert accounts (SMTP, Twilio, team chat) and its alert policy.

Secrets are sealed (services/secret_box.py) before they are stored and are only ever shown
back masked. An empty secret field keeps the stored value; "remove" clears it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import SplitResult, urlsplit

from flask import current_app
from sqlalchemy.orm import Session

from leadtrack.models import AlertSettings, Organization
from leadtrack.services import outbox, secret_box
from leadtrack.services.contact_fields import normalize_email, normalize_phone
from leadtrack.services.delivery import DEFAULT_HOURLY_CAPS
from leadtrack.services.errors import ValidationError

HIDDEN = "••••"
CAP_RANGE = (1, 1000)
CAPPED_CHANNELS = tuple(DEFAULT_HOURLY_CAPS)
TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
LOCAL_HOSTS = ("127.0.0.1", "localhost")
BAD_PORT = "This is not a valid address: check the port."


@dataclass(frozen=True)
class SecretInput:
    """A secret field of the form: a new value, or "" to keep the stored one, or remove."""

    new: str = ""
    remove: bool = False


@dataclass(frozen=True)
class SettingsInput:
    smtp_url: SecretInput = field(default_factory=SecretInput)
    mail_from: str = ""
    twilio_account_sid: str = ""
    twilio_token: SecretInput = field(default_factory=SecretInput)
    twilio_from: str = ""
    voice_enabled: bool = False
    webhook_url: SecretInput = field(default_factory=SecretInput)
    urgent_ignores_quiet_hours: bool = True
    hourly_caps: dict[str, str | int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredSecret:
    """What the settings page may say about a stored secret."""

    masked: str = ""  # "" when nothing is stored
    unreadable: bool = False  # stored, but SECRET_KEY changed: enter it again

    @property
    def stored(self) -> bool:
        return bool(self.masked) or self.unreadable


@dataclass(frozen=True)
class SettingsView:
    settings: AlertSettings
    smtp_url: StoredSecret
    twilio_token: StoredSecret
    webhook_url: StoredSecret
    caps: dict[str, int]


def view(session: Session, org: Organization) -> SettingsView:
    settings = outbox.settings_of(session, org.id)
    return SettingsView(
        settings=settings,
        smtp_url=_stored(settings.smtp_url_secret, mask_smtp_url),
        twilio_token=_stored(settings.twilio_token_secret, secret_box.mask),
        webhook_url=_stored(settings.webhook_url_secret, mask_webhook_url),
        caps=caps_of(settings),
    )


def caps_of(settings: AlertSettings) -> dict[str, int]:
    own = settings.hourly_caps or {}
    return {
        str(channel): int(own.get(channel, cap)) for channel, cap in DEFAULT_HOURLY_CAPS.items()
    }


def _stored(sealed: str, mask) -> StoredSecret:
    if not sealed:
        return StoredSecret()
    plain = secret_box.open_secret(sealed)
    return StoredSecret(masked=mask(plain)) if plain else StoredSecret(unreadable=True)


def mask_smtp_url(url: str) -> str:
    """smtp://user:••••@host:587 — everything but the password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.username or ''}:{HIDDEN}@{host}{port}"


def mask_webhook_url(url: str) -> str:
    """https://hooks.example.com/••••abcd — the path of an incoming webhook is its secret."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/{HIDDEN}{url[-4:]}"


# -- saving --------------------------------------------------------------------------------


def update_settings(
    session: Session, org: Organization, data: SettingsInput, now: datetime
) -> AlertSettings:
    """Check everything, then store it; raises ValidationError (per field) and stores nothing."""
    current = outbox.settings_of(session, org.id)
    errors: dict[str, str] = {}
    smtp_url = _secret("smtp_url", data.smtp_url, current.smtp_url_secret, _smtp_problem, errors)
    token = _secret("twilio_token", data.twilio_token, current.twilio_token_secret, None, errors)
    webhook = _secret(
        "webhook_url", data.webhook_url, current.webhook_url_secret, _webhook_problem, errors
    )
    mail_from = _mail_from(data.mail_from, errors)
    sid = data.twilio_account_sid.strip()
    twilio_from = _twilio_from(data.twilio_from, org, errors)
    _check_twilio(sid, bool(token), twilio_from, errors)
    if data.voice_enabled and not (sid or current_app.config.get("TWILIO_ACCOUNT_SID")):
        errors.setdefault(
            "voice_enabled", "Phone calls need a Twilio account: fill in the Twilio fields."
        )
    caps = _caps(data.hourly_caps, errors)
    if errors:
        raise ValidationError(errors)
    settings = session.get(AlertSettings, org.id)
    if settings is None:
        settings = AlertSettings(org_id=org.id)
        session.add(settings)
    settings.smtp_url_secret, settings.mail_from = smtp_url, mail_from
    settings.twilio_account_sid, settings.twilio_token_secret = sid, token
    settings.twilio_from, settings.voice_enabled = twilio_from, data.voice_enabled
    settings.webhook_url_secret = webhook
    settings.urgent_ignores_quiet_hours = data.urgent_ignores_quiet_hours
    settings.hourly_caps, settings.updated_at = caps, now
    return settings


def _secret(name: str, given: SecretInput, sealed: str, problem_of, errors: dict) -> str:
    """The sealed value to store: the new one, the stored one (field left empty), or none."""
    new = given.new.strip()
    if new and given.remove:
        errors[name] = "Either enter a new value or tick “remove”, not both."
        return sealed
    if given.remove:
        return ""
    if not new:
        return sealed
    problem = problem_of(new) if problem_of else ""
    if problem:
        errors[name] = problem
        return sealed
    return secret_box.seal(new)


def _split(url: str) -> SplitResult | None:
    """The parts of a URL, or None when its port is not a number."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def _smtp_problem(url: str) -> str:
    parts = _split(url)
    if parts is None:
        return BAD_PORT
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        return "Write it as smtp://user:password@host:587 (or smtps://… for port 465)."
    return ""


def _webhook_problem(url: str) -> str:
    parts = _split(url)
    if parts is None:
        return BAD_PORT
    if not parts.hostname:
        return "Paste the whole incoming-webhook address, starting with https://."
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        return ""
    return "Use an https:// address (plain http:// only for 127.0.0.1 or localhost, to test)."


def _mail_from(raw: str, errors: dict) -> str:
    if not raw.strip():
        return ""
    try:
        return normalize_email(raw)
    except ValueError as exc:
        errors["mail_from"] = str(exc)
        return ""


def _twilio_from(raw: str, org: Organization, errors: dict) -> str:
    if not raw.strip():
        return ""
    try:
        return normalize_phone(raw, org.default_country or "")
    except ValueError as exc:
        errors["twilio_from"] = f"{exc} Write it with its country code, such as +14155550123."
        return ""


def _check_twilio(sid: str, has_token: bool, twilio_from: str, errors: dict) -> None:
    if sid and not TWILIO_SID.match(sid):
        errors["twilio_account_sid"] = "An account SID is AC followed by 32 letters and digits."
    elif sid:
        if not has_token:
            errors.setdefault("twilio_token", "Enter the auth token of this account.")
        if not twilio_from and "twilio_from" not in errors:
            errors["twilio_from"] = "Enter the number alerts are sent from."
    elif has_token or twilio_from:
        errors["twilio_account_sid"] = (
            "Enter the account SID too, or empty all three Twilio fields (and remove the token)."
        )


def _caps(raw: dict[str, str | int | None], errors: dict) -> dict[str, int]:
    low, high = CAP_RANGE
    caps = {}
    for channel in CAPPED_CHANNELS:
        value = raw.get(channel)
        if value in (None, ""):
            caps[str(channel)] = DEFAULT_HOURLY_CAPS[channel]
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            errors[f"cap_{channel}"] = f"A whole number from {low} to {high}."
            continue
        caps[str(channel)] = number
    return caps
