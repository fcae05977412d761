"""Routing: the organization's assignment and scoring rules, their versions, the
round-robin counters, and the stored reason behind every assignment decision."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadtrack.models.base import Base
from leadtrack.models.user import User
from leadtrack.timeutil import utcnow


class RuleKind(StrEnum):
    ASSIGN = "assign"
    SCORE = "score"
    # Clock rules (services/clock.py): a response time, idle leads, untouched leads.
    RESPONSE = "response"
    AGING = "aging"
    RECLAIM = "reclaim"
    AUTO_CLOSE = "auto_close"
    # Tasks (services/tasks.py): "if this is not done within that time, do these things".
    TASK = "task"

    @property
    def is_clock(self) -> bool:
        return self not in (RuleKind.ASSIGN, RuleKind.SCORE, RuleKind.TASK)


class ReturnPolicy(StrEnum):
    """What round-robin does with someone back from leave (or newly in the team)."""

    FRESH_START = "fresh_start"  # level with the others: their fair share from now on
    CATCH_UP = "catch_up"  # make up the leads they missed


class RoutingRule(Base):
    """One rule. Assignment rules are tried in `position` order; scoring rules all add up."""

    __tablename__ = "routing_rule"
    __table_args__ = (Index("ix_routing_rule_org_kind_position", "org_id", "kind", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    kind: Mapped[RuleKind] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(default=True)
    # The condition tree in the shared condition language (services/conditions.py).
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)
    # Assignment rules: {"user": …} | {"team": …, "method": …} | {"by_field": …} | {"queue": …}.
    target: Mapped[dict] = mapped_column(JSON, default=dict)
    points: Mapped[int] = mapped_column(default=0)  # scoring rules
    # Clock rules: how long, counted in business time or around the clock, and the rest
    # of the rule (warnings, what counts as a response, the ladder, the action).
    within_seconds: Mapped[int | None]
    business_time: Mapped[bool] = mapped_column(default=True, server_default="1")
    clock: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoutingSettings(Base):
    """Per organization: the fallback, the thresholds and the version of the rule set.
    Its row is also the lock that serializes concurrent round-robin decisions."""

    __tablename__ = "routing_settings"

    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    # A fresh random token per version: the per-process cache of compiled rules is keyed on
    # it, so a database restored or rebuilt with the same version numbers never hits stale rules.
    stamp: Mapped[str] = mapped_column(String(32), default="")
    fallback: Mapped[dict] = mapped_column(JSON, default=dict)
    return_policy: Mapped[ReturnPolicy] = mapped_column(
        String(20), default=ReturnPolicy.FRESH_START
    )
    hot_from: Mapped[int] = mapped_column(default=60)
    warm_from: Mapped[int] = mapped_column(default=30)
    # Score thresholds for priorities: {"urgent": 80, "high": 50, "normal": 0}.
    priority_from: Mapped[dict] = mapped_column(JSON, default=dict)
    # Runaway protection for tasks: the switch that pauses them all, and how often one task
    # may act on one lead in any 24 hours.
    tasks_paused: Mapped[bool] = mapped_column(default=False, server_default="0")
    task_daily_cap: Mapped[int] = mapped_column(default=3, server_default="3")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleVersion(Base):
    """The whole rule document after each change: who, when, what."""

    __tablename__ = "rule_version"
    __table_args__ = (UniqueConstraint("org_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    version: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    via: Mapped[str] = mapped_column(String(20), default="web")
    summary: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


class RotationSlot(Base):
    """A person's place in one round-robin pool. `served` counts leads divided by weight
    (scaled by WEIGHT_SCALE to stay an integer); the lowest is served next."""

    __tablename__ = "rotation_slot"
    __table_args__ = (UniqueConstraint("org_id", "pool", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    pool: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    served: Mapped[int] = mapped_column(default=0)
    away: Mapped[bool] = mapped_column(default=False)
    last_served_at: Mapped[datetime | None]


class AssignmentDecision(Base):
    """Why a lead went where it went: the rule, every candidate, why each was skipped."""

    __tablename__ = "assignment_decision"
    __table_args__ = (Index("ix_assignment_decision_lead_at", "lead_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rule.id", ondelete="SET NULL"))
    rule_name: Mapped[str] = mapped_column(String(120), default="")
    outcome: Mapped[str] = mapped_column(String(20))  # assigned | queued
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    summary: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
