"""The clock rules' editor (org admins, `manage_rules`): response times with their warnings
and escalation ladder, aging, "use it or lose it" and auto-close.

Every change goes through services/clock_rules_editor.py, which edits the rules document and
applies it: the same check, write and version history as the rule editor, the CLI and the
API. A refused change re-renders its form or list with the messages (422); nothing is stored.
The condition builder is the rule editor's (its partial and its row endpoint)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, privilege_required
from leadtrack.extensions import db
from leadtrack.models import Organization, Privilege, RoutingRule, RuleKind
from leadtrack.services import clock_rules_editor as editor
from leadtrack.services import rules_editor
from leadtrack.services.clock_document import MAX_STEPS, SECTIONS
from leadtrack.services.conditions import OP_LABELS, WEEKDAYS
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from leadtrack.web import is_htmx

bp = Blueprint("clock_rules", __name__, url_prefix="/settings/clock")

may_manage = privilege_required(Privilege.MANAGE_RULES)
KIND_SLUGS = "response, aging, reclaim, auto_close"

# What the page says about each kind of rule.
HEADINGS = {
    RuleKind.RESPONSE: "Response times",
    RuleKind.AGING: "Aging",
    RuleKind.RECLAIM: "Use it or lose it",
    RuleKind.AUTO_CLOSE: "Auto-close",
}
INTROS = {
    RuleKind.RESPONSE: "A new lead gets the deadline of the first enabled rule that matches it, "
    "counted from its arrival. The assignee is warned before it passes; when it passes, the "
    "escalation ladder climbs one step at a time until someone responds.",
    RuleKind.AGING: "Open leads with no activity for a while: the first enabled rule that "
    "matches tells someone, or moves the lead to a dead status.",
    RuleKind.RECLAIM: "A lead its assignee has not touched in time goes back through the "
    "assignment rules, and the previous assignee is left out.",
    RuleKind.AUTO_CLOSE: "Leads that stay in one status too long are closed: the first enabled "
    "rule that matches, counted from the last status change.",
}
EMPTY = {
    RuleKind.RESPONSE: (
        "No response-time rules yet: leads have no deadline.",
        "A response-time rule says how fast matching leads must be answered — for example web "
        "leads within 5 minutes of business time — warns the assignee at 50% and 80% of the "
        "time, and when the deadline passes reassigns the lead to the backup, marks it overdue "
        "and then tells a manager.",
    ),
    RuleKind.AGING: (
        "No aging rules: idle leads stay as they are.",
        "An aging rule acts on open leads with no activity for a while — for example after 14 "
        "days it tells the assignee, or sets the lead to a dead status.",
    ),
    RuleKind.RECLAIM: (
        "No “use it or lose it” rules: a lead stays with its assignee until someone moves it.",
        "Such a rule takes a lead back from an assignee who has not touched it within a time — "
        "for example 30 business minutes — and sends it through the assignment rules again.",
    ),
    RuleKind.AUTO_CLOSE: (
        "No auto-close rules: leads are closed by hand only.",
        "An auto-close rule closes leads that stay in a status for a time — for example as Lost "
        "after 90 days in Could not reach.",
    ),
}
TARGET_LABELS = {
    "backup": "The assignee's backup",
    "supervisor": "The assignee's supervisor",
    "manager": "The manager",
    "user": "A named person",
    "team": "A team (unit)",
}
ACTION_LABELS = {
    "reassign": "Reassign the lead to them",
    "watch": "Add them as a watcher",
    "notify": "Only tell them",
}
COUNT_LABELS = {
    "activity": "An activity logged by the assignee (call, e-mail, note…)",
    "status": "A status change out of the “new” category",
    "ack": "“I'm on it” from an alert",
}
DURATION_LABELS = {
    RuleKind.RESPONSE: "Respond within",
    RuleKind.AGING: "No activity for",
    RuleKind.RECLAIM: "Not touched within",
    RuleKind.AUTO_CLOSE: "In the same status for",
}


@bp.context_processor
def _helpers() -> dict:
    return {
        "OP_LABELS": OP_LABELS,
        "WEEKDAYS": WEEKDAYS,
        "widget": rules_editor.widget,
        "TITLES": editor.TITLES,
        "SECTIONS": SECTIONS,
        "RuleKind": RuleKind,
        "UNITS": editor.UNITS,
        "MAX_STEPS": MAX_STEPS,
        "KINDS": editor.KINDS,
        "HEADINGS": HEADINGS,
        "INTROS": INTROS,
        "EMPTY": EMPTY,
        "DURATION_LABELS": DURATION_LABELS,
        "TARGET_LABELS": TARGET_LABELS,
        "ACTION_LABELS": ACTION_LABELS,
        "COUNT_LABELS": COUNT_LABELS,
    }


def _actor() -> Actor:
    return Actor(current_user.org_id, user=current_user, via="web")


# -- the list -------------------------------------------------------------------------------


@bp.get("")
@may_manage
def index():
    org = current_org()
    view = editor.overview(db.session, org)
    return render_template("clock_rules/index.html", org=org, view=view)


def _section(org: Organization, kind: RuleKind, notice: str = "", problem: str = ""):
    view = editor.overview(db.session, org)
    page = render_template(
        "clock_rules/_section.html",
        kind=kind,
        rules=view.sections[kind],
        notice=notice,
        problem=problem,
    )
    return page, 422 if problem else 200


def _row_action(rule_id: int, change: Callable, done: str):
    """Run one list action; answer with the rule's section (htmx) or the page."""
    org = current_org()
    rule = editor.rule_of(db.session, org, rule_id)
    kind, name = RuleKind(rule.kind), rule.name
    try:
        version = change(org)
    except ValidationError as exc:
        db.session.rollback()
        problem = " ".join(exc.errors.values())
        if not is_htmx():
            flash(problem, "error")
            return redirect(url_for(".index"))
        return _section(org, kind, problem=problem)
    db.session.commit()
    notice = f"{done.format(name=name)} Version {version.version}."
    if not is_htmx():
        flash(notice, "success")
        return redirect(url_for(".index"))
    return _section(org, kind, notice=notice)


