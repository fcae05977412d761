"""Organization admin: the alert texts (template editor with a live preview) and the
organization's alert accounts and policy."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from leadtrack.blueprints.guards import current_org, roles_required
from leadtrack.extensions import db
from leadtrack.forms.alerts import AlertSettingsForm, TemplateForm
from leadtrack.forms.common import apply_errors
from leadtrack.models import ChannelName, NotificationTemplate, Role
from leadtrack.services import alert_events, alert_settings, alert_templates
from leadtrack.services.alert_events import AlertEvent
from leadtrack.services.errors import ValidationError
from leadtrack.timeutil import utcnow

bp = Blueprint("alert_settings", __name__, url_prefix="/settings/alerts")

admin_only = roles_required(Role.ORG_ADMIN)
WITH_SUBJECT = (ChannelName.EMAIL, ChannelName.WEBHOOK, ChannelName.IN_APP)


# -- organization settings -----------------------------------------------------------------


@bp.route("", methods=["GET", "POST"])
@admin_only
def settings():
    org = current_org()
    stored = alert_settings.view(db.session, org)
    form = AlertSettingsForm(obj=stored.settings)
    if not form.is_submitted():
        form.fill(stored.caps)
    if form.validate_on_submit():
        try:
            alert_settings.update_settings(db.session, org, form.to_input(), utcnow())
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash("Alert settings saved.", "success")
            return redirect(url_for("alert_settings.settings"))
    page = render_template("settings/alerts.html", org=org, form=form, stored=stored)
    return page, 422 if form.errors else 200


# -- templates -----------------------------------------------------------------------------


@bp.get("/templates")
@admin_only
def templates():
    org = current_org()
    own = select(NotificationTemplate.event, NotificationTemplate.channel).where(
        NotificationTemplate.org_id == org.id
    )
    edited = {(event, channel) for event, channel in db.session.execute(own)}
    return render_template(
        "settings/alert_templates.html",
        events=alert_events.EVENTS.values(),
        channels=alert_events.USER_CHANNELS,
        editable=alert_events.editable_channels,
        edited=edited,
    )


@bp.route("/templates/<event_key>/<channel>", methods=["GET", "POST"])
@admin_only
def edit_template(event_key: str, channel: str):
    org = current_org()
    event, channel = _editable(event_key, channel)
    own = alert_templates.template_for(db.session, org.id, event.key, channel)
    subject, body = alert_templates.text_for(db.session, org.id, event, channel)
    form = TemplateForm(data={"subject": subject, "body": body})
    if form.validate_on_submit():
        try:
            alert_templates.save(
                db.session,
                org,
                event.key,
                channel,
                _subject(form, channel),
                form.body.data or "",
                current_user.id,
                utcnow(),
            )
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash("Saved: alerts from now on use this text.", "success")
            return redirect(url_for(".edit_template", event_key=event.key, channel=channel))
    rendered, problems = alert_templates.preview(
        event, channel, _subject(form, channel), form.body.data or ""
    )
    page = render_template(
        "settings/alert_template_edit.html",
        event=event,
        channel=channel,
        with_subject=channel in WITH_SUBJECT,
        form=form,
        edited=own is not None,
        default=event.default_text(channel),
        rendered=rendered,
        problems=problems,
    )
    return page, 422 if form.errors else 200


@bp.post("/templates/<event_key>/<channel>/preview")
@admin_only
def preview_template(event_key: str, channel: str):
    current_org()
    event, channel = _editable(event_key, channel)
    form = TemplateForm()
    rendered, problems = alert_templates.preview(
        event, channel, _subject(form, channel), form.body.data or ""
    )
    fragment = render_template(
        "settings/_alert_preview.html",
        with_subject=channel in WITH_SUBJECT,
        rendered=rendered,
        problems=problems,
    )
    return fragment, 422 if problems else 200


@bp.post("/templates/<event_key>/<channel>/reset")
@admin_only
def reset_template(event_key: str, channel: str):
    org = current_org()
    event, channel = _editable(event_key, channel)
    alert_templates.reset(db.session, org, event.key, channel)
    db.session.commit()
    flash("Back to the default text.", "success")
    return redirect(url_for(".edit_template", event_key=event.key, channel=channel))


def _editable(event_key: str, channel: str) -> tuple[AlertEvent, ChannelName]:
    event = alert_events.EVENTS.get(event_key)
    if event is None or channel not in alert_events.editable_channels(event):
        abort(404)
    return event, ChannelName(channel)


def _subject(form: TemplateForm, channel: ChannelName) -> str:
    return (form.subject.data or "") if channel in WITH_SUBJECT else ""
