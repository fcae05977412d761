"""The clock rules' editor: response times (warnings, the escalation ladder), aging, reclaim
("use it or lose it") and auto-close — each operation an edit of the rules document.

Like services/rules_editor.py for assignment and scoring: every save exports the whole
document, replaces, inserts, deletes or moves one entry of its clock section and applies it
with `rules_document.apply` — one check, one write, one version in the history. A refused
change raises ValidationError keyed by the form's fields: "name", "when.all[0]", "duration",
"warnings", "counts", "ladder", "ladder[1].after", "ladder[0].to", "then", "close_as", …;
what is not about one field comes under "form".

Forms are read into plain states (ClockRuleState, StepState), so a refused form shows again
exactly as it was typed. The condition builder is the rule editor's own (its rows, its
partial and its row endpoint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import (
    ChannelName,
    LeadStatus,
    Organization,
    RoutingRule,
    RuleKind,
    RuleVersion,
    StatusCategory,
)
from leadtrack.models.notification import CHANNEL_LABELS
from leadtrack.services import rule_book, rules_document, rules_editor
from leadtrack.services.clock import RESPONSE_KINDS
from leadtrack.services.clock_document import DURATION_KEY, MAX_STEPS, SECTIONS, parse_duration
from leadtrack.services.errors import NotFound, ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.lead_facts import catalog_for
from leadtrack.services.rules_editor import FORM, FormData, Names, Row
from leadtrack.timeutil import describe_duration

KINDS = tuple(SECTIONS)  # response, aging, reclaim, auto_close — the page's order
UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))
UNIT_SECONDS = dict(UNITS)
TARGETS = ("backup", "supervisor", "manager", "user", "team")
ACTIONS = ("reassign", "watch", "notify")
CHANNEL_WORDS = {channel.value: CHANNEL_LABELS[channel] for channel in ChannelName}
TITLES = {
    RuleKind.RESPONSE: "response-time rule",
    RuleKind.AGING: "aging rule",
    RuleKind.RECLAIM: "“use it or lose it” rule",
    RuleKind.AUTO_CLOSE: "auto-close rule",
}
COUNT_WORDS = {
    "activity": "an activity logged by the assignee",
    "status": "a status change out of “new”",
    "ack": "“I'm on it” from an alert",
}
TARGET_WORDS = {
    "backup": "the assignee's backup",
    "supervisor": "the assignee's supervisor",
    "manager": "the manager",
}
CLOSED = (StatusCategory.WON, StatusCategory.LOST, StatusCategory.DEAD)


# -- the document, with the ids of its clock rules ------------------------------------------


def document(session: Session, org: Organization) -> dict:
    """The exported document; every rule carries its id, so a renamed rule stays itself."""
    doc = rules_editor.document(session, org)
    for kind, section in SECTIONS.items():
        rows = rule_book.rules_of(session, org.id, kind)
        for entry, row in zip(doc[section], rows, strict=True):
            entry["id"] = row.id
    return doc


def rule_of(session: Session, org: Organization, rule_id: int) -> RoutingRule:
    """A clock rule of this organization (an assignment rule's id is not found here)."""
    rule = rules_editor.rule_of(session, org, rule_id)
    if not RuleKind(rule.kind).is_clock:
        raise NotFound(f"clock rule {rule_id}")
    return rule


def entry_of(session: Session, org: Organization, rule: RoutingRule) -> dict:
    doc = document(session, org)
    return doc[SECTIONS[RuleKind(rule.kind)]][_index(doc, rule)]


def _index(doc: dict, rule: RoutingRule) -> int:
    rules = doc[SECTIONS[RuleKind(rule.kind)]]
    return next(n for n, entry in enumerate(rules) if entry.get("id") == rule.id)


def _locked_document(session: Session, org: Organization) -> dict:
    """The latest document, read under the rule set's lock (two admins at once)."""
    rule_book.settings_of(session, org.id, lock=True)
    return document(session, org)


# -- operations -----------------------------------------------------------------------------


def add_rule(
    session: Session, org: Organization, kind: RuleKind, entry: dict, actor: Actor, now: datetime
) -> RuleVersion:
    if kind not in SECTIONS:
        raise ValidationError({FORM: "Not a clock rule."})
    doc = _locked_document(session, org)
    rules = doc[SECTIONS[kind]]
    rules.append({key: value for key, value in entry.items() if key != "id"})
    return _apply(session, org, doc, actor, now, where=(kind, len(rules) - 1))


def update_rule(
    session: Session, org: Organization, rule_id: int, entry: dict, actor: Actor, now: datetime
) -> RuleVersion:
    rule = rule_of(session, org, rule_id)
    kind, old_name = RuleKind(rule.kind), rule.name
    doc = _locked_document(session, org)
    index = _index(doc, rule)
    new = {key: value for key, value in entry.items() if key != "id"}
    new["id"] = rule.id
    new.setdefault("when", doc[SECTIONS[kind]][index].get("when"))  # kept conditions
    doc[SECTIONS[kind]][index] = new
    summary = ""
    name = new.get("name")
    if isinstance(name, str) and name.strip() and name.strip() != old_name:
        summary = f"renamed {SECTIONS[kind]} rule “{old_name}” to “{name.strip()}”"
    return _apply(session, org, doc, actor, now, where=(kind, index), summary=summary)


def delete_rule(
    session: Session, org: Organization, rule_id: int, actor: Actor, now: datetime
) -> RuleVersion:
    rule = rule_of(session, org, rule_id)
    doc = _locked_document(session, org)
    section = SECTIONS[RuleKind(rule.kind)]
    del doc[section][_index(doc, rule)]
    return _apply(session, org, doc, actor, now, summary=f"deleted {section} rule “{rule.name}”")


def move_rule(
    session: Session, org: Organization, rule_id: int, direction: str, actor: Actor, now: datetime
) -> RuleVersion:
    """One place up or down within its section; the first cannot go up, the last not down."""
    if direction not in rules_editor.DIRECTIONS:
        raise ValidationError({FORM: "Move a rule up or down."})
    rule = rule_of(session, org, rule_id)
    doc = _locked_document(session, org)
    section = SECTIONS[RuleKind(rule.kind)]
    rules = doc[section]
    index = _index(doc, rule)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rules):
        edge = "first" if direction == "up" else "last"
        raise ValidationError({FORM: f"“{rule.name}” is already the {edge} rule."})
    rules[index], rules[other] = rules[other], rules[index]
    summary = f"moved {section} rule “{rule.name}” {direction}"
    return _apply(session, org, doc, actor, now, summary=summary)


