"""Who may open which page, and the proof that another organization is invisible."""

import pytest

from leadtrack.extensions import db
from leadtrack.models import Holiday, Privilege, User
from leadtrack.services import users
from tests.support.factories import PASSWORD

ORG_ADMIN_PAGES = ["/admin/organization", "/admin/units", "/admin/api-keys", "/status"]
USER_ADMIN_PAGES = ["/admin/users", "/admin/users/new"]
SUPER_PAGES = ["/platform/organizations"]


def _roles(tenant):
    return {
        "org_admin": tenant.admin,
        "area_manager": tenant.area_manager,
        "store_manager": tenant.store_manager,
        "agent": tenant.agent,
        "receptionist": tenant.receptionist,
    }


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("org_admin", ORG_ADMIN_PAGES + USER_ADMIN_PAGES),
        ("area_manager", []),
        ("store_manager", []),
        ("agent", []),
        ("receptionist", []),
    ],
)
def test_admin_pages_by_role(web, tenant, role, allowed):
    web.login(_roles(tenant)[role].email, PASSWORD)
    for url in ORG_ADMIN_PAGES + USER_ADMIN_PAGES + SUPER_PAGES:
        status = web.get(url).status_code
        assert status == (200 if url in allowed else 403), (role, url, status)


def test_super_admin_pages(web, tenant, super_admin):
    web.login(super_admin.email, PASSWORD)
    assert web.get("/platform/organizations").status_code == 200
    assert web.get("/status").status_code == 200
    for url in ["/admin/organization", "/admin/units", "/admin/api-keys", "/admin/users"]:
        assert web.get(url).status_code in (403, 404), url


def test_anonymous_is_sent_to_sign_in(web, tenant):
    for url in ORG_ADMIN_PAGES + USER_ADMIN_PAGES + SUPER_PAGES + ["/", "/account/password"]:
        response = web.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


def test_admin_actions_are_refused_to_agents(web, tenant):
    web.login(tenant.agent.email, PASSWORD)
    posts = [
        ("/admin/organization/holidays", {"day": "2026-12-24", "name": "Eve"}),
        (f"/admin/units/{tenant.store.id}/delete", {}),
        (f"/admin/users/{tenant.other_agent.id}/deactivate", {}),
        ("/admin/api-keys", {"name": "x", "scopes": "admin"}),
        ("/platform/organizations", {"name": "X", "slug": "xx-x"}),
    ]
    for url, data in posts:
        assert web.post(url, data).status_code == 403, url


def test_privilege_granted_per_user_opens_user_management(web, app, tenant):
    web.login(tenant.store_manager.email, PASSWORD)
    assert web.get("/admin/users").status_code == 403
    with app.app_context():
        manager = db.session.get(User, tenant.store_manager.id)
        users.set_privilege_overrides(manager, {Privilege.MANAGE_USERS: True})
        db.session.commit()
    page = web.get("/admin/users").get_data(as_text=True)
    # A delegated manager sees their own store only.
    assert tenant.agent.name in page
    assert tenant.other_agent.name not in page
    assert web.get(f"/admin/users/{tenant.other_agent.id}").status_code == 404


def test_privilege_taken_away_per_user(web, app, tenant):
    with app.app_context():
        admin = db.session.get(User, tenant.admin.id)
        users.set_privilege_overrides(admin, {Privilege.MANAGE_USERS: False})
        db.session.commit()
    web.login(tenant.admin.email, PASSWORD)
    assert web.get("/admin/users").status_code == 403


class TestTenantIsolation:
    """An admin of organization A gets 404 for everything of organization B."""

    def test_pages_of_another_org_are_404(self, web, tenant, other_tenant):
        web.login(tenant.admin.email, PASSWORD)
        for url in [
            f"/admin/users/{other_tenant.agent.id}",
            f"/admin/users/{other_tenant.admin.id}",
            f"/admin/units/{other_tenant.store.id}",
        ]:
            assert web.get(url).status_code == 404, url

    def test_actions_on_another_org_are_404_and_change_nothing(
        self, web, app, tenant, other_tenant
    ):
        web.login(tenant.admin.email, PASSWORD)
        other = other_tenant
        attempts = [
            (f"/admin/users/{other.agent.id}", {"name": "Hacked", "email": "h@x.example.com"}),
            (f"/admin/users/{other.agent.id}/deactivate", {}),
            (f"/admin/users/{other.agent.id}/privileges", {"export_leads": "y"}),
            (f"/admin/users/{other.agent.id}/absences", {}),
            (f"/admin/units/{other.store.id}", {"name": "Hacked", "kind": "store"}),
            (f"/admin/units/{other.other_store.id}/delete", {}),
            ("/admin/api-keys/999999/revoke", {}),
        ]
        for url, data in attempts:
            assert web.post(url, data, htmx=True).status_code == 404, url
        with app.app_context():
            agent = db.session.get(User, other.agent.id)
            assert agent.name == other.agent.name
            assert agent.is_active_user

    def test_lists_never_show_another_org(self, web, tenant, other_tenant):
        web.login(tenant.admin.email, PASSWORD)
        for url in ["/admin/users", "/admin/units", "/", "/admin/users/new"]:
            page = web.get(url).get_data(as_text=True)
            assert "Globex" not in page, url
            assert other_tenant.agent.email not in page, url

    def test_cannot_pick_another_orgs_unit_or_colleague(self, web, app, tenant, other_tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get(f"/admin/users/{tenant.agent.id}")
        response = web.post(
            f"/admin/users/{tenant.agent.id}",
            {
                "name": "Agent Acme",
                "email": tenant.agent.email,
                "role": "agent",
                "unit_id": other_tenant.store.id,
                "backup_id": other_tenant.agent.id,
            },
        )
        page = response.get_data(as_text=True)
        assert "Pick a unit from the list." in page
        assert "Pick an active colleague from the list." in page
        with app.app_context():
            assert db.session.get(User, tenant.agent.id).unit_id == tenant.store.id

    def test_holiday_of_another_org_cannot_be_removed(self, web, app, tenant, other_tenant):
        from datetime import date

        with app.app_context():
            holiday = Holiday(org_id=other_tenant.org.id, day=date(2026, 12, 25), name="Xmas")
            db.session.add(holiday)
            db.session.commit()
            holiday_id = holiday.id
        web.login(tenant.admin.email, PASSWORD)
        response = web.post(f"/admin/organization/holidays/{holiday_id}/delete", htmx=True)
        assert response.status_code == 404
        with app.app_context():
            assert db.session.get(Holiday, holiday_id) is not None
