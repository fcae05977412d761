"""The rule editor in a real browser: reordering rules with htmx decides who gets the next
lead; the condition builder re-renders a row for its field; the pages fit a phone.
Also writes docs/screenshot-rules.png and docs/screenshot-rule-edit.png."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import Lead, Organization, RoutingRule, User
from leadtrack.services import rules_document
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from tests.test_browser import (
    PHONE,
    assert_not_reloaded,
    has_horizontal_scroll,
    mark_page,
    sign_in,
)

from .support.browser import wait_for_htmx

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _apply(app, tenant, document: dict) -> None:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        admin = db.session.get(User, tenant.admin.id)
        full = {"settings": {}, "assignment": [], "scoring": [], **document}
        rules_document.apply(db.session, org, full, Actor(org.id, user=admin), utcnow())
        db.session.commit()


def _web_to(name: str, email: str) -> dict:
    return {
        "name": name,
        "when": {"field": "source", "op": "is", "value": "web"},
        "assign": {"user": email, "hours": False},
    }


def test_reordering_two_rules_decides_who_gets_the_next_lead(page: Page, app, live_server, tenant):
    _apply(
        app,
        tenant,
        {
            "assignment": [
                _web_to("Web to Agent", tenant.agent.email),
                _web_to("Web to Harbour agent", tenant.other_agent.email),
            ]
        },
    )
    sign_in(page, tenant.admin.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/settings/rules")
    names = page.locator("#assign-rules .rule-item:not(.rule-fallback) .rule-name")
    expect(names).to_have_text(["Web to Agent", "Web to Harbour agent"])
    mark_page(page)

    page.get_by_role("button", name="Move Web to Harbour agent up").click()

    expect(page.locator("#assign-rules").get_by_role("status")).to_have_text(
        "Moved “Web to Harbour agent” up. Version 2."
    )
    expect(names).to_have_text(["Web to Harbour agent", "Web to Agent"])
    expect(page.get_by_role("button", name="Move Web to Harbour agent up")).to_be_disabled()
    # The focus stays on the moved rule's button (htmx restores it by id) — or the button
    # was disabled at the top; either way the page did not reload.
    assert_not_reloaded(page)

    # A web lead entered through the new-lead form follows the rule that is now first.
    page.goto("/leads/new")
    page.get_by_label("Name *").fill("Wendy Web")
    page.get_by_label("Phone").fill("030 5550190")
    page.locator("#f-source").select_option("web")
    page.get_by_role("button", name="Save lead").click()
    expect(page).to_have_url(re.compile(rf"{live_server}/leads/\d+$"))
    lead_id = int(page.url.rsplit("/", 1)[1])
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.assignee_id == tenant.other_agent.id
    expect(page.locator("#lead-body")).to_contain_text(tenant.other_agent.name)


def test_disable_switch_and_delete_swap_the_list(page: Page, app, live_server, tenant):
    _apply(
        app,
        tenant,
        {
            "assignment": [
                _web_to("Web to Agent", tenant.agent.email),
                _web_to("Web to Harbour agent", tenant.other_agent.email),
            ]
        },
    )
    sign_in(page, tenant.admin.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/settings/rules")
    mark_page(page)
    switch = page.get_by_role("switch", name="Web to Agent enabled")
    expect(switch).to_be_checked()
    switch.uncheck()
    expect(page.locator("#assign-rules").get_by_role("status")).to_contain_text(
        "Disabled “Web to Agent”."
    )
    expect(page.get_by_role("switch", name="Web to Agent enabled")).not_to_be_checked()
    item = page.locator("#assign-rules .rule-item").filter(has_text="Web to Agent")
    expect(item).to_contain_text("Disabled: skipped")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Web to Harbour agent").click()
    expect(page.locator("#assign-rules").get_by_role("status")).to_contain_text(
        "Deleted “Web to Harbour agent”."
    )
    expect(page.locator("#assign-rules .rule-item:not(.rule-fallback)")).to_have_count(1)
    assert_not_reloaded(page)


def settled(row) -> None:
    """Wait until the row's request has come back and htmx has set up what it swapped in."""
    wait_for_htmx(row.page)
    expect(row).not_to_have_class(re.compile(r"\bhtmx-(added|settling)\b"))


