"""REST API under /api/v1, authenticated by API keys (`Authorization: Bearer lt_…`)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request

from leadtrack.blueprints.api.errors import json_error
from leadtrack.blueprints.api.openapi import openapi_document
from leadtrack.extensions import csrf, db, limiter
from leadtrack.services import api_keys
from leadtrack.timeutil import utcnow

api_v1 = Blueprint("api_v1", __name__, url_prefix="/api/v1")
csrf.exempt(api_v1)

PUBLIC_ENDPOINTS = {"api_v1.openapi"}


def _key_identity() -> str:
    """Count per API key (by its public prefix: the limiter runs before authentication)."""
    prefix = api_keys.public_prefix(request.headers.get("Authorization", ""))
    return f"key:{prefix}" if prefix else f"ip:{request.remote_addr}"


limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_key_identity)(api_v1)


@api_v1.before_request
def authenticate_key():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return json_error(401, "Send an API key: 'Authorization: Bearer <key>'.")
    key = api_keys.authenticate(db.session, token, utcnow())
    if key is None:
        return json_error(401, "This API key is not valid or has been revoked.")
    if db.session.is_modified(key):  # last_used_at moved on: persist it (once a minute)
        db.session.commit()
    g.api_key = key
    return None


def require_scope(scope: str):
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not g.api_key.allows(scope):
                return json_error(403, f"This API key lacks the '{scope}' scope.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


@api_v1.get("/me")
def me():
    key = g.api_key
    org = key.organization
    return jsonify(
        organization={"id": org.id, "slug": org.slug, "name": org.name, "timezone": org.timezone},
        key={"id": key.id, "name": key.name, "prefix": key.prefix},
        scopes=key.scopes,
    )


@api_v1.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@api_v1.errorhandler(429)
def too_many(exc):
    return json_error(429, "Rate limit exceeded. Slow down and retry after a minute.")
