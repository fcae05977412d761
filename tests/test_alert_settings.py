"""Where people configure alerts: the template editor (org admins), the organization's alert
accounts and policy (org admins), and each user's own alert preferences.

Good input is stored and used by the next alert; bad input re-renders with a message by the
field (422) and stores nothing; secrets are sealed and never shown back; other people and
other organizations cannot get in."""

from __future__ import annotations

import re
from datetime import time

import pytest
from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import (
    AlertPreferences,
    AlertSettings,
    ChannelName,
    NotificationTemplate,
    Organization,
)
from leadtrack.services import delivery, secret_box
from tests.support.alerts import assigned_lead, outbox
from tests.support.factories import PASSWORD

TEMPLATES = "/settings/alerts/templates"
EMAIL_EDITOR = f"{TEMPLATES}/lead_assigned/email"
IN_APP_EDITOR = f"{TEMPLATES}/lead_assigned/in_app"
SETTINGS = "/settings/alerts"
PREFERENCES = "/account/alerts"

SMTP_PASSWORD = "s3cret-Mailpass"
SMTP_URL = f"smtp://alerts%40acme.example:{SMTP_PASSWORD}@mail.acme.example:587"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-token-9f8e7d6c5b4a"
WEBHOOK = "https://hooks.slack.example/services/T000/B000/XyZsecretPathQ42"


@pytest.fixture
def admin_web(web, tenant):
    web.login(tenant.admin.email, PASSWORD)
    return web


def stored_templates(app) -> list[NotificationTemplate]:
    with app.app_context():
        rows = list(db.session.scalars(select(NotificationTemplate)))
        db.session.expunge_all()
        return rows


def stored_settings(app, org_id: int) -> AlertSettings | None:
    with app.app_context():
        row = db.session.get(AlertSettings, org_id)
        if row is not None:
            db.session.expunge(row)
        return row


def settings_form(**changes) -> dict:
    """What the organization settings form posts when nothing is typed."""
    data = {
        "smtp_url": "",
        "mail_from": "",
        "twilio_account_sid": "",
        "twilio_token": "",
        "twilio_from": "",
        "webhook_url": "",
        "urgent_ignores_quiet_hours": "y",
        "cap_email": "30",
        "cap_sms": "10",
        "cap_voice": "5",
        "cap_webhook": "60",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


# -- template editor ------------------------------------------------------------------------


def test_template_table_shows_every_event_and_which_texts_are_edited(app, admin_web):
    page = admin_web.get(TEMPLATES)
    assert page.status_code == 200
    for label in ("Lead assigned to you", "Escalated to you (tier 2)", "Daily digest"):
        assert label in page.text
    assert "Lead assigned to you, E-mail: default text" in page.text
    assert "Daily digest, SMS" not in page.text  # the digest is e-mail only

    admin_web.post(EMAIL_EDITOR, {"subject": "Yours: {{ lead.name }}", "body": "Call them."})

    page = admin_web.get(TEMPLATES)
    assert "Lead assigned to you, E-mail: edited text" in page.text
    assert "Lead assigned to you, SMS: default text" in page.text


def test_editor_shows_the_text_placeholders_and_a_preview_with_the_sample_lead(admin_web):
    page = admin_web.get(EMAIL_EDITOR)

    assert page.status_code == 200
    assert "New lead for you: {{ lead.name }}" in page.text.replace("&#34;", '"')
    assert 'data-insert="lead.company"' in page.text
    assert "why it went to this person" in page.text  # details.reason
    assert "New lead for you: Jana Schulz" in page.text  # the preview
    assert 'hx-trigger="input changed delay:400ms"' in page.text


def test_saved_text_is_what_the_next_alert_says(app, tenant, admin_web):
    saved = admin_web.post(
        IN_APP_EDITOR,
        {"subject": "Hot lead: {{ lead.name }}", "body": "From {{ lead.source }}. Call now."},
    )
    assert saved.status_code == 302

    assigned_lead(app, tenant, name="Kai Berger")

    [alert] = outbox(app, channel=ChannelName.IN_APP)
    assert alert.subject == "Hot lead: Kai Berger"
    assert alert.body.startswith("From ")
    assert not alert.used_fallback


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("body", "{{ ''.__class__.__mro__ }}", "names starting with _ are not allowed"),
        ("subject", "Hello {{ lead.nmae }}", "Unknown placeholder"),
        ("body", "{{ lead.name ", "Line 1"),
    ],
)
def test_a_text_that_cannot_work_is_refused_by_its_field_and_not_stored(
    app, admin_web, field, text, message
):
    data = {"subject": "New lead", "body": "Call them.", field: text}

    page = admin_web.post(EMAIL_EDITOR, data)

    assert page.status_code == 422
    assert message in page.text
    assert f'id="{field}-help" class="field-error"' in page.text
    assert "Please correct the fields marked below; nothing was saved." in page.text
    assert stored_templates(app) == []


