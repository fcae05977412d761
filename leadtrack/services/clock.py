"""The clock on each lead: timers written in the transaction of the change that causes
them, and cancelled in the transaction of the change that makes them moot.

- At intake the first matching response-time rule sets the deadline, its warnings and the
  first step of its escalation ladder; aging and auto-close rules arm their timers.
- Each assignment arms "use it or lose it" (reclaim) for the new assignee.
- A response cancels the warnings, the ladder and the reclaim timer.
- A status change re-arms auto-close; closing a lead cancels everything.

Timers fire later in `clock_steps` (the actions), called by the jobs in `jobs/clock.py`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from leadtrack.models import Lead, Organization, RuleKind, Timer, TimerKind, TimerState, User
from leadtrack.services import business_time, rule_book, timer_queue
from leadtrack.services.history import Actor
from leadtrack.services.lead_facts import UnitTree, facts_of
from leadtrack.services.rule_book import CompiledRule, RuleBook

RESPONSE_KINDS = ("activity", "status", "ack")  # what may count as a response
RESPONSE_TIMERS = (TimerKind.WARNING, TimerKind.ESCALATION, TimerKind.RECLAIM)


class _Facts:
    """The lead's facts, computed once and only when some clock rule needs them."""

    def __init__(self, session: Session, org: Organization, lead: Lead, now: datetime):
        self.session, self.org, self.lead, self.now = session, org, lead, now
        self._facts: dict | None = None

    def get(self) -> dict:
        if self._facts is None:
            units = UnitTree.load(self.session, self.org.id)
            self._facts = facts_of(self.lead, ZoneInfo(self.org.timezone), self.now, units)
        return self._facts


def _first(book: RuleBook, kind: RuleKind, facts: _Facts) -> CompiledRule | None:
    if not book.clock_rules.get(kind):
        return None
    return book.first_clock_rule(kind, facts.get())


def calendar_for(session: Session, org: Organization, rule: CompiledRule | dict):
    counts_business = (
        rule.get("business_time", True) if isinstance(rule, dict) else rule.business_time
    )
    return business_time.calendar_of(session, org) if counts_business else None


def arm(
    session: Session,
    lead: Lead,
    kind: TimerKind,
    fire_at: datetime,
    now: datetime,
    *,
    rule_id: int | None = None,
    step: int = 0,
    ref_id: int | None = None,
    plan: dict | None = None,
) -> Timer:
    timer = Timer(
        org_id=lead.org_id,
        lead_id=lead.id,
        rule_id=rule_id,
        kind=kind,
        step=step,
        fire_at=fire_at,
        state=TimerState.PENDING,
        ref_id=ref_id,
        plan=plan or {},
        created_at=now,
    )
    session.add(timer)
    timer_queue.schedule_after_commit(session, timer, fire_at)
    return timer


def cancel(session: Session, lead: Lead, kinds: tuple[TimerKind, ...], why: str) -> None:
    session.execute(
        update(Timer)
        .where(
            Timer.lead_id == lead.id,
            Timer.state == TimerState.PENDING,
            Timer.kind.in_([k.value for k in kinds]),
        )
        .values(state=TimerState.CANCELLED, outcome=why[:300])
        .execution_options(synchronize_session=False)
    )


# -- when things happen to a lead -----------------------------------------------------------


def started(session: Session, org: Organization, lead: Lead, now: datetime) -> None:
    """A lead arrived: its response clock, aging and auto-close."""
    if lead.closed_at is not None:
        return
    book = rule_book.load(session, org)
    facts = _Facts(session, org, lead, now)
    rule = _first(book, RuleKind.RESPONSE, facts)
    if rule is not None:
        _start_response(session, org, lead, rule, now)
    _arm_aging(session, org, lead, book, facts, now)
    _arm_auto_close(session, org, lead, book, facts, now)


