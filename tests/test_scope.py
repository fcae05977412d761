"""The one scoping helper: what each role sees."""

from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import Privilege, User
from leadtrack.services import access, units, users
from leadtrack.services.errors import NotFound
from tests.support.factories import PASSWORD


def _visible_names(actor_id: int) -> set[str]:
    actor = db.session.get(User, actor_id)
    return {u.name for u in db.session.scalars(access.visible(db.session, actor, User))}


def test_each_role_sees_its_part_of_the_organization(ctx, tenant, other_tenant):
    everyone = {
        u.name for u in db.session.scalars(select(User).where(User.org_id == tenant.org.id))
    }
    assert _visible_names(tenant.admin.id) == everyone
    assert _visible_names(tenant.receptionist.id) == everyone
    # The area manager sees the area and both stores below it.
    assert _visible_names(tenant.area_manager.id) == {
        tenant.area_manager.name,
        tenant.store_manager.name,
        tenant.agent.name,
        tenant.other_agent.name,
    }
    assert _visible_names(tenant.store_manager.id) == {tenant.store_manager.name, tenant.agent.name}
    assert _visible_names(tenant.agent.id) == {tenant.agent.name}


def test_nobody_sees_another_organization(ctx, tenant, other_tenant):
    for ref in (tenant.admin, tenant.area_manager, tenant.agent, tenant.receptionist):
        actor = db.session.get(User, ref.id)
        try:
            access.get_visible(db.session, actor, User, other_tenant.agent.id)
        except NotFound:
            continue
        raise AssertionError(f"{ref.name} can see another organization's user")


def test_subtree_follows_a_moved_unit(ctx, tenant):
    store = units.tree(db.session, tenant.org.id)
    assert len(store) == 3
    # Move Harbour out of the North area: the area manager stops seeing its agent.
    from leadtrack.models import Unit

    harbour = db.session.get(Unit, tenant.other_store.id)
    units.update_unit(
        db.session, harbour, name="Harbour", kind="store", parent_id=None, manager_id=None
    )
    db.session.commit()
    assert tenant.other_agent.name not in _visible_names(tenant.area_manager.id)


def test_supervisor_defaults_to_the_units_manager(ctx, tenant):
    agent = db.session.get(User, tenant.agent.id)
    assert agent.effective_supervisor.id == tenant.store_manager.id
    manager = db.session.get(User, tenant.store_manager.id)
    assert manager.effective_supervisor.id == tenant.area_manager.id  # one level up


class TestDelegatedUserManagement:
    """A manager given `manage_users` manages their subtree, but never climbs above admins."""

    def _grant(self, app, user_id):
        with app.app_context():
            user = db.session.get(User, user_id)
            users.set_privilege_overrides(user, {Privilege.MANAGE_USERS: True})
            db.session.commit()

    def test_cannot_touch_an_org_admin(self, web, app, tenant):
        self._grant(app, tenant.receptionist.id)  # a receptionist sees the whole organization
        web.login(tenant.receptionist.email, PASSWORD)
        assert web.get(f"/admin/users/{tenant.admin.id}").status_code == 403
        response = web.post(
            f"/admin/users/{tenant.admin.id}",
            {"name": "Demoted", "email": tenant.admin.email, "role": "agent"},
        )
        assert response.status_code == 403
        assert web.post(f"/admin/users/{tenant.admin.id}/deactivate", htmx=True).status_code == 403
        with app.app_context():
            admin = db.session.get(User, tenant.admin.id)
            assert admin.role == "org_admin"
            assert admin.is_active_user

    def test_cannot_grant_privileges_or_the_admin_role(self, web, app, tenant):
        self._grant(app, tenant.store_manager.id)
        web.login(tenant.store_manager.email, PASSWORD)
        response = web.post(
            f"/admin/users/{tenant.agent.id}/privileges", {"priv-manage_users": "y"}, htmx=True
        )
        assert response.status_code == 403
        web.get(f"/admin/users/{tenant.agent.id}")
        page = web.post(
            f"/admin/users/{tenant.agent.id}",
            {
                "name": tenant.agent.name,
                "email": tenant.agent.email,
                "role": "org_admin",
                "unit_id": tenant.store.id,
            },
        ).get_data(as_text=True)
        assert "You cannot give this role." in page

    def test_places_people_only_in_their_own_units(self, web, app, tenant):
        self._grant(app, tenant.store_manager.id)
        web.login(tenant.store_manager.email, PASSWORD)
        web.get("/admin/users/new")
        page = web.post(
            "/admin/users/new",
            {
                "name": "Newbie",
                "email": "newbie@acme.example.com",
                "role": "agent",
                "unit_id": tenant.other_store.id,
                "password": "first-pass-11",
            },
        ).get_data(as_text=True)
        assert "Pick one of your own units." in page
        response = web.post(
            "/admin/users/new",
            {
                "name": "Newbie",
                "email": "newbie@acme.example.com",
                "role": "agent",
                "unit_id": tenant.store.id,
                "password": "first-pass-11",
            },
        )
        assert response.status_code == 302


def test_a_delegated_user_manager_cannot_promote_themself(web, app, tenant):
    with app.app_context():
        agent = db.session.get(User, tenant.agent.id)
        users.set_privilege_overrides(agent, {Privilege.MANAGE_USERS: True})
        db.session.commit()
    web.login(tenant.agent.email, PASSWORD)
    web.get(f"/admin/users/{tenant.agent.id}")
    page = web.post(
        f"/admin/users/{tenant.agent.id}",
        {
            "name": tenant.agent.name,
            "email": tenant.agent.email,
            "role": "manager",
            "unit_id": tenant.store.id,
        },
    ).get_data(as_text=True)
    assert "You cannot change your own role." in page
    with app.app_context():
        assert db.session.get(User, tenant.agent.id).role == "agent"
