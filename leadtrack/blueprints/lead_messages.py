"""On the lead page: write to the lead (e-mail or SMS), and the log of what was sent about it.
Whoever may see a lead may work on it (as on the rest of the lead page)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, organization_members_only
from leadtrack.extensions import db
from leadtrack.models import ChannelName, Lead
from leadtrack.services import access, delivery_log, lead_messages
from leadtrack.services.errors import ValidationError
from leadtrack.timeutil import utcnow
from leadtrack.web import is_htmx

bp = Blueprint("lead_messages", __name__, url_prefix="/leads")
SENT = {"HX-Trigger": "lead-deliveries-changed"}  # the delivery log on the page reloads


bp.before_request(organization_members_only)


def _visible_lead(lead_id: int) -> Lead:
    return access.get_visible(db.session, current_user, Lead, lead_id)


@bp.get("/<id:lead_id>/deliveries")
def deliveries(lead_id: int):
    lead = _visible_lead(lead_id)
    return render_template(
        "leads/_deliveries.html",
        lead=lead,
        items=delivery_log.of_lead(db.session, lead),
        event_label=delivery_log.event_label,
        status_label=delivery_log.status_label,
    )


@bp.get("/<id:lead_id>/message")
def message_form(lead_id: int):
    lead = _visible_lead(lead_id)
    channels = lead_messages.channels_for(lead)
    wanted = request.args.get("channel", "")
    channel = next((c for c in channels if c == wanted), channels[0] if channels else None)
    values = {"channel": channel or ""}
    if channel is not None:
        text = lead_messages.draft(db.session, current_org(), lead, current_user, channel)
        values |= {"subject": text.subject, "body": text.body}
    return _form(lead, values, {})


@bp.post("/<id:lead_id>/message")
def send(lead_id: int):
    lead = _visible_lead(lead_id)
    form = request.form
    try:
        sent = lead_messages.send_to_lead(
            db.session,
            current_org(),
            lead,
            current_user,
            form.get("channel", ""),
            form.get("subject", ""),
            form.get("body", ""),
            utcnow(),
            form.get("nonce", ""),
        )
    except ValidationError as exc:
        db.session.rollback()
        return _form(_visible_lead(lead_id), form.to_dict(), exc.errors)
    db.session.commit()
    if not is_htmx():
        flash("Sent — it will go out in a moment.", "success")
        return redirect(url_for("leads.detail", lead_id=lead_id))
    channel = ChannelName(sent.channel) if sent else ChannelName(form["channel"])
    return render_template("leads/_message_sent.html", lead=lead, channel=channel), 200, SENT


def _form(lead: Lead, values: dict, errors: dict):
    channels = lead_messages.channels_for(lead)
    if errors and "form" in errors:
        values = {**values, "nonce": ""}
    html = render_template(
        "leads/_message_form.html",
        lead=lead,
        channels=channels,
        values=values,
        errors=errors,
        nonce=values.get("nonce") or uuid.uuid4().hex,
        limits={"sms": lead_messages.MAX_SMS_BODY, "email": lead_messages.MAX_EMAIL_BODY},
    )
    if errors and not is_htmx():
        flash(" ".join(errors.values()), "error")
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return html, (422 if errors else 200)
