"""The lead pages in a real browser: keyboard-only intake, the existing-contact hint,
logging a call, live list filters, form validation and the phone layout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD
from tests.support.leads import make_lead
from tests.test_browser import (
    PHONE,
    assert_not_reloaded,
    has_horizontal_scroll,
    mark_page,
    sign_in,
)

pytestmark = pytest.mark.browser

# Counts every pointer press in this tab; sessionStorage survives the page loads.
COUNT_POINTER_PRESSES = """
document.addEventListener("pointerdown", () => {
  sessionStorage.setItem("presses", String(Number(sessionStorage.getItem("presses") || 0) + 1));
}, true);
"""


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(
        viewport=PHONE,
        base_url=live_server,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def focused(page: Page, selector: str) -> None:
    expect(page.locator(selector)).to_be_focused(timeout=2_000)


def tab_to(page: Page, selector: str) -> None:
    page.keyboard.press("Tab")
    focused(page, selector)


def test_receptionist_enters_a_walk_in_with_the_keyboard_only(page: Page, live_server, tenant):
    page.context.add_init_script(COUNT_POINTER_PRESSES)
    page.goto("/login")
    expect(page.get_by_label("E-mail")).to_be_focused()  # autofocus
    page.keyboard.type(tenant.receptionist.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/")

    page.goto("/leads")
    expect(page.get_by_role("heading", name="Leads", level=1)).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search")).to_be_focused()  # autofocus
    # Back from the search box to the "New lead" button. (Its accesskey, Alt+N, is not
    # reachable: Chromium ignores accesskeys in synthetic key events.)
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="New lead")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/leads/new")

    focused(page, "#f-name")  # autofocus
    page.keyboard.type("Greta Walkin")
    tab_to(page, "#f-phones")
    page.keyboard.type("030 5550177")
    tab_to(page, "#f-emails")
    page.keyboard.type("greta@example.de")
    for field in ("company", "profession", "address", "district", "division"):
        tab_to(page, f"#f-{field}")
    tab_to(page, "#f-source")
    source = page.locator("#f-source")
    page.keyboard.press("Home")  # away from the default, to show the keyboard moves it
    expect(source).not_to_have_value("walk-in")
    page.keyboard.type("Walk")  # type-to-select
    expect(source).to_have_value("walk-in")
    expect(source.locator("option:checked")).to_have_text("Walk-in")
    tab_to(page, "#f-product_id")
    tab_to(page, "#f-value")
    page.keyboard.type("1200")
    tab_to(page, "#f-temperature")
    page.keyboard.press("ArrowDown")  # "—" → Hot
    expect(page.locator("#f-temperature")).to_have_value("hot")
    tab_to(page, "#f-priority")
    tab_to(page, "#f-tags")
    page.keyboard.type("walk-in, suv")
    page.keyboard.press("Enter")  # implicit submission: the first button, "Save lead"

    expect(page).to_have_url(re.compile(rf"{live_server}/leads/\d+$"))
    lead_url = page.url
    body = page.locator("#lead-body")
    expect(body.get_by_role("heading", level=1)).to_have_text("Greta Walkin")
    expect(body.get_by_role("link", name="+49305550177")).to_be_visible()
    expect(body).to_contain_text("walk-in")
    expect(page.get_by_role("status")).to_contain_text("Greta Walkin is saved.")

    page.goto("/leads")
    row = page.locator("#lead-results").get_by_role("row").filter(has_text="Greta Walkin")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("+49305550177")
    expect(row.get_by_role("link", name="Greta Walkin")).to_have_attribute(
        "href", lead_url.removeprefix(live_server)
    )
    assert page.evaluate("sessionStorage.getItem('presses')") is None, "a pointer was used"


def test_new_lead_form_shows_an_existing_contact_while_typing(page: Page, app, live_server, tenant):
    earlier = make_lead(
        app,
        tenant.org.id,
        name="Earlier Person",
        phones="030 5550123",
        assignee_id=tenant.agent.id,
    )
    sign_in(page, tenant.receptionist.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/leads/new")
    hint = page.locator("#contact-hint")
    expect(hint).to_be_empty()
    expect(hint).to_have_attribute("aria-live", "polite")

    page.get_by_label("Phone").press_sequentially("030 5550123")

    expect(hint).to_contain_text("Existing contact: 1 earlier lead, last owned by Agent Acme.")
    expect(hint.get_by_role("link", name="See the last one")).to_have_attribute(
        "href", f"/leads/{earlier}"
    )
    expect(page).to_have_url(f"{live_server}/leads/new")  # nothing was submitted
    expect(page.get_by_label("Name *")).to_have_value("")


def test_agent_logs_a_call_and_the_lead_counts_as_responded(page: Page, app, tenant):
    lead_id = make_lead(
        app,
        tenant.org.id,
        name="Carla Caller",
        phones="030 5550150",
        assignee_id=tenant.agent.id,
    )
    sign_in(page, tenant.agent.email)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, ")
    page.goto(f"/leads/{lead_id}")
    body = page.locator("#lead-body")
    expect(body.get_by_role("heading", level=1)).to_have_text("Carla Caller")
    expect(page.locator("#lead-state")).to_have_text("No response yet")
    mark_page(page)

    body.get_by_label("What happened").select_option(label="Call")
    body.get_by_label("Outcome").select_option(label="reached")
    body.get_by_label("Details").fill("Wants a test drive on Saturday.")
    body.get_by_role("button", name="Log it").click()

    expect(page.locator("#lead-state")).to_contain_text("Responded")
    first = page.locator("#timeline > li").first
    expect(first).to_contain_text("Call logged — reached")
    expect(first).to_contain_text("Wants a test drive on Saturday.")
    expect(first).to_contain_text(f"by {tenant.agent.name}")
    expect(page.locator("#lead-body")).to_have_count(1)  # replaced, not nested
    expect(page.get_by_role("button", name="Log it")).to_be_focused()  # focus survives the swap
    expect(page.get_by_label("Details")).to_have_value("")
    assert_not_reloaded(page)

    page.reload()
    expect(page.locator("#lead-state")).to_contain_text("Responded")
    expect(page.locator("#timeline")).to_contain_text("Call logged — reached")


def test_list_search_narrows_live_and_stays_in_the_url(page: Page, app, live_server, tenant):
    make_lead(app, tenant.org.id, name="Anna Schmidt", phones="030 5550001")
    make_lead(app, tenant.org.id, name="Bernd Keller", phones="030 5550002")
    sign_in(page, tenant.receptionist.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/leads")
    results = page.locator("#lead-results")
    anna = results.get_by_role("link", name="Anna Schmidt")
    bernd = results.get_by_role("link", name="Bernd Keller")
    expect(anna).to_be_visible()
    expect(bernd).to_be_visible()
    expect(results).to_contain_text("2 leads")
    mark_page(page)

    search = page.get_by_role("searchbox", name="Search")
    expect(search).to_be_focused()  # autofocus
    page.keyboard.type("Ann")  # the search matches the start of the name

    expect(bernd).to_have_count(0)
    expect(anna).to_be_visible()
    expect(results.first).to_contain_text("1 lead")
    expect(page).to_have_url(re.compile(r"/leads\?(.*&)?q=Ann(&|$)"))
    assert_not_reloaded(page)

    page.reload()
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("Ann")
    results = page.locator("#lead-results")
    expect(results.get_by_role("link", name="Anna Schmidt")).to_be_visible()
    expect(results.get_by_role("link", name="Bernd Keller")).to_have_count(0)


def test_filtering_replaces_the_results_not_nests_them(page: Page, app, live_server, tenant):
    make_lead(app, tenant.org.id, name="Anna Schmidt", phones="030 5550001")
    sign_in(page, tenant.receptionist.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/leads")
    page.get_by_role("searchbox", name="Search").press_sequentially("Ann")
    expect(page).to_have_url(re.compile(r"q=Ann"))
    page.wait_for_load_state("networkidle")

    expect(page.locator("[id=lead-results]")).to_have_count(1, timeout=2_000)


def test_empty_new_lead_shows_the_name_error_on_the_name_field(page: Page, live_server, tenant):
    sign_in(page, tenant.receptionist.email)
    expect(page).to_have_url(f"{live_server}/")
    page.goto("/leads/new")
    page.get_by_role("button", name="Save lead", exact=True).click()

    expect(page.get_by_role("alert")).to_have_text(
        "Please correct the fields marked below; nothing was saved."
    )
    name = page.get_by_label("Name *")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description("Give the contact's name.")
    expect(page.locator("#f-name-help.field-error")).to_have_text("Give the contact's name.")
    expect(name).to_be_focused()
    phone = page.get_by_label("Phone")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_accessible_description("Give a phone number or an e-mail to reach them.")
    expect(page.get_by_label("Company")).not_to_have_attribute("aria-describedby", re.compile(""))
    expect(page).to_have_url(f"{live_server}/leads/new")


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the phone's screen (0 when it fits).

    Not against innerWidth alone: on a mobile viewport Chromium widens the layout viewport
    to fit content that sticks out, so innerWidth grows with the overflow. The
    documentElement's clientWidth stays the device width.
    """
    return page.evaluate(
        """() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)
                 - Math.min(window.innerWidth, document.documentElement.clientWidth)"""
    )