def test_unknown_placeholder_message_names_the_typo(admin_web):
    page = admin_web.post(EMAIL_EDITOR, {"subject": "Hi {{ lead.nmae }}", "body": "x"})
    assert "nmae" in page.text


def test_live_preview_renders_with_the_sample_lead(admin_web):
    admin_web.get(EMAIL_EDITOR)

    fragment = admin_web.post(
        f"{EMAIL_EDITOR}/preview",
        {"subject": "Call {{ lead.name }}", "body": "{{ lead.company }}, {{ lead.phone }}"},
        htmx=True,
    )

    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Call Jana Schulz" in fragment.text
    assert "Schulz Logistik GmbH, +4915123456789" in fragment.text


def test_live_preview_explains_what_is_wrong(admin_web):
    admin_web.get(EMAIL_EDITOR)

    fragment = admin_web.post(
        f"{EMAIL_EDITOR}/preview",
        {"subject": "x", "body": "{{ ''.__class__.__mro__ }}"},
        htmx=True,
    )

    assert fragment.status_code == 422
    assert "cannot be saved yet" in fragment.text
    assert "Text: “__mro__” is not a placeholder" in fragment.text


def test_sms_editor_has_no_subject(admin_web):
    page = admin_web.get(f"{TEMPLATES}/lead_assigned/sms")
    assert page.status_code == 200
    assert 'name="subject"' not in page.text
    assert (
        "New lead: Jana Schulz, +4915123456789. https://leadtrack.example/leads/1042" in page.text
    )


def test_reset_goes_back_to_the_default_text(app, admin_web):
    admin_web.post(EMAIL_EDITOR, {"subject": "Mine {{ lead.name }}", "body": "Mine."})
    assert len(stored_templates(app)) == 1
    assert "Reset to default" in admin_web.get(EMAIL_EDITOR).text

    reset = admin_web.post(f"{EMAIL_EDITOR}/reset")

    assert reset.status_code == 302
    assert stored_templates(app) == []
    page = admin_web.get(EMAIL_EDITOR)
    assert "New lead for you: Jana Schulz" in page.text
    assert "Reset to default" not in page.text


@pytest.mark.parametrize(
    "url",
    [
        f"{TEMPLATES}/no_such_event/email",
        f"{TEMPLATES}/lead_assigned/fax",
        f"{TEMPLATES}/daily_digest/sms",  # the digest is e-mail only
        f"{TEMPLATES}/lead_message/voice",
    ],
)
def test_unknown_event_or_channel_is_404(admin_web, url):
    assert admin_web.get(url).status_code == 404
    assert admin_web.post(f"{url}/preview", {"body": "x"}, htmx=True).status_code == 404


def test_only_org_admins_edit_templates(app, tenant, web):
    for person in (tenant.agent, tenant.store_manager, tenant.area_manager):
        web.login(person.email, PASSWORD)
        assert web.get(TEMPLATES).status_code == 403
        assert web.get(EMAIL_EDITOR).status_code == 403
        assert web.post(EMAIL_EDITOR, {"subject": "x", "body": "y"}).status_code == 403
        assert web.post(f"{EMAIL_EDITOR}/reset").status_code == 403
        assert web.get(SETTINGS).status_code == 403
    assert stored_templates(app) == []


def test_anonymous_visitors_are_sent_to_sign_in(web):
    for url in (TEMPLATES, EMAIL_EDITOR, SETTINGS, PREFERENCES):
        assert web.get(url).status_code == 302


