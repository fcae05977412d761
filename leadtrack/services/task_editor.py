"""The task builder behind /settings/tasks: a task as the sentence-style form holds it, read
from and written to the `tasks` section of the rules document, and the task list.

Every change edits the whole rules document and applies it (services/rules_document.py):
the same checks, versions and history as the CLI and the API. A task the form cannot show
(several actions of one kind, a `finally` or `if_met` beyond what the form offers) stays
editable through the document; the form then shows it read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from leadtrack.models import Organization, RoutingRule, RuleKind, RuleVersion
from leadtrack.services import clock_rules_editor, rule_book, rules_document, rules_editor, tasks
from leadtrack.services.clock_document import format_duration, parse_duration
from leadtrack.services.clock_rules_editor import UNIT_SECONDS, split_duration
from leadtrack.services.errors import NotFound, ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.lead_facts import catalog_for
from leadtrack.services.rules_editor import FORM, FormData, Row

SECTION = "tasks"
TRIGGERS = {
    "created": "the lead arrives",
    "assigned": "the lead is assigned",
    "status_changed": "the status changes",
    "field_changed": "a field changes",
    "idle": "the lead was last updated",
    "schedule": "on a schedule, for every open lead that matches",
}
DAYS = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}
UNTILS = {
    "status_changed": "the status changes",
    "status": "the status reaches a category",
    "filled": "a field is filled in",
    "ticked": "a checkbox is ticked",
    "closed": "the lead is closed",
    "updated": "somebody updates the lead",
    "nothing": "(no condition: act when the time is up)",
}
ROLES = {"assignee": "the assignee", "manager": "the manager", "supervisor": "the supervisor"}
REASSIGN = {"manager": "the manager", "supervisor": "the supervisor", "backup": "the backup"}
METHODS = {"round_robin": "round-robin", "fewest_open": "fewest open leads"}
OPS = {"gte": "at least", "lte": "at most", "gt": "more than", "lt": "less than"}


# -- the document ---------------------------------------------------------------------------


def document(session: Session, org: Organization) -> dict:
    """The document with every rule's id, tasks included, so a renamed task stays itself."""
    doc = clock_rules_editor.document(session, org)
    for entry, row in zip(
        doc[SECTION], rule_book.rules_of(session, org.id, RuleKind.TASK), strict=True
    ):
        entry["id"] = row.id
    return doc


def task_of(session: Session, org: Organization, rule_id: int) -> RoutingRule:
    rule = rules_editor.rule_of(session, org, rule_id)
    if not tasks.is_task(rule):
        raise NotFound(f"task {rule_id}")
    return rule


def entry_of(session: Session, org: Organization, rule: RoutingRule) -> dict:
    doc = document(session, org)
    return doc[SECTION][_index(doc, rule)]


def _index(doc: dict, rule: RoutingRule) -> int:
    return next(n for n, entry in enumerate(doc[SECTION]) if entry.get("id") == rule.id)


def _locked(session: Session, org: Organization) -> dict:
    rule_book.settings_of(session, org.id, lock=True)
    return document(session, org)


def save(
    session: Session,
    org: Organization,
    rule_id: int | None,
    entry: dict,
    actor: Actor,
    now: datetime,
) -> RuleVersion:
    """Add the task (rule_id None) or replace it; the rest of the document stays."""
    doc = _locked(session, org)
    new = {key: value for key, value in entry.items() if key != "id"}
    if rule_id is None:
        doc[SECTION].append(new)
        index = len(doc[SECTION]) - 1
    else:
        rule = task_of(session, org, rule_id)
        index = _index(doc, rule)
        new["id"] = rule.id
        new.setdefault("when", doc[SECTION][index].get("when"))
        doc[SECTION][index] = new
    return _apply(session, org, doc, actor, now, index)


