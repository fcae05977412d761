"""SMS, phone calls and team chat: a real RQ worker delivers the alert to a local HTTP stub
standing in for Twilio or the chat webhook, which checks what the client sent; Twilio's
callback for "press 1" is accepted only with a correct signature."""

from __future__ import annotations

import base64
import socket
from datetime import datetime

import pytest
from sqlalchemy import select

from leadtrack.channels import OutgoingAlert, twilio, voice
from leadtrack.extensions import db
from leadtrack.models import (
    Activity,
    ActivityKind,
    AlertPreferences,
    AlertSettings,
    ChannelName,
    DeliveryStatus,
    Lead,
    User,
)
from leadtrack.services import secret_box
from leadtrack.timeutil import utcnow

from .support.alerts import assigned_lead, outbox
from .support.http_stub import HttpStub

SID, TOKEN, FROM = "AC0000instance", "instance-token", "+15550001111"
ORG_SID, ORG_TOKEN, ORG_FROM = "AC1111acme", "acme-token", "+15550002222"
AGENT_PHONE = "+4915112345678"
CHAT_PATH = "/services/T000/B000/secretpart"


@pytest.fixture(scope="session")
def stub():
    server = HttpStub()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def remote(app, stub, monkeypatch) -> HttpStub:
    """The instance's Twilio account and chat webhook, both answered by the stub."""
    stub.reset()
    monkeypatch.setitem(app.config, "TWILIO_API_BASE", stub.url)
    monkeypatch.setitem(app.config, "TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "TWILIO_FROM", FROM)
    monkeypatch.setitem(app.config, "CHAT_WEBHOOK_URL", stub.url + CHAT_PATH)
    return stub


def wants(app, user, *channels: str, phone: str = AGENT_PHONE) -> None:
    with app.app_context():
        db.session.get(User, user.id).phone = phone
        db.session.add(
            AlertPreferences(user_id=user.id, channels={"lead_assigned": list(channels)})
        )
        db.session.commit()


def own_twilio_account(app, org, *, sid=ORG_SID, token=ORG_TOKEN, voice=True) -> None:
    with app.app_context():
        db.session.add(
            AlertSettings(
                org_id=org.id,
                twilio_account_sid=sid,
                twilio_token_secret=secret_box.seal(token),
                twilio_from=ORG_FROM,
                voice_enabled=voice,
            )
        )
        db.session.commit()


def basic_auth(request) -> str:
    scheme, encoded = request.headers["Authorization"].split(" ", 1)
    assert scheme == "Basic"
    return base64.b64decode(encoded).decode()


# -- SMS -------------------------------------------------------------------------------------


def test_sms_goes_to_twilio_from_the_instance_account(app, tenant, remote, run_jobs):
    remote.answer(201, {"sid": "SM123", "status": "queued"})
    wants(app, tenant.agent, "sms")
    lead_id = assigned_lead(app, tenant, name="Jana Schulz", phones="0151 23456789")

    run_jobs()

    [request] = remote.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert basic_auth(request) == f"{SID}:{TOKEN}"
    form = request.form
    assert form["From"] == FROM
    assert form["To"] == AGENT_PHONE
    assert form["Body"].startswith("New lead: Jana Schulz, +4915123456789.")
    assert f"http://localhost/leads/{lead_id}" in form["Body"]
    [sms] = outbox(app, channel=ChannelName.SMS)
    assert sms.status == DeliveryStatus.SENT
    assert sms.receipt == "SM123"


def test_an_organizations_own_twilio_account_is_used(app, tenant, remote, run_jobs):
    remote.answer(201, {"sid": "SM456"})
    own_twilio_account(app, tenant.org)
    wants(app, tenant.agent, "sms")
    assigned_lead(app, tenant)

    run_jobs()

    [request] = remote.requests
    assert request.path == f"/2010-04-01/Accounts/{ORG_SID}/Messages.json"
    assert basic_auth(request) == f"{ORG_SID}:{ORG_TOKEN}"
    assert request.form["From"] == ORG_FROM


def test_a_number_twilio_refuses_makes_the_alert_dead_with_twilios_reason(
    app, tenant, remote, run_jobs, caplog
):
    remote.answer(
        400,
        {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400},
    )
    wants(app, tenant.agent, "sms")
    assigned_lead(app, tenant)

    run_jobs()

    [sms] = outbox(app, channel=ChannelName.SMS)
    assert sms.status == DeliveryStatus.DEAD
    assert "The 'To' number is not a valid phone number." in sms.last_error
    assert "21211" in sms.last_error
    assert TOKEN not in sms.last_error + caplog.text


def test_twilio_unavailable_means_a_retry_later(app, tenant, remote, run_jobs):
    remote.answer(503, {"message": "Service Unavailable"})
    wants(app, tenant.agent, "sms")
    assigned_lead(app, tenant)
    before = utcnow()

    run_jobs()

    [sms] = outbox(app, channel=ChannelName.SMS)
    assert sms.status == DeliveryStatus.RETRYING
    assert sms.attempts == 1
    assert sms.next_attempt_at > before
    assert "503" in sms.last_error


def test_twilio_unreachable_means_a_retry_later(app, tenant, remote, run_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_API_BASE", f"http://127.0.0.1:{closed_port()}")
    wants(app, tenant.agent, "sms")
    assigned_lead(app, tenant)

    run_jobs()

    [sms] = outbox(app, channel=ChannelName.SMS)
    assert sms.status == DeliveryStatus.RETRYING
    assert "Twilio unreachable" in sms.last_error


def test_a_user_without_a_phone_number_is_skipped_with_the_reason(app, tenant, remote, run_jobs):
    wants(app, tenant.agent, "sms", phone="")
    assigned_lead(app, tenant)

    run_jobs()

    [sms] = outbox(app, channel=ChannelName.SMS)
    assert sms.status == DeliveryStatus.SKIPPED
    assert sms.last_error == f"{tenant.agent.name} has no phone number on file."
    assert remote.requests == []


def test_without_a_twilio_account_the_alert_is_dead_and_says_why(
    app, tenant, remote, run_jobs, monkeypatch
):
    monkeypatch.setitem(app.config, "TWILIO_ACCOUNT_SID", "")
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "")
    wants(app, tenant.agent, "sms")
    assigned_lead(app, tenant)

    run_jobs()

    [sms] = outbox(app, channel=ChannelName.SMS)
    assert sms.status == DeliveryStatus.DEAD
    assert sms.last_error == "Twilio is not set up (missing: account SID, auth token)."
    assert remote.requests == []


# -- phone calls -----------------------------------------------------------------------------


def test_a_call_reads_the_alert_and_offers_press_1(app, tenant, remote, run_jobs):
    remote.answer(201, {"sid": "CA789", "status": "queued"})
    own_twilio_account(app, tenant.org)
    wants(app, tenant.agent, "voice")
    assigned_lead(app, tenant, name="Jana Schulz & Co")

    run_jobs()

    [call] = outbox(app, channel=ChannelName.VOICE)
    assert call.status == DeliveryStatus.SENT
    assert call.receipt == "CA789"
    [request] = remote.requests
    assert request.path == f"/2010-04-01/Accounts/{ORG_SID}/Calls.json"
    assert basic_auth(request) == f"{ORG_SID}:{ORG_TOKEN}"
    form = request.form
    assert (form["From"], form["To"]) == (ORG_FROM, AGENT_PHONE)
    twiml = form["Twiml"]
    assert twiml.startswith("<Response><Gather ")
    assert f'action="http://localhost/hooks/twilio/voice/{call.id}"' in twiml
    assert "<Say>Hello Agent, this is LeadTrack. New lead for you: Jana Schulz &amp; Co." in twiml
    assert "Press 1 to accept this lead.</Say></Gather>" in twiml


def test_a_call_about_no_lead_only_reads_the_alert():
    alert = OutgoingAlert(7, ChannelName.VOICE, AGENT_PHONE, "", "3 alerts <held back>.")

    assert voice.twiml(alert, "https://crm.example.com") == (
        "<Response><Say>3 alerts &lt;held back&gt;.</Say></Response>"
    )


def test_no_call_unless_the_organization_switched_calls_on(app, tenant, remote, run_jobs):
    own_twilio_account(app, tenant.org, voice=False)
    wants(app, tenant.agent, "voice")
    assigned_lead(app, tenant)

    run_jobs()

    assert outbox(app, channel=ChannelName.VOICE) == []
    assert remote.requests == []


# -- team chat -------------------------------------------------------------------------------


def test_team_chat_gets_slack_and_teams_compatible_json(app, tenant, remote, run_jobs):
    remote.answer(200, {})
    wants(app, tenant.agent, "webhook")
    lead_id = assigned_lead(app, tenant, name="Jana Schulz")

    run_jobs()

    [request] = remote.requests
    assert request.path == CHAT_PATH
    assert request.headers["Content-Type"] == "application/json"
    text = request.json["text"]
    assert list(request.json) == ["text"]
    assert text.startswith("*New lead for you: Jana Schulz*\nNew lead: Jana Schulz, ")
    assert f"http://localhost/leads/{lead_id}" in text
    [chat] = outbox(app, channel=ChannelName.WEBHOOK)
    assert chat.status == DeliveryStatus.SENT
    assert CHAT_PATH not in chat.receipt


def test_an_organizations_own_webhook_is_used(app, tenant, remote, run_jobs):
    with app.app_context():
        db.session.add(
            AlertSettings(
                org_id=tenant.org.id, webhook_url_secret=secret_box.seal(remote.url + "/acme-hook")
            )
        )
        db.session.commit()
    wants(app, tenant.agent, "webhook")
    assigned_lead(app, tenant)

    run_jobs()

    assert [r.path for r in remote.requests] == ["/acme-hook"]


def test_a_webhook_refusal_is_dead_and_never_shows_the_secret_url(
    app, tenant, remote, run_jobs, caplog
):
    remote.answer(404, "no_service")
    wants(app, tenant.agent, "webhook")
    assigned_lead(app, tenant)

    run_jobs()

    [chat] = outbox(app, channel=ChannelName.WEBHOOK)
    assert chat.status == DeliveryStatus.DEAD
    assert chat.last_error == 'The chat webhook answered 404: "no_service"'
    assert "secretpart" not in caplog.text


def test_a_webhook_server_error_is_retried(app, tenant, remote, run_jobs):
    remote.answer(500, {})
    wants(app, tenant.agent, "webhook")
    assigned_lead(app, tenant)

    run_jobs()

    [chat] = outbox(app, channel=ChannelName.WEBHOOK)
    assert chat.status == DeliveryStatus.RETRYING


def test_no_webhook_url_makes_the_chat_alert_dead(app, tenant, remote, run_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "CHAT_WEBHOOK_URL", "")
    wants(app, tenant.agent, "webhook")
    assigned_lead(app, tenant)

    run_jobs()

    [chat] = outbox(app, channel=ChannelName.WEBHOOK)
    assert chat.status == DeliveryStatus.DEAD
    assert chat.last_error == "Team chat is not set up: no webhook URL."


# -- Twilio's callback: "press 1 to accept" ---------------------------------------------------


def called_alert(app, tenant, run_jobs, remote) -> tuple[int, int]:
    """An assignment that rang the agent's phone: (lead id, call notification id)."""
    remote.answer(201, {"sid": "CA789"})
    own_twilio_account(app, tenant.org)
    wants(app, tenant.agent, "voice")
    lead_id = assigned_lead(app, tenant)
    run_jobs()
    [call] = outbox(app, channel=ChannelName.VOICE)
    return lead_id, call.id


def press(app, notification_id: int, digits: str, token: str = ORG_TOKEN, signature=None):
    """Twilio posting the key pressed, signed with `token` (or the given signature)."""
    path = f"/hooks/twilio/voice/{notification_id}"
    form = {
        "AccountSid": ORG_SID,
        "CallSid": "CA789",
        "CallStatus": "in-progress",
        "Digits": digits,
        "From": ORG_FROM,
        "To": AGENT_PHONE,
    }
    if signature is None:
        signature = twilio.signature(token, "http://localhost" + path, form)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return app.test_client().post(path, data=form, headers=headers)


def acks(app, lead_id: int) -> list[Activity]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(Activity).where(
                    Activity.lead_id == lead_id, Activity.kind == ActivityKind.ACK
                )
            )
        )
        db.session.expunge_all()
        return rows


