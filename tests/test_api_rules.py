"""/api/v1/rules over HTTP with real keys: the document as JSON and YAML, PUT all-or-nothing
with the leads API's 422 shape, versions, the simulator (which changes nothing), a lead's
assignment explanation, scopes and tenant isolation. Every JSON answer is also checked
against the OpenAPI document."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import (
    AssignmentDecision,
    Lead,
    LeadEvent,
    Organization,
    Role,
    RotationSlot,
    RuleVersion,
)
from leadtrack.services import users
from tests.support.factories import PASSWORD
from tests.test_api_leads import Api, api_for, seed
from tests.test_openapi_contract import check

TUESDAY_MORNING = "2026-03-03T10:00:00+01:00"  # Berlin: inside the default business hours
SUNDAY = "2026-03-08T10:00:00"  # no offset: read in the organization's zone (Berlin)


@pytest.fixture(scope="module")
def openapi(app) -> dict:
    return app.test_client().get("/api/v1/openapi.json").get_json()


@pytest.fixture
def admin(app, tenant) -> Api:
    return api_for(app, tenant, "admin")


def put(api: Api, body=None, data=None, content_type: str | None = None):
    headers = {"Content-Type": content_type} if content_type else None
    kw = {"json": body} if data is None else {"data": data}
    return api.client.put("/api/v1/rules", headers=api._headers(headers), **kw)


def rules_for(tenant) -> dict:
    """The source documents' examples; the targets route around the clock (hours: false)
    so that leads taken in at any time of the test run go the same way."""
    return {
        "settings": {"hot_from": 40, "warm_from": 10},
        "assignment": [
            {
                "name": "Web info requests to fulfilment",
                "when": {
                    "all": [
                        {"field": "source", "op": "is", "value": "web"},
                        {"field": "intake_form", "op": "is", "value": "Information request"},
                    ]
                },
                "assign": {"team": "Harbour", "hours": False},
            },
            {
                "name": "Quote requests round-robin to sales",
                "when": {"field": "intake_form", "op": "is", "value": "Quote request"},
                "assign": {"team": "Main Street", "method": "round_robin"},
            },
            {
                "name": "Walk-ins assigned by hand",
                "when": {"field": "source", "op": "is", "value": "walk-in"},
                "assign": {"queue": "Main Street"},
            },
            {
                "name": "Big deals to senior reps",
                "when": {"field": "value", "op": "gte", "value": 50000},
                "assign": {"user": tenant.store_manager.email, "hours": False},
            },
        ],
        "scoring": [
            {
                "name": "Web leads",
                "when": {"field": "source", "op": "is", "value": "web"},
                "points": 10,
            },
            {
                "name": "Big value",
                "when": {"field": "value", "op": "gte", "value": 50000},
                "points": 40,
            },
        ],
    }


def second_agent(app, tenant) -> int:
    """Main Street's rotation holds its agents: give it two."""
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        user = users.create_user(
            db.session,
            org,
            email="second@acme.example.com",
            name="Second Agent",
            role=Role.AGENT,
            password=PASSWORD,
            unit_id=tenant.store.id,
        )
        db.session.commit()
        return user.id


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (AssignmentDecision, RotationSlot, LeadEvent, RuleVersion, Lead)
        }


# -- GET and PUT --------------------------------------------------------------------------


def test_a_new_organization_has_the_default_document(admin, openapi):
    body = check(openapi, admin.get("/rules"), "/rules", "get")
    assert body == {
        "settings": {
            "return_policy": "fresh_start",
            "hot_from": 60,
            "warm_from": 30,
            "priority_from": {"urgent": 80, "high": 50},
            "fallback": {"queue": None},
            "task_daily_cap": 3,
        },
        "assignment": [],
        "scoring": [],
        "response": [],
        "aging": [],
        "reclaim": [],
        "auto_close": [],
        "tasks": [],
    }


def test_put_json_applies_and_answers_the_new_version(app, tenant, admin, openapi):
    response = put(admin, rules_for(tenant))
    body = check(openapi, response, "/rules", "put")
    assert body["version"] == 1
    assert "added assignment rule “Big deals to senior reps”" in body["summary"]
    assert body["document"]["assignment"][1]["assign"] == {
        "team": "Main Street",
        "method": "round_robin",
    }
    assert check(openapi, admin.get("/rules"), "/rules", "get") == body["document"]
    with app.app_context():
        version = db.session.scalars(select(RuleVersion)).one()
        assert (version.via, version.actor_id) == ("api", None)


