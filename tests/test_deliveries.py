"""The admin "Deliveries" page, its dead letters and retry, and the lead page's delivery log."""

from __future__ import annotations

import re

from sqlalchemy import delete

from leadtrack.extensions import db
from leadtrack.models import AlertSettings, ChannelName, DeliveryStatus
from leadtrack.services import secret_box

from .support.alerts import assigned_lead, outbox
from .support.factories import PASSWORD


def rows(html: str) -> list[str]:
    return re.findall(r'<tr id="delivery-\d+">.*?</tr>', html, re.S)


def dead_email(app, tenant, run_jobs, **lead_fields) -> int:
    """An alert e-mail that failed for good: the organization's SMTP setting is broken."""
    with app.app_context():
        db.session.add(AlertSettings(org_id=tenant.org.id, smtp_url_secret=secret_box.seal("x://")))
        db.session.commit()
    lead_id = assigned_lead(app, tenant, **lead_fields)
    run_jobs()
    [email] = outbox(app, channel=ChannelName.EMAIL, lead_id=lead_id)
    assert email.status == DeliveryStatus.DEAD
    return email.id


def fix_smtp(app, tenant) -> None:
    with app.app_context():
        db.session.execute(delete(AlertSettings).where(AlertSettings.org_id == tenant.org.id))
        db.session.commit()


def test_admin_sees_every_delivery_newest_first(app, tenant, web, run_jobs, smtp_sink):
    first = assigned_lead(app, tenant, name="Jana Schulz")
    second = assigned_lead(app, tenant, to=tenant.other_agent, name="Tom Becker")
    run_jobs()
    smtp_sink.wait_for(2)
    web.login(tenant.admin.email, PASSWORD)

    page = web.get("/admin/deliveries")

    assert page.status_code == 200
    listed = rows(page.text)
    assert len(listed) == 4  # e-mail and in-app for each
    assert f'href="/leads/{second}"' in listed[0] and f'href="/leads/{first}"' in listed[-1]
    assert "Lead assigned to you" in listed[0]
    assert tenant.other_agent.name in listed[0]
    assert "Sent" in page.text
    assert "Deliveries" in page.text and 'href="/admin/deliveries"' in page.text  # the nav link


def test_filters(app, tenant, web, run_jobs, smtp_sink):
    first = assigned_lead(app, tenant, name="Jana Schulz")
    assigned_lead(app, tenant, to=tenant.other_agent, name="Tom Becker")
    run_jobs()
    smtp_sink.wait_for(2)
    web.login(tenant.admin.email, PASSWORD)

    def listed(query: str) -> list[str]:
        page = web.get(f"/admin/deliveries?{query}")
        assert page.status_code == 200, page.text
        return rows(page.text)

    assert len(listed("channel=email")) == 2
    assert len(listed("channel=in_app&status=sent")) == 2
    assert len(listed(f"lead={first}")) == 2
    assert len(listed("recipient=harbouragent")) == 2
    assert len(listed("event=lead_assigned&date_from=2000-01-01&date_to=2999-12-31")) == 4
    assert listed("date_to=2000-01-01") == []
    assert listed("event=escalated_tier3") == []


def test_a_bad_filter_is_named_not_a_500(app, tenant, web):
    web.login(tenant.admin.email, PASSWORD)

    page = web.get("/admin/deliveries?status=lost&date_from=yesterday&lead=abc")

    assert page.status_code == 422
    assert "Choose a status from the list." in page.text
    assert "Give a date as YYYY-MM-DD." in page.text
    assert "Give a lead number." in page.text


def test_dead_letters_tab_and_retry(app, tenant, web, run_jobs, smtp_sink):
    dead_id = dead_email(app, tenant, run_jobs, name="Jana Schulz")
    web.login(tenant.admin.email, PASSWORD)

    tab = web.get("/admin/deliveries?status=dead")
    [row] = rows(tab.text)
    assert "SMTP settings" in row
    assert "Failed (dead letter)" in row
    assert f'hx-post="/admin/deliveries/{dead_id}/retry"' in row

    fix_smtp(app, tenant)
    swapped = web.post(f"/admin/deliveries/{dead_id}/retry", htmx=True)

    assert swapped.status_code == 200
    assert swapped.text.lstrip().startswith(f'<tr id="delivery-{dead_id}">')
    assert "Pending" in swapped.text and "Retry" not in swapped.text
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "New lead for you: Jana Schulz"
    [email] = outbox(app, id=dead_id)
    assert email.status == DeliveryStatus.SENT
    assert email.attempts == 1
    assert rows(web.get("/admin/deliveries?status=dead").text) == []
    assert "No dead letters." in web.get("/admin/deliveries?status=dead").text