def phone_lead(app, tenant) -> int:
    make_lead(app, tenant.org.id, name="Bo Li", phones="030 5550161", source="phone")
    return make_lead(
        app,
        tenant.org.id,
        name="Maximiliane Wolfeschlegelsteinhausen-Bergerdorff",
        phones="030 5550160, 0151 23456789",
        emails="maximiliane.wolfeschlegel@example.de",
        company="Autohaus Nord-Süd Vertriebsgesellschaft mbH",
        tags="suv, trade-in, finance",
        value="48900",
        assignee_id=tenant.agent.id,
    )


def test_phone_lead_list_fits_the_width(phone_page: Page, app, live_server, tenant):
    phone_lead(app, tenant)
    sign_in(phone_page, tenant.receptionist.email)
    expect(phone_page).to_have_url(f"{live_server}/")

    phone_page.goto("/leads")
    expect(phone_page.locator("#lead-results")).to_contain_text("2 leads")
    assert not has_horizontal_scroll(phone_page), "the lead list scrolls sideways on a phone"
    assert overflow(phone_page) <= 1, "the lead list is wider than the phone"
    table = phone_page.locator(".table-wrap")  # the table may scroll, inside its wrapper
    assert table.evaluate("e => e.getBoundingClientRect().right") <= PHONE["width"] + 1


def test_phone_lead_page_fits_the_width(phone_page: Page, app, live_server, tenant):
    lead_id = phone_lead(app, tenant)
    sign_in(phone_page, tenant.receptionist.email)
    expect(phone_page).to_have_url(f"{live_server}/")

    phone_page.goto(f"/leads/{lead_id}")
    expect(phone_page.locator("#lead-body h1")).to_contain_text("Maximiliane")
    assert not has_horizontal_scroll(phone_page), "the lead page scrolls sideways on a phone"
    assert overflow(phone_page) <= 1, "the lead page is wider than the phone"
