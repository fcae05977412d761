"""Organization admin: the unit tree (areas, stores, teams) and their managers."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, roles_required
from leadtrack.extensions import db
from leadtrack.forms.common import apply_errors
from leadtrack.forms.units import UnitForm
from leadtrack.models import Role, Unit
from leadtrack.services import access, units
from leadtrack.services.errors import ValidationError
from leadtrack.services.users import colleagues

bp = Blueprint("admin_units", __name__, url_prefix="/admin/units")


def _unit_form(org_id: int, unit: Unit | None = None) -> UnitForm:
    form = UnitForm(obj=unit)
    rows = units.tree(db.session, org_id)
    form.parent_id.choices = [("", "— top level —")] + [
        (row.unit.id, "\u2003" * row.depth + row.unit.name)
        for row in rows
        if unit is None or row.unit.id != unit.id
    ]
    form.manager_id.choices = [("", "— nobody —")] + [
        (user.id, user.name) for user in colleagues(db.session, org_id)
    ]
    return form


@bp.route("", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def index():
    org = current_org()
    form = _unit_form(org.id)
    if form.validate_on_submit():
        try:
            unit = units.create_unit(
                db.session,
                org,
                name=form.name.data,
                kind=form.kind.data,
                parent_id=form.parent_id.data,
                manager_id=form.manager_id.data,
            )
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"{unit.name} is added.", "success")
            return redirect(url_for("admin_units.index"))
    return render_template("admin/units.html", rows=units.tree(db.session, org.id), form=form)


@bp.route("/<id:unit_id>", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def edit(unit_id: int):
    org = current_org()
    unit = access.get_in_org(db.session, current_user, Unit, unit_id)
    form = _unit_form(org.id, unit)
    if form.validate_on_submit():
        try:
            units.update_unit(
                db.session,
                unit,
                name=form.name.data,
                kind=form.kind.data,
                parent_id=form.parent_id.data,
                manager_id=form.manager_id.data,
            )
        except ValidationError as exc:
            db.session.rollback()
            unit = access.get_in_org(db.session, current_user, Unit, unit_id)
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"{unit.name} is saved.", "success")
            return redirect(url_for("admin_units.index"))
    return render_template("admin/unit_edit.html", unit=unit, form=form)


@bp.post("/<id:unit_id>/delete")
@roles_required(Role.ORG_ADMIN)
def delete(unit_id: int):
    org = current_org()
    unit = access.get_in_org(db.session, current_user, Unit, unit_id)
    error = None
    try:
        units.delete_unit(db.session, unit)
    except ValidationError as exc:
        error = exc.errors["unit"]
    else:
        db.session.commit()
    return render_template(
        "admin/_unit_tree.html", rows=units.tree(db.session, org.id), error=error
    ), (422 if error else 200)