def test_another_organizations_texts_are_its_own(app, tenant, other_tenant, admin_web, other_web):
    admin_web.post(IN_APP_EDITOR, {"subject": "Acme: {{ lead.name }}", "body": "Acme text."})
    other_web.login(other_tenant.admin.email, PASSWORD)

    assert "Lead assigned to you, In the app: default text" in other_web.get(TEMPLATES).text
    assert "Acme text." not in other_web.get(IN_APP_EDITOR).text
    other_web.post(f"{IN_APP_EDITOR}/reset")  # resets globex's (none), not acme's
    assert len(stored_templates(app)) == 1

    assigned_lead(app, other_tenant, name="Gloria Globex")
    [alert] = outbox(app, channel=ChannelName.IN_APP)
    assert alert.subject == "New lead for you: Gloria Globex"


# -- organization settings -----------------------------------------------------------------


def test_secrets_are_sealed_in_the_database_and_only_shown_masked(app, tenant, admin_web):
    saved = admin_web.post(
        SETTINGS,
        settings_form(
            smtp_url=SMTP_URL,
            mail_from="Alerts@Acme.example",
            twilio_account_sid=TWILIO_SID,
            twilio_token=TWILIO_TOKEN,
            twilio_from="+1 415 555 0123",
            webhook_url=WEBHOOK,
        ),
    )
    assert saved.status_code == 302

    row = stored_settings(app, tenant.org.id)
    assert row.smtp_url_secret and SMTP_PASSWORD not in row.smtp_url_secret
    assert row.twilio_token_secret != TWILIO_TOKEN
    assert "secretPath" not in row.webhook_url_secret
    with app.app_context():
        assert secret_box.open_secret(row.smtp_url_secret) == SMTP_URL
        assert secret_box.open_secret(row.twilio_token_secret) == TWILIO_TOKEN
        assert secret_box.open_secret(row.webhook_url_secret) == WEBHOOK
        accounts = delivery.accounts_for(db.session, db.session.get(Organization, tenant.org.id))
        assert (accounts.smtp_url, accounts.twilio_auth_token) == (SMTP_URL, TWILIO_TOKEN)
    assert (row.mail_from, row.twilio_from) == ("alerts@acme.example", "+14155550123")

    page = admin_web.get(SETTINGS).text
    assert "smtp://alerts%40acme.example:••••@mail.acme.example:587" in page
    assert "https://hooks.slack.example/••••hQ42" in page
    for secret in (SMTP_PASSWORD, TWILIO_TOKEN, "XyZsecretPath", SMTP_URL):
        assert secret not in page


def test_an_empty_secret_field_keeps_the_stored_one_and_remove_clears_it(app, tenant, admin_web):
    admin_web.post(SETTINGS, settings_form(smtp_url=SMTP_URL, webhook_url=WEBHOOK))
    before = stored_settings(app, tenant.org.id)

    admin_web.post(SETTINGS, settings_form(mail_from="alerts@acme.example"))
    kept = stored_settings(app, tenant.org.id)
    assert kept.smtp_url_secret == before.smtp_url_secret
    assert kept.webhook_url_secret == before.webhook_url_secret
    assert kept.mail_from == "alerts@acme.example"

    admin_web.post(SETTINGS, settings_form(remove_smtp_url="y"))
    cleared = stored_settings(app, tenant.org.id)
    assert cleared.smtp_url_secret == ""
    assert cleared.webhook_url_secret == before.webhook_url_secret
    assert "the instance&#39;s mail server is used" in admin_web.get(SETTINGS).text


def test_a_refused_form_does_not_echo_a_typed_secret(app, tenant, admin_web):
    page = admin_web.post(SETTINGS, settings_form(smtp_url=SMTP_URL, twilio_from="12", cap_sms="0"))

    assert page.status_code == 422
    assert SMTP_PASSWORD not in page.text
    assert stored_settings(app, tenant.org.id) is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"smtp_url": "mail.acme.example"}, "smtp_url", "smtp://user:password@host:587"),
        ({"webhook_url": "http://hooks.example.com/x"}, "webhook_url", "Use an https://"),
        ({"mail_from": "not an address"}, "mail_from", "@"),
        (
            {"twilio_account_sid": TWILIO_SID, "twilio_token": "t", "twilio_from": "555"},
            "twilio_from",
            "country code",
        ),
        ({"twilio_account_sid": "AB12"}, "twilio_account_sid", "AC followed by 32"),
        ({"twilio_account_sid": TWILIO_SID}, "twilio_token", "auth token"),
        ({"twilio_from": "+14155550123"}, "twilio_account_sid", "account SID too"),
        ({"voice_enabled": "y"}, "voice_enabled", "need a Twilio account"),
        ({"cap_sms": "0"}, "cap_sms", "from 1 to 1000"),
        ({"cap_email": "1001"}, "cap_email", "from 1 to 1000"),
        ({"cap_webhook": "lots"}, "cap_webhook", "from 1 to 1000"),
        ({"smtp_url": SMTP_URL, "remove_smtp_url": "y"}, "smtp_url", "not both"),
    ],
)
def test_bad_settings_are_refused_by_their_field_and_nothing_is_stored(
    app, tenant, admin_web, changes, field, message
):
    page = admin_web.post(SETTINGS, settings_form(**changes))

    assert page.status_code == 422
    assert f'id="{field}-help" class="field-error"' in page.text
    assert message in page.text
    assert stored_settings(app, tenant.org.id) is None


