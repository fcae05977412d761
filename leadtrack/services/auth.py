"""Signing in: passwords, lockout after repeated failures, and password reset tokens."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadtrack.models import User
from leadtrack.services.errors import ValidationError
from leadtrack.services.passwords import hash_password, password_problem, verify_password

GENERIC_FAILURE = "E-mail or password is not right."
RESET_SALT = "leadtrack.password-reset"


@dataclass(frozen=True)
class LoginPolicy:
    threshold: int = 5
    lock_minutes: int = 15


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None


def find_user_by_email(session: Session, email: str) -> User | None:
    normalized = email.strip().lower()
    return session.scalars(select(User).where(func.lower(User.email) == normalized)).first()


def authenticate(
    session: Session, email: str, password: str, now: datetime, policy: LoginPolicy
) -> LoginResult:
    """Check the credentials; count failures and lock the account after `threshold` of them."""
    user = find_user_by_email(session, email)
    if user is None:
        return LoginResult(None, GENERIC_FAILURE)
    if user.locked_until and user.locked_until > now:
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        return LoginResult(
            None, f"Too many failed attempts: this account is locked for {minutes} more minute(s)."
        )
    if not verify_password(user.password_hash, password):
        _record_failure(user, now, policy)
        return LoginResult(None, GENERIC_FAILURE)
    if not user.is_active_user:
        return LoginResult(None, "This account is deactivated. Ask your administrator.")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return LoginResult(user)


def _record_failure(user: User, now: datetime, policy: LoginPolicy) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= policy.threshold:
        user.locked_until = now + timedelta(minutes=policy.lock_minutes)
        user.failed_logins = 0


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise ValidationError({"current_password": "This is not your current password."})
    set_password(user, new)


def set_password(user: User, new: str, field: str = "new_password") -> None:
    problem = password_problem(new)
    if problem:
        raise ValidationError({field: problem})
    user.password_hash = hash_password(new)
    user.failed_logins = 0
    user.locked_until = None


# Password reset: a signed, expiring token bound to the current password hash, so it works
# once (after the password changes the fingerprint no longer matches) and needs no table.


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User, secret_key: str) -> str:
    serializer = URLSafeTimedSerializer(secret_key, salt=RESET_SALT)
    return serializer.dumps({"uid": user.id, "fp": _fingerprint(user)})


def user_for_reset_token(session: Session, token: str, secret_key: str, max_age: int) -> User:
    serializer = URLSafeTimedSerializer(secret_key, salt=RESET_SALT)
    try:
        data = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise ValidationError({"token": "This link has expired. Ask for a new one."}) from exc
    except BadSignature as exc:
        raise ValidationError({"token": "This link is not valid."}) from exc
    user = session.get(User, data.get("uid"))
    if user is None or not user.is_active_user or data.get("fp") != _fingerprint(user):
        raise ValidationError({"token": "This link has already been used or is not valid."})
    return user
