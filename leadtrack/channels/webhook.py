"""Team chat through an incoming webhook: Slack and Microsoft Teams both take {"text": …}.
The webhook URL is a secret (whoever has it can post to the channel): it is never logged
nor put into an error message."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from leadtrack.channels import (
    Accounts,
    DeliveryRun,
    OutgoingAlert,
    PermanentFailure,
    TemporaryFailure,
)

log = logging.getLogger(__name__)

TIMEOUT = 5  # seconds
MAX_ERROR_TEXT = 200  # characters of the chat service's error answer kept


def payload(alert: OutgoingAlert) -> dict[str, str]:
    text = f"*{alert.subject}*\n{alert.text}" if alert.subject else alert.text
    return {"text": text}


class WebhookChannel:
    def send(self, alert: OutgoingAlert, accounts: Accounts, run: DeliveryRun) -> str:
        url = accounts.webhook_url
        if not url:
            raise PermanentFailure("Team chat is not set up: no webhook URL.")
        if urlsplit(url).scheme not in ("http", "https"):
            raise PermanentFailure("The team chat webhook URL must start with https://.")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=json.dumps(payload(alert)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        status = _post(request)
        log.info("team chat alert %s posted (HTTP %s)", alert.notification_id, status)
        return f"chat webhook: HTTP {status}"


def _post(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - scheme checked above
            return response.status
    except urllib.error.HTTPError as exc:
        answer = exc.read(MAX_ERROR_TEXT).decode(errors="replace").strip()
        text = f"The chat webhook answered {exc.code}: {answer or exc.reason}"
        if exc.code == 429 or exc.code >= 500:
            raise TemporaryFailure(text) from exc
        raise PermanentFailure(text) from exc
    except urllib.error.URLError as exc:
        raise TemporaryFailure(f"The chat webhook is unreachable: {exc.reason}") from exc
    except (TimeoutError, OSError) as exc:
        raise TemporaryFailure(f"The chat webhook is unreachable: {exc}") from exc