def first_response(app, lead_id: int) -> datetime | None:
    with app.app_context():
        return db.session.get(Lead, lead_id).first_response_at


def test_pressing_1_records_the_reps_response(app, tenant, remote, run_jobs):
    lead_id, call_id = called_alert(app, tenant, run_jobs, remote)

    answer = press(app, call_id, "1")

    assert answer.status_code == 200
    assert answer.mimetype == "text/xml"
    assert answer.text == "<Response><Say>Thank you. The lead is yours.</Say></Response>"
    [ack] = acks(app, lead_id)
    assert ack.actor_id == tenant.agent.id
    assert "phone call" in ack.body
    assert first_response(app, lead_id) is not None
    press(app, call_id, "1")  # Twilio retrying the callback records nothing more
    assert len(acks(app, lead_id)) == 1


def test_another_key_records_nothing(app, tenant, remote, run_jobs):
    lead_id, call_id = called_alert(app, tenant, run_jobs, remote)

    answer = press(app, call_id, "2")

    assert answer.status_code == 200
    assert answer.text == "<Response><Say>Goodbye.</Say></Response>"
    assert acks(app, lead_id) == []
    assert first_response(app, lead_id) is None


def test_a_forged_or_missing_signature_is_refused(app, tenant, remote, run_jobs):
    lead_id, call_id = called_alert(app, tenant, run_jobs, remote)

    assert press(app, call_id, "1", token="guessed-token").status_code == 403
    assert press(app, call_id, "1", signature="").status_code == 403
    assert press(app, call_id + 1000, "1").status_code == 403
    assert acks(app, lead_id) == []
    assert first_response(app, lead_id) is None


