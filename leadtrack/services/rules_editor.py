"""The rule editor: each of its operations is an edit of the rules document.

Adding, changing, deleting, moving, enabling or disabling a rule, and changing the settings
all export the document, change one thing and apply it with `rules_document.apply`, so the
editor, the CLI and the API share one check, one write and one version history. An operation
returns the new RuleVersion, or raises ValidationError keyed by the editor's fields: "name",
"enabled", "when.all[1]", "assign.team", "points", "hot_from", "fallback.queue", …; a problem
elsewhere in the document (another rule) comes under "form".

The editor's forms are read into plain states (RuleState, TargetState, SettingsState), so a
form that was refused shows again exactly as it was typed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import (
    Organization,
    ReturnPolicy,
    RoutingRule,
    RuleKind,
    RuleVersion,
    Unit,
    User,
)
from leadtrack.services import rule_book, rules_document, simulator
from leadtrack.services.conditions import (
    EMPTY_OPS,
    LIST_OPS,
    Catalog,
    FieldSpec,
    Kind,
    describe,
    is_always,
)
from leadtrack.services.errors import NotFound, ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.lead_facts import catalog_for

SECTION = {RuleKind.ASSIGN: "assignment", RuleKind.SCORE: "scoring"}
TARGET_TYPES = ("user", "team", "by_field", "queue")
METHODS = ("round_robin", "fewest_open")
DIRECTIONS = ("up", "down")
FORM = "form"  # the error key for what is not about one field of the form
# Where the document's wording (its YAML syntax) would puzzle someone filling in the form.
FORM_WORDING = {
    "map": "Give at least one value of the field and the team it goes to.",
    "by_field": "Pick the lead field that chooses the team.",
}


class FormData(Protocol):
    """What the editor reads a form from (a werkzeug MultiDict, or anything alike)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...


# -- the document, with the ids of its rules ------------------------------------------------


def document(session: Session, org: Organization) -> dict:
    """The exported document; each rule also carries its id, so a renamed rule stays itself."""
    doc = rules_document.export(session, org)
    for kind, section in SECTION.items():
        rows = rule_book.rules_of(session, org.id, kind)
        for entry, row in zip(doc[section], rows, strict=True):
            entry["id"] = row.id
    return doc


def rule_of(session: Session, org: Organization, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None or rule.org_id != org.id:
        raise NotFound(f"rule {rule_id}")
    return rule


def entry_of(session: Session, org: Organization, rule: RoutingRule) -> dict:
    """The rule as the document says it (units by name, people by e-mail)."""
    doc = document(session, org)
    return doc[SECTION[RuleKind(rule.kind)]][_index(doc, rule)]


def version_of(session: Session, org: Organization, number: int) -> RuleVersion:
    found = session.scalars(
        select(RuleVersion).where(RuleVersion.org_id == org.id, RuleVersion.version == number)
    ).first()
    if found is None:
        raise NotFound(f"rule version {number}")
    return found


def _index(doc: dict, rule: RoutingRule) -> int:
    rules = doc[SECTION[RuleKind(rule.kind)]]
    return next(n for n, entry in enumerate(rules) if entry["id"] == rule.id)


# -- operations -----------------------------------------------------------------------------


def add_rule(
    session: Session, org: Organization, kind: RuleKind, entry: dict, actor: Actor, now: datetime
) -> RuleVersion:
    doc = _locked_document(session, org)
    index = _put(doc, kind, None, entry)
    return _apply(session, org, doc, actor, now, where=(kind, index))


def update_rule(
    session: Session, org: Organization, rule_id: int, entry: dict, actor: Actor, now: datetime
) -> RuleVersion:
    rule = rule_of(session, org, rule_id)
    doc = _locked_document(session, org)
    kind = RuleKind(rule.kind)
    old_name = rule.name
    index = _put(doc, kind, rule, entry)
    new_name = doc[SECTION[kind]][index].get("name")
    summary = ""
    if isinstance(new_name, str) and new_name.strip() and new_name.strip() != old_name:
        summary = f"renamed {SECTION[kind]} rule “{old_name}” to “{new_name.strip()}”"
    return _apply(session, org, doc, actor, now, where=(kind, index), summary=summary)


def delete_rule(
    session: Session, org: Organization, rule_id: int, actor: Actor, now: datetime
) -> RuleVersion:
    rule = rule_of(session, org, rule_id)
    doc = _locked_document(session, org)
    kind = RuleKind(rule.kind)
    del doc[SECTION[kind]][_index(doc, rule)]
    summary = f"deleted {SECTION[kind]} rule “{rule.name}”"
    return _apply(session, org, doc, actor, now, summary=summary)


def move_rule(
    session: Session,
    org: Organization,
    rule_id: int,
    direction: str,
    actor: Actor,
    now: datetime,
) -> RuleVersion:
    """One place up or down; the first rule cannot go up, nor the last one down."""
    if direction not in DIRECTIONS:
        raise ValidationError({FORM: "Move a rule up or down."})
    rule = rule_of(session, org, rule_id)
    doc = _locked_document(session, org)
    rules = doc[SECTION[RuleKind(rule.kind)]]
    index = _index(doc, rule)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rules):
        edge = "first" if direction == "up" else "last"
        raise ValidationError({FORM: f"“{rule.name}” is already the {edge} rule."})
    rules[index], rules[other] = rules[other], rules[index]
    summary = f"moved {SECTION[RuleKind(rule.kind)]} rule “{rule.name}” {direction}"
    return _apply(session, org, doc, actor, now, summary=summary)


