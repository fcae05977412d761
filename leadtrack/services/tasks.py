"""Tasks: "if this is not done within that time after that happened, do these things" — the
LeadMaster Task Manager, built on the clock (a task's check is a timer row of kind `task`,
fired by the same jobs and sweep) and on the shared condition language (its `when`).

- A trigger (the lead arrived, was assigned, changed status or a field, or nobody updated
  it) starts the task's timer for each lead its `when` holds for, in the transaction of
  that change; a trigger that comes again restarts it.
- Every change to a lead checks its pending tasks: one whose `until` now holds is met (and
  its `if_met` actions run, when their `when` holds) in the same transaction.
- When the timer fires and the task is still not met, its actions run (services/
  task_actions.py), the lead's history says what and why, and a repeat arms the next check;
  when the repeats run out, the `finally` actions run.
- Runaway protection: a pause switch for all tasks, a cap on how often one task acts on one
  lead in any 24 hours, the alert caps per recipient (services/delivery.py), and a preview of
  what a task would touch before it is saved.

Personal reminders are tasks too: their definition travels in the timer's plan instead of
the rules document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from leadtrack.models import (
    Lead,
    LeadEvent,
    LeadStatus,
    Organization,
    RoutingRule,
    RuleKind,
    TaskRun,
    Timer,
    TimerKind,
    TimerState,
    User,
)
from leadtrack.services import business_time, history, rule_book, task_actions, timer_queue
from leadtrack.services.conditions import compile_condition
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.lead_facts import UnitTree, catalog_for, facts_of
from leadtrack.timeutil import as_utc, describe_duration, utcnow

MACHINE_VIA = ("clock",)
DAY_NAMES = (
    "Mondays",
    "Tuesdays",
    "Wednesdays",
    "Thursdays",
    "Fridays",
    "Saturdays",
    "Sundays",
)  # changes the clock makes itself are not "updates" by people
PREVIEW_LEADS = 5000
MESSAGES_WARNING = 200
REMINDER_MAX_DAYS = 365
SCHEDULE_LEADS = 5000  # a scheduled run starts checks on at most this many open leads
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
STARTED_KEY = "leadtrack.tasks_started"  # session.info: (lead, task, moment) started already


@dataclass(frozen=True)
class Task:
    """A task as the engine uses it: from the rule book, or from a personal reminder's plan."""

    id: int | None
    name: str
    within: int
    business_time: bool
    spec: dict
    matches: Any = None  # the compiled `when`; None for a personal reminder

    @property
    def trigger(self) -> dict:
        return self.spec.get("trigger") or {"type": "created"}

    @property
    def until(self) -> dict:
        return self.spec.get("until") or {"type": "status_changed"}


# -- starting -------------------------------------------------------------------------------


def started(session: Session, org: Organization, lead: Lead, now: datetime) -> None:
    """A lead arrived: start the tasks triggered by arrival (and the idle watches)."""
    _trigger(session, org, lead, now, ("created", "idle"))


def changed(
    session: Session,
    lead: Lead,
    actor: Actor,
    now: datetime,
    what: str,
    fields: tuple[str, ...] = (),
) -> None:
    """Something happened to the lead (`what`: assigned, status_changed, field_changed,
    activity): settle the tasks it meets, then start the tasks it triggers."""
    if lead.id is None:
        return
    org = session.get(Organization, lead.org_id)
    by_person = actor.via not in MACHINE_VIA
    _settle(session, org, lead, now, by_person)
    triggers = {what} | ({"idle"} if by_person else set())
    if lead.closed_at is None:
        _trigger(session, org, lead, now, tuple(triggers), fields)


def _trigger(session, org, lead: Lead, now: datetime, kinds: tuple, fields=()) -> None:
    book = rule_book.load(session, org)
    if not book.task_rules:
        return
    facts = None
    for rule in book.task_rules:
        task = _from_rule(rule)
        if not _fits(task.trigger, kinds, lead, fields):
            continue
        if facts is None:
            facts = _facts(session, org, lead, now)
        if rule.matches(facts):
            start(session, org, lead, task, now)


def _fits(trigger: dict, kinds: tuple, lead: Lead, fields) -> bool:
    kind = trigger.get("type")
    if kind not in kinds:
        return False
    if kind == "status_changed":
        if trigger.get("status_id") and trigger["status_id"] != lead.status_id:
            return False
        if trigger.get("category") and trigger["category"] != lead.status.category:
            return False
    if kind == "field_changed":
        return trigger.get("field") in fields
    return True


