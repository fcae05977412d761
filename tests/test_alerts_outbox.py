"""The outbox end to end: an assignment writes alerts in its transaction; a real RQ worker
delivers them over a real SMTP conversation; each alert is sent exactly once."""

from __future__ import annotations

import re

from leadtrack.extensions import db
from leadtrack.models import ChannelName, DeliveryStatus
from leadtrack.services import delivery

from .support.alerts import assigned_lead, outbox
from .support.smtp import text_part


def html_part(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode()
    return ""


def test_assignment_alert_arrives_by_email_with_both_parts_and_links(
    app, tenant, run_jobs, smtp_sink
):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz", phones="0151 23456789")

    run_jobs()

    [message] = smtp_sink.wait_for(1)
    assert message["To"] == tenant.agent.email
    assert message["Subject"] == "New lead for you: Jana Schulz"
    assert "Acme Inc" in message["From"]
    assert message["List-Unsubscribe"] == "<http://localhost/account/alerts>"
    text = text_part(message)
    assert "+4915123456789" in text
    assert f"http://localhost/leads/{lead_id}" in text
    html = html_part(message)
    assert f'href="http://localhost/leads/{lead_id}"' in html
    assert "I&#39;m on it" in html or "I'm on it" in html
    [email] = outbox(app, channel=ChannelName.EMAIL)
    assert email.status == DeliveryStatus.SENT
    assert email.attempts == 1


def test_in_app_alert_is_there_at_once(app, tenant):
    assigned_lead(app, tenant, name="Jana Schulz")

    [in_app] = outbox(app, channel=ChannelName.IN_APP)
    assert in_app.recipient_id == tenant.agent.id
    assert in_app.status == DeliveryStatus.SENT
    assert in_app.subject == "New lead for you: Jana Schulz"
    assert in_app.read_at is None


def test_ack_link_in_the_mail_records_a_response(app, tenant, run_jobs, smtp_sink, web):
    lead_id = assigned_lead(app, tenant, name="Jana Schulz")
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    ack = re.search(r"I'm on it: (http://localhost(/alert/\S+))", text_part(message)).group(2)

    page = web.get(ack)
    assert page.status_code == 200
    assert "Tell the team you are taking care" in page.text
    done = web.post(ack, data={})
    assert done.status_code == 200
    assert "is recorded" in done.text

    detail_events = _events(app, lead_id)
    assert "activity" in detail_events
    with app.app_context():
        from leadtrack.models import Lead

        assert db.session.get(Lead, lead_id).first_response_at is not None


def _events(app, lead_id):
    from sqlalchemy import select

    from leadtrack.models import LeadEvent

    with app.app_context():
        return [
            e.kind
            for e in db.session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id))
        ]


def test_a_job_run_twice_sends_once(app, tenant, run_jobs, smtp_sink):
    assigned_lead(app, tenant)
    [email] = outbox(app, channel=ChannelName.EMAIL)
    with app.app_context():
        delivery.deliver(db.session, [email.id])
        delivery.deliver(db.session, [email.id])
    run_jobs()  # the job queued after the commit finds it already sent
    assert len(smtp_sink.wait_for(2, timeout=1)) == 1


def _ack_link(app, smtp_sink, run_jobs) -> str:
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    return re.search(r"I'm on it: http://localhost(/alert/\S+)", text_part(message)).group(1)


def _activities(app, lead_id) -> int:
    from sqlalchemy import func, select

    from leadtrack.models import Activity

    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Activity).where(Activity.lead_id == lead_id)
        )


def test_a_tampered_link_gets_a_clear_page_and_changes_nothing(
    app, tenant, run_jobs, smtp_sink, web
):
    lead_id = assigned_lead(app, tenant)
    link = _ack_link(app, smtp_sink, run_jobs)
    head, _, signature = link.rpartition(".")
    forged = head + "." + ("A" if signature[0] != "A" else "B") + signature[1:]

    for response in (web.get(forged), web.post(forged, data={}), web.get(link + "x")):
        assert response.status_code == 400
        assert "not valid" in response.text
    assert _activities(app, lead_id) == 0


def test_an_expired_link_gets_a_clear_page(app, tenant, run_jobs, smtp_sink, web, monkeypatch):
    lead_id = assigned_lead(app, tenant)
    link = _ack_link(app, smtp_sink, run_jobs)
    monkeypatch.setitem(app.config, "ALERT_LINK_MAX_AGE", -1)

    response = web.post(link, data={})
    assert response.status_code == 400
    assert "expired" in response.text
    assert _activities(app, lead_id) == 0


def test_answering_twice_records_one_response(app, tenant, run_jobs, smtp_sink, web):
    lead_id = assigned_lead(app, tenant)
    link = _ack_link(app, smtp_sink, run_jobs)
    web.post(link, data={})
    again = web.get(link)
    assert "is recorded" in again.text
    web.post(link, data={})
    assert _activities(app, lead_id) == 1


def test_the_view_link_opens_the_lead(app, tenant):
    from leadtrack.services import alert_links
    from leadtrack.services.alert_links import AlertLink

    lead_id = assigned_lead(app, tenant)
    [email] = outbox(app, channel=ChannelName.EMAIL)
    with app.test_request_context():
        token = alert_links.make_token(AlertLink("view", email.id, tenant.agent.id, lead_id))
    response = app.test_client().get(f"/alert/{token}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/leads/{lead_id}")


def test_alerts_of_one_transaction_are_queued_once_after_it_commits(app, tenant):
    """Each alert is written in a savepoint; only the real commit may queue the job."""
    from leadtrack.models import Lead, User
    from leadtrack.queues import get_queue
    from leadtrack.services import leads
    from leadtrack.services.history import Actor
    from leadtrack.timeutil import utcnow

    from .support.leads import make_lead

    lead_ids = [make_lead(app, tenant.org.id, name=f"Lead Number{n}") for n in range(2)]
    with app.app_context():
        manager = Actor(tenant.org.id, user=db.session.get(User, tenant.store_manager.id))
        agent = db.session.get(User, tenant.agent.id)
        for lead_id in lead_ids:
            leads.assign(db.session, db.session.get(Lead, lead_id), agent, manager, utcnow())
        db.session.flush()
        assert get_queue().count == 0  # nothing queued before the commit
        db.session.commit()
        [job] = get_queue().jobs
        emails = outbox(app, channel=ChannelName.EMAIL)
        assert job.args == ([e.id for e in emails],)
