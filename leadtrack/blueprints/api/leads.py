"""/api/v1/leads: intake, list, read, update, activities, history.

Parse the request strictly (a JSON object; no NaN, no NUL, no lone surrogates), call one
service, commit, answer JSON. Every failure is `{"error": {"status", "message", "fields"}}`.
An API key acts for its whole organization: it has no user, so no role narrows what it sees.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from leadtrack.blueprints.api import api_v1, require_scope
from leadtrack.blueprints.api.errors import json_error
from leadtrack.blueprints.api.serializers import activity_json, event_json, lead_json
from leadtrack.extensions import db
from leadtrack.models import ApiKey, Lead, Organization, Product
from leadtrack.services import history, intake, lead_query, leads
from leadtrack.services.errors import Forbidden, NotFound, ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.ids import MAX_ID
from leadtrack.timeutil import as_utc, utcnow

DEFAULT_LIMIT = lead_query.PAGE_SIZE
MAX_LIMIT = lead_query.MAX_LIMIT
# Every LeadFilters field is a query parameter, except `sort`: the API pages newest first.
FILTER_PARAMS = tuple(f.name for f in dataclass_fields(lead_query.LeadFilters) if f.name != "sort")
LIST_PARAMS = (*FILTER_PARAMS, "limit", "cursor")
ACTIVITY_FIELDS = ("kind", "outcome", "body", "occurred_at")
MAX_IDEMPOTENCY_KEY = 200


class InvalidRequest(Exception):
    """Input the services never see: a body that is not a JSON object, a bad parameter."""

    def __init__(self, errors: dict[str, str], message: str = ""):
        super().__init__(message)
        self.errors = errors
        self.message = message


# -- errors -------------------------------------------------------------------------------


@api_v1.errorhandler(InvalidRequest)
def _bad_request(exc: InvalidRequest):
    db.session.rollback()
    return json_error(422, exc.message or "The request is not valid.", exc.errors)


@api_v1.errorhandler(ValidationError)
def _invalid(exc: ValidationError):
    db.session.rollback()
    if request.method == "GET":
        return json_error(422, "Fix the parameters named.", exc.errors)
    return json_error(422, "Nothing was stored: fix the fields named.", exc.errors)


@api_v1.errorhandler(NotFound)
def _not_found(exc: NotFound):
    db.session.rollback()
    return json_error(404, "Not found in this key's organization.")


@api_v1.errorhandler(Forbidden)
def _forbidden(exc: Forbidden):
    db.session.rollback()
    return json_error(403, str(exc) or "This key may not do this.")


# -- request parsing ----------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _check_text(value: Any, path: str) -> None:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL, UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidRequest({path: "Text may not contain NUL characters."})
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest({path: "Text is not valid Unicode."}) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            _check_text(item, path)


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, whatever Content-Type says; else 422."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidRequest({"body": "Send a JSON object."}, "The request has no body.")
    try:
        body = json.loads(
            raw, parse_constant=_reject_constant, parse_float=_finite_float
        )  # bytes: UTF-8/16/32 detected per RFC 8259
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest({"body": f"Not valid JSON: {exc}"}, "The body is not JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest({"body": "Send a JSON object."}, "The body must be a JSON object.")
    for key, value in body.items():
        _check_text(key, "body")
        _check_text(value, key)
    return body


def _org() -> Organization:
    return g.api_key.organization


def _actor() -> Actor:
    key: ApiKey = g.api_key
    return Actor(org_id=key.org_id, api_key_id=key.id, via="api")


def _lead(lead_id: int) -> Lead:
    """The lead of this key's organization; 404 for anything else (another tenant's too)."""
    lead = db.session.get(Lead, lead_id) if 0 < lead_id <= MAX_ID else None
    if lead is None or lead.org_id != g.api_key.org_id:
        raise NotFound(f"lead {lead_id}")
    return lead


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidRequest(
            {"Idempotency-Key": f"Use at most {MAX_IDEMPOTENCY_KEY} printable characters."}
        )
    return key


def _list_args() -> tuple[lead_query.LeadFilters, int, str | None]:
    args = request.args
    errors = {name: "Unknown parameter." for name in args if name not in LIST_PARAMS}
    if "sort" in errors:
        errors["sort"] = "The API lists newest first; page with `cursor`."
    for name in args:
        if "\x00" in "".join(args.getlist(name)):
            errors[name] = "May not contain NUL characters."
    if args.get("overdue", "").strip() not in ("", "0", "1"):
        errors["overdue"] = "Use 1 (or 0)."
    limit = DEFAULT_LIMIT
    if args.get("limit", "").strip():
        try:
            limit = int(args["limit"])
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            errors["limit"] = f"Give a whole number from 1 to {MAX_LIMIT}."
    if errors:
        raise InvalidRequest(errors, "Fix the query parameters named.")
    filters = lead_query.LeadFilters.from_args({k: args[k] for k in FILTER_PARAMS if k in args})
    return filters, limit, args.get("cursor", "").strip() or None


def _activity_args(body: dict[str, Any], org: Organization) -> dict[str, Any]:
    errors = {key: "Unknown field." for key in body if key not in ACTIVITY_FIELDS}
    values: dict[str, Any] = {}
    if not isinstance(body.get("kind"), str) or not body["kind"].strip():
        errors["kind"] = "Say what happened: call, email, sms, meeting or note."
    else:
        values["kind"] = body["kind"].strip().lower()
    for name in ("outcome", "body"):
        value = body.get(name)
        if value is None:
            values[name] = ""
        elif isinstance(value, str):
            values[name] = value
        else:
            errors[name] = "Give text."
    occurred = body.get("occurred_at")
    if occurred not in (None, ""):
        try:
            moment = datetime.fromisoformat(str(occurred).strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(org.timezone))
            values["occurred_at"] = as_utc(moment)
        except (ValueError, OverflowError):
            errors["occurred_at"] = "Give a date and time, such as 2026-12-01T10:00:00+01:00."
    if errors:
        raise ValidationError(errors)
    return values


def _lead_url(lead: Lead) -> str:
    return url_for("api_v1.get_lead", lead_id=lead.id)


# -- routes -------------------------------------------------------------------------------


@api_v1.post("/leads")
@require_scope("leads:create")
def create_lead():
    body = json_object()
    key = _idempotency_key()
    result = intake.create_lead(
        db.session, _org(), body, _actor(), utcnow(), default_source="api", idempotency_key=key
    )
    answer = lead_json(result.lead, request.host_url)  # before the commit expires the lead
    existing = result.existing
    if not g.api_key.allows("leads:read"):  # an intake-only key learns no names or ids
        existing = intake.ExistingContact(existing.count, None, None)
    answer["existing_contact"] = existing.as_dict()
    location = _lead_url(result.lead)
    db.session.commit()
    response = jsonify(answer)
    response.status_code = 201
    response.headers["Location"] = location
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@api_v1.get("/leads")
@require_scope("leads:read")
def list_leads():
    filters, limit, cursor = _list_args()
    session = db.session
    stmt = lead_query.build_query(session, _org(), None, filters, utcnow())
    stmt = stmt.options(
        selectinload(Lead.emails),
        selectinload(Lead.phones),
        selectinload(Lead.product).selectinload(Product.brand),
    )
    page = lead_query.page_by_cursor(session, stmt, cursor, limit)
    base = request.host_url
    return jsonify(
        data=[lead_json(lead, base) for lead in page.leads], next_cursor=page.next_cursor
    )


@api_v1.get("/leads/<id:lead_id>")
@require_scope("leads:read")
def get_lead(lead_id: int):
    return jsonify(lead_json(_lead(lead_id), request.host_url))


@api_v1.patch("/leads/<id:lead_id>")
@require_scope("leads:write")
def update_lead(lead_id: int):
    lead = _lead(lead_id)
    body = json_object()
    leads.update_fields(db.session, _org(), lead, body, _actor(), utcnow())
    db.session.flush()
    answer = lead_json(lead, request.host_url)
    db.session.commit()
    return jsonify(answer)


@api_v1.post("/leads/<id:lead_id>/activities")
@require_scope("leads:write")
def add_activity(lead_id: int):
    lead = _lead(lead_id)
    body = json_object()
    values = _activity_args(body, _org())
    activity = leads.add_activity(db.session, lead, _actor(), utcnow(), **values)
    db.session.flush()
    answer = activity_json(activity)
    db.session.commit()
    response = jsonify(answer)
    response.status_code = 201
    return response


@api_v1.get("/leads/<id:lead_id>/history")
@require_scope("leads:read")
def lead_history(lead_id: int):
    lead = _lead(lead_id)
    events = history.events_of(db.session, [lead.id])
    key_ids = {e.api_key_id for e in events if e.api_key_id is not None}
    keys = (
        {k.id: k for k in db.session.scalars(select(ApiKey).where(ApiKey.id.in_(key_ids)))}
        if key_ids
        else {}
    )
    return jsonify(data=[event_json(event, keys) for event in events])
