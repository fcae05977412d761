"""Alert delivery adapters: one per channel, found by name in one registry.

An adapter turns an `OutgoingAlert` into a message on its channel and answers a receipt
(a provider id or where it went), or raises `PermanentFailure` (retrying cannot help: a
refused address, a wrong account) or `TemporaryFailure` (a timeout, a 5xx, a busy server).
In-app alerts need no adapter: the notification row is the alert (services/outbox.py).
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from leadtrack.models import ChannelName


class DeliveryFailure(Exception):
    permanent = False


class PermanentFailure(DeliveryFailure):
    permanent = True


class TemporaryFailure(DeliveryFailure):
    permanent = False


@dataclass(frozen=True)
class OutgoingAlert:
    notification_id: int
    channel: ChannelName
    to: str  # e-mail address or E.164 phone; "" for the team chat
    subject: str
    text: str
    html: str | None = None
    sender_name: str = "LeadTrack"
    links: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Accounts:
    """Where an organization's alerts go out: its own accounts, else the instance's."""

    smtp_url: str = ""
    mail_from: str = "leadtrack@localhost"
    mail_drop_dir: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    webhook_url: str = ""
    base_url: str = ""


class DeliveryRun:
    """What one batch of deliveries shares: open connections, closed at the end."""

    def __init__(self) -> None:
        self.connections: dict[Any, Any] = {}

    def __enter__(self) -> DeliveryRun:
        return self

    def __exit__(self, *exc_info) -> None:
        for connection in self.connections.values():
            with contextlib.suppress(Exception):  # it may have broken already
                connection.quit()
        self.connections.clear()


class Channel(Protocol):
    def send(self, alert: OutgoingAlert, accounts: Accounts, run: DeliveryRun) -> str: ...


# name -> "module:attribute", imported on first use
REGISTRY: dict[ChannelName, str] = {
    ChannelName.EMAIL: "leadtrack.channels.email:EmailChannel",
    ChannelName.SMS: "leadtrack.channels.sms:SmsChannel",
    ChannelName.VOICE: "leadtrack.channels.voice:VoiceChannel",
    ChannelName.WEBHOOK: "leadtrack.channels.webhook:WebhookChannel",
}


def get(name: str) -> Channel | None:
    target = REGISTRY.get(ChannelName(name))
    if target is None:
        return None
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)()
