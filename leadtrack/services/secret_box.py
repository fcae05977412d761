"""Credentials at rest: Fernet (AES-128-CBC + HMAC) with a key derived from SECRET_KEY.

Rotating SECRET_KEY makes stored credentials unreadable; `open_secret` then answers "" and
the settings page asks for them again, rather than failing a delivery with a crypto error.
"""

from __future__ import annotations

import base64
import logging

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

log = logging.getLogger(__name__)


def _fernet() -> Fernet:
    secret = current_app.config["SECRET_KEY"].encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"leadtrack.secrets").derive(
        secret
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def open_secret(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        log.warning("a stored credential cannot be decrypted (was SECRET_KEY changed?)")
        return ""


def mask(plain: str, keep: int = 4) -> str:
    """What a settings page shows of a secret: its last few characters."""
    if not plain:
        return ""
    return "•" * 8 + plain[-keep:] if len(plain) > keep * 2 else "•" * 8
