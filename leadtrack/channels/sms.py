"""SMS through Twilio's Messages API."""

from __future__ import annotations

from leadtrack.channels import Accounts, DeliveryRun, OutgoingAlert, twilio

MAX_BODY = 1600  # Twilio refuses longer message bodies


class SmsChannel:
    def send(self, alert: OutgoingAlert, accounts: Accounts, run: DeliveryRun) -> str:
        return twilio.send_message(accounts, alert.to, alert.text[:MAX_BODY])
