"""The task manager through the real clock engine with compressed time (an explicit `now`,
fired as the sweep fires): the nine LeadMaster scenarios of docs/tasks.md, runaway
protection (the cap, the pause switch, the preview), editing and deleting tasks, personal
reminders, and precise errors for bad task definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import (
    Lead,
    LeadEvent,
    LeadStatus,
    Notification,
    Organization,
    Role,
    Timer,
    TimerKind,
    TimerState,
    User,
)
from leadtrack.services import (
    clock_steps,
    lead_settings,
    leads,
    rules_document,
    tasks,
    units,
    users,
)
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor

from .support.factories import PASSWORD
from .support.leads import make_lead
from .test_clock import WEDNESDAY

DAY = timedelta(days=1)


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture
def office(app, tenant):
    """Acme with an Inside Sales team of one (Ines), and a "demo completed" checkbox."""
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        team = units.create_unit(
            db.session, org, name="Inside Sales", kind="team", parent_id=tenant.area.id
        )
        ines = users.create_user(
            db.session,
            org,
            email="ines@acme.example.com",
            name="Ines Inside",
            role=Role.AGENT,
            password=PASSWORD,
            unit_id=team.id,
        )
        lead_settings.add_custom_field(
            db.session, org, key="demo_completed", label="Demo completed", type="checkbox"
        )
        db.session.commit()
        return {"tenant": tenant, "ines": ines.id, "team": team.id}


def apply(app, tenant, task_list: list[dict], settings: dict | None = None, **sections) -> None:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        document = {"tasks": task_list, **sections}
        if settings:
            document["settings"] = settings
        rules_document.apply(db.session, org, document, Actor(org.id, via="cli"), WEDNESDAY)
        db.session.commit()


def lead_for(app, tenant, now=WEDNESDAY, **fields) -> int:
    fields.setdefault("assignee_id", tenant.agent.id)
    return make_lead(app, tenant.org.id, now=now, **fields)


def fire_due(now: datetime) -> list[str]:
    outcomes = []
    for timer_id in clock_steps.due_ids(db.session, now):
        outcome = clock_steps.fire(db.session, timer_id, now)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def change(app, lead_id: int, user_id: int, now: datetime, **fields) -> None:
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        org = db.session.get(Organization, lead.org_id)
        actor = Actor(org.id, user=db.session.get(User, user_id))
        leads.update_fields(db.session, org, lead, fields, actor, now)
        db.session.commit()


def set_status(app, lead_id: int, user_id: int, name: str, now: datetime) -> None:
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        status = db.session.scalars(
            select(LeadStatus).where(LeadStatus.org_id == lead.org_id, LeadStatus.name == name)
        ).one()
        actor = Actor(lead.org_id, user=db.session.get(User, user_id))
        leads.change_status(db.session, lead, status, actor, now)
        db.session.commit()


def reminders(user_id: int | None = None, event: str = "task_reminder") -> list[Notification]:
    stmt = select(Notification).where(Notification.event == event)
    if user_id is not None:
        stmt = stmt.where(Notification.recipient_id == user_id)
    return list(db.session.scalars(stmt))


def steps_told(user_id: int, event: str = "task_reminder") -> int:
    """How many separate alerts (one per firing, whatever the channels) reached someone."""
    return len({n.dedupe_key.rsplit(":", 1)[0] for n in reminders(user_id, event)})


def fired(lead_id: int, kind: str = "task_fired") -> list[str]:
    return [
        e.data["text"]
        for e in db.session.scalars(
            select(LeadEvent)
            .where(LeadEvent.lead_id == lead_id, LeadEvent.kind == kind)
            .order_by(LeadEvent.id)
        )
    ]


def task_timers(lead_id: int, state: TimerState | None = None) -> list[Timer]:
    stmt = select(Timer).where(Timer.lead_id == lead_id, Timer.kind == TimerKind.TASK.value)
    if state is not None:
        stmt = stmt.where(Timer.state == state)
    return list(db.session.scalars(stmt.order_by(Timer.fire_at, Timer.id)))


WEB = {"field": "source", "op": "is", "value": "web"}


# -- the nine scenarios ---------------------------------------------------------------------


def test_1_internet_leads_followed_up_in_5_minutes_else_round_robin_and_alert(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Internet leads in 5 minutes",
                "when": WEB,
                "trigger": "created",
                "until": "status_changed",
                "within": "5m",
                "business_time": False,
                "then": [{"reassign": {"team": "Inside Sales", "channels": ["sms", "email"]}}],
            }
        ],
    )
    slow = lead_for(app, tenant, source="web")
    quick = lead_for(app, tenant, source="web")
    phone = lead_for(app, tenant, source="phone")
    set_status(app, quick, tenant.agent.id, "Contacted", WEDNESDAY + timedelta(minutes=2))
    with app.app_context():
        assert fire_due(WEDNESDAY + timedelta(minutes=4, seconds=59)) == []
        [text] = fire_due(WEDNESDAY + timedelta(minutes=5))
        assert text == (
            "Task “Internet leads in 5 minutes”: the status did not change within 5 min → "
            "reassigned to Ines Inside (from Inside Sales), by SMS and E-mail"
        )
        assert db.session.get(Lead, slow).assignee_id == office["ines"]
        assert db.session.get(Lead, quick).assignee_id == tenant.agent.id
        assert db.session.get(Lead, phone).assignee_id == tenant.agent.id
        assert {n.channel for n in reminders(office["ines"], "lead_reassigned")} == {"sms", "email"}
        [met] = task_timers(quick)
        assert met.state == TimerState.DONE and met.outcome == "met: the status changed"
        assert task_timers(phone) == []


def test_2_stalled_progress_emails_rep_and_manager(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Sales progress stalled",
                "trigger": "status_changed",
                "until": "status_changed",
                "within": "14d",
                "business_time": False,
                "then": [{"notify": {"to": ["assignee", "manager"], "channels": ["email"]}}],
            }
        ],
    )
    stalled = lead_for(app, tenant)
    moving = lead_for(app, tenant)
    for lead_id in (stalled, moving):
        set_status(app, lead_id, tenant.agent.id, "Contacted", WEDNESDAY)
    set_status(app, moving, tenant.agent.id, "Qualified", WEDNESDAY + 7 * DAY)
    with app.app_context():
        [text] = fire_due(WEDNESDAY + 14 * DAY)
        assert "the status did not change within 14 days" in text
        assert "Agent Acme, Storeboss Acme told, by E-mail" in text
        assert fired(moving) == []
        assert steps_told(tenant.agent.id) == 1 and steps_told(tenant.store_manager.id) == 1
        [mail] = reminders(tenant.store_manager.id)
        assert mail.channel == "email" and mail.lead_id == stalled
        # The lead that moved on at day 7 gets its own two weeks from then.
        assert fire_due(WEDNESDAY + 20 * DAY) == []
        [text] = fire_due(WEDNESDAY + 21 * DAY)
        assert fired(moving) == [text]


def test_3_value_not_entered_within_two_weeks_of_assignment(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Size the opportunity",
                "trigger": "assigned",
                "until": {"filled": "value"},
                "within": "14d",
                "business_time": False,
                "then": [
                    {"notify": {"to": ["manager"], "cc": ["assignee"], "channels": ["email"]}}
                ],
            }
        ],
    )
    empty = lead_for(app, tenant)
    sized = lead_for(app, tenant)
    change(app, sized, tenant.agent.id, WEDNESDAY + 3 * DAY, value="12000")
    with app.app_context():
        [text] = fire_due(WEDNESDAY + 14 * DAY)
        assert "value was not filled in within 14 days" in text
        assert "Storeboss Acme (cc Agent Acme) told, by E-mail" in text
        assert [n.lead_id for n in reminders(tenant.store_manager.id)] == [empty]
        assert [n.lead_id for n in reminders(tenant.agent.id)] == [empty]
        assert fired(sized) == []


def test_4_small_deals_go_to_inside_sales(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Small deals to Inside Sales",
                "when": {"field": "value", "op": "lt", "value": 5000},
                "trigger": {"field_changed": "value"},
                "until": "nothing",
                "within": "0s",
                "then": [{"reassign": {"team": "Inside Sales"}}],
            }
        ],
    )
    small = lead_for(app, tenant)
    big = lead_for(app, tenant)
    later = WEDNESDAY + timedelta(hours=1)
    change(app, small, tenant.agent.id, later, value="1200")
    change(app, big, tenant.agent.id, later, value="20000")
    with app.app_context():
        [text] = fire_due(later)
        assert text.endswith("→ reassigned to Ines Inside (from Inside Sales)")
        assert db.session.get(Lead, small).assignee_id == office["ines"]
        assert db.session.get(Lead, big).assignee_id == tenant.agent.id
        assert task_timers(big) == []  # its value is not small: the task never started
        assert steps_told(office["ines"], "lead_reassigned") == 1  # told as usual


def test_5_not_closed_in_60_days_to_manager_in_90_to_inside_sales(app, office):
    tenant = office["tenant"]
    not_closed = {"trigger": "created", "until": "closed", "business_time": False}
    apply(
        app,
        tenant,
        [
            {
                "name": "60 days: manager reviews",
                **not_closed,
                "within": "60d",
                "then": [{"reassign": "manager"}],
            },
            {
                "name": "90 days: Inside Sales",
                **not_closed,
                "within": "90d",
                "then": [
                    {"notify": {"to": ["manager"]}},
                    {"reassign": {"team": "Inside Sales"}},
                ],
            },
        ],
    )
    open_deal = lead_for(app, tenant)
    won = lead_for(app, tenant)
    set_status(app, won, tenant.agent.id, "Won", WEDNESDAY + 30 * DAY)
    with app.app_context():
        [text] = fire_due(WEDNESDAY + 60 * DAY)
        assert "reassigned to Storeboss Acme (manager)" in text
        assert db.session.get(Lead, open_deal).assignee_id == tenant.store_manager.id
        [text] = fire_due(WEDNESDAY + 90 * DAY)
        assert "Storeboss Acme told" in text and "reassigned to Ines Inside" in text
        assert db.session.get(Lead, open_deal).assignee_id == office["ines"]
        assert steps_told(tenant.store_manager.id) == 1
        assert fired(won) == []


def test_6_not_updated_each_week_tells_the_manager(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Weekly touch",
                "trigger": "idle",
                "within": "7d",
                "business_time": False,
                "then": [
                    {"notify": {"to": ["manager"], "message": "Nobody worked on it this week"}}
                ],
                "repeat": {"every": "7d", "until": "365d"},
            }
        ],
    )
    lead_id = lead_for(app, tenant)
    with app.app_context():
        [text] = fire_due(WEDNESDAY + 7 * DAY)
        assert text.startswith("Task “Weekly touch”: nobody updated the lead within 7 days")
        [first] = {n.context["details"]["task"] for n in reminders(tenant.store_manager.id)}
        assert first == "Nobody worked on it this week"
    with app.app_context():  # the agent logs a call on day 9: the week starts again
        lead = db.session.get(Lead, lead_id)
        agent = db.session.get(User, tenant.agent.id)
        leads.add_activity(
            db.session, lead, Actor(lead.org_id, user=agent), WEDNESDAY + 9 * DAY, kind="call"
        )
        db.session.commit()
        assert fire_due(WEDNESDAY + 14 * DAY) == []
        [text] = fire_due(WEDNESDAY + 16 * DAY)
        assert "nobody updated the lead" in text
        [again] = fire_due(WEDNESDAY + 23 * DAY)
        assert "(repeat 1)" in again
        assert steps_told(tenant.store_manager.id) == 3


def test_7_demo_checkbox_not_ticked_within_a_week(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Demo completed",
                "when": {"field": "intake_form", "op": "is", "value": "Demo request"},
                "trigger": "assigned",
                "until": {"ticked": "custom.demo_completed"},
                "within": "7d",
                "business_time": False,
                "then": [
                    {
                        "notify": {
                            "to": ["assignee"],
                            "cc": ["manager"],
                            "channels": ["email"],
                            "message": "The customer asked for a demo",
                        }
                    }
                ],
            }
        ],
        assignment=[
            {
                "name": "Demos round-robin",
                "when": {"field": "intake_form", "op": "is", "value": "Demo request"},
                "assign": {"team": "Main Street", "hours": False},
            }
        ],
    )
    no_demo = make_lead(app, tenant.org.id, now=WEDNESDAY, source="web", intake_form="Demo request")
    demo = make_lead(app, tenant.org.id, now=WEDNESDAY, source="web", intake_form="Demo request")
    with app.app_context():
        assert db.session.get(Lead, no_demo).assignee_id == tenant.agent.id  # round-robin
    change(app, demo, tenant.agent.id, WEDNESDAY + 2 * DAY, custom={"demo_completed": True})
    with app.app_context():
        [text] = fire_due(WEDNESDAY + 7 * DAY)
        assert "custom.demo_completed was not ticked within 7 days" in text
        assert "Agent Acme (cc Storeboss Acme) told, by E-mail" in text
        assert {n.lead_id for n in reminders()} == {no_demo}
        assert fired(demo) == []


def test_8_could_not_reach_reminds_every_two_days_then_inside_sales(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Could not reach",
                "trigger": {"status_changed": "Could not reach"},
                "until": "status_changed",
                "within": "2d",
                "business_time": False,
                "then": [{"notify": {"to": ["assignee"], "message": "Call them again"}}],
                "repeat": {"every": "2d", "until": "30d"},
                "finally": [{"reassign": {"team": "Inside Sales"}}],
            }
        ],
    )
    lead_id = lead_for(app, tenant)
    set_status(app, lead_id, tenant.agent.id, "Could not reach", WEDNESDAY)
    with app.app_context():
        for day in range(1, 31):
            fire_due(WEDNESDAY + day * DAY)
        texts = fired(lead_id)
        assert len(texts) == 15  # days 2, 4, … 28, then day 30
        assert steps_told(tenant.agent.id) == 14
        assert texts[-1].endswith("→ reassigned to Ines Inside (from Inside Sales)")
        assert "repeats over" in texts[-1]
        assert db.session.get(Lead, lead_id).assignee_id == office["ines"]
        assert task_timers(lead_id, TimerState.PENDING) == []


def test_8_reaching_them_stops_the_reminders(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Could not reach",
                "trigger": {"status_changed": "Could not reach"},
                "within": "2d",
                "business_time": False,
                "then": [{"notify": {"to": ["assignee"]}}],
                "repeat": {"every": "2d", "until": "30d"},
                "finally": [{"reassign": {"team": "Inside Sales"}}],
            }
        ],
    )
    lead_id = lead_for(app, tenant)
    set_status(app, lead_id, tenant.agent.id, "Could not reach", WEDNESDAY)
    with app.app_context():
        fire_due(WEDNESDAY + 2 * DAY)
    set_status(app, lead_id, tenant.agent.id, "Qualified", WEDNESDAY + 3 * DAY)
    with app.app_context():
        for day in range(4, 31):
            fire_due(WEDNESDAY + day * DAY)
        assert len(fired(lead_id)) == 1
        assert db.session.get(Lead, lead_id).assignee_id == tenant.agent.id


def test_9_value_within_a_week_else_reassigned_big_deals_tell_the_manager(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Lead value",
                "trigger": "assigned",
                "until": {"filled": "value"},
                "within": "7d",
                "business_time": False,
                "then": [{"reassign": {"team": "Inside Sales"}}],
                "if_met": {
                    "when": {"field": "value", "op": "gte", "value": 50000},
                    "then": [{"notify": {"to": ["manager"], "message": "A big deal"}}],
                },
            }
        ],
    )
    big = lead_for(app, tenant)
    small = lead_for(app, tenant)
    zero = lead_for(app, tenant)
    never = lead_for(app, tenant)
    change(app, big, tenant.agent.id, WEDNESDAY + 2 * DAY, value="80000")
    change(app, small, tenant.agent.id, WEDNESDAY + 2 * DAY, value="1000")
    change(app, zero, tenant.agent.id, WEDNESDAY + 2 * DAY, value="0")
    with app.app_context():
        # The big deal is told at once, in the change's own transaction.
        assert {n.lead_id for n in reminders(tenant.store_manager.id)} == {big}
        assert steps_told(tenant.store_manager.id) == 1
        [met] = fired(big)
        assert met.startswith("Task “Lead value” met: value was filled in → Storeboss Acme told")
        texts = fire_due(WEDNESDAY + 7 * DAY)
        assert len(texts) == 2  # $0 is not a value; never entered is not either
        for lead_id in (zero, never):
            assert db.session.get(Lead, lead_id).assignee_id == office["ines"]
        for lead_id in (big, small):
            assert db.session.get(Lead, lead_id).assignee_id == tenant.agent.id
        assert fired(small) == []


# -- runaway protection ---------------------------------------------------------------------


def hourly_nag(**overrides) -> dict:
    task = {
        "name": "Hourly nag",
        "trigger": "created",
        "until": "nothing",
        "within": "1m",
        "business_time": False,
        "then": [{"notify": {"to": ["assignee"], "channels": ["in_app"]}}],
        "repeat": {"every": "1h", "times": 10},
    }
    task.update(overrides)
    return task


def test_the_daily_cap_holds_back_a_runaway_task(app, office):
    tenant = office["tenant"]
    apply(app, tenant, [hourly_nag()], settings={"task_daily_cap": 3})
    lead_id = lead_for(app, tenant)
    with app.app_context():
        for hour in range(0, 11):
            fire_due(WEDNESDAY + timedelta(hours=hour, minutes=1))
        assert steps_told(tenant.agent.id) == 3
        held = fired(lead_id, "task_held")
        assert len(held) == 8
        assert "already acted 3 times on this lead in 24 hours" in held[0]


def test_pause_all_holds_every_task_and_resume_lets_them_act(app, office):
    tenant = office["tenant"]
    apply(app, tenant, [hourly_nag()])
    lead_id = lead_for(app, tenant)
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        tasks.set_paused(db.session, org, True, Actor(org.id, via="web"), WEDNESDAY)
        db.session.commit()
        assert fire_due(WEDNESDAY + timedelta(minutes=1)) == ["held: all tasks are paused"]
        assert reminders() == [] and fired(lead_id) == []
        tasks.set_paused(db.session, org, False, Actor(org.id, via="web"), WEDNESDAY)
        db.session.commit()
        [text] = fire_due(WEDNESDAY + timedelta(hours=1, minutes=1))
        assert "(repeat 1)" in text and steps_told(tenant.agent.id) == 1


def test_the_preview_counts_leads_and_warns_about_messages(app, office):
    tenant = office["tenant"]
    for n in range(40):
        lead_for(app, tenant, source="web" if n < 35 else "phone", phones=f"030 55501{n:02d}")
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        clean = rules_document.read(db.session, org, {"tasks": [hourly_nag(when=WEB)]})
        [rule] = clean[tasks.RuleKind.TASK]
        preview = tasks.preview(db.session, org, rule, WEDNESDAY)
        assert preview.leads_now == 35 and preview.looked_at == 40
        assert preview.messages_per_day == 35 * 1 * 3  # capped at 3 a day per lead
        assert preview.warning == ""
        wide = {
            "tasks": [
                hourly_nag(
                    when=WEB,
                    then=[{"notify": {"to": ["assignee", "manager"], "channels": ["sms"]}}],
                )
            ],
            "settings": {"task_daily_cap": 10},
        }
        [rule] = rules_document.read(db.session, org, wide)[tasks.RuleKind.TASK]
        preview = tasks.preview(db.session, org, rule, WEDNESDAY)
        assert preview.messages_per_day == 35 * 2 * 3  # the organization's cap, not the draft's
        assert "about 210 messages a day" in preview.warning


# -- editing and deleting tasks -------------------------------------------------------------


def test_editing_a_task_moves_its_pending_checks_and_deleting_cancels_them(app, office):
    tenant = office["tenant"]
    task = {
        "name": "Five minutes",
        "trigger": "created",
        "within": "5m",
        "business_time": False,
        "then": [{"notify": {"to": ["assignee"]}}],
    }
    apply(app, tenant, [task])
    lead_id = lead_for(app, tenant)
    with app.app_context():
        [timer] = task_timers(lead_id, TimerState.PENDING)
        assert timer.fire_at == WEDNESDAY + timedelta(minutes=5)
    apply(app, tenant, [{**task, "within": "10m"}])
    with app.app_context():
        [timer] = task_timers(lead_id, TimerState.PENDING)
        assert timer.fire_at == WEDNESDAY + timedelta(minutes=10)
        assert fire_due(WEDNESDAY + timedelta(minutes=5)) == []
    apply(app, tenant, [{**task, "enabled": False}])
    with app.app_context():
        assert task_timers(lead_id, TimerState.PENDING) == []
        assert task_timers(lead_id)[-1].outcome == "the task was switched off"
    apply(app, tenant, [task])
    other = lead_for(app, tenant)
    apply(app, tenant, [])
    with app.app_context():
        [timer] = task_timers(other)
        assert timer.state == TimerState.CANCELLED and timer.outcome == "the task was deleted"
        assert fire_due(WEDNESDAY + DAY) == []


def test_tasks_travel_in_the_rules_document(app, office):
    tenant = office["tenant"]
    task = {
        "name": "Could not reach",
        "enabled": True,
        "when": {"all": [WEB]},
        "trigger": {"status_changed": "Could not reach"},
        "until": "status_changed",
        "within": "2d",
        "business_time": True,
        "then": [
            {
                "notify": {
                    "to": ["assignee"],
                    "cc": ["storeboss@acme.example.com"],
                    "channels": ["email"],
                    "message": "Call",
                }
            },
            {"tag": "chase"},
            {"follow_up": "1d"},
            {"status": "Follow-up"},
            {"set": {"field": "temperature", "value": "cold"}},
        ],
        "repeat": {"every": "2d", "until": "30d"},
        "finally": [{"reassign": {"team": "Inside Sales", "method": "fewest_open"}}],
        "if_met": {"when": {"all": [WEB]}, "then": [{"reassign": "supervisor"}]},
    }
    apply(app, tenant, [task], settings={"task_daily_cap": 4})
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        exported = rules_document.export(db.session, org)
        [out] = exported["tasks"]
        assert out == task
        assert exported["settings"]["task_daily_cap"] == 4
        text = rules_document.dump(exported)
        assert rules_document.export(db.session, org) == rules_document.parse(text) | {}


@pytest.mark.parametrize(
    ("task", "path", "words"),
    [
        ({"trigger": "whenever"}, "tasks[0].trigger", "trigger is one of created"),
        ({"trigger": {"field_changed": "colour"}}, "tasks[0].trigger", "unknown field 'colour'"),
        ({"trigger": {"status_changed": "Sleeping"}}, "tasks[0].trigger", "names a status"),
        ({"until": {"status": "sleeping"}}, "tasks[0].until", "status is a category"),
        ({"until": {"filled": "budget"}}, "tasks[0].until", "unknown field 'budget'"),
        ({"within": "soon"}, "tasks[0].within", "give within as a duration"),
        ({"then": []}, "tasks[0].then", "give a list of 1 to 8 actions"),
        ({"then": [{"explode": True}]}, "tasks[0].then[0]", "an action is one of reassign"),
        (
            {"then": [{"notify": {"to": ["nobody@x.example"]}}]},
            "tasks[0].then[0].notify.to",
            "nobody here has the e-mail",
        ),
        (
            {"then": [{"notify": {"to": ["assignee"], "channels": ["pigeon"]}}]},
            "tasks[0].then[0].notify.channels",
            "channels are",
        ),
        (
            {"then": [{"reassign": {"team": "Atlantis"}}]},
            "tasks[0].then[0].reassign",
            "there is no unit “Atlantis”",
        ),
        ({"then": [{"status": "Sleeping"}]}, "tasks[0].then[0].status", "the status is one of"),
        (
            {"repeat": {"every": "10s", "until": "1d"}},
            "tasks[0].repeat.every",
            "at most once a minute",
        ),
        ({"repeat": {"every": "2d"}}, "tasks[0].repeat", "repeat is {every: 2d, until: 30d}"),
        ({"finally": [{"tag": "late"}]}, "tasks[0].finally", "add repeat"),
        (
            {
                "if_met": {
                    "when": {"field": "value", "op": "gte", "value": "lots"},
                    "then": [{"tag": "x"}],
                }
            },
            "tasks[0].if_met.when",
            "is not a number",
        ),
        ({"colour": "red"}, "tasks[0].colour", "unknown key"),
    ],
)
def test_bad_task_definitions_get_precise_errors(app, office, task, path, words):
    tenant = office["tenant"]
    good = {
        "name": "A task",
        "trigger": "created",
        "within": "5m",
        "then": [{"notify": {"to": ["assignee"]}}],
    }
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        with pytest.raises(ValidationError) as caught:
            rules_document.apply(
                db.session, org, {"tasks": [{**good, **task}]}, Actor(org.id, via="cli"), WEDNESDAY
            )
        db.session.rollback()
        assert path in caught.value.errors, caught.value.errors
        assert words in caught.value.errors[path]
        assert "rule 'A task'" in caught.value.errors[path]


# -- personal reminders ---------------------------------------------------------------------


def test_a_rep_is_reminded_when_a_lead_is_not_updated_in_30_days(app, office):
    tenant = office["tenant"]
    quiet = lead_for(app, tenant)
    busy = lead_for(app, tenant)
    with app.app_context():
        agent = db.session.get(User, tenant.agent.id)
        for lead_id in (quiet, busy):
            tasks.remind_me(db.session, db.session.get(Lead, lead_id), agent, 30, WEDNESDAY)
        db.session.commit()
        with pytest.raises(ValidationError) as caught:
            tasks.remind_me(db.session, db.session.get(Lead, quiet), agent, 0, WEDNESDAY)
        assert "days" in caught.value.errors
        db.session.rollback()
    change(app, busy, tenant.agent.id, WEDNESDAY + 10 * DAY, company="Busy GmbH")
    with app.app_context():
        assert fire_due(WEDNESDAY + 29 * DAY) == []
        [text] = fire_due(WEDNESDAY + 30 * DAY)
        assert text.startswith(
            "Task “Reminder for Agent Acme”: nobody updated the lead within 30 days"
        )
        [alert] = {n.context["details"]["task"] for n in reminders(tenant.agent.id)}
        assert alert == "Pat Doe has not been updated in 30 days"
        assert fired(busy) == []
        [note] = fired(quiet, "reminder_set")
        assert note.startswith("Reminder set: tell Agent Acme if nobody updates the lead")


def test_pending_checks_say_what_they_will_do(app, office):
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Internet leads in 5 minutes",
                "when": WEB,
                "within": "5m",
                "business_time": False,
                "then": [{"reassign": {"team": "Inside Sales"}}],
            }
        ],
    )
    lead_id = lead_for(app, tenant, source="web")
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        [check] = tasks.pending_for(db.session, org, db.session.get(Lead, lead_id))
        assert check.name == "Internet leads in 5 minutes"
        assert check.words == "if the status did not change: reassign to a team member"
        assert check.timer.fire_at == WEDNESDAY + timedelta(minutes=5)


# -- on a schedule --------------------------------------------------------------------------


def test_a_task_on_a_schedule_starts_once_per_slot_for_matching_open_leads(app, office):
    """Every Monday at 09:00 Berlin time, open web leads not updated within a day → the
    manager is told. WEDNESDAY is 15 May 2030; the next Monday is the 20th."""
    tenant = office["tenant"]
    apply(
        app,
        tenant,
        [
            {
                "name": "Monday review",
                "when": WEB,
                "trigger": {"schedule": {"at": "09:00", "days": ["mon"]}},
                "until": "updated",
                "within": "1d",
                "business_time": False,
                "then": [{"notify": {"to": ["manager"], "message": "Review this lead"}}],
            }
        ],
    )
    quiet = lead_for(app, tenant, source="web")
    busy = lead_for(app, tenant, source="web")
    phone = lead_for(app, tenant, source="phone")
    closed = lead_for(app, tenant, source="web")
    set_status(app, closed, tenant.agent.id, "Won", WEDNESDAY + DAY)
    monday_9 = datetime(2030, 5, 20, 7, 0, tzinfo=UTC)  # 09:00 in Berlin (summer time)
    with app.app_context():
        assert tasks.run_schedules(db.session, monday_9 - timedelta(minutes=1)) == 0
        assert tasks.run_schedules(db.session, monday_9 + timedelta(seconds=30)) == 2
        assert tasks.run_schedules(db.session, monday_9 + timedelta(minutes=1)) == 0  # once
        assert [t.fire_at for t in task_timers(quiet)] == [monday_9 + timedelta(seconds=30) + DAY]
        assert task_timers(phone) == [] and task_timers(closed) == []
        tuesday = monday_9 + DAY
        assert tasks.run_schedules(db.session, tuesday + timedelta(minutes=1)) == 0
    change(app, busy, tenant.agent.id, monday_9 + timedelta(hours=2), company="Busy GmbH")
    with app.app_context():
        [text] = fire_due(monday_9 + timedelta(seconds=30) + DAY)
        assert "nobody updated the lead within 1 day" in text
        assert {n.lead_id for n in reminders(tenant.store_manager.id)} == {quiet}


def test_a_new_scheduled_task_waits_for_its_next_slot(app, office):
    tenant = office["tenant"]
    lead_for(app, tenant, source="web")
    monday_10 = datetime(2030, 5, 20, 8, 0, tzinfo=UTC)
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        task = {
            "name": "Daily nine",
            "trigger": {"schedule": {"at": "09:00"}},
            "within": "1h",
            "then": [{"notify": {"to": ["assignee"]}}],
        }
        rules_document.apply(db.session, org, {"tasks": [task]}, Actor(org.id), monday_10)
        db.session.commit()
        assert tasks.run_schedules(db.session, monday_10 + timedelta(minutes=1)) == 0
        assert tasks.run_schedules(db.session, monday_10 + timedelta(days=1)) == 1


@pytest.mark.parametrize(
    ("schedule", "path", "words"),
    [
        ({"at": "9am"}, "tasks[0].trigger.schedule.at", "at is a time of day, HH:MM"),
        ({"at": "09:00", "days": ["someday"]}, "tasks[0].trigger.schedule.days", "days are mon"),
        ({"days": ["mon"]}, "tasks[0].trigger.schedule", "schedule is {at: HH:MM"),
    ],
)
def test_bad_schedules_get_precise_errors(app, office, schedule, path, words):
    tenant = office["tenant"]
    task = {
        "name": "A task",
        "trigger": {"schedule": schedule},
        "within": "5m",
        "then": [{"notify": {"to": ["assignee"]}}],
    }
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        with pytest.raises(ValidationError) as caught:
            rules_document.apply(db.session, org, {"tasks": [task]}, Actor(org.id), WEDNESDAY)
        db.session.rollback()
        assert words in caught.value.errors[path]
