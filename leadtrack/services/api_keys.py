"""API keys: `lt_<prefix>_<secret>`, shown once, stored as a SHA-256 hash, scoped, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from leadtrack.models import SCOPES, ApiKey, Organization, User
from leadtrack.services.errors import NotFound, ValidationError

KEY_PREFIX = "lt"
# Writing last_used_at on every call would make each API request a write; a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(raw: str | list[str]) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    scopes = sorted({item.strip() for item in items if item.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        known = ", ".join(SCOPES)
        raise ValidationError({"scopes": f"Choose one or more of: {known}."})
    return scopes


def create_api_key(
    session: Session,
    org: Organization,
    *,
    name: str,
    scopes: str | list[str],
    created_by: User | None,
) -> tuple[ApiKey, str]:
    """Create a key; return it and its plaintext, which is never available again."""
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Name the key after where it is used (for example 'Website form')."
    try:
        parsed = parse_scopes(scopes)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secret}"
    key = ApiKey(
        org_id=org.id,
        name=name.strip(),
        prefix=prefix,
        key_hash=_hash(plaintext),
        scopes=parsed,
        created_by=created_by,
    )
    session.add(key)
    session.flush()
    return key, plaintext


def public_prefix(authorization_header: str) -> str | None:
    """The key's public prefix from an `Authorization: Bearer lt_<prefix>_…` header."""
    scheme, _, token = authorization_header.partition(" ")
    parts = token.strip().split("_", 2)
    if scheme.lower() != "bearer" or len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    return parts[1]


def authenticate(session: Session, token: str, now: datetime) -> ApiKey | None:
    """The live key this bearer token belongs to, or None. Marks it used."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    # Every API request needs the key's organization: load both in one statement.
    stmt = select(ApiKey).options(joinedload(ApiKey.organization)).where(ApiKey.prefix == parts[1])
    key = session.scalars(stmt).first()
    if key is None or key.is_revoked or not hmac.compare_digest(key.key_hash, _hash(token)):
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
    return key


def revoke(session: Session, org: Organization, key_id: int, now: datetime) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or key.org_id != org.id:
        raise NotFound(f"api key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = now
    return key


def keys_of(session: Session, org_id: int) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.created_at.desc())
        )
    )