def set_enabled(
    session: Session,
    org: Organization,
    rule_id: int,
    enabled: bool,
    actor: Actor,
    now: datetime,
) -> RuleVersion:
    rule = rule_of(session, org, rule_id)
    doc = _locked_document(session, org)
    doc[SECTION[RuleKind(rule.kind)]][_index(doc, rule)]["enabled"] = enabled
    done = "enabled" if enabled else "disabled"
    summary = f"{done} {SECTION[RuleKind(rule.kind)]} rule “{rule.name}”"
    return _apply(session, org, doc, actor, now, summary=summary)


def update_settings(
    session: Session, org: Organization, settings: dict, actor: Actor, now: datetime
) -> RuleVersion:
    """The fallback, the return-from-leave policy and the thresholds (given keys only)."""
    doc = _locked_document(session, org)
    doc["settings"] = {**doc["settings"], **settings}
    return _apply(session, org, doc, actor, now, where=("settings", None))


def preview(
    session: Session,
    org: Organization,
    kind: RuleKind,
    rule_id: int | None,
    entry: dict,
    sample: dict[str, Any],
    now: datetime,
) -> list[dict]:
    """What the rules would do with a sample lead if this rule were saved as `entry` — in
    a savepoint that is rolled back: nothing is stored, no version is kept. Raises
    ValidationError for the rule (form keys) or for the sample (keys "sample.<field>")."""
    rule = rule_of(session, org, rule_id) if rule_id is not None else None
    savepoint = session.begin_nested()
    try:
        doc = document(session, org)
        index = _put(doc, kind, rule, entry)
        _apply(session, org, doc, Actor(org.id, via="preview"), now, where=(kind, index))
        return _simulate_sample(session, org, sample, now)
    finally:
        savepoint.rollback()


def simulate_sample(
    session: Session, org: Organization, sample: dict[str, Any], now: datetime
) -> list[dict]:
    """The saved rules on a sample lead (simulator.sample_lead fields); nothing is written."""
    return _simulate_sample(session, org, sample, now)


def simulate_last(session: Session, org: Organization, count: Any, now: datetime) -> list[dict]:
    """The saved rules on the organization's last `count` leads; nothing is written."""
    number = _whole(count)
    if not isinstance(number, int):
        raise ValidationError({"last": f"Give a number of leads from 1 to {simulator.MAX_LAST}."})
    leads = simulator.last_leads(session, org, number)
    return [item.as_dict() for item in simulator.simulate(session, org, leads, now)]


def _simulate_sample(session: Session, org: Organization, sample: dict, now) -> list[dict]:
    try:
        lead = simulator.sample_lead(session, org, sample)
    except ValidationError as exc:
        raise ValidationError({f"sample.{k}": v for k, v in exc.errors.items()}) from None
    return [item.as_dict() for item in simulator.simulate(session, org, [lead], now)]


