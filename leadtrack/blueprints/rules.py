"""The rule editor, the simulator and the rule history (org admins, `manage_rules`).

Every change goes through services/rules_editor.py, which edits the rules document and
applies it: one check, one write and one version per change, the same as the CLI and the API.
A refused change re-renders its form or list with the messages (422); nothing is stored."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, privilege_required
from leadtrack.extensions import db
from leadtrack.models import (
    TEMPERATURES,
    Organization,
    Privilege,
    RoutingRule,
    RuleKind,
)
from leadtrack.services import lead_settings, rule_book, rules_document, rules_editor, simulator
from leadtrack.services.conditions import OP_LABELS, WEEKDAYS
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.ids import parse_id
from leadtrack.timeutil import to_zone, utcnow
from leadtrack.web import is_htmx

bp = Blueprint("rules", __name__, url_prefix="/settings/rules")

may_manage = privilege_required(Privilege.MANAGE_RULES)

LISTS = {RuleKind.ASSIGN: "rules/_assign_list.html", RuleKind.SCORE: "rules/_score_list.html"}
TITLES = {RuleKind.ASSIGN: "assignment rule", RuleKind.SCORE: "scoring rule"}


@bp.context_processor
def _builder_helpers() -> dict:
    return {
        "OP_LABELS": OP_LABELS,
        "WEEKDAYS": WEEKDAYS,
        "widget": rules_editor.widget,
        "TITLES": TITLES,
    }


def _actor() -> Actor:
    return Actor(current_user.org_id, user=current_user, via="web")


# -- the list -------------------------------------------------------------------------------


@bp.get("")
@may_manage
def index():
    org = current_org()
    view = rules_editor.overview(db.session, org)
    return render_template("rules/index.html", org=org, view=view, notice="", problem="")


def _list(org: Organization, kind: RuleKind, notice: str = "", problem: str = ""):
    view = rules_editor.overview(db.session, org)
    page = render_template(LISTS[kind], org=org, view=view, notice=notice, problem=problem)
    return page, 422 if problem else 200


def _row_action(rule_id: int, change: Callable, done: str):
    """Run one list action (a service call); answer with the list (htmx) or the page."""
    org = current_org()
    rule = rules_editor.rule_of(db.session, org, rule_id)
    kind, name = RuleKind(rule.kind), rule.name
    try:
        version = change(org)
    except ValidationError as exc:
        db.session.rollback()
        problem = " ".join(exc.errors.values())
        if not is_htmx():
            flash(problem, "error")
            return redirect(url_for(".index"))
        return _list(org, kind, problem=problem)
    db.session.commit()
    notice = f"{done.format(name=name)} Version {version.version}."
    if not is_htmx():
        flash(notice, "success")
        return redirect(url_for(".index"))
    return _list(org, kind, notice=notice)


@bp.post("/<id:rule_id>/move/<any(up, down):direction>")
@may_manage
def move(rule_id: int, direction: str):
    return _row_action(
        rule_id,
        lambda org: rules_editor.move_rule(db.session, org, rule_id, direction, _actor(), utcnow()),
        f"Moved “{{name}}” {direction}.",
    )


@bp.post("/<id:rule_id>/enabled")
@may_manage
def toggle(rule_id: int):
    enabled = request.form.get("enabled") in ("on", "y", "true", "1")
    return _row_action(
        rule_id,
        lambda org: rules_editor.set_enabled(db.session, org, rule_id, enabled, _actor(), utcnow()),
        "Enabled “{name}”." if enabled else "Disabled “{name}”.",
    )


@bp.post("/<id:rule_id>/delete")
@may_manage
def delete(rule_id: int):
    if request.form.get("next") != "index":
        return _row_action(
            rule_id,
            lambda org: rules_editor.delete_rule(db.session, org, rule_id, _actor(), utcnow()),
            "Deleted “{name}”.",
        )
    org = current_org()
    name = rules_editor.rule_of(db.session, org, rule_id).name
    try:
        version = rules_editor.delete_rule(db.session, org, rule_id, _actor(), utcnow())
    except ValidationError as exc:
        db.session.rollback()
        flash(" ".join(exc.errors.values()), "error")
        return _to(url_for(".edit", rule_id=rule_id))
    db.session.commit()
    flash(f"Deleted “{name}”. Version {version.version}.", "success")
    return _to(url_for(".index"))


def _to(url: str):
    """A redirect a plain form follows, and htmx too (HX-Redirect)."""
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": url})
    return redirect(url)


# -- editing one rule -----------------------------------------------------------------------


@bp.route("/new/<any(assign, score):kind>", methods=["GET", "POST"])
@may_manage
def new(kind: str):
    org, rule_kind = current_org(), RuleKind(kind)
    if request.method == "GET":
        state = rules_editor.rule_state(rule_kind)
        state.rows = [rules_editor.Row(rules_editor.new_row_key(), "", "")]
        return _edit_page(org, state, None, {})
    state = rules_editor.rule_state_from_form(rule_kind, request.form)
    return _save(org, state, None)


@bp.route("/<id:rule_id>", methods=["GET", "POST"])
@may_manage
def edit(rule_id: int):
    org = current_org()
    rule = rules_editor.rule_of(db.session, org, rule_id)
    entry = rules_editor.entry_of(db.session, org, rule)
    kind = RuleKind(rule.kind)
    if request.method == "GET":
        return _edit_page(org, rules_editor.rule_state(kind, entry), rule, {})
    state = rules_editor.rule_state_from_form(kind, request.form, stored_when=entry.get("when"))
    return _save(org, state, rule)


def _save(org: Organization, state: rules_editor.RuleState, rule: RoutingRule | None):
    choices = rules_editor.choices(db.session, org)
    entry = rules_editor.rule_entry(state, choices.catalog)
    rule_id = rule.id if rule is not None else None
    try:
        if rule_id is None:
            version = rules_editor.add_rule(db.session, org, state.kind, entry, _actor(), utcnow())
        else:
            version = rules_editor.update_rule(db.session, org, rule_id, entry, _actor(), utcnow())
    except ValidationError as exc:
        db.session.rollback()
        rule = db.session.get(RoutingRule, rule_id) if rule_id is not None else None
        return _edit_page(org, state, rule, exc.errors, choices=choices)
    db.session.commit()
    flash(f"Saved “{state.name}”. Version {version.version}.", "success")
    return redirect(url_for(".index"))


def _edit_page(org, state, rule, errors: dict, choices=None):
    choices = choices or rules_editor.choices(db.session, org)
    if state.assigns and state.target.type == "team" and rule is not None:
        stored = rules_editor.entry_of(db.session, org, rule).get("assign") or {}
        state.target.weights = dict(stored.get("weights") or {})
    page = render_template(
        "rules/edit.html",
        org=org,
        state=state,
        rule=rule,
        errors=errors,
        choices=choices,
        locked_yaml=rules_editor.as_yaml(state.locked_when) if state.locked_when else "",
        sample={},
        sample_options=_sample_options(org),
    )
    return page, 422 if errors else 200


@bp.get("/condition-row")
@may_manage
def condition_row():
    """One condition row, re-rendered for its new field or operator, or a new blank row."""
    org = current_org()
    choices = rules_editor.choices(db.session, org)
    key = request.args.get("key", "")
    fresh = not rules_editor.valid_key(key)
    if fresh:
        row = rules_editor.Row(rules_editor.new_row_key(), "", "")
    else:
        row = rules_editor.row_from_form(request.args, key)
        row = rules_editor.fit_row(row, choices.catalog, request.args.get("changed") == "field")
    return render_template(
        "rules/_condition_row.html", row=row, choices=choices, error="", focus=fresh
    )


@bp.get("/map-row")
@may_manage
def map_row():
    org = current_org()
    prefix = "fallback" if request.args.get("prefix") == "fallback" else "assign"
    return render_template(
        "rules/_map_row.html",
        prefix=prefix,
        value="",
        unit="",
        choices=rules_editor.choices(db.session, org),
        error="",
    )


@bp.post("/preview/<any(assign, score):kind>")
@may_manage
def preview(kind: str):
    """The rule as on the screen, tried on a sample lead; nothing is stored."""
    org, rule_kind = current_org(), RuleKind(kind)
    rule_id = parse_id(request.form.get("rule_id"))
    stored_when = None
    if rule_id is not None:
        rule = rules_editor.rule_of(db.session, org, rule_id)
        rule_kind = RuleKind(rule.kind)
        stored_when = rules_editor.entry_of(db.session, org, rule).get("when")
    state = rules_editor.rule_state_from_form(rule_kind, request.form, stored_when=stored_when)
    state.name = state.name or "This rule (not saved yet)"  # a name is not needed to try it
    choices = rules_editor.choices(db.session, org)
    entry = rules_editor.rule_entry(state, choices.catalog)
    sample = rules_editor.sample_from_form(request.form)
    try:
        results = rules_editor.preview(db.session, org, rule_kind, rule_id, entry, sample, utcnow())
    except ValidationError as exc:
        db.session.rollback()
        return _results([], exc.errors, draft=True)
    db.session.rollback()
    return _results(results, {}, draft=True)


def _results(results: list[dict], errors: dict, *, draft: bool = False, mode: str = "sample"):
    page = render_template(
        "rules/_results.html", results=results, errors=errors, draft=draft, mode=mode
    )
    return page, 422 if errors else 200


# -- the simulator --------------------------------------------------------------------------


@bp.route("/simulate", methods=["GET", "POST"])
@may_manage
def simulate():
    """The saved rules on a sample lead or on the last N leads; nothing is written. A plain
    GET (bookmarkable, works without JavaScript) gives the page; htmx posts for the results."""
    org = current_org()
    data = request.form if request.method == "POST" else request.args
    mode = data.get("mode", "")
    results: list[dict] | None = None
    errors: dict[str, str] = {}
    try:
        if mode == "sample":
            sample = rules_editor.sample_from_form(data)
            results = rules_editor.simulate_sample(db.session, org, sample, utcnow())
        elif mode == "last":
            count = data.get("last", "20")
            results = rules_editor.simulate_last(db.session, org, count, utcnow())
    except ValidationError as exc:
        errors = exc.errors
    finally:
        db.session.rollback()
    if is_htmx() and mode:
        return _results(results or [], errors, mode=mode)
    page = render_template(
        "rules/simulate.html",
        org=org,
        mode=mode or "sample",
        results=results,
        errors=errors,
        args=data,
        sample_options=_sample_options(org),
        max_last=simulator.MAX_LAST,
    )
    return page, 422 if errors else 200


def _sample_options(org: Organization) -> dict:
    return {
        "sources": lead_settings.sources(db.session, org.id),
        "products": lead_settings.products(db.session, org.id),
        "units": rules_editor.unit_refs(db.session, org.id),
        "temperatures": TEMPERATURES,
    }


# -- settings -------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@may_manage
def settings():
    org = current_org()
    errors: dict[str, str] = {}
    if request.method == "GET":
        state = rules_editor.settings_state(rules_editor.document(db.session, org)["settings"])
    else:
        state = rules_editor.settings_state_from_form(request.form)
        try:
            version = rules_editor.update_settings(
                db.session, org, rules_editor.settings_entry(state), _actor(), utcnow()
            )
        except ValidationError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(f"Settings saved. Version {version.version}.", "success")
            return redirect(url_for(".index"))
    page = render_template(
        "rules/settings.html",
        org=org,
        state=state,
        errors=errors,
        choices=rules_editor.choices(db.session, org),
    )
    return page, 422 if errors else 200


# -- versions -------------------------------------------------------------------------------


@bp.get("/versions")
@may_manage
def versions():
    org = current_org()
    rows = rules_document.versions(db.session, org.id, limit=200)
    return render_template(
        "rules/versions.html",
        org=org,
        versions=rows,
        when=lambda at: _org_time(org, at),
    )


@bp.get("/versions/<id:number>")
@may_manage
def version(number: int):
    org = current_org()
    found = rules_editor.version_of(db.session, org, number)
    return render_template(
        "rules/version.html",
        org=org,
        version=found,
        at=_org_time(org, found.at),
        yaml_text=rules_document.dump(found.document),
    )


@bp.get("/versions/<id:number>.yaml")
@may_manage
def version_yaml(number: int):
    org = current_org()
    found = rules_editor.version_of(db.session, org, number)
    return _yaml_download(rules_document.dump(found.document), f"rules-{org.slug}-v{number}.yaml")


@bp.get("/export.yaml")
@may_manage
def export_yaml():
    org = current_org()
    doc = rules_document.export(db.session, org)
    number = rule_book.settings_of(db.session, org.id).version
    db.session.rollback()
    return _yaml_download(rules_document.dump(doc), f"rules-{org.slug}-v{number}.yaml")


def _yaml_download(text: str, filename: str) -> Response:
    return Response(
        text,
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _org_time(org: Organization, at) -> str:
    local = to_zone(at, org.timezone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}" if local else "—"
