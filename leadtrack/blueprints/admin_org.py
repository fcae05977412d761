"""Organization admin: name, time zone, sender name, business hours and holidays."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from leadtrack.blueprints.guards import current_org, roles_required
from leadtrack.extensions import db
from leadtrack.forms.common import apply_errors
from leadtrack.forms.organization import HolidayForm, OrganizationSettingsForm
from leadtrack.models import Role
from leadtrack.services import organizations
from leadtrack.services.errors import ValidationError

bp = Blueprint("admin_org", __name__, url_prefix="/admin/organization")


@bp.route("", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def settings():
    org = current_org()
    form = OrganizationSettingsForm(obj=org)
    if not form.is_submitted():
        form.fill_weekly_hours(org.business_hours)
    if form.validate_on_submit():
        try:
            organizations.update_settings(
                org,
                name=form.name.data,
                timezone=form.timezone.data,
                sender_name=form.sender_name.data or "",
                default_country=form.default_country.data,
                business_hours=form.weekly_hours(),
            )
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash("Settings saved.", "success")
            return redirect(url_for("admin_org.settings"))
    return render_template(
        "admin/organization.html", form=form, org=org, holiday_form=HolidayForm(prefix="holiday")
    )


@bp.post("/holidays")
@roles_required(Role.ORG_ADMIN)
def add_holiday():
    org = current_org()
    form = HolidayForm(prefix="holiday")
    if form.validate_on_submit():
        try:
            organizations.add_holiday(db.session, org, form.day.data, form.name.data)
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            form = HolidayForm(formdata=None, prefix="holiday")
    return render_template("admin/_holidays.html", org=org, holiday_form=form)


@bp.post("/holidays/<id:holiday_id>/delete")
@roles_required(Role.ORG_ADMIN)
def delete_holiday(holiday_id: int):
    org = current_org()
    organizations.remove_holiday(db.session, org, holiday_id)
    db.session.commit()
    return render_template(
        "admin/_holidays.html", org=org, holiday_form=HolidayForm(formdata=None, prefix="holiday")
    )