def _locked_document(session: Session, org: Organization) -> dict:
    """The current document, read after taking the rule set's lock (PostgreSQL): two
    admins editing at once each change the latest rules, never a stale copy."""
    rule_book.settings_of(session, org.id, lock=True)
    return document(session, org)


def _put(doc: dict, kind: RuleKind, rule: RoutingRule | None, entry: dict) -> int:
    """Put `entry` in place of `rule` (or at the end); returns its index. An entry without
    "when" keeps the rule's conditions, and a team keeps its weights from the document."""
    rules = doc[SECTION[kind]]
    new = {key: value for key, value in entry.items() if key != "id"}
    if rule is None:
        rules.append(new)
        return len(rules) - 1
    index = _index(doc, rule)
    old = rules[index]
    new["id"] = rule.id
    new.setdefault("when", old.get("when"))
    _keep_weights(old.get("assign"), new.get("assign"))
    rules[index] = new
    return index


def _keep_weights(old: Any, new: Any) -> None:
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return
    if old.get("weights") and "team" in new and new.get("team") == old.get("team"):
        new.setdefault("weights", old["weights"])


def _apply(
    session: Session,
    org: Organization,
    doc: dict,
    actor: Actor,
    now: datetime,
    *,
    where: tuple[Any, int | None] | None = None,
    summary: str = "",
) -> RuleVersion:
    try:
        return rules_document.apply(session, org, doc, actor, now, summary=summary)
    except ValidationError as exc:
        raise ValidationError(_for_form(exc.errors, doc, where)) from None


def _for_form(errors: dict[str, str], doc: dict, where) -> dict[str, str]:
    """The document's errors keyed by the form's fields; the rest joined under "form"."""
    prefix, label = "", ""
    if where is not None and where[0] == "settings":
        prefix, label = "settings", "fallback"
    elif where is not None:
        kind, index = where
        prefix = f"{SECTION[kind]}[{index}]"
        name = doc[SECTION[kind]][index].get("name")
        label = f"rule {name!r}" if isinstance(name, str) and name.strip() else f"rule {index + 1}"
    mine: dict[str, str] = {}
    others: list[str] = []
    for key, message in errors.items():
        if prefix and key.startswith(prefix + "."):
            field_key = key[len(prefix) + 1 :]
            own = message.removeprefix(f"{label}: ")
            own = FORM_WORDING.get(field_key.rpartition(".")[2], own[:1].upper() + own[1:])
            mine[field_key] = own
        elif prefix and key == prefix:
            own = message.removeprefix(f"{label}: ")
            mine[FORM] = own[:1].upper() + own[1:]
        else:
            others.append(f"{key}: {message}" if not message.startswith("rule ") else message)
    if others:
        mine[FORM] = " ".join([mine.get(FORM, ""), *others]).strip()
    return mine


# -- form states ----------------------------------------------------------------------------


@dataclass
class Row:
    """One condition row of the builder, as typed."""

    key: str
    field: str
    op: str
    values: list[str] = field(default_factory=list)


@dataclass
class TargetState:
    type: str = "team"
    user: str = ""
    team: str = ""
    method: str = "round_robin"
    by_field: str = "district"
    mapping: list[tuple[str, str]] = field(default_factory=list)
    otherwise: str = ""
    queue: str = ""
    around_clock: bool = False
    weights: dict = field(default_factory=dict)  # kept from the document, not edited here


@dataclass
class RuleState:
    kind: RuleKind
    name: str = ""
    enabled: bool = True
    combinator: str = "all"
    rows: list[Row] = field(default_factory=list)
    locked_when: Any = None  # nested conditions: shown read-only, kept as they are
    target: TargetState = field(default_factory=TargetState)
    points: str = "10"

    @property
    def assigns(self) -> bool:
        return self.kind is RuleKind.ASSIGN


@dataclass
class SettingsState:
    return_policy: str = ReturnPolicy.FRESH_START.value
    hot_from: str = "60"
    warm_from: str = "30"
    urgent_from: str = "80"
    high_from: str = "50"
    fallback: TargetState = field(default_factory=lambda: TargetState(type="queue"))


