"""JSON errors: {"error": {"status", "message", "fields"}} with the right status code."""

from __future__ import annotations

from flask import jsonify


def json_error(status: int, message: str, fields: dict[str, str] | None = None):
    body = {"error": {"status": status, "message": message, "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="leadtrack"'
    return response
