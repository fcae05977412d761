"""The OpenAPI 3.1 document of /api/v1; each issue adds its paths here.

Kept exact: tests/test_openapi_contract.py validates real answers against these schemas and
checks that every /api/v1 route is here and every path here is a route."""

from __future__ import annotations

import copy
from typing import Any

from leadtrack.models import (
    PRIORITIES,
    SCOPES,
    TEMPERATURES,
    ActivityKind,
    ChannelName,
    ReturnPolicy,
    StatusCategory,
)
from leadtrack.services.conditions import OP_ALIASES, OPS
from leadtrack.services.lead_fields import MAX_CONTACTS, MAX_TAGS, MAX_VALUE, TEXT_LIMITS
from leadtrack.services.lead_query import MAX_LIMIT, PAGE_SIZE, TIME_FRAMES
from leadtrack.services.leads import OUTCOMES
from leadtrack.services.rotation import MAX_WEIGHT
from leadtrack.services.routing import METHODS
from leadtrack.services.rules_document import MAX_RULES
from leadtrack.services.simulator import MAX_LAST, SAMPLE_FIELDS


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
            "enum": ["new", "open", "overdue", "closed"],
            "description": "new: nobody responded yet; open: responded; overdue: the response "
            "deadline passed without a response (marked by the escalation ladder); closed: won, "
            "lost or dead.",
        },
        "response_due_at": {
            **NULLABLE_TIMESTAMP,
            "description": "The response deadline its response-time rule set at intake",
        },
        "overdue_at": {
            **NULLABLE_TIMESTAMP,
            "description": "When the missed deadline was; stays set after a late response",
        },
        "escalation_tier": {
            "type": "integer",
            "minimum": 1,
            "description": "1: the assignee; 2: escalated once (backup); 3 and up: further",
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

# -- rules (issue 5): the document, its versions, the simulator, explanations ------------

ALL_OPS = list(dict.fromkeys(op for ops in OPS.values() for op in ops))
CONDITION = {
    "anyOf": [
        _object(
            {"all": {"type": "array", "items": _ref("Condition")}},
            description="Every one holds (an empty list always holds)",
        ),
        _object(
            {"any": {"type": "array", "items": _ref("Condition")}},
            description="At least one holds",
        ),
        _object({"not": _ref("Condition")}, description="The condition does not hold"),
        _object(
            {
                "field": {
                    "type": "string",
                    "description": "A lead field: source, intake_form, value, tags, district, "
                    "unit, time_of_day, weekday, …, or custom.<key>",
                },
                "op": {
                    "enum": [*ALL_OPS, *OP_ALIASES],
                    "description": "Which ones a field takes depends on its kind (docs/rules.md)",
                },
                "value": {"description": "One value, a list (in, has_any, …) or [from, to]"},
            },
            required=["field", "op"],
            description="One test of one field; text compares ignoring case",
        ),
        {"type": "object", "maxProperties": 0, "description": "Empty: every lead"},
        {"type": "null", "description": "Every lead"},
    ],
    "description": "The condition language (docs/rules.md). At most 6 levels deep.",
}
_HOURS = {
    "type": "boolean",
    "description": "false: route around the clock, ignoring business and working hours",
}
_METHOD = {"enum": list(METHODS), "description": "Default round_robin"}
_UNIT_NAME = {
    "type": "string",
    "minLength": 1,
    "description": "A unit by name, or by path ('North / Main Street') when a name is not unique",
}
TARGET = {
    "oneOf": [
        _object(
            {"user": {"type": "string", "description": "A user's e-mail"}, "hours": _HOURS},
            required=["user"],
            description="A named person",
        ),
        _object(
            {
                "team": _UNIT_NAME,
                "method": _METHOD,
                "weights": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_WEIGHT,
                    },
                    "description": "Round-robin weights by e-mail (default 1): weight 2 gets "
                    "twice the leads",
                },
                "hours": _HOURS,
            },
            required=["team"],
            description="The agents and managers of a unit, by round_robin or fewest_open",
        ),
        _object(
            {
                "by_field": {"type": "string", "description": "A lead field, e.g. district"},
                "map": {
                    "type": "object",
                    "additionalProperties": _UNIT_NAME,
                    "minProperties": 1,
                    "description": "Field value (any case) → unit",
                },
                "method": _METHOD,
                "otherwise": {**_UNIT_NAME, "type": ["string", "null"]},
                "hours": _HOURS,
            },
            required=["by_field", "map"],
            description="A team chosen by a field of the lead",
        ),
        _object(
            {
                "queue": {
                    **_UNIT_NAME,
                    "type": ["string", "null"],
                    "description": "A unit's queue; null: the lead's own unit",
                },
                "hours": _HOURS,
            },
            required=["queue"],
            description="Nobody: the lead waits in the queue, to be assigned by hand",
        ),
    ]
}
_RULE_NAME = {"type": "string", "minLength": 1, "maxLength": 120, "description": "Unique"}
_RULE_ID = {
    "type": "integer",
    "description": "Optional, input only: keep this stored rule (and its id) under a new name",
}
ASSIGNMENT_RULE = _object(
    {
        "name": _RULE_NAME,
        "enabled": {"type": "boolean", "description": "Default true"},
        "when": _ref("Condition"),
        "assign": _ref("Target"),
        "id": _RULE_ID,
    },
    required=["name", "assign"],
    description="Tried in order; the first whose `when` holds decides",
)
SCORING_RULE = _object(
    {
        "name": _RULE_NAME,
        "enabled": {"type": "boolean", "description": "Default true"},
        "when": _ref("Condition"),
        "points": {"type": "integer", "minimum": -1000, "maximum": 1000},
        "id": _RULE_ID,
    },
    required=["name", "points"],
    description="Every scoring rule whose `when` holds adds its points",
)
_DURATION = {
    "type": ["string", "integer"],
    "description": "A duration: 30s, 5m, 2h, 1h30m, 3d, or a number of seconds",
}
_CLOCK_COMMON = {
    "name": _RULE_NAME,
    "enabled": {"type": "boolean", "description": "Default true"},
    "when": _ref("Condition"),
    "business_time": {
        "type": "boolean",
        "description": "Count only business hours (default true), or around the clock",
    },
    "id": _RULE_ID,
}
LADDER_STEP = _object(
    {
        "after": {**_DURATION, "description": "Time after the previous step (not on step 1)"},
        "to": {
            "description": "backup, supervisor, manager, {user: e-mail} or {team: unit name}",
        },
        "action": {"enum": ["reassign", "watch", "notify"]},
        "channels": {"type": "array", "items": {"enum": [c.value for c in ChannelName]}},
        "cc": {"type": "array", "items": {"type": "string", "format": "email"}},
        "overdue": {"type": "boolean", "description": "Mark the lead overdue"},
    },
    required=["to"],
)
RESPONSE_RULE = _object(
    {
        **_CLOCK_COMMON,
        "within": _DURATION,
        "warnings": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 99}},
        "counts": {"type": "array", "items": {"enum": ["activity", "status", "ack"]}},
        "ladder": {"type": "array", "items": _ref("LadderStep"), "minItems": 1, "maxItems": 6},
    },
    required=["name", "within", "ladder"],
    description="The first whose `when` holds sets the lead's response deadline",
)
AGING_RULE = _object(
    {
        **_CLOCK_COMMON,
        "after": _DURATION,
        "then": {"description": "notify, or {status: <a status of the dead category>}"},
    },
    required=["name", "after"],
)
RECLAIM_RULE = _object(
    {**_CLOCK_COMMON, "within": _DURATION},
    required=["name", "within"],
    description="Untouched by its assignee within the time: back through the assignment rules",
)
AUTO_CLOSE_RULE = _object(
    {
        **_CLOCK_COMMON,
        "after": _DURATION,
        "close_as": {"type": "string", "description": "A won, lost or dead status"},
        "reason": STRING,
    },
    required=["name", "after", "close_as"],
)
_ACTIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "description": "One of {reassign: …}, {notify: {to, cc, channels, message}}, "
        "{status: name}, {set: {field, value}}, {tag: text}, {follow_up: duration}",
    },
    "minItems": 1,
    "maxItems": 8,
}
TASK = _object(
    {
        **_CLOCK_COMMON,
        "trigger": {
            "description": "created, assigned, idle, status_changed, {status_changed: status or "
            "category} or {field_changed: field}",
        },
        "until": {
            "description": "status_changed, {status: category}, {filled: field}, "
            "{ticked: field}, closed, updated or nothing",
        },
        "within": _DURATION,
        "then": {**_ACTIONS, "description": "Done when the task is not met in time"},
        "repeat": {"type": "object", "description": "{every, until} or {every, times}"},
        "finally": {**_ACTIONS, "description": "Done when the repeats run out"},
        "if_met": _object(
            {"when": _ref("Condition"), "then": _ACTIONS},
            required=["then"],
            description="Done when the task is met, if `when` holds",
        ),
    },
    required=["name", "within", "then"],
    description="If `until` is not met within the time after `trigger`, do `then` (docs/tasks.md)",
)
RULE_SETTINGS = _object(
    {
        "return_policy": {
            "enum": [p.value for p in ReturnPolicy],
            "description": "Round-robin for someone back from leave: fresh_start (level with "
            "the others) or catch_up (make up the leads missed)",
        },
        "hot_from": {"type": "integer", "description": "Score from which a lead is hot"},
        "warm_from": {"type": "integer", "description": "Score from which a lead is warm"},
        "priority_from": _object(
            {"urgent": INTEGER, "high": INTEGER},
            required=[],
            description="Score from which a lead is urgent, high; below: normal",
        ),
        "fallback": {**_ref("Target"), "description": "When no assignment rule matches"},
        "task_daily_cap": {
            "type": "integer",
            "minimum": 1,
            "maximum": 50,
            "description": "How often one task may act on one lead in 24 hours (default 3)",
        },
    },
    required=[],
)
RULES_DOCUMENT = _object(
    {
        "settings": RULE_SETTINGS,
        "assignment": {"type": "array", "items": _ref("AssignmentRule"), "maxItems": MAX_RULES},
        "scoring": {"type": "array", "items": _ref("ScoringRule"), "maxItems": MAX_RULES},
        "response": {"type": "array", "items": _ref("ResponseRule"), "maxItems": MAX_RULES},
        "aging": {"type": "array", "items": _ref("AgingRule"), "maxItems": MAX_RULES},
        "reclaim": {"type": "array", "items": _ref("ReclaimRule"), "maxItems": MAX_RULES},
        "auto_close": {"type": "array", "items": _ref("AutoCloseRule"), "maxItems": MAX_RULES},
        "tasks": {"type": "array", "items": _ref("Task"), "maxItems": MAX_RULES},
        "version": {"description": "Ignored on input"},
    },
    required=[],
    description="The organization's rules, as `leadtrack rules export` writes them. Users "
    "by e-mail, units by name. docs/rules.md is the reference.",
)
RULES_SAVED = _object(
    {
        "version": {"type": "integer", "description": "The new version of the rule set"},
        "summary": {"type": "string", "description": "What changed, e.g. added rule “X”"},
        "document": _ref("RulesDocument"),
    }
)
RULE_VERSION_LIST = _object(
    {
        "data": {
            "type": "array",
            "description": "Newest first, the latest 50",
            "items": _object(
                {
                    "version": INTEGER,
                    "at": TIMESTAMP,
                    "actor": _named_or_null(
                        "The user who changed the rules; null for the API and the CLI"
                    ),
                    "via": {"type": "string", "description": "web, api or cli"},
                    "summary": STRING,
                }
            ),
        }
    }
)
CANDIDATE = _object(
    {
        "user_id": INTEGER,
        "name": STRING,
        "skipped": {
            "type": "string",
            "description": "Why this person could not take the lead (inactive, out of office "
            "until …, outside business hours, holiday (…), outside their working hours, at "
            "capacity (n of m open leads)); empty when they could",
        },
        "open_leads": {"type": "integer", "minimum": 0},
        "picked": {"type": "boolean"},
    }
)
_DECISION_FIELDS = {
    "outcome": {"enum": ["assigned", "queued"]},
    "rule_id": {**NULLABLE_INTEGER, "description": "null for the fallback or a deleted rule"},
    "rule": {"type": "string", "description": "The rule that matched, or Fallback"},
    "method": {"enum": ["named", "round_robin", "fewest_open", "queue"]},
    "assignee_id": NULLABLE_INTEGER,
    "assignee": {"type": ["string", "null"], "description": "The assignee's name"},
    "unit_id": NULLABLE_INTEGER,
    "unit": {"type": ["string", "null"], "description": "The team or queue's unit"},
    "note": {"type": "string", "description": "E.g. which field value chose the team"},
    "summary": {"type": "string", "description": "One sentence: the rule, how, who"},
    "candidates": {"type": "array", "items": _ref("Candidate")},
}
DECISION = _object(
    {"id": INTEGER, "at": TIMESTAMP, **_DECISION_FIELDS},
    description="Why a lead went where it went, as stored when the rules decided",
)
LEAD_ASSIGNMENT = _object(
    {
        "lead_id": INTEGER,
        "decision": {
            "anyOf": [_ref("AssignmentDecision"), {"type": "null"}],
            "description": "The latest; null when the rules never decided (a lead assigned "
            "by hand at intake)",
        },
    }
)
SIMULATE_INPUT = {
    **_object(
        {
            "lead": {
                "type": "object",
                "propertyNames": {"enum": list(SAMPLE_FIELDS)},
                "description": "A sample lead: fields as POST /leads takes them; none is "
                "required (default name 'Sample lead', source web)",
            },
            "last": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LAST,
                "description": "The organization's last N leads, oldest first",
            },
            "at": {
                "type": ["string", "null"],
                "description": "The moment to simulate (ISO 8601; without an offset, in the "
                "organization's time zone); default now",
            },
        },
        required=[],
    ),
    "oneOf": [{"required": ["lead"]}, {"required": ["last"]}],
}
SIMULATION = _object(
    {
        "results": {
            "type": "array",
            "items": _object(
                {
                    "lead_id": {**NULLABLE_INTEGER, "description": "null for a sample lead"},
                    "lead_name": STRING,
                    "score": INTEGER,
                    "temperature": {"enum": [*TEMPERATURES, None]},
                    "priority": {"enum": list(PRIORITIES)},
                    "scoring_rules": {
                        "type": "array",
                        "items": STRING,
                        "description": "The scoring rules that matched",
                    },
                    **_DECISION_FIELDS,
                }
            ),
        }
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
    "Condition": CONDITION,
    "Target": TARGET,
    "AssignmentRule": ASSIGNMENT_RULE,
    "ScoringRule": SCORING_RULE,
    "ResponseRule": RESPONSE_RULE,
    "LadderStep": LADDER_STEP,
    "AgingRule": AGING_RULE,
    "ReclaimRule": RECLAIM_RULE,
    "AutoCloseRule": AUTO_CLOSE_RULE,
    "Task": TASK,
    "RulesDocument": RULES_DOCUMENT,
    "RulesSaved": RULES_SAVED,
    "RuleVersionList": RULE_VERSION_LIST,
    "Candidate": CANDIDATE,
    "AssignmentDecision": DECISION,
    "LeadAssignment": LEAD_ASSIGNMENT,
    "SimulateInput": SIMULATE_INPUT,
    "Simulation": SIMULATION,
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
    _query(
        "state",
        "The response clock: `new` (no response yet), `open` (responded), `overdue` (the "
        "deadline passed without a response) or `closed`",
        {"enum": ["new", "open", "overdue", "closed"]},
    ),
    _query("temperature", "hot, warm or cold", {"enum": ["hot", "warm", "cold"]}),
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
    tag: str = "leads",
) -> dict:
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": operation_id,
        "tags": [tag],
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


LEAD_ASSIGNMENT_PATH = {
    "/leads/{lead_id}/assignment": {
        "parameters": [LEAD_ID],
        "get": _operation(
            "Why a lead went where it went",
            "getLeadAssignment",
            "leads:read",
            {
                "200": _json("The latest assignment decision", _ref("LeadAssignment")),
                **_errors(401, 403, 404, 429),
            },
            description="The latest decision of the assignment rules for the lead, as stored "
            "when it was made: the rule that matched, the method, every candidate considered "
            "with their open leads and why each skipped one was skipped, and who got it — or "
            "which queue it waits in.",
        ),
    },
}

_YAML_DOCUMENT = {
    "schema": {
        "type": "string",
        "description": "The same document as YAML (the format of `leadtrack rules export`)",
    }
}
_RULES_INVALID = (
    "The document is not valid: `error.fields` names each mistake by where it is, e.g. "
    "`assignment[2].assign.team`, and the message names the rule"
)
RULES_PATHS = {
    "/rules": {
        "get": _operation(
            "The rules as a document",
            "getRules",
            "admin",
            {
                "200": {
                    "description": "The document (as JSON, or as YAML with `format=yaml`)",
                    "content": {
                        "application/json": {"schema": _ref("RulesDocument")},
                        "text/yaml": _YAML_DOCUMENT,
                    },
                },
                **_errors(401, 403, 422, 429, invalid="`format` is not json or yaml"),
            },
            description="Settings, assignment rules in order, scoring rules: what `leadtrack "
            "rules export` writes. Users are named by e-mail, units by name.",
            parameters=[
                _query(
                    "format",
                    "json (default) or yaml (answered as text/yaml)",
                    {"enum": ["json", "yaml"]},
                )
            ],
            tag="rules",
        ),
        "put": {
            **_operation(
                "Replace the rules",
                "putRules",
                "admin",
                {
                    "200": _json("Applied: the new version", _ref("RulesSaved")),
                    **_errors(401, 403, 422, 429, invalid=_RULES_INVALID),
                },
                description="Checks the whole document and makes the rules exactly what it "
                "says, or changes nothing (422). Rules keep their ids where their names match. "
                "Every PUT makes a new version, recorded with `via: api`. Send JSON, or YAML "
                "with `Content-Type: application/yaml` (or `text/yaml`).",
                tag="rules",
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _ref("RulesDocument")},
                    "application/yaml": _YAML_DOCUMENT,
                    "text/yaml": _YAML_DOCUMENT,
                },
            },
        },
    },
    "/rules/versions": {
        "get": _operation(
            "Versions of the rules",
            "listRuleVersions",
            "admin",
            {
                "200": _json("The latest versions, newest first", _ref("RuleVersionList")),
                **_errors(401, 403, 429),
            },
            description="Every change to the rules — from the editor, the CLI or the API — "
            "is a version: who, when, through which channel, and what changed.",
            tag="rules",
        ),
    },
    "/rules/simulate": {
        "post": _operation(
            "Simulate the rules",
            "simulateRules",
            "admin",
            {
                "200": _json("What the rules would do with each lead", _ref("Simulation")),
                **_errors(
                    401,
                    403,
                    422,
                    429,
                    invalid="Neither or both of `lead` and `last`, a sample field that is not "
                    "valid (named `lead.<field>`), or `last` out of range",
                ),
            },
            description="For a sample lead, or for the organization's last N leads: the score "
            "and the scoring rules that matched, the assignment rule that matches, the "
            "candidates and who would get the lead. Nothing is written: round-robin advances "
            "in memory from one simulated lead to the next, starting from the real counters.",
            body="SimulateInput",
            tag="rules",
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
        "tags": [
            {"name": "leads", "description": "Intake, list, read, update, history"},
            {"name": "rules", "description": "Assignment and scoring rules (docs/rules.md)"},
        ],
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
            **LEAD_ASSIGNMENT_PATH,
            **RULES_PATHS,
        },
    }
