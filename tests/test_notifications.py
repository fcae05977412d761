"""The notification centre: a user's in-app alerts, the bell's unread count, marking read."""

from __future__ import annotations

import re

import pytest

from leadtrack.extensions import db
from leadtrack.models import ChannelName, Lead, Organization, User
from leadtrack.services import outbox
from leadtrack.timeutil import utcnow

from .support.alerts import assigned_lead
from .support.alerts import outbox as outbox_rows
from .support.factories import PASSWORD


def in_app(app, user_id: int):
    return outbox_rows(app, channel=ChannelName.IN_APP, recipient_id=user_id)


def unread_badge(html: str) -> str | None:
    match = re.search(r'<span class="bell-count"( hidden)?>([^<]*)</span>', html)
    assert match, html
    return None if match.group(1) else match.group(2)


def test_the_agent_sees_the_alert_for_a_new_lead(app, tenant, web):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz")
    web.login(tenant.agent.email, PASSWORD)

    page = web.get("/notifications")

    assert page.status_code == 200
    assert "New lead for you: Jana Schulz" in page.text
    assert f'href="/leads/{lead_id}"' in page.text
    assert 'class="inbox-item unread"' in page.text
    assert "1 unread alert." in page.text


def test_nobody_else_sees_it(app, tenant, other_tenant, web):
    assigned_lead(app, tenant, name="Jana Schulz")

    for person in (tenant.other_agent, tenant.admin, other_tenant.admin, other_tenant.agent):
        web.logout()
        web.login(person.email, PASSWORD)
        page = web.get("/notifications")
        assert person.name in page.text  # signed in as them
        assert "Jana Schulz" not in page.text
        assert "No alerts yet." in page.text
        assert unread_badge(web.get("/notifications/count").text) is None


def test_the_bell_shows_the_unread_count_and_every_page_polls_it(app, tenant, web):
    web.login(tenant.agent.email, PASSWORD)
    assert unread_badge(web.get("/notifications/count").text) is None

    assigned_lead(app, tenant, name="Jana Schulz")
    assigned_lead(app, tenant, name="Tom Becker")

    bell = web.get("/notifications/count").text
    assert unread_badge(bell) == "2"
    assert 'aria-label="Notifications, 2 unread"' in bell
    assert 'data-newest="New lead for you: Tom Becker"' in bell
    home = web.get("/leads").text
    assert 'hx-get="/notifications/count"' in home
    assert 'hx-trigger="load, every 30s' in home


def test_marking_one_read_swaps_its_row_and_updates_the_count(app, tenant, web):
    assigned_lead(app, tenant, name="Jana Schulz")
    assigned_lead(app, tenant, name="Tom Becker")
    first, _second = in_app(app, tenant.agent.id)
    web.login(tenant.agent.email, PASSWORD)
    web.get("/notifications")

    row = web.post(f"/notifications/{first.id}/read", htmx=True)

    assert row.status_code == 200
    assert row.text.lstrip().startswith(f'<li id="notification-{first.id}" class="inbox-item"')
    assert "Mark read" not in row.text.split("</li>")[0]
    assert "1 unread alert." in row.text  # the heading, swapped out of band
    assert row.headers["HX-Trigger"] == "notifications-changed"
    assert unread_badge(web.get("/notifications/count").text) == "1"
    assert in_app(app, tenant.agent.id)[0].read_at is not None


def test_nobody_marks_someone_elses_alert(app, tenant, other_tenant, web):
    assigned_lead(app, tenant, name="Jana Schulz")
    [alert] = in_app(app, tenant.agent.id)

    for person in (tenant.other_agent, tenant.admin, other_tenant.admin):
        web.logout()
        web.login(person.email, PASSWORD)
        assert person.name in web.get("/notifications").text
        assert web.post(f"/notifications/{alert.id}/read", htmx=True).status_code == 404
    assert in_app(app, tenant.agent.id)[0].read_at is None


def test_mark_all_read(app, tenant, web):
    assigned_lead(app, tenant, name="Jana Schulz")
    assigned_lead(app, tenant, name="Tom Becker")
    assigned_lead(app, tenant, to=tenant.other_agent, name="Not Mine")
    web.login(tenant.agent.email, PASSWORD)
    web.get("/notifications")

    listing = web.post("/notifications/read-all", htmx=True)

    assert listing.status_code == 200
    assert listing.text.lstrip().startswith('<div id="inbox">')
    assert "No unread alerts." in listing.text
    assert "unread" not in re.findall(r'class="inbox-item[^"]*"', listing.text)[0]
    assert all(n.read_at for n in in_app(app, tenant.agent.id))
    assert [n.read_at for n in in_app(app, tenant.other_agent.id)] == [None]


def test_fifty_to_a_page_newest_first(app, tenant, web):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz")
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        agent = db.session.get(User, tenant.agent.id)
        lead = db.session.get(Lead, lead_id)
        for step in range(55):
            outbox.notify(
                db.session, org, "follow_up_due", agent, utcnow(), lead=lead, step=str(step)
            )
        db.session.commit()
    web.login(tenant.agent.email, PASSWORD)

    first = web.get("/notifications").text
    second = web.get("/notifications?page=2").text

    assert first.count('class="inbox-item') == 50
    assert second.count('class="inbox-item') == 6
    assert "New lead for you: Jana Schulz" in second  # the oldest
    assert "Older →" in first and "← Newer" in second


def test_signed_out_and_platform_users_have_no_inbox(app, tenant, web, super_admin):
    assert web.get("/notifications").status_code == 302
    web.login(super_admin.email, PASSWORD)
    assert web.get("/notifications").status_code == 403


@pytest.mark.browser
def test_in_the_browser_a_new_alert_shows_a_toast_and_the_bell_counts(page, app, tenant):
    from playwright.sync_api import expect

    from .test_browser import sign_in

    assigned_lead(app, tenant, name="Jana Schulz")
    sign_in(page, tenant.agent.email)
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    expect(page.locator(".toast")).to_have_count(0)  # nothing new since the page opened

    assigned_lead(app, tenant, name="Tom Becker")
    page.evaluate("htmx.trigger(document.body, 'notifications-changed')")  # as the 30 s poll

    toast = page.locator("#toasts .toast")
    expect(toast).to_have_text(re.compile("New alert: New lead for you: Tom Becker"))
    expect(page.locator("#toasts")).to_have_attribute("aria-live", "polite")
    expect(bell).to_have_attribute("aria-label", "Notifications, 2 unread")

    bell.click()
    page.get_by_role("button", name="Mark “New lead for you: Tom Becker” as read").click()
    expect(page.locator("#inbox-unread")).to_have_text("1 unread alert.")
    expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator("#inbox-unread")).to_have_text("No unread alerts.")
    expect(page.locator("#bell .bell-count")).to_be_hidden()
    expect(toast).to_have_count(0)  # gone by itself after a few seconds


def test_a_poll_after_the_session_ended_leaves_the_page_alone(web):
    answer = web.client.get("/notifications/count", headers={"HX-Request": "true"})
    assert answer.status_code == 204