@bp.post("/<id:rule_id>/move/<any(up, down):direction>")
@may_manage
def move(rule_id: int, direction: str):
    return _row_action(
        rule_id,
        lambda org: editor.move_rule(db.session, org, rule_id, direction, _actor(), utcnow()),
        f"Moved “{{name}}” {direction}.",
    )


@bp.post("/<id:rule_id>/enabled")
@may_manage
def toggle(rule_id: int):
    enabled = request.form.get("enabled") in ("on", "y", "true", "1")
    return _row_action(
        rule_id,
        lambda org: editor.set_enabled(db.session, org, rule_id, enabled, _actor(), utcnow()),
        "Enabled “{name}”." if enabled else "Disabled “{name}”.",
    )


@bp.post("/<id:rule_id>/delete")
@may_manage
def delete(rule_id: int):
    if request.form.get("next") != "index":
        return _row_action(
            rule_id,
            lambda org: editor.delete_rule(db.session, org, rule_id, _actor(), utcnow()),
            "Deleted “{name}”.",
        )
    org = current_org()  # from the edit page: back to the list
    name = editor.rule_of(db.session, org, rule_id).name
    try:
        version = editor.delete_rule(db.session, org, rule_id, _actor(), utcnow())
    except ValidationError as exc:
        db.session.rollback()
        flash(" ".join(exc.errors.values()), "error")
        return _to(url_for(".edit", rule_id=rule_id))
    db.session.commit()
    flash(f"Deleted “{name}”. Version {version.version}.", "success")
    return _to(url_for(".index"))


def _to(url: str):
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": url})
    return redirect(url)


# -- editing one rule -----------------------------------------------------------------------


@bp.route(f"/new/<any({KIND_SLUGS}):kind>", methods=["GET", "POST"])
@may_manage
def new(kind: str):
    org, rule_kind = current_org(), RuleKind(kind)
    if request.method == "GET":
        return _edit_page(org, editor.new_state(rule_kind), None, {})
    state = editor.rule_state_from_form(rule_kind, request.form)
    return _save(org, state, None)


@bp.route("/<id:rule_id>", methods=["GET", "POST"])
@may_manage
def edit(rule_id: int):
    org = current_org()
    rule = editor.rule_of(db.session, org, rule_id)
    entry = editor.entry_of(db.session, org, rule)
    kind = RuleKind(rule.kind)
    if request.method == "GET":
        return _edit_page(org, editor.rule_state(kind, entry), rule, {})
    state = editor.rule_state_from_form(kind, request.form, stored_when=entry.get("when"))
    return _save(org, state, rule)


def _save(org: Organization, state: editor.ClockRuleState, rule: RoutingRule | None):
    entry = editor.rule_entry(state, db.session, org)
    rule_id = rule.id if rule is not None else None
    try:
        if rule_id is None:
            version = editor.add_rule(db.session, org, state.kind, entry, _actor(), utcnow())
        else:
            version = editor.update_rule(db.session, org, rule_id, entry, _actor(), utcnow())
    except ValidationError as exc:
        db.session.rollback()
        rule = db.session.get(RoutingRule, rule_id) if rule_id is not None else None
        return _edit_page(org, state, rule, exc.errors)
    db.session.commit()
    flash(f"Saved “{state.name}”. Version {version.version}.", "success")
    return redirect(url_for(".index") + f"#{SECTIONS[state.kind]}-heading")


def _edit_page(org: Organization, state: editor.ClockRuleState, rule, errors: dict):
    page = render_template(
        "clock_rules/edit.html",
        org=org,
        state=state,
        rule=rule,
        errors=errors,
        choices=editor.choices(db.session, org),
        locked_yaml=rules_editor.as_yaml(state.locked_when) if state.locked_when else "",
    )
    return page, 422 if errors else 200


@bp.get("/step-row")
@may_manage
def step_row():
    """A new row for the escalation ladder (a later step: it has its own delay)."""
    org = current_org()
    return render_template(
        "clock_rules/_step_row.html",
        step=editor.new_step(first=False),
        choices=editor.choices(db.session, org),
        errors={},
        n=None,
        focus=True,
    )
