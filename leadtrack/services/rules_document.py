"""Rules as a document (YAML or JSON): export, check, and apply all-or-nothing.

The document names people by e-mail and units by name (or by path, "North / Store 1",
when a name is not unique), so it reads well and moves between installations. Every change
to the rules — from the editor, the CLI or the API — goes through `apply`, which checks the
whole document, writes it, bumps the rule-set version and keeps the document as a version.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import uuid4

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from leadtrack.models import (
    AssignmentDecision,
    Lead,
    Organization,
    ReturnPolicy,
    RoutingRule,
    RuleKind,
    RuleVersion,
    Timer,
    User,
)
from leadtrack.services import clock_document, rule_book, task_document, tasks
from leadtrack.services.conditions import check, normalize
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.lead_facts import UnitTree, catalog_for
from leadtrack.services.lead_fields import CONTROL_MESSAGE, has_control_characters
from leadtrack.services.rotation import MAX_WEIGHT
from leadtrack.services.routing import METHODS

MAX_RULES = 500
MAX_DOCUMENT_BYTES = 1_000_000
RULE_SECTIONS = {
    RuleKind.ASSIGN: "assignment",
    RuleKind.SCORE: "scoring",
    **clock_document.SECTIONS,
    **task_document.SECTIONS,
}
SECTIONS = ("settings", *RULE_SECTIONS.values())
_COMMON_KEYS = {"name", "enabled", "when", "id"}
RULE_KEYS = {
    RuleKind.ASSIGN: _COMMON_KEYS | {"assign"},
    RuleKind.SCORE: _COMMON_KEYS | {"points"},
    **{kind: _COMMON_KEYS | keys for kind, keys in clock_document.KEYS.items()},
    RuleKind.TASK: _COMMON_KEYS | task_document.KEYS,
}
MAX_TASK_CAP = 50


# -- reading and writing text ---------------------------------------------------------------


def parse(text: str | bytes, fmt: str = "yaml") -> dict:
    """The document in `text`; YAML also reads JSON. Raises ValidationError naming the line."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ValidationError({"document": "The document is larger than 1 MB."})
    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            {"document": f"Not valid JSON: line {exc.lineno}: {exc.msg}."}
        ) from None
    except RecursionError:
        raise ValidationError({"document": "The document is nested too deeply."}) from None
    except UnicodeDecodeError:
        raise ValidationError({"document": "The document is not UTF-8 text."}) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationError({"document": f"Not valid YAML: {where}{problem}."}) from None
    if not isinstance(data, dict):
        raise ValidationError(
            {"document": "Expected a mapping with settings, assignment, scoring."}
        )
    return data


