"""Organization admin: lead statuses, sources, custom fields and the product catalogue.

One page, four HTMX fragments. Every action re-renders its fragment: 200 when it worked,
422 with the field (or row) errors when it did not, and nothing stored in that case."""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, render_template
from flask_wtf import FlaskForm

from leadtrack.blueprints.guards import current_org, roles_required
from leadtrack.extensions import db
from leadtrack.forms.common import apply_errors
from leadtrack.forms.lead_settings import (
    CATEGORY_LABELS,
    FIELD_TYPE_LABELS,
    CustomFieldForm,
    ProductForm,
    SourceForm,
    StatusForm,
)
from leadtrack.models import Organization, Role
from leadtrack.services import lead_settings
from leadtrack.services.errors import ValidationError

bp = Blueprint("lead_settings", __name__, url_prefix="/settings")

admin_only = roles_required(Role.ORG_ADMIN)

SECTIONS = {
    "statuses": "settings/_statuses.html",
    "sources": "settings/_sources.html",
    "fields": "settings/_custom_fields.html",
    "products": "settings/_products.html",
}


# -- context of each section --------------------------------------------------------------


def _statuses(org: Organization, form: StatusForm | None = None) -> dict:
    return {
        "statuses": lead_settings.statuses(db.session, org.id, active_only=False),
        "lead_counts": lead_settings.status_lead_counts(db.session, org.id),
        "category_labels": CATEGORY_LABELS,
        "status_form": form or StatusForm(formdata=None),
    }


def _sources(org: Organization, form: SourceForm | None = None) -> dict:
    return {
        "sources": lead_settings.sources(db.session, org.id, active_only=False),
        "source_form": form or SourceForm(formdata=None),
    }


def _fields(org: Organization, form: CustomFieldForm | None = None) -> dict:
    return {
        "fields": lead_settings.custom_fields(db.session, org.id, active_only=False),
        "type_labels": FIELD_TYPE_LABELS,
        "field_form": form or CustomFieldForm(formdata=None),
    }


def _products(org: Organization, form: ProductForm | None = None) -> dict:
    def category_of(product) -> tuple[int, str]:
        name = product.category.name if product.category else ""
        return (0 if name else 1, name.lower())  # the uncategorized group comes last

    rows = sorted(lead_settings.products(db.session, org.id), key=category_of)
    groups = [
        (group[0].category.name if group[0].category else None, group)
        for _, items in groupby(rows, key=category_of)
        for group in [list(items)]
    ]
    return {
        "product_groups": groups,
        "category_names": lead_settings.category_names(db.session, org.id),
        "brand_names": lead_settings.brand_names(db.session, org.id),
        "product_form": form or ProductForm(formdata=None),
    }


CONTEXT = {"statuses": _statuses, "sources": _sources, "fields": _fields, "products": _products}


def _fragment(section: str, *, form: FlaskForm | None = None, error=None, notice: str = ""):
    """One section, re-rendered. `error` is (row id, message) for a refused row action."""
    org = current_org()
    context = CONTEXT[section](org, form)
    failed = bool(error) or bool(form is not None and form.errors)
    return render_template(SECTIONS[section], org=org, row_error=error, notice=notice, **context), (
        422 if failed else 200
    )


def _add(section: str, form: FlaskForm, save) -> tuple:
    """Validate `form`, then let `save()` (a service call) store the row or raise."""
    if form.validate_on_submit():
        try:
            row = save()
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            return _fragment(section, notice=f"Added “{row}”.")
    return _fragment(section, form=form)


def _row_action(section: str, row_id: int, action) -> tuple:
    """Run `action()` on one row; a refusal is shown next to that row."""
    try:
        action()
    except ValidationError as exc:
        db.session.rollback()
        return _fragment(section, error=(row_id, " ".join(exc.errors.values())))
    db.session.commit()
    return _fragment(section)


# -- the page -----------------------------------------------------------------------------


@bp.get("/leads")
@admin_only
def index():
    org = current_org()
    context = {}
    for build in CONTEXT.values():
        context.update(build(org))
    return render_template("settings/leads.html", org=org, row_error=None, notice="", **context)


# -- statuses -----------------------------------------------------------------------------


@bp.post("/leads/statuses")
@admin_only
def add_status():
    form = StatusForm()
    org = current_org()
    return _add(
        "statuses",
        form,
        lambda: (
            lead_settings.add_status(db.session, org, form.name.data, form.category.data or "").name
        ),
    )


@bp.post("/leads/statuses/<id:status_id>/<any(deactivate, reactivate):action>")
@admin_only
def toggle_status(status_id: int, action: str):
    org, active = current_org(), action == "reactivate"
    return _row_action(
        "statuses",
        status_id,
        lambda: lead_settings.set_status_active(db.session, org, status_id, active),
    )


@bp.post("/leads/statuses/<id:status_id>/move/<any(up, down):direction>")
@admin_only
def move_status(status_id: int, direction: str):
    org = current_org()
    return _row_action(
        "statuses",
        status_id,
        lambda: lead_settings.move_status(db.session, org, status_id, direction),
    )


# -- sources ------------------------------------------------------------------------------


@bp.post("/leads/sources")
@admin_only
def add_source():
    form = SourceForm()
    org = current_org()
    return _add(
        "sources",
        form,
        lambda: lead_settings.add_source(db.session, org, form.code.data, form.name.data).name,
    )


@bp.post("/leads/sources/<id:source_id>/<any(deactivate, reactivate):action>")
@admin_only
def toggle_source(source_id: int, action: str):
    org, active = current_org(), action == "reactivate"
    return _row_action(
        "sources",
        source_id,
        lambda: lead_settings.set_source_active(db.session, org, source_id, active),
    )


# -- custom fields ------------------------------------------------------------------------


@bp.post("/leads/fields")
@admin_only
def add_custom_field():
    form = CustomFieldForm()
    org = current_org()
    return _add(
        "fields",
        form,
        lambda: (
            lead_settings.add_custom_field(
                db.session,
                org,
                key=form.key.data,
                label=form.label.data,
                type=form.type.data or "",
                required=form.required.data,
                options=form.option_list(),
            ).label
        ),
    )


@bp.post("/leads/fields/<id:field_id>/<any(deactivate, reactivate):action>")
@admin_only
def toggle_custom_field(field_id: int, action: str):
    org, active = current_org(), action == "reactivate"
    return _row_action(
        "fields",
        field_id,
        lambda: lead_settings.set_custom_field_active(db.session, org, field_id, active),
    )


# -- product catalogue --------------------------------------------------------------------


@bp.post("/leads/products")
@admin_only
def add_product():
    form = ProductForm()
    org = current_org()
    return _add(
        "products",
        form,
        lambda: (
            lead_settings.add_product(
                db.session,
                org,
                name=form.name.data,
                variant=form.variant.data or "",
                category_name=form.category.data or "",
                brand_name=form.brand.data or "",
            ).label
        ),
    )


@bp.post("/leads/products/<id:product_id>/remove")
@admin_only
def remove_product(product_id: int):
    org = current_org()
    return _row_action(
        "products",
        product_id,
        lambda: lead_settings.remove_product(db.session, org, product_id),
    )