def set_enabled(session, org, rule_id: int, enabled: bool, actor, now) -> RuleVersion:
    rule = task_of(session, org, rule_id)
    doc = _locked(session, org)
    doc[SECTION][_index(doc, rule)]["enabled"] = enabled
    summary = f"{'resumed' if enabled else 'paused'} task “{rule.name}”"
    return rules_document.apply(session, org, doc, actor, now, summary=summary)


def delete(session, org, rule_id: int, actor, now) -> RuleVersion:
    rule = task_of(session, org, rule_id)
    doc = _locked(session, org)
    del doc[SECTION][_index(doc, rule)]
    return rules_document.apply(
        session, org, doc, actor, now, summary=f"deleted task “{rule.name}”"
    )


def _apply(session, org, doc: dict, actor, now, index: int) -> RuleVersion:
    try:
        return rules_document.apply(session, org, doc, actor, now)
    except ValidationError as exc:
        raise ValidationError(for_form(exc.errors, index)) from None


def for_form(errors: dict[str, str], index: int) -> dict[str, str]:
    """The document's messages keyed by the form's parts (then, repeat, until, …)."""
    prefix = f"{SECTION}[{index}]"
    mine: dict[str, str] = {}
    others: list[str] = []
    for key, message in errors.items():
        if key == prefix or key.startswith(prefix + "."):
            part = key[len(prefix) + 1 :] or FORM
            part = part.split("[", 1)[0].split(".", 1)[0] if not part.startswith("when") else part
            text = message.split(": ", 1)[-1]
            mine[part] = text[:1].upper() + text[1:]
        else:
            others.append(message if message.startswith("rule ") else f"{key}: {message}")
    if others:
        mine[FORM] = " ".join(others)
    return mine


def preview(session: Session, org: Organization, entry: dict, now: datetime) -> tasks.Preview:
    """What the draft would touch; ValidationError when it is not a valid task yet."""
    draft = {key: value for key, value in entry.items() if key != "id"}
    draft["name"] = draft.get("name") or "Preview"
    clean = rules_document.read(session, org, {SECTION: [draft]})
    [rule] = clean[RuleKind.TASK]
    return tasks.preview(session, org, rule, now)


# -- the form -------------------------------------------------------------------------------


@dataclass
class TaskForm:
    name: str = ""
    enabled: bool = True
    combinator: str = "all"
    rows: list[Row] = field(default_factory=list)
    locked_when: Any = None
    locked: dict | None = None  # a task the form cannot show: kept, edited as a document
    trigger: str = "created"
    trigger_status: str = ""
    trigger_field: str = ""
    schedule_at: str = "09:00"
    schedule_days: list[str] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    until: str = "status_changed"
    until_category: str = "open"
    until_field: str = ""
    duration: str = "5"
    unit: str = "minutes"
    business_time: bool = False
    do_notify: bool = True
    notify_roles: list[str] = field(default_factory=lambda: ["assignee"])
    notify_people: list[str] = field(default_factory=list)
    cc_roles: list[str] = field(default_factory=list)
    cc_people: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    message: str = ""
    do_reassign: bool = False
    reassign_to: str = "manager"  # manager | supervisor | backup | user:<e-mail> | team:<unit>
    reassign_method: str = "round_robin"
    reassign_channels: list[str] = field(default_factory=list)
    do_status: bool = False
    status: str = ""
    do_tag: bool = False
    tag: str = ""
    do_follow_up: bool = False
    follow_up: str = "1"
    follow_up_unit: str = "days"
    do_set: bool = False
    set_field: str = ""
    set_value: str = ""
    do_repeat: bool = False
    every: str = "1"
    every_unit: str = "days"
    repeat_mode: str = "until"  # until | times
    repeat_until: str = "30"
    repeat_until_unit: str = "days"
    times: str = "3"
    final_reassign: str = ""  # like reassign_to; "" for none
    final_notify_manager: bool = False
    do_if_met: bool = False
    met_field: str = "value"
    met_op: str = "gte"
    met_value: str = ""
    met_roles: list[str] = field(default_factory=lambda: ["manager"])