def new_row_key() -> str:
    return "n" + secrets.token_hex(4)


def valid_key(key: str) -> bool:
    """A row key from the page: letters and digits only (it becomes part of names and ids)."""
    return bool(re.fullmatch(r"[A-Za-z0-9]{1,16}", key or ""))


def rule_state(kind: RuleKind, entry: dict | None = None) -> RuleState:
    """The form of a stored rule (its document entry), or of a new one."""
    state = RuleState(kind)
    if entry is None:
        return state
    state.name = str(entry.get("name") or "")
    state.enabled = entry.get("enabled", True) is not False
    rows = rows_of(entry.get("when"))
    if rows is None:
        state.locked_when = entry.get("when")
    else:
        state.combinator, state.rows = rows
    if kind is RuleKind.ASSIGN:
        state.target = target_state(entry.get("assign") or {})
    else:
        state.points = str(entry.get("points", 0))
    return state


def rule_state_from_form(kind: RuleKind, form: FormData, stored_when: Any = None) -> RuleState:
    state = RuleState(kind)
    state.name = str(form.get("name") or "").strip()
    state.enabled = _checked(form, "enabled")
    if form.get("keep_conditions") and stored_when is not None:
        state.locked_when = stored_when
    else:
        state.combinator, state.rows = rows_from_form(form)
    if kind is RuleKind.ASSIGN:
        state.target = target_state_from_form(form, "assign")
    else:
        state.points = str(form.get("points") or "").strip()
    return state


def rule_entry(state: RuleState, catalog: Catalog) -> dict:
    """The document entry for a rule form (checked by the document, not here)."""
    entry: dict[str, Any] = {"name": state.name, "enabled": state.enabled}
    if state.locked_when is None:
        entry["when"] = condition_of(state.combinator, state.rows, catalog)
    if state.assigns:
        entry["assign"] = target_entry(state.target)
    else:
        entry["points"] = _whole(state.points)
    return entry


def rows_of(node: Any) -> tuple[str, list[Row]] | None:
    """The builder rows of a condition, or None when it nests groups (or uses "not")."""
    if is_always(node):
        return "all", []
    if not isinstance(node, dict):
        return None
    if "field" in node:
        children, combinator = [node], "all"
    elif set(node) in ({"all"}, {"any"}) and isinstance(next(iter(node.values())), list):
        combinator = next(iter(node))
        children = node[combinator]
    else:
        return None
    if not all(isinstance(child, dict) and "field" in child for child in children):
        return None
    return combinator, [_row_of(f"r{n}", child) for n, child in enumerate(children)]


def _row_of(key: str, leaf: dict) -> Row:
    value = leaf.get("value")
    if value is None:
        values = []
    elif isinstance(value, list):
        values = [_text(item) for item in value]
    else:
        values = [_text(value)]
    return Row(key, str(leaf.get("field", "")), str(leaf.get("op", "")), values)


def rows_from_form(form: FormData) -> tuple[str, list[Row]]:
    """The builder's rows in page order; a row with no field picked is left out."""
    combinator = "any" if form.get("combinator") == "any" else "all"
    rows = []
    for key in form.getlist("cond"):
        key = str(key)
        if not valid_key(key):
            continue
        row = row_from_form(form, key)
        if row.field:
            rows.append(row)
    return combinator, rows


def row_from_form(form: FormData, key: str) -> Row:
    return Row(
        key,
        str(form.get(f"cond-{key}-field") or "").strip(),
        str(form.get(f"cond-{key}-op") or "").strip(),
        [str(v) for v in form.getlist(f"cond-{key}-value")],
    )


def fit_row(row: Row, catalog: Catalog, field_changed: bool) -> Row:
    """A row after its field or operator changed: the operator one the field has, and the
    values dropped when they were for another field."""
    spec = catalog.get(row.field)
    if spec is None:
        return Row(row.key, "", "", [])
    op = row.op if row.op in spec.ops else spec.ops[0]
    return Row(row.key, spec.name, op, [] if field_changed else row.values)


