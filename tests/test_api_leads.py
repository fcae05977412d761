"""/api/v1/leads over HTTP with real keys: intake, validation, existing contacts, idempotency,
scopes, tenant isolation, every filter, cursor pagination, PATCH, activities, history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import (
    Activity,
    ApiKey,
    Lead,
    LeadEvent,
    LeadStatus,
    Organization,
    User,
)
from leadtrack.services import api_keys, intake, lead_settings, leads
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow

ALL_SCOPES = "leads:create,leads:read,leads:write"
BERLIN = ZoneInfo("Europe/Berlin")


# -- helpers (tests/test_openapi_contract.py uses them too) -------------------------------


def make_key(app, tenant, scopes: str = ALL_SCOPES, name: str = "Integration") -> str:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        _, plaintext = api_keys.create_api_key(
            db.session, org, name=name, scopes=scopes, created_by=None
        )
        db.session.commit()
    return plaintext


@dataclass
class Api:
    """A test client that sends one API key."""

    client: object
    key: str

    def _headers(self, extra: dict | None) -> dict:
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, path: str, query: dict | None = None, headers: dict | None = None):
        return self.client.get(f"/api/v1{path}", query_string=query, headers=self._headers(headers))

    def post(self, path: str, body=None, headers: dict | None = None, data=None, **kw):
        if data is None:
            kw["json"] = body
        else:
            kw["data"] = data
        return self.client.post(f"/api/v1{path}", headers=self._headers(headers), **kw)

    def patch(self, path: str, body=None, headers: dict | None = None, data=None, **kw):
        if data is None:
            kw["json"] = body
        else:
            kw["data"] = data
        return self.client.patch(f"/api/v1{path}", headers=self._headers(headers), **kw)


def api_for(app, tenant, scopes: str = ALL_SCOPES) -> Api:
    return Api(app.test_client(), make_key(app, tenant, scopes))


def seed(app, tenant, now: datetime | None = None, **raw) -> int:
    """A lead made through the intake service at a given moment (for time filters)."""
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        result = intake.create_lead(
            db.session,
            org,
            {"source": "web", **raw},
            Actor(org.id, via="import"),
            now or utcnow(),
        )
        db.session.commit()
        return result.lead.id


def lead_count(app, org_id: int | None = None) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(Lead)
        if org_id is not None:
            stmt = stmt.where(Lead.org_id == org_id)
        return db.session.scalar(stmt)


def status_id(app, tenant, name: str) -> int:
    with app.app_context():
        return db.session.scalars(
            select(LeadStatus.id).where(LeadStatus.org_id == tenant.org.id, LeadStatus.name == name)
        ).one()


def add_custom_field(app, tenant, **kw) -> None:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        lead_settings.add_custom_field(db.session, org, **kw)
        db.session.commit()


def add_product(app, tenant, **kw) -> int:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        product = lead_settings.add_product(db.session, org, **kw)
        db.session.commit()
        return product.id


def assert_error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert error["status"] == status
    assert error["message"]
    if field is not None:
        assert field in error["fields"], error
        assert error["fields"][field]
    return error


@pytest.fixture
def api(app, tenant) -> Api:
    return api_for(app, tenant)


# -- intake -------------------------------------------------------------------------------


class TestIntake:
    def test_creates_a_normalized_lead(self, app, tenant, api):
        response = api.post(
            "/leads",
            {
                "name": "  Jane Doe ",
                "emails": [" Jane.Doe@Example.COM "],
                "phones": ["030 1234 5678", "0151 23456789"],
                "tags": ["VIP", " Spring Sale ", "vip"],
                "company": "Doe Bakery",
                "value": "12500.5",
                "temperature": "Hot",
                "follow_up_at": "2030-05-01T10:00",
            },
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["name"] == "Jane Doe"
        assert body["emails"] == ["jane.doe@example.com"]
        assert body["phones"] == ["+493012345678", "+4915123456789"]
        assert body["tags"] == ["spring sale", "vip"]
        assert body["value"] == "12500.50"
        assert body["temperature"] == "hot"
        assert body["source"] == "api"  # the default for the API
        assert body["status"]["name"] == "New" and body["status"]["category"] == "new"
        assert body["state"] == "new"
        assert body["assignee"] is None and body["unit"] is None and body["product"] is None
        # a follow-up without an offset is in the organization's time zone (CEST: +02:00)
        assert body["follow_up_at"] == "2030-05-01T08:00:00+00:00"
        assert body["url"] == f"http://localhost/leads/{body['id']}"
        assert response.headers["Location"].endswith(f"/api/v1/leads/{body['id']}")
        assert "Idempotent-Replayed" not in response.headers
        assert body["existing_contact"] == {
            "count": 0,
            "last_lead_id": None,
            "last_owner": None,
            "message": "",
        }
        with app.app_context():
            lead = db.session.get(Lead, body["id"])
            assert lead.org_id == tenant.org.id
            assert lead.created_via == "api" and lead.created_by_id is None
            event = db.session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id)).one()
            assert (event.kind, event.via) == ("created", "api")
            assert event.api_key_id == db.session.scalars(select(ApiKey.id)).one()

    def test_every_field_can_be_given(self, app, tenant, api):
        product_id = add_product(app, tenant, name="Corolla", variant="Hybrid", brand_name="Toyota")
        add_custom_field(app, tenant, key="budget", label="Budget", type="number")
        response = api.post(
            "/leads",
            {
                "name": "Max",
                "emails": "max@example.com; max@work.example.com",
                "phones": "+1 415 555 0123",
                "company": "M GmbH",
                "address": "Hafenweg 2",
                "district": "Altona",
                "division": "Fleet",
                "profession": "Driver",
                "source": "Referral",
                "intake_form": "spring-2026",
                "product_id": product_id,
                "value": 1000,
                "custom": {"budget": "20,000"},
                "tags": "a, b",
                "temperature": "cold",
                "priority": "high",
                "status": "qualified",
                "assignee_id": tenant.agent.id,
                "follow_up_at": "2030-01-01T09:00:00+01:00",
                "close_reason": "",
            },
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["emails"] == ["max@example.com", "max@work.example.com"]
        assert body["product"] == {"id": product_id, "label": "Toyota Corolla Hybrid"}
        assert body["custom"] == {"budget": 20000.0}
        assert body["source"] == "referral"
        assert body["status"]["name"] == "Qualified" and body["status"]["category"] == "open"
        assert body["assignee"] == {"id": tenant.agent.id, "name": tenant.agent.name}
        assert body["unit"] == {"id": tenant.store.id, "name": tenant.store.name}
        assert body["first_assigned_at"] is not None
        assert body["priority"] == "high" and body["value"] == "1000.00"
        assert body["follow_up_at"] == "2030-01-01T08:00:00+00:00"

    def test_a_closed_status_closes_the_lead(self, api):
        body = api.post("/leads", {"name": "W", "phones": ["030 1234567"], "status": "Won"})
        assert body.status_code == 201
        assert body.get_json()["state"] == "closed"
        assert body.get_json()["closed_at"] is not None


def _too_long_name() -> dict:
    return {"name": "x" * 201, "phones": ["030 12345678"]}


INVALID_BODIES = [
    pytest.param({"name": "A", "emails": ["not-an-email"]}, "emails", id="bad-email"),
    pytest.param({"name": "A", "emails": ["a@b"]}, "emails", id="email-without-domain"),
    pytest.param({"name": "A", "phones": ["12"]}, "phones", id="bad-phone"),
    pytest.param({"name": "A", "phones": ["030 1234 5678 9999 9999"]}, "phones", id="long-phone"),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "status": "Sold"}, "status", id="unknown-status"
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "source": "carrier-pigeon"},
        "source",
        id="unknown-source",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "custom": {"budget": "lots"}},
        "custom.budget",
        id="custom-wrong-type",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "custom": {"colour": "red"}},
        "custom.colour",
        id="custom-unknown",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "custom": ["budget"]},
        "custom",
        id="custom-not-object",
    ),
    pytest.param(_too_long_name(), "name", id="name-201-chars"),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "company": "c" * 201},
        "company",
        id="company-too-long",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "value": "abc"}, "value", id="value-abc"
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "value": -5}, "value", id="value-negative"
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "value": "1e20"}, "value", id="value-huge"
    ),
    pytest.param({"phones": ["030 12345678"]}, "name", id="no-name"),
    pytest.param({"name": "   ", "phones": ["030 12345678"]}, "name", id="blank-name"),
    pytest.param({"name": "A"}, "phones", id="no-contact"),
    pytest.param({"name": ["A"], "phones": ["030 12345678"]}, "name", id="name-list"),
    pytest.param({"name": {"first": "A"}, "phones": ["030 12345678"]}, "name", id="name-object"),
    pytest.param({"name": "A", "emails": {"a": "b"}}, "emails", id="emails-object"),
    pytest.param(
        {
            "name": "A",
            "emails": ["a@example.com"] * 3 + ["b@example.com", "c@e.com", "d@example.com"],
        },
        "emails",
        id="too-many-emails",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "tags": {"a": 1}}, "tags", id="tags-object"
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "tags": ["t" * 61]}, "tags", id="tag-too-long"
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "temperature": "lukewarm"},
        "temperature",
        id="temperature",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "priority": "asap"}, "priority", id="priority"
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "unit_id": "north"}, "unit_id", id="unit-not-id"
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "unit_id": 999999}, "unit_id", id="unit-unknown"
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "product_id": [1]},
        "product_id",
        id="product-list",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "assignee_id": 10**30},
        "assignee_id",
        id="assignee-id-overflow",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "status": 10**30},
        "status",
        id="status-id-overflow",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "follow_up_at": "tomorrow"},
        "follow_up_at",
        id="follow-up-text",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "follow_up_at": "0001-01-01T00:30"},
        "follow_up_at",
        id="follow-up-year-1",
    ),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "colour": "red"}, "colour", id="unknown-field"
    ),
    pytest.param({"name": "A\x00B", "phones": ["030 12345678"]}, "name", id="nul-in-name"),
    pytest.param(
        {"name": "A", "phones": ["030 12345678"], "custom": {"budget": "\x00"}},
        "custom.budget",
        id="nul-in-custom",
    ),
]


class TestValidation:
    @pytest.mark.parametrize(("body", "field"), INVALID_BODIES)
    def test_bad_field_is_422_naming_it_and_nothing_is_stored(self, app, tenant, api, body, field):
        add_custom_field(app, tenant, key="budget", label="Budget", type="number")
        assert_error(api.post("/leads", body), 422, field)
        assert lead_count(app) == 0
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(LeadEvent)) == 0

    def test_every_bad_field_is_named_at_once(self, app, api):
        response = api.post(
            "/leads", {"name": "", "emails": ["x"], "status": "Sold", "value": "abc"}
        )
        fields = assert_error(response, 422)["fields"]
        assert {"name", "emails", "status", "value"} <= set(fields)

    @pytest.mark.parametrize(
        ("data", "content_type"),
        [
            pytest.param(json.dumps([{"name": "A"}]), "application/json", id="list"),
            pytest.param('"Jane"', "application/json", id="string"),
            pytest.param("null", "application/json", id="null"),
            pytest.param("42", "application/json", id="number"),
            pytest.param("name=A&phones=030", "application/x-www-form-urlencoded", id="form"),
            pytest.param('{"name": "A",', "application/json", id="truncated"),
            pytest.param("", "application/json", id="empty"),
            pytest.param(b"\xff\xfe{", "application/json", id="not-utf8"),
            pytest.param('{"name": "A", "value": NaN}', "application/json", id="nan"),
            pytest.param('{"name": "A", "value": 1e400}', "application/json", id="infinite"),
            pytest.param(
                '{"name": "\\ud800", "phones": "030 1234567"}',
                "application/json",
                id="lone-surrogate",
            ),
            pytest.param("[" * 100_000, "application/json", id="deeply-nested"),
            pytest.param("<lead><name>A</name></lead>", "application/xml", id="xml"),
        ],
    )
    def test_a_body_that_is_not_a_json_object_is_422(self, app, api, data, content_type):
        response = api.post("/leads", data=data, content_type=content_type)
        error = assert_error(response, 422)
        assert set(error["fields"]) <= {"body", "name"} and error["fields"]
        assert lead_count(app) == 0

    def test_json_without_content_type_is_accepted(self, app, api):
        response = api.post(
            "/leads", data=json.dumps({"name": "A", "phones": ["030 1234567"]}), content_type=""
        )
        assert response.status_code == 201

    def test_references_to_another_organization_are_refused(self, app, tenant, other_tenant, api):
        foreign_status = status_id(app, other_tenant, "Won")
        foreign_product = add_product(app, other_tenant, name="Secret")
        for field, value in (
            ("unit_id", other_tenant.store.id),
            ("assignee_id", other_tenant.agent.id),
            ("product_id", foreign_product),
            ("status", foreign_status),
        ):
            response = api.post("/leads", {"name": "A", "phones": ["030 1234567"], field: value})
            assert_error(response, 422, field)
        assert lead_count(app) == 0


# -- existing contact, idempotency ----------------------------------------------------------


def test_existing_contact_is_linked_and_announced(app, tenant, api):
    first = api.post(
        "/leads", {"name": "Jane", "phones": ["030 12345678"], "assignee_id": tenant.agent.id}
    ).get_json()
    other = api.post("/leads", {"name": "Someone else", "phones": ["0151 23456789"]})
    assert other.get_json()["existing_contact"]["count"] == 0

    response = api.post("/leads", {"name": "Jane D.", "phones": ["+49 30 1234-5678"]})
    assert response.status_code == 201
    body = response.get_json()
    assert body["existing_contact"]["count"] == 1
    assert body["existing_contact"]["last_owner"] == tenant.agent.name
    assert body["existing_contact"]["last_lead_id"] == first["id"]
    assert body["existing_contact"]["message"] == (
        f"Existing contact: 1 earlier lead, last owned by {tenant.agent.name}."
    )
    assert body["previous_lead_id"] == first["id"]
    assert lead_count(app) == 3

    by_email = api.post(
        "/leads", {"name": "J", "emails": ["x@example.com"], "phones": ["030 12345678"]}
    ).get_json()
    assert by_email["existing_contact"]["count"] == 2


def test_existing_contact_stays_inside_the_organization(app, tenant, other_tenant, api):
    seed(app, other_tenant, name="Jane elsewhere", phones=["030 12345678"])
    body = api.post("/leads", {"name": "Jane", "phones": ["030 12345678"]}).get_json()
    assert body["existing_contact"]["count"] == 0
    assert body["previous_lead_id"] is None


class TestIdempotency:
    BODY = {"name": "Jane", "emails": ["jane@example.com"]}

    def test_same_key_and_body_give_the_same_lead_once(self, app, tenant, api):
        headers = {"Idempotency-Key": "form-submission-1"}
        first = api.post("/leads", self.BODY, headers=headers)
        again = api.post("/leads", dict(reversed(self.BODY.items())), headers=headers)
        assert first.status_code == 201 and again.status_code == 201
        assert again.get_json()["id"] == first.get_json()["id"]
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert again.get_json()["existing_contact"]["count"] == 0
        assert lead_count(app) == 1

    def test_same_key_with_another_body_is_422(self, app, api):
        headers = {"Idempotency-Key": "k-2"}
        assert api.post("/leads", self.BODY, headers=headers).status_code == 201
        other = {**self.BODY, "name": "Janet"}
        assert_error(api.post("/leads", other, headers=headers), 422, "Idempotency-Key")
        assert lead_count(app) == 1

    def test_without_a_key_each_post_is_a_new_lead(self, app, api):
        api.post("/leads", self.BODY)
        second = api.post("/leads", self.BODY).get_json()
        assert second["existing_contact"]["count"] == 1
        assert lead_count(app) == 2

    def test_a_failed_request_does_not_use_up_the_key(self, app, api):
        headers = {"Idempotency-Key": "k-3"}
        assert_error(api.post("/leads", {"name": "Jane"}, headers=headers), 422, "phones")
        assert api.post("/leads", self.BODY, headers=headers).status_code == 201

    def test_keys_are_per_organization(self, app, tenant, other_tenant, api):
        headers = {"Idempotency-Key": "shared"}
        assert api.post("/leads", self.BODY, headers=headers).status_code == 201
        other = api_for(app, other_tenant).post("/leads", self.BODY, headers=headers)
        assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
        assert lead_count(app, other_tenant.org.id) == 1

    def test_an_overlong_key_is_422(self, app, api):
        response = api.post("/leads", self.BODY, headers={"Idempotency-Key": "k" * 201})
        assert_error(response, 422, "Idempotency-Key")
        assert lead_count(app) == 0


# -- authentication, scopes, tenant isolation ------------------------------------------------


def _any_lead_requests(lead_id: int):
    return [
        ("get", "/leads", None),
        ("post", "/leads", {"name": "A", "phones": ["030 1234567"]}),
        ("get", f"/leads/{lead_id}", None),
        ("patch", f"/leads/{lead_id}", {"company": "X"}),
        ("post", f"/leads/{lead_id}/activities", {"kind": "call"}),
        ("get", f"/leads/{lead_id}/history", None),
    ]


def _send(client, method: str, path: str, body, headers: dict):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


SCOPE_NEEDED = {
    ("get", "/leads"): "leads:read",
    ("post", "/leads"): "leads:create",
    ("get", "/leads/{id}"): "leads:read",
    ("patch", "/leads/{id}"): "leads:write",
    ("post", "/leads/{id}/activities"): "leads:write",
    ("get", "/leads/{id}/history"): "leads:read",
}


@pytest.mark.parametrize("scope", ["leads:create", "leads:read", "leads:write"])
def test_each_route_needs_its_scope(app, tenant, scope):
    lead_id = seed(app, tenant, name="A", phones=["030 1234567"])
    api = api_for(app, tenant, scope)
    for method, path, body in _any_lead_requests(lead_id):
        needed = SCOPE_NEEDED[(method, path.replace(str(lead_id), "{id}"))]
        response = _send(api.client, method, path, body, api._headers(None))
        if needed == scope:
            assert response.status_code in (200, 201), (method, path, response.get_json())
        else:
            error = assert_error(response, 403)
            assert needed in error["message"]
    assert lead_count(app) == 1 + (scope == "leads:create")


def test_intake_only_key_cannot_read_and_reader_cannot_write(app, tenant):
    lead_id = seed(app, tenant, name="A", phones=["030 1234567"])
    intake_only = api_for(app, tenant, "leads:create")
    assert_error(intake_only.get("/leads"), 403)
    assert_error(intake_only.get(f"/leads/{lead_id}"), 403)
    reader = api_for(app, tenant, "leads:read")
    assert_error(reader.post("/leads", {"name": "A", "phones": ["030 1234567"]}), 403)
    assert_error(reader.patch(f"/leads/{lead_id}", {"name": "B"}), 403)
    admin = api_for(app, tenant, "admin")
    assert admin.get(f"/leads/{lead_id}").status_code == 200
    assert admin.patch(f"/leads/{lead_id}", {"name": "B"}).status_code == 200


def test_no_key_or_revoked_key_is_401_everywhere(app, tenant):
    lead_id = seed(app, tenant, name="A", phones=["030 1234567"])
    api = api_for(app, tenant)
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        key = db.session.scalars(select(ApiKey)).one()
        api_keys.revoke(db.session, org, key.id, utcnow())
        db.session.commit()
    for method, path, body in _any_lead_requests(lead_id):
        for headers in ({}, {"Authorization": f"Bearer {api.key}"}, {"Authorization": "Bearer x"}):
            response = _send(api.client, method, path, body, headers)
            assert_error(response, 401)
    assert lead_count(app) == 1


class TestTenantIsolation:
    def test_another_organizations_lead_is_404_on_every_route(self, app, tenant, other_tenant):
        theirs = seed(app, other_tenant, name="Their lead", phones=["030 1234567"])
        api = api_for(app, tenant)
        assert_error(api.get(f"/leads/{theirs}"), 404)
        assert_error(api.patch(f"/leads/{theirs}", {"name": "Hijacked"}), 404)
        assert_error(api.patch(f"/leads/{theirs}", data="not json"), 404)
        assert_error(api.post(f"/leads/{theirs}/activities", {"kind": "call"}), 404)
        assert_error(api.get(f"/leads/{theirs}/history"), 404)
        with app.app_context():
            lead = db.session.get(Lead, theirs)
            assert lead.name == "Their lead"
            assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
            events = db.session.scalars(select(LeadEvent.kind)).all()
            assert events == ["created"]

    def test_the_list_never_shows_another_organizations_leads(self, app, tenant, other_tenant):
        seed(app, other_tenant, name="Their lead", phones=["030 1234567"], tags=["x"])
        ours = seed(app, tenant, name="Our lead", phones=["030 1234567"], tags=["x"])
        api = api_for(app, tenant)
        for query in (
            {},
            {"q": "their"},
            {"phone": "030 1234567"},
            {"tag": "x"},
            {"unit": str(other_tenant.store.id)},
            {"assignee": "none"},
        ):
            ids = [lead["id"] for lead in api.get("/leads", query).get_json()["data"]]
            assert ids in ([ours], []), query
        theirs = api_for(app, other_tenant).get("/leads").get_json()["data"]
        assert [lead["name"] for lead in theirs] == ["Their lead"]

    def test_ids_that_cannot_exist_are_404(self, api):
        assert_error(api.get("/leads/99999999999999999999999"), 404)
        assert_error(api.get("/leads/0"), 404)
        assert_error(api.get("/leads/abc"), 404)


# -- the list: every filter, pagination -------------------------------------------------------


@dataclass
class World:
    ids: dict[str, int]
    now: datetime
    refs: dict[str, str]

    def names(self, leads_json: list[dict]) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[lead["id"]] for lead in leads_json}


@pytest.fixture
def world(app, tenant, other_tenant) -> World:
    """Four leads of `tenant` that differ in every filtered field, one of `other_tenant`."""
    now = utcnow()
    today = now.astimezone(BERLIN).date()
    start_of_today = datetime.combine(today, time(), BERLIN)
    noon = datetime.combine(today, time(12), BERLIN)
    # Still ahead, still today in Berlin, whatever the time of the run: not yet overdue.
    later_today = now + (start_of_today + timedelta(days=1) - now) / 2
    ids = {
        "anna": seed(
            app,
            tenant,
            now=now,
            name="Anna Schmidt",
            emails=["anna@example.com"],
            phones=["030 12345678"],
            company="Acme Bakery",
            profession="Baker",
            address="Hauptstrasse 1",
            district="Mitte",
            division="Retail",
            source="web",
            tags=["VIP"],
            assignee_id=tenant.agent.id,
            follow_up_at=later_today.isoformat(),
        ),
        "bruno": seed(
            app,
            tenant,
            now=start_of_today - timedelta(hours=12),
            name="Bruno Braun",
            emails=["bruno@bikes.example.org"],
            phones=["0151 23456789"],
            company="Bruno Bikes",
            profession="Mechanic",
            address="Hafenweg 2",
            district="Altona",
            division="Wholesale",
            source="phone",
            tags=["cold-call"],
            unit_id=tenant.other_store.id,
            follow_up_at=(now - timedelta(days=2)).isoformat(),
        ),
        "clara": seed(
            app,
            tenant,
            now=now - timedelta(days=10),
            name="Clara Weiss",
            emails=["clara@example.net"],
            phones=["+1 415 555 0123"],
            company="Clara Consulting",
            source="referral",
            status="Won",
            follow_up_at=(now - timedelta(days=1)).isoformat(),
        ),
        "dirk": seed(
            app,
            tenant,
            now=now - timedelta(days=40),
            name="Dirk Berg",
            emails=["dirk@example.com"],
            source="web",
            status="Contacted",
            assignee_id=tenant.other_agent.id,
            follow_up_at=(noon + timedelta(days=1)).isoformat(),
        ),
    }
    seed(
        app,
        other_tenant,
        now=now,
        name="Anna Schmidt",
        emails=["anna@example.com"],
        phones=["030 12345678"],
        company="Acme Bakery",
        tags=["vip"],
        source="web",
        follow_up_at=later_today.isoformat(),
    )
    refs = {
        "agent": str(tenant.agent.id),
        "other_agent": str(tenant.other_agent.id),
        "area": str(tenant.area.id),
        "store": str(tenant.store.id),
        "other_store": str(tenant.other_store.id),
        "contacted": str(status_id(app, tenant, "Contacted")),
        "today-5": (today - timedelta(days=5)).isoformat(),
        "today-15": (today - timedelta(days=15)).isoformat(),
        "tomorrow": (today + timedelta(days=1)).isoformat(),
    }
    return World(ids, now, refs)


EVERYONE = {"anna", "bruno", "clara", "dirk"}
FILTER_CASES = [
    ({}, EVERYONE),
    ({"q": "anna"}, {"anna"}),
    ({"q": "BRUNO B"}, {"bruno"}),
    ({"q": "acme"}, {"anna"}),
    ({"q": "clara@example.net"}, {"clara"}),
    ({"q": "030 12345678"}, {"anna"}),
    ({"q": "+1 415 555 0123"}, {"clara"}),
    ({"q": "0123"}, {"clara"}),  # not a number: the end of one
    ({"time_frame": "today"}, {"anna"}),
    ({"time_frame": "yesterday"}, {"bruno"}),
    ({"time_frame": "7d"}, {"anna", "bruno"}),
    ({"time_frame": "30d"}, {"anna", "bruno", "clara"}),
    ({"time_frame": "90d"}, EVERYONE),
    ({"created_from": "{today-5}"}, {"anna", "bruno"}),
    ({"created_to": "{today-5}"}, {"clara", "dirk"}),
    ({"created_from": "{today-15}", "created_to": "{today-5}"}, {"clara"}),
    ({"name": "ann"}, {"anna"}),
    ({"name": "ANNA S"}, {"anna"}),
    ({"name": "schmidt"}, set()),  # a prefix, not a substring
    ({"phone": "030 12345678"}, {"anna"}),
    ({"phone": "+49 151"}, {"bruno"}),
    ({"email": "BRUNO@"}, {"bruno"}),
    ({"email": "dirk"}, {"dirk"}),
    ({"tag": "VIP"}, {"anna"}),
    ({"tag": "cold-call"}, {"bruno"}),
    ({"assignee": "{agent}"}, {"anna"}),
    ({"assignee": "{other_agent}"}, {"dirk"}),
    ({"assignee": "none"}, {"bruno", "clara"}),
    ({"source": "web"}, {"anna", "dirk"}),
    ({"source": "REFERRAL"}, {"clara"}),
    ({"status": "new"}, {"anna", "bruno"}),
    ({"status": "open"}, {"dirk"}),
    ({"status": "won"}, {"clara"}),
    ({"status": "lost"}, set()),
    ({"status": "closed"}, {"clara"}),
    ({"status": "active"}, {"anna", "bruno", "dirk"}),
    ({"status": "{contacted}"}, {"dirk"}),
    ({"profession": "bak"}, {"anna"}),
    ({"address": "HAFEN"}, {"bruno"}),
    ({"company": "bikes"}, {"bruno"}),
    ({"district": "mitte"}, {"anna"}),
    ({"division": "whole"}, {"bruno"}),
    ({"unit": "{area}"}, {"anna", "bruno", "dirk"}),
    ({"unit": "{store}"}, {"anna"}),
    ({"unit": "{other_store}"}, {"bruno", "dirk"}),
    ({"overdue": "1"}, {"bruno"}),
    ({"overdue": "0"}, EVERYONE),
    ({"follow_up": "today"}, {"anna"}),
    ({"follow_up": "overdue"}, {"bruno"}),
    ({"follow_up": "{tomorrow}"}, {"dirk"}),
    ({"source": "web", "assignee": "{agent}"}, {"anna"}),
    ({"q": "", "name": "  "}, EVERYONE),  # empty filters are no filters
]


@pytest.mark.parametrize(
    ("query", "expected"), FILTER_CASES, ids=[json.dumps(q) for q, _ in FILTER_CASES]
)
def test_every_filter(app, tenant, world, query, expected):
    api = api_for(app, tenant, "leads:read")
    query = {k: v.format(**world.refs) for k, v in query.items()}
    response = api.get("/leads", query)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert world.names(body["data"]) == expected
    assert body["next_cursor"] is None


def test_follow_up_upcoming(app, tenant, world):
    api = api_for(app, tenant, "leads:read")
    found = world.names(api.get("/leads", {"follow_up": "upcoming"}).get_json()["data"])
    assert found == {"anna", "dirk"}


def test_the_list_is_newest_first_with_the_lead_json(app, tenant, world):
    api = api_for(app, tenant, "leads:read")
    data = api.get("/leads").get_json()["data"]
    assert [lead["id"] for lead in data] == [
        world.ids[n] for n in ("anna", "bruno", "clara", "dirk")
    ]
    anna = data[0]
    assert anna["assignee"] == {"id": tenant.agent.id, "name": tenant.agent.name}
    assert anna["unit"] == {"id": tenant.store.id, "name": tenant.store.name}
    assert anna["tags"] == ["vip"]
    assert data[2]["state"] == "closed" and data[3]["status"]["category"] == "open"
    assert anna == api.get(f"/leads/{anna['id']}").get_json()


BAD_FILTERS = [
    ("time_frame", "week"),
    ("created_from", "yesterday"),
    ("created_to", "2026-13-01"),
    ("created_from", "0001-01-01"),
    ("created_to", "9999-12-31"),
    ("assignee", "me"),  # an API key is nobody
    ("assignee", "bob"),
    ("assignee", "99999999999999999999999"),
    ("status", "sold"),
    ("status", "99999999999999999999999"),
    ("unit", "north"),
    ("unit", "99999999999999999999999"),
    ("follow_up", "someday"),
    ("follow_up", "9999-12-31"),
    ("overdue", "yes"),
    ("limit", "0"),
    ("limit", "201"),
    ("limit", "ten"),
    ("cursor", "garbage"),
    ("cursor", "WzEsMl0"),  # base64 of [1,2]
    ("cursor", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgOTk5OTk5OTk5OTk5OTk5OTk5OTk5OV0"),
    ("sort", "name"),
    ("colour", "red"),
    ("name", "a\x00b"),
]


@pytest.mark.parametrize(("name", "value"), BAD_FILTERS)
def test_a_bad_filter_is_422_naming_it(app, tenant, name, value):
    seed(app, tenant, name="A", phones=["030 1234567"])
    api = api_for(app, tenant, "leads:read")
    assert_error(api.get("/leads", {name: value}), 422, name)


def test_cursor_pagination_walks_every_lead_once(app, tenant):
    moment = utcnow() - timedelta(hours=1)
    ids = set()
    for n in range(5):  # three share one created_at: the id breaks the tie
        at = moment if n < 3 else moment + timedelta(minutes=n)
        ids.add(seed(app, tenant, now=at, name=f"Lead {n}", phones=[f"030 123456{n}"]))
    api = api_for(app, tenant, "leads:read")
    seen: list[int] = []
    pages = 0
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = api.get("/leads", query).get_json()
        pages += 1
        assert len(body["data"]) <= 2
        seen += [lead["id"] for lead in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == 5 and set(seen) == ids
    assert api.get("/leads", {"limit": "5"}).get_json()["next_cursor"] is None
    # a cursor keeps its filters' meaning: page 2 of a filtered list
    first = api.get("/leads", {"limit": "1", "name": "lead 1"}).get_json()
    assert [lead["name"] for lead in first["data"]] == ["Lead 1"]
    assert first["next_cursor"] is None


def test_the_default_page_is_50(app, tenant):
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        for n in range(51):
            intake.create_lead(
                db.session,
                org,
                {"name": f"L{n}", "emails": [f"l{n}@example.com"], "source": "web"},
                Actor(org.id, via="import"),
                utcnow(),
            )
        db.session.commit()
    body = api_for(app, tenant, "leads:read").get("/leads").get_json()
    assert len(body["data"]) == 50 and body["next_cursor"]


# -- one lead: read, merged, update --------------------------------------------------------


def test_a_merged_lead_is_answered_as_it_is_and_not_listed(app, tenant):
    survivor = seed(app, tenant, name="Keep", phones=["030 1234567"])
    merged = seed(app, tenant, name="Gone", phones=["030 7654321"])
    with app.app_context():
        org_admin = db.session.get(User, tenant.admin.id)
        leads.merge(
            db.session,
            db.session.get(Lead, survivor),
            db.session.get(Lead, merged),
            Actor(tenant.org.id, user=org_admin),
            utcnow(),
        )
        db.session.commit()
    api = api_for(app, tenant)
    body = api.get(f"/leads/{merged}").get_json()
    assert body["id"] == merged and body["merged_into_id"] == survivor
    assert body["state"] == "closed"
    assert [lead["id"] for lead in api.get("/leads").get_json()["data"]] == [survivor]


class TestPatch:
    def test_changes_fields_and_records_old_and_new(self, app, tenant, api):
        lead_id = api.post(
            "/leads", {"name": "Jane", "phones": ["030 1234567"], "company": "Old GmbH"}
        ).get_json()["id"]
        response = api.patch(
            f"/leads/{lead_id}",
            {
                "company": "New GmbH",
                "status": "Contacted",
                "tags": ["Hot-Lead"],
                "emails": ["JANE@example.com"],
                "value": 99,
                "assignee_id": tenant.agent.id,
            },
        )
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["company"] == "New GmbH"
        assert body["status"]["name"] == "Contacted"
        assert body["tags"] == ["hot-lead"]
        assert body["emails"] == ["jane@example.com"] and body["phones"] == ["+49301234567"]
        assert body["value"] == "99.00"
        assert body["assignee"]["id"] == tenant.agent.id and body["first_assigned_at"]
        assert body["state"] == "new"  # an API key's change is nobody's response
        assert "existing_contact" not in body
        assert api.get(f"/leads/{lead_id}").get_json() == body

        events = api.get(f"/leads/{lead_id}/history").get_json()["data"]
        company = next(e for e in events if e["data"].get("field") == "company")
        assert company["kind"] == "field_changed"
        assert company["data"] == {"field": "company", "old": "Old GmbH", "new": "New GmbH"}
        assert company["text"] == "company: Old GmbH → New GmbH"
        assert company["via"] == "api" and company["actor"] is None
        assert company["api_key"]["name"] == "Integration"
        kinds = [e["kind"] for e in events]
        assert kinds.count("field_changed") == 4  # company, value, emails, tags
        assert "status_changed" in kinds and "assigned" in kinds

    def test_an_empty_patch_changes_nothing(self, app, api):
        created = api.post("/leads", {"name": "Jane", "phones": ["030 1234567"]}).get_json()
        response = api.patch(f"/leads/{created['id']}", {})
        assert response.status_code == 200
        assert response.get_json()["updated_at"] == created["updated_at"]
        events = api.get(f"/leads/{created['id']}/history").get_json()["data"]
        assert [e["kind"] for e in events] == ["created"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"emails": ["bad"]}, "emails"),
            ({"name": ""}, "name"),
            ({"name": "n" * 201}, "name"),
            ({"phones": [], "emails": []}, "phones"),
            ({"status": "Sold"}, "status"),
            ({"value": "abc"}, "value"),
            ({"custom": {"budget": "lots"}}, "custom.budget"),
            ({"assignee_id": 10**30}, "assignee_id"),
            ({"id": 5}, "id"),
            ({"company": "Fine", "temperature": "boiling"}, "temperature"),
        ],
    )
    def test_bad_fields_are_422_and_nothing_changes(self, app, tenant, api, body, field):
        add_custom_field(app, tenant, key="budget", label="Budget", type="number")
        created = api.post("/leads", {"name": "Jane", "phones": ["030 1234567"]}).get_json()
        assert_error(api.patch(f"/leads/{created['id']}", body), 422, field)
        after = api.get(f"/leads/{created['id']}").get_json()
        assert after == {k: v for k, v in created.items() if k != "existing_contact"}
        events = api.get(f"/leads/{created['id']}/history").get_json()["data"]
        assert [e["kind"] for e in events] == ["created"]

    @pytest.mark.parametrize("data", ["[1]", "null", "{", ""])
    def test_a_body_that_is_not_an_object_is_422(self, api, data):
        created = api.post("/leads", {"name": "Jane", "phones": ["030 1234567"]}).get_json()
        response = api.patch(f"/leads/{created['id']}", data=data, content_type="application/json")
        assert_error(response, 422, "body")


# -- activities and history ----------------------------------------------------------------


class TestActivities:
    def test_log_a_call_and_see_it_in_the_history(self, app, tenant, api):
        lead_id = api.post(
            "/leads", {"name": "Jane", "phones": ["030 1234567"], "assignee_id": tenant.agent.id}
        ).get_json()["id"]
        response = api.post(
            f"/leads/{lead_id}/activities",
            {"kind": "call", "outcome": "reached", "body": "Wants a test drive"},
        )
        assert response.status_code == 201, response.get_json()
        activity = response.get_json()
        assert activity["kind"] == "call" and activity["lead_id"] == lead_id
        assert activity["outcome"] == "reached" and activity["body"] == "Wants a test drive"
        assert activity["actor"] is None
        assert activity["occurred_at"] == activity["created_at"]

        events = api.get(f"/leads/{lead_id}/history").get_json()["data"]
        assert [e["kind"] for e in events] == ["created", "assigned", "activity"]
        logged = events[-1]
        assert logged["text"] == "Call logged — reached"
        assert logged["data"]["body"] == "Wants a test drive"
        assert logged["via"] == "api" and logged["api_key"]["name"] == "Integration"
        # an API key is not the assignee: no first response
        lead = api.get(f"/leads/{lead_id}").get_json()
        assert lead["first_response_at"] is None and lead["state"] == "new"

    def test_a_note_and_a_past_meeting(self, app, api):
        lead_id = api.post("/leads", {"name": "J", "phones": ["030 1234567"]}).get_json()["id"]
        note = api.post(f"/leads/{lead_id}/activities", {"kind": "NOTE", "body": "Call back"})
        assert note.status_code == 201 and note.get_json()["kind"] == "note"
        meeting = api.post(
            f"/leads/{lead_id}/activities",
            {"kind": "meeting", "occurred_at": "2026-01-05T10:00:00"},  # Berlin: +01:00
        )
        assert meeting.get_json()["occurred_at"] == "2026-01-05T09:00:00+00:00"
        events = api.get(f"/leads/{lead_id}/history").get_json()["data"]
        assert [e["text"] for e in events][1:] == ["Note added", "Meeting logged"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "kind"),
            ({"kind": "fax"}, "kind"),
            ({"kind": 3}, "kind"),
            ({"kind": "note"}, "body"),
            ({"kind": "note", "body": "   "}, "body"),
            ({"kind": "call", "outcome": "o" * 61}, "outcome"),
            ({"kind": "call", "outcome": ["reached"]}, "outcome"),
            ({"kind": "call", "body": "b" * 5001}, "body"),
            ({"kind": "call", "occurred_at": "last week"}, "occurred_at"),
            ({"kind": "call", "occurred_at": "2999-01-01T10:00:00+00:00"}, "occurred_at"),
            ({"kind": "call", "occurred_at": "0001-01-01T00:30:00"}, "occurred_at"),
            ({"kind": "call", "by": "me"}, "by"),
        ],
    )
    def test_bad_activity_is_422_and_nothing_is_stored(self, app, api, body, field):
        lead_id = api.post("/leads", {"name": "J", "phones": ["030 1234567"]}).get_json()["id"]
        assert_error(api.post(f"/leads/{lead_id}/activities", body), 422, field)
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
        assert len(api.get(f"/leads/{lead_id}/history").get_json()["data"]) == 1

    def test_a_body_that_is_not_json_is_422(self, api):
        lead_id = api.post("/leads", {"name": "J", "phones": ["030 1234567"]}).get_json()["id"]
        response = api.post(
            f"/leads/{lead_id}/activities",
            data="kind=call",
            content_type="application/x-www-form-urlencoded",
        )
        assert_error(response, 422, "body")


def test_history_names_the_user_for_changes_made_in_the_app(app, tenant, api):
    lead_id = api.post("/leads", {"name": "J", "phones": ["030 1234567"]}).get_json()["id"]
    with app.app_context():
        agent = db.session.get(User, tenant.agent.id)
        org = db.session.get(Organization, tenant.org.id)
        lead = db.session.get(Lead, lead_id)
        leads.update_fields(
            db.session, org, lead, {"district": "Mitte"}, Actor(org.id, user=agent), utcnow()
        )
        db.session.commit()
    events = api.get(f"/leads/{lead_id}/history").get_json()["data"]
    created, changed = events
    assert created["actor"] is None and created["api_key"]["name"] == "Integration"
    assert created["text"] == "Created through api (source api)"
    assert changed["actor"] == {"id": tenant.agent.id, "name": tenant.agent.name}
    assert changed["via"] == "web" and changed["api_key"] is None
    assert changed["at"] >= created["at"]