def test_a_signature_for_other_keys_than_those_sent_is_refused(app, tenant, remote, run_jobs):
    lead_id, call_id = called_alert(app, tenant, run_jobs, remote)
    path = f"/hooks/twilio/voice/{call_id}"
    signed_for_2 = twilio.signature(ORG_TOKEN, "http://localhost" + path, {"Digits": "2"})

    answer = app.test_client().post(
        path, data={"Digits": "1"}, headers={"X-Twilio-Signature": signed_for_2}
    )

    assert answer.status_code == 403
    assert acks(app, lead_id) == []


def test_another_organizations_call_cannot_be_answered_with_this_organizations_token(
    app, tenant, other_tenant, remote, run_jobs
):
    own_twilio_account(app, tenant.org)
    own_twilio_account(app, other_tenant.org, sid="AC2222other", token="other-token")
    remote.answer(201, {"sid": "CA999"})
    wants(app, other_tenant.agent, "voice")
    other_lead = assigned_lead(app, other_tenant)
    run_jobs()
    [other_call] = outbox(app, channel=ChannelName.VOICE)

    assert press(app, other_call.id, "1", token=ORG_TOKEN).status_code == 403
    assert acks(app, other_lead) == []
    assert press(app, other_call.id, "1", token="other-token").status_code == 200
    assert len(acks(app, other_lead)) == 1


