"""The task manager's pages (org admins and whoever holds `manage_rules`): the task list with
its pause switches, the sentence-style builder with a preview, and deleting.

Every change goes through services/task_editor.py, which edits the rules document and applies
it. A refused change re-renders the form with its messages (422); nothing is stored."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, privilege_required
from leadtrack.extensions import db
from leadtrack.models import Organization, Privilege
from leadtrack.services import clock_rules_editor, rules_editor, task_editor, tasks
from leadtrack.services.conditions import OP_LABELS, WEEKDAYS
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from leadtrack.web import is_htmx

bp = Blueprint("tasks", __name__, url_prefix="/settings/tasks")

may_manage = privilege_required(Privilege.MANAGE_RULES)


@bp.context_processor
def _helpers() -> dict:
    return {
        "OP_LABELS": OP_LABELS,
        "WEEKDAYS": WEEKDAYS,
        "widget": rules_editor.widget,
        "UNITS": clock_rules_editor.UNITS,
        "TRIGGERS": task_editor.TRIGGERS,
        "SCHEDULE_DAYS": task_editor.DAYS,
        "UNTILS": task_editor.UNTILS,
        "ROLES": task_editor.ROLES,
        "REASSIGN": task_editor.REASSIGN,
        "METHODS": task_editor.METHODS,
        "MET_OPS": task_editor.OPS,
        "MESSAGES_WARNING": tasks.MESSAGES_WARNING,
    }


def _actor() -> Actor:
    return Actor(current_user.org_id, user=current_user, via="web")


# -- the list -------------------------------------------------------------------------------


@bp.get("")
@may_manage
def index():
    org = current_org()
    return render_template(
        "tasks/index.html", view=task_editor.task_list(db.session, org, utcnow())
    )


def _list(org: Organization, notice: str = "", problem: str = ""):
    view = task_editor.task_list(db.session, org, utcnow())
    page = render_template("tasks/_list.html", view=view, notice=notice, problem=problem)
    return page, 422 if problem else 200


def _list_action(change, done: str):
    org = current_org()
    try:
        change(org)
    except ValidationError as exc:
        db.session.rollback()
        problem = " ".join(exc.errors.values())
        if not is_htmx():
            flash(problem, "error")
            return redirect(url_for(".index"))
        return _list(org, problem=problem)
    db.session.commit()
    if not is_htmx():
        flash(done, "success")
        return redirect(url_for(".index"))
    return _list(org, notice=done)


@bp.post("/pause")
@may_manage
def pause_all():
    paused = request.form.get("paused") in ("on", "y", "true", "1")
    return _list_action(
        lambda org: tasks.set_paused(db.session, org, paused, _actor(), utcnow()),
        "All tasks are paused: none of them acts until you resume." if paused else "Tasks resumed.",
    )


@bp.post("/<id:rule_id>/enabled")
@may_manage
def toggle(rule_id: int):
    enabled = request.form.get("enabled") in ("on", "y", "true", "1")
    name = task_editor.task_of(db.session, current_org(), rule_id).name
    return _list_action(
        lambda org: task_editor.set_enabled(db.session, org, rule_id, enabled, _actor(), utcnow()),
        f"Resumed “{name}”." if enabled else f"Paused “{name}”: its pending checks are cancelled.",
    )


@bp.post("/<id:rule_id>/delete")
@may_manage
def delete(rule_id: int):
    name = task_editor.task_of(db.session, current_org(), rule_id).name
    return _list_action(
        lambda org: task_editor.delete(db.session, org, rule_id, _actor(), utcnow()),
        f"Deleted “{name}”; its pending checks are cancelled.",
    )


# -- the builder ----------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@may_manage
def new():
    org = current_org()
    if request.method == "GET":
        return _edit_page(org, task_editor.new_form(), None, {})
    return _save(org, task_editor.from_form(request.form), None)


@bp.route("/<id:rule_id>", methods=["GET", "POST"])
@may_manage
def edit(rule_id: int):
    org = current_org()
    rule = task_editor.task_of(db.session, org, rule_id)
    entry = task_editor.entry_of(db.session, org, rule)
    if request.method == "GET":
        return _edit_page(org, task_editor.from_entry(entry), rule, {})
    return _save(org, task_editor.from_form(request.form, stored=entry), rule)


def _save(org: Organization, form: task_editor.TaskForm, rule):
    entry = task_editor.to_entry(form, db.session, org)
    rule_id = rule.id if rule is not None else None
    try:
        version = task_editor.save(db.session, org, rule_id, entry, _actor(), utcnow())
    except ValidationError as exc:
        db.session.rollback()
        rule = task_editor.task_of(db.session, org, rule_id) if rule_id is not None else None
        return _edit_page(org, form, rule, exc.errors)
    db.session.commit()
    flash(f"Saved “{form.name}”. Version {version.version}.", "success")
    return redirect(url_for(".index"))


def _edit_page(org: Organization, form: task_editor.TaskForm, rule, errors: dict):
    page = render_template(
        "tasks/edit.html",
        form=form,
        rule=rule,
        errors=errors,
        choices=clock_rules_editor.choices(db.session, org),
        statuses=tasks.statuses_by_id(db.session, org.id).values(),
        locked_yaml=_yaml(form),
    )
    return page, 422 if errors else 200


def _yaml(form: task_editor.TaskForm) -> str:
    if form.locked is not None:
        return rules_editor.as_yaml(form.locked)
    return rules_editor.as_yaml(form.locked_when) if form.locked_when else ""


@bp.post("/preview")
@may_manage
def preview():
    """What the draft on the form would touch now (an htmx fragment)."""
    org = current_org()
    form = task_editor.from_form(request.form)
    entry = task_editor.to_entry(form, db.session, org)
    try:
        result = task_editor.preview(db.session, org, entry, utcnow())
        problem = ""
    except ValidationError as exc:
        result, problem = None, "Finish the task first: " + " ".join(exc.errors.values())
    finally:
        db.session.rollback()
    return render_template("tasks/_preview.html", preview=result, problem=problem)