def set_enabled(
    session: Session, org: Organization, rule_id: int, enabled: bool, actor: Actor, now: datetime
) -> RuleVersion:
    rule = rule_of(session, org, rule_id)
    doc = _locked_document(session, org)
    section = SECTIONS[RuleKind(rule.kind)]
    doc[section][_index(doc, rule)]["enabled"] = enabled
    summary = f"{'enabled' if enabled else 'disabled'} {section} rule “{rule.name}”"
    return _apply(session, org, doc, actor, now, summary=summary)


def _apply(
    session: Session,
    org: Organization,
    doc: dict,
    actor: Actor,
    now: datetime,
    *,
    where: tuple[RuleKind, int] | None = None,
    summary: str = "",
) -> RuleVersion:
    try:
        return rules_document.apply(session, org, doc, actor, now, summary=summary)
    except ValidationError as exc:
        raise ValidationError(for_form(exc.errors, doc, where)) from None


# -- the document's messages, by the form's fields ------------------------------------------

_STEP_KEY = re.compile(r"ladder\[(\d+)\](?:\.(\w+))?")


def for_form(errors: dict[str, str], doc: dict, where) -> dict[str, str]:
    """The document's errors keyed by the form's fields (the rule's own duration is
    "duration"); a problem elsewhere in the document is joined under "form"."""
    mine: dict[str, str] = {}
    others: list[str] = []
    prefix = label = ""
    kind = None
    if where is not None:
        kind, index = where
        prefix = f"{SECTIONS[kind]}[{index}]"
        name = doc[SECTIONS[kind]][index].get("name")
        label = f"rule {name!r}" if isinstance(name, str) and name.strip() else f"rule {index + 1}"
    for key, message in errors.items():
        if prefix and (key == prefix or key.startswith(prefix + ".")):
            field_key = key[len(prefix) + 1 :] or FORM
            own = re.sub(r"^, step \d+: ", "", message.removeprefix(label))
            own = own.removeprefix(": ")
            if kind is not None and field_key == DURATION_KEY[kind]:
                field_key = "duration"
            mine[field_key] = _wording(field_key, own)
        else:
            others.append(message if message.startswith("rule ") else f"{key}: {message}")
    if others:
        mine[FORM] = " ".join([mine.get(FORM, ""), *others]).strip()
    return mine


