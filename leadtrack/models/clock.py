"""The clock: one table of timers ("at this moment, if the lead still needs it, do this")
behind response deadlines, warnings, escalations, aging, reclaim and auto-close."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadtrack.models.base import Base
from leadtrack.models.user import User
from leadtrack.timeutil import utcnow


class TimerKind(StrEnum):
    WARNING = "warning"  # time running out: tell the assignee
    ESCALATION = "escalation"  # a step of the ladder (step 0 fires at the deadline)
    AGING = "aging"
    RECLAIM = "reclaim"
    AUTO_CLOSE = "auto_close"
    TASK = "task"  # a task's check (step = how many times it fired before)

    @property
    def waits_for_response(self) -> bool:
        return self in (TimerKind.WARNING, TimerKind.ESCALATION, TimerKind.RECLAIM)


class TimerState(StrEnum):
    PENDING = "pending"
    # Claimed inside the transaction that runs the step. It commits together with `done`,
    # so other sessions only ever see pending or done: a worker killed mid-step leaves
    # the timer pending and the sweep fires it again.
    FIRING = "firing"
    DONE = "done"
    CANCELLED = "cancelled"  # made moot: a response, a close, a new assignee
    FAILED = "failed"  # the step raised MAX_ATTEMPTS times; shown on the System page


class Timer(Base):
    __tablename__ = "clock_timer"
    __table_args__ = (
        Index("ix_clock_timer_due", "state", "fire_at"),
        Index("ix_clock_timer_lead_state", "lead_id", "state"),
        Index("ix_clock_timer_rule_lead", "rule_id", "lead_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rule.id", ondelete="SET NULL"))
    kind: Mapped[TimerKind] = mapped_column(String(12))
    step: Mapped[int] = mapped_column(default=0)  # ladder step, or warning number
    fire_at: Mapped[datetime]
    state: Mapped[TimerState] = mapped_column(String(10), default=TimerState.PENDING)
    # What the timer watches: the assignee (reclaim) or the status (auto-close).
    ref_id: Mapped[int | None]
    # An escalation carries its rule's ladder as it was when the clock started: the
    # promise made when the lead arrived holds even if the rule is edited later.
    plan: Mapped[dict] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str] = mapped_column(String(300), default="")
    # The step did something (a task's actions ran): what runaway caps count.
    acted: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fired_at: Mapped[datetime | None]


class LeadWatcher(Base):
    """Someone added to a lead by an escalation step: they see it and hear about it."""

    __tablename__ = "lead_watcher"

    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class TaskRun(Base):
    """One run of a task on a schedule ("every Monday at 09:00"): the unique slot makes the
    run happen once, however many scheduler ticks or workers see it due."""

    __tablename__ = "task_run"
    __table_args__ = (UniqueConstraint("rule_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("routing_rule.id", ondelete="CASCADE"))
    slot: Mapped[datetime]  # the scheduled moment (UTC)
    started: Mapped[int] = mapped_column(default=0)  # checks started on leads
    at: Mapped[datetime] = mapped_column(default=utcnow)