def new_form() -> TaskForm:
    return TaskForm(rows=[Row(rules_editor.new_row_key(), "", "")])


def from_entry(entry: dict) -> TaskForm:
    """The form for a stored task, or a locked one when the form cannot show it."""
    form = TaskForm(name=entry["name"], enabled=entry.get("enabled", True))
    rows = rules_editor.rows_of(entry.get("when") or {})
    if rows is None:
        form.locked_when = entry.get("when")
    else:
        form.combinator, form.rows = rows
    try:
        _read_entry(form, entry)
    except (KeyError, ValueError, TypeError, AttributeError):
        form.locked = entry
    return form


def _read_entry(form: TaskForm, entry: dict) -> None:
    trigger = entry.get("trigger", "created")
    if isinstance(trigger, dict):
        ((form.trigger, value),) = trigger.items()
        if form.trigger == "status_changed":
            form.trigger_status = value
        elif form.trigger == "schedule":
            form.schedule_at = value["at"]
            form.schedule_days = list(value.get("days") or DAYS)
        else:
            form.trigger_field = value
    else:
        form.trigger = trigger
    until = entry.get("until", "status_changed")
    if isinstance(until, dict):
        ((form.until, value),) = until.items()
        if form.until == "status":
            form.until_category = value
        else:
            form.until_field = value
    else:
        form.until = until
    form.duration, form.unit = split_duration(_seconds(entry.get("within")))
    form.business_time = entry.get("business_time", True)
    form.do_notify = False
    kinds = [next(iter(action)) for action in entry.get("then") or []]
    if len(kinds) != len(set(kinds)):
        raise ValueError("several actions of one kind")
    for action in entry.get("then") or []:
        ((kind, value),) = action.items()
        _read_action(form, kind, value)
    if "repeat" in entry:
        form.do_repeat = True
        repeat = entry["repeat"]
        form.every, form.every_unit = split_duration(_seconds(repeat["every"]))
        if "until" in repeat:
            form.repeat_mode = "until"
            form.repeat_until, form.repeat_until_unit = split_duration(_seconds(repeat["until"]))
        else:
            form.repeat_mode, form.times = "times", str(repeat["times"])
    for action in entry.get("finally") or []:
        ((kind, value),) = action.items()
        if kind == "reassign":
            form.final_reassign = _target_key(value)
        elif kind == "notify" and value == {"to": ["manager"]}:
            form.final_notify_manager = True
        else:
            raise ValueError("a final action the form does not offer")
    if "if_met" in entry:
        _read_if_met(form, entry["if_met"])


def _read_action(form: TaskForm, kind: str, value: Any) -> None:
    if kind == "notify":
        form.do_notify = True
        to, cc = value.get("to") or [], value.get("cc") or []
        form.notify_roles = [p for p in to if p in ROLES]
        form.notify_people = [p for p in to if p not in ROLES]
        form.cc_roles = [p for p in cc if p in ROLES]
        form.cc_people = [p for p in cc if p not in ROLES]
        form.channels = list(value.get("channels") or [])
        form.message = value.get("message", "")
    elif kind == "reassign":
        form.do_reassign = True
        form.reassign_to = _target_key(value)
        if isinstance(value, dict):
            form.reassign_method = value.get("method", "round_robin")
            form.reassign_channels = list(value.get("channels") or [])
    elif kind == "status":
        form.do_status, form.status = True, value
    elif kind == "tag":
        form.do_tag, form.tag = True, value
    elif kind == "follow_up":
        form.do_follow_up = True
        form.follow_up, form.follow_up_unit = split_duration(_seconds(value))
    elif kind == "set":
        form.do_set, form.set_field, form.set_value = True, value["field"], str(value["value"])


