"""Organization admin: API keys, shown once, scoped, revocable."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, roles_required
from leadtrack.extensions import db
from leadtrack.forms.api_keys import ApiKeyForm
from leadtrack.forms.common import apply_errors
from leadtrack.models import Role
from leadtrack.services import api_keys
from leadtrack.services.errors import ValidationError
from leadtrack.timeutil import utcnow

bp = Blueprint("admin_keys", __name__, url_prefix="/admin/api-keys")


@bp.route("", methods=["GET", "POST"])
@roles_required(Role.ORG_ADMIN)
def index():
    org = current_org()
    form = ApiKeyForm()
    new_key = None
    if form.validate_on_submit():
        try:
            _key, new_key = api_keys.create_api_key(
                db.session,
                org,
                name=form.name.data,
                scopes=form.scopes.data,
                created_by=current_user,
            )
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            form = ApiKeyForm(formdata=None)
    return render_template(
        "admin/api_keys.html", form=form, keys=api_keys.keys_of(db.session, org.id), new_key=new_key
    )


@bp.post("/<id:key_id>/revoke")
@roles_required(Role.ORG_ADMIN)
def revoke(key_id: int):
    key = api_keys.revoke(db.session, current_org(), key_id, utcnow())
    db.session.commit()
    return render_template("admin/_api_key_row.html", key=key)
