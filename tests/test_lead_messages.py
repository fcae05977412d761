"""Messaging the lead from the lead page: sent as written, logged as the rep's response, once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import Activity, Lead

from .support.alerts import assigned_lead, outbox
from .support.factories import PASSWORD
from .support.smtp import text_part

NONCE = "3f2a9c1d8e7b4a60"


def lead_messages(app):
    return outbox(app, event="lead_message")


def activities(app, lead_id: int) -> list[Activity]:
    with app.app_context():
        found = list(db.session.scalars(select(Activity).where(Activity.lead_id == lead_id)))
        db.session.expunge_all()
        return found


def first_response(app, lead_id: int):
    with app.app_context():
        return db.session.get(Lead, lead_id).first_response_at


def send(web, lead_id: int, **form):
    data = {"channel": "email", "subject": "Your offer", "body": "Hello!", "nonce": NONCE} | form
    return web.post(f"/leads/{lead_id}/message", data, htmx=True)


def test_the_form_is_prefilled_from_the_organizations_template(app, tenant, web):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz", emails="jana@example.de")
    web.login(tenant.agent.email, PASSWORD)

    form = web.get(f"/leads/{lead_id}/message")

    assert form.status_code == 200
    assert 'value="Your enquiry at Acme Inc"' in form.text
    assert "Hello Jana Schulz," in form.text
    assert tenant.agent.name in form.text  # signed by the sender
    assert "E-mail to jana@example.de" in form.text
    assert "SMS to +4930" in form.text
    sms = web.get(f"/leads/{lead_id}/message?channel=sms")
    assert 'name="subject"' not in sms.text
    assert f"this is {tenant.agent.name} from Acme Inc" in sms.text


def test_only_channels_the_lead_has_an_address_for(app, tenant, web):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz")  # a phone, no e-mail
    web.login(tenant.agent.email, PASSWORD)

    form = web.get(f"/leads/{lead_id}/message").text

    assert 'value="sms"' in form and 'value="email"' not in form
    refused = send(web, lead_id, channel="email")
    assert refused.status_code == 422
    assert "This lead has no e-mail address." in refused.text
    assert lead_messages(app) == []


def test_an_email_to_the_lead_arrives_as_written_and_counts_as_the_response(
    app, tenant, web, run_jobs, smtp_sink
):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz", emails="jana@example.de")
    run_jobs()  # the assignment alert to the agent
    smtp_sink.wait_for(1)
    smtp_sink.messages.clear()
    web.login(tenant.agent.email, PASSWORD)

    sent = send(web, lead_id, subject="Your ID.4 offer", body="Dear Ms Schulz,\n\nhere it is.")

    assert sent.status_code == 200
    assert "Sent — it will go out in a moment" in sent.text
    assert sent.headers["HX-Trigger"] == "lead-deliveries-changed"
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "jana@example.de"
    assert message["Subject"] == "Your ID.4 offer"
    assert "Dear Ms Schulz,\n\nhere it is." in text_part(message).replace("\r\n", "\n")
    assert "List-Unsubscribe" not in message
    [row] = lead_messages(app)
    assert (row.status, row.created_by_id, row.recipient_id) == ("sent", tenant.agent.id, None)
    [activity] = activities(app, lead_id)
    assert (activity.kind, activity.actor_id) == ("email", tenant.agent.id)
    assert activity.body == "Dear Ms Schulz,\n\nhere it is."
    assert first_response(app, lead_id) is not None
    log = web.get(f"/leads/{lead_id}/deliveries").text
    assert "Message to the lead" in log and "jana@example.de" in log


def test_a_manager_writing_is_logged_but_is_not_the_reps_response(app, tenant, web):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz")
    web.login(tenant.store_manager.email, PASSWORD)

    assert send(web, lead_id, channel="sms", body="Please call us back.").status_code == 200

    [row] = lead_messages(app)
    assert (row.channel, row.address, row.subject) == ("sms", "+49305550100", "")
    [activity] = activities(app, lead_id)
    assert activity.kind == "sms"
    assert first_response(app, lead_id) is None


def test_a_double_submit_sends_once(app, tenant, web):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz", emails="jana@example.de")
    web.login(tenant.agent.email, PASSWORD)

    assert send(web, lead_id).status_code == 200
    assert send(web, lead_id).status_code == 200  # the same form again

    assert len(lead_messages(app)) == 1
    assert len(activities(app, lead_id)) == 1
    assert send(web, lead_id, nonce="a-new-form-4711").status_code == 200
    assert len(lead_messages(app)) == 2


def test_bad_input_is_named_and_nothing_is_sent(app, tenant, web):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz", emails="jana@example.de")
    web.login(tenant.agent.email, PASSWORD)

    for form, message in (
        ({"body": "   "}, "Write the message."),
        ({"subject": ""}, "Write a subject."),
        ({"subject": "x" * 301}, "At most 300 characters."),
        ({"body": "x" * 5001}, "At most 5000 characters"),
        ({"channel": "sms", "body": "x" * 1601}, "At most 1600 characters"),
        ({"body": "Hello\x00there"}, "Remove the control characters"),
        ({"channel": "fax"}, "Choose e-mail or SMS."),
        ({"nonce": ""}, "This form is out of date."),
    ):
        answer = send(web, lead_id, **form)
        assert answer.status_code == 422, form
        assert message in answer.text, form
        assert 'id="lead-message"' in answer.text  # the form again, with what was typed

    assert lead_messages(app) == []
    assert activities(app, lead_id) == []


def test_an_agent_cannot_message_a_lead_that_is_not_theirs(app, tenant, other_tenant, web):
    lead_id = assigned_lead(app, tenant, to=tenant.other_agent, emails="jana@example.de")
    web.login(tenant.agent.email, PASSWORD)

    assert web.get(f"/leads/{lead_id}/message").status_code == 404
    assert send(web, lead_id).status_code == 404
    web.logout()
    web.login(other_tenant.admin.email, PASSWORD)
    assert send(web, lead_id).status_code == 404
    assert lead_messages(app) == []


def test_without_htmx_the_form_still_works(app, tenant, web):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz", emails="jana@example.de")
    web.login(tenant.agent.email, PASSWORD)

    page = web.post(
        f"/leads/{lead_id}/message",
        {"channel": "email", "subject": "Hi", "body": "Hello!", "nonce": NONCE},
        follow_redirects=True,
    )

    assert page.status_code == 200
    assert "Sent — it will go out in a moment." in page.text
    assert re.search(r"<h1>\s*Jana Schulz", page.text)
    assert len(lead_messages(app)) == 1


@pytest.mark.browser
def test_in_the_browser_the_rep_writes_and_the_log_shows_it(page, app, tenant):
    from playwright.sync_api import expect

    from .support.browser import wait_for_htmx
    from .test_browser import sign_in

    lead_id = assigned_lead(app, tenant, name="Jana Schulz", emails="jana@example.de")
    sign_in(page, tenant.agent.email)
    page.goto(f"/leads/{lead_id}")
    body = page.get_by_label("Text")
    expect(body).to_have_value(re.compile("^Hello Jana Schulz,"))
    wait_for_htmx(page, "#message-channel")

    page.get_by_label("Send by").select_option("sms")
    expect(page.get_by_label("Subject")).to_have_count(0)
    expect(body).to_have_value(re.compile("^Hello Jana Schulz, this is"))
    body.fill("")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#message-body-help")).to_have_text("Write the message.")

    page.get_by_label("Text").fill("Please call me back about the offer.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status").filter(has_text="Sent")).to_be_visible()
    log = page.locator("#lead-deliveries")
    expect(log.locator("tr", has_text="Message to the lead")).to_contain_text("SMS")
    assert len(lead_messages(app)) == 1