def test_webhook_on_loopback_may_be_plain_http_and_caps_are_stored(app, tenant, admin_web):
    saved = admin_web.post(
        SETTINGS,
        settings_form(
            webhook_url="http://127.0.0.1:8099/hook", cap_sms="3", urgent_ignores_quiet_hours=None
        ),
    )

    assert saved.status_code == 302
    row = stored_settings(app, tenant.org.id)
    assert row.hourly_caps == {"email": 30, "sms": 3, "voice": 5, "webhook": 60}
    assert row.urgent_ignores_quiet_hours is False
    page = admin_web.get(SETTINGS).text
    assert re.search(r'<input[^>]*id="cap_sms"[^>]*value="3"', page)


def test_each_organization_sees_only_its_own_settings(
    app, tenant, other_tenant, admin_web, other_web
):
    admin_web.post(SETTINGS, settings_form(smtp_url=SMTP_URL, mail_from="alerts@acme.example"))

    other_web.login(other_tenant.admin.email, PASSWORD)
    page = other_web.get(SETTINGS).text

    assert "mail.acme.example" not in page
    assert "alerts@acme.example" not in page
    assert stored_settings(app, other_tenant.org.id) is None


# -- personal preferences ------------------------------------------------------------------


@pytest.fixture
def agent_web(web, tenant):
    web.login(tenant.agent.email, PASSWORD)
    return web


def ticked(html: str) -> set[str]:
    """The channel checkboxes of the preferences page that are checked ("event:channel")."""
    boxes = re.findall(r'<input type="checkbox" name="channel"[^>]*>', html)
    return {re.search(r'value="([^"]+)"', box).group(1) for box in boxes if " checked" in box}


def offered(html: str) -> set[str]:
    return set(re.findall(r'name="channel" value="([^"]+)"', html))


def preferences_form(*ticked: str, **fields) -> dict:
    return {"channel": list(ticked), "digest_hour": "8", **fields}


def test_preferences_page_shows_the_default_channels(agent_web):
    page = agent_web.get(PREFERENCES)

    assert page.status_code == 200
    assert {"lead_assigned:email", "lead_assigned:in_app", "escalated_tier2:sms"} <= ticked(
        page.text
    )
    assert "lead_assigned:sms" not in ticked(page.text)
    assert "lead_assigned:sms" in offered(page.text)
    assert not any(box.startswith("daily_digest") for box in offered(page.text))  # a switch
    assert "lead_assigned:voice" not in offered(page.text)
    assert "Phone call" not in page.text  # the organization has not switched calls on


def test_saved_channels_decide_where_the_next_assignment_alert_goes(app, tenant, agent_web):
    saved = agent_web.post(
        PREFERENCES,
        preferences_form("lead_assigned:in_app", "lead_assigned:webhook"),
    )
    assert saved.status_code == 302

    assigned_lead(app, tenant, name="Kai Berger")

    alerts = outbox(app, event="lead_assigned", recipient_id=tenant.agent.id)
    assert sorted(a.channel for a in alerts) == ["in_app", "webhook"]


def test_no_channel_ticked_means_no_alert(app, tenant, agent_web):
    agent_web.post(PREFERENCES, preferences_form())

    assigned_lead(app, tenant, name="Kai Berger")

    assert outbox(app, event="lead_assigned") == []