def condition_of(combinator: str, rows: list[Row], catalog: Catalog) -> dict:
    return {combinator: [_leaf(row, catalog) for row in rows]}


def _leaf(row: Row, catalog: Catalog) -> dict:
    leaf: dict[str, Any] = {"field": row.field, "op": row.op}
    if row.op in EMPTY_OPS:
        return leaf
    spec = catalog.get(row.field)
    raw = [value.strip() for value in row.values if value.strip()]
    if spec is None:
        if raw:
            leaf["value"] = raw[0]
        return leaf
    if row.op == "between":
        leaf["value"] = [_typed(spec, value) for value in raw]
    elif takes_list(spec, row.op):
        if not spec.options and spec.kind is not Kind.WEEKDAY:
            raw = [part.strip() for value in raw for part in value.split(",") if part.strip()]
        leaf["value"] = [_typed(spec, value) for value in raw]
    elif len(raw) == 1:
        leaf["value"] = _typed(spec, raw[0])
    elif raw:
        leaf["value"] = [_typed(spec, value) for value in raw]
    return leaf


def takes_list(spec: FieldSpec, op: str) -> bool:
    return op in LIST_OPS or (spec.kind is Kind.WEEKDAY and op == "in")


def widget(spec: FieldSpec | None, op: str) -> str:
    """Which value input a condition row shows for this field and operator."""
    if spec is None or op in EMPTY_OPS or op not in spec.ops:
        return "none"
    many = takes_list(spec, op)
    if spec.kind is Kind.FLAG:
        return "flag"
    if spec.kind is Kind.WEEKDAY:
        return "weekdays" if many else "weekday"
    if spec.kind in (Kind.TIME, Kind.NUMBER):
        return f"{spec.kind.value}-range" if op == "between" else spec.kind.value
    if spec.options:
        return "multi" if many else "select"
    return "list-text" if many else "text"


def _typed(spec: FieldSpec, text: str) -> Any:
    if spec.kind is Kind.NUMBER:
        number = _number(text)
        return text if number is None else number
    if spec.kind is Kind.FLAG:
        return {"true": True, "false": False}.get(text.lower(), text)
    return text


def target_state(assign: dict) -> TargetState:
    state = TargetState(around_clock=assign.get("hours") is False)
    kinds = [kind for kind in TARGET_TYPES if kind in assign]
    state.type = kinds[0] if kinds else "team"
    state.user = _text(assign.get("user"))
    state.team = _text(assign.get("team"))
    state.method = assign.get("method") or "round_robin"
    state.by_field = _text(assign.get("by_field")) or "district"
    state.mapping = [(str(k), _text(v)) for k, v in (assign.get("map") or {}).items()]
    state.otherwise = _text(assign.get("otherwise"))
    state.queue = _text(assign.get("queue"))
    state.weights = dict(assign.get("weights") or {})
    return state


def target_state_from_form(form: FormData, prefix: str) -> TargetState:
    def text(name: str) -> str:
        return str(form.get(f"{prefix}.{name}") or "").strip()

    values = [str(v).strip() for v in form.getlist(f"{prefix}.map_value")]
    units = [str(u).strip() for u in form.getlist(f"{prefix}.map_unit")]
    return TargetState(
        type=text("type"),
        user=text("user"),
        team=text("team"),
        method=text("method") or "round_robin",
        by_field=text("by_field"),
        mapping=[(v, u) for v, u in zip(values, units, strict=False) if v or u],
        otherwise=text("otherwise"),
        queue=text("queue"),
        around_clock=_checked(form, f"{prefix}.around_clock"),
    )


def target_entry(state: TargetState) -> dict:
    """The document's target; an unknown type gives {} (the document says what to pick)."""
    target: dict[str, Any]
    if state.type == "user":
        target = {"user": state.user}
    elif state.type == "team":
        target = {"team": state.team, "method": state.method}
    elif state.type == "by_field":
        target = {
            "by_field": state.by_field,
            "map": {value: unit for value, unit in state.mapping if value},
            "method": state.method,
        }
        if state.otherwise:
            target["otherwise"] = state.otherwise
    elif state.type == "queue":
        target = {"queue": state.queue or None}
    else:
        return {}
    if state.around_clock:
        target["hours"] = False
    return target


