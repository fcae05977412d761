"""A small client for Twilio's REST API (Messages and Calls), and the check of the signature
Twilio puts on the requests it makes to us (X-Twilio-Signature).

Failures are sorted for the outbox: a 4xx answer means the request itself is wrong (a bad
number, a wrong account) and retrying cannot help; a 429, a 5xx, a timeout or a broken
connection may pass. The auth token and the message texts are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from urllib.parse import quote, urlencode

from leadtrack.channels import Accounts, PermanentFailure, TemporaryFailure

log = logging.getLogger(__name__)

TIMEOUT = 10  # seconds
API_VERSION = "2010-04-01"
MAX_ERROR_BODY = 4096  # bytes of an error answer read to find Twilio's message


def send_message(accounts: Accounts, to: str, body: str) -> str:
    """Send an SMS; answer Twilio's message SID."""
    return _create(accounts, "Messages", {"To": to, "From": accounts.twilio_from, "Body": body})


def create_call(accounts: Accounts, to: str, twiml: str) -> str:
    """Place a call that runs this TwiML; answer Twilio's call SID."""
    return _create(accounts, "Calls", {"To": to, "From": accounts.twilio_from, "Twiml": twiml})


def _create(accounts: Accounts, resource: str, form: dict[str, str]) -> str:
    _require_setup(accounts)
    request = urllib.request.Request(  # noqa: S310 - API base from config
        _resource_url(accounts, resource),
        data=urlencode(form).encode(),
        headers={
            "Authorization": _basic_auth(accounts.twilio_account_sid, accounts.twilio_auth_token),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        method="POST",
    )
    answer = _post(request, resource)
    sid = answer.get("sid")
    if not sid:
        raise TemporaryFailure(f"Twilio accepted the {_noun(resource)} but sent no id back.")
    log.info("twilio %s created: %s", _noun(resource), sid)
    return str(sid)


def _require_setup(accounts: Accounts) -> None:
    missing = [
        label
        for label, value in (
            ("account SID", accounts.twilio_account_sid),
            ("auth token", accounts.twilio_auth_token),
            ("from-number", accounts.twilio_from),
        )
        if not value
    ]
    if missing:
        raise PermanentFailure(f"Twilio is not set up (missing: {', '.join(missing)}).")


def _resource_url(accounts: Accounts, resource: str) -> str:
    base = accounts.twilio_api_base.rstrip("/")
    sid = quote(accounts.twilio_account_sid, safe="")
    return f"{base}/{API_VERSION}/Accounts/{sid}/{resource}.json"


def _basic_auth(username: str, password: str) -> str:
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _post(request: urllib.request.Request, resource: str) -> dict:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - API base from config
            return _json(response.read())
    except urllib.error.HTTPError as exc:
        raise _http_failure(exc, resource) from exc
    except urllib.error.URLError as exc:
        raise TemporaryFailure(f"Twilio unreachable: {exc.reason}") from exc
    except (TimeoutError, OSError) as exc:
        raise TemporaryFailure(f"Twilio unreachable: {exc}") from exc


def _http_failure(exc: urllib.error.HTTPError, resource: str) -> Exception:
    answer = _json(exc.read(MAX_ERROR_BODY))
    message = answer.get("message") or exc.reason or "no reason given"
    code = f", error {answer['code']}" if answer.get("code") else ""
    text = f"Twilio answered {exc.code}{code}: {message}"
    log.warning("twilio refused a %s: HTTP %s%s", _noun(resource), exc.code, code)
    if exc.code == 429 or exc.code >= 500:
        return TemporaryFailure(text)
    return PermanentFailure(text)


def _json(raw: bytes) -> dict:
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _noun(resource: str) -> str:
    return "call" if resource == "Calls" else "message"


# -- the signature on Twilio's requests to us -----------------------------------------------


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 of HMAC-SHA1 (key: the auth token) over the full
    URL Twilio called followed by each POST parameter's name and value, sorted by name."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid_signature(auth_token: str, url: str, params: Mapping[str, str], given: str) -> bool:
    if not auth_token or not given:
        return False
    return hmac.compare_digest(signature(auth_token, url, params), given)