def test_quiet_hours_and_digest_are_stored(app, tenant, agent_web):
    agent_web.post(
        PREFERENCES,
        preferences_form(
            "lead_assigned:email",
            quiet_from="21:30",
            quiet_until="07:00",
            digest_enabled="y",
            digest_hour="6",
        ),
    )

    with app.app_context():
        saved = db.session.get(AlertPreferences, tenant.agent.id)
        assert (saved.quiet_from, saved.quiet_until) == (time(21, 30), time(7, 0))
        assert (saved.digest_enabled, saved.digest_hour) == (True, 6)
        assert saved.channels["lead_assigned"] == ["email"]
        assert saved.channels["escalated_tier2"] == []
    page = agent_web.get(PREFERENCES).text
    assert 'value="21:30"' in page and 'value="07:00"' in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"quiet_from": "22:00"}, "quiet_until", "Give both times"),
        ({"quiet_until": "06:00"}, "quiet_from", "Give both times"),
        ({"quiet_from": "25:00", "quiet_until": "06:00"}, "quiet_from", "such as 21:30"),
        ({"quiet_from": "06:00", "quiet_until": "06:00"}, "quiet_until", "end as they start"),
        ({"digest_hour": "24"}, "digest_hour", "from 0 to 23"),
    ],
)
def test_bad_preferences_are_refused_and_nothing_is_stored(
    app, tenant, agent_web, fields, field, message
):
    page = agent_web.post(PREFERENCES, preferences_form("lead_assigned:email", **fields))

    assert page.status_code == 422
    assert f'id="{field}-help" class="field-error"' in page.text
    assert message in page.text
    assert ticked(page.text) == {"lead_assigned:email"}  # what was ticked, not the saved
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AlertPreferences)) == 0


def test_a_channel_the_page_does_not_offer_is_refused(app, agent_web):
    page = agent_web.post(PREFERENCES, preferences_form("lead_assigned:voice"))

    assert page.status_code == 422
    assert "pick from the channels shown" in page.text


def test_phone_calls_are_offered_once_the_organization_switches_them_on(
    app, tenant, admin_web, other_web
):
    admin_web.post(
        SETTINGS,
        settings_form(
            twilio_account_sid=TWILIO_SID,
            twilio_token=TWILIO_TOKEN,
            twilio_from="+14155550123",
            voice_enabled="y",
        ),
    )
    other_web.login(tenant.agent.email, PASSWORD)

    page = other_web.get(PREFERENCES)
    assert "escalated_tier2:voice" in offered(page.text)

    other_web.post(PREFERENCES, preferences_form("escalated_tier2:voice", "escalated_tier2:sms"))
    with app.app_context():
        saved = db.session.get(AlertPreferences, tenant.agent.id)
        assert saved.channels["escalated_tier2"] == ["sms", "voice"]


def test_preferences_are_per_person(app, tenant, agent_web, other_web):
    agent_web.post(PREFERENCES, preferences_form("lead_assigned:in_app"))
    other_web.login(tenant.other_agent.email, PASSWORD)

    page = other_web.get(PREFERENCES).text

    assert "lead_assigned:email" in ticked(page)


def test_platform_admin_has_no_alert_preferences(web, super_admin):
    web.login(super_admin.email, PASSWORD)
    assert web.get(PREFERENCES).status_code == 404


def test_admins_find_alerts_in_the_menu_and_everyone_their_own_alert_settings(
    tenant, admin_web, other_web
):
    page = admin_web.get("/").text
    assert 'href="/settings/alerts">Alerts</a>' in page
    assert 'href="/account/alerts">Alert settings</a>' in page

    other_web.login(tenant.agent.email, PASSWORD)
    page = other_web.get("/").text
    assert 'href="/settings/alerts"' not in page
    assert 'href="/account/alerts">Alert settings</a>' in page


def test_a_secret_sealed_with_an_old_secret_key_asks_to_be_entered_again(app, tenant, admin_web):
    with app.app_context():
        old_key = app.config["SECRET_KEY"]
        app.config["SECRET_KEY"] = "the-key-before-rotation"
        try:
            sealed = secret_box.seal(SMTP_URL)
        finally:
            app.config["SECRET_KEY"] = old_key
        db.session.add(AlertSettings(org_id=tenant.org.id, smtp_url_secret=sealed))
        db.session.commit()

    page = admin_web.get(SETTINGS)

    assert page.status_code == 200
    assert "cannot be read any more" in page.text
    assert "mail.acme.example" not in page.text