def _read_if_met(form: TaskForm, met: dict) -> None:
    when = met.get("when") or {}
    leaves = when.get("all") if isinstance(when, dict) and "all" in when else [when] if when else []
    if len(leaves) != 1 or leaves[0].get("op") not in OPS:
        raise ValueError("an if_met condition the form does not offer")
    ((kind, value),) = (met.get("then") or [{}])[0].items()
    if kind != "notify" or len(met["then"]) != 1:
        raise ValueError("an if_met action the form does not offer")
    form.do_if_met = True
    form.met_field, form.met_op = leaves[0]["field"], leaves[0]["op"]
    form.met_value = str(leaves[0]["value"])
    form.met_roles = [p for p in value.get("to") or [] if p in ROLES]


def _target_key(value: Any) -> str:
    if isinstance(value, str):
        return value
    if "user" in value:
        return f"user:{value['user']}"
    if "team" in value:
        return f"team:{value['team']}"
    return next(key for key in value if key in REASSIGN)


def _seconds(raw: Any) -> int:
    return parse_duration(raw) or 0


TEXT_FIELDS = [
    "trigger",
    "trigger_status",
    "trigger_field",
    "schedule_at",
    "until",
    "until_category",
    "until_field",
    "duration",
    "message",
    "reassign_to",
    "reassign_method",
    "status",
    "tag",
    "follow_up",
    "follow_up_unit",
    "set_field",
    "set_value",
    "every",
    "every_unit",
    "repeat_mode",
    "repeat_until",
    "repeat_until_unit",
    "times",
    "final_reassign",
    "met_field",
    "met_op",
    "met_value",
]  # the form's names for TaskForm's text fields
SWITCHES = [
    "do_notify",
    "do_reassign",
    "do_status",
    "do_tag",
    "do_follow_up",
    "do_set",
    "do_repeat",
    "do_if_met",
    "final_notify_manager",
]
LISTS = [
    "schedule_days",
    "notify_roles",
    "notify_people",
    "cc_roles",
    "cc_people",
    "channels",
    "reassign_channels",
    "met_roles",
]


def from_form(data: FormData, stored: dict | None = None) -> TaskForm:
    form = TaskForm(name=_text(data, "name"), enabled=_on(data, "enabled"))
    if stored is not None and data.get("keep_task"):
        form.locked = stored
        return form
    if data.get("keep_conditions") and stored is not None:
        form.locked_when = stored.get("when")
    else:
        form.combinator, form.rows = rules_editor.rows_from_form(data)
    for name in TEXT_FIELDS:
        setattr(form, name, _text(data, name))
    form.unit = _text(data, "duration_unit") or "minutes"
    form.business_time = data.get("business_time") == "true"
    for name in SWITCHES:
        setattr(form, name, _on(data, name))
    for name in LISTS:
        setattr(form, name, [str(v) for v in data.getlist(name) if str(v).strip()])
    return form


def to_entry(form: TaskForm, session: Session, org: Organization) -> dict:
    """The task as the document writes it; the document's checks judge it."""
    if form.locked is not None:
        return {**form.locked, "name": form.name, "enabled": form.enabled}
    entry: dict[str, Any] = {"name": form.name, "enabled": form.enabled}
    if form.locked_when is None:
        catalog = catalog_for(session, org)
        entry["when"] = rules_editor.condition_of(form.combinator, form.rows, catalog)
    entry["trigger"] = _trigger_entry(form)
    entry["until"] = _until_entry(form)
    entry["within"] = _duration(form.duration, form.unit)
    entry["business_time"] = form.business_time
    entry["then"] = _actions(form)
    if form.do_repeat:
        repeat: dict[str, Any] = {"every": _duration(form.every, form.every_unit)}
        if form.repeat_mode == "times":
            repeat["times"] = _whole(form.times)
        else:
            repeat["until"] = _duration(form.repeat_until, form.repeat_until_unit)
        entry["repeat"] = repeat
        final = []
        if form.final_notify_manager:
            final.append({"notify": {"to": ["manager"]}})
        if form.final_reassign:
            final.append({"reassign": _target(form.final_reassign, "round_robin", [])})
        if final:
            entry["finally"] = final
    if form.do_if_met:
        value: Any = _number(form.met_value)
        entry["if_met"] = {
            "when": {"field": form.met_field, "op": form.met_op, "value": value},
            "then": [{"notify": {"to": form.met_roles or ["manager"]}}],
        }
    return entry


