"""The response clock as people see it on the lead pages: the state badge (New, Open,
Overdue 12 min, Closed), the deadline, the escalation tier, the watchers and the clock's
next step. Read-only; the clock itself lives in services/clock.py and clock_steps.py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from leadtrack.models import (
    Lead,
    LeadEvent,
    LeadWatcher,
    RoutingRule,
    Timer,
    TimerKind,
    TimerState,
    Unit,
    User,
)
from leadtrack.timeutil import describe_duration, to_zone

LABELS = {"new": "New", "open": "Open", "overdue": "Overdue", "closed": "Closed"}
HINTS = {
    "new": "No response yet",
    "open": "Responded",
    "overdue": "The response deadline passed without a response",
    "closed": "Won, lost or dead",
}
SOON = timedelta(minutes=5)  # the countdown turns amber


@dataclass(frozen=True)
class Badge:
    state: str  # new, open, overdue, closed
    label: str  # "New", "Overdue 12 min", …
    title: str  # the longer words, for the tooltip


def overdue_words(late: timedelta) -> str:
    """How long past the deadline, at a glance: "45 s", "12 min", "2 h 5 min", "3 days 4 h"."""
    seconds = max(int(late.total_seconds()), 0)
    if seconds >= 60:
        seconds -= seconds % 60  # the seconds are noise once it is minutes late
    return describe_duration(seconds)


def badge(lead: Lead, now: datetime) -> Badge:
    state = lead.state
    late = lead.overdue_for(now)
    if state == "overdue" and late is not None:
        words = overdue_words(late)
        return Badge(state, f"Overdue {words}", f"No response, {words} past the deadline")
    return Badge(state, LABELS[state], HINTS[state])


@dataclass(frozen=True)
class NextStep:
    at: datetime
    words: str  # "escalation to tier 2 (reassign to the backup)"


@dataclass
class ClockView:
    badge: Badge
    deadline: datetime | None  # the response deadline, while the lead is open
    deadline_words: str  # "14:05" today, "Tue 24 Nov 14:05" another day (viewer's zone)
    running: bool  # no response yet and not closed: the countdown ticks
    countdown: str  # its first text: "4:59 left", "0:12 over"
    tone: str  # ok, soon (under 5 min), over
    rule_name: str
    answered: str  # "Answered in 3 min, within the 5 min allowed", or ""
    tier: int
    tier_words: str  # "Tier 2: escalated — reassigned to Jane", or ""
    watchers: list[User] = field(default_factory=list)
    next_step: NextStep | None = None
    next_words: str = ""  # "escalation to tier 2 (reassign to the backup) at 14:05"

    @property
    def shown(self) -> bool:
        """Whether the lead page has anything of the clock to show."""
        return bool(
            self.deadline or self.tier > 1 or self.watchers or self.next_step or self.answered
        )


def for_lead(session: Session, lead: Lead, now: datetime, zone: str = "UTC") -> ClockView:
    timers = pending_timers(session, lead.id)
    deadline = lead.response_due_at if lead.closed_at is None else None
    running = deadline is not None and lead.state in ("new", "overdue")
    step = describe_timer(session, lead, timers[0]) if timers else None
    return ClockView(
        badge=badge(lead, now),
        deadline=deadline,
        deadline_words=when(deadline, now, zone) if deadline else "",
        running=running,
        countdown=countdown_words(deadline, now) if running else "",
        tone=countdown_tone(deadline, now) if running else "",
        rule_name=_rule_name(session, lead),
        answered=_answered(lead),
        tier=lead.escalation_tier or 1,
        tier_words=_tier_words(session, lead),
        watchers=watchers(session, lead.id),
        next_step=step,
        next_words=f"{step.words} at {when(step.at, now, zone)}" if step else "",
    )


def pending_timers(session: Session, lead_id: int) -> list[Timer]:
    return list(
        session.scalars(
            select(Timer)
            .where(
                Timer.lead_id == lead_id,
                Timer.state == TimerState.PENDING,
                Timer.kind != TimerKind.TASK.value,  # tasks have their own panel
            )
            .order_by(Timer.fire_at, Timer.id)
        )
    )


def watchers(session: Session, lead_id: int) -> list[User]:
    rows = session.scalars(
        select(LeadWatcher)
        .where(LeadWatcher.lead_id == lead_id)
        .options(selectinload(LeadWatcher.user))
        .order_by(LeadWatcher.added_at, LeadWatcher.user_id)
    )
    return [row.user for row in rows]


def _rule_name(session: Session, lead: Lead) -> str:
    if lead.response_rule_id is None:
        return ""
    rule = session.get(RoutingRule, lead.response_rule_id)
    return rule.name if rule else ""


def _answered(lead: Lead) -> str:
    if lead.first_response_at is None:
        return ""
    took = describe_duration(max((lead.first_response_at - lead.created_at).total_seconds(), 0))
    if lead.response_due_at is None:
        return f"Answered in {took}"
    allowed = describe_duration(max((lead.response_due_at - lead.created_at).total_seconds(), 0))
    if lead.first_response_at <= lead.response_due_at:
        return f"Answered in {took}, within the {allowed} allowed"
    late = overdue_words(lead.first_response_at - lead.response_due_at)
    return f"Answered in {took}: {late} late"


ACTION_DONE = {"reassign": "reassigned to {}", "watch": "{} watches it", "notify": "{} told"}


def _tier_words(session: Session, lead: Lead) -> str:
    tier = lead.escalation_tier or 1
    if tier <= 1:
        return ""
    event = session.scalars(
        select(LeadEvent)
        .where(LeadEvent.lead_id == lead.id, LeadEvent.kind == "escalated")
        .order_by(LeadEvent.at.desc(), LeadEvent.id.desc())
        .limit(1)
    ).first()
    data = (event.data or {}) if event else {}
    done = ACTION_DONE.get(data.get("action", ""), "")
    if not done or not data.get("to_name"):
        return f"Tier {tier}: escalated"
    return f"Tier {tier}: escalated — {done.format(data['to_name'])}"


TARGET_WORDS = {
    "backup": "the backup",
    "supervisor": "the supervisor",
    "manager": "a manager",
}
ACTION_WORDS = {"reassign": "reassign to {}", "watch": "add {} as a watcher", "notify": "tell {}"}


def describe_timer(session: Session, lead: Lead, timer: Timer) -> NextStep:
    """What a pending timer will do, in words: "escalation to tier 2 (reassign to the backup)"."""
    kind = TimerKind(timer.kind)
    assignee = lead.assignee.name if lead.assignee else "the assignee"
    if kind is TimerKind.WARNING:
        words = f"reminder to {assignee}"
    elif kind is TimerKind.ESCALATION:
        words = f"escalation to tier {timer.step + 2}"
        ladder = (timer.plan or {}).get("ladder") or []
        if timer.step < len(ladder):
            spec = ladder[timer.step] or {}
            target = _target_words(session, spec.get("to") or {})
            action = ACTION_WORDS.get(spec.get("action", "reassign"), ACTION_WORDS["reassign"])
            words += f" ({action.format(target)})"
    elif kind is TimerKind.AGING:
        words = "check for no activity"
    elif kind is TimerKind.RECLAIM:
        words = f"back through the rules unless {assignee} works on it"
    else:
        words = "auto-close"
    return NextStep(at=timer.fire_at, words=words)


def _target_words(session: Session, to: dict) -> str:
    kind = to.get("type")
    if kind in TARGET_WORDS:
        return TARGET_WORDS[kind]
    if kind == "user":
        user = session.get(User, to.get("user_id") or 0)
        return user.name if user else "a named user"
    if kind == "team":
        unit = session.get(Unit, to.get("unit_id") or 0)
        return f"someone from {unit.name}" if unit else "someone from the team"
    return "the next in line"


def when(moment: datetime, now: datetime, zone: str) -> str:
    """A moment for the clock panel in the viewer's zone: "14:05" today, else with the day."""
    local, today = to_zone(moment, zone), to_zone(now, zone)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return local.strftime("%a %d %b %H:%M")


def countdown_words(deadline: datetime, now: datetime) -> str:
    """The countdown's first text, rendered by the server; static/js/clock.js ticks it on:
    "4:59 left", "1:02:03 left", "2 d 03:04:05 left"; past the deadline "0:12 over"."""
    left = (deadline - now).total_seconds()
    if left > 0:
        return f"{_clock_digits(math.ceil(left))} left"
    return f"{_clock_digits(math.floor(-left))} over"


def countdown_tone(deadline: datetime, now: datetime) -> str:
    left = deadline - now
    if left <= timedelta(0):
        return "over"
    return "soon" if left <= SOON else "ok"


def _clock_digits(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
