"""Rules as a document over the API: GET/PUT /api/v1/rules, the versions, the simulator,
and a lead's latest assignment explanation.

The rules routes need the `admin` scope. A PUT takes the document as JSON, or as YAML with
`Content-Type: application/yaml` (or text/yaml); it is checked whole by
services/rules_document.py and applied all-or-nothing. Errors use the leads API's shape:
`{"error": {"status": 422, "message", "fields": {"assignment[2].assign.team": "…"}}}`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, jsonify, request

from leadtrack.blueprints.api import api_v1, require_scope
from leadtrack.blueprints.api.leads import (
    InvalidRequest,
    _actor,
    _check_text,
    _lead,
    _org,
    json_object,
)
from leadtrack.blueprints.api.serializers import moment
from leadtrack.extensions import db
from leadtrack.models import AssignmentDecision, RuleVersion
from leadtrack.services import routing, rules_document, simulator
from leadtrack.services.errors import ValidationError
from leadtrack.timeutil import as_utc, utcnow

YAML_TYPES = ("application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml")
FORMATS = ("json", "yaml")
SIMULATE_KEYS = ("lead", "last", "at")
MIN_YEAR, MAX_YEAR = 1900, 2999  # any time zone can show these moments


# -- request parsing ----------------------------------------------------------------------


def _format_arg() -> str:
    errors = {name: "Unknown parameter." for name in request.args if name != "format"}
    fmt = request.args.get("format", "json").strip().lower() or "json"
    if fmt not in FORMATS:
        errors["format"] = "Use json or yaml."
    if errors:
        raise InvalidRequest(errors, "Fix the query parameters named.")
    return fmt


def _document_body() -> dict[str, Any]:
    """The rules document of a PUT: YAML when the Content-Type says so, else a JSON object."""
    if request.mimetype not in YAML_TYPES:
        return json_object()
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest({"body": "Send UTF-8 text."}, "The body is not UTF-8.") from None
    if not text.strip():
        raise InvalidRequest({"body": "Send a rules document."}, "The request has no body.")
    try:
        document = rules_document.parse(text, "yaml")
    except RecursionError:
        raise InvalidRequest({"document": "The document is nested too deeply."}) from None
    _check_yaml_values(document)
    return document


def _check_yaml_values(value: Any, path: str = "document") -> None:
    """What a JSON body cannot carry, a YAML body may not either: NUL characters, lone
    surrogates (checked as for JSON bodies) and numbers that are not finite (.nan, .inf).
    Mistakes are named like the document's own: `assignment[0].name`."""
    if isinstance(value, str):
        _check_text(value, path)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest({path: "Numbers must be finite."})
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_yaml_values(item, str(key) if path == "document" else f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _check_yaml_values(item, f"{path}[{n}]")


def _simulate_args(body: dict[str, Any]) -> tuple[dict | None, int | None, datetime | None]:
    errors = {key: "Unknown field." for key in body if key not in SIMULATE_KEYS}
    sample, last = body.get("lead"), body.get("last")
    if ("lead" in body) == ("last" in body):
        errors["body"] = 'Give either "lead" (sample fields) or "last" (a number of leads).'
    elif "lead" in body and not isinstance(sample, dict):
        errors["lead"] = "Give an object of lead fields, as for POST /leads."
    elif "last" in body and (not isinstance(last, int) or isinstance(last, bool)):
        errors["last"] = f"Give a whole number from 1 to {simulator.MAX_LAST}."
    at = _moment(body.get("at"), errors)
    if errors:
        raise InvalidRequest(errors)
    return sample, last, at


def _moment(value: Any, errors: dict[str, str]) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(_org().timezone))
        moment_utc = as_utc(parsed)
    except (ValueError, OverflowError):
        moment_utc = None
    if moment_utc is None or not MIN_YEAR <= moment_utc.year <= MAX_YEAR:
        errors["at"] = (
            f"Give a date and time from {MIN_YEAR} to {MAX_YEAR}, such as "
            "2026-03-02T09:30:00+01:00."
        )
        return None
    return moment_utc


# -- answers ------------------------------------------------------------------------------


def _version_json(version: RuleVersion) -> dict[str, Any]:
    actor = version.actor
    return {
        "version": version.version,
        "at": moment(version.at),
        "actor": {"id": actor.id, "name": actor.name} if actor is not None else None,
        "via": version.via,
        "summary": version.summary,
    }


def _decision_json(record: AssignmentDecision) -> dict[str, Any]:
    detail = record.detail or {}
    return {
        "id": record.id,
        "at": moment(record.at),
        "outcome": record.outcome,
        "rule_id": record.rule_id,
        "rule": record.rule_name,
        "method": detail.get("method", ""),
        "assignee_id": record.assignee_id,
        "assignee": detail.get("assignee"),
        "unit_id": record.unit_id,
        "unit": detail.get("unit"),
        "note": detail.get("note", ""),
        "summary": record.summary,
        "candidates": detail.get("candidates", []),
    }


# -- routes -------------------------------------------------------------------------------


@api_v1.get("/rules")
@require_scope("admin")
def get_rules():
    fmt = _format_arg()
    document = rules_document.export(db.session, _org())
    db.session.rollback()  # reading creates nothing (not even the default settings row)
    if fmt == "yaml":
        return Response(rules_document.dump(document, "yaml"), mimetype="text/yaml")
    return jsonify(document)


@api_v1.put("/rules")
@require_scope("admin")
def put_rules():
    document = _document_body()
    version = rules_document.apply(db.session, _org(), document, _actor(), utcnow())
    answer = {"version": version.version, "summary": version.summary, "document": version.document}
    db.session.commit()
    return jsonify(answer)


@api_v1.get("/rules/versions")
@require_scope("admin")
def list_rule_versions():
    versions = rules_document.versions(db.session, _org().id)
    return jsonify(data=[_version_json(version) for version in versions])


@api_v1.post("/rules/simulate")
@require_scope("admin")
def simulate_rules():
    sample, last, at = _simulate_args(json_object())
    org = _org()
    if sample is not None:
        try:
            leads = [simulator.sample_lead(db.session, org, sample)]
        except ValidationError as exc:
            raise ValidationError({f"lead.{k}": v for k, v in exc.errors.items()}) from None
    else:
        leads = simulator.last_leads(db.session, org, last)
    results = [r.as_dict() for r in simulator.simulate(db.session, org, leads, at or utcnow())]
    db.session.rollback()  # the simulator changes nothing; make sure of it
    return jsonify(results=results)


@api_v1.get("/leads/<id:lead_id>/assignment")
@require_scope("leads:read")
def get_lead_assignment(lead_id: int):
    lead = _lead(lead_id)
    record = routing.latest_decision(db.session, lead.id)
    return jsonify(lead_id=lead.id, decision=_decision_json(record) if record is not None else None)
