"""Firing timers: each runs once, in one transaction with its claim.

`fire` locks the lead, claims the timer with a conditional update (pending → firing), runs
the step and marks it done, then commits. Two workers and the sweep racing over one timer:
the second claim waits for the first transaction and then finds the timer done. A worker
killed mid-step: its transaction is rolled back, the timer is still pending, and the sweep
fires it again. The notifications a step writes are outbox rows in the same transaction,
so they are sent once too."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, select, update
from sqlalchemy.orm import Session

from leadtrack.models import (
    Lead,
    LeadEvent,
    LeadStatus,
    LeadWatcher,
    Organization,
    Timer,
    TimerKind,
    TimerState,
    User,
)
from leadtrack.services import (
    business_time,
    clock,
    history,
    leads,
    outbox,
    routing,
    rule_book,
    tasks,
)
from leadtrack.services.history import Actor
from leadtrack.services.lead_facts import UnitTree, facts_of
from leadtrack.services.recipients import available
from leadtrack.timeutil import describe_duration

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
ACTIONS = ("reassign", "watch", "notify")
TARGETS = ("backup", "supervisor", "manager", "user", "team")


@dataclass
class Step:
    session: Session
    org: Organization
    lead: Lead
    timer: Timer
    now: datetime

    @property
    def actor(self) -> Actor:
        return Actor(org_id=self.org.id, via="clock")

    def local(self, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(self.org.timezone)).strftime("%a %d %b %H:%M:%S")


def due_ids(session: Session, now: datetime, limit: int = 10_000) -> list[int]:
    return list(
        session.scalars(
            select(Timer.id)
            .where(Timer.state == TimerState.PENDING, Timer.fire_at <= now)
            .order_by(Timer.fire_at)
            .limit(limit)
        )
    )


def fire(session: Session, timer_id: int, now: datetime) -> str | None:
    """Run the timer's step if it is due and still pending, and commit. Returns what was
    done, or None when there was nothing to do (not due, or already done elsewhere)."""
    row = session.execute(
        select(Timer.lead_id, Timer.fire_at, Timer.state).where(Timer.id == timer_id)
    ).first()
    if row is None or row.state != TimerState.PENDING or row.fire_at > now:
        session.rollback()
        return None
    # The lead first, then the timer: the same order as a response that cancels timers.
    lead = session.scalars(
        select(Lead)
        .where(Lead.id == row.lead_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    claimed = session.execute(
        update(Timer)
        .where(Timer.id == timer_id, Timer.state == TimerState.PENDING)
        .values(state=TimerState.FIRING, fired_at=now, attempts=Timer.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        session.rollback()
        return None
    timer = session.get(Timer, timer_id, populate_existing=True)
    try:
        step = Step(session, session.get(Organization, lead.org_id), lead, timer, now)
        outcome = STEPS[TimerKind(timer.kind)](step)
        timer.state = TimerState.DONE
        timer.outcome = outcome[:300]
        session.commit()
    except Exception as exc:
        session.rollback()
        _failed(session, timer_id, exc)
        raise
    return outcome


def _failed(session: Session, timer_id: int, exc: Exception) -> None:
    """Count the failed attempt; after MAX_ATTEMPTS the timer stops being retried and
    shows on the System page."""
    log.exception("timer %s failed", timer_id)
    session.execute(
        update(Timer)
        .where(Timer.id == timer_id, Timer.state == TimerState.PENDING)
        .values(
            attempts=Timer.attempts + 1,
            outcome=f"failed: {type(exc).__name__}: {exc}"[:300],
            state=case(
                (Timer.attempts + 1 >= MAX_ATTEMPTS, TimerState.FAILED.value),
                else_=TimerState.PENDING.value,
            ),
        )
    )
    session.commit()


# -- the steps ------------------------------------------------------------------------------


def _moot(lead: Lead) -> str | None:
    if lead.closed_at is not None:
        return "nothing to do: the lead is closed"
    if lead.first_response_at is not None:
        return "nothing to do: the lead was answered"
    return None


def warn(step: Step) -> str:
    lead = step.lead
    if (moot := _moot(lead)) is not None:
        return moot
    if lead.assignee is None:
        return "nobody to warn: the lead waits in the queue"
    deadline = lead.response_due_at or step.now
    if deadline <= step.now:  # fired late (the workers were down): the escalation says it
        return "nothing to do: the deadline has passed"
    minutes_left = max(math.ceil((deadline - step.now).total_seconds() / 60), 0)
    outbox.notify(
        step.session,
        step.org,
        "response_warning",
        lead.assignee,
        step.now,
        lead=lead,
        step=f"warning-{step.timer.id}",
        details={"deadline": step.local(deadline), "minutes_left": minutes_left},
    )
    text = f"Reminded {lead.assignee.name}: {minutes_left} min left to respond"
    history.record(step.session, lead, step.actor, step.now, "response_warning", text=text)
    return text


def escalate(step: Step) -> str:
    lead, timer = step.lead, step.timer
    if (moot := _moot(lead)) is not None:
        return moot
    ladder = timer.plan.get("ladder") or [{"to": {"type": "manager"}, "action": "notify"}]
    if timer.step >= len(ladder):
        return "the ladder has no more steps"
    spec = ladder[timer.step]
    tier = timer.step + 2
    before = lead.assignee
    person, who = ladder_target(step, spec.get("to") or {})
    waited = timer.plan.get("within", 0) if timer.step == 0 else spec.get("after", 0)
    words = (
        f"No response from {before.name if before else 'anyone'} within {describe_duration(waited)}"
    )
    if spec.get("overdue", timer.step == 0) and lead.overdue_at is None:
        lead.overdue_at = lead.response_due_at or timer.fire_at
        words += " → marked overdue"
    action = spec.get("action") if spec.get("action") in ACTIONS else "reassign"
    done = _carry_out(step, action, person, who)
    channels = _alert(step, spec, tier, person)
    lead.escalation_tier = max(lead.escalation_tier or 1, tier)
    lead.updated_at = step.now
    text = f"{words} → {done}" + (f", alerted by {channels}" if channels else "")
    history.record(
        step.session,
        lead,
        step.actor,
        step.now,
        "escalated",
        text=text,
        tier=tier,
        action=action,
        to_id=person.id,
        to_name=person.name,
        rule=timer.plan.get("rule", ""),
    )
    _arm_next_step(step, ladder)
    return text


def _carry_out(step: Step, action: str, person: User, who: str) -> str:
    lead = step.lead
    if action == "reassign":
        if person.id == lead.assignee_id:
            return f"left with {person.name} ({who}): nobody else could take it"
        leads.assign(
            step.session, lead, person, step.actor, step.now, reason="escalation", tell=False
        )
        return f"reassigned to {person.name} ({who})"
    if action == "watch":
        if step.session.get(LeadWatcher, (lead.id, person.id)) is None:
            step.session.add(
                LeadWatcher(
                    lead_id=lead.id, user_id=person.id, org_id=lead.org_id, added_at=step.now
                )
            )
        return f"{person.name} ({who}) added as a watcher"
    return f"{person.name} ({who}) told"


def _alert(step: Step, spec: dict, tier: int, person: User) -> str:
    event = "escalated_tier2" if tier == 2 else "escalated_tier3"
    channels = tuple(spec.get("channels") or ()) or None
    deadline = step.local(step.lead.response_due_at or step.timer.fire_at)
    written = []
    people = [person] + [
        u
        for u in _users(step, spec.get("cc") or [])
        if u.id != person.id and available(u, step.now)
    ]
    for someone in people:
        written += outbox.notify(
            step.session,
            step.org,
            event,
            someone,
            step.now,
            lead=step.lead,
            step=f"escalation-{step.timer.id}",
            details={"deadline": deadline},
            channels=channels,
        )
    text = " and ".join(channel_labels(written))
    cc = [u.name for u in people[1:]]
    return text + (f" (cc {', '.join(cc)})" if cc and text else "")


CHANNEL_ORDER = ("SMS", "Phone call", "E-mail", "Team chat", "In the app")


def channel_labels(written) -> list[str]:
    """The channels of the alerts written, once each, the most urgent first."""
    labels = {row.channel_enum.label for row in written}
    return sorted(
        labels, key=lambda label: CHANNEL_ORDER.index(label) if label in CHANNEL_ORDER else 99
    )


def _arm_next_step(step: Step, ladder: list[dict]) -> None:
    following = step.timer.step + 1
    if following >= len(ladder):
        return
    calendar = clock.calendar_for(step.session, step.org, step.timer.plan)
    # From when this step was due, not when it ran: lateness does not add up along the ladder.
    at = business_time.add(calendar, step.timer.fire_at, ladder[following].get("after", 0))
    clock.arm(
        step.session,
        step.lead,
        TimerKind.ESCALATION,
        max(at, step.now),
        step.now,
        rule_id=step.timer.rule_id,
        step=following,
        plan=step.timer.plan,
    )


def ladder_target(step: Step, to: dict) -> tuple[User, str]:
    """The person a ladder step names, or — when they are missing or away — the next one
    who can act: for the assignee's backup, the assignee's supervisor; for a named person,
    their backup and supervisor; then the unit's manager, then the admins. The ladder never
    ends with nobody."""
    lead = step.lead
    for candidate, label in _candidates(step, to):
        if candidate is None or candidate.org_id != lead.org_id:
            continue
        if available(candidate, step.now) and candidate.id != lead.assignee_id:
            return candidate, label
    managers = routing.managers_for(step.session, step.org, lead.unit)
    if managers:
        return managers[0], "manager"
    return lead.assignee, "nobody else could take it"  # an organization with no admin left


def _candidates(step: Step, to: dict):
    lead, owner = step.lead, step.lead.assignee
    kind = to.get("type")
    if kind in ("backup", "supervisor") and owner is not None:
        if kind == "backup":
            yield owner.backup, f"{owner.name}'s backup"
        yield owner.effective_supervisor, f"{owner.name}'s supervisor"
    elif kind == "user":
        named = step.session.get(User, to.get("user_id") or 0)
        if named is not None:
            yield named, "named in the rule"
            yield named.backup, f"{named.name}'s backup"
            yield named.effective_supervisor, f"{named.name}'s supervisor"
    elif kind == "team":
        target = {"type": "team", "unit_id": to.get("unit_id"), "method": to.get("method")}
        exclude = frozenset({owner.id}) if owner else frozenset()
        picked = routing.pick(step.session, step.org, lead, target, step.now, exclude=exclude)
        if picked is not None:
            yield picked, f"from {picked.unit.name}" if picked.unit else "from the team"
    for manager in routing.managers_for(step.session, step.org, lead.unit):
        yield manager, "manager"


def _users(step: Step, ids: list) -> list[User]:
    ids = [i for i in ids if isinstance(i, int)]
    if not ids:
        return []
    return list(
        step.session.scalars(select(User).where(User.id.in_(ids), User.org_id == step.org.id))
    )


def age(step: Step) -> str:
    lead, timer = step.lead, step.timer
    if lead.closed_at is not None:
        return "nothing to do: the lead is closed"
    rule = rule_book.load(step.session, step.org).clock_rule(timer.rule_id)
    if rule is None:
        return "the aging rule was removed or switched off"
    calendar = clock.calendar_for(step.session, step.org, rule)
    quiet_until = business_time.add(calendar, lead.updated_at, rule.within)
    if quiet_until > step.now:  # something happened since: look again later
        clock.arm(step.session, lead, TimerKind.AGING, quiet_until, step.now, rule_id=rule.id)
        return f"active since; checked again at {step.local(quiet_until)}"
    idle = describe_duration(rule.within)
    if rule.clock.get("action") == "status":
        status = step.session.get(LeadStatus, rule.clock.get("status_id") or 0)
        if status is None or status.org_id != lead.org_id:
            return "the aging rule's status no longer exists"
        reason = f"No activity for {idle}"
        leads.change_status(step.session, lead, status, step.actor, step.now, reason=reason)
        text = f"{reason} → status {status.name} (rule “{rule.name}”)"
    else:
        people = (
            [lead.assignee]
            if lead.assignee
            else routing.managers_for(step.session, step.org, lead.unit)
        )
        for person in people:
            outbox.notify(
                step.session,
                step.org,
                "lead_idle",
                person,
                step.now,
                lead=lead,
                step=f"idle-{timer.id}",
                details={"idle_for": idle},
            )
        names = ", ".join(p.name for p in people) or "nobody"
        text = f"No activity for {idle} → {names} told (rule “{rule.name}”)"
    history.record(step.session, lead, step.actor, step.now, "aged", text=text)
    return text


def reclaim(step: Step) -> str:
    lead, timer = step.lead, step.timer
    if lead.closed_at is not None:
        return "nothing to do: the lead is closed"
    if lead.assignee_id != timer.ref_id:
        return "nothing to do: the lead is with someone else now"
    touched = step.session.scalar(
        select(
            exists().where(
                LeadEvent.lead_id == lead.id,
                LeadEvent.actor_id == timer.ref_id,
                LeadEvent.at >= timer.created_at,
            )
        )
    )
    if touched:
        return "nothing to do: the assignee worked on the lead"
    rule = rule_book.load(step.session, step.org).clock_rule(timer.rule_id)
    waited = describe_duration(
        rule.within if rule else (timer.fire_at - timer.created_at).total_seconds()
    )
    before = lead.assignee
    decision = routing.route(
        step.session, step.org, lead, step.actor, step.now, exclude=frozenset({before.id})
    )
    text = (
        f"{before.name} did not touch the lead within {waited} "
        f"→ back through the rules: {decision.summary}"
    )
    history.record(step.session, lead, step.actor, step.now, "reclaimed", text=text)
    return text


def auto_close(step: Step) -> str:
    lead, timer = step.lead, step.timer
    if lead.closed_at is not None:
        return "nothing to do: the lead is closed"
    if lead.status_id != timer.ref_id:
        return "nothing to do: the status changed"
    rule = rule_book.load(step.session, step.org).clock_rule(timer.rule_id)
    if rule is None:
        return "the auto-close rule was removed or switched off"
    facts = facts_of(
        lead, ZoneInfo(step.org.timezone), step.now, UnitTree.load(step.session, step.org.id)
    )
    if not rule.matches(facts):
        return "nothing to do: the lead no longer matches the rule"
    status = step.session.get(LeadStatus, rule.clock.get("status_id") or 0)
    if status is None or status.org_id != lead.org_id:
        return "the auto-close rule's status no longer exists"
    old = lead.status.name
    reason = (
        rule.clock.get("reason")
        or f"Closed automatically after {describe_duration(rule.within)} in {old}"
    )
    leads.change_status(step.session, lead, status, step.actor, step.now, reason=reason)
    text = (
        f"{describe_duration(rule.within)} in {old} → closed as {status.name} (rule “{rule.name}”)"
    )
    history.record(step.session, lead, step.actor, step.now, "auto_closed", text=text)
    return text


def task(step: Step) -> str:
    return tasks.fire(step)  # services/tasks.py: a task's check


STEPS = {
    TimerKind.WARNING: warn,
    TimerKind.ESCALATION: escalate,
    TimerKind.AGING: age,
    TimerKind.RECLAIM: reclaim,
    TimerKind.AUTO_CLOSE: auto_close,
    TimerKind.TASK: task,
}
