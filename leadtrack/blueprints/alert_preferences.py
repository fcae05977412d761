"""Every signed-in user of an organization: which alerts reach them where, and when not.
Every alert e-mail links here (BASE_URL + /account/alerts): keep the address."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from leadtrack.blueprints.guards import current_org
from leadtrack.extensions import db
from leadtrack.forms.alerts import AlertPreferencesForm
from leadtrack.forms.common import apply_errors
from leadtrack.services import alert_preferences, recipients
from leadtrack.services.errors import ValidationError
from leadtrack.timeutil import utcnow

bp = Blueprint("alert_preferences", __name__, url_prefix="/account")


@bp.route("/alerts", methods=["GET", "POST"])
@login_required
def preferences():
    current_org()  # platform admins have no organization and no alerts: 404
    user = current_user._get_current_object()
    saved = recipients.preferences_of(db.session, user)
    form = AlertPreferencesForm(obj=saved)
    if not form.is_submitted():
        _fill(form, saved)
    ticked = request.form.getlist("channel") if form.is_submitted() else None
    if form.validate_on_submit():
        try:
            alert_preferences.save_preferences(db.session, user, form.to_input(ticked), utcnow())
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash("Your alert settings are saved.", "success")
            return redirect(url_for("alert_preferences.preferences"))
    chosen = form.to_input(ticked).channels if ticked is not None else None
    page = render_template(
        "account/alerts.html",
        form=form,
        grid=alert_preferences.grid(db.session, user, chosen),
        channels=alert_preferences.grid_channels(alert_preferences.voice_enabled(db.session, user)),
        zone=recipients.zone_of(user).key,
    )
    return page, 422 if form.errors else 200


def _fill(form: AlertPreferencesForm, saved) -> None:
    form.quiet_from.data = saved.quiet_from.strftime("%H:%M") if saved.quiet_from else ""
    form.quiet_until.data = saved.quiet_until.strftime("%H:%M") if saved.quiet_until else ""
    form.digest_hour.data = str(saved.digest_hour)
