"""The clock engine's services with an explicit `now`: business time, response deadlines,
warnings, each ladder step, responses that cancel, aging, reclaim and auto-close."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import (
    Lead,
    LeadEvent,
    LeadStatus,
    LeadWatcher,
    Notification,
    Organization,
    Timer,
    TimerKind,
    TimerState,
    User,
)
from leadtrack.services import clock_steps, leads, organizations, rules_document
from leadtrack.services.business_time import Calendar
from leadtrack.services.clock_document import format_duration, parse_duration
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor

from .support.leads import make_lead

BERLIN = ZoneInfo("Europe/Berlin")
# Wednesday 15 May 2030, 10:00 in Berlin (the tenant's zone): the store is open.
WEDNESDAY = datetime(2030, 5, 15, 8, 0, tzinfo=UTC)
WEEKDAYS_9_TO_6 = {**{str(d): [["09:00", "18:00"]] for d in range(5)}, "5": [], "6": []}


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


# -- business time --------------------------------------------------------------------------


class TestBusinessTime:
    calendar = Calendar(WEEKDAYS_9_TO_6, BERLIN, frozenset())

    def test_inside_the_day(self):
        assert self.calendar.add(berlin(2030, 5, 15, 10, 0), 300) == berlin(2030, 5, 15, 10, 5)

    def test_across_the_night(self):
        start = berlin(2030, 5, 15, 17, 30)
        assert self.calendar.add(start, 2 * 3600) == berlin(2030, 5, 16, 10, 30)

    def test_across_the_weekend(self):
        friday = berlin(2030, 5, 17, 17, 59, 30)
        assert self.calendar.add(friday, 60) == berlin(2030, 5, 20, 9, 0, 30)

    def test_a_lead_at_night_waits_for_the_morning(self):
        assert self.calendar.add(berlin(2030, 5, 15, 23, 0), 60) == berlin(2030, 5, 16, 9, 1)

    def test_holidays_are_skipped(self):
        with_holiday = Calendar(WEEKDAYS_9_TO_6, BERLIN, frozenset({date(2030, 5, 20)}))
        friday = berlin(2030, 5, 17, 17, 0)
        assert with_holiday.add(friday, 2 * 3600) == berlin(2030, 5, 21, 10, 0)

    def test_seconds_granularity_and_dst(self):
        # Europe/Berlin moves to summer time on Sunday 31 March 2030: still 9 business hours.
        start = berlin(2030, 3, 29, 17, 59, 59)
        assert self.calendar.add(start, 2) == berlin(2030, 4, 1, 9, 0, 1)

    def test_a_calendar_without_open_hours_counts_around_the_clock(self):
        closed = Calendar({str(d): [] for d in range(7)}, BERLIN, frozenset())
        start = berlin(2030, 5, 15, 10, 0)
        assert closed.add(start, 90) == start + timedelta(seconds=90)

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("90", 90), (90, 90), ("5m", 300), ("2h", 7200), ("1h30m", 5400), ("3 days", 259200)],
    )
    def test_durations(self, text, seconds):
        assert parse_duration(text) == seconds
        assert parse_duration(format_duration(seconds)) == seconds

    def test_not_a_duration(self):
        assert parse_duration("soon") is None and parse_duration("5x") is None


# -- helpers --------------------------------------------------------------------------------


def apply(app, tenant, document: dict) -> None:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        rules_document.apply(db.session, org, document, Actor(org.id, via="cli"), WEDNESDAY)
        db.session.commit()


def response_rule(**overrides) -> dict:
    rule = {
        "name": "Web leads in 5 minutes",
        "when": {"field": "source", "op": "is", "value": "web"},
        "within": "5m",
        "business_time": True,
        "warnings": [50, 80],
        "ladder": [
            {"to": "backup", "action": "reassign", "channels": ["email"]},
            {"after": "10m", "to": "manager", "action": "notify", "channels": ["in_app"]},
        ],
    }
    rule.update(overrides)
    return rule


@pytest.fixture
def backed_up(app, tenant):
    """The agent's backup is the other store's agent."""
    with app.app_context():
        agent = db.session.get(User, tenant.agent.id)
        agent.backup_id = tenant.other_agent.id
        db.session.commit()
    return tenant


def web_lead(app, tenant, now=WEDNESDAY, **fields) -> int:
    fields.setdefault("assignee_id", tenant.agent.id)
    return make_lead(app, tenant.org.id, now=now, source="web", **fields)


def timers(lead_id: int, state: TimerState | None = None) -> list[Timer]:
    stmt = select(Timer).where(Timer.lead_id == lead_id).order_by(Timer.fire_at, Timer.id)
    if state is not None:
        stmt = stmt.where(Timer.state == state)
    return list(db.session.scalars(stmt))


def fire_due(now: datetime) -> list[str]:
    """What the sweep does, synchronously: fire every timer due at `now`."""
    outcomes = []
    for timer_id in clock_steps.due_ids(db.session, now):
        outcome = clock_steps.fire(db.session, timer_id, now)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def events(lead_id: int, kind: str) -> list[LeadEvent]:
    return list(
        db.session.scalars(
            select(LeadEvent).where(LeadEvent.lead_id == lead_id, LeadEvent.kind == kind)
        )
    )


def alerts(event: str, user_id: int | None = None) -> list[Notification]:
    stmt = select(Notification).where(Notification.event == event)
    if user_id is not None:
        stmt = stmt.where(Notification.recipient_id == user_id)
    return list(db.session.scalars(stmt))


def act(app, lead_id: int, user_id: int, now: datetime, kind: str = "call") -> None:
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        user = db.session.get(User, user_id)
        leads.add_activity(db.session, lead, Actor(lead.org_id, user=user), now, kind=kind)
        db.session.commit()


# -- the response clock ---------------------------------------------------------------------


def test_a_matching_lead_gets_its_deadline_warnings_and_first_step(app, tenant):
    apply(app, tenant, {"response": [response_rule()]})
    lead_id = web_lead(app, tenant)
    other_id = make_lead(app, tenant.org.id, now=WEDNESDAY, source="phone")
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.response_due_at == WEDNESDAY + timedelta(minutes=5)
        assert lead.state == "new" and lead.escalation_tier == 1
        pending = timers(lead_id, TimerState.PENDING)
        assert [(t.kind, t.fire_at - WEDNESDAY) for t in pending] == [
            (TimerKind.WARNING, timedelta(minutes=2, seconds=30)),
            (TimerKind.WARNING, timedelta(minutes=4)),
            (TimerKind.ESCALATION, timedelta(minutes=5)),
        ]
        assert db.session.get(Lead, other_id).response_due_at is None  # no rule matched
        assert timers(other_id) == []


def test_the_deadline_counts_business_hours(app, tenant):
    apply(app, tenant, {"response": [response_rule()]})
    evening = berlin(2030, 5, 15, 17, 58)  # two minutes before closing
    lead_id = web_lead(app, tenant, now=evening)
    with app.app_context():
        assert db.session.get(Lead, lead_id).response_due_at == berlin(2030, 5, 16, 9, 3)


def test_a_holiday_moves_the_deadline(app, tenant):
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        organizations.add_holiday(db.session, org, date(2030, 5, 16), "Ascension Day")
        db.session.commit()
    apply(app, tenant, {"response": [response_rule()]})
    lead_id = web_lead(app, tenant, now=berlin(2030, 5, 15, 17, 58))
    with app.app_context():
        assert db.session.get(Lead, lead_id).response_due_at == berlin(2030, 5, 17, 9, 3)


def test_around_the_clock_ignores_the_calendar(app, tenant):
    apply(app, tenant, {"response": [response_rule(business_time=False)]})
    night = berlin(2030, 5, 18, 23, 0)  # Saturday night
    lead_id = web_lead(app, tenant, now=night)
    with app.app_context():
        assert db.session.get(Lead, lead_id).response_due_at == night + timedelta(minutes=5)


def test_warnings_tell_the_assignee_how_long_is_left(app, tenant):
    apply(app, tenant, {"response": [response_rule()]})
    lead_id = web_lead(app, tenant)
    with app.app_context():
        assert fire_due(WEDNESDAY + timedelta(minutes=2, seconds=30)) == [
            "Reminded Agent Acme: 3 min left to respond"
        ]
        warning = alerts("response_warning", tenant.agent.id)
        assert {n.channel for n in warning} >= {"email", "in_app"}
        assert warning[0].context["details"]["minutes_left"] == 3
        assert [e.data["text"] for e in events(lead_id, "response_warning")] == [
            "Reminded Agent Acme: 3 min left to respond"
        ]


def test_the_ladder_reassigns_to_the_backup_then_tells_the_manager(app, backed_up):
    tenant = backed_up
    apply(app, tenant, {"response": [response_rule(warnings=[])]})
    lead_id = web_lead(app, tenant)
    deadline = WEDNESDAY + timedelta(minutes=5)
    with app.app_context():
        assert fire_due(deadline - timedelta(seconds=1)) == []  # not a second early
        [text] = fire_due(deadline)
        assert text == (
            "No response from Agent Acme within 5 min → marked overdue → reassigned to "
            "Harbouragent Acme (Agent Acme's backup), alerted by E-mail"
        )
        lead = db.session.get(Lead, lead_id)
        assert lead.assignee_id == tenant.other_agent.id
        assert lead.state == "overdue" and lead.escalation_tier == 2
        assert lead.overdue_at == deadline
        assert lead.overdue_for(deadline + timedelta(minutes=3)) == timedelta(minutes=3)
        [mail] = alerts("escalated_tier2", tenant.other_agent.id)
        assert mail.channel == "email"
        assert alerts("lead_reassigned") == []  # the escalation alert says it, once
        [history] = events(lead_id, "escalated")
        assert history.actor_id is None and history.via == "clock" and history.data["tier"] == 2
        [following] = timers(lead_id, TimerState.PENDING)
        assert following.step == 1 and following.fire_at == deadline + timedelta(minutes=10)

        [text] = fire_due(deadline + timedelta(minutes=10))
        # The lead moved to the Harbour store, which has no manager: the area manager.
        assert "→ Area Acme (manager of" not in text
        assert "Area Acme" in text and "told" in text
        assert alerts("escalated_tier3", tenant.area_manager.id)
        assert db.session.get(Lead, lead_id).escalation_tier == 3
        assert timers(lead_id, TimerState.PENDING) == []  # the ladder ends there


def test_a_response_before_the_deadline_cancels_every_pending_step(app, backed_up):
    tenant = backed_up
    apply(app, tenant, {"response": [response_rule()]})
    lead_id = web_lead(app, tenant)
    act(app, lead_id, tenant.agent.id, WEDNESDAY + timedelta(minutes=1))
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.state == "open" and lead.first_response_at is not None
        assert timers(lead_id, TimerState.PENDING) == []
        assert {t.outcome for t in timers(lead_id)} == {"responded"}
        assert fire_due(WEDNESDAY + timedelta(hours=1)) == []
        assert db.session.get(Lead, lead_id).assignee_id == tenant.agent.id
        assert alerts("escalated_tier2") == [] and alerts("response_warning") == []


def test_a_late_response_stops_the_ladder_but_the_lead_stays_marked_late(app, backed_up):
    tenant = backed_up
    apply(app, tenant, {"response": [response_rule(warnings=[])]})
    lead_id = web_lead(app, tenant)
    with app.app_context():
        fire_due(WEDNESDAY + timedelta(minutes=5))
    act(app, lead_id, tenant.other_agent.id, WEDNESDAY + timedelta(minutes=7))
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.state == "open" and lead.overdue_at is not None
        assert timers(lead_id, TimerState.PENDING) == []
        assert fire_due(WEDNESDAY + timedelta(minutes=30)) == []


def test_what_counts_as_a_response_is_set_per_rule(app, tenant):
    apply(app, tenant, {"response": [response_rule(counts=["status"])]})
    lead_id = web_lead(app, tenant)
    act(app, lead_id, tenant.agent.id, WEDNESDAY + timedelta(minutes=1))  # a call: not enough
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.first_response_at is None and timers(lead_id, TimerState.PENDING)
        contacted = db.session.scalars(
            select(LeadStatus).where(
                LeadStatus.org_id == tenant.org.id, LeadStatus.name == "Contacted"
            )
        ).one()
        manager = db.session.get(User, tenant.store_manager.id)
        leads.change_status(
            db.session, lead, contacted, Actor(lead.org_id, user=manager), WEDNESDAY
        )
        db.session.commit()
        assert db.session.get(Lead, lead_id).state == "open"
        assert timers(lead_id, TimerState.PENDING) == []


def test_im_on_it_from_an_alert_counts(app, tenant):
    from leadtrack.services import alert_actions

    apply(app, tenant, {"response": [response_rule(counts=["ack"])]})
    lead_id = web_lead(app, tenant)
    with app.app_context():
        fire_due(WEDNESDAY + timedelta(minutes=2, seconds=30))
        warning = alerts("response_warning", tenant.agent.id)[0]
        target = alert_actions.LinkTarget(
            db.session.get(Lead, lead_id), db.session.get(User, tenant.agent.id), warning
        )
        assert alert_actions.acknowledge(db.session, target, WEDNESDAY + timedelta(minutes=3))
        db.session.commit()
        assert db.session.get(Lead, lead_id).state == "open"
        assert timers(lead_id, TimerState.PENDING) == []


def test_a_timer_acts_once_however_often_it_is_fired(app, backed_up):
    tenant = backed_up
    apply(app, tenant, {"response": [response_rule(warnings=[])]})
    lead_id = web_lead(app, tenant)
    deadline = WEDNESDAY + timedelta(minutes=5)
    with app.app_context():
        [timer] = timers(lead_id)
        assert clock_steps.fire(db.session, timer.id, deadline - timedelta(seconds=1)) is None
        assert clock_steps.fire(db.session, timer.id, deadline) is not None
        assert clock_steps.fire(db.session, timer.id, deadline) is None
        assert len(events(lead_id, "escalated")) == 1
        assert len(alerts("escalated_tier2")) == 1


def test_a_queued_lead_escalates_to_a_manager_never_to_nobody(app, tenant):
    apply(app, tenant, {"response": [response_rule(warnings=[])]})
    lead_id = make_lead(
        app, tenant.org.id, now=WEDNESDAY, source="web", unit_id=tenant.store.id
    )  # nobody takes it: it waits in the store's queue
    with app.app_context():
        assert db.session.get(Lead, lead_id).assignee_id is None
        [text] = fire_due(WEDNESDAY + timedelta(minutes=5))
        assert text.startswith("No response from anyone within 5 min")
        assert db.session.get(Lead, lead_id).assignee_id == tenant.store_manager.id
        assert alerts("escalated_tier2", tenant.store_manager.id)


def test_an_absent_backup_is_stood_in_for(app, backed_up):
    tenant = backed_up
    with app.app_context():
        backup = db.session.get(User, tenant.other_agent.id)
        backup.is_active_user = False  # left the company
        db.session.commit()
    apply(app, tenant, {"response": [response_rule(warnings=[])]})
    lead_id = web_lead(app, tenant)
    with app.app_context():
        [text] = fire_due(WEDNESDAY + timedelta(minutes=5))
        lead = db.session.get(Lead, lead_id)
        assert lead.assignee_id == tenant.store_manager.id
        assert "Storeboss Acme" in text


def test_a_watch_step_adds_a_watcher_and_keeps_the_assignee(app, tenant):
    ladder = [{"to": {"user": tenant.area_manager.email}, "action": "watch", "cc": []}]
    apply(app, tenant, {"response": [response_rule(warnings=[], ladder=ladder)]})
    lead_id = web_lead(app, tenant)
    with app.app_context():
        [text] = fire_due(WEDNESDAY + timedelta(minutes=5))
        assert "Area Acme (named in the rule) added as a watcher" in text
        assert db.session.get(LeadWatcher, (lead_id, tenant.area_manager.id)) is not None
        assert db.session.get(Lead, lead_id).assignee_id == tenant.agent.id


def test_closing_a_lead_cancels_its_clock(app, tenant):
    apply(app, tenant, {"response": [response_rule()]})
    lead_id = web_lead(app, tenant)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        lost = db.session.scalars(
            select(LeadStatus).where(LeadStatus.org_id == tenant.org.id, LeadStatus.name == "Lost")
        ).one()
        admin = db.session.get(User, tenant.admin.id)
        leads.close(
            db.session, lead, lost, "Bought elsewhere", Actor(lead.org_id, user=admin), WEDNESDAY
        )
        db.session.commit()
        assert timers(lead_id, TimerState.PENDING) == []
        assert fire_due(WEDNESDAY + timedelta(days=1)) == []


def test_a_failing_step_is_retried_then_set_aside(app, tenant):
    apply(app, tenant, {"response": [response_rule(warnings=[])]})
    lead_id = web_lead(app, tenant)
    with app.app_context():
        [timer] = timers(lead_id)
        timer.kind = "bogus"  # a step that cannot run
        db.session.commit()
        for attempt in range(1, clock_steps.MAX_ATTEMPTS + 1):
            with pytest.raises(ValueError):
                clock_steps.fire(db.session, timer.id, WEDNESDAY + timedelta(minutes=5))
            db.session.expire_all()
            assert db.session.get(Timer, timer.id).attempts == attempt
        failed = db.session.get(Timer, timer.id)
        assert failed.state == TimerState.FAILED and "ValueError" in failed.outcome
        assert clock_steps.due_ids(db.session, WEDNESDAY + timedelta(hours=1)) == []


# -- aging, reclaim, auto-close -------------------------------------------------------------


def test_aging_moves_a_quiet_lead_to_a_dead_status(app, tenant):
    rule = {"name": "Quiet for 3 days", "after": "3d", "business_time": False}
    apply(app, tenant, {"aging": [{**rule, "then": {"status": "Dead"}}]})
    lead_id = web_lead(app, tenant)
    act(app, lead_id, tenant.agent.id, WEDNESDAY + timedelta(days=2))  # still alive
    with app.app_context():
        [text] = fire_due(WEDNESDAY + timedelta(days=3))
        assert text.startswith("active since; checked again at")
        assert db.session.get(Lead, lead_id).closed_at is None
        [text] = fire_due(WEDNESDAY + timedelta(days=5))
        lead = db.session.get(Lead, lead_id)
        assert lead.status.name == "Dead" and lead.closed_at is not None
        assert lead.close_reason == "No activity for 3 days"
        assert events(lead_id, "aged")[0].data["text"] == text


def test_aging_can_just_tell_the_assignee(app, tenant):
    rule = {"name": "Quiet for a day", "after": "1d", "business_time": False, "then": "notify"}
    apply(app, tenant, {"aging": [rule]})
    lead_id = web_lead(app, tenant)
    with app.app_context():
        [text] = fire_due(WEDNESDAY + timedelta(days=1))
        assert text == "No activity for 1 day → Agent Acme told (rule “Quiet for a day”)"
        assert alerts("lead_idle", tenant.agent.id)
        assert db.session.get(Lead, lead_id).closed_at is None


def test_reclaim_sends_an_untouched_lead_back_through_the_rules(app, tenant):
    from .test_routing import add_agents

    people = add_agents(app, tenant, "ann", "bob")
    team = {"team": "Main Street", "method": "round_robin"}
    apply(
        app,
        tenant,
        {
            "assignment": [{"name": "Web to the store", "when": {}, "assign": team}],
            "reclaim": [{"name": "Use it or lose it", "within": "15m"}],
        },
    )
    lead_id = make_lead(app, tenant.org.id, now=WEDNESDAY, source="web")
    with app.app_context():
        first = db.session.get(Lead, lead_id).assignee_id
        assert first in (people["ann"], people["bob"], tenant.agent.id)
        [text] = fire_due(WEDNESDAY + timedelta(minutes=15))
        lead = db.session.get(Lead, lead_id)
        assert lead.assignee_id not in (None, first)
        assert "did not touch the lead within 15 min → back through the rules" in text
        assert events(lead_id, "reclaimed")
        [again] = timers(lead_id, TimerState.PENDING)  # the new assignee's turn
        assert again.kind == TimerKind.RECLAIM and again.ref_id == lead.assignee_id


def test_reclaim_leaves_a_lead_its_assignee_worked_on(app, tenant):
    apply(app, tenant, {"reclaim": [{"name": "Use it or lose it", "within": "15m"}]})
    lead_id = web_lead(app, tenant)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        agent = db.session.get(User, tenant.agent.id)
        leads.set_follow_up(
            db.session,
            lead,
            WEDNESDAY + timedelta(days=1),
            Actor(lead.org_id, user=agent),
            WEDNESDAY,
        )
        db.session.commit()
        assert fire_due(WEDNESDAY + timedelta(minutes=15)) == [
            "nothing to do: the assignee worked on the lead"
        ]
        assert db.session.get(Lead, lead_id).assignee_id == tenant.agent.id


def test_auto_close_after_days_in_a_status(app, tenant):
    rule = {
        "name": "Unreachable for 90 days",
        "when": {"field": "status", "op": "is", "value": "Could not reach"},
        "after": "90d",
        "business_time": False,
        "close_as": "Lost",
    }
    apply(app, tenant, {"auto_close": [rule]})
    kept_id, closed_id = web_lead(app, tenant), web_lead(app, tenant)
    with app.app_context():
        unreachable = db.session.scalars(
            select(LeadStatus).where(
                LeadStatus.org_id == tenant.org.id, LeadStatus.name == "Could not reach"
            )
        ).one()
        contacted = db.session.scalars(
            select(LeadStatus).where(
                LeadStatus.org_id == tenant.org.id, LeadStatus.name == "Contacted"
            )
        ).one()
        agent = db.session.get(User, tenant.agent.id)
        for lead_id in (kept_id, closed_id):
            lead = db.session.get(Lead, lead_id)
            leads.change_status(
                db.session, lead, unreachable, Actor(lead.org_id, user=agent), WEDNESDAY
            )
        kept = db.session.get(Lead, kept_id)
        later = WEDNESDAY + timedelta(days=30)
        leads.change_status(db.session, kept, contacted, Actor(kept.org_id, user=agent), later)
        db.session.commit()
        [text] = fire_due(WEDNESDAY + timedelta(days=90))
        assert (
            text == "90 days in Could not reach → closed as Lost (rule “Unreachable for 90 days”)"
        )
        closed = db.session.get(Lead, closed_id)
        assert closed.status.name == "Lost" and closed.closed_at is not None
        assert closed.close_reason == "Closed automatically after 90 days in Could not reach"
        assert db.session.get(Lead, kept_id).closed_at is None


# -- the rules document ---------------------------------------------------------------------


def test_clock_rules_round_trip_through_the_document(app, tenant):
    rule = response_rule(
        ladder=[
            {
                "to": "backup",
                "action": "reassign",
                "channels": ["sms"],
                "cc": [tenant.store_manager.email],
            },
            {"after": "10m", "to": {"team": "Harbour"}, "action": "watch"},
        ]
    )
    apply(app, tenant, {"response": [rule]})
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        [exported] = rules_document.export(db.session, org)["response"]
        assert exported["within"] == "5m" and exported["warnings"] == [50, 80]
        assert exported["ladder"][0] == {
            "to": "backup",
            "action": "reassign",
            "channels": ["sms"],
            "cc": [tenant.store_manager.email],
            "overdue": True,
        }
        assert exported["ladder"][1] == {
            "after": "10m",
            "to": {"team": "Harbour"},
            "action": "watch",
            "overdue": False,
        }


def test_bad_clock_rules_name_each_mistake_and_change_nothing(app, tenant):
    bad = response_rule(
        within="soon",
        warnings=[150],
        counts=["smoke signals"],
        ladder=[{"after": "5m", "to": "the boss", "action": "shout", "channels": ["pigeon"]}],
    )
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        with pytest.raises(ValidationError) as caught:
            rules_document.apply(
                db.session,
                org,
                {
                    "response": [bad, {"name": "No ladder", "within": "5m"}],
                    "auto_close": [{"name": "Close", "after": "1d", "close_as": "New"}],
                    "aging": [{"name": "Old", "after": "0s", "then": {"status": "Won"}}],
                },
                Actor(org.id, via="cli"),
                WEDNESDAY,
            )
        errors = caught.value.errors
        assert set(errors) == {
            "response[0].within",
            "response[0].warnings",
            "response[0].counts",
            "response[0].ladder[0].after",
            "response[0].ladder[0].to",
            "response[0].ladder[0].action",
            "response[0].ladder[0].channels",
            "response[1].ladder",
            "auto_close[0].close_as",
            "aging[0].after",
            "aging[0].then",
        }
        assert "the first step happens at the deadline" in errors["response[0].ladder[0].after"]
        assert "Lost" in errors["auto_close[0].close_as"]
        db.session.rollback()
        assert rules_document.export(db.session, org)["response"] == []


def test_a_promise_made_at_arrival_survives_an_edit_of_the_rule(app, backed_up):
    tenant = backed_up
    apply(app, tenant, {"response": [response_rule(warnings=[])]})
    lead_id = web_lead(app, tenant)
    apply(app, tenant, {"response": []})  # the rule is deleted afterwards
    with app.app_context():
        [text] = fire_due(WEDNESDAY + timedelta(minutes=5))
        assert "reassigned to Harbouragent Acme" in text
        assert db.session.get(Lead, lead_id).assignee_id == tenant.other_agent.id


def test_one_organizations_rules_never_time_another_organizations_leads(app, tenant, other_tenant):
    apply(app, tenant, {"response": [response_rule()]})
    lead_id = make_lead(app, other_tenant.org.id, now=WEDNESDAY, source="web")
    with app.app_context():
        assert db.session.get(Lead, lead_id).response_due_at is None
        assert timers(lead_id) == []
