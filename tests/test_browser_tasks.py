"""The task manager in a real browser: a task built with the sentence-style form (the shared
condition builder, a preview before saving), the list's pause switches swapping without a
reload, a rep's reminder from the lead page, and the pages at laptop and phone widths.
Also writes docs/screenshot-tasks.png and docs/screenshot-task-edit.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from leadtrack.extensions import db
from leadtrack.models import Organization
from leadtrack.services import rules_document
from tests.test_browser import PHONE, assert_not_reloaded, mark_page, sign_in
from tests.test_browser_clock_rules import _apply, _shoot, settled

from .support.browser import ARTIFACTS
from .support.leads import make_lead

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _task_names(app, tenant) -> list[tuple[str, bool]]:
    with app.app_context():
        doc = rules_document.export(db.session, db.session.get(Organization, tenant.org.id))
        db.session.rollback()
        return [(t["name"], t["enabled"]) for t in doc["tasks"]]


def test_a_task_built_and_previewed_in_the_form(page: Page, app, live_server, tenant):
    for n in range(2):
        make_lead(app, tenant.org.id, source="web", phones=f"030 555030{n}")
    sign_in(page, tenant.admin.email)
    page.get_by_role("banner").get_by_role("link", name="Rules", exact=True).click()
    page.get_by_role("navigation", name="Rules").get_by_role("link", name="Tasks").click()
    expect(page.get_by_text("No tasks yet.")).to_be_visible()
    page.get_by_role("button", name="New task").first.click()
    expect(page).to_have_url(f"{live_server}/settings/tasks/new")
    expect(page.get_by_label("Name *")).to_be_focused()
    page.keyboard.type("Web leads in 5 minutes")

    row = page.locator("#cond-rows .cond-row").first
    settled(row)
    row.get_by_label("Field").select_option("source")
    expect(row.get_by_label("Comparison for Source")).to_be_visible()
    settled(row)
    row.get_by_label("Source", exact=True).select_option("web")

    page.get_by_label("Start the clock when").select_option("created")
    page.get_by_label("If", exact=True).select_option("status_changed")
    page.get_by_label("Time allowed", exact=True).fill("5")
    page.get_by_label("Time allowed: unit").select_option("minutes")
    page.get_by_label("around the clock").check()
    page.locator("#do_notify").uncheck()
    page.locator("#do_reassign").check()
    page.locator("#reassign_to").select_option("team:Main Street")

    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#task-preview")).to_contain_text("2 open leads match now")

    page.get_by_role("button", name="Save task").click()
    expect(page).to_have_url(f"{live_server}/settings/tasks")
    expect(page.get_by_text("Saved “Web leads in 5 minutes”.")).to_be_visible()
    expect(page.locator(".task-sentence")).to_contain_text(
        "If the status did not change within 5 min after the lead arrived, then reassign"
    )
    assert _task_names(app, tenant) == [("Web leads in 5 minutes", True)]


def test_pause_switches_swap_without_a_reload(page: Page, app, live_server, tenant):
    _apply(
        app,
        tenant,
        {
            "tasks": [
                {
                    "name": "Nag",
                    "within": "1h",
                    "then": [{"notify": {"to": ["assignee"]}}],
                }
            ]
        },
    )
    sign_in(page, tenant.admin.email)
    page.goto("/settings/tasks")
    mark_page(page)
    page.get_by_label("Nag active").uncheck()
    expect(page.get_by_text("Paused “Nag”")).to_be_visible()
    page.get_by_label("Pause all tasks").check()
    expect(page.locator(".pause-all")).to_have_class(re.compile(r"\bis-paused\b"))
    assert_not_reloaded(page)
    assert _task_names(app, tenant) == [("Nag", False)]


def test_a_rep_sets_a_reminder_without_leaving_the_lead(page: Page, app, live_server, tenant):
    lead_id = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
    sign_in(page, tenant.agent.email)
    page.goto(f"/leads/{lead_id}")
    mark_page(page)
    page.get_by_label("Remind me if nobody updates this lead in").fill("14")
    page.get_by_role("button", name="Remind me").click()
    expect(page.locator("#lead-tasks")).to_contain_text("Reminder for Agent Acme")
    expect(page.locator("#timeline")).to_contain_text("Reminder set: tell Agent Acme")
    assert_not_reloaded(page)


def test_screenshots_and_the_phone_width(browser, app, live_server, tenant):
    _apply(
        app,
        tenant,
        {
            "tasks": [
                {
                    "name": "Internet leads in 5 minutes",
                    "when": {"field": "source", "op": "is", "value": "web"},
                    "within": "5m",
                    "business_time": False,
                    "then": [{"reassign": {"team": "Main Street", "channels": ["sms", "email"]}}],
                },
                {
                    "name": "Could not reach",
                    "trigger": {"status_changed": "Could not reach"},
                    "within": "2d",
                    "then": [{"notify": {"to": ["assignee"], "message": "Call them again"}}],
                    "repeat": {"every": "2d", "until": "30d"},
                    "finally": [{"reassign": "manager"}],
                },
                {
                    "name": "Lead value",
                    "trigger": "assigned",
                    "until": {"filled": "value"},
                    "within": "7d",
                    "then": [{"notify": {"to": ["manager"], "cc": ["assignee"]}}],
                    "if_met": {
                        "when": {"field": "value", "op": "gte", "value": 50000},
                        "then": [{"notify": {"to": ["manager"]}}],
                    },
                },
            ]
        },
    )
    laptop = _shoot(browser, live_server, tenant, "/settings/tasks", 1280, 800)
    (DOCS / "screenshot-tasks.png").write_bytes(laptop)
    with app.app_context():
        from leadtrack.models import RoutingRule

        task_id = db.session.query(RoutingRule.id).filter_by(name="Could not reach").scalar()
    edit = _shoot(browser, live_server, tenant, f"/settings/tasks/{task_id}", 1280, 800)
    (DOCS / "screenshot-task-edit.png").write_bytes(edit)
    ARTIFACTS.mkdir(exist_ok=True)
    for url, name in (
        ("/settings/tasks", "tasks-phone.png"),
        (f"/settings/tasks/{task_id}", "task-edit-phone.png"),
    ):
        shot = _shoot(browser, live_server, tenant, url, PHONE["width"], PHONE["height"])
        (ARTIFACTS / name).write_bytes(shot)
