"""The alert template editor in a real browser: an admin edits the assignment e-mail, watches
the live preview follow with the sample lead, inserts a placeholder from the keyboard, saves,
and the next assignment e-mail that arrives over SMTP says exactly that."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.alerts import assigned_lead
from tests.support.smtp import text_part
from tests.test_browser import assert_not_reloaded, mark_page, nav_link, sign_in

pytestmark = pytest.mark.browser


def test_admin_edits_the_assignment_email_and_the_next_alert_uses_it(
    page: Page, live_server, app, tenant, run_jobs, smtp_sink
):
    sign_in(page, tenant.admin.email)
    expect(page).to_have_url(f"{live_server}/")
    nav_link(page, "Alerts").click()
    page.get_by_role("link", name="Alert texts").click()
    page.get_by_role("link", name="Lead assigned to you, E-mail: default text").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lead assigned to you")
    preview = page.locator("#template-preview")
    expect(preview).to_contain_text("New lead for you: Jana Schulz")  # the sample lead
    mark_page(page)

    page.get_by_label("Subject").fill("Hot lead for {{ recipient.first_name }}: {{ lead.nmae }}")
    expect(preview).to_contain_text("Unknown placeholder")
    page.get_by_label("Subject").fill("Hot lead for {{ recipient.first_name }}: {{ lead.name }}")
    expect(preview).to_contain_text("Hot lead for Alex: Jana Schulz")

    body = page.get_by_label("Text", exact=True)
    body.fill("Please call {{ lead.name }} today. Source: ")
    body.press("End")
    insert_source = page.get_by_role("button", name="Insert lead.source: source, e.g. web")
    insert_source.focus()
    page.keyboard.press("Enter")  # a keyboard user inserts at the cursor
    expect(body).to_have_value("Please call {{ lead.name }} today. Source: {{ lead.source }}")
    expect(body).to_be_focused()
    expect(preview).to_contain_text("Please call Jana Schulz today. Source: web")
    assert_not_reloaded(page)

    page.get_by_role("button", name="Save text").click()
    expect(page.locator(".flash-success")).to_contain_text("Saved")
    expect(page.get_by_role("button", name="Reset to default")).to_be_visible()

    assigned_lead(app, tenant, name="Kai Berger", source="phone")
    run_jobs()

    [message] = smtp_sink.wait_for(1)
    assert message["To"] == tenant.agent.email
    assert message["Subject"] == f"Hot lead for {tenant.agent.name.split()[0]}: Kai Berger"
    assert text_part(message).startswith("Please call Kai Berger today. Source: phone")
