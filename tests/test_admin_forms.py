"""Admin forms: good input saves, bad input re-renders with field errors and never a 500."""

from datetime import date

from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import Organization, OutOfOffice, Unit, User
from tests.support.factories import PASSWORD


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _user_form(**overrides):
    data = {
        "name": "Nina New",
        "email": "nina@acme.example.com",
        "role": "agent",
        "unit_id": "",
        "supervisor_id": "",
        "backup_id": "",
        "phone": "",
        "timezone": "",
        "password": "initial-pass-1",
    }
    data.update(overrides)
    return data


class TestUsers:
    def test_create_user_with_normalized_phone(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/users/new")
        response = web.post(
            "/admin/users/new",
            _user_form(unit_id=tenant.store.id, backup_id=tenant.agent.id, phone="030 1234567"),
        )
        assert response.status_code == 302
        with app.app_context():
            nina = db.session.scalars(
                select(User).where(User.email == "nina@acme.example.com")
            ).one()
            assert nina.phone == "+49301234567"  # the organization's default country is DE
            assert nina.backup_id == tenant.agent.id
            assert nina.effective_supervisor.id == tenant.store_manager.id
        web.logout()
        assert web.login("nina@acme.example.com", "initial-pass-1").status_code == 302

    def test_duplicate_email_is_a_field_error(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/users/new")
        response = web.post("/admin/users/new", _user_form(email=tenant.agent.email.upper()))
        assert response.status_code == 200
        assert "Another user already signs in with this e-mail." in response.get_data(as_text=True)
        assert _count(app, User, User.org_id == tenant.org.id) == 6

    def test_missing_and_malformed_fields(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/users/new")
        response = web.post("/admin/users/new", _user_form(name="", email=""))
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Give the user&#39;s name." in page
        assert "Give an e-mail to sign in with." in page
        response = web.post(
            "/admin/users/new",
            _user_form(email="not-an-email", phone="12", password="short", role="pope"),
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "An email address must have an @-sign." in page
        assert "Use at least 10 characters." in page
        assert "phone number" in page
        assert "Pick a role from the list." in page
        assert _count(app, User, User.org_id == tenant.org.id) == 6

    def test_bad_working_hours_name_the_day(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get(f"/admin/users/{tenant.agent.id}")
        data = _user_form(email=tenant.agent.email, name="Agent Acme", own_hours="y")
        data.update({"day_0_start": "17:00", "day_0_end": "09:00", "day_1_start": "9"})
        page = web.post(f"/admin/users/{tenant.agent.id}", data).get_data(as_text=True)
        assert "Monday: the day must end after it starts." in page
        assert "Tuesday: give both times as HH:MM" in page

    def test_own_working_hours_are_saved(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get(f"/admin/users/{tenant.agent.id}")
        data = _user_form(email=tenant.agent.email, name="Agent Acme", own_hours="y")
        data.update({"day_2_start": "08:00", "day_2_end": "12:30"})
        assert web.post(f"/admin/users/{tenant.agent.id}", data).status_code == 302
        with app.app_context():
            hours = db.session.get(User, tenant.agent.id).working_hours
        assert hours["2"] == [["08:00", "12:30"]]
        assert hours["0"] == []

    def test_user_cannot_be_their_own_backup(self, web, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get(f"/admin/users/{tenant.agent.id}")
        data = _user_form(email=tenant.agent.email, backup_id=tenant.agent.id)
        page = web.post(f"/admin/users/{tenant.agent.id}", data).get_data(as_text=True)
        assert "cannot be their own supervisor or backup" in page

    def test_deactivate_and_reactivate_keep_the_user(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        response = web.post(f"/admin/users/{tenant.agent.id}/deactivate", htmx=True)
        assert response.status_code == 200
        assert "Deactivated" in response.get_data(as_text=True)
        with app.app_context():
            assert db.session.get(User, tenant.agent.id).deactivated_at is not None
        response = web.post(f"/admin/users/{tenant.agent.id}/reactivate", htmx=True)
        assert "Active" in response.get_data(as_text=True)

    def test_admin_cannot_deactivate_themself(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        response = web.post(f"/admin/users/{tenant.admin.id}/deactivate", htmx=True)
        assert response.status_code == 422
        assert "You cannot deactivate your own account." in response.get_data(as_text=True)
        with app.app_context():
            assert db.session.get(User, tenant.admin.id).is_active_user

    def test_privileges_are_overridden_per_user(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        response = web.post(
            f"/admin/users/{tenant.agent.id}/privileges", {"priv-export_leads": "y"}, htmx=True
        )
        assert "Saved." in response.get_data(as_text=True)
        with app.app_context():
            agent = db.session.get(User, tenant.agent.id)
            assert agent.privilege_overrides == {"export_leads": True}
            assert {p.value for p in agent.privileges()} == {"export_leads"}

    def test_out_of_office_periods(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        url = f"/admin/users/{tenant.agent.id}/absences"
        bad = web.post(
            url,
            {"absence-starts_at": "2026-12-10T09:00", "absence-ends_at": "2026-12-01T09:00"},
            htmx=True,
        )
        assert "The absence must end after it starts." in bad.get_data(as_text=True)
        missing = web.post(url, {"absence-starts_at": "", "absence-ends_at": ""}, htmx=True)
        assert "Give a start." in missing.get_data(as_text=True)
        good = web.post(
            url,
            {
                "absence-starts_at": "2026-12-01T09:00",
                "absence-ends_at": "2026-12-10T18:00",
                "absence-note": "Ski",
            },
            htmx=True,
        )
        assert "Ski" in good.get_data(as_text=True)
        with app.app_context():
            [period] = db.session.scalars(select(OutOfOffice)).all()
            # 09:00 in Berlin (the organization's zone) is 08:00 UTC in winter.
            assert period.starts_at.hour == 8
            period_id = period.id
        removed = web.post(f"{url}/{period_id}/delete", htmx=True)
        assert "No absences planned." in removed.get_data(as_text=True)


class TestUnits:
    def test_build_a_tree_any_depth(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/units")
        response = web.post(
            "/admin/units",
            {
                "name": "Night shift",
                "kind": "team",
                "parent_id": tenant.store.id,
                "manager_id": tenant.agent.id,
            },
        )
        assert response.status_code == 302
        page = web.get("/admin/units").get_data(as_text=True)
        assert "Night shift" in page
        with app.app_context():
            team = db.session.scalars(select(Unit).where(Unit.name == "Night shift")).one()
            assert team.parent.parent.name == "North"

    def test_missing_name_and_duplicate_sibling(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/units")
        page = web.post("/admin/units", {"name": "", "kind": "store"}).get_data(as_text=True)
        assert "Name the unit." in page
        page = web.post(
            "/admin/units", {"name": "main street", "kind": "store", "parent_id": tenant.area.id}
        ).get_data(as_text=True)
        assert "already sits under the same parent" in page
        assert _count(app, Unit, Unit.org_id == tenant.org.id) == 3

    def test_unit_cannot_move_under_its_own_child(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get(f"/admin/units/{tenant.area.id}")
        page = web.post(
            f"/admin/units/{tenant.area.id}",
            {"name": "North", "kind": "area", "parent_id": tenant.store.id},
        ).get_data(as_text=True)
        assert "cannot sit under itself" in page
        with app.app_context():
            assert db.session.get(Unit, tenant.area.id).parent_id is None

    def test_unit_with_users_cannot_be_deleted(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        response = web.post(f"/admin/units/{tenant.store.id}/delete", htmx=True)
        assert response.status_code == 422
        assert "still has 2 user(s)" in response.get_data(as_text=True)
        response = web.post(f"/admin/units/{tenant.area.id}/delete", htmx=True)
        assert "still has" in response.get_data(as_text=True)
        assert _count(app, Unit, Unit.org_id == tenant.org.id) == 3

    def test_empty_unit_is_deleted(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/units")
        web.post("/admin/units", {"name": "Pop-up", "kind": "store", "parent_id": tenant.area.id})
        with app.app_context():
            popup = db.session.scalars(select(Unit).where(Unit.name == "Pop-up")).one().id
        response = web.post(f"/admin/units/{popup}/delete", htmx=True)
        assert response.status_code == 200
        assert "Pop-up" not in response.get_data(as_text=True)


class TestOrganization:
    def _settings(self, **overrides):
        data = {
            "name": "Acme Inc",
            "timezone": "Europe/Berlin",
            "sender_name": "Acme Sales",
            "default_country": "DE",
        }
        for day in range(5):
            data[f"day_{day}_start"], data[f"day_{day}_end"] = "08:00", "17:00"
        data.update(overrides)
        return data

    def test_settings_are_saved(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/organization")
        response = web.post(
            "/admin/organization", self._settings(timezone="America/New_York", day_5_start="")
        )
        assert response.status_code == 302
        with app.app_context():
            org = db.session.get(Organization, tenant.org.id)
            assert org.timezone == "America/New_York"
            assert org.sender_name == "Acme Sales"
            assert org.business_hours["0"] == [["08:00", "17:00"]]
            assert org.business_hours["6"] == []

    def test_bad_settings_are_field_errors(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/organization")
        response = web.post(
            "/admin/organization",
            self._settings(
                name="",
                timezone="Mars/Olympus",
                default_country="Germany",
                day_3_start="18:00",
                day_3_end="08:00",
            ),
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Give the organization a name." in page
        assert "Not a valid choice" in page
        with app.app_context():
            assert db.session.get(Organization, tenant.org.id).timezone == "Europe/Berlin"

    def test_holidays_are_added_and_duplicates_refused(self, web, app, tenant):
        web.login(tenant.admin.email, PASSWORD)
        web.get("/admin/organization")
        page = web.post(
            "/admin/organization/holidays",
            {"holiday-day": "2026-12-24", "holiday-name": "Christmas Eve"},
            htmx=True,
        ).get_data(as_text=True)
        assert "Christmas Eve" in page
        page = web.post(
            "/admin/organization/holidays",
            {"holiday-day": "2026-12-24", "holiday-name": "Again"},
            htmx=True,
        ).get_data(as_text=True)
        assert "There is already a holiday on this day." in page
        page = web.post(
            "/admin/organization/holidays", {"holiday-day": "", "holiday-name": ""}, htmx=True
        ).get_data(as_text=True)
        assert "Pick a date." in page
        with app.app_context():
            org = db.session.get(Organization, tenant.org.id)
            assert [h.day for h in org.holidays] == [date(2026, 12, 24)]


class TestPlatform:
    def test_super_admin_creates_an_organization_and_its_admin(self, web, super_admin):
        web.login(super_admin.email, PASSWORD)
        web.get("/platform/organizations")
        response = web.post(
            "/platform/organizations",
            {
                "name": "Initech",
                "slug": "initech",
                "timezone": "America/Chicago",
                "admin_name": "Bill",
                "admin_email": "bill@initech.example.com",
                "admin_password": "tps-reports-1",
            },
        )
        assert response.status_code == 302
        assert "Initech" in web.get("/platform/organizations").get_data(as_text=True)
        web.logout()
        web.login("bill@initech.example.com", "tps-reports-1")
        assert web.get("/admin/organization").status_code == 200

    def test_bad_organization_input(self, web, app, super_admin, tenant):
        web.login(super_admin.email, PASSWORD)
        web.get("/platform/organizations")
        response = web.post(
            "/platform/organizations",
            {
                "name": "Copy",
                "slug": "acme",
                "timezone": "UTC",
                "admin_name": "A",
                "admin_email": tenant.agent.email,
                "admin_password": "x",
            },
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "This slug is taken." in page
        assert _count(app, Organization) == 1
