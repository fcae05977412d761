"""Forms of the alert pages: a template's text, the organization's accounts and policy, and a
user's own preferences. The services check the values; these forms carry them and CSRF."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField

from leadtrack.services.alert_preferences import PreferencesInput
from leadtrack.services.alert_settings import CAP_RANGE, CAPPED_CHANNELS, SecretInput, SettingsInput

# Secrets go in password inputs: what was typed is never sent back in the page.
_SECRET = {"autocomplete": "off", "spellcheck": "false"}


class TemplateForm(FlaskForm):
    subject = StringField("Subject", render_kw={"autocomplete": "off", "spellcheck": "false"})
    body = TextAreaField("Text", render_kw={"rows": 14, "spellcheck": "false"})


def _cap_field(channel) -> StringField:
    low, high = CAP_RANGE
    return StringField(
        f"{channel.label} per hour",
        render_kw={"type": "number", "min": low, "max": high, "inputmode": "numeric"},
    )


class AlertSettingsForm(FlaskForm):
    smtp_url = PasswordField(
        "SMTP server",
        description="smtp://user:password@host:587 (smtps://… for port 465). "
        "Leave empty to keep the stored one.",
        render_kw=_SECRET,
    )
    remove_smtp_url = BooleanField("Remove the stored server (use the instance's)")
    mail_from = StringField(
        "Sender address",
        description="The From address of alert e-mails; empty: the instance's.",
        render_kw={"autocomplete": "off", "type": "email"},
    )
    twilio_account_sid = StringField(
        "Twilio account SID", render_kw={"autocomplete": "off", "spellcheck": "false"}
    )
    twilio_token = PasswordField(
        "Twilio auth token", description="Leave empty to keep the stored one.", render_kw=_SECRET
    )
    remove_twilio_token = BooleanField("Remove the stored token")
    twilio_from = StringField(
        "Send from number",
        description="Your Twilio number with its country code, such as +14155550123.",
        render_kw={"autocomplete": "off", "type": "tel"},
    )
    voice_enabled = BooleanField("Phone calls: urgent alerts may call people who choose it")
    webhook_url = PasswordField(
        "Team chat webhook",
        description="A Slack or Teams incoming-webhook address (https://…). "
        "Leave empty to keep the stored one.",
        render_kw=_SECRET,
    )
    remove_webhook_url = BooleanField("Remove the stored webhook")
    urgent_ignores_quiet_hours = BooleanField(
        "Urgent alerts (response warnings, escalations) go through quiet hours"
    )

    def cap_fields(self):
        return [self[f"cap_{channel}"] for channel in CAPPED_CHANNELS]

    def fill(self, caps: dict[str, int]) -> None:
        for channel in CAPPED_CHANNELS:
            self[f"cap_{channel}"].data = str(caps[str(channel)])

    def to_input(self) -> SettingsInput:
        return SettingsInput(
            smtp_url=SecretInput(self.smtp_url.data or "", self.remove_smtp_url.data),
            mail_from=self.mail_from.data or "",
            twilio_account_sid=self.twilio_account_sid.data or "",
            twilio_token=SecretInput(self.twilio_token.data or "", self.remove_twilio_token.data),
            twilio_from=self.twilio_from.data or "",
            voice_enabled=self.voice_enabled.data,
            webhook_url=SecretInput(self.webhook_url.data or "", self.remove_webhook_url.data),
            urgent_ignores_quiet_hours=self.urgent_ignores_quiet_hours.data,
            hourly_caps={str(c): self[f"cap_{c}"].data for c in CAPPED_CHANNELS},
        )


for _channel in CAPPED_CHANNELS:
    setattr(AlertSettingsForm, f"cap_{_channel}", _cap_field(_channel))

HOURS = [(str(hour), f"{hour:02d}:00") for hour in range(24)]


class AlertPreferencesForm(FlaskForm):
    """The channel grid is read from the `channel` checkboxes ("event:channel")."""

    quiet_from = StringField("Quiet from", render_kw={"type": "time"})
    quiet_until = StringField("Quiet until", render_kw={"type": "time"})
    digest_enabled = BooleanField("Send me a daily digest of my leads")
    digest_hour = SelectField(
        "Digest at (your time)", choices=HOURS, default="8", validate_choice=False
    )

    def to_input(self, ticked: list[str]) -> PreferencesInput:
        channels: dict[str, list[str]] = {}
        for value in ticked:
            event, _, channel = value.partition(":")
            channels.setdefault(event, []).append(channel)
        return PreferencesInput(
            channels=channels,
            quiet_from=self.quiet_from.data or "",
            quiet_until=self.quiet_until.data or "",
            digest_enabled=self.digest_enabled.data,
            digest_hour=self.digest_hour.data or "",
        )