def _start_response(
    session: Session, org: Organization, lead: Lead, rule: CompiledRule, now: datetime
) -> None:
    calendar = calendar_for(session, org, rule)
    start = lead.created_at
    deadline = business_time.add(calendar, start, rule.within)
    lead.response_rule_id = rule.id
    lead.response_due_at = deadline
    for number, percent in enumerate(rule.clock.get("warnings") or []):
        at = business_time.add(calendar, start, rule.within * percent / 100)
        if now <= at < deadline:
            arm(session, lead, TimerKind.WARNING, at, now, rule_id=rule.id, step=number)
    ladder = rule.clock.get("ladder") or []
    plan = {
        "rule": rule.name,
        "within": rule.within,
        "business_time": rule.business_time,
        "ladder": ladder,
    }
    arm(session, lead, TimerKind.ESCALATION, deadline, now, rule_id=rule.id, step=0, plan=plan)


def _arm_aging(session, org, lead: Lead, book: RuleBook, facts: _Facts, now: datetime) -> None:
    rule = _first(book, RuleKind.AGING, facts)
    if rule is not None:
        since = lead.updated_at or now
        at = business_time.add(calendar_for(session, org, rule), since, rule.within)
        arm(session, lead, TimerKind.AGING, at, now, rule_id=rule.id)


def _arm_auto_close(session, org, lead: Lead, book, facts: _Facts, now: datetime) -> None:
    rule = _first(book, RuleKind.AUTO_CLOSE, facts)
    if rule is not None:
        at = business_time.add(calendar_for(session, org, rule), now, rule.within)
        arm(session, lead, TimerKind.AUTO_CLOSE, at, now, rule_id=rule.id, ref_id=lead.status_id)


def assigned(session: Session, lead: Lead, assignee: User | None, now: datetime) -> None:
    """A new assignee: the previous one's reclaim timer goes; theirs starts."""
    cancel(session, lead, (TimerKind.RECLAIM,), "assigned to someone else")
    if assignee is None or lead.closed_at is not None:
        return
    org = session.get(Organization, lead.org_id)
    book = rule_book.load(session, org)
    rule = _first(book, RuleKind.RECLAIM, _Facts(session, org, lead, now))
    if rule is not None:
        at = business_time.add(calendar_for(session, org, rule), now, rule.within)
        arm(session, lead, TimerKind.RECLAIM, at, now, rule_id=rule.id, ref_id=assignee.id)


def status_changed(session: Session, lead: Lead, was_closed: bool, now: datetime) -> None:
    if lead.closed_at is not None:
        cancel(session, lead, tuple(TimerKind), "the lead was closed")
        return
    org = session.get(Organization, lead.org_id)
    book = rule_book.load(session, org)
    facts = _Facts(session, org, lead, now)
    cancel(session, lead, (TimerKind.AUTO_CLOSE,), "the status changed")
    _arm_auto_close(session, org, lead, book, facts, now)
    if was_closed:
        _arm_aging(session, org, lead, book, facts, now)


def counts_as_response(session: Session, lead: Lead, how: str, actor: Actor) -> bool:
    """Whether this act answers the lead, by its response rule's list of what counts (all
    three when no rule set a clock): an activity by the current assignee, a status change
    out of the "new" category by a person, or "I'm on it" from an alert."""
    if lead.first_response_at is not None or actor.user is None:
        return False
    counted = RESPONSE_KINDS
    if lead.response_rule_id is not None:
        org = session.get(Organization, lead.org_id)
        rule = rule_book.load(session, org).clock_rule(lead.response_rule_id)
        if rule is not None:
            counted = tuple(rule.clock.get("counts") or RESPONSE_KINDS)
    if how not in counted:
        return False
    if how == "activity":
        return lead.assignee_id is not None and actor.user.id == lead.assignee_id
    return True


def responded(session: Session, lead: Lead, now: datetime) -> None:
    """The first response: the clock stops; pending warnings and escalations are cancelled
    in this same transaction."""
    lead.first_response_at = now
    cancel(session, lead, RESPONSE_TIMERS, "responded")