def dump(document: dict, fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


# -- export ---------------------------------------------------------------------------------


def export(session: Session, org: Organization) -> dict:
    refs = _Refs(session, org)
    settings = rule_book.settings_of(session, org.id)
    return {
        "settings": {
            "return_policy": str(settings.return_policy),
            "hot_from": settings.hot_from,
            "warm_from": settings.warm_from,
            "priority_from": dict(settings.priority_from or {}),
            "fallback": refs.target_out(settings.fallback or rule_book.QUEUE_OWN_UNIT),
            "task_daily_cap": settings.task_daily_cap,
        },
        "assignment": [
            {
                "name": rule.name,
                "enabled": rule.enabled,
                "when": normalize(rule.conditions),
                "assign": refs.target_out(rule.target),
            }
            for rule in rule_book.rules_of(session, org.id, RuleKind.ASSIGN)
        ],
        "scoring": [
            {
                "name": rule.name,
                "enabled": rule.enabled,
                "when": normalize(rule.conditions),
                "points": rule.points,
            }
            for rule in rule_book.rules_of(session, org.id, RuleKind.SCORE)
        ],
        **clock_document.export(
            session,
            org.id,
            refs,
            {kind: rule_book.rules_of(session, org.id, kind) for kind in clock_document.SECTIONS},
        ),
        "tasks": [
            {
                "name": rule.name,
                "enabled": rule.enabled,
                "when": normalize(rule.conditions),
                **task_document.export_task(rule, refs, clock_document.Statuses(session, org.id)),
            }
            for rule in rule_book.rules_of(session, org.id, RuleKind.TASK)
        ],
    }


# -- check ----------------------------------------------------------------------------------


def read(session: Session, org: Organization, document: Any) -> dict:
    """The checked document in stored form (ids, normalized conditions), or ValidationError
    with one message per mistake, keyed by where it is (`assignment[2].assign.team`)."""
    errors: dict[str, str] = {}
    if not isinstance(document, dict):
        raise ValidationError(
            {"document": "Expected a mapping with settings, assignment, scoring."}
        )
    for key in document:
        if key not in SECTIONS and key != "version":
            errors[str(key)] = f"Unknown section; use {', '.join(SECTIONS)}."
    refs = _Refs(session, org)
    refs.clock = clock_document.ClockReader(session, org.id, refs, errors)
    catalog = catalog_for(session, org)
    refs.tasks = task_document.TaskReader(refs, refs.clock, catalog, errors)
    clean: dict[Any, Any] = {
        "settings": _read_settings(document.get("settings") or {}, refs, errors),
    }
    for kind, section in RULE_SECTIONS.items():
        clean[kind] = _read_rules(document, section, kind, refs, catalog, errors)
    if errors:
        raise ValidationError(errors)
    return clean


def _read_settings(raw: Any, refs: _Refs, errors: dict[str, str]) -> dict:
    if not isinstance(raw, dict):
        errors["settings"] = "Expected a mapping."
        return {}
    known = {
        "return_policy",
        "hot_from",
        "warm_from",
        "priority_from",
        "fallback",
        "task_daily_cap",
    }
    for key in set(raw) - known:
        errors[f"settings.{key}"] = f"Unknown setting; use {', '.join(sorted(known))}."
    out: dict[str, Any] = {}
    policy = raw.get("return_policy", ReturnPolicy.FRESH_START.value)
    if not isinstance(policy, str) or policy not in {p.value for p in ReturnPolicy}:
        errors["settings.return_policy"] = "Use fresh_start or catch_up."
    out["return_policy"] = policy
    for key, default in (("hot_from", 60), ("warm_from", 30)):
        value = raw.get(key, default)
        if not _is_int(value):
            errors[f"settings.{key}"] = "Give a whole number of points."
        out[key] = value
    if (
        _is_int(out["hot_from"])
        and _is_int(out["warm_from"])
        and out["warm_from"] > out["hot_from"]
    ):
        errors["settings.warm_from"] = "Warm must start at or below hot."
    priority = raw.get("priority_from", dict(rule_book.DEFAULT_PRIORITIES))
    if not isinstance(priority, dict) or any(
        k not in ("urgent", "high") or not _is_int(v) for k, v in priority.items()
    ):
        errors["settings.priority_from"] = "Give points for urgent and high, e.g. {urgent: 80}."
    out["priority_from"] = priority
    fallback = raw.get("fallback", {"queue": None})
    out["fallback"] = refs.target_in(fallback, "settings.fallback", errors, allow_user=True)
    cap = raw.get("task_daily_cap", 3)
    if not _is_int(cap) or not 1 <= cap <= MAX_TASK_CAP:
        errors["settings.task_daily_cap"] = (
            f"How often one task may act on one lead in 24 hours: 1 to {MAX_TASK_CAP}."
        )
        cap = 3
    out["task_daily_cap"] = cap
    return out


def _read_rules(document, section: str, kind: RuleKind, refs, catalog, errors) -> list[dict]:
    raw = document.get(section) or []
    if not isinstance(raw, list):
        errors[section] = "Expected a list of rules."
        return []
    if len(raw) > MAX_RULES:
        errors[section] = f"At most {MAX_RULES} rules."
        return []
    rules, names = [], set()
    for n, entry in enumerate(raw):
        where = f"{section}[{n}]"
        if not isinstance(entry, dict):
            errors[where] = "Expected a rule: a mapping with a name, when and " + (
                {RuleKind.ASSIGN: "assign.", RuleKind.SCORE: "points."}.get(kind, "a duration.")
            )
            continue
        name = entry.get("name")
        label = f"rule {name!r}" if isinstance(name, str) and name.strip() else f"rule {n + 1}"
        rule = _read_rule(entry, kind, where, label, refs, catalog, errors)
        if rule["name"] and rule["name"].casefold() in names:
            errors[f"{where}.name"] = f"{label}: another {section} rule has this name."
        names.add(rule["name"].casefold())
        rules.append(rule)
    return rules


def _read_rule(entry: dict, kind, where: str, label: str, refs, catalog, errors) -> dict:
    for key in set(entry) - RULE_KEYS[kind]:
        errors[f"{where}.{key}"] = (
            f"{label}: unknown key; use {', '.join(sorted(RULE_KEYS[kind] - {'id'}))}."
        )
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        errors[f"{where}.name"] = f"{label}: give the rule a name."
        name = ""
    elif len(name.strip()) > 120:
        errors[f"{where}.name"] = f"{label}: at most 120 characters."
    elif has_control_characters(name):
        errors[f"{where}.name"] = f"{label}: {CONTROL_MESSAGE}"
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        errors[f"{where}.enabled"] = f"{label}: use true or false."
    when = entry.get("when") or {}
    problems = check(when, catalog, path=f"{where}.when")
    for problem in problems:
        path, _, message = problem.partition(": ")
        errors.setdefault(path, f"{label}: {message}")
    rule = {
        "id": entry.get("id") if _is_int(entry.get("id")) else None,
        "name": (name or "").strip(),
        "enabled": enabled is not False,
        "conditions": when if problems else normalize(when),
    }
    if kind is RuleKind.TASK:
        rule.update(refs.tasks.rule(entry, where, label))
    elif kind.is_clock:
        rule.update(refs.clock.rule(kind, entry, where, label))
    elif kind is RuleKind.ASSIGN:
        if "assign" not in entry:
            errors[f"{where}.assign"] = (
                f"{label}: say who gets the lead (user, team, by_field or queue)."
            )
            rule["target"] = {}
        else:
            rule["target"] = refs.target_in(entry["assign"], f"{where}.assign", errors, label=label)
            by_field = rule["target"].get("field")
            if (
                rule["target"].get("type") == "by_field"
                and isinstance(by_field, str)
                and catalog.get(by_field) is None
            ):
                errors[f"{where}.assign.by_field"] = f"{label}: unknown field {by_field!r}."
    else:
        points = entry.get("points")
        if not _is_int(points) or not -1000 <= points <= 1000:
            errors[f"{where}.points"] = (
                f"{label}: give points as a whole number from -1000 to 1000."
            )
        rule["points"] = points if _is_int(points) else 0
    return rule


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- apply ----------------------------------------------------------------------------------


def apply(
    session: Session,
    org: Organization,
    document: Any,
    actor: Actor,
    now: datetime,
    summary: str = "",
) -> RuleVersion:
    """Check the whole document, then make the rules exactly what it says (rules keep their
    ids where their names, or given ids, match), and keep it as a new version."""
    clean = read(session, org, document)
    before = export(session, org)
    settings = rule_book.settings_of(session, org.id, lock=True)
    for key, value in clean["settings"].items():
        setattr(settings, key, value)
    for kind in RULE_SECTIONS:
        _sync(session, org, kind, clean[kind], now)
    settings.version += 1
    settings.stamp = uuid4().hex
    settings.updated_at = now
    session.flush()
    after = export(session, org)
    version = RuleVersion(
        org_id=org.id,
        version=settings.version,
        at=now,
        actor_id=actor.user_id,
        via=actor.via,
        summary=summary or describe_change(before, after),
        document=after,
    )
    session.add(version)
    session.flush()
    return version


def _sync(session: Session, org: Organization, kind: RuleKind, wanted: list[dict], now) -> None:
    org_id = org.id
    existing = rule_book.rules_of(session, org_id, kind)
    by_id = {rule.id: rule for rule in existing}
    by_name = {rule.name.casefold(): rule for rule in existing}
    kept: set[int] = set()
    for position, entry in enumerate(wanted):
        row = by_id.get(entry["id"]) or by_name.get(entry["name"].casefold())
        if row is None or row.id in kept:
            row = RoutingRule(org_id=org_id, kind=kind, created_at=now)
            session.add(row)
        row.position = position
        row.name = entry["name"]
        row.enabled = entry["enabled"]
        row.conditions = entry["conditions"]
        row.target = entry.get("target", {})
        row.points = entry.get("points", 0)
        row.within_seconds = entry.get("within_seconds")
        row.business_time = entry.get("business_time", True)
        row.clock = entry.get("clock", {})
        row.updated_at = now
        session.flush()
        kept.add(row.id)
        if kind is RuleKind.TASK:
            tasks.rule_saved(session, org, row, now)
    gone = [rule.id for rule in existing if rule.id not in kept]
    if gone:
        if kind is RuleKind.TASK:
            tasks.rules_deleted(session, gone)
        session.execute(
            update(AssignmentDecision)
            .where(AssignmentDecision.rule_id.in_(gone))
            .values(rule_id=None)
        )
        session.execute(update(Timer).where(Timer.rule_id.in_(gone)).values(rule_id=None))
        session.execute(
            update(Lead).where(Lead.response_rule_id.in_(gone)).values(response_rule_id=None)
        )
        for rule in existing:
            if rule.id in gone:
                session.delete(rule)
        session.flush()


def describe_change(before: dict, after: dict) -> str:
    """'added “Big deals”; changed “Web”; removed “Old”; reordered assignment' — for the log."""
    parts: list[str] = []
    if before.get("settings") != after.get("settings"):
        parts.append("changed the settings")
    for section in RULE_SECTIONS.values():
        old = {r["name"].casefold(): r for r in before.get(section, [])}
        new = {r["name"].casefold(): r for r in after.get(section, [])}
        parts += [f"added {section} rule “{new[n]['name']}”" for n in new if n not in old]
        parts += [f"removed {section} rule “{old[n]['name']}”" for n in old if n not in new]
        parts += [
            f"changed {section} rule “{new[n]['name']}”"
            for n in new
            if n in old and new[n] != old[n]
        ]
        common_old = [n for n in old if n in new]
        common_new = [n for n in new if n in old]
        if common_old != common_new:
            parts.append(f"reordered the {section} rules")
    return "; ".join(parts) or "no change"


def versions(session: Session, org_id: int, limit: int = 50) -> list[RuleVersion]:
    return list(
        session.scalars(
            select(RuleVersion)
            .options(joinedload(RuleVersion.actor))
            .where(RuleVersion.org_id == org_id)
            .order_by(RuleVersion.version.desc())
            .limit(limit)
        )
    )


# -- references: e-mails and unit names in the document, ids in the database ---------------


class _Refs:
    clock: clock_document.ClockReader
    tasks: task_document.TaskReader

    def __init__(self, session: Session, org: Organization):
        users = session.execute(select(User.id, User.email).where(User.org_id == org.id)).all()
        self.user_ids = {email.casefold(): uid for uid, email in users}
        self.user_emails: dict[int, str] = dict(users)
        tree = UnitTree.load(session, org.id)
        self.names = tree.names
        self.paths = {unit_id: tree.path(unit_id) for unit_id in tree.names}
        self.by_name: dict[str, list[int]] = {}
        for unit_id, name in self.names.items():
            self.by_name.setdefault(name.casefold(), []).append(unit_id)
        self.by_path = {path.casefold(): unit_id for unit_id, path in self.paths.items()}

    def unit_out(self, unit_id: int | None) -> str | None:
        if unit_id is None or unit_id not in self.names:
            return None
        name = self.names[unit_id]
        return name if len(self.by_name[name.casefold()]) == 1 else self.paths[unit_id]

    def unit_in(self, ref: Any, where: str, errors: dict, label: str) -> int | None:
        if not isinstance(ref, str) or not ref.strip():
            errors[where] = f"{label}: name a unit."
            return None
        key = " / ".join(part.strip() for part in ref.split("/")).casefold()
        if key in self.by_path:
            return self.by_path[key]
        found = self.by_name.get(ref.strip().casefold(), [])
        if len(found) == 1:
            return found[0]
        if found:
            options = " or ".join(f"“{self.paths[u]}”" for u in found)
            errors[where] = f"{label}: several units are called “{ref}”; write {options}."
        else:
            errors[where] = f"{label}: there is no unit “{ref}”."
        return None

    def user_in(self, ref: Any, where: str, errors: dict, label: str) -> int | None:
        user_id = self.user_ids.get(ref.strip().casefold()) if isinstance(ref, str) else None
        if user_id is None:
            errors[where] = f"{label}: nobody here has the e-mail {ref!r}."
        return user_id

    def target_out(self, target: dict) -> dict:
        kind = target.get("type")
        out: dict[str, Any]
        if kind == "user":
            out = {"user": self.user_emails.get(target.get("user_id"))}
        elif kind == "team":
            out = {"team": self.unit_out(target.get("unit_id")), "method": target.get("method")}
            if target.get("weights"):
                out["weights"] = {
                    self.user_emails.get(int(uid), uid): weight
                    for uid, weight in target["weights"].items()
                }
        elif kind == "by_field":
            out = {
                "by_field": target.get("field"),
                "map": {k: self.unit_out(v) for k, v in (target.get("map") or {}).items()},
                "method": target.get("method"),
            }
            if target.get("otherwise") is not None:
                out["otherwise"] = self.unit_out(target.get("otherwise"))
        else:
            out = {"queue": self.unit_out(target.get("unit_id"))}
        if target.get("hours") is False:
            out["hours"] = False
        return out

    def target_in(
        self, raw: Any, where: str, errors: dict, label: str = "fallback", allow_user: bool = True
    ) -> dict:
        kinds = [
            k for k in ("user", "team", "by_field", "queue") if isinstance(raw, dict) and k in raw
        ]
        if len(kinds) != 1:
            errors[where] = f"{label}: give exactly one of user, team, by_field or queue."
            return {}
        kind = kinds[0]
        allowed = {
            "user": {"user"},
            "team": {"team", "method", "weights"},
            "by_field": {"by_field", "map", "method", "otherwise"},
            "queue": {"queue"},
        }[kind]
        for key in set(raw) - allowed - {"hours"}:
            errors[f"{where}.{key}"] = f"{label}: {key} does not go with {kind}."
        hours = raw.get("hours", True)
        if not isinstance(hours, bool):
            errors[f"{where}.hours"] = f"{label}: use true or false."
        target: dict[str, Any] = {"type": kind}
        if kind == "user":
            target["user_id"] = self.user_in(raw["user"], f"{where}.user", errors, label)
        elif kind == "queue":
            ref = raw["queue"]
            target["unit_id"] = (
                None if ref in (None, "") else self.unit_in(ref, f"{where}.queue", errors, label)
            )
        else:
            method = raw.get("method") or "round_robin"
            if method not in METHODS:
                errors[f"{where}.method"] = f"{label}: use round_robin or fewest_open."
            target["method"] = method
            if kind == "team":
                target["unit_id"] = self.unit_in(raw["team"], f"{where}.team", errors, label)
                target["weights"] = self._weights(
                    raw.get("weights"), f"{where}.weights", errors, label
                )
            else:
                self._by_field(raw, target, where, errors, label)
        if hours is False:
            target["hours"] = False
        return target

    def _weights(self, raw: Any, where: str, errors: dict, label: str) -> dict[str, int]:
        if raw in (None, {}):
            return {}
        if not isinstance(raw, dict):
            errors[where] = (
                f"{label}: weights map e-mails to numbers, e.g. {{jane@example.com: 2}}."
            )
            return {}
        out = {}
        for email, weight in raw.items():
            user_id = self.user_in(email, where, errors, label)
            if not _is_int(weight) or not 1 <= weight <= MAX_WEIGHT:
                errors[where] = f"{label}: a weight is a whole number from 1 to {MAX_WEIGHT}."
            elif user_id is not None:
                out[str(user_id)] = weight
        return out

    def _by_field(self, raw: dict, target: dict, where: str, errors: dict, label: str) -> None:
        name = raw.get("by_field")
        if not isinstance(name, str) or not name:
            errors[f"{where}.by_field"] = f"{label}: name the lead field, e.g. district."
        target["field"] = name
        mapping = raw.get("map")
        if not isinstance(mapping, dict) or not mapping:
            errors[f"{where}.map"] = (
                f"{label}: map field values to units, e.g. {{North: North store}}."
            )
            mapping = {}
        target["map"] = {
            str(value): self.unit_in(unit, f"{where}.map.{value}", errors, label)
            for value, unit in mapping.items()
        }
        otherwise = raw.get("otherwise")
        target["otherwise"] = (
            None
            if otherwise in (None, "")
            else self.unit_in(otherwise, f"{where}.otherwise", errors, label)
        )