def test_get_yaml_and_put_yaml_round_trip(admin, tenant, openapi):
    first = put(admin, rules_for(tenant)).get_json()
    response = admin.get("/rules", {"format": "yaml"})
    assert response.status_code == 200
    assert response.mimetype == "text/yaml"
    text = response.get_data(as_text=True)
    assert yaml.safe_load(text) == first["document"]

    for content_type in ("application/yaml", "text/yaml; charset=utf-8"):
        again = put(admin, data=text.encode(), content_type=content_type)
        body = check(openapi, again, "/rules", "put")
        assert body["summary"] == "no change"
        assert body["document"] == first["document"]
    assert body["version"] == 3


def test_a_bad_document_is_422_with_the_fields_named_and_changes_nothing(
    app, admin, tenant, openapi
):
    put(admin, rules_for(tenant))
    before = counts(app)
    document = rules_for(tenant)
    document["assignment"][1]["assign"]["team"] = "Nowhere"
    document["assignment"].append(
        {"name": "Typo", "when": {"field": "valeu", "op": "gt", "value": 1}}
    )
    response = put(admin, document)
    body = check(openapi, response, "/rules", "put")
    assert response.status_code == 422
    assert body["error"]["message"] == "Nothing was stored: fix the fields named."
    assert body["error"]["fields"] == {
        "assignment[1].assign.team": "rule 'Quote requests round-robin to sales': there is no "
        "unit “Nowhere”.",
        "assignment[4].when": "rule 'Typo': unknown field 'valeu'.",
        "assignment[4].assign": "rule 'Typo': say who gets the lead (user, team, by_field or "
        "queue).",
    }
    assert counts(app) == before
    assert admin.get("/rules").get_json()["assignment"][1]["assign"]["team"] == "Main Street"


@pytest.mark.parametrize(
    ("data", "content_type", "field", "start"),
    [
        ("assignment:\n  - name: [x\n", "application/yaml", "document", "Not valid YAML: line 3"),
        ("- just\n- a list\n", "text/yaml", "document", "Expected a mapping"),
        (
            "assignment: []\nsettings: {hot_from: .nan}\n",
            "text/yaml",
            "settings.hot_from",
            "Numbers must be finite",
        ),
        (
            'assignment: [{name: "a\\0b"}]\n',
            "text/yaml",
            "assignment[0].name",
            "Text may not",
        ),
        (b"assignment: \xff\n", "application/yaml", "body", "Send UTF-8 text"),
        ("a: " + "[" * 2000 + "]" * 2000, "application/yaml", "document", "The document is nested"),
        ("", "application/yaml", "body", "Send a rules document"),
        ("not json", "application/json", "body", "Not valid JSON"),
        ("[1, 2]", "application/json", "body", "Send a JSON object"),
    ],
    ids=["yaml", "list", "nan", "nul", "utf8", "deep", "empty", "json", "array"],
)
def test_bodies_that_are_not_documents_are_422(admin, openapi, data, content_type, field, start):
    response = put(admin, data=data, content_type=content_type)
    body = check(openapi, response, "/rules", "put")
    assert response.status_code == 422
    assert body["error"]["fields"][field].startswith(start), body


def test_get_refuses_unknown_formats_and_parameters(admin, openapi):
    response = admin.get("/rules", {"format": "xml", "pretty": "1"})
    body = check(openapi, response, "/rules", "get")
    assert response.status_code == 422
    assert body["error"]["fields"] == {
        "format": "Use json or yaml.",
        "pretty": "Unknown parameter.",
    }


# -- versions -----------------------------------------------------------------------------


def test_versions_are_listed_newest_first(admin, tenant, openapi):
    put(admin, rules_for(tenant))
    put(admin, {"assignment": []})
    body = check(openapi, admin.get("/rules/versions"), "/rules/versions", "get")
    assert [(v["version"], v["via"], v["actor"]) for v in body["data"]] == [
        (2, "api", None),
        (1, "api", None),
    ]
    assert body["data"][0]["summary"].startswith("changed the settings; removed assignment rule")


# -- the simulator ------------------------------------------------------------------------


