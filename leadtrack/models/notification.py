"""Alerts: the outbox of notifications, the texts admins edit, and who wants what, when."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadtrack.models.base import Base
from leadtrack.models.lead import Lead
from leadtrack.models.user import User
from leadtrack.timeutil import utcnow


class ChannelName(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    WEBHOOK = "webhook"
    IN_APP = "in_app"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {
    ChannelName.EMAIL: "E-mail",
    ChannelName.SMS: "SMS",
    ChannelName.VOICE: "Phone call",
    ChannelName.WEBHOOK: "Team chat",
    ChannelName.IN_APP: "In the app",
}


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its time (now, or the end of quiet hours)
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"
    RETRYING = "retrying"  # a temporary failure; tried again at next_attempt_at
    DEAD = "dead"  # a permanent failure or retries used up: the dead-letter list
    FOLDED = "folded"  # over the recipient's hourly cap: told in one summary instead
    SKIPPED = "skipped"  # nowhere to send it (no phone number, channel not set up)

    @property
    def is_final(self) -> bool:
        return self in (DeliveryStatus.SENT, DeliveryStatus.FOLDED, DeliveryStatus.SKIPPED)


class Notification(Base):
    """One message to one recipient on one channel: written in the transaction of the change
    that caused it, delivered afterwards by a job. The dedupe key makes it exactly one."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("org_id", "dedupe_key"),
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_cap", "recipient_id", "channel", "sent_at"),
        Index("ix_notification_org_created", "org_id", "created_at"),
        Index("ix_notification_inbox", "recipient_id", "channel", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[ChannelName] = mapped_column(String(10))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Set when the alert went to a backup because this person was away or deactivated.
    intended_recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"), index=True)
    address: Mapped[str] = mapped_column(String(320), default="")
    dedupe_key: Mapped[str] = mapped_column(String(250))
    urgent: Mapped[bool] = mapped_column(default=False)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    used_fallback: Mapped[bool] = mapped_column(default=False)
    receipt: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]

    recipient: Mapped[User | None] = relationship(foreign_keys=[recipient_id])
    intended_recipient: Mapped[User | None] = relationship(foreign_keys=[intended_recipient_id])
    lead: Mapped[Lead | None] = relationship()

    @property
    def status_enum(self) -> DeliveryStatus:
        return DeliveryStatus(self.status)

    @property
    def channel_enum(self) -> ChannelName:
        return ChannelName(self.channel)


class NotificationTemplate(Base):
    """An organization's own text for one event on one channel (else the default text)."""

    __tablename__ = "notification_template"
    __table_args__ = (UniqueConstraint("org_id", "event", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[ChannelName] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertSettings(Base):
    """An organization's own delivery accounts (else the instance's) and its alert policy.
    Secrets are stored encrypted (services/secret_box.py) and never shown back in full."""

    __tablename__ = "alert_settings"

    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    smtp_url_secret: Mapped[str] = mapped_column(Text, default="")
    mail_from: Mapped[str] = mapped_column(String(254), default="")
    twilio_account_sid: Mapped[str] = mapped_column(String(64), default="")
    twilio_token_secret: Mapped[str] = mapped_column(Text, default="")
    twilio_from: Mapped[str] = mapped_column(String(32), default="")
    voice_enabled: Mapped[bool] = mapped_column(default=False)
    webhook_url_secret: Mapped[str] = mapped_column(Text, default="")
    urgent_ignores_quiet_hours: Mapped[bool] = mapped_column(default=True)
    # Per recipient and channel, at most this many alerts an hour; the rest become a summary.
    hourly_caps: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertPreferences(Base):
    """What one user wants to hear about, on which channels, and when not."""

    __tablename__ = "alert_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    # {event: [channel, …]}; an event missing here uses its default channels.
    channels: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    quiet_from: Mapped[time | None] = mapped_column(Time)
    quiet_until: Mapped[time | None] = mapped_column(Time)
    digest_enabled: Mapped[bool] = mapped_column(default=False)
    digest_hour: Mapped[int] = mapped_column(default=8)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
