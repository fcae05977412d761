"""A phone call through Twilio's Calls API: Twilio reads the alert aloud and, for an alert
about a lead, offers "press 1 to accept"; the key press comes back to
blueprints/twilio_hooks.py, which records it as the rep's response."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from leadtrack.channels import Accounts, DeliveryRun, OutgoingAlert, twilio

GATHER_SECONDS = 8


def callback_path(notification_id: int) -> str:
    return f"/hooks/twilio/voice/{notification_id}"


def twiml(alert: OutgoingAlert, base_url: str) -> str:
    """The call's script, inline (Twilio needs no URL to fetch it from)."""
    if "ack" not in alert.links:  # nothing to accept: just say it
        return f"<Response><Say>{escape(alert.text)}</Say></Response>"
    action = quoteattr(base_url + callback_path(alert.notification_id))
    return (
        "<Response>"
        f'<Gather numDigits="1" action={action} method="POST" timeout="{GATHER_SECONDS}">'
        f"<Say>{escape(alert.text)} Press 1 to accept this lead.</Say>"
        "</Gather>"
        "<Say>No answer received. Goodbye.</Say>"
        "</Response>"
    )


class VoiceChannel:
    def send(self, alert: OutgoingAlert, accounts: Accounts, run: DeliveryRun) -> str:
        return twilio.create_call(accounts, alert.to, twiml(alert, accounts.base_url))