def test_simulating_a_sample_lead(app, admin, tenant, openapi):
    second_agent(app, tenant)
    put(admin, rules_for(tenant))
    body = {
        "lead": {"source": "web", "intake_form": "Quote request", "value": 60000},
        "at": TUESDAY_MORNING,
    }
    response = admin.post("/rules/simulate", body)
    (result,) = check(openapi, response, "/rules/simulate", "post")["results"]
    assert result["lead_id"] is None and result["lead_name"] == "Sample lead"
    assert (result["score"], result["temperature"]) == (50, "hot")
    assert result["scoring_rules"] == ["Web leads", "Big value"]
    assert result["rule"] == "Quote requests round-robin to sales"
    assert result["method"] == "round_robin" and result["outcome"] == "assigned"
    names = {c["name"] for c in result["candidates"]}
    assert names == {"Second Agent", tenant.agent.name}
    assert result["assignee"] in names


def test_simulating_outside_business_hours_explains_who_was_skipped(app, admin, tenant, openapi):
    second_agent(app, tenant)
    put(admin, rules_for(tenant))
    response = admin.post(
        "/rules/simulate", {"lead": {"intake_form": "Quote request"}, "at": SUNDAY}
    )
    (result,) = check(openapi, response, "/rules/simulate", "post")["results"]
    assert result["outcome"] == "queued" and result["assignee"] is None
    assert {c["skipped"] for c in result["candidates"]} == {"outside business hours"}
    assert result["summary"] == (
        "Rule “Quote requests round-robin to sales” (round-robin in Main Street): nobody "
        "available; waits in the queue of Main Street."
    )


def test_simulating_the_last_leads_changes_nothing(app, admin, tenant, openapi):
    second_agent(app, tenant)
    put(admin, rules_for(tenant))
    ids = [
        seed(app, tenant, name=f"Quote {n}", phones=[f"030 123456{n}"], intake_form="Quote request")
        for n in range(4)
    ]
    before = counts(app)
    with app.app_context():
        slots = sorted(db.session.execute(select(RotationSlot.user_id, RotationSlot.served)).all())
        owners = dict(db.session.execute(select(Lead.id, Lead.assignee_id)).all())

    response = admin.post("/rules/simulate", {"last": 3, "at": TUESDAY_MORNING})
    results = check(openapi, response, "/rules/simulate", "post")["results"]
    assert [r["lead_id"] for r in results] == ids[1:]  # oldest first
    assert {r["rule"] for r in results} == {"Quote requests round-robin to sales"}
    picked = [r["assignee_id"] for r in results]
    assert len(set(picked[:2])) == 2  # the rotation moves on from one simulated lead to the next

    assert counts(app) == before
    with app.app_context():
        assert (
            sorted(db.session.execute(select(RotationSlot.user_id, RotationSlot.served)).all())
            == slots
        )
        assert dict(db.session.execute(select(Lead.id, Lead.assignee_id)).all()) == owners


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"body"}),
        ({"lead": {}, "last": 2}, {"body"}),
        ({"lead": "web"}, {"lead"}),
        ({"last": 0}, {"last"}),
        ({"last": True}, {"last"}),
        ({"last": "5"}, {"last"}),
        ({"last": 2, "when": "now"}, {"when"}),
        ({"lead": {}, "at": "tomorrow"}, {"at"}),
        ({"lead": {}, "at": "0001-01-01T00:00:00+00:00"}, {"at"}),
        ({"lead": {}, "at": ["2026-03-03"]}, {"at"}),
        ({"lead": {"colour": "red", "value": "lots"}}, {"lead.colour"}),
        ({"lead": {"value": "lots"}}, {"lead.value"}),
    ],
)
def test_simulator_input_errors_are_422(admin, openapi, body, fields):
    response = admin.post("/rules/simulate", body)
    answer = check(openapi, response, "/rules/simulate", "post")
    assert response.status_code == 422
    assert set(answer["error"]["fields"]) == fields


# -- a lead's explanation -----------------------------------------------------------------


