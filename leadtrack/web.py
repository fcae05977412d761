"""Template helpers and HTML error pages shared by every blueprint."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.routing import IntegerConverter

from leadtrack.models import Privilege, Role
from leadtrack.services.errors import Forbidden, NotFound
from leadtrack.services.ids import MAX_ID
from leadtrack.timeutil import to_zone


def viewer_timezone() -> str:
    return current_user.effective_timezone if current_user.is_authenticated else "UTC"


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return to_zone(value, viewer_timezone()).strftime(fmt)


def pairs(items, value_attr: str, text_attr: str) -> list[tuple]:
    """[(value, text)] for a <select>, from objects: `sources|pairs("code", "name")`."""
    from operator import attrgetter

    value_of, text_of = attrgetter(value_attr), attrgetter(text_attr)
    return [(value_of(item), text_of(item)) for item in items]


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_json() -> bool:
    return request.path.startswith("/api/")


class IdConverter(IntegerConverter):
    """`<id:lead_id>`: a row id in URLs; a number no row can have is a 404, not an error."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)


def register_converters(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter


def register_web_helpers(app: Flask) -> None:
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["pairs"] = pairs
    app.jinja_env.globals.update(Role=Role, Privilege=Privilege)

    @app.errorhandler(NotFound)
    def not_found_error(exc):
        return _error_page(404, "Not found", "This page does not exist, or it is not yours to see.")

    @app.errorhandler(Forbidden)
    def forbidden_error(exc):
        return _error_page(403, "Not allowed", str(exc) or "Your role does not allow this.")

    for status, title, text in (
        (403, "Not allowed", "Your role does not allow this. Ask your administrator."),
        (404, "Not found", "This page does not exist, or it is not yours to see."),
        (405, "Not allowed", "This address does not take that kind of request."),
        (413, "Too large", "That upload or request is too large."),
        (429, "Slow down", "Too many attempts. Wait a minute and try again."),
        (500, "Something broke", "The error was logged. Try again in a moment."),
    ):
        app.register_error_handler(status, _handler(status, title, text))

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _error_page(400, "Form expired", "The form was stale. Go back, reload, try again.")


def _handler(status: int, title: str, text: str):
    def handle(exc):
        return _error_page(status, title, text)

    return handle


def _error_page(status: int, title: str, text: str):
    if wants_json():
        from leadtrack.blueprints.api.errors import json_error

        return json_error(status, text)
    return render_template("error.html", status=status, title=title, text=text), status