def _wording(key: str, message: str) -> str:
    """The form's words where the document's (its YAML syntax) would puzzle."""
    step = _STEP_KEY.fullmatch(key)
    if key == "duration":
        return "Give a time from 1 second to 400 days."
    if key == "warnings":
        return "Give up to 5 percentages from 1 to 99, separated by commas, e.g. 50, 80."
    if key == "counts":
        return "Tick at least one thing that counts as a response."
    if key == "ladder":
        if "at most" in message:
            return f"At most {MAX_STEPS} steps."
        return "Add at least one step: what happens when the deadline passes."
    if key == "then" and "{status" in message:
        return "Choose to notify, or pick a status of the dead category."
    if key == "then":
        return message.replace("the status is one of", "Pick a status of the dead category")
    if key == "close_as":
        return message.replace("close_as is one of", "Pick the status to close as")
    if step and step.group(2) == "after":
        return "Say how long after the previous step, from 1 second to 400 days."
    if step and step.group(2) == "to":
        if "e-mail" in message:
            return "Pick the person."
        if "name a unit" in message:
            return "Pick the team."
        if "to is one of" in message:
            return "Pick who this step goes to."
    return message[:1].upper() + message[1:]


# -- form states ----------------------------------------------------------------------------


@dataclass
class StepState:
    """One step of the escalation ladder, as typed."""

    key: str
    after: str = ""
    after_unit: str = "minutes"
    to: str = "backup"
    user: str = ""
    team: str = ""
    method: str = "round_robin"
    action: str = "reassign"
    channels: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    overdue: bool = False


@dataclass
class ClockRuleState:
    kind: RuleKind
    name: str = ""
    enabled: bool = True
    combinator: str = "all"
    rows: list[Row] = field(default_factory=list)
    locked_when: Any = None  # nested conditions: shown read-only, kept as they are
    duration: str = "5"
    unit: str = "minutes"
    business_time: bool = True
    warnings: str = ""
    counts: list[str] = field(default_factory=lambda: list(RESPONSE_KINDS))
    steps: list[StepState] = field(default_factory=list)
    then: str = "notify"  # aging: notify | status
    then_status: str = ""
    close_as: str = ""
    reason: str = ""


def new_step(first: bool) -> StepState:
    """A fresh ladder step: the first reassigns to the backup and marks the lead overdue;
    a later one tells the manager 10 minutes after the step before."""
    key = rules_editor.new_row_key()
    if first:
        return StepState(key, overdue=True)
    return StepState(key, after="10", to="manager", action="notify")


def new_state(kind: RuleKind) -> ClockRuleState:
    state = ClockRuleState(kind)
    state.rows = [Row(rules_editor.new_row_key(), "", "")]
    if kind is RuleKind.RESPONSE:
        state.warnings = "50, 80"
        state.steps = [new_step(True)]
    elif kind is RuleKind.AGING:
        state.duration, state.unit = "14", "days"
    elif kind is RuleKind.RECLAIM:
        state.duration = "30"
    else:
        state.duration, state.unit = "90", "days"
    return state