def test_condition_builder_rows_follow_their_field(page: Page, app, live_server, tenant):
    sign_in(page, tenant.admin.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/settings/rules/new/assign")
    mark_page(page)
    expect(page.get_by_label("Name *")).to_be_focused()
    page.keyboard.type("Big web deals")

    rows = page.locator("#cond-rows .cond-row")
    expect(rows).to_have_count(1)
    first = rows.nth(0)
    first.get_by_label("Field").focus()
    first.get_by_label("Field").select_option("value")
    expect(first.get_by_label("Comparison for Value")).to_be_visible()
    settled(first)
    expect(first.get_by_label("Field")).to_be_focused()  # htmx keeps the focus by the id
    first.get_by_label("Comparison for Value").select_option("gte")
    settled(first)
    expect(first.locator("input[type=number]")).to_have_count(1)
    first.locator("input[type=number]").fill("50000")

    page.get_by_role("button", name="+ Add condition").click()
    expect(rows).to_have_count(2)
    second = rows.nth(1)
    settled(second)
    expect(second.get_by_label("Field")).to_be_focused()  # ready for the keyboard
    second.get_by_label("Field").select_option("source")
    expect(second.get_by_label("Comparison for Source")).to_be_visible()
    settled(second)
    second.get_by_label("Comparison for Source").select_option("in")
    settled(second)
    expect(second.locator("select[multiple]")).to_have_count(1)
    second.locator("select[multiple]").select_option(["web", "phone"])

    page.get_by_role("button", name="+ Add condition").click()
    expect(rows).to_have_count(3)
    rows.nth(2).get_by_role("button", name="Remove this condition").click()
    expect(rows).to_have_count(2)

    # The target: a named person, shown only when picked.
    page.get_by_label("A named person").check()
    expect(page.locator("#assign-user")).to_be_visible()
    expect(page.locator("#assign-team")).to_be_hidden()
    page.locator("#assign-user").select_option(tenant.agent.email)
    page.get_by_label("Route around the clock").check()  # the test runs at any hour

    # Test it on a sample lead before saving: nothing is stored.
    page.locator("#sample-source").select_option("web")
    page.locator("#sample-value").fill("75000")
    page.get_by_role("button", name="Test this rule").click()
    expect(page.locator("#preview-results")).to_contain_text(f"→ {tenant.agent.name}")
    expect(page.locator("#preview-results")).to_contain_text("rule “Big web deals”")
    assert_not_reloaded(page)

    page.get_by_role("button", name="Save rule").click()
    expect(page).to_have_url(f"{live_server}/settings/rules")
    item = page.locator("#assign-rules .rule-item").first
    expect(item).to_contain_text("Big web deals")
    expect(item).to_contain_text("When Value at least 50000 and Source is one of phone, web")
    expect(item).to_contain_text(f"to {tenant.agent.name}, around the clock")


def test_a_refused_rule_shows_the_message_by_the_field(page: Page, app, live_server, tenant):
    sign_in(page, tenant.admin.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/settings/rules/new/score")
    page.get_by_label("Points").fill("")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator("#err-name")).to_have_text("Give the rule a name.")
    expect(page.locator("#err-points")).to_contain_text("whole number from -1000 to 1000")
    expect(page.get_by_label("Name *")).to_have_attribute("aria-invalid", "true")


# -- screenshots ----------------------------------------------------------------------------


def _demo_rules(app, tenant) -> None:
    _apply(
        app,
        tenant,
        {
            "settings": {"fallback": {"queue": "North"}},
            "assignment": [
                {
                    "name": "Web info requests to Main Street",
                    "when": {
                        "all": [
                            {"field": "source", "op": "is", "value": "web"},
                            {"field": "intake_form", "op": "is", "value": "Information request"},
                        ]
                    },
                    "assign": {"team": "Main Street", "method": "round_robin"},
                },
                {
                    "name": "Big deals to the senior rep",
                    "when": {"field": "value", "op": "gte", "value": 50000},
                    "assign": {"user": tenant.agent.email},
                },
                {
                    "name": "District to its store",
                    "when": {"field": "district", "op": "is_set"},
                    "assign": {
                        "by_field": "district",
                        "map": {"Harbourside": "Harbour", "Old Town": "Main Street"},
                        "method": "fewest_open",
                        "otherwise": "North",
                    },
                },
                {
                    "name": "Walk-ins by hand",
                    "enabled": False,
                    "when": {"field": "source", "op": "is", "value": "walk-in"},
                    "assign": {"queue": "Main Street"},
                },
                {
                    "name": "Night leads around the clock",
                    "when": {"field": "time_of_day", "op": "between", "value": ["22:00", "06:00"]},
                    "assign": {"team": "Harbour", "hours": False},
                },
            ],
            "scoring": [
                {
                    "name": "Web leads",
                    "when": {"field": "source", "op": "is", "value": "web"},
                    "points": 10,
                },
                {
                    "name": "Big value",
                    "when": {"field": "value", "op": "gte", "value": 25000},
                    "points": 40,
                },
                {
                    "name": "Spam",
                    "when": {"field": "tags", "op": "has", "value": "spam"},
                    "points": -50,
                },
            ],
        },
    )


def _side_by_side(page: Page, desktop: bytes, phone: bytes, path: Path) -> None:
    """One PNG with the desktop and the phone screenshots next to each other."""
    images = "".join(
        f'<figure><img src="data:image/png;base64,{base64.b64encode(shot).decode()}">'
        f"<figcaption>{caption}</figcaption></figure>"
        for shot, caption in ((desktop, "1280 px"), (phone, "390 px"))
    )
    page.set_viewport_size({"width": 1280 + 390 + 72, "height": 600})
    page.set_content(
        "<style>body{margin:0;padding:16px;display:flex;gap:24px;align-items:flex-start;"
        "background:#d9dee5;font:14px sans-serif}figure{margin:0}img{display:block;"
        "box-shadow:0 2px 8px rgba(0,0,0,.25)}figcaption{text-align:center;padding-top:6px}"
        f"</style>{images}"
    )
    page.wait_for_function("[...document.images].every(i => i.complete)")
    page.screenshot(path=str(path), full_page=True)


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


def test_screenshots_of_the_list_and_the_edit_page(page: Page, browser, app, live_server, tenant):
    _demo_rules(app, tenant)
    with app.app_context():
        rule = db.session.scalars(
            select(RoutingRule).where(RoutingRule.name == "Web info requests to Main Street")
        ).one()
        rule_id = rule.id
    for url, name in (
        ("/settings/rules", "screenshot-rules.png"),
        (f"/settings/rules/{rule_id}", "screenshot-rule-edit.png"),
    ):
        desktop = _shoot(browser, live_server, tenant, url, 1280, 800)
        phone = _shoot(browser, live_server, tenant, url, PHONE["width"], PHONE["height"])
        _side_by_side(page, desktop, phone, DOCS / name)
        assert (DOCS / name).stat().st_size > 10_000


@pytest.mark.parametrize("width", [PHONE["width"], 1280])
def test_simulator_and_settings_fit_the_width(browser, app, live_server, tenant, width):
    _demo_rules(app, tenant)
    from tests.support.leads import make_lead

    for n in range(3):
        make_lead(app, tenant.org.id, name=f"Lead number {n}", source="web", district="Old Town")
    context = browser.new_context(viewport={"width": width, "height": 800}, base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, tenant.admin.email)
        expect(page).to_have_url(f"{live_server}/")
        page.goto("/settings/rules/simulate")
        mark_page(page)
        page.locator("#sample-source").select_option("web")
        page.locator("#sample-district").fill("Harbourside")
        page.get_by_role("button", name="Simulate this lead").click()
        expect(page.locator("#sim-output")).to_contain_text("rule “District to its store”")
        page.get_by_role("button", name="Simulate the last leads").click()
        expect(page.locator("#sim-output")).to_contain_text("the last 3 leads")
        assert_not_reloaded(page)
        assert not has_horizontal_scroll(page)
        for url in ("/settings/rules/settings", "/settings/rules/versions"):
            page.goto(url)
            assert not has_horizontal_scroll(page), url
    finally:
        context.close()
