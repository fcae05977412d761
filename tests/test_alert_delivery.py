"""Delivery rules: retries with backoff, dead letters, caps folded into a summary, quiet
hours, backup routing, template fallback, reminders and digests."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import (
    AlertPreferences,
    AlertSettings,
    ChannelName,
    DeliveryStatus,
    Lead,
    Notification,
    NotificationTemplate,
    User,
)
from leadtrack.services import delivery, reminders, users
from leadtrack.timeutil import utcnow

from .support.alerts import assigned_lead, outbox
from .support.smtp import _free_port, text_part

EMAIL = ChannelName.EMAIL


def _deliver(app, ids, at: datetime):
    with app.app_context():
        return delivery.deliver(db.session, ids, clock=lambda: at)


def _email(app, **where) -> Notification:
    [row] = outbox(app, channel=EMAIL, **where)
    return row


# -- retries and dead letters ---------------------------------------------------------------


def test_an_unreachable_mail_server_is_retried_with_backoff(app, tenant, smtp_sink, monkeypatch):
    good_url = app.config["SMTP_URL"]
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{_free_port()}")
    now = utcnow()
    assigned_lead(app, tenant, now=now, name="Jana Schulz")
    email = _email(app)

    _deliver(app, [email.id], now)
    first = _email(app)
    assert first.status == DeliveryStatus.RETRYING
    assert first.next_attempt_at == now + timedelta(seconds=30)
    assert "unreachable" in first.last_error

    _deliver(app, [email.id], now + timedelta(seconds=10))  # not due yet: untouched
    assert _email(app).attempts == 1

    _deliver(app, [email.id], now + timedelta(seconds=31))
    second = _email(app)
    assert second.status == DeliveryStatus.RETRYING
    assert second.next_attempt_at == now + timedelta(seconds=31 + 120)

    monkeypatch.setitem(app.config, "SMTP_URL", good_url)
    _deliver(app, [email.id], now + timedelta(seconds=200))
    assert _email(app).status == DeliveryStatus.SENT
    assert smtp_sink.wait_for(1)[0]["Subject"] == "New lead for you: Jana Schulz"


def test_retries_used_up_end_in_the_dead_letter_list(app, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{_free_port()}")
    monkeypatch.setitem(app.config, "ALERT_MAX_ATTEMPTS", 2)
    now = utcnow()
    assigned_lead(app, tenant, now=now)
    email = _email(app)
    _deliver(app, [email.id], now)
    _deliver(app, [email.id], now + timedelta(minutes=1))
    dead = _email(app)
    assert dead.status == DeliveryStatus.DEAD
    assert dead.last_error.startswith("Gave up after 2 attempts")


class _Refusing:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such mailbox"


@pytest.fixture
def refusing_smtp(app, monkeypatch):
    port = _free_port()
    controller = Controller(_Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}")
    yield
    controller.stop()


def test_a_refused_address_is_dead_at_once_and_retry_sends_it(
    app, tenant, refusing_smtp, smtp_sink, monkeypatch
):
    now = utcnow()
    assigned_lead(app, tenant, now=now)
    email = _email(app)
    _deliver(app, [email.id], now)
    dead = _email(app)
    assert dead.status == DeliveryStatus.DEAD
    assert "refused" in dead.last_error
    assert dead.attempts == 1

    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    with app.app_context():
        delivery.retry(db.session, db.session.get(Notification, email.id), now)
        db.session.commit()
    _deliver(app, [email.id], now + timedelta(seconds=1))
    assert _email(app).status == DeliveryStatus.SENT
    assert len(smtp_sink.wait_for(1)) == 1


# -- caps ------------------------------------------------------------------------------------


def test_alerts_over_the_hourly_cap_are_folded_into_one_summary(app, tenant, smtp_sink):
    with app.app_context():
        db.session.add(AlertSettings(org_id=tenant.org.id, hourly_caps={"email": 2}))
        db.session.commit()
    now = utcnow()
    for number in range(4):
        assigned_lead(app, tenant, now=now, name=f"Lead Number{number}")
    emails = outbox(app, channel=EMAIL, event="lead_assigned")
    _deliver(app, [e.id for e in emails], now)

    statuses = [e.status for e in outbox(app, channel=EMAIL, event="lead_assigned")]
    assert statuses == ["sent", "sent", "folded", "folded"]
    assert len(smtp_sink.wait_for(3, timeout=1)) == 2
    [summary] = outbox(app, event="alert_summary")
    assert summary.next_attempt_at == now + timedelta(hours=1)

    _deliver(app, [summary.id], now + timedelta(hours=1, seconds=1))
    mails = smtp_sink.wait_for(3)
    assert mails[2]["Subject"] == "2 more alerts in the last hour"
    body = text_part(mails[2])
    assert "New lead for you: Lead Number2" in body
    assert "New lead for you: Lead Number3" in body


# -- quiet hours -------------------------------------------------------------------------------


def _quiet(app, user_id, start="22:00", end="07:00"):
    with app.app_context():
        db.session.add(
            AlertPreferences(
                user_id=user_id,
                channels={},
                quiet_from=time.fromisoformat(start),
                quiet_until=time.fromisoformat(end),
            )
        )
        db.session.commit()


BERLIN_23H = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 23:00 in Berlin (UTC+1)
BERLIN_7H = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def test_quiet_hours_hold_email_until_morning_but_not_the_in_app_alert(app, tenant):
    _quiet(app, tenant.agent.id)
    assigned_lead(app, tenant, now=BERLIN_23H)
    assert _email(app).next_attempt_at == BERLIN_7H
    [in_app] = outbox(app, channel=ChannelName.IN_APP)
    assert in_app.status == DeliveryStatus.SENT

    _deliver(app, [_email(app).id], BERLIN_23H + timedelta(minutes=5))
    assert _email(app).status == DeliveryStatus.PENDING


def _warn(app, tenant, now):
    from leadtrack.models import Organization
    from leadtrack.services import outbox as outbox_service

    with app.app_context():
        lead = db.session.scalars(select(Lead)).first()
        outbox_service.notify(
            db.session,
            db.session.get(Organization, tenant.org.id),
            "response_warning",
            db.session.get(User, tenant.agent.id),
            now,
            lead=lead,
            step="warn-1",
            details={"minutes_left": 5, "deadline": "23:05"},
        )
        db.session.commit()


def test_urgent_alerts_go_through_quiet_hours_unless_the_organization_says_no(app, tenant):
    _quiet(app, tenant.agent.id)
    assigned_lead(app, tenant, now=BERLIN_23H)
    _warn(app, tenant, BERLIN_23H)
    [warning] = outbox(app, channel=EMAIL, event="response_warning")
    assert warning.next_attempt_at == BERLIN_23H

    with app.app_context():
        db.session.add(AlertSettings(org_id=tenant.org.id, urgent_ignores_quiet_hours=False))
        db.session.commit()
    _warn(app, tenant, BERLIN_23H + timedelta(minutes=1))  # same step: deduplicated
    assert len(outbox(app, channel=EMAIL, event="response_warning")) == 1


# -- who receives ------------------------------------------------------------------------------


def test_an_away_users_alerts_go_to_their_backup(app, tenant):
    now = utcnow()
    with app.app_context():
        agent = db.session.get(User, tenant.agent.id)
        agent.backup_id = tenant.other_agent.id
        users.add_out_of_office(
            db.session, agent, now - timedelta(hours=1), now + timedelta(days=1)
        )
        db.session.commit()
    assigned_lead(app, tenant, now=now)
    email = _email(app)
    assert email.recipient_id == tenant.other_agent.id
    assert email.intended_recipient_id == tenant.agent.id
    assert email.address == tenant.other_agent.email


def test_a_deactivated_user_without_backup_falls_to_their_supervisor(app, tenant):
    now = utcnow()
    lead_id = assigned_lead(app, tenant, now=now)
    with app.app_context():
        agent = db.session.get(User, tenant.agent.id)
        agent.is_active_user = False
        db.session.commit()
    from leadtrack.models import Organization
    from leadtrack.services import outbox as outbox_service

    with app.app_context():
        outbox_service.notify(
            db.session,
            db.session.get(Organization, tenant.org.id),
            "escalated_tier2",
            db.session.get(User, tenant.agent.id),
            now,
            lead=db.session.get(Lead, lead_id),
            step="tier2",
        )
        db.session.commit()
    [email] = outbox(app, channel=EMAIL, event="escalated_tier2")
    assert email.recipient_id == tenant.store_manager.id


# -- texts ------------------------------------------------------------------------------------


def test_a_template_that_breaks_at_send_time_falls_back_to_the_default(
    app, tenant, smtp_sink, caplog
):
    with app.app_context():
        db.session.add(
            NotificationTemplate(
                org_id=tenant.org.id,
                event="lead_assigned",
                channel=EMAIL,
                subject="{{ lead.name",  # broken, stored before validation existed
                body="{{ 1 / 0 }}",
            )
        )
        db.session.commit()
    now = utcnow()
    assigned_lead(app, tenant, now=now, name="Jana Schulz")
    _deliver(app, [_email(app).id], now)
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "New lead for you: Jana Schulz"
    assert _email(app).used_fallback is True
    assert "failed; default used" in caplog.text


# -- time-driven alerts ------------------------------------------------------------------------


def test_a_follow_up_falling_due_is_told_once(app, tenant):
    now = utcnow()
    lead_id = assigned_lead(app, tenant, now=now - timedelta(hours=2))
    with app.app_context():
        db.session.get(Lead, lead_id).follow_up_at = now - timedelta(minutes=3)
        db.session.commit()
        assert reminders.follow_ups_due(db.session, now) == 2  # e-mail and in-app
        db.session.commit()
        assert reminders.follow_ups_due(db.session, now + timedelta(minutes=1)) == 0
    assert _email(app, event="follow_up_due").lead_id == lead_id


def test_the_daily_digest_goes_out_once_at_the_chosen_hour(app, tenant, smtp_sink, run_jobs):
    now = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)  # 08:30 in Berlin
    assigned_lead(app, tenant, now=now - timedelta(hours=3), name="Jana Schulz")
    with app.app_context():
        db.session.add(AlertPreferences(user_id=tenant.agent.id, channels={}, digest_enabled=True))
        db.session.commit()
        assert reminders.digests_due(db.session, now - timedelta(hours=1)) == 0  # 07:30
        assert reminders.digests_due(db.session, now) == 1
        db.session.commit()
        assert reminders.digests_due(db.session, now + timedelta(minutes=20)) == 0
    digest = _email(app, event="daily_digest")
    _deliver(app, [digest.id], now)
    [*_, message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "Your leads today: 1 open, 0 overdue"
