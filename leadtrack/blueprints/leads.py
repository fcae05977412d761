"""Lead pages: the list, a lead, new lead, follow-ups. HTMX fragments for small actions."""

from __future__ import annotations

import uuid
from functools import partial

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, organization_members_only
from leadtrack.blueprints.lead_forms import form_values, raw_from_form
from leadtrack.extensions import db
from leadtrack.models import Lead, Privilege
from leadtrack.services import (
    access,
    bulk,
    history,
    intake,
    lead_clock_view,
    lead_query,
    lead_settings,
    leads,
    routing,
    tasks,
    users,
)
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.ids import parse_id
from leadtrack.services.lead_fields import contacts_of
from leadtrack.timeutil import utcnow
from leadtrack.web import is_htmx, viewer_timezone

bp = Blueprint("leads", __name__, url_prefix="/leads")


bp.before_request(organization_members_only)


@bp.context_processor
def _clock_helpers() -> dict:
    """The state badge (New, Open, Overdue 12 min, Closed) wherever a lead shows."""
    return {"lead_badge": partial(lead_clock_view.badge, now=utcnow())}


def _actor() -> Actor:
    return Actor(current_user.org_id, user=current_user, via="web")


def _choices() -> dict:
    org = current_org()
    return {
        "statuses": lead_settings.statuses(db.session, org.id),
        "sources": lead_settings.sources(db.session, org.id),
        "custom_fields": lead_settings.custom_fields(db.session, org.id),
        "products": lead_settings.products(db.session, org.id),
        "colleagues": users.colleagues(db.session, org.id),
        "unit_rows": _unit_rows(org.id),
    }


def _unit_rows(org_id: int):
    from leadtrack.services.units import tree

    return tree(db.session, org_id)


# -- the list --------------------------------------------------------------------------


@bp.get("")
def index():
    org = current_org()
    filters = lead_query.LeadFilters.from_args(request.args)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    try:
        stmt = lead_query.build_query(db.session, org, current_user, filters, utcnow())
    except ValidationError as exc:
        stmt, error = None, exc.errors
    else:
        error = None
    results = _results(stmt, filters, page) if stmt is not None else None
    template = (
        "leads/_results.html"
        if is_htmx() and request.headers.get("HX-Target") == "lead-results"
        else "leads/list.html"
    )
    return render_template(
        template, filters=filters, results=results, filter_errors=error, **_choices()
    )