def start(
    session: Session, org: Organization, lead: Lead, task: Task, now: datetime, plan=None
) -> Timer | None:
    """The task's first check on this lead, `within` from now; a check already pending for
    the same task is replaced (the trigger came again)."""
    if task.id is not None:
        started_now = session.info.setdefault(STARTED_KEY, set())
        if (lead.id, task.id, now) in started_now:
            return None  # two triggers of one change (assigned at intake): one check
        started_now.add((lead.id, task.id, now))
        _cancel(session, lead.id, task.id, "started again")
    at = business_time.add(_calendar(session, org, task), now, task.within)
    timer = Timer(
        org_id=lead.org_id,
        lead_id=lead.id,
        rule_id=task.id,
        kind=TimerKind.TASK,
        step=0,
        fire_at=at,
        state=TimerState.PENDING,
        ref_id=lead.status_id,  # what "the status changed" compares with
        plan={"start": now.isoformat(), **(plan or {})},
        created_at=now,
    )
    session.add(timer)
    timer_queue.schedule_after_commit(session, timer, at)
    return timer


def _cancel(session: Session, lead_id: int, rule_id: int, why: str) -> None:
    session.execute(
        update(Timer)
        .where(
            Timer.lead_id == lead_id,
            Timer.rule_id == rule_id,
            Timer.kind == TimerKind.TASK.value,
            Timer.state == TimerState.PENDING,
        )
        .values(state=TimerState.CANCELLED, outcome=why)
        .execution_options(synchronize_session=False)
    )


# -- on a schedule --------------------------------------------------------------------------


def run_schedules(session: Session, now: datetime) -> int:
    """Start the checks of every task on a schedule whose latest slot has come and not run
    (called every minute by the scheduler; a slot missed while it was down runs late, once).
    Each run commits on its own; returns the checks started."""
    started = 0
    for rule_id, org_id, trigger, since in _scheduled_tasks(session):
        org = session.get(Organization, org_id)
        slot = last_slot(trigger, ZoneInfo(org.timezone), now)
        if slot is None or slot < as_utc(since) or not _claim_slot(session, org_id, rule_id, slot):
            session.rollback()
            continue
        rule = rule_book.load(session, org).task(rule_id)
        count = _start_matching(session, org, _from_rule(rule), now) if rule else 0
        session.execute(
            update(TaskRun)
            .where(TaskRun.rule_id == rule_id, TaskRun.slot == slot)
            .values(started=count)
        )
        session.commit()
        started += count
    return started


def _scheduled_tasks(session: Session) -> list[tuple]:
    rows = session.execute(
        select(RoutingRule.id, RoutingRule.org_id, RoutingRule.clock, RoutingRule.created_at).where(
            RoutingRule.kind == RuleKind.TASK.value, RoutingRule.enabled.is_(True)
        )
    ).all()
    session.rollback()
    return [
        (rule_id, org_id, clock["trigger"], created)
        for rule_id, org_id, clock, created in rows
        if (clock or {}).get("trigger", {}).get("type") == "schedule"
    ]


