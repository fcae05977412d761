"""Normalizing e-mail addresses and phone numbers, shared by users and (later) leads."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalize_email(raw: str) -> str:
    """Lower-cased, syntax-checked address; raises ValueError with a readable message."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized.lower()


def normalize_phone(raw: str, default_country: str) -> str:
    """E.164 ("+14155550123"); raises ValueError with a readable message."""
    try:
        number = phonenumbers.parse(raw.strip(), default_country.upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("This does not look like a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("This phone number is not valid.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