def _results(stmt, filters: lead_query.LeadFilters, page: int) -> dict:
    total = lead_query.count(db.session, stmt)
    ordered = lead_query.with_relations(lead_query.sorted_query(stmt, filters.sort))
    size = lead_query.PAGE_SIZE
    rows = db.session.scalars(ordered.offset((page - 1) * size).limit(size)).all()
    capped = total > lead_query.COUNT_CAP
    return {
        "leads": rows,
        "total": total,
        "capped": capped,
        "page": page,
        "pages": max(1, -(-total // size)),
    }


@bp.post("/bulk")
def bulk_action():
    org = current_org()
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i is not None]
    action = request.form.get("action", "")
    value = request.form.get("tag_value" if action == "tag" else "value", "")
    message, status = None, 200
    try:
        changed = bulk.apply(
            db.session,
            org,
            current_user,
            ids,
            action,
            value,
            utcnow(),
            reason=request.form.get("reason", ""),
        )
    except ValidationError as exc:
        db.session.rollback()
        message, status = " ".join(exc.errors.values()), 422
    else:
        db.session.commit()
        message = f"{changed} lead(s) updated."
    filters = lead_query.LeadFilters.from_args(request.form)
    try:
        stmt = lead_query.build_query(db.session, org, current_user, filters, utcnow())
    except ValidationError:  # the filters were tampered with: show the unfiltered list
        filters = lead_query.LeadFilters()
        stmt = lead_query.build_query(db.session, org, current_user, filters, utcnow())
    return render_template(
        "leads/_results.html",
        filters=filters,
        results=_results(stmt, filters, 1),
        bulk_message=message,
        bulk_failed=status != 200,
        **_choices(),
    ), status


# -- new lead --------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
def new():
    org = current_org()
    choices = _choices()
    values, errors = {"source": "walk-in", "priority": "normal", "custom": {}}, {}
    # One id per rendered form: a double submit replays the first lead instead of a second one.
    submission_id = request.form.get("submission_id") or uuid.uuid4().hex
    if request.method == "POST":
        raw = raw_from_form(request.form, choices["custom_fields"])
        try:
            result = intake.create_lead(
                db.session,
                org,
                raw,
                _actor(),
                utcnow(),
                idempotency_key=f"form:{submission_id}",
                zone=viewer_timezone(),
            )
        except ValidationError as exc:
            db.session.rollback()
            values, errors = raw, exc.errors
            if "Idempotency-Key" in errors:  # saved before with other values (the Back button)
                submission_id = uuid.uuid4().hex
                errors = {
                    "form": "This form was already saved once. Check the values and "
                    "save again to add another lead."
                }
        else:
            db.session.commit()
            if not result.replayed:
                flash(
                    f"Lead #{result.lead.id} {result.lead.name} is saved. "
                    + result.existing.message,
                    "success",
                )
            if request.form.get("next") == "another":
                return redirect(url_for("leads.new"))
            return redirect(url_for("leads.detail", lead_id=result.lead.id))
    return render_template(
        "leads/new.html", values=values, errors=errors, submission_id=submission_id, **choices
    ), (422 if errors else 200)


@bp.get("/contact-check")
def contact_check():
    """The instant "existing contact" hint beside the phone and e-mail inputs."""
    org = current_org()
    emails, phones = _parse_contacts(org, request.args)
    existing = intake.find_existing_contact(db.session, org.id, emails, phones)
    return render_template("leads/_contact_hint.html", existing=existing)


def _parse_contacts(org, args) -> tuple[list[str], list[str]]:
    return contacts_of(db.session, org, args.get("emails", ""), args.get("phones", ""))


# -- one lead --------------------------------------------------------------------------


def _visible_lead(lead_id: int) -> Lead:
    return access.get_visible(db.session, current_user, Lead, lead_id)


def _lead_context(lead: Lead) -> dict:
    events = history.events_of(db.session, [lead.id])
    now = utcnow()
    return {
        "lead": lead,
        "events": list(reversed(events)),
        "describe": partial(history.describe, zone=viewer_timezone()),
        "actor_name": history.actor_name,
        "now": now,
        "clock": lead_clock_view.for_lead(db.session, lead, now, viewer_timezone()),
        "activities": leads.activities_of(db.session, lead.id),
        "existing": intake.find_existing_contact(
            db.session,
            lead.org_id,
            [e.email for e in lead.emails],
            [p.phone for p in lead.phones],
            exclude_lead_id=lead.id,
        ),
        "outcomes": leads.OUTCOMES,
        "can_reassign": current_user.can(Privilege.REASSIGN_LEADS),
        "can_merge": leads.may_merge(current_user),
        "decision": routing.latest_decision(db.session, lead.id),
        "checks": tasks.pending_for(db.session, current_org(), lead),
        **_choices(),
    }


@bp.get("/<id:lead_id>")
def detail(lead_id: int):
    return render_template("leads/detail.html", **_lead_context(_visible_lead(lead_id)))


def _lead_action(lead_id: int, change) -> tuple[str, int]:
    """Run one quick action; answer with the re-rendered lead body (errors shown inline)."""
    lead = _visible_lead(lead_id)
    error = None
    try:
        change(lead, _actor(), utcnow())
    except ValidationError as exc:
        db.session.rollback()
        lead = _visible_lead(lead_id)
        error = " ".join(exc.errors.values())
    else:
        db.session.commit()
    context = _lead_context(lead)
    return render_template("leads/_body.html", action_error=error, **context), (
        422 if error else 200
    )


@bp.post("/<id:lead_id>/activities")
def log_activity(lead_id: int):
    form = request.form
    return _lead_action(
        lead_id,
        lambda lead, actor, now: leads.add_activity(
            db.session,
            lead,
            actor,
            now,
            kind=form.get("kind", ""),
            outcome=form.get("outcome", ""),
            body=form.get("body", ""),
        ),
    )


@bp.post("/<id:lead_id>/status")
def change_status(lead_id: int):
    org = current_org()

    def change(lead, actor, now):
        updated = leads.update_fields(
            db.session, org, lead, {"status": request.form.get("status")}, actor, now
        )
        return updated

    return _lead_action(lead_id, change)


@bp.post("/<id:lead_id>/reminders")
def remind_me(lead_id: int):
    """ "Remind me if this lead is not updated in N days" (a personal task)."""
    days = parse_id(request.form.get("days", "")) or 0
    note = request.form.get("note", "")
    return _lead_action(
        lead_id,
        lambda lead, actor, now: tasks.remind_me(db.session, lead, actor.user, days, now, note),
    )


@bp.post("/<id:lead_id>/follow-up")
def set_follow_up(lead_id: int):
    org = current_org()
    value = request.form.get("follow_up_at", "")
    return _lead_action(
        lead_id,
        lambda lead, actor, now: leads.update_fields(
            db.session, org, lead, {"follow_up_at": value}, actor, now, zone=viewer_timezone()
        ),
    )


@bp.post("/<id:lead_id>/assign")
def assign(lead_id: int):
    org = current_org()
    value = request.form.get("assignee_id", "")
    return _lead_action(
        lead_id,
        lambda lead, actor, now: leads.update_fields(
            db.session, org, lead, {"assignee_id": value}, actor, now
        ),
    )


@bp.post("/<id:lead_id>/close")
def close(lead_id: int):
    org = current_org()

    def change(lead, actor, now):
        status = lead_settings.status_by_id(db.session, org.id, request.form.get("status", ""))
        leads.close(db.session, lead, status, request.form.get("reason", ""), actor, now)

    return _lead_action(lead_id, change)


@bp.post("/<id:lead_id>/merge")
def merge(lead_id: int):
    survivor = _visible_lead(lead_id)
    other_id = parse_id(request.form.get("other_lead_id", ""))
    try:
        if other_id is None:
            raise ValidationError({"other_lead_id": "Give the number of the other lead."})
        other = _visible_lead(other_id)
        leads.merge(db.session, survivor, other, _actor(), utcnow())
    except ValidationError as exc:
        db.session.rollback()
        flash(" ".join(exc.errors.values()), "error")
    else:
        db.session.commit()
        flash(f"Lead #{other_id} is merged into this one.", "success")
    return redirect(url_for("leads.detail", lead_id=lead_id))


@bp.route("/<id:lead_id>/edit", methods=["GET", "POST"])
def edit(lead_id: int):
    org = current_org()
    lead = _visible_lead(lead_id)
    choices = _choices()
    values, errors = form_values(lead, viewer_timezone()), {}
    if request.method == "POST":
        raw = raw_from_form(request.form, choices["custom_fields"])
        current = form_values(lead, viewer_timezone())
        # Send only what the person changed: an untouched field (a source switched off since,
        # the unit, the assignee — which has its own action and privilege) stays as it is.
        changes = {k: v for k, v in raw.items() if k in current and str(v) != str(current[k])}
        changes.pop("assignee_id", None)
        changes.pop("unit_id", None)
        try:
            leads.update_fields(
                db.session, org, lead, changes, _actor(), utcnow(), zone=viewer_timezone()
            )
        except ValidationError as exc:
            db.session.rollback()
            lead = _visible_lead(lead_id)
            values, errors = raw, exc.errors
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_template("leads/edit.html", lead=lead, values=values, errors=errors, **choices), (
        422 if errors else 200
    )


# -- follow-ups ------------------------------------------------------------------------


@bp.get("/follow-ups")
def follow_ups():
    org, now = current_org(), utcnow()

    def listing(when: str):
        filters = lead_query.LeadFilters(follow_up=when, sort="follow_up", status="active")
        stmt = lead_query.build_query(db.session, org, current_user, filters, now)
        ordered = lead_query.with_relations(lead_query.sorted_query(stmt, "follow_up"))
        return db.session.scalars(ordered.limit(200)).all()

    return render_template(
        "leads/follow_ups.html", today=listing("today"), missed=listing("overdue"), now=now
    )
