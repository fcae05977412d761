"""Password hashing and the rules a new password must meet."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 10
DEFAULT_METHOD = "scrypt"  # werkzeug's default: scrypt:32768:8:1, about 0.1 s of CPU
_method = DEFAULT_METHOD


def configure(method: str | None) -> None:
    """Set the hashing method for new hashes (the app's PASSWORD_HASH_METHOD setting).
    Existing hashes keep verifying: each one names its own method."""
    global _method
    _method = method or DEFAULT_METHOD


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method)


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def password_problem(password: str) -> str | None:
    """A message saying what is wrong with a new password, or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if password.isdigit() or password.isalpha():
        return "Mix letters with digits or symbols."
    return None
