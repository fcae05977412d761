"""API keys: created in the UI or CLI, shown once, hashed at rest, scoped, revocable."""

import re

from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import ApiKey, Organization
from leadtrack.services import api_keys
from tests.support.factories import PASSWORD


def _key(app, tenant, scopes="leads:create") -> str:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        _, plaintext = api_keys.create_api_key(
            db.session, org, name="Website", scopes=scopes, created_by=None
        )
        db.session.commit()
    return plaintext


def _bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_me_answers_the_keys_organization_and_scopes(app, tenant):
    key = _key(app, tenant, "leads:create,leads:read")
    response = app.test_client().get("/api/v1/me", headers=_bearer(key))
    assert response.status_code == 200
    body = response.get_json()
    assert body["organization"]["slug"] == "acme"
    assert body["scopes"] == ["leads:create", "leads:read"]


def test_missing_or_wrong_key_is_401_json(app, tenant):
    client = app.test_client()
    for headers in ({}, {"Authorization": "Basic abc"}, _bearer("lt_nope_nope"), _bearer("junk")):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.is_json
        assert response.get_json()["error"]["status"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_key_is_hashed_at_rest(app, tenant):
    key = _key(app, tenant)
    with app.app_context():
        stored = db.session.scalars(select(ApiKey)).one()
        assert key not in (stored.key_hash, stored.prefix)
        assert len(stored.key_hash) == 64


def test_revoked_key_stops_working(app, tenant):
    key = _key(app, tenant)
    client = app.test_client()
    assert client.get("/api/v1/me", headers=_bearer(key)).status_code == 200
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        stored = db.session.scalars(select(ApiKey)).one()
        api_keys.revoke(db.session, org, stored.id, stored.created_at)
        db.session.commit()
    assert client.get("/api/v1/me", headers=_bearer(key)).status_code == 401


def test_last_used_is_recorded(app, tenant):
    key = _key(app, tenant)
    app.test_client().get("/api/v1/me", headers=_bearer(key))
    with app.app_context():
        assert db.session.scalars(select(ApiKey)).one().last_used_at is not None


def test_scope_check(app, tenant):
    from flask import g

    key = _key(app, tenant, "leads:create")
    with app.test_request_context("/api/v1/me", headers=_bearer(key)):
        from leadtrack.blueprints.api import authenticate_key, require_scope

        assert authenticate_key() is None
        guarded = require_scope("leads:read")(lambda: "ran")
        response = guarded()
        assert response.status_code == 403
        assert "leads:read" in response.get_json()["error"]["message"]
        assert require_scope("leads:create")(lambda: "ran")() == "ran"
        g.api_key.scopes = ["admin"]
        assert guarded() == "ran"  # admin implies every scope


def test_api_is_rate_limited_per_key(app, tenant):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        first, second = _key(app, tenant), _key(app, tenant)
        client = app.test_client()
        statuses = [client.get("/api/v1/me", headers=_bearer(first)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/api/v1/me", headers=_bearer(first))
        assert limited.get_json()["error"]["status"] == 429
        assert client.get("/api/v1/me", headers=_bearer(second)).status_code == 200
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"


def test_openapi_document_is_public_and_describes_me(app):
    body = app.test_client().get("/api/v1/openapi.json").get_json()
    assert body["openapi"].startswith("3.")
    assert "/me" in body["paths"]


def test_unknown_api_path_is_json(app, tenant):
    key = _key(app, tenant)
    response = app.test_client().get("/api/v1/nothing-here", headers=_bearer(key))
    assert response.status_code == 404
    assert response.is_json


class TestAdminPage:
    def test_admin_creates_a_key_sees_it_once_and_revokes_it(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/api-keys")
        page = web.post(
            "/admin/api-keys", {"name": "Website form", "scopes": ["leads:create"]}
        ).get_data(as_text=True)
        key = re.search(r'<code id="new-key">(lt_[^<]+)</code>', page).group(1)
        assert "shown only once" in page

        listing = web.get("/admin/api-keys").get_data(as_text=True)
        assert key not in listing
        assert "Website form" in listing
        assert app.test_client().get("/api/v1/me", headers=_bearer(key)).status_code == 200
        assert (
            "never"
            not in web.get("/admin/api-keys").get_data(as_text=True).split("Website")[1][:400]
        )

        with app.app_context():
            key_id = db.session.scalars(select(ApiKey)).one().id
        revoked = web.post(f"/admin/api-keys/{key_id}/revoke", htmx=True)
        assert "Revoked" in revoked.get_data(as_text=True)
        assert app.test_client().get("/api/v1/me", headers=_bearer(key)).status_code == 401

    def test_bad_key_form_input(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/api-keys")
        page = web.post("/admin/api-keys", {"name": "", "scopes": []}).get_data(as_text=True)
        assert "Name the key after where it is used." in page
        assert "Choose at least one scope." in page
        page = web.post("/admin/api-keys", {"name": "X", "scopes": ["root"]}).get_data(as_text=True)
        assert "is not a valid choice" in page
        with app.app_context():
            assert db.session.scalars(select(ApiKey)).all() == []

    def test_keys_of_another_org_are_invisible(self, web, app, tenant, other_tenant):
        _key(app, other_tenant)
        with app.app_context():
            other_key_id = db.session.scalars(select(ApiKey)).one().id
        web.login(tenant.admin.email, PASSWORD)
        assert "Website" not in web.get("/admin/api-keys").get_data(as_text=True)
        assert web.post(f"/admin/api-keys/{other_key_id}/revoke", htmx=True).status_code == 404
        with app.app_context():
            assert db.session.get(ApiKey, other_key_id).revoked_at is None


def test_oversized_request_is_413_json(app, tenant):
    key = _key(app, tenant)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = app.test_client().post(
            "/api/v1/leads",
            data="x" * 5000,
            headers=_bearer(key),
            content_type="application/json",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024
    assert response.status_code == 413
    assert response.get_json()["error"]["status"] == 413