# -- the signature itself --------------------------------------------------------------------


TWILIO_DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}


def test_signature_matches_twilios_documented_example():
    assert twilio.signature("12345", TWILIO_DOCS_URL, TWILIO_DOCS_PARAMS) == (
        "GvWf1cFY/Q7PnoempGyD5oXAezc="
    )
    assert twilio.valid_signature(
        "12345", TWILIO_DOCS_URL, TWILIO_DOCS_PARAMS, "GvWf1cFY/Q7PnoempGyD5oXAezc="
    )


def test_a_changed_parameter_url_or_token_breaks_the_signature():
    good = twilio.signature("12345", TWILIO_DOCS_URL, TWILIO_DOCS_PARAMS)
    tampered = {**TWILIO_DOCS_PARAMS, "Digits": "1"}
    assert not twilio.valid_signature("12345", TWILIO_DOCS_URL, tampered, good)
    assert not twilio.valid_signature("12345", TWILIO_DOCS_URL + "&x=1", TWILIO_DOCS_PARAMS, good)
    assert not twilio.valid_signature("54321", TWILIO_DOCS_URL, TWILIO_DOCS_PARAMS, good)
    assert not twilio.valid_signature("", TWILIO_DOCS_URL, TWILIO_DOCS_PARAMS, good)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
