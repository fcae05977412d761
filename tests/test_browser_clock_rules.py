"""The clock rules' editor in a real browser: a response-time rule with a two-step ladder
built with the keyboard-friendly form (the shared condition builder, step rows added and
removed with htmx) and described on the list; the list's switch and arrows swap without a
reload; the pages fit a phone. Also writes docs/screenshot-clock-rules.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from leadtrack.extensions import db
from leadtrack.models import Organization, User
from leadtrack.services import rules_document
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from tests.test_browser import PHONE, assert_not_reloaded, has_horizontal_scroll, mark_page, sign_in

from .support.browser import ARTIFACTS, wait_for_htmx

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _apply(app, tenant, document: dict) -> None:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        admin = db.session.get(User, tenant.admin.id)
        rules_document.apply(db.session, org, document, Actor(org.id, user=admin), utcnow())
        db.session.commit()


def _export(app, tenant) -> dict:
    with app.app_context():
        doc = rules_document.export(db.session, db.session.get(Organization, tenant.org.id))
        db.session.rollback()
        return doc


def settled(element) -> None:
    """Wait until htmx is done and has wired up what it swapped in."""
    wait_for_htmx(element.page)
    expect(element).not_to_have_class(re.compile(r"\bhtmx-(added|settling)\b"))


def test_a_response_rule_with_a_two_step_ladder(page: Page, app, live_server, tenant):
    sign_in(page, tenant.admin.email)
    expect(page).to_have_url(f"{live_server}/")
    page.get_by_role("banner").get_by_role("link", name="Response times", exact=True).click()
    expect(page.get_by_text("No response-time rules yet: leads have no deadline.")).to_be_visible()
    page.get_by_role("button", name="New response-time rule").first.click()
    expect(page).to_have_url(f"{live_server}/settings/clock/new/response")

    expect(page.get_by_label("Name *")).to_be_focused()
    page.keyboard.type("Web leads in 2 minutes")

    # The rule editor's condition builder: source is web.
    row = page.locator("#cond-rows .cond-row").first
    settled(row)
    row.get_by_label("Field").select_option("source")
    expect(row.get_by_label("Comparison for Source")).to_be_visible()
    settled(row)
    row.get_by_label("Source", exact=True).select_option("web")

    page.get_by_label("Respond within").fill("2")
    page.locator("#rule-unit").select_option("minutes")
    page.get_by_label("Around the clock").check()
    page.get_by_label("Warn the assignee at").fill("50, 80")
    expect(page.get_by_label("“I'm on it” from an alert")).to_be_checked()

    steps = page.locator("#ladder-steps .ladder-step")
    expect(steps).to_have_count(1)
    first = steps.nth(0)
    expect(first.get_by_text("At the deadline, when nobody has responded:")).to_be_visible()
    expect(first.get_by_label("After the previous step, wait")).to_be_hidden()
    expect(first.get_by_label("Who", exact=True)).to_have_value("backup")
    first.get_by_label("SMS").check()
    expect(first.get_by_label("Mark the lead overdue")).to_be_checked()

    mark_page(page)
    page.get_by_role("button", name="+ Add step").click()
    expect(steps).to_have_count(2)
    second = steps.nth(1)
    settled(second)
    expect(page.get_by_role("group", name="Step 2")).to_have_count(1)
    expect(second.get_by_label("After the previous step, wait")).to_be_focused()
    expect(second.get_by_label("After the previous step, wait")).to_have_value("10")
    expect(second.get_by_label("Person")).to_be_hidden()
    second.get_by_label("Who", exact=True).select_option("user")
    expect(second.get_by_label("Person")).to_be_visible()
    second.get_by_label("Person").select_option(tenant.store_manager.email)
    second.get_by_label("Action").select_option("notify")
    second.get_by_label("E-mail").check()

    # A third step, then taken out again.
    page.get_by_role("button", name="+ Add step").click()
    expect(steps).to_have_count(3)
    settled(steps.nth(2))
    expect(page.get_by_role("group", name="Step 3")).to_have_count(1)
    steps.nth(1).get_by_role("button", name="Remove this step").click()
    expect(steps).to_have_count(2)
    expect(page.get_by_role("group", name="Step 2")).to_have_count(1)  # renumbered
    expect(page.get_by_role("group", name="Step 3")).to_have_count(0)
    steps.nth(1).get_by_role("button", name="Remove this step").click()
    expect(steps).to_have_count(1)
    page.get_by_role("button", name="+ Add step").click()
    expect(steps).to_have_count(2)
    second = steps.nth(1)
    settled(second)
    second.get_by_label("Who", exact=True).select_option("user")
    second.get_by_label("Person").select_option(tenant.store_manager.email)
    second.get_by_label("Action").select_option("notify")
    second.get_by_label("E-mail").check()
    assert_not_reloaded(page)

    page.get_by_role("button", name="Save rule").click()
    expect(page).to_have_url(f"{live_server}/settings/clock#response-heading")
    expect(page.get_by_text("Saved “Web leads in 2 minutes”. Version 1.")).to_be_visible()
    item = page.locator("#clock-response .rule-item").first
    expect(item).to_contain_text("Web leads in 2 minutes")
    expect(item.locator(".rule-body p")).to_have_text(
        [
            "When Source is web",
            "Respond within 2 min (around the clock)",
            "Warn at 50%, 80% of the time",
            "Answered by an activity logged by the assignee, a status change out of “new” "
            "or “I'm on it” from an alert",
            "Then at the deadline reassign to the assignee's backup by SMS, marked overdue",
            f"10 min later tell {tenant.store_manager.name} by E-mail",
        ]
    )

    (entry,) = _export(app, tenant)["response"]
    assert entry["within"] == "2m" and entry["business_time"] is False
    assert entry["ladder"] == [
        {"to": "backup", "action": "reassign", "channels": ["sms"], "overdue": True},
        {
            "after": "10m",
            "to": {"user": tenant.store_manager.email},
            "action": "notify",
            "channels": ["email"],
            "overdue": False,
        },
    ]


def test_a_refused_rule_shows_the_messages_by_the_fields(page: Page, app, live_server, tenant):
    sign_in(page, tenant.admin.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/settings/clock/new/response")
    page.get_by_label("Name *").fill("Too fast")
    page.get_by_label("Respond within").fill("0")
    page.locator("#ladder-steps .ladder-step").first.get_by_role(
        "button", name="Remove this step"
    ).click()
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator("#err-duration")).to_have_text("Give a time from 1 second to 400 days.")
    expect(page.locator("#err-ladder")).to_contain_text("Add at least one step")
    expect(page.get_by_label("Respond within")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name *")).to_have_value("Too fast")
    assert _export(app, tenant)["response"] == []


def test_switch_and_arrows_swap_the_section(page: Page, app, live_server, tenant):
    _apply(
        app,
        tenant,
        {
            "reclaim": [
                {"name": "Web use it or lose it", "within": "30m"},
                {"name": "Phone use it or lose it", "within": "2h"},
            ]
        },
    )
    sign_in(page, tenant.admin.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/settings/clock")
    mark_page(page)
    section = page.locator("#clock-reclaim")
    page.get_by_role("switch", name="Web use it or lose it enabled").uncheck()
    expect(section.get_by_role("status")).to_contain_text("Disabled “Web use it or lose it”.")
    expect(section.locator(".rule-item").first).to_contain_text("Disabled: skipped")
    page.get_by_role("button", name="Move Phone use it or lose it up").click()
    expect(section.get_by_role("status")).to_contain_text("Moved “Phone use it or lose it” up.")
    expect(section.locator(".rule-name")).to_have_text(
        ["Phone use it or lose it", "Web use it or lose it"]
    )
    assert_not_reloaded(page)


# -- screenshots ----------------------------------------------------------------------------


def _demo_rules(app, tenant) -> None:
    _apply(
        app,
        tenant,
        {
            "response": [
                {
                    "name": "Web leads in 5 minutes",
                    "when": {"field": "source", "op": "is", "value": "web"},
                    "within": "5m",
                    "warnings": [50, 80],
                    "ladder": [
                        {
                            "to": "backup",
                            "action": "reassign",
                            "channels": ["sms"],
                            "overdue": True,
                        },
                        {"after": "10m", "to": "manager", "action": "notify"},
                    ],
                },
                {
                    "name": "Big deals within the hour",
                    "when": {"field": "value", "op": "gte", "value": 50000},
                    "within": "1h",
                    "business_time": False,
                    "warnings": [80],
                    "counts": ["activity"],
                    "ladder": [
                        {
                            "to": "supervisor",
                            "action": "watch",
                            "cc": [tenant.admin.email],
                            "overdue": True,
                        },
                        {"after": "30m", "to": {"team": "Harbour"}, "action": "reassign"},
                    ],
                },
            ],
            "aging": [{"name": "Idle for two weeks", "after": "14d", "then": {"status": "Dead"}}],
            "reclaim": [
                {
                    "name": "Use it or lose it",
                    "enabled": False,
                    "within": "30m",
                }
            ],
        },
    )


def _shoot(browser, live_server, tenant, url: str, width: int, height: int) -> bytes:
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, tenant.admin.email)
        expect(page).to_have_url(f"{live_server}/")
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert not has_horizontal_scroll(page), f"{url} scrolls sideways at {width} px"
        return page.screenshot(full_page=True)
    finally:
        context.close()


def test_screenshots_and_the_phone_width(browser, app, live_server, tenant):
    _demo_rules(app, tenant)
    with app.app_context():
        from leadtrack.models import RoutingRule

        rule_id = db.session.query(RoutingRule.id).filter_by(name="Web leads in 5 minutes").scalar()
    laptop = _shoot(browser, live_server, tenant, "/settings/clock", 1280, 800)
    (DOCS / "screenshot-clock-rules.png").write_bytes(laptop)
    assert (DOCS / "screenshot-clock-rules.png").stat().st_size > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    for url, name in (
        ("/settings/clock", "clock-rules-phone.png"),
        (f"/settings/clock/{rule_id}", "clock-rule-edit-phone.png"),
        ("/settings/clock/new/auto_close", "clock-rule-new-auto-close-phone.png"),
    ):
        shot = _shoot(browser, live_server, tenant, url, PHONE["width"], PHONE["height"])
        (ARTIFACTS / name).write_bytes(shot)
    edit = _shoot(browser, live_server, tenant, f"/settings/clock/{rule_id}", 1280, 800)
    (ARTIFACTS / "clock-rule-edit-laptop.png").write_bytes(edit)