def test_a_leads_assignment_explains_the_rule_and_the_candidates(app, tenant, openapi):
    api = api_for(app, tenant, "admin")
    put(api, rules_for(tenant))
    reader = api_for(app, tenant, "leads:read")
    created = api.post("/leads", {"name": "Big", "phones": ["030 1234567"], "value": 75000})
    lead_id = created.get_json()["id"]
    assert created.get_json()["assignee"]["id"] == tenant.store_manager.id

    path = "/leads/{lead_id}/assignment"
    body = check(openapi, reader.get(f"/leads/{lead_id}/assignment"), path, "get")
    decision = body["decision"]
    assert body["lead_id"] == lead_id
    assert decision["rule"] == "Big deals to senior reps" and decision["method"] == "named"
    assert decision["outcome"] == "assigned"
    assert decision["assignee_id"] == tenant.store_manager.id
    assert decision["candidates"] == [
        {
            "user_id": tenant.store_manager.id,
            "name": tenant.store_manager.name,
            "skipped": "",
            "open_leads": 0,
            "picked": True,
        }
    ]
    assert (
        decision["summary"]
        == f"Rule “Big deals to senior reps” (to a named person) → {tenant.store_manager.name}."
    )

    walk_in = api.post("/leads", {"name": "Walk", "phones": ["030 7654321"], "source": "walk-in"})
    queued = reader.get(f"/leads/{walk_in.get_json()['id']}/assignment").get_json()["decision"]
    assert (queued["outcome"], queued["method"], queued["unit"]) == (
        "queued",
        "queue",
        "Main Street",
    )


def test_a_lead_the_rules_never_routed_has_no_decision(app, tenant, openapi):
    lead_id = seed(app, tenant, name="By hand", phones=["030 1234567"], assignee_id=tenant.agent.id)
    response = api_for(app, tenant, "leads:read").get(f"/leads/{lead_id}/assignment")
    assert check(openapi, response, "/leads/{lead_id}/assignment", "get") == {
        "lead_id": lead_id,
        "decision": None,
    }


# -- keys: scopes, tenants ----------------------------------------------------------------


def test_scopes_and_tenants(app, tenant, other_tenant, openapi):
    ours = seed(app, tenant, name="Ours", phones=["030 1234567"])
    theirs = seed(app, other_tenant, name="Theirs", phones=["030 1234567"])
    intake_only = api_for(app, tenant, "leads:create")
    crm = api_for(app, tenant, "leads:read,leads:write")
    anonymous = Api(app.test_client(), "lt_nope_nope")
    cases = [
        (intake_only.get("/rules"), "/rules", "get", 403),
        (put(intake_only, {"assignment": []}), "/rules", "put", 403),
        (intake_only.get("/rules/versions"), "/rules/versions", "get", 403),
        (intake_only.post("/rules/simulate", {"last": 1}), "/rules/simulate", "post", 403),
        (crm.get("/rules"), "/rules", "get", 403),
        (put(crm, {"assignment": []}), "/rules", "put", 403),
        (crm.post("/rules/simulate", {"last": 1}), "/rules/simulate", "post", 403),
        (anonymous.get("/rules"), "/rules", "get", 401),
        (put(anonymous, {}), "/rules", "put", 401),
        (anonymous.get(f"/leads/{ours}/assignment"), "/leads/{lead_id}/assignment", "get", 401),
        (intake_only.get(f"/leads/{ours}/assignment"), "/leads/{lead_id}/assignment", "get", 403),
        (crm.get(f"/leads/{theirs}/assignment"), "/leads/{lead_id}/assignment", "get", 404),
        (crm.get("/leads/999999/assignment"), "/leads/{lead_id}/assignment", "get", 404),
        (crm.get(f"/leads/{ours}/assignment"), "/leads/{lead_id}/assignment", "get", 200),
    ]
    for response, path, method, status in cases:
        assert response.status_code == status, (path, method, response.get_json())
        check(openapi, response, path, method)
    assert counts(app)["RuleVersion"] == 0


def test_each_organization_sees_and_changes_only_its_own_rules(app, tenant, other_tenant):
    ours, theirs = api_for(app, tenant, "admin"), api_for(app, other_tenant, "admin")
    put(ours, rules_for(tenant))
    assert theirs.get("/rules").get_json()["assignment"] == []
    assert theirs.get("/rules/versions").get_json() == {"data": []}
    refused = put(theirs, rules_for(tenant))  # our people's e-mails mean nothing there
    assert refused.status_code == 422
    assert (
        "nobody here has the e-mail"
        in refused.get_json()["error"]["fields"]["assignment[3].assign.user"]
    )
    assert len(ours.get("/rules").get_json()["assignment"]) == 4