def test_retrying_what_did_not_fail_changes_nothing(app, tenant, web):
    assigned_lead(app, tenant)
    [alert] = outbox(app, channel=ChannelName.IN_APP)
    web.login(tenant.admin.email, PASSWORD)

    answer = web.post(f"/admin/deliveries/{alert.id}/retry", htmx=True)

    assert answer.status_code == 422
    assert "Only a failed delivery can be retried." in answer.text
    assert outbox(app, id=alert.id)[0].status == DeliveryStatus.SENT


def test_another_organizations_deliveries_are_invisible(app, tenant, other_tenant, web, run_jobs):
    dead_id = dead_email(app, tenant, run_jobs, name="Jana Schulz")
    web.login(other_tenant.admin.email, PASSWORD)

    page = web.get("/admin/deliveries")
    assert rows(page.text) == []
    assert "Nothing sent yet." in page.text
    assert rows(web.get(f"/admin/deliveries?lead={outbox(app, id=dead_id)[0].lead_id}").text) == []
    assert web.post(f"/admin/deliveries/{dead_id}/retry", htmx=True).status_code == 404
    assert outbox(app, id=dead_id)[0].status == DeliveryStatus.DEAD


def test_a_manager_sees_only_their_peoples_deliveries(app, tenant, web):
    mine = assigned_lead(app, tenant, to=tenant.agent, name="Jana Schulz")
    theirs = assigned_lead(app, tenant, to=tenant.other_agent, name="Tom Becker")
    web.login(tenant.store_manager.email, PASSWORD)

    page = web.get("/admin/deliveries")

    assert page.status_code == 200
    assert f'href="/leads/{mine}"' in page.text
    assert f'href="/leads/{theirs}"' not in page.text
    [theirs_email] = outbox(app, channel=ChannelName.EMAIL, lead_id=theirs)
    assert web.post(f"/admin/deliveries/{theirs_email.id}/retry", htmx=True).status_code == 404


def test_agents_have_no_deliveries_page(app, tenant, web):
    web.login(tenant.agent.email, PASSWORD)
    assert web.get("/admin/deliveries").status_code == 403
    assert 'href="/admin/deliveries"' not in web.get("/leads").text


def test_the_lead_page_lists_what_was_sent_about_the_lead(app, tenant, other_tenant, web, run_jobs):
    dead_email(app, tenant, run_jobs, name="Jana Schulz")
    [lead_id] = {n.lead_id for n in outbox(app)}
    other_lead = assigned_lead(app, tenant, to=tenant.other_agent, name="Tom Becker")
    web.login(tenant.agent.email, PASSWORD)

    page = web.get(f"/leads/{lead_id}")
    assert f'hx-get="/leads/{lead_id}/deliveries"' in page.text
    log = web.get(f"/leads/{lead_id}/deliveries")

    assert log.status_code == 200
    assert "Alerts and messages" in log.text
    assert log.text.count("<tr>") == 3  # the heading, e-mail, in-app
    assert "Failed (dead letter)" in log.text and "SMTP settings" in log.text
    assert "In the app" in log.text
    assert web.get(f"/leads/{other_lead}/deliveries").status_code == 404
    web.logout()
    web.login(other_tenant.admin.email, PASSWORD)
    assert web.get(f"/leads/{lead_id}/deliveries").status_code == 404


def test_a_lead_with_no_deliveries_says_so(app, tenant, web):
    from .support.leads import make_lead

    lead_id = make_lead(app, tenant.org.id)
    web.login(tenant.admin.email, PASSWORD)

    assert "Nothing sent about this lead yet." in web.get(f"/leads/{lead_id}/deliveries").text