def split_duration(seconds: int) -> tuple[str, str]:
    """The largest unit that gives a whole number: 300 -> ("5", "minutes")."""
    for unit, size in UNITS:
        if seconds and seconds % size == 0:
            return str(seconds // size), unit
    return str(seconds or 0), "seconds"


def _seconds_of(raw: Any) -> int:
    return parse_duration(raw) or 0


def rule_state(kind: RuleKind, entry: dict) -> ClockRuleState:
    """The form of a stored rule (its document entry)."""
    state = ClockRuleState(kind)
    state.name = str(entry.get("name") or "")
    state.enabled = entry.get("enabled", True) is not False
    rows = rules_editor.rows_of(entry.get("when"))
    if rows is None:
        state.locked_when = entry.get("when")
    else:
        state.combinator, state.rows = rows
    state.duration, state.unit = split_duration(_seconds_of(entry.get(DURATION_KEY[kind])))
    state.business_time = entry.get("business_time", True) is not False
    if kind is RuleKind.RESPONSE:
        state.warnings = ", ".join(str(p) for p in entry.get("warnings") or [])
        state.counts = list(entry.get("counts") or RESPONSE_KINDS)
        state.steps = [
            _step_state(f"s{n}", step) for n, step in enumerate(entry.get("ladder") or [])
        ]
    elif kind is RuleKind.AGING:
        then = entry.get("then", "notify")
        if isinstance(then, dict):
            state.then, state.then_status = "status", str(then.get("status") or "")
    elif kind is RuleKind.AUTO_CLOSE:
        state.close_as = str(entry.get("close_as") or "")
        state.reason = str(entry.get("reason") or "")
    return state


def _step_state(key: str, step: dict) -> StepState:
    after, unit = split_duration(_seconds_of(step.get("after", 0)))
    state = StepState(
        key,
        after=after if step.get("after") else "",
        after_unit=unit,
        action=str(step.get("action") or "reassign"),
        channels=list(step.get("channels") or []),
        cc=[str(email) for email in step.get("cc") or []],
        overdue=step.get("overdue") is True,
    )
    to = step.get("to")
    if isinstance(to, dict) and "user" in to:
        state.to, state.user = "user", str(to.get("user") or "")
    elif isinstance(to, dict) and "team" in to:
        state.to, state.team = "team", str(to.get("team") or "")
        state.method = str(to.get("method") or "round_robin")
    else:
        state.to = str(to or "backup")
    return state


def rule_state_from_form(kind: RuleKind, form: FormData, stored_when: Any = None) -> ClockRuleState:
    state = ClockRuleState(kind)
    state.name = _text(form, "name")
    state.enabled = _checked(form, "enabled")
    if form.get("keep_conditions") and stored_when is not None:
        state.locked_when = stored_when
    else:
        state.combinator, state.rows = rules_editor.rows_from_form(form)
    state.duration = _text(form, "duration")
    state.unit = _text(form, "unit") or "minutes"
    state.business_time = form.get("business_time") != "false"
    if kind is RuleKind.RESPONSE:
        state.warnings = _text(form, "warnings")
        state.counts = [str(c) for c in form.getlist("counts")]
        state.steps = [
            step_from_form(form, str(key))
            for key in form.getlist("step")
            if rules_editor.valid_key(str(key))
        ]
    elif kind is RuleKind.AGING:
        state.then = "status" if form.get("then") == "status" else "notify"
        state.then_status = _text(form, "then_status")
    elif kind is RuleKind.AUTO_CLOSE:
        state.close_as = _text(form, "close_as")
        state.reason = _text(form, "reason")
    return state


def step_from_form(form: FormData, key: str) -> StepState:
    def text(name: str) -> str:
        return _text(form, f"step-{key}-{name}")

    return StepState(
        key,
        after=text("after"),
        after_unit=text("after_unit") or "minutes",
        to=text("to"),
        user=text("user"),
        team=text("team"),
        method=text("method") or "round_robin",
        action=text("action"),
        channels=[str(c) for c in form.getlist(f"step-{key}-channels")],
        cc=[str(e) for e in form.getlist(f"step-{key}-cc") if str(e).strip()],
        overdue=_checked(form, f"step-{key}-overdue"),
    )


def rule_entry(state: ClockRuleState, session: Session, org: Organization) -> dict:
    """The document entry for a clock rule form (checked by the document, not here)."""
    kind = state.kind
    entry: dict[str, Any] = {"name": state.name, "enabled": state.enabled}
    if state.locked_when is None:
        catalog = catalog_for(session, org)
        entry["when"] = rules_editor.condition_of(state.combinator, state.rows, catalog)
    entry[DURATION_KEY[kind]] = _duration(state.duration, state.unit)
    entry["business_time"] = state.business_time
    if kind is RuleKind.RESPONSE:
        entry["warnings"] = _percents(state.warnings)
        entry["counts"] = list(state.counts)
        entry["ladder"] = [_step_entry(step, n) for n, step in enumerate(state.steps)]
    elif kind is RuleKind.AGING:
        entry["then"] = {"status": state.then_status} if state.then == "status" else "notify"
    elif kind is RuleKind.AUTO_CLOSE:
        entry["close_as"] = state.close_as
        if state.reason:
            entry["reason"] = state.reason
    return entry


def _step_entry(step: StepState, n: int) -> dict:
    out: dict[str, Any] = {}
    if n > 0:  # the first step happens at the deadline
        out["after"] = _duration(step.after, step.after_unit)
    to: Any
    if step.to == "user":
        to = {"user": step.user}
    elif step.to == "team":
        to = {"team": step.team, "method": step.method}
    else:
        to = step.to
    out["to"] = to
    out["action"] = step.action
    out["channels"] = list(step.channels)
    out["cc"] = list(step.cc)
    out["overdue"] = step.overdue
    return out


def _duration(number: str, unit: str) -> Any:
    """Seconds from a number and a unit; what is not a whole number goes to the document
    as it was typed (the document then says why)."""
    value = _whole(number)
    if not isinstance(value, int) or unit not in UNIT_SECONDS:
        return f"{number} {unit}".strip() if number else ""
    return value * UNIT_SECONDS[unit]


def _percents(text: str) -> list[Any]:
    parts = [p.strip().rstrip("%").strip() for p in re.split(r"[,;\s]+", text) if p.strip()]
    return [_whole(p) for p in parts if p]


def _whole(text: Any) -> Any:
    try:
        number = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return str(text or "").strip()
    if not number.is_finite() or number.adjusted() > 18 or number != number.to_integral_value():
        return str(text or "").strip()
    return int(number)


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def _checked(form: FormData, name: str) -> bool:
    return str(form.get(name) or "").lower() in ("on", "y", "yes", "true", "1")


# -- what the editor's selects offer --------------------------------------------------------


@dataclass(frozen=True)
class ClockChoices:
    rules: rules_editor.Choices  # the condition builder's fields, people and units
    dead_statuses: list[str]
    closed_statuses: list[tuple[str, str]]  # (name, category)
    channels: list[tuple[str, str]]  # (value, label)


def choices(session: Session, org: Organization) -> ClockChoices:
    statuses = list(
        session.scalars(
            select(LeadStatus)
            .where(LeadStatus.org_id == org.id, LeadStatus.active.is_(True))
            .order_by(LeadStatus.position, LeadStatus.id)
        )
    )
    return ClockChoices(
        rules=rules_editor.choices(session, org),
        dead_statuses=[s.name for s in statuses if s.category_enum is StatusCategory.DEAD],
        closed_statuses=[(s.name, str(s.category)) for s in statuses if s.category_enum in CLOSED],
        channels=list(CHANNEL_WORDS.items()),
    )


# -- what the list shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClockRuleView:
    id: int
    name: str
    enabled: bool
    when: str
    lines: list[tuple[str, str]]  # (label, words)


@dataclass(frozen=True)
class ClockOverview:
    sections: dict[RuleKind, list[ClockRuleView]]
    version: int

    @property
    def empty(self) -> bool:
        return not any(self.sections.values())


def overview(session: Session, org: Organization) -> ClockOverview:
    catalog = catalog_for(session, org)
    names = Names.load(session, org.id)
    statuses = dict(
        session.execute(
            select(LeadStatus.id, LeadStatus.name).where(LeadStatus.org_id == org.id)
        ).all()
    )
    sections = {
        kind: [
            ClockRuleView(
                rule.id,
                rule.name,
                rule.enabled,
                rules_editor.sentence(rule.conditions, catalog),
                describe(rule, names, statuses),
            )
            for rule in rule_book.rules_of(session, org.id, kind)
        ]
        for kind in KINDS
    }
    return ClockOverview(sections, rule_book.settings_of(session, org.id).version)


def timing(seconds: int, business_time: bool) -> str:
    """'5 min (business hours)' or '2 h (around the clock)'."""
    return f"{describe_duration(seconds or 0)} ({_hours(business_time)})"


def _hours(business_time: bool) -> str:
    return "business hours" if business_time else "around the clock"


def describe(rule: RoutingRule, names: Names, statuses: dict[int, str]) -> list[tuple[str, str]]:
    """The rule in words, line by line: [("Respond within", "5 min (business hours)"), …]."""
    kind, clock = RuleKind(rule.kind), rule.clock or {}
    span = timing(rule.within_seconds or 0, rule.business_time)
    if kind is RuleKind.RESPONSE:
        lines = [("Respond within", span)]
        warnings = clock.get("warnings") or []
        if warnings:
            lines.append(("Warn", "at " + ", ".join(f"{p}%" for p in warnings) + " of the time"))
        counts = clock.get("counts") or RESPONSE_KINDS
        lines.append(("Answered by", _joined([COUNT_WORDS.get(c, c) for c in counts], "or")))
        for n, step in enumerate(clock.get("ladder") or []):  # one line a step
            lines.append(("Then" if n == 0 else "", describe_step(step, n, names)))
        return lines
    if kind is RuleKind.AGING:
        if clock.get("action") == "status":
            name = statuses.get(clock.get("status_id"), "a status that no longer exists")
            then = f"set the status to {name}"
        else:
            then = "tell the assignee (or, with nobody assigned, the managers)"
        return [("No activity for", span), ("Then", then)]
    if kind is RuleKind.RECLAIM:
        return [
            ("Untouched for", span),
            ("Then", "back through the assignment rules, the previous assignee excluded"),
        ]
    name = statuses.get(clock.get("status_id"), "a status that no longer exists")
    then = f"close as {name}"
    if clock.get("reason"):
        then += f" — “{clock['reason']}”"
    return [("In its status for", span), ("Then", then)]


def describe_step(step: dict, n: int, names: Names) -> str:
    """'at the deadline reassign to the assignee's backup by SMS, marked overdue',
    '10 min later tell the manager'."""
    when = "at the deadline" if n == 0 else f"{describe_duration(step.get('after') or 0)} later"
    who = describe_target(step.get("to") or {}, names)
    action = step.get("action", "reassign")
    if action == "reassign":
        text = f"{when} reassign to {who}"
    elif action == "watch":
        text = f"{when} add {who} as a watcher"
    else:
        text = f"{when} tell {who}"
    channels = [CHANNEL_WORDS.get(c, c) for c in step.get("channels") or []]
    if channels:
        text += " by " + _joined(channels, "and")
    cc = [names.users.get(uid, "someone who left") for uid in step.get("cc") or []]
    if cc:
        text += ", cc " + _joined(cc, "and")
    if step.get("overdue"):
        text += ", marked overdue"
    return text


def describe_target(to: dict, names: Names) -> str:
    kind = to.get("type")
    if kind == "user":
        return names.users.get(to.get("user_id"), "a person who no longer exists")
    if kind == "team":
        method = rules_editor.METHOD_WORDS.get(to.get("method"), "round-robin")
        return f"someone in {names.unit(to.get('unit_id'))} ({method})"
    return TARGET_WORDS.get(kind, str(kind))


def _joined(items: list[str], word: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]
