"""The lead: a contact asking about something, owned by someone, on a clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from leadtrack.models.base import Base
from leadtrack.models.catalog import LeadStatus, Product
from leadtrack.models.unit import Unit
from leadtrack.models.user import User
from leadtrack.timeutil import utcnow

TEMPERATURES = ("hot", "warm", "cold")
PRIORITIES = ("low", "normal", "high", "urgent")


class Lead(Base):
    __tablename__ = "lead"
    __scope_unit__ = "unit_id"
    __scope_owner__ = "assignee_id"
    __table_args__ = (
        Index("ix_lead_org_created", "org_id", "created_at"),
        Index("ix_lead_org_status", "org_id", "status_id", "created_at"),
        Index("ix_lead_org_assignee", "org_id", "assignee_id", "created_at"),
        Index("ix_lead_org_unit", "org_id", "unit_id", "created_at"),
        Index("ix_lead_org_source", "org_id", "source", "created_at"),
        Index("ix_lead_org_follow_up", "org_id", "follow_up_at"),
        Index("ix_lead_org_name", "org_id", "name_key"),
        # LIKE 'prefix%' can use an index on PostgreSQL only with pattern ops (unless the
        # database collation is "C"); SQLite ignores postgresql_ops.
        Index(
            "ix_lead_org_name_prefix",
            "org_id",
            "name_key",
            postgresql_ops={"name_key": "varchar_pattern_ops"},
        ),
        Index(
            "ix_lead_org_company_prefix",
            "org_id",
            "company_key",
            postgresql_ops={"company_key": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased name, for case-insensitive prefix search on an index.
    name_key: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    company_key: Mapped[str] = mapped_column(String(200), default="", server_default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    division: Mapped[str] = mapped_column(String(100), default="")
    profession: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(40))
    intake_form: Mapped[str] = mapped_column(String(100), default="")
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    custom: Mapped[dict] = mapped_column(JSON, default=dict)
    temperature: Mapped[str | None] = mapped_column(String(10))
    score: Mapped[int] = mapped_column(default=0)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    # Set by a person: scoring rules then keep their hands off the field.
    temperature_by_hand: Mapped[bool] = mapped_column(default=False, server_default="0")
    priority_by_hand: Mapped[bool] = mapped_column(default=False, server_default="0")
    status_id: Mapped[int] = mapped_column(ForeignKey("lead_status.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    follow_up_at: Mapped[datetime | None]
    close_reason: Mapped[str] = mapped_column(String(300), default="")
    # Denormalized first e-mail and phone, for lists and exports without joins.
    primary_email: Mapped[str] = mapped_column(String(254), default="")
    primary_phone: Mapped[str] = mapped_column(String(32), default="")
    # The latest earlier lead of the same contact (same e-mail or phone), when there is one.
    previous_lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_via: Mapped[str] = mapped_column(String(20), default="web")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_assigned_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The response clock (services/clock.py): the rule that set it, the deadline, when the
    # lead was marked overdue, and the ladder's tier (1 = the assignee, 2 = backup, 3 = …).
    response_rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("routing_rule.id", ondelete="SET NULL")
    )
    response_due_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    escalation_tier: Mapped[int] = mapped_column(default=1, server_default="1")

    status: Mapped[LeadStatus] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    unit: Mapped[Unit | None] = relationship()
    product: Mapped[Product | None] = relationship()
    emails: Mapped[list[LeadEmail]] = relationship(
        order_by="LeadEmail.position", cascade="all, delete-orphan"
    )
    phones: Mapped[list[LeadPhone]] = relationship(
        order_by="LeadPhone.position", cascade="all, delete-orphan"
    )
    tag_rows: Mapped[list[LeadTag]] = relationship(cascade="all, delete-orphan")
    previous_lead: Mapped[Lead | None] = relationship(
        foreign_keys=[previous_lead_id], remote_side=[id]
    )

    @validates("name", "company")
    def _keep_search_keys(self, key: str, value: str) -> str:
        """The lower-cased copies that prefix search walks on an index follow every write."""
        setattr(self, f"{key}_key", (value or "").lower())
        return value

    @property
    def tags(self) -> list[str]:
        return sorted(row.tag for row in self.tag_rows)

    @property
    def state(self) -> str:
        """new: nobody responded yet; open: responded; overdue: the response deadline
        passed without one (marked by the ladder); closed: won, lost or dead."""
        if self.closed_at is not None:
            return "closed"
        if self.first_response_at is not None:
            return "open"
        return "overdue" if self.overdue_at is not None else "new"

    def overdue_for(self, now: datetime) -> timedelta | None:
        """How long past its deadline an unanswered lead is."""
        if self.state != "overdue" or self.response_due_at is None:
            return None
        return max(now - self.response_due_at, timedelta(0))

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class LeadEmail(Base):
    __tablename__ = "lead_email"
    __table_args__ = (
        Index(
            "ix_lead_email_org_email",
            "org_id",
            "email",
            postgresql_ops={"email": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    position: Mapped[int] = mapped_column(default=0)


class LeadPhone(Base):
    __tablename__ = "lead_phone"
    __table_args__ = (
        Index(
            "ix_lead_phone_org_phone",
            "org_id",
            "phone",
            postgresql_ops={"phone": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(default=0)


class LeadTag(Base):
    __tablename__ = "lead_tag"
    __table_args__ = (Index("ix_lead_tag_org_tag", "org_id", "tag"),)

    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))


class ActivityKind(StrEnum):
    CALL = "call"
    EMAIL = "email"
    SMS = "sms"
    MEETING = "meeting"
    NOTE = "note"
    ACK = "ack"  # "I'm on it" from an alert: a response without a call yet


class Activity(Base):
    """Something a person did about a lead: a call, an e-mail, a meeting, a note."""

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"), index=True)
    kind: Mapped[ActivityKind] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(60), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship()


class LeadEvent(Base):
    """One line of a lead's history: who, when, through what, and what changed."""

    __tablename__ = "lead_event"
    __table_args__ = (Index("ix_lead_event_lead_at", "lead_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    via: Mapped[str] = mapped_column(String(20), default="web")
    kind: Mapped[str] = mapped_column(String(30))
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


class IdempotencyRecord(Base):
    """`Idempotency-Key` of an API intake: the same key and body give the same lead."""

    __tablename__ = "idempotency_record"
    __table_args__ = (Index("uq_idempotency_org_key", "org_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Organization-level actions that concern many leads at once (an export, a bulk change)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_org_at", "org_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(30))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
