"""The OpenAPI document is exact: real answers of the real endpoints validate against its
schemas, every /api/v1 route is in it and every path in it is a route, and what the server
refuses the document refuses too."""

from __future__ import annotations

import re
from dataclasses import fields as dataclass_fields

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from leadtrack.extensions import db
from leadtrack.models import Lead, Organization, User
from leadtrack.services import leads
from leadtrack.services.history import Actor
from leadtrack.services.lead_query import LeadFilters
from leadtrack.timeutil import utcnow
from tests.test_api_leads import (
    Api,
    add_custom_field,
    add_product,
    api_for,
    seed,
)

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def document(app) -> dict:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _validator(document: dict, schema: dict) -> Draft202012Validator:
    """`schema` with the document's components beside it, so `#/components/...` resolves."""
    return Draft202012Validator(
        {**schema, "components": document["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _component(document: dict, name: str) -> Draft202012Validator:
    return _validator(document, {"$ref": f"#/components/schemas/{name}"})


def check(document: dict, response, path: str, method: str) -> dict:
    """The answer's status is documented for this operation and its body fits the schema."""
    operation = document["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {path} answered {status}"
    documented = operation["responses"][status]
    assert response.mimetype == "application/json"
    schema = documented["content"]["application/json"]["schema"]
    body = response.get_json()
    errors = sorted(_validator(document, schema).iter_errors(body), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    for header in documented.get("headers", {}):
        if header == "Location":
            assert response.headers.get(header), header
    for header, _value in response.headers.items():
        if header.lower().startswith("idempotent"):
            assert header in documented.get("headers", {}), header
    return body


def request_fits(document: dict, path: str, method: str, body: dict) -> None:
    operation = document["paths"][path][method]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    _validator(document, schema).validate(body)


def request_refused(document: dict, path: str, method: str, body) -> bool:
    operation = document["paths"][path][method]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    try:
        _validator(document, schema).validate(body)
    except SchemaError:
        return True
    return False


# -- the document itself -------------------------------------------------------------------


def test_document_is_openapi_31_with_the_required_schemas(document):
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    for name in (
        "Lead",
        "LeadInput",
        "LeadPatch",
        "LeadList",
        "Activity",
        "ActivityInput",
        "HistoryEvent",
        "ExistingContact",
        "Error",
    ):
        assert name in schemas, name
        Draft202012Validator.check_schema(schemas[name])


def test_every_reference_resolves(document):
    registry = Registry().with_resource("urn:doc", DRAFT202012.create_resource(document))
    resolver = registry.resolver(base_uri="urn:doc")
    refs: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/"), ref
        resolver.lookup(ref)  # raises when it points nowhere


def _documented_routes(document) -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def _app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method))
    return routes


def test_every_route_is_documented_and_every_documented_path_is_a_route(app, document):
    routes, documented = _app_routes(app), _documented_routes(document)
    assert ("/leads/{lead_id}/history", "GET") in routes
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations that are not routes"


def test_every_operation_is_described(document):
    operation_ids = []
    for path, item in document["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            operation_ids.append(operation["operationId"])
            assert operation["summary"], where
            params = declared | {
                p["name"] for p in operation.get("parameters", []) if p["in"] == "path"
            }
            assert params == set(re.findall(r"{(\w+)}", path)), where
            responses = operation["responses"]
            for code, response in responses.items():
                assert response["description"], (where, code)
                if code.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (where, code)
            assert "429" in responses, where
            public = operation.get("security") == []
            assert public == (path == "/openapi.json"), where
            if not public:
                assert "401" in responses, where
            if "{lead_id}" in path:
                assert "404" in responses, where
            if path.startswith("/leads"):
                assert "403" in responses and "description" in operation, where
                assert "Scope: `leads:" in operation["description"], where
            if method in ("post", "patch"):
                assert "422" in responses and operation["requestBody"]["required"], where
    assert len(operation_ids) == len(set(operation_ids))


def test_list_documents_every_filter(document):
    parameters = document["paths"]["/leads"]["get"]["parameters"]
    names = {p["name"] for p in parameters}
    filters = {f.name for f in dataclass_fields(LeadFilters)} - {"sort"}
    assert names == filters | {"limit", "cursor"}
    for parameter in parameters:
        assert parameter["in"] == "query" and parameter["description"], parameter["name"]
        Draft202012Validator.check_schema(parameter["schema"])


def test_activity_documentation_says_an_api_key_sets_no_first_response(document):
    operation = document["paths"]["/leads/{lead_id}/activities"]["post"]
    assert "first_response_at" in operation["description"]
    assert "does not set it" in operation["description"]
    assert "never set it" in document["components"]["schemas"]["ActivityInput"]["description"]


# -- real answers against the document -------------------------------------------------------


@pytest.fixture
def full_lead(app, tenant) -> dict:
    """A lead body with every field set (product, unit, assignee, value, custom, follow-up)."""
    product_id = add_product(app, tenant, name="Corolla", variant="Hybrid", brand_name="Toyota")
    add_custom_field(app, tenant, key="budget", label="Budget", type="money")
    add_custom_field(app, tenant, key="seen", label="Seen", type="checkbox")
    return {
        "name": "Jane Doe",
        "emails": ["Jane@Example.com"],
        "phones": ["030 12345678"],
        "company": "Doe GmbH",
        "address": "Hauptstrasse 1",
        "district": "Mitte",
        "division": "Retail",
        "profession": "Baker",
        "source": "web",
        "intake_form": "website",
        "product_id": product_id,
        "value": "12500.50",
        "custom": {"budget": 1000, "seen": True},
        "tags": ["VIP"],
        "temperature": "hot",
        "priority": "high",
        "status": "Qualified",
        "assignee_id": tenant.agent.id,
        "unit_id": tenant.store.id,
        "follow_up_at": "2030-05-01T10:00:00+02:00",
        "close_reason": "",
    }


def test_lead_endpoints_answer_what_the_document_says(app, tenant, document, full_lead):
    api = api_for(app, tenant)
    request_fits(document, "/leads", "post", full_lead)
    created = check(document, api.post("/leads", full_lead), "/leads", "post")
    assert created["existing_contact"]["count"] == 0

    minimal = {"name": "Max", "emails": "max@example.com"}
    request_fits(document, "/leads", "post", minimal)
    second = check(document, api.post("/leads", minimal), "/leads", "post")
    assert second["product"] is None and second["value"] is None

    again = {"name": "Jane", "phones": ["+49 30 12345678"]}
    headers = {"Idempotency-Key": "abc"}
    third = check(document, api.post("/leads", again, headers=headers), "/leads", "post")
    assert third["existing_contact"]["count"] == 1
    replayed = api.post("/leads", again, headers=headers)
    assert check(document, replayed, "/leads", "post")["id"] == third["id"]

    listing = check(document, api.get("/leads", {"limit": "2"}), "/leads", "get")
    assert len(listing["data"]) == 2 and listing["next_cursor"]
    rest = api.get("/leads", {"cursor": listing["next_cursor"], "status": "active"})
    assert check(document, rest, "/leads", "get")["next_cursor"] is None

    path = "/leads/{lead_id}"
    one = check(document, api.get(f"/leads/{created['id']}"), path, "get")
    assert one["product"]["label"] == "Toyota Corolla Hybrid"

    patch = {"status": "Won", "close_reason": "Bought", "value": 13000, "assignee_id": None}
    request_fits(document, path, "patch", patch)
    patched = check(document, api.patch(f"/leads/{created['id']}", patch), path, "patch")
    assert patched["state"] == "closed" and patched["assignee"] is None

    activity = {"kind": "call", "outcome": "reached", "body": "Signed"}
    request_fits(document, f"{path}/activities", "post", activity)
    logged = api.post(f"/leads/{created['id']}/activities", activity)
    check(document, logged, f"{path}/activities", "post")

    with app.app_context():  # an event with a user as actor, too
        agent = db.session.get(User, tenant.agent.id)
        lead = db.session.get(Lead, created["id"])
        org = db.session.get(Organization, tenant.org.id)
        leads.add_activity(
            db.session, lead, Actor(org.id, user=agent), utcnow(), kind="note", body="Called back"
        )
        db.session.commit()
    history = check(document, api.get(f"/leads/{created['id']}/history"), f"{path}/history", "get")
    kinds = [event["kind"] for event in history["data"]]
    assert {"created", "assigned", "status_changed", "field_changed", "activity", "note"} <= set(
        kinds
    )


def test_a_merged_lead_fits_the_lead_schema(app, tenant, document):
    survivor = seed(app, tenant, name="Keep", phones=["030 1234567"])
    other = seed(app, tenant, name="Gone", phones=["030 7654321"])
    with app.app_context():
        admin = db.session.get(User, tenant.admin.id)
        leads.merge(
            db.session,
            db.session.get(Lead, survivor),
            db.session.get(Lead, other),
            Actor(tenant.org.id, user=admin),
            utcnow(),
        )
        db.session.commit()
    api = api_for(app, tenant, "leads:read")
    body = check(document, api.get(f"/leads/{other}"), "/leads/{lead_id}", "get")
    assert body["merged_into_id"] == survivor
    history = api.get(f"/leads/{survivor}/history")
    assert "merged" in [
        e["kind"] for e in check(document, history, "/leads/{lead_id}/history", "get")["data"]
    ]


def test_me_and_the_document_itself(app, tenant, document):
    api = api_for(app, tenant, "admin")
    check(document, api.get("/me"), "/me", "get")
    check(document, app.test_client().get("/api/v1/openapi.json"), "/openapi.json", "get")


def test_error_answers_fit_the_error_schema(app, tenant, other_tenant, document):
    theirs = seed(app, other_tenant, name="Theirs", phones=["030 1234567"])
    ours = seed(app, tenant, name="Ours", phones=["030 1234567"])
    api = api_for(app, tenant)
    intake_only = api_for(app, tenant, "leads:create")
    anonymous = Api(app.test_client(), "lt_nope_nope")
    item = "/leads/{lead_id}"
    cases = [
        # 401
        (anonymous.get("/leads"), "/leads", "get", 401),
        (anonymous.post("/leads", {"name": "A"}), "/leads", "post", 401),
        (anonymous.get(f"/leads/{ours}"), item, "get", 401),
        (anonymous.patch(f"/leads/{ours}", {}), item, "patch", 401),
        (anonymous.post(f"/leads/{ours}/activities", {}), f"{item}/activities", "post", 401),
        (anonymous.get(f"/leads/{ours}/history"), f"{item}/history", "get", 401),
        (anonymous.get("/me"), "/me", "get", 401),
        # 403
        (intake_only.get("/leads"), "/leads", "get", 403),
        (intake_only.get(f"/leads/{ours}"), item, "get", 403),
        (intake_only.patch(f"/leads/{ours}", {}), item, "patch", 403),
        (intake_only.post(f"/leads/{ours}/activities", {}), f"{item}/activities", "post", 403),
        (intake_only.get(f"/leads/{ours}/history"), f"{item}/history", "get", 403),
        (api_for(app, tenant, "leads:read").post("/leads", {}), "/leads", "post", 403),
        # 404: another organization's lead
        (api.get(f"/leads/{theirs}"), item, "get", 404),
        (api.patch(f"/leads/{theirs}", {"name": "X"}), item, "patch", 404),
        (
            api.post(f"/leads/{theirs}/activities", {"kind": "call"}),
            f"{item}/activities",
            "post",
            404,
        ),
        (api.get(f"/leads/{theirs}/history"), f"{item}/history", "get", 404),
        # 422
        (api.post("/leads", {"name": "A", "emails": ["bad"]}), "/leads", "post", 422),
        (api.post("/leads", data="not json"), "/leads", "post", 422),
        (api.post("/leads", [1, 2]), "/leads", "post", 422),
        (api.get("/leads", {"time_frame": "week"}), "/leads", "get", 422),
        (api.get("/leads", {"cursor": "nope"}), "/leads", "get", 422),
        (api.patch(f"/leads/{ours}", {"value": "abc"}), item, "patch", 422),
        (api.post(f"/leads/{ours}/activities", {"kind": "fax"}), f"{item}/activities", "post", 422),
    ]
    for response, path, method, status in cases:
        assert response.status_code == status, (path, method, response.get_json())
        body = check(document, response, path, method)
        assert body["error"]["status"] == status
        if status == 422:
            assert body["error"]["fields"], (path, method)


def test_rate_limited_answer_fits_the_error_schema(app, tenant, document):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    try:
        api = api_for(app, tenant, "leads:read")
        statuses = [api.get("/leads").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        check(document, api.get("/leads"), "/leads", "get")
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"


# -- what the server refuses, the document refuses ------------------------------------------


REFUSED_BODIES = [
    {"phones": ["030 12345678"]},  # no name
    {"name": "A"},  # no phone, no e-mail
    {"name": "x" * 201, "phones": ["030 12345678"]},
    {"name": "A", "phones": ["030 12345678"], "colour": "red"},
    {"name": "A", "phones": ["030 12345678"], "temperature": "lukewarm"},
    {"name": "A", "phones": ["030 12345678"], "priority": "asap"},
    {"name": "A", "phones": ["030 12345678"], "value": -5},
    {"name": "A", "phones": ["030 12345678"], "custom": ["x"]},
    {"name": "A", "phones": ["030 12345678"], "tags": {"a": 1}},
    {"name": "A", "phones": ["030 12345678"], "unit_id": "north"},
    {"name": ["A"], "phones": ["030 12345678"]},
    {"name": "A", "emails": ["a@example.com"] * 6},
]


@pytest.mark.parametrize("body", REFUSED_BODIES, ids=range(len(REFUSED_BODIES)))
def test_bodies_the_server_refuses_the_document_refuses(app, tenant, document, body):
    assert request_refused(document, "/leads", "post", body)
    response = api_for(app, tenant).post("/leads", body)
    check(document, response, "/leads", "post")
    assert response.status_code == 422


def test_activity_and_patch_schemas_refuse_what_the_server_refuses(app, tenant, document):
    api = api_for(app, tenant)
    lead_id = seed(app, tenant, name="A", phones=["030 1234567"])
    path = "/leads/{lead_id}"
    for body in (
        {},
        {"kind": "fax"},
        {"kind": "call", "outcome": "o" * 61},
        {"kind": "call", "by": "me"},
    ):
        assert request_refused(document, f"{path}/activities", "post", body), body
        assert api.post(f"/leads/{lead_id}/activities", body).status_code == 422, body
    for body in ({"name": ""}, {"id": 5}, {"temperature": "boiling"}):
        assert request_refused(document, path, "patch", body), body
        assert api.patch(f"/leads/{lead_id}", body).status_code == 422, body
