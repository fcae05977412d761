"""The task manager's pages (/settings/tasks) and the lead page's tasks and reminders.

Only people with `manage_rules` get in; another organization's tasks are 404. The builder
saves a task into the rules document; a bad one re-renders with its messages (422) and
stores nothing; the pause switches and delete answer with the list (htmx); the preview
counts the leads a draft watches."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import Organization, RoutingRule, RuleKind, Timer, TimerKind, TimerState
from leadtrack.services import rule_book, rules_document
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead

PAGE = "/settings/tasks"

FIVE_MINUTES = {
    "name": "Internet leads in 5 minutes",
    "enabled": "on",
    "combinator": "all",
    "cond": "c1",
    "cond-c1-field": "source",
    "cond-c1-op": "is",
    "cond-c1-value": "web",
    "trigger": "created",
    "until": "status_changed",
    "duration": "5",
    "duration_unit": "minutes",
    "business_time": "false",
    "do_notify": "on",
    "notify_roles": "manager",
    "channels": "email",
    "message": "Nobody called the web lead",
    "do_reassign": "on",
    "reassign_to": "team:Main Street",
    "reassign_method": "round_robin",
}


@pytest.fixture
def admin_web(web, tenant):
    web.login(tenant.admin.email, PASSWORD)
    web.get(PAGE)
    return web


def _text(response) -> str:
    return response.get_data(as_text=True)


def _apply(app, tenant, tasks: list[dict]) -> None:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        rules_document.apply(db.session, org, {"tasks": tasks}, Actor(org.id, via="cli"), utcnow())
        db.session.commit()


def _tasks(app, org_id: int) -> list[RoutingRule]:
    with app.app_context():
        rows = rule_book.rules_of(db.session, org_id, RuleKind.TASK)
        db.session.expunge_all()
        return rows


def _nag(name: str = "Nag") -> dict:
    return {
        "name": name,
        "trigger": "created",
        "within": "1h",
        "then": [{"notify": {"to": ["assignee"]}}],
    }


def test_only_rule_managers_get_in(app, web, tenant):
    web.login(tenant.agent.email, PASSWORD)
    assert web.get(PAGE).status_code == 403
    assert web.get(f"{PAGE}/new").status_code == 403
    assert web.post(f"{PAGE}/pause", {"paused": "on"}, htmx=True).status_code == 403
    assert web.post(f"{PAGE}/preview", FIVE_MINUTES, htmx=True).status_code == 403


def test_another_organizations_tasks_are_not_found(app, admin_web, tenant, other_tenant):
    _apply(app, other_tenant, [_nag("Theirs")])
    [theirs] = _tasks(app, other_tenant.org.id)
    assert admin_web.get(f"{PAGE}/{theirs.id}").status_code == 404
    assert admin_web.post(f"{PAGE}/{theirs.id}/enabled", {}, htmx=True).status_code == 404
    assert admin_web.post(f"{PAGE}/{theirs.id}/delete", htmx=True).status_code == 404
    assert [t.name for t in _tasks(app, other_tenant.org.id)] == ["Theirs"]


def test_the_empty_list_says_what_a_task_is(admin_web):
    page = _text(admin_web.get(PAGE))
    assert "No tasks yet." in page and "New task" in page
    assert "Pause all tasks" in page


def test_the_builder_saves_a_task_and_new_leads_get_its_check(app, admin_web, tenant):
    form = admin_web.get(f"{PAGE}/new")
    assert form.status_code == 200 and 'name="trigger"' in _text(form)
    response = admin_web.post(f"{PAGE}/new", FIVE_MINUTES)
    assert response.status_code == 302
    [task] = _tasks(app, tenant.org.id)
    assert task.within_seconds == 300 and task.business_time is False
    assert task.clock["trigger"] == {"type": "created"}
    assert task.conditions == {"all": [{"field": "source", "op": "is", "value": "web"}]}
    assert [a["type"] for a in task.clock["then"]] == ["notify", "reassign"]
    listing = _text(admin_web.get(PAGE))
    assert "Internet leads in 5 minutes" in listing
    assert "If the status did not change within 5 min after the lead arrived" in listing
    lead_id = make_lead(app, tenant.org.id, source="web", assignee_id=tenant.agent.id)
    walk_in = make_lead(app, tenant.org.id, phones="030 5550177", assignee_id=tenant.agent.id)
    with app.app_context():
        [timer] = db.session.scalars(select(Timer).where(Timer.lead_id == lead_id)).all()
        assert timer.kind == TimerKind.TASK and timer.rule_id == task.id
        assert db.session.scalars(select(Timer).where(Timer.lead_id == walk_in)).all() == []
    page = _text(admin_web.get(f"/leads/{lead_id}"))
    assert "Internet leads in 5 minutes" in page
    assert "if the status did not change: notify manager, reassign to a team member" in page


def test_the_builder_reopens_what_it_saved(app, admin_web, tenant):
    admin_web.post(
        f"{PAGE}/new",
        {
            **FIVE_MINUTES,
            "do_repeat": "on",
            "every": "2",
            "every_unit": "hours",
            "repeat_mode": "times",
            "times": "4",
            "final_reassign": "manager",
        },
    )
    [task] = _tasks(app, tenant.org.id)
    page = _text(admin_web.get(f"{PAGE}/{task.id}"))
    assert 'value="Internet leads in 5 minutes"' in page
    assert re.search(r'<option value="team:Main Street"\s+selected', page)
    assert re.search(r'id="mode-times" name="repeat_mode" value="times"\s+checked', page)
    # Saved again unchanged: the same task, not a new one.
    again = admin_web.post(f"{PAGE}/{task.id}", {**FIVE_MINUTES, "name": "Renamed"})
    assert again.status_code == 302
    assert [(t.id, t.name) for t in _tasks(app, tenant.org.id)] == [(task.id, "Renamed")]


def test_a_bad_task_re_renders_with_its_messages_and_stores_nothing(app, admin_web, tenant):
    bad = {**FIVE_MINUTES, "name": "", "duration": "soon", "do_reassign": "", "do_notify": ""}
    response = admin_web.post(f"{PAGE}/new", bad)
    assert response.status_code == 422
    page = _text(response)
    assert "Nothing was saved." in page
    assert "Give the rule a name." in page
    assert "give within as a duration" in page.lower()
    assert "Give a list of 1 to 8 actions" in page
    assert _tasks(app, tenant.org.id) == []


def test_pause_all_and_one_task_by_htmx(app, admin_web, tenant):
    _apply(app, tenant, [_nag()])
    [task] = _tasks(app, tenant.org.id)
    response = admin_web.post(f"{PAGE}/pause", {"paused": "on"}, htmx=True)
    assert response.status_code == 200
    assert "All tasks are paused" in _text(response) and "<html" not in _text(response)
    with app.app_context():
        assert rule_book.settings_of(db.session, tenant.org.id).tasks_paused is True
    admin_web.post(f"{PAGE}/pause", {}, htmx=True)
    with app.app_context():
        assert rule_book.settings_of(db.session, tenant.org.id).tasks_paused is False
    lead_id = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
    response = admin_web.post(f"{PAGE}/{task.id}/enabled", {}, htmx=True)
    assert "Paused “Nag”: its pending checks are cancelled." in _text(response)
    with app.app_context():
        [timer] = db.session.scalars(select(Timer).where(Timer.lead_id == lead_id)).all()
        assert timer.state == TimerState.CANCELLED
    assert [t.enabled for t in _tasks(app, tenant.org.id)] == [False]


def test_delete_answers_with_the_list(app, admin_web, tenant):
    _apply(app, tenant, [_nag("One"), _nag("Two")])
    first = _tasks(app, tenant.org.id)[0]
    response = admin_web.post(f"{PAGE}/{first.id}/delete", htmx=True)
    assert response.status_code == 200
    assert "Deleted “One”" in _text(response)
    assert [t.name for t in _tasks(app, tenant.org.id)] == ["Two"]


def test_the_preview_counts_leads_and_messages(app, admin_web, tenant):
    for n in range(3):
        make_lead(app, tenant.org.id, source="web", phones=f"030 555020{n}")
    make_lead(app, tenant.org.id, source="phone", phones="030 5550299")
    response = admin_web.post(f"{PAGE}/preview", FIVE_MINUTES, htmx=True)
    assert response.status_code == 200
    assert re.search(r"<strong>3</strong> open leads match now", _text(response))
    unfinished = admin_web.post(f"{PAGE}/preview", {**FIVE_MINUTES, "until": "filled"}, htmx=True)
    assert "Finish the task first" in _text(unfinished)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RoutingRule)) == 0


def test_a_task_the_builder_cannot_show_is_kept_as_yaml(app, admin_web, tenant):
    task = {**_nag("Two notes"), "then": [{"tag": "a"}, {"tag": "b"}]}
    _apply(app, tenant, [task])
    [row] = _tasks(app, tenant.org.id)
    page = _text(admin_web.get(f"{PAGE}/{row.id}"))
    assert "uses parts the builder does not offer" in page and "tag: b" in page
    response = admin_web.post(
        f"{PAGE}/{row.id}", {"name": "Two tags", "enabled": "on", "keep_task": "1"}
    )
    assert response.status_code == 302
    [row] = _tasks(app, tenant.org.id)
    assert row.name == "Two tags" and [a["tag"] for a in row.clock["then"]] == ["a", "b"]


def test_a_rep_sets_a_reminder_from_the_lead_page(app, web, tenant):
    lead_id = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
    web.login(tenant.agent.email, PASSWORD)
    web.get(f"/leads/{lead_id}")
    response = web.post(
        f"/leads/{lead_id}/reminders", {"days": "30", "note": "Ask about the fleet"}, htmx=True
    )
    assert response.status_code == 200
    page = _text(response)
    assert (
        "Reminder for Agent Acme" in page
        and "if nobody updated the lead: notify a named person" in page
    )
    assert "Reminder set: tell Agent Acme if nobody updates the lead within 30 days" in page
    refused = web.post(f"/leads/{lead_id}/reminders", {"days": "0"}, htmx=True)
    assert refused.status_code == 422
    assert "Give a number of days from 1 to 365." in _text(refused)


def test_the_builder_saves_a_schedule(app, admin_web, tenant):
    form = {**FIVE_MINUTES, "trigger": "schedule", "schedule_at": "08:30"}
    response = admin_web.post(f"{PAGE}/new", {**form, "schedule_days": ["mon", "thu"]})
    assert response.status_code == 302
    [task] = _tasks(app, tenant.org.id)
    assert task.clock["trigger"] == {"type": "schedule", "at": "08:30", "days": [0, 3]}
    listing = _text(admin_web.get(PAGE))
    assert "after the schedule (Mondays, Thursdays at 08:30)" in listing
    page = _text(admin_web.get(f"{PAGE}/{task.id}"))
    assert re.search(r'id="day-thu" name="schedule_days" value="thu"\s+checked', page)
    bad = admin_web.post(f"{PAGE}/{task.id}", {**form, "schedule_at": "25:00"})
    assert bad.status_code == 422
    assert "At is a time of day, HH:MM (24 hours)." in _text(bad)