def last_slot(trigger: dict, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The latest scheduled moment at or before `now` within a week, in UTC."""
    hour, minute = (int(part) for part in trigger.get("at", "09:00").split(":"))
    days = set(trigger.get("days") or range(7))
    local = now.astimezone(zone)
    for back in range(8):
        day = local.date() - timedelta(days=back)
        if day.weekday() not in days:
            continue
        slot = datetime.combine(day, time(hour, minute), tzinfo=zone)
        if slot <= local:
            return slot.astimezone(UTC)
    return None


def _claim_slot(session: Session, org_id: int, rule_id: int, slot: datetime) -> bool:
    insert = _INSERTS[session.get_bind(TaskRun).dialect.name]
    stmt = (
        insert(TaskRun.__table__)
        .values(org_id=org_id, rule_id=rule_id, slot=slot, started=0, at=utcnow())
        .on_conflict_do_nothing()
        .returning(TaskRun.__table__.c.id)
    )
    return session.execute(stmt).scalar() is not None  # None: another run claimed it


def _start_matching(session: Session, org: Organization, task: Task, now: datetime) -> int:
    count = 0
    facts_units = UnitTree.load(session, org.id)
    zone = ZoneInfo(org.timezone)
    for lead in session.scalars(
        select(Lead)
        .where(Lead.org_id == org.id, Lead.closed_at.is_(None), Lead.merged_into_id.is_(None))
        .order_by(Lead.id.desc())
        .limit(SCHEDULE_LEADS)
    ):
        if task.matches(facts_of(lead, zone, now, facts_units)):
            start(session, org, lead, task, now)
            count += 1
    return count


# -- met ------------------------------------------------------------------------------------


def _settle(session, org, lead: Lead, now: datetime, by_person: bool) -> None:
    pending = list(
        session.scalars(
            select(Timer).where(
                Timer.lead_id == lead.id,
                Timer.kind == TimerKind.TASK.value,
                Timer.state == TimerState.PENDING,
            )
        )
    )
    if not pending:
        return
    facts = _facts(session, org, lead, now)
    for timer in pending:
        task = task_of(session, org, timer)
        if task is None or not _met(session, task, lead, timer, facts, by_person):
            continue
        timer.state = TimerState.DONE
        timer.fired_at = now
        timer.outcome = f"met: {until_words(task.until, done=True)}"
        _when_met(session, org, lead, timer, task, facts, now)


def _met(session, task: Task, lead: Lead, timer: Timer, facts: dict, touched: bool) -> bool:
    until = task.until
    kind = until.get("type")
    if kind == "status_changed":
        return lead.status_id != timer.ref_id
    if kind == "status":
        return facts.get("status_category") == until.get("category")
    if kind == "filled":
        return not _empty(facts.get(until.get("field")))
    if kind == "ticked":
        return facts.get(until.get("field")) is True
    if kind == "closed":
        return lead.closed_at is not None
    if kind == "updated":
        return touched or _updated_since(session, lead.id, timer.created_at)
    return False  # nothing: the actions run when the time is up


def _empty(value: Any) -> bool:
    return value in (None, "", [], False) or (
        isinstance(value, int | float | Decimal) and not isinstance(value, bool) and value == 0
    )


def _updated_since(session: Session, lead_id: int, since: datetime) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    LeadEvent.lead_id == lead_id,
                    LeadEvent.at > since,
                    LeadEvent.via.not_in(MACHINE_VIA),
                )
            )
        )
    )


def _when_met(session, org, lead, timer: Timer, task: Task, facts: dict, now) -> str:
    met = task.spec.get("if_met")
    done = until_words(task.until, done=True)
    if not met:
        return f"met: {done}"
    check = compile_condition(met.get("when") or {}, catalog_for(session, org))
    if not check(facts):
        return f"met: {done}"
    step = task_actions.Context(session, org, lead, timer, now, task.name)
    words = task_actions.run(step, met.get("then") or [])
    timer.acted = True
    text = f"Task “{task.name}” met: {done} → {'; '.join(words)}"
    history.record(session, lead, step.actor, now, "task_fired", text=text, task=task.name)
    return text


# -- firing ---------------------------------------------------------------------------------


def fire(step) -> str:
    """The timer of a task fell due (called by clock_steps.fire, inside its claim)."""
    session, org, lead, timer, now = step.session, step.org, step.lead, step.timer, step.now
    task = task_of(session, org, timer)
    if task is None:
        return "nothing to do: the task was removed or switched off"
    facts = _facts(session, org, lead, now)
    if _met(session, task, lead, timer, facts, touched=False):
        return _when_met(session, org, lead, timer, task, facts, now)
    if lead.closed_at is not None:
        return "nothing to do: the lead is closed"
    if task.matches is not None and not task.matches(facts):
        return "nothing to do: the lead no longer matches the task"
    settings = rule_book.settings_of(session, org.id)
    if settings.tasks_paused:
        _arm_next(session, org, lead, timer, task, now)
        return "held: all tasks are paused"
    if _acted_recently(session, timer, now) >= settings.task_daily_cap:
        _arm_next(session, org, lead, timer, task, now)
        text = (
            f"Task “{task.name}” held back: it already acted {settings.task_daily_cap} times "
            "on this lead in 24 hours (the cap against runaway tasks)"
        )
        history.record(session, lead, step.actor, now, "task_held", text=text, task=task.name)
        return text
    final = bool(timer.plan.get("final"))
    actions = task.spec.get("finally" if final else "then") or []
    words = task_actions.run(
        task_actions.Context(session, org, lead, timer, now, task.name), actions
    )
    timer.acted = True
    text = f"Task “{task.name}”: {_why(task, timer)} → {'; '.join(words) or 'nothing to do'}"
    history.record(session, lead, step.actor, now, "task_fired", text=text, task=task.name)
    if not final:
        _arm_next(session, org, lead, timer, task, now)
    return text


def _why(task: Task, timer: Timer) -> str:
    waited = describe_duration(task.within)
    if timer.plan.get("final"):
        until = task.spec["repeat"].get("until")
        spent = f" after {describe_duration(until)}" if until else ""
        return f"{until_words(task.until, done=False)}{spent}, repeats over (final actions)"
    if timer.step:
        return f"{until_words(task.until, done=False)} yet (repeat {timer.step})"
    if task.until.get("type") == "nothing":
        return f"{waited} after {trigger_words(task.trigger)}"
    return f"{until_words(task.until, done=False)} within {waited}"


def _acted_recently(session: Session, timer: Timer, now: datetime) -> int:
    same_task = (
        Timer.rule_id == timer.rule_id if timer.rule_id is not None else Timer.id == timer.id
    )
    return session.scalar(
        select(func.count())
        .select_from(Timer)
        .where(
            Timer.lead_id == timer.lead_id,
            Timer.kind == TimerKind.TASK.value,
            same_task,
            Timer.acted.is_(True),
            Timer.fired_at > now - timedelta(days=1),
        )
    )


def _arm_next(session, org, lead: Lead, timer: Timer, task: Task, now: datetime) -> None:
    """The next check of a repeating task, or its final actions when the repeats run out;
    counted from the trigger, so lateness does not add up."""
    repeat = task.spec.get("repeat")
    if not repeat:
        return
    calendar = _calendar(session, org, task)
    begin = as_utc(datetime.fromisoformat(timer.plan["start"]))
    following = timer.step + 1
    at = business_time.add(calendar, begin, task.within + following * repeat["every"])
    final = False
    if "until" in repeat:
        end = business_time.add(calendar, begin, repeat["until"])
        if at >= end:
            if not task.spec.get("finally"):
                return
            at, final = end, True
    elif following > repeat.get("times", 1):
        if following > repeat.get("times", 1) + 1 or not task.spec.get("finally"):
            return
        final = True
    nxt = Timer(
        org_id=lead.org_id,
        lead_id=lead.id,
        rule_id=timer.rule_id,
        kind=TimerKind.TASK,
        step=following,
        fire_at=max(at, now),
        state=TimerState.PENDING,
        ref_id=timer.ref_id,
        plan={**timer.plan, "final": final},
        created_at=timer.created_at,
    )
    session.add(nxt)
    timer_queue.schedule_after_commit(session, nxt, nxt.fire_at)


# -- which task -----------------------------------------------------------------------------


def task_of(session: Session, org: Organization, timer: Timer) -> Task | None:
    """The task a timer checks: its enabled rule, or the reminder in its plan."""
    if timer.rule_id is None:
        own = timer.plan.get("task")
        if not own:
            return None
        return Task(None, own["name"], own["within"], False, own)
    rule = rule_book.load(session, org).task(timer.rule_id)
    return _from_rule(rule) if rule is not None else None


def _from_rule(rule) -> Task:
    return Task(rule.id, rule.name, rule.within, rule.business_time, rule.clock, rule.matches)


def _calendar(session: Session, org: Organization, task: Task):
    return business_time.calendar_of(session, org) if task.business_time else None


def _facts(session, org: Organization, lead: Lead, now: datetime) -> dict:
    return facts_of(lead, ZoneInfo(org.timezone), now, UnitTree.load(session, org.id))


# -- words ----------------------------------------------------------------------------------


def trigger_words(trigger: dict, statuses: dict[int, str] | None = None) -> str:
    kind = trigger.get("type", "created")
    if kind == "status_changed":
        target = (statuses or {}).get(trigger.get("status_id")) or trigger.get("category")
        return f"the status changed to {target}" if target else "the status changed"
    if kind == "field_changed":
        return f"{trigger.get('field')} changed"
    if kind == "schedule":
        days = trigger.get("days") or []
        names = ", ".join(DAY_NAMES[d] for d in days) if days else "every day"
        return f"the schedule ({names} at {trigger.get('at')})"
    return {
        "created": "the lead arrived",
        "assigned": "the lead was assigned",
        "idle": "the last update",
    }.get(kind, kind)


def until_words(until: dict, done: bool) -> str:
    kind, field = until.get("type"), until.get("field")
    words = {
        "status_changed": ("the status changed", "the status did not change"),
        "status": (
            f"the status reached {until.get('category')}",
            f"the status did not reach {until.get('category')}",
        ),
        "filled": (f"{field} was filled in", f"{field} was not filled in"),
        "ticked": (f"{field} was ticked", f"{field} was not ticked"),
        "closed": ("the lead was closed", "the lead was not closed"),
        "updated": ("the lead was updated", "nobody updated the lead"),
        "nothing": ("the time came", "the time came"),
    }.get(kind, (kind, f"not {kind}"))
    return words[0] if done else words[1]


def describe(task: Task, statuses: dict[int, str] | None = None) -> str:
    """The builder's sentence: "If the status did not change within 5 min after the lead
    arrived, then reassign …"."""
    if task.until.get("type") == "nothing":
        head = f"{describe_duration(task.within)} after {trigger_words(task.trigger, statuses)}"
    else:
        head = (
            f"If {until_words(task.until, done=False)} within {describe_duration(task.within)} "
            f"after {trigger_words(task.trigger, statuses)}"
        )
    actions = ", ".join(task_actions.summary(a) for a in task.spec.get("then") or [])
    text = f"{head}, then {actions}"
    repeat = task.spec.get("repeat")
    if repeat:
        text += f"; again every {describe_duration(repeat['every'])}"
        if repeat.get("until"):
            text += f" until {describe_duration(repeat['until'])} after the start"
        else:
            text += f", {repeat.get('times')} times"
        if task.spec.get("finally"):
            text += ", then " + ", ".join(task_actions.summary(a) for a in task.spec["finally"])
    return text + "."


# -- editing tasks --------------------------------------------------------------------------


def rule_saved(session: Session, org: Organization, rule: RoutingRule, now: datetime) -> int:
    """A task was edited: its pending checks move to the new times (counted from their
    trigger), or are cancelled when it was switched off. Returns how many changed."""
    pending = list(
        session.scalars(
            select(Timer).where(
                Timer.rule_id == rule.id,
                Timer.kind == TimerKind.TASK.value,
                Timer.state == TimerState.PENDING,
            )
        )
    )
    if not rule.enabled:
        for timer in pending:
            timer.state, timer.outcome = TimerState.CANCELLED, "the task was switched off"
        return len(pending)
    task = Task(rule.id, rule.name, rule.within_seconds or 0, rule.business_time, rule.clock)
    calendar = _calendar(session, org, task)
    repeat = task.spec.get("repeat") or {}
    moved = 0
    for timer in pending:
        begin = as_utc(datetime.fromisoformat(timer.plan["start"]))
        if timer.plan.get("final") and repeat.get("until"):
            at = business_time.add(calendar, begin, repeat["until"])
        else:
            at = business_time.add(
                calendar, begin, task.within + timer.step * repeat.get("every", 0)
            )
        if as_utc(timer.fire_at) != at:
            timer.fire_at = at
            timer_queue.schedule_after_commit(session, timer, at)
            moved += 1
    return moved


def rules_deleted(session: Session, rule_ids: list[int]) -> None:
    """Deleted tasks: their pending checks are cancelled (before the rule ids go)."""
    session.execute(
        update(Timer)
        .where(
            Timer.rule_id.in_(rule_ids),
            Timer.kind == TimerKind.TASK.value,
            Timer.state == TimerState.PENDING,
        )
        .values(state=TimerState.CANCELLED, outcome="the task was deleted")
        .execution_options(synchronize_session=False)
    )


def set_paused(session: Session, org: Organization, paused: bool, actor: Actor, now) -> None:
    """The switch that stops every task acting (checks still come and go)."""
    settings = rule_book.settings_of(session, org.id, lock=True)
    settings.tasks_paused = paused
    settings.updated_at = now


# -- personal reminders ---------------------------------------------------------------------


def remind_me(
    session: Session, lead: Lead, user: User, days: int, now: datetime, note: str = ""
) -> Timer:
    """ "Remind me if this lead is not updated in N days": a task for one lead and one person."""

    if not isinstance(days, int) or not 1 <= days <= REMINDER_MAX_DAYS:
        raise ValidationError({"days": f"Give a number of days from 1 to {REMINDER_MAX_DAYS}."})
    if len(note) > 200:
        raise ValidationError({"note": "At most 200 characters."})
    within = days * 86400
    message = note.strip() or f"{lead.name} has not been updated in {describe_duration(within)}"
    own = {
        "name": f"Reminder for {user.name}",
        "within": within,
        "trigger": {"type": "created"},
        "until": {"type": "updated"},
        "then": [
            {
                "type": "notify",
                "to": [{"user_id": user.id}],
                "cc": [],
                "channels": [],
                "message": message,
            }
        ],
        "owner_id": user.id,
    }
    org = session.get(Organization, lead.org_id)
    task = Task(None, own["name"], within, False, own)
    timer = start(session, org, lead, task, now, plan={"task": own})
    history.record(
        session,
        lead,
        Actor(lead.org_id, user=user),
        now,
        "reminder_set",
        text=f"Reminder set: tell {user.name} if nobody updates the lead within {days} days",
    )
    return timer


# -- what people see ------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingCheck:
    timer: Timer
    name: str
    words: str  # "the status did not change → reassign to Inside Sales"


def pending_for(session: Session, org: Organization, lead: Lead) -> list[PendingCheck]:
    timers = session.scalars(
        select(Timer)
        .where(
            Timer.lead_id == lead.id,
            Timer.kind == TimerKind.TASK.value,
            Timer.state == TimerState.PENDING,
        )
        .order_by(Timer.fire_at)
    )
    out = []
    for timer in timers:
        task = task_of(session, org, timer)
        if task is None:
            continue
        actions = task.spec.get("finally" if timer.plan.get("final") else "then") or []
        words = (
            f"if {until_words(task.until, done=False)}: "
            + ", ".join(task_actions.summary(a) for a in actions)
            if task.until.get("type") != "nothing"
            else ", ".join(task_actions.summary(a) for a in actions)
        )
        out.append(PendingCheck(timer, task.name, words))
    return out


@dataclass(frozen=True)
class Activity:
    pending: int
    fired_today: int
    last_fired: datetime | None


def activity_of(session: Session, org_id: int, now: datetime) -> dict[int, Activity]:
    """Per task: its pending checks, how often it acted in the last 24 hours, and when last."""
    rows = session.execute(
        select(
            Timer.rule_id,
            func.sum(_as_int(Timer.state == TimerState.PENDING)),
            func.sum(_as_int(Timer.acted.is_(True) & (Timer.fired_at > now - timedelta(days=1)))),
            func.max(case((Timer.acted.is_(True), Timer.fired_at), else_=None)),
        )
        .where(
            Timer.org_id == org_id,
            Timer.kind == TimerKind.TASK.value,
            Timer.rule_id.is_not(None),
        )
        .group_by(Timer.rule_id)
    ).all()
    return {
        rule_id: Activity(int(pending or 0), int(fired or 0), as_utc(last) if last else None)
        for rule_id, pending, fired, last in rows
    }


def _as_int(condition):
    return case((condition, 1), else_=0)


# -- preview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    leads_now: int
    looked_at: int
    messages_per_day: int
    warning: str


def preview(session: Session, org: Organization, rule: dict, now: datetime) -> Preview:
    """Before a task is saved: how many open leads its `when` holds for now (of the newest
    PREVIEW_LEADS), and about how many messages a day it would send at most."""
    matches = compile_condition(rule.get("conditions") or {}, catalog_for(session, org))
    units = UnitTree.load(session, org.id)
    zone = ZoneInfo(org.timezone)
    open_leads = session.scalars(
        select(Lead)
        .where(Lead.org_id == org.id, Lead.closed_at.is_(None), Lead.merged_into_id.is_(None))
        .order_by(Lead.id.desc())
        .limit(PREVIEW_LEADS)
    ).all()
    count = sum(1 for lead in open_leads if matches(facts_of(lead, zone, now, units)))
    spec = rule.get("clock") or {}
    settings = rule_book.settings_of(session, org.id)
    per_firing = sum(task_actions.messages_per_firing(a) for a in spec.get("then") or [])
    repeat = spec.get("repeat") or {}
    interval = repeat.get("every") or max(rule.get("within_seconds") or 0, 1)
    per_day = min(settings.task_daily_cap, max(86400 / interval, 0.0))
    messages = round(count * per_firing * min(per_day, 1.0 if not repeat else per_day))
    warning = ""
    if messages > MESSAGES_WARNING:
        warning = (
            f"This task could send about {messages:,} messages a day — more than "
            f"{MESSAGES_WARNING}. Narrow its leads, lengthen its repeat, or notify in the app."
        )
    return Preview(count, len(open_leads), messages, warning)


def statuses_by_id(session: Session, org_id: int) -> dict[int, str]:
    return dict(
        session.execute(
            select(LeadStatus.id, LeadStatus.name).where(LeadStatus.org_id == org_id)
        ).all()
    )


def is_task(rule: RoutingRule) -> bool:
    return RuleKind(rule.kind) is RuleKind.TASK