def _trigger_entry(form: TaskForm) -> Any:
    if form.trigger == "status_changed" and form.trigger_status:
        return {"status_changed": form.trigger_status}
    if form.trigger == "field_changed":
        return {"field_changed": form.trigger_field}
    if form.trigger == "schedule":
        return {"schedule": {"at": form.schedule_at, "days": form.schedule_days}}
    return form.trigger


def _until_entry(form: TaskForm) -> Any:
    if form.until == "status":
        return {"status": form.until_category}
    if form.until in ("filled", "ticked"):
        return {form.until: form.until_field}
    return form.until


def _actions(form: TaskForm) -> list[dict]:
    actions: list[dict] = []
    if form.do_notify:
        notify: dict[str, Any] = {"to": form.notify_roles + form.notify_people}
        if form.cc_roles or form.cc_people:
            notify["cc"] = form.cc_roles + form.cc_people
        if form.channels:
            notify["channels"] = form.channels
        if form.message:
            notify["message"] = form.message
        actions.append({"notify": notify})
    if form.do_status:
        actions.append({"status": form.status})
    if form.do_set:
        actions.append({"set": {"field": form.set_field, "value": _number(form.set_value)}})
    if form.do_tag:
        actions.append({"tag": form.tag})
    if form.do_follow_up:
        actions.append({"follow_up": _duration(form.follow_up, form.follow_up_unit)})
    if form.do_reassign:
        target = _target(form.reassign_to, form.reassign_method, form.reassign_channels)
        actions.append({"reassign": target})
    return actions


def _target(key: str, method: str, channels: list[str]) -> Any:
    kind, _, ref = key.partition(":")
    if kind == "user":
        target: Any = {"user": ref}
    elif kind == "team":
        target = {"team": ref}
        if method == "fewest_open":
            target["method"] = method
    else:
        target = kind
    if channels:
        target = {**(target if isinstance(target, dict) else {target: True}), "channels": channels}
    return target


def _duration(number: str, unit: str) -> Any:
    size = UNIT_SECONDS.get(unit, 60)
    value = number.strip()
    if value.isdigit():
        return format_duration(int(value) * size)
    return value  # refused by the document with its message


def _whole(text: str) -> Any:
    return int(text) if text.strip().isdigit() else text


def _number(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _text(data: FormData, name: str) -> str:
    return str(data.get(name) or "").strip()


def _on(data: FormData, name: str) -> bool:
    return data.get(name) in ("on", "y", "true", "1")


# -- the list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    id: int
    name: str
    enabled: bool
    sentence: str
    scope: str
    activity: tasks.Activity


@dataclass(frozen=True)
class TaskList:
    rows: list[TaskRow]
    paused: bool
    daily_cap: int


def task_list(session: Session, org: Organization, now: datetime) -> TaskList:
    catalog = catalog_for(session, org)
    statuses = tasks.statuses_by_id(session, org.id)
    activity = tasks.activity_of(session, org.id, now)
    none = tasks.Activity(0, 0, None)
    rows = [
        TaskRow(
            rule.id,
            rule.name,
            rule.enabled,
            tasks.describe(
                tasks.Task(
                    rule.id, rule.name, rule.within_seconds or 0, rule.business_time, rule.clock
                ),
                statuses,
            ),
            rules_editor.sentence(rule.conditions, catalog),
            activity.get(rule.id, none),
        )
        for rule in rule_book.rules_of(session, org.id, RuleKind.TASK)
    ]
    settings = rule_book.settings_of(session, org.id)
    return TaskList(rows, settings.tasks_paused, settings.task_daily_cap)
