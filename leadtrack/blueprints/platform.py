"""Super admin: the organizations (tenants) of this installation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from sqlalchemy import func, select

from leadtrack.blueprints.guards import roles_required
from leadtrack.extensions import db
from leadtrack.forms.common import apply_errors
from leadtrack.forms.organization import NewOrganizationForm
from leadtrack.models import Organization, Role, User
from leadtrack.services import organizations as org_service
from leadtrack.services.errors import ValidationError

bp = Blueprint("platform", __name__, url_prefix="/platform")


@bp.route("/organizations", methods=["GET", "POST"])
@roles_required(Role.SUPER_ADMIN)
def organizations():
    form = NewOrganizationForm()
    if form.validate_on_submit():
        try:
            org, _ = org_service.create_organization(
                db.session,
                slug=form.slug.data,
                name=form.name.data,
                timezone=form.timezone.data,
                admin_name=form.admin_name.data,
                admin_email=form.admin_email.data,
                admin_password=form.admin_password.data,
            )
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"{org.name} is created; its admin can sign in now.", "success")
            return redirect(url_for("platform.organizations"))
    rows = db.session.execute(
        select(Organization, func.count(User.id))
        .outerjoin(User, User.org_id == Organization.id)
        .group_by(Organization.id)
        .order_by(Organization.name)
    ).all()
    return render_template("platform/organizations.html", form=form, rows=rows)
