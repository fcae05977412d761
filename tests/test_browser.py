"""What a person does in a real browser: signing in, htmx partial updates, phone layout."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def sign_in(page: Page, email: str, password: str = PASSWORD, *, press_enter: bool = False):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    if press_enter:
        page.get_by_label("Password").press("Enter")
    else:
        page.get_by_role("button", name="Sign in").click()


def nav_link(page: Page, name: str):
    return page.get_by_role("banner").get_by_role("link", name=name, exact=True)


def user_row(page: Page, person):
    """The users table row of `person`, found by the exact name of its link."""
    return page.get_by_role("row").filter(
        has=page.get_by_role("link", name=person.name, exact=True)
    )


def mark_page(page: Page) -> None:
    """Tag this document: a full reload loses the tag, an htmx swap keeps it."""
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page reloaded instead of a partial swap"


def has_horizontal_scroll(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth > window.innerWidth + 1"
        " || document.body.scrollWidth > window.innerWidth + 1"
    )


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


def test_org_admin_signs_in_and_sees_admin_nav(page: Page, live_server, tenant):
    sign_in(page, tenant.admin.email, press_enter=True)

    expect(page).to_have_url(f"{live_server}/")
    first_name = tenant.admin.name.split()[0]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {first_name}")
    expect(page.get_by_role("banner").get_by_text(tenant.admin.name, exact=True)).to_be_visible()
    for link in ("Organization", "Units", "Users"):
        expect(nav_link(page, link)).to_be_visible()


def test_agent_signs_in_and_sees_no_admin_links(page: Page, live_server, tenant):
    sign_in(page, tenant.agent.email)

    expect(page).to_have_url(f"{live_server}/")
    first_name = tenant.agent.name.split()[0]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {first_name}")
    expect(page.get_by_role("banner").get_by_text(tenant.agent.name, exact=True)).to_be_visible()
    for link in ("Users", "Organization", "Units", "API keys", "Status"):
        expect(nav_link(page, link)).to_have_count(0)


def test_wrong_password_shows_error_and_stays_on_login(page: Page, live_server, tenant):
    sign_in(page, tenant.agent.email, "not-the-password")

    expect(page.get_by_role("alert")).to_have_text("E-mail or password is not right.")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_value("")


def test_admin_adds_and_removes_a_holiday_without_reload(page: Page, tenant):
    sign_in(page, tenant.admin.email)
    expect(nav_link(page, "Organization")).to_be_visible()
    page.goto("/admin/organization")
    holidays = page.locator("#holidays")
    expect(holidays.get_by_text("No holidays yet.")).to_be_visible()
    mark_page(page)

    day = dt.date(2030, 12, 24)
    holidays.get_by_label("Date").fill(day.isoformat())
    # By name, not by label: see test_holiday_labels_belong_to_the_holiday_form.
    holidays.get_by_label("Name").fill("Christmas Eve")
    holidays.get_by_role("button", name="Add holiday").click()

    row = holidays.get_by_role("row").filter(has_text="Christmas Eve")
    expect(row).to_be_visible()
    expect(row).to_contain_text(day.strftime("%a %d %b %Y"))
    expect(holidays.get_by_text("No holidays yet.")).to_have_count(0)
    expect(holidays.get_by_label("Name")).to_have_value("")  # the form was reset
    assert_not_reloaded(page)

    row.get_by_role("button", name="Remove Christmas Eve").click()

    expect(holidays.get_by_text("No holidays yet.")).to_be_visible()
    expect(holidays.get_by_role("row")).to_have_count(0)
    assert_not_reloaded(page)
    page.reload()
    expect(page.locator("#holidays").get_by_text("No holidays yet.")).to_be_visible()


def test_holiday_labels_belong_to_the_holiday_form(page: Page, tenant):
    sign_in(page, tenant.admin.email)
    expect(nav_link(page, "Organization")).to_be_visible()
    page.goto("/admin/organization")
    holidays = page.locator("#holidays")

    holidays.locator("label").filter(has_text="Name").click()  # focuses its own field
    expect(holidays.get_by_label("Name")).to_be_focused(timeout=2_000)
    expect(holidays.get_by_label("Date")).to_have_count(1)
    expect(holidays.get_by_label("Name")).to_have_count(1, timeout=2_000)


def test_admin_deactivates_an_agent_without_reload(page: Page, tenant):
    sign_in(page, tenant.admin.email)
    nav_link(page, "Users").click()
    row = user_row(page, tenant.agent)
    expect(row.get_by_text("Active", exact=True)).to_be_visible()
    mark_page(page)
    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    row.get_by_role("button", name="Deactivate").click()

    expect(row.get_by_text("Deactivated", exact=True)).to_be_visible()
    expect(row.get_by_role("button", name="Reactivate")).to_be_visible()
    assert_not_reloaded(page)
    assert dialogs and dialogs[0].startswith(f"Deactivate {tenant.agent.name}?")
    page.reload()
    row = user_row(page, tenant.agent)
    expect(row.get_by_text("Deactivated", exact=True)).to_be_visible()


def test_admin_cancels_deactivation_and_nothing_changes(page: Page, tenant):
    sign_in(page, tenant.admin.email)
    page.goto("/admin/users")
    row = user_row(page, tenant.agent)
    dialogs: list[str] = []

    def dismiss(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    row.get_by_role("button", name="Deactivate").click()
    page.wait_for_load_state("networkidle")

    assert dialogs, "Deactivate did not ask for confirmation"
    expect(row.get_by_text("Active", exact=True)).to_be_visible()
    page.reload()
    row = user_row(page, tenant.agent)
    expect(row.get_by_role("button", name="Deactivate")).to_be_visible()
    expect(row.get_by_text("Deactivated", exact=True)).to_have_count(0)


@pytest.mark.parametrize("who", ["admin", "agent"])
def test_phone_login_and_home_have_no_horizontal_scroll(phone_page: Page, live_server, tenant, who):
    person = getattr(tenant, who)
    phone_page.goto("/login")
    expect(phone_page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert not has_horizontal_scroll(phone_page), "the login page scrolls sideways on a phone"

    sign_in(phone_page, person.email)
    expect(phone_page).to_have_url(f"{live_server}/")
    expect(phone_page.get_by_role("heading", level=1)).to_contain_text("Hello, ")
    assert not has_horizontal_scroll(phone_page), "the home page scrolls sideways on a phone"
