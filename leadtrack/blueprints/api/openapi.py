"""The OpenAPI 3.1 document of /api/v1; each issue adds its paths here.

Kept exact: tests/test_openapi_contract.py validates real answers against these schemas and
checks that every /api/v1 route is here and every path here is a route."""

from __future__ import annotations

import copy
from typing import Any

from leadtrack.models import PRIORITIES, SCOPES, TEMPERATURES, ActivityKind, StatusCategory
from leadtrack.services.lead_fields import MAX_CONTACTS, MAX_TAGS, MAX_VALUE, TEXT_LIMITS
from leadtrack.services.lead_query import MAX_LIMIT, PAGE_SIZE, TIME_FRAMES
from leadtrack.services.leads import OUTCOMES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], required: list[str] | None = None, **extra) -> dict:
    """A closed object: the properties listed, no others."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }
    schema.update(extra)
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NULLABLE_INTEGER = {"type": ["integer", "null"]}
TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 in UTC, such as 2026-03-01T09:30:00+00:00.",
}
NULLABLE_TIMESTAMP = {**TIMESTAMP, "type": ["string", "null"]}


def _named_or_null(description: str) -> dict:
    return {
        **_object({"id": INTEGER, "name": STRING}),
        "type": ["object", "null"],
        "description": description,
    }


ERROR_SCHEMA = _object(
    {
        "error": _object(
            {
                "status": {"type": "integer", "description": "The HTTP status"},
                "message": STRING,
                "fields": {
                    "type": "object",
                    "additionalProperties": STRING,
                    "description": "A message per field (for 422): body fields by name "
                    "(custom fields as `custom.<key>`), query parameters, or the "
                    "`Idempotency-Key` header. Empty for other errors.",
                },
            }
        )
    },
    description="Every error, with its HTTP status repeated in `error.status`.",
)

EXISTING_CONTACT = _object(
    {
        "count": {"type": "integer", "minimum": 0, "description": "Earlier leads of the person"},
        "last_lead_id": {**NULLABLE_INTEGER, "description": "The latest of them"},
        "last_owner": {"type": ["string", "null"], "description": "Its assignee's name"},
        "message": {
            "type": "string",
            "description": "Readable, e.g. 'Existing contact: 2 earlier leads, last owned by "
            "Jane Doe.'; empty when there are none.",
        },
    },
    description="Earlier leads of the organization with the same normalized e-mail or phone "
    "(or one step further: another e-mail or phone of those leads). "
    "The new lead is created anyway (a person may ask about another product) and linked to the "
    "latest of them by `previous_lead_id`.",
)

LEAD = _object(
    {
        "id": INTEGER,
        "name": STRING,
        "emails": {
            "type": "array",
            "items": {"type": "string", "format": "email"},
            "description": "Lower-cased, first one primary",
        },
        "phones": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^\+[1-9]\d{1,14}$"},
            "description": "E.164, first one primary",
        },
        "company": STRING,
        "address": STRING,
        "district": STRING,
        "division": STRING,
        "profession": STRING,
        "source": {"type": "string", "description": "Code of the source/channel, e.g. web, api"},
        "intake_form": STRING,
        "product": {
            **_object({"id": INTEGER, "label": STRING}),
            "type": ["object", "null"],
            "description": "Product of interest from the catalogue",
        },
        "value": {
            "type": ["string", "null"],
            "pattern": r"^\d+\.\d{2}$",
            "description": "Money, as a decimal string with two places",
        },
        "custom": {"type": "object", "description": "Custom field values by key"},
        "tags": {"type": "array", "items": STRING, "description": "Lower-cased, sorted"},
        "temperature": {"enum": [*TEMPERATURES, None]},
        "score": {"type": "integer", "description": "Filled by the rules (later issue)"},
        "priority": {"enum": list(PRIORITIES)},
        "status": _object(
            {"id": INTEGER, "name": STRING, "category": {"enum": [c.value for c in StatusCategory]}}
        ),
        "assignee": _named_or_null("The user who owns the lead; null while unassigned"),
        "unit": _named_or_null("The unit (store, team, area) the lead belongs to"),
        "follow_up_at": NULLABLE_TIMESTAMP,
        "close_reason": STRING,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "first_assigned_at": NULLABLE_TIMESTAMP,
        "first_response_at": {
            **NULLABLE_TIMESTAMP,
            "description": "When the assignee first responded: their first activity other than "
            "a note, or their first move out of a 'new' status. Activities logged through the "
            "API have no user, so they never set it.",
        },
        "closed_at": NULLABLE_TIMESTAMP,
        "previous_lead_id": {
            **NULLABLE_INTEGER,
            "description": "The latest earlier lead of the same contact",
        },
        "merged_into_id": {
            **NULLABLE_INTEGER,
            "description": "Set when this lead was merged into another one; the "
            "API does not follow it",
        },
        "state": {
            "enum": ["new", "open", "closed"],
            "description": "new: nobody responded yet; open: responded; closed: won, lost or dead.",
        },
        "url": {"type": "string", "format": "uri", "description": "The lead's page in LeadTrack"},
        "existing_contact": {
            **_ref("ExistingContact"),
            "description": "Only in the answer to POST /leads",
        },
    },
    required=None,
)
LEAD["required"] = [name for name in LEAD["properties"] if name != "existing_contact"]


def _contacts(kind: str, item: dict) -> dict:
    return {
        "anyOf": [
            {"type": "array", "items": item, "maxItems": MAX_CONTACTS},
            {"type": "string", "description": "One value, or several separated by , or ;"},
        ],
        "description": f"Up to {MAX_CONTACTS} {kind}",
    }


def _text(name: str) -> dict:
    return {"type": "string", "maxLength": TEXT_LIMITS[name]}


LEAD_FIELDS: dict[str, Any] = {
    "name": {**_text("name"), "minLength": 1},
    "emails": _contacts(
        "e-mail addresses; stored lower-cased", {"type": "string", "format": "email"}
    ),
    "phones": _contacts(
        "phone numbers; stored in E.164, read with the organization's default country",
        {"type": "string"},
    ),
    "company": _text("company"),
    "address": _text("address"),
    "district": _text("district"),
    "division": _text("division"),
    "profession": _text("profession"),
    "source": {
        "type": "string",
        "description": "Code of an active source of the organization: web, phone, walk-in, "
        "email, api, import, referral, campaign, or its own. Default on POST: api.",
    },
    "intake_form": _text("intake_form"),
    "product_id": {**NULLABLE_INTEGER, "description": "A product of the organization's catalogue"},
    "value": {
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": float(MAX_VALUE)},
            {"type": "string", "description": "A decimal such as 12500 or 12500.50"},
            {"type": "null"},
        ],
        "description": "Money, at most two decimal places are kept",
    },
    "custom": {
        "type": "object",
        "description": "Values of the organization's custom fields by key. text, long_text: "
        "string; number: number; money: number or decimal string; date: YYYY-MM-DD; checkbox: "
        "boolean; select: one of its options; multi_select: a list of its options. Errors are "
        "named `custom.<key>`.",
    },
    "tags": {
        "anyOf": [
            {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": MAX_TAGS},
            {"type": "string", "description": "Tags separated by , or ;"},
        ],
        "description": "Stored lower-cased",
    },
    "temperature": {"enum": [*TEMPERATURES, None]},
    "priority": {"enum": [*PRIORITIES, None]},
    "status": {
        "anyOf": [
            {"type": "integer", "description": "A status id"},
            {"type": "string", "description": "A status name, any case"},
            {"type": "null"},
        ],
        "description": "An active status of the organization; default on POST: its first "
        "'new' status",
    },
    "assignee_id": {**NULLABLE_INTEGER, "description": "An active user of the organization"},
    "unit_id": {**NULLABLE_INTEGER, "description": "A unit of the organization"},
    "follow_up_at": {
        "type": ["string", "null"],
        "description": "ISO 8601 date and time; without an offset it is read in the "
        "organization's time zone",
    },
    "close_reason": _text("close_reason"),
}

LEAD_INPUT = {
    **_object(LEAD_FIELDS, required=["name"]),
    "anyOf": [{"required": ["emails"]}, {"required": ["phones"]}],
    "description": "A new lead. A name and a phone or an e-mail are required. Unknown fields "
    "are refused (422).",
}
LEAD_PATCH = {
    **_object(LEAD_FIELDS, required=[]),
    "description": "The fields to change; the others keep their values. Each change is "
    "recorded in the lead's history (old → new). The lead must keep a phone or an e-mail.",
}
LEAD_LIST = _object(
    {
        "data": {"type": "array", "items": _ref("Lead")},
        "next_cursor": {
            "type": ["string", "null"],
            "description": "Pass as `cursor` for the next page; null on the last page",
        },
    }
)
ACTIVITY_KINDS = [kind.value for kind in ActivityKind]
ACTIVITY = _object(
    {
        "id": INTEGER,
        "lead_id": INTEGER,
        "kind": {"enum": ACTIVITY_KINDS},
        "outcome": STRING,
        "body": STRING,
        "occurred_at": TIMESTAMP,
        "created_at": TIMESTAMP,
        "actor": _named_or_null("The user who logged it; null when logged through the API"),
    }
)
ACTIVITY_INPUT = _object(
    {
        "kind": {"enum": ACTIVITY_KINDS},
        "outcome": {
            "type": "string",
            "maxLength": 60,
            "description": "Free text; the usual ones: " + ", ".join(OUTCOMES),
        },
        "body": {"type": "string", "maxLength": 5000, "description": "Required for a note"},
        "occurred_at": {
            "type": ["string", "null"],
            "description": "ISO 8601, not in the future; default now. Without an offset it is "
            "read in the organization's time zone.",
        },
    },
    required=["kind"],
    description="Something done about the lead. A note is recorded as a note; the other kinds "
    "as an activity. An activity by the lead's assignee is what 'responded' means and sets the "
    "lead's `first_response_at` — an API key is not a user, so activities logged through the "
    "API never set it.",
)
HISTORY_EVENT = _object(
    {
        "id": INTEGER,
        "at": TIMESTAMP,
        "kind": {
            "type": "string",
            "description": "created, field_changed, assigned, status_changed, activity, note, "
            "follow_up_set, closed, merged, exported, …",
        },
        "via": {"type": "string", "description": "The channel: web, api, import, system, …"},
        "actor": _named_or_null("The user who did it; null for API keys and the system"),
        "api_key": _named_or_null("The API key that did it, if any"),
        "data": {
            "type": "object",
            "description": "What changed, by kind: e.g. field_changed has field, old and new",
        },
        "text": {"type": "string", "description": "One readable line for a timeline"},
    }
)
HISTORY_LIST = _object(
    {"data": {"type": "array", "items": _ref("HistoryEvent"), "description": "Oldest first"}}
)
LEAD_CREATED = {
    "allOf": [_ref("Lead"), {"required": ["existing_contact"]}],
    "description": "The new lead, with what is known of the same contact",
}
ME = _object(
    {
        "organization": _object(
            {"id": INTEGER, "slug": STRING, "name": STRING, "timezone": STRING}
        ),
        "key": _object({"id": INTEGER, "name": STRING, "prefix": STRING}),
        "scopes": {"type": "array", "items": {"enum": list(SCOPES)}},
    }
)

SCHEMAS = {
    "Lead": LEAD,
    "LeadCreated": LEAD_CREATED,
    "LeadInput": LEAD_INPUT,
    "LeadPatch": LEAD_PATCH,
    "LeadList": LEAD_LIST,
    "Activity": ACTIVITY,
    "ActivityInput": ACTIVITY_INPUT,
    "HistoryEvent": HISTORY_EVENT,
    "HistoryList": HISTORY_LIST,
    "ExistingContact": EXISTING_CONTACT,
    "Me": ME,
    "Error": ERROR_SCHEMA,
}

# -- parameters ---------------------------------------------------------------------------

_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or STRING,
    }


FILTER_PARAMETERS = [
    _query(
        "q",
        "Search: name or company starting with it, an e-mail (with @) starting with "
        "it, or a phone number (4 digits or more)",
    ),
    _query(
        "time_frame",
        "Created today, yesterday, or in the last 7, 30 or 90 days (in the "
        "organization's time zone)",
        {"enum": list(TIME_FRAMES)},
    ),
    _query("created_from", "Created on or after this day (organization's time zone)", _DATE),
    _query("created_to", "Created on or before this day (organization's time zone)", _DATE),
    _query("name", "Name starts with this, any case"),
    _query("phone", "A phone number (normalized to E.164) or the start of one"),
    _query("email", "E-mail starts with this, any case"),
    _query("tag", "Has this tag"),
    _query(
        "assignee",
        "A user id, or `none` for unassigned leads",
        {"type": "string", "pattern": r"^(\d+|none)$"},
    ),
    _query("source", "Source/channel code, e.g. web, api"),
    _query(
        "status",
        "A status id, a category (new, open, won, lost, dead), `closed` (won, lost or dead) "
        "or `active` (not closed)",
        {"type": "string", "pattern": r"^(\d+|new|open|won|lost|dead|closed|active)$"},
    ),
    _query("profession", "Profession contains this, any case"),
    _query("address", "Address contains this, any case"),
    _query("company", "Company contains this, any case"),
    _query("district", "District contains this, any case"),
    _query("division", "Division contains this, any case"),
    _query(
        "unit",
        "A unit id: leads of the unit and every unit below it",
        {"type": "string", "pattern": r"^\d+$"},
    ),
    _query(
        "overdue",
        "1: the follow-up time has passed and the lead is not closed",
        {"enum": ["0", "1"]},
    ),
    _query(
        "follow_up",
        "Follow-up `today`, `overdue` (passed, lead open), `upcoming`, or on a day YYYY-MM-DD",
        {"anyOf": [{"enum": ["today", "overdue", "upcoming"]}, _DATE]},
    ),
]
PAGE_PARAMETERS = [
    _query(
        "limit",
        f"Leads per page (default {PAGE_SIZE})",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": PAGE_SIZE},
    ),
    _query("cursor", "The `next_cursor` of the previous page"),
]
LEAD_ID = {
    "name": "lead_id",
    "in": "path",
    "required": True,
    "description": "The lead's id; 404 for a lead of another organization",
    "schema": {"type": "integer", "minimum": 1},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string of at most 200 characters, e.g. a UUID. The same key with "
    "the same body answers the lead created the first time (header `Idempotent-Replayed: "
    "true`) instead of creating another; the same key with another body is refused (422).",
    "schema": {"type": "string", "maxLength": 200},
}

# -- responses ----------------------------------------------------------------------------


def _json(description: str, schema: dict, headers: dict | None = None) -> dict:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict:
    return _json(description, _ref("Error"))


def _errors(*codes: int, invalid: str = "A field or parameter is not valid") -> dict:
    texts = {
        401: "No API key, or an unknown or revoked one",
        403: "The key lacks the scope this needs",
        404: "No such lead in the key's organization",
        422: invalid + "; `error.fields` names each one. Nothing was stored.",
        429: "Rate limit exceeded (per key); retry after a minute",
    }
    return {str(code): _error(texts[code]) for code in codes}


def _operation(
    summary: str,
    operation_id: str,
    scope: str,
    responses: dict,
    *,
    description: str = "",
    parameters: list | None = None,
    body: str | None = None,
) -> dict:
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": operation_id,
        "tags": ["leads"],
        "description": (description + "\n\n" if description else "") + f"Scope: `{scope}`.",
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


LEADS_PATHS = {
    "/leads": {
        "post": _operation(
            "Create a lead",
            "createLead",
            "leads:create",
            {
                "201": _json(
                    "Created (or, with a replayed Idempotency-Key, the lead created then)",
                    _ref("LeadCreated"),
                    {
                        "Location": {"description": "The lead", "schema": STRING},
                        "Idempotent-Replayed": {
                            "description": "`true` when this answers a replayed Idempotency-Key",
                            "schema": {"enum": ["true"]},
                        },
                    },
                ),
                **_errors(
                    401,
                    403,
                    422,
                    429,
                    invalid="A field is not valid, the body is not a JSON object, or the "
                    "Idempotency-Key was used with another body",
                ),
            },
            description="Validates and normalizes every field (e-mails lower-cased, phones to "
            "E.164 with the organization's default country, tags lower-cased), stores the lead "
            "or nothing, links it to earlier leads of the same contact, and records its "
            "creation (via `api`) in its history.",
            parameters=[IDEMPOTENCY_KEY],
            body="LeadInput",
        ),
        "get": _operation(
            "List leads",
            "listLeads",
            "leads:read",
            {
                "200": _json("A page of leads, newest first", _ref("LeadList")),
                **_errors(
                    401,
                    403,
                    422,
                    429,
                    invalid="A filter, `limit` or `cursor` is not valid, or a parameter is unknown",
                ),
            },
            description="Every lead of the key's organization that matches all the filters "
            "given, newest first, except leads merged into another. Page with `cursor`.",
            parameters=FILTER_PARAMETERS + PAGE_PARAMETERS,
        ),
    },
    "/leads/{lead_id}": {
        "parameters": [LEAD_ID],
        "get": _operation(
            "Read a lead",
            "getLead",
            "leads:read",
            {"200": _json("The lead", _ref("Lead")), **_errors(401, 403, 404, 429)},
            description="A lead merged into another is answered as it is, with "
            "`merged_into_id`; the API does not follow it.",
        ),
        "patch": _operation(
            "Update a lead",
            "updateLead",
            "leads:write",
            {"200": _json("The updated lead", _ref("Lead")), **_errors(401, 403, 404, 422, 429)},
            description="Changes only the fields given; every change goes to the history.",
            body="LeadPatch",
        ),
    },
    "/leads/{lead_id}/activities": {
        "parameters": [LEAD_ID],
        "post": _operation(
            "Log an activity",
            "addActivity",
            "leads:write",
            {"201": _json("Logged", _ref("Activity")), **_errors(401, 403, 404, 422, 429)},
            description="A call, e-mail, SMS, meeting or note, with an outcome. An activity by "
            "the lead's assignee is what 'responded' means and sets `first_response_at`; an "
            "activity logged through the API has no user, so it does not set it.",
            body="ActivityInput",
        ),
    },
    "/leads/{lead_id}/history": {
        "parameters": [LEAD_ID],
        "get": _operation(
            "A lead's history",
            "getLeadHistory",
            "leads:read",
            {
                "200": _json("Every event, oldest first", _ref("HistoryList")),
                **_errors(401, 403, 404, 429),
            },
            description="Created, every field change (old → new), assignment, status change, "
            "note, activity, merge, export: who, when, through which channel.",
        ),
    },
}


def openapi_document() -> dict:
    return copy.deepcopy(_document())


def _document() -> dict:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "LeadTrack API",
            "version": "1",
            "description": "Authenticate with `Authorization: Bearer <key>`. Scopes: "
            + "; ".join(f"`{k}` {v}" for k, v in SCOPES.items())
            + '. Errors are `{"error": {"status", "message", "fields"}}`.',
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "tags": [{"name": "leads", "description": "Intake, list, read, update, history"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/me": {
                "get": {
                    "summary": "The key's organization and scopes",
                    "operationId": "getMe",
                    "responses": {
                        "200": _json("The key is valid", _ref("Me")),
                        **_errors(401, 429),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "getOpenApi",
                    "security": [],
                    "responses": {
                        "200": _json("The OpenAPI 3.1 document", {"type": "object"}),
                        **_errors(429),
                    },
                }
            },
            **LEADS_PATHS,
        },
    }