def settings_state(settings: dict) -> SettingsState:
    priority = settings.get("priority_from") or {}
    return SettingsState(
        return_policy=str(settings.get("return_policy") or ReturnPolicy.FRESH_START.value),
        hot_from=_text(settings.get("hot_from")),
        warm_from=_text(settings.get("warm_from")),
        urgent_from=_text(priority.get("urgent")),
        high_from=_text(priority.get("high")),
        fallback=target_state(settings.get("fallback") or {"queue": None}),
    )


def settings_state_from_form(form: FormData) -> SettingsState:
    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    return SettingsState(
        return_policy=text("return_policy"),
        hot_from=text("hot_from"),
        warm_from=text("warm_from"),
        urgent_from=text("urgent_from"),
        high_from=text("high_from"),
        fallback=target_state_from_form(form, "fallback"),
    )


def settings_entry(state: SettingsState) -> dict:
    return {
        "return_policy": state.return_policy,
        "hot_from": _whole(state.hot_from),
        "warm_from": _whole(state.warm_from),
        "priority_from": {"urgent": _whole(state.urgent_from), "high": _whole(state.high_from)},
        "fallback": target_entry(state.fallback),
    }


def sample_from_form(form: FormData, prefix: str = "sample.") -> dict[str, Any]:
    """A sample lead for the simulator from its small form (empty fields left out)."""
    sample: dict[str, Any] = {}
    for name in (
        "source",
        "intake_form",
        "value",
        "temperature",
        "district",
        "division",
        "unit_id",
        "product_id",
    ):
        value = str(form.get(prefix + name) or "").strip()
        if value:
            sample[name] = value
    tags = [t.strip() for t in str(form.get(prefix + "tags") or "").split(",") if t.strip()]
    if tags:
        sample["tags"] = tags
    return sample


def _checked(form: FormData, name: str) -> bool:
    return str(form.get(name) or "").lower() in ("on", "y", "yes", "true", "1")


def _number(text: Any) -> int | float | None:
    try:
        number = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number.adjusted() > 18:  # no 10**999999 as an int
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _whole(text: Any) -> Any:
    """A whole number from a form, or the text as it was (the document then says why)."""
    number = _number(text)
    return number if isinstance(number, int) else str(text or "").strip()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- what the pages show --------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """People and units by id, for sentences."""

    users: dict[int, str]
    units: dict[int, str]

    @classmethod
    def load(cls, session: Session, org_id: int) -> Names:
        users = dict(session.execute(select(User.id, User.name).where(User.org_id == org_id)).all())
        return cls(users, {ref.id: ref.path for ref in unit_refs(session, org_id)})

    def unit(self, unit_id: Any) -> str:
        return self.units.get(unit_id, "a unit that no longer exists")


METHOD_WORDS = {"round_robin": "round-robin", "fewest_open": "fewest open leads"}


def describe_target(target: dict, names: Names) -> str:
    """'round-robin in North / Main Street', 'to Jane Doe', …, for people."""
    kind = target.get("type")
    method = METHOD_WORDS.get(target.get("method"), "round-robin")
    if kind == "user":
        text = f"to {names.users.get(target.get('user_id'), 'a person who no longer exists')}"
    elif kind == "team":
        text = f"{method} in {names.unit(target.get('unit_id'))}"
    elif kind == "by_field":
        pairs = [f"{k} → {names.unit(v)}" for k, v in (target.get("map") or {}).items()]
        text = f"by {target.get('field')} ({'; '.join(pairs)}), {method}"
        if target.get("otherwise") is not None:
            text += f"; otherwise {names.unit(target['otherwise'])}"
    else:
        unit_id = target.get("unit_id")
        text = (
            "to the queue of the lead's own unit"
            if unit_id is None
            else f"to the queue of {names.unit(unit_id)}"
        )
    if target.get("hours") is False:
        text += ", around the clock"
    return text


@dataclass(frozen=True)
class RuleView:
    id: int
    name: str
    enabled: bool
    when: str
    then: str
    points: int


