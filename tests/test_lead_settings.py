"""Lead settings page: statuses, sources, custom fields and the product catalogue.

Good input is stored and shown, bad input re-renders its fragment with field errors and stores
nothing, only org admins get in, another organization's ids are 404, and what is configured
here is exactly what intake accepts afterwards."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from flask import url_for
from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import (
    Brand,
    CustomField,
    LeadSource,
    LeadStatus,
    Organization,
    Product,
    ProductCategory,
    User,
)
from leadtrack.services import intake, lead_settings
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from tests.support.factories import PASSWORD

PAGE = "/settings/leads"


@pytest.fixture
def admin_web(web, tenant):
    web.login(tenant.admin.email, PASSWORD)
    web.get(PAGE)
    return web


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _row(app, model, org_id: int, **where):
    with app.app_context():
        stmt = select(model).filter_by(org_id=org_id, **where)
        row = db.session.scalars(stmt).one()
        db.session.expunge(row)
        return row


def _status_names(app, org_id: int) -> list[str]:
    with app.app_context():
        return [s.name for s in lead_settings.statuses(db.session, org_id, active_only=False)]


def _intake(app, tenant, **fields) -> dict[str, str]:
    """Create a lead through the real intake service: {} when stored, else its errors."""
    raw = {"name": "Lena Lead", "phones": ["030 1234567"], "source": "web", **fields}
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        admin = db.session.get(User, tenant.admin.id)
        try:
            intake.create_lead(db.session, org, raw, Actor(org.id, user=admin), utcnow())
        except ValidationError as exc:
            db.session.rollback()
            return exc.errors
        db.session.commit()
        return {}


def _text(response) -> str:
    return response.get_data(as_text=True)


class TestPage:
    def test_page_shows_defaults_and_empty_states(self, app, admin_web):
        with app.test_request_context():
            assert url_for("lead_settings.index") == PAGE
        response = admin_web.get(PAGE)
        page = _text(response)
        assert response.status_code == 200
        for heading in ("Statuses", "Sources", "Custom fields", "Product catalogue"):
            assert heading in page
        for name in ("New", "Contacted", "Could not reach", "Won", "Lost", "Dead"):
            assert f"<td>{name}</td>" in page
        assert page.count('class="badge cat-open"') == 4
        for code in ("web", "phone", "walk-in", "email", "api", "import", "referral", "campaign"):
            assert f"<code>{code}</code>" in page
        assert page.count("Built-in</span>") == 8
        assert "No custom fields yet." in page
        assert "The catalogue is empty." in page

    def test_element_ids_are_unique(self, admin_web):
        page = _text(admin_web.get(PAGE))
        ids = Counter(re.findall(r'\sid="([^"]+)"', page))
        assert {name: n for name, n in ids.items() if n > 1} == {}
        for form_field in ("status-name", "source-code", "field-key", "product-name"):
            assert ids[form_field] == 1

    @pytest.mark.parametrize("who", ["agent", "store_manager", "area_manager", "receptionist"])
    def test_other_roles_are_refused(self, app, web, tenant, who):
        person = getattr(tenant, who)
        web.login(person.email, PASSWORD)
        assert web.get(PAGE).status_code == 403
        posts = {
            f"{PAGE}/statuses": {"status-name": "Sneaky", "status-category": "open"},
            f"{PAGE}/sources": {"source-code": "sneaky", "source-name": "Sneaky"},
            f"{PAGE}/fields": {
                "field-key": "sneaky",
                "field-label": "Sneaky",
                "field-type": "text",
            },
            f"{PAGE}/products": {"product-name": "Sneaky"},
        }
        for url, data in posts.items():
            assert web.post(url, data, htmx=True).status_code == 403
        with app.app_context():
            status = db.session.scalars(
                select(LeadStatus).where(LeadStatus.org_id == tenant.org.id)
            ).first()
        assert web.post(f"{PAGE}/statuses/{status.id}/deactivate", htmx=True).status_code == 403
        assert _count(app, LeadStatus, LeadStatus.name == "Sneaky") == 0
        assert _count(app, LeadSource, LeadSource.code == "sneaky") == 0
        assert _count(app, CustomField) == 0
        assert _count(app, Product) == 0
        assert _count(app, LeadStatus, LeadStatus.active.is_(False)) == 0

    def test_signed_out_visitors_go_to_sign_in(self, web, tenant):
        response = web.get(PAGE)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]

    def test_a_post_without_csrf_token_is_refused(self, app, admin_web):
        response = admin_web.client.post(
            f"{PAGE}/statuses", data={"status-name": "Forged", "status-category": "open"}
        )
        assert response.status_code == 400
        assert _count(app, LeadStatus, LeadStatus.name == "Forged") == 0

    def test_an_empty_post_is_a_field_error_not_a_500(self, app, admin_web):
        for section in ("statuses", "sources", "fields", "products"):
            response = admin_web.post(f"{PAGE}/{section}", {}, htmx=True)
            assert response.status_code == 422, section
            assert "nothing was saved" in _text(response)


class TestStatuses:
    def test_add_a_status_at_the_end(self, app, admin_web, tenant):
        response = admin_web.post(
            f"{PAGE}/statuses",
            {"status-name": "  Callback later ", "status-category": "open"},
            htmx=True,
        )
        fragment = _text(response)
        assert response.status_code == 200
        assert 'id="lead-statuses"' in fragment
        assert "Added “Callback later”." in fragment
        assert 'value="Callback later"' not in fragment  # the form is empty again
        assert _status_names(app, tenant.org.id)[-1] == "Callback later"
        assert "<td>Callback later</td>" in _text(admin_web.get(PAGE))
        # Intake accepts it now, by name.
        assert _intake(app, tenant, status="callback later") == {}

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"status-name": "", "status-category": "open"}, "Name the status."),
            ({"status-name": "   ", "status-category": "open"}, "Name the status."),
            ({"status-name": "x" * 61, "status-category": "open"}, "At most 60 characters."),
            (
                {"status-name": "contacted", "status-category": "open"},
                "There is already a status with this name.",
            ),
            (
                {"status-name": "Pending", "status-category": "pending"},
                "Pick a category: new, open, won, lost or dead.",
            ),
        ],
    )
    def test_bad_status_input(self, app, admin_web, tenant, data, message):
        response = admin_web.post(f"{PAGE}/statuses", data, htmx=True)
        assert response.status_code == 422
        fragment = _text(response)
        assert message in fragment
        assert 'id="lead-statuses"' in fragment
        assert 'aria-invalid="true"' in fragment
        assert _count(app, LeadStatus, LeadStatus.org_id == tenant.org.id) == 8

    def test_deactivate_and_reactivate(self, app, admin_web, tenant):
        contacted = _row(app, LeadStatus, tenant.org.id, name="Contacted")
        response = admin_web.post(f"{PAGE}/statuses/{contacted.id}/deactivate", htmx=True)
        assert response.status_code == 200
        assert 'aria-label="Reactivate Contacted"' in _text(response)
        assert _intake(app, tenant, status="Contacted") == {"status": "Unknown status 'Contacted'."}
        response = admin_web.post(f"{PAGE}/statuses/{contacted.id}/reactivate", htmx=True)
        assert 'aria-label="Deactivate Contacted"' in _text(response)
        assert _intake(app, tenant, status="Contacted") == {}

    def test_a_status_in_use_cannot_be_deactivated(self, app, admin_web, tenant):
        assert _intake(app, tenant, status="Qualified") == {}
        qualified = _row(app, LeadStatus, tenant.org.id, name="Qualified")
        response = admin_web.post(f"{PAGE}/statuses/{qualified.id}/deactivate", htmx=True)
        assert response.status_code == 422
        assert "Qualified: 1 lead has this status; move it to another status first." in _text(
            response
        )
        assert _row(app, LeadStatus, tenant.org.id, name="Qualified").active

    def test_the_last_new_status_cannot_be_deactivated(self, app, admin_web, tenant):
        new = _row(app, LeadStatus, tenant.org.id, name="New")
        response = admin_web.post(f"{PAGE}/statuses/{new.id}/deactivate", htmx=True)
        assert response.status_code == 422
        assert "Keep at least one status of the &#39;new&#39; category." in _text(response)
        assert _row(app, LeadStatus, tenant.org.id, name="New").active
        # With a second one of the category, the first may go; intake starts leads in the other.
        admin_web.post(
            f"{PAGE}/statuses", {"status-name": "Fresh", "status-category": "new"}, htmx=True
        )
        response = admin_web.post(f"{PAGE}/statuses/{new.id}/deactivate", htmx=True)
        assert response.status_code == 200
        with app.app_context():
            assert lead_settings.initial_status(db.session, tenant.org.id).name == "Fresh"

    def test_reorder(self, app, admin_web, tenant):
        won = _row(app, LeadStatus, tenant.org.id, name="Won")
        response = admin_web.post(f"{PAGE}/statuses/{won.id}/move/up", htmx=True)
        assert response.status_code == 200
        expected = [
            "New",
            "Contacted",
            "Qualified",
            "Follow-up",
            "Won",
            "Could not reach",
            "Lost",
            "Dead",
        ]
        assert _status_names(app, tenant.org.id) == expected
        page = _text(admin_web.get(PAGE))
        positions = [page.index(f"<td>{name}</td>") for name in expected]
        assert positions == sorted(positions)
        admin_web.post(f"{PAGE}/statuses/{won.id}/move/down", htmx=True)
        assert _status_names(app, tenant.org.id)[4:6] == ["Could not reach", "Won"]
        # The ends stay where they are.
        new = _row(app, LeadStatus, tenant.org.id, name="New")
        dead = _row(app, LeadStatus, tenant.org.id, name="Dead")
        assert admin_web.post(f"{PAGE}/statuses/{new.id}/move/up", htmx=True).status_code == 200
        admin_web.post(f"{PAGE}/statuses/{dead.id}/move/down", htmx=True)
        names = _status_names(app, tenant.org.id)
        assert (names[0], names[-1]) == ("New", "Dead")
        assert admin_web.post(f"{PAGE}/statuses/{new.id}/move/sideways", htmx=True).status_code == (
            404
        )

    def test_an_inactive_status_keeps_its_place(self, app, admin_web, tenant):
        follow_up = _row(app, LeadStatus, tenant.org.id, name="Follow-up")
        admin_web.post(f"{PAGE}/statuses/{follow_up.id}/deactivate", htmx=True)
        admin_web.post(f"{PAGE}/statuses/{follow_up.id}/move/up", htmx=True)
        admin_web.post(f"{PAGE}/statuses/{follow_up.id}/reactivate", htmx=True)
        assert _status_names(app, tenant.org.id)[2:4] == ["Follow-up", "Qualified"]


class TestSources:
    def test_add_deactivate_reactivate_and_intake_follows(self, app, admin_web, tenant):
        assert _intake(app, tenant, source="billboard") == {"source": "Unknown source 'billboard'."}
        response = admin_web.post(
            f"{PAGE}/sources", {"source-code": "Billboard", "source-name": "Billboard"}, htmx=True
        )
        assert response.status_code == 200
        assert "<code>billboard</code>" in _text(response)
        page = _text(admin_web.get(PAGE))
        assert "<code>billboard</code>" in page and "Your own" in page
        assert _intake(app, tenant, source="billboard") == {}

        billboard = _row(app, LeadSource, tenant.org.id, code="billboard")
        assert not billboard.builtin
        response = admin_web.post(f"{PAGE}/sources/{billboard.id}/deactivate", htmx=True)
        assert response.status_code == 200
        assert 'aria-label="Reactivate Billboard"' in _text(response)
        assert _intake(app, tenant, source="billboard") == {"source": "Unknown source 'billboard'."}
        admin_web.post(f"{PAGE}/sources/{billboard.id}/reactivate", htmx=True)
        assert _intake(app, tenant, source="billboard") == {}

    def test_built_in_sources_can_be_deactivated_but_not_deleted(self, app, admin_web, tenant):
        walk_in = _row(app, LeadSource, tenant.org.id, code="walk-in")
        response = admin_web.post(f"{PAGE}/sources/{walk_in.id}/deactivate", htmx=True)
        assert response.status_code == 200
        assert _intake(app, tenant, source="walk-in") == {"source": "Unknown source 'walk-in'."}
        assert admin_web.post(f"{PAGE}/sources/{walk_in.id}/delete", htmx=True).status_code == 404
        assert _count(app, LeadSource, LeadSource.org_id == tenant.org.id) == 8

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"source-code": "", "source-name": "Billboard"}, "Give a code."),
            (
                {"source-code": "bill board", "source-name": "Billboard"},
                "Use lower-case letters, digits and dashes (at most 40).",
            ),
            (
                {"source-code": "-bill", "source-name": "Billboard"},
                "Use lower-case letters, digits and dashes (at most 40).",
            ),
            (
                {"source-code": "b" * 41, "source-name": "Billboard"},
                "Use lower-case letters, digits and dashes (at most 40).",
            ),
            (
                {"source-code": "WEB", "source-name": "Website"},
                "There is already a source with this code.",
            ),
            ({"source-code": "billboard", "source-name": ""}, "Name the source."),
            ({"source-code": "billboard", "source-name": "b" * 81}, "At most 80 characters."),
        ],
    )
    def test_bad_source_input(self, app, admin_web, tenant, data, message):
        response = admin_web.post(f"{PAGE}/sources", data, htmx=True)
        assert response.status_code == 422
        assert message in _text(response)
        assert _count(app, LeadSource, LeadSource.org_id == tenant.org.id) == 8

    def test_a_deactivated_duplicate_says_how_to_get_it_back(self, app, admin_web, tenant):
        phone = _row(app, LeadSource, tenant.org.id, code="phone")
        admin_web.post(f"{PAGE}/sources/{phone.id}/deactivate", htmx=True)
        response = admin_web.post(
            f"{PAGE}/sources", {"source-code": "phone", "source-name": "Phone"}, htmx=True
        )
        assert response.status_code == 422
        assert "it is deactivated: reactivate it instead." in _text(response)


class TestCustomFields:
    def _add(self, web, **overrides):
        data = {
            "field-key": "budget",
            "field-label": "Budget band",
            "field-type": "select",
            "field-options": "Low\r\nMid\r\n\r\n High \r\nMid",
            "field-required": "y",
        }
        data.update({f"field-{k}": v for k, v in overrides.items()})
        return web.post(f"{PAGE}/fields", data, htmx=True)

    def test_add_a_required_select_field_and_intake_follows(self, app, admin_web, tenant):
        response = self._add(admin_web)
        fragment = _text(response)
        assert response.status_code == 200
        assert "<code>budget</code>" in fragment
        assert "Low, Mid, High" in fragment
        assert "No custom fields yet." not in fragment
        field = _row(app, CustomField, tenant.org.id, key="budget")
        assert (field.type, field.required, field.options) == (
            "select",
            True,
            ["Low", "Mid", "High"],
        )
        assert "Budget band" in _text(admin_web.get(PAGE))

        assert _intake(app, tenant) == {"custom.budget": "Budget band is required."}
        assert _intake(app, tenant, custom={"budget": "Huge"}) == {
            "custom.budget": "Pick from: Low, Mid, High."
        }
        assert _intake(app, tenant, custom={"budget": "Mid"}) == {}

        response = admin_web.post(f"{PAGE}/fields/{field.id}/deactivate", htmx=True)
        assert response.status_code == 200
        assert 'aria-label="Reactivate Budget band"' in _text(response)
        assert _intake(app, tenant) == {}
        assert _intake(app, tenant, custom={"budget": "Mid"}) == {
            "custom.budget": "Unknown custom field."
        }
        admin_web.post(f"{PAGE}/fields/{field.id}/reactivate", htmx=True)
        assert _intake(app, tenant) == {"custom.budget": "Budget band is required."}

    def test_each_type_can_be_added(self, app, admin_web, tenant):
        types = [
            "text",
            "long_text",
            "number",
            "money",
            "date",
            "checkbox",
            "select",
            "multi_select",
        ]
        for kind in types:
            response = self._add(
                admin_web, key=f"f_{kind}", label=kind.title(), type=kind, required=""
            )
            assert response.status_code == 200, kind
        with app.app_context():
            fields = lead_settings.custom_fields(db.session, tenant.org.id)
            assert [f.type for f in fields] == types
            assert fields[0].options == []  # options only belong to choice fields
        page = _text(admin_web.get(PAGE))
        assert "Multi-select (several options)" in page and "Long text" in page
        errors = _intake(app, tenant, custom={"f_number": "many", "f_date": "tomorrow"})
        assert errors == {
            "custom.f_number": "Give a number.",
            "custom.f_date": "Give a date such as 2026-12-01.",
        }

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"key": ""}, "Give a key."),
            ({"key": "9lives"}, "Start with a letter; use a–z, 0–9 and _ (at most 40)."),
            ({"key": "budget band"}, "Start with a letter; use a–z, 0–9 and _ (at most 40)."),
            ({"key": "b" * 41}, "Start with a letter; use a–z, 0–9 and _ (at most 40)."),
            ({"label": ""}, "Give a label."),
            ({"label": "l" * 81}, "At most 80 characters."),
            ({"type": "colour"}, "Pick a type from the list."),
            ({"options": ""}, "A choice field needs options, one per line."),
            (
                {"options": " \r\n \r\n", "type": "multi_select"},
                "A choice field needs options, one per line.",
            ),
            ({"options": "x" * 101}, "At most 100 options of at most 100 characters each."),
        ],
    )
    def test_bad_field_input(self, app, admin_web, tenant, overrides, message):
        response = self._add(admin_web, **overrides)
        assert response.status_code == 422
        assert message in _text(response)
        assert _count(app, CustomField) == 0

    def test_duplicate_key(self, app, admin_web, tenant):
        self._add(admin_web)
        response = self._add(admin_web, key="BUDGET", label="Another")
        assert response.status_code == 422
        assert "There is already a field with this key." in _text(response)
        assert _count(app, CustomField) == 1


class TestProducts:
    def _add(self, web, **fields):
        data = {
            "product-category": "Cars",
            "product-brand": "Toyota",
            "product-name": "Corolla",
            "product-variant": "Hybrid 1.8",
        }
        data.update({f"product-{k}": v for k, v in fields.items()})
        return web.post(f"{PAGE}/products", data, htmx=True)

    def test_add_grouped_by_category_with_suggestions(self, app, admin_web, tenant):
        response = self._add(admin_web)
        fragment = _text(response)
        assert response.status_code == 200
        assert "Added “Toyota Corolla Hybrid 1.8”." in fragment
        assert "<h3>Cars <small>(1)</small></h3>" in fragment
        assert '<option value="Toyota">' in fragment and '<option value="Cars">' in fragment
        # Typed in another case, the category and brand are the same ones.
        self._add(admin_web, category="cars", brand="TOYOTA", name="Yaris", variant="")
        self._add(admin_web, category="", brand="", name="Extended warranty", variant="")
        assert _count(app, ProductCategory, ProductCategory.org_id == tenant.org.id) == 1
        assert _count(app, Brand, Brand.org_id == tenant.org.id) == 1
        page = _text(admin_web.get(PAGE))
        assert "<h3>Cars <small>(2)</small></h3>" in page
        assert "<h3>No category <small>(1)</small></h3>" in page
        assert page.index("<h3>Cars") < page.index("<h3>No category")

        corolla = _row(app, Product, tenant.org.id, name="Corolla")
        assert _intake(app, tenant, product_id=corolla.id) == {}

    def test_remove_and_add_again(self, app, admin_web, tenant):
        self._add(admin_web)
        corolla = _row(app, Product, tenant.org.id, name="Corolla")
        response = admin_web.post(f"{PAGE}/products/{corolla.id}/remove", htmx=True)
        assert response.status_code == 200
        assert "Corolla" not in _text(response).split("<form")[0]
        assert "The catalogue is empty." in _text(response)
        assert not _row(app, Product, tenant.org.id, name="Corolla").active
        with app.app_context():
            assert lead_settings.products(db.session, tenant.org.id) == []
        response = self._add(admin_web)
        assert response.status_code == 200
        again = _row(app, Product, tenant.org.id, name="Corolla")
        assert (again.id, again.active) == (corolla.id, True)

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"name": ""}, "Name the product."),
            ({"name": "n" * 121}, "At most 120 characters."),
            ({"variant": "v" * 121}, "At most 120 characters."),
            ({"category": "c" * 81}, "At most 80 characters."),
            ({"brand": "b" * 81}, "At most 80 characters."),
        ],
    )
    def test_bad_product_input(self, app, admin_web, tenant, fields, message):
        response = self._add(admin_web, **fields)
        assert response.status_code == 422
        assert message in _text(response)
        assert _count(app, Product) == 0
        assert _count(app, ProductCategory) == 0
        assert _count(app, Brand) == 0

    def test_duplicate_product(self, app, admin_web, tenant):
        self._add(admin_web)
        response = self._add(admin_web, category="Vans", brand="Ford")
        assert response.status_code == 422
        assert "This product and variant are already in the catalogue." in _text(response)
        assert _count(app, Product) == 1
        assert _count(app, ProductCategory) == 1
        assert _count(app, Brand) == 1


class TestTenantIsolation:
    @pytest.fixture
    def theirs(self, app, other_tenant):
        """One row of each kind belonging to the other organization."""
        with app.app_context():
            org = db.session.get(Organization, other_tenant.org.id)
            status = lead_settings.add_status(db.session, org, "Theirs", "open")
            source = db.session.scalars(
                select(LeadSource).where(LeadSource.org_id == org.id, LeadSource.code == "web")
            ).one()
            field = lead_settings.add_custom_field(
                db.session, org, key="theirs", label="Theirs", type="text"
            )
            product = lead_settings.add_product(db.session, org, name="Theirs")
            db.session.commit()
            return {
                "status": status.id,
                "source": source.id,
                "field": field.id,
                "product": product.id,
            }

    def test_their_ids_are_not_found_and_unchanged(self, app, admin_web, theirs, other_tenant):
        urls = [
            f"{PAGE}/statuses/{theirs['status']}/deactivate",
            f"{PAGE}/statuses/{theirs['status']}/reactivate",
            f"{PAGE}/statuses/{theirs['status']}/move/up",
            f"{PAGE}/statuses/{theirs['status']}/move/down",
            f"{PAGE}/sources/{theirs['source']}/deactivate",
            f"{PAGE}/fields/{theirs['field']}/deactivate",
            f"{PAGE}/products/{theirs['product']}/remove",
            f"{PAGE}/products/999999999/remove",
            f"{PAGE}/statuses/99999999999999999999999/deactivate",
        ]
        for url in urls:
            assert admin_web.post(url, htmx=True).status_code == 404, url
        with app.app_context():
            assert db.session.get(LeadStatus, theirs["status"]).active
            assert db.session.get(LeadSource, theirs["source"]).active
            assert db.session.get(CustomField, theirs["field"]).active
            assert db.session.get(Product, theirs["product"]).active
            names = [s.name for s in lead_settings.statuses(db.session, other_tenant.org.id)]
        assert names[-1] == "Theirs"

    def test_each_organization_sees_and_uses_only_its_own(
        self, app, admin_web, theirs, tenant, other_tenant
    ):
        page = _text(admin_web.get(PAGE))
        assert "Theirs" not in page
        admin_web.post(
            f"{PAGE}/sources", {"source-code": "billboard", "source-name": "Billboard"}, htmx=True
        )
        # The same code is free in every organization; theirs does not know ours.
        assert _intake(app, other_tenant, source="billboard") == {
            "source": "Unknown source 'billboard'."
        }
        assert _intake(app, tenant, product_id=theirs["product"]) == {
            "product_id": "No such product here."
        }
        assert _intake(app, tenant, status="Theirs") == {"status": "Unknown status 'Theirs'."}
        # Names taken in another organization are free here.
        response = admin_web.post(
            f"{PAGE}/statuses", {"status-name": "Theirs", "status-category": "lost"}, htmx=True
        )
        assert response.status_code == 200