@dataclass(frozen=True)
class Overview:
    assign: list[RuleView]
    score: list[RuleView]
    fallback: str
    fallback_is_queue: bool
    return_policy: str
    hot_from: int
    warm_from: int
    priority_from: dict[str, int]
    version: int


def sentence(node: Any, catalog: Catalog) -> str:
    """`describe`, without the brackets around the whole condition."""
    for key, joiner in (("all", " and "), ("any", " or ")):
        if isinstance(node, dict) and set(node) == {key} and node[key]:
            return joiner.join(describe(child, catalog) for child in node[key])
    return describe(node, catalog)


def overview(session: Session, org: Organization) -> Overview:
    catalog = catalog_for(session, org)
    names = Names.load(session, org.id)
    settings = rule_book.settings_of(session, org.id)

    def views(kind: RuleKind) -> list[RuleView]:
        return [
            RuleView(
                rule.id,
                rule.name,
                rule.enabled,
                sentence(rule.conditions, catalog),
                describe_target(rule.target or {}, names) if kind is RuleKind.ASSIGN else "",
                rule.points,
            )
            for rule in rule_book.rules_of(session, org.id, kind)
        ]

    fallback = settings.fallback or rule_book.QUEUE_OWN_UNIT
    return Overview(
        assign=views(RuleKind.ASSIGN),
        score=views(RuleKind.SCORE),
        fallback=describe_target(fallback, names),
        fallback_is_queue=fallback.get("type") == "queue" and fallback.get("unit_id") is None,
        return_policy=str(settings.return_policy),
        hot_from=settings.hot_from,
        warm_from=settings.warm_from,
        priority_from=dict(settings.priority_from or rule_book.DEFAULT_PRIORITIES),
        version=settings.version,
    )


@dataclass(frozen=True)
class UnitRef:
    id: int
    ref: str  # how the document names it: its name, or its path when the name is not unique
    path: str
    depth: int


def unit_refs(session: Session, org_id: int) -> list[UnitRef]:
    """Every unit in tree order, with the name the document uses for it."""
    rows = session.execute(
        select(Unit.id, Unit.parent_id, Unit.name).where(Unit.org_id == org_id)
    ).all()
    names = {row.id: row.name for row in rows}
    children: dict[int | None, list[int]] = {}
    for row in sorted(rows, key=lambda r: r.name.casefold()):
        children.setdefault(row.parent_id if row.parent_id in names else None, []).append(row.id)
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    out: list[UnitRef] = []

    def walk(parent: int | None, trail: list[str], seen: set[int]) -> None:
        for unit_id in children.get(parent, []):
            if unit_id in seen:
                continue
            path = [*trail, names[unit_id]]
            joined = " / ".join(path)
            unique = counts[names[unit_id].casefold()] == 1
            out.append(UnitRef(unit_id, names[unit_id] if unique else joined, joined, len(trail)))
            walk(unit_id, path, seen | {unit_id})

    walk(None, [], set())
    return out


@dataclass(frozen=True)
class Choices:
    """What the editor's selects offer."""

    catalog: Catalog
    groups: list[tuple[str, list[FieldSpec]]]
    users: list[tuple[str, str]]  # (e-mail, "Name (e-mail)")
    units: list[UnitRef]
    route_fields: list[FieldSpec]  # fields a "by field" target can route on


def choices(session: Session, org: Organization) -> Choices:
    catalog = catalog_for(session, org)
    groups: dict[str, list[FieldSpec]] = {}
    for spec in catalog.fields.values():
        groups.setdefault(spec.group, []).append(spec)
    people = session.execute(
        select(User.email, User.name)
        .where(User.org_id == org.id, User.is_active_user.is_(True))
        .order_by(User.name)
    ).all()
    routable = (Kind.TEXT, Kind.CHOICE, Kind.UNIT)
    return Choices(
        catalog=catalog,
        groups=list(groups.items()),
        users=[(email, f"{name} ({email})") for email, name in people],
        units=unit_refs(session, org.id),
        route_fields=[spec for spec in catalog.fields.values() if spec.kind in routable],
    )


def as_yaml(doc: dict) -> str:
    return rules_document.dump(doc)
