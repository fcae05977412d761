"""The clock rules' part of the rules document: response times with their warnings and
escalation ladder, aging, reclaim ("use it or lose it") and auto-close.

    response:
      - name: Web leads in 5 minutes
        when: {field: source, op: is, value: web}
        within: 5m                 # 30s, 5m, 2h, 1d, 1h30m, or a number of seconds
        business_time: true        # count only the organization's open hours
        warnings: [50, 80]         # percent of the time allowed
        counts: [activity, status, ack]
        ladder:
          - to: backup             # backup | supervisor | manager | {user: e-mail} | {team: unit}
            action: reassign       # reassign | watch | notify
            channels: [sms, email] # default: the recipient's own choice
            cc: [boss@example.com]
            overdue: true
          - after: 10m
            to: manager
            action: notify
    aging:      [{name, when, after, business_time, then: {status: Dead} | notify}]
    reclaim:    [{name, when, within, business_time}]
    auto_close: [{name, when, after, business_time, close_as: Lost, reason}]
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import ChannelName, LeadStatus, RuleKind, StatusCategory
from leadtrack.services.clock import RESPONSE_KINDS
from leadtrack.services.clock_steps import ACTIONS, TARGETS

SECTIONS = {
    RuleKind.RESPONSE: "response",
    RuleKind.AGING: "aging",
    RuleKind.RECLAIM: "reclaim",
    RuleKind.AUTO_CLOSE: "auto_close",
}
DURATION_KEY = {
    RuleKind.RESPONSE: "within",
    RuleKind.RECLAIM: "within",
    RuleKind.AGING: "after",
    RuleKind.AUTO_CLOSE: "after",
}
KEYS = {
    RuleKind.RESPONSE: {"within", "business_time", "warnings", "counts", "ladder"},
    RuleKind.AGING: {"after", "business_time", "then"},
    RuleKind.RECLAIM: {"within", "business_time"},
    RuleKind.AUTO_CLOSE: {"after", "business_time", "close_as", "reason"},
}
MAX_SECONDS = 400 * 86400
MAX_STEPS = 6
MAX_WARNINGS = 5
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)\s*(d|h|m|s)")


def parse_duration(raw: Any) -> int | None:
    """Seconds from 90, "90s", "5m", "2h", "1h30m", "3d"; None when it is not a duration."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower().replace("min", "m").replace("sec", "s")
    text = re.sub(r"days?", "d", text)
    text = re.sub(r"hours?|hrs?", "h", text)
    if text.isdigit():
        return int(text)
    parts = _PART.findall(text)
    if not parts or _PART.sub("", text).strip():
        return None
    return sum(int(n) * _UNITS[u] for n, u in parts)


def format_duration(seconds: int) -> str:
    """The shortest exact spelling: 300 -> "5m", 5400 -> "1h30m", 90 -> "1m30s"."""
    if not seconds:
        return "0s"
    out = ""
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return out


class Statuses:
    def __init__(self, session: Session, org_id: int):
        rows = session.scalars(select(LeadStatus).where(LeadStatus.org_id == org_id))
        self.by_id = {s.id: s for s in rows}
        self.by_name = {s.name.casefold(): s for s in self.by_id.values()}

    def name(self, status_id: Any) -> str | None:
        status = self.by_id.get(status_id)
        return status.name if status else None


def export(session: Session, org_id: int, refs, rules_by_kind: dict) -> dict[str, list]:
    statuses = Statuses(session, org_id)
    out: dict[str, list] = {}
    for kind, section in SECTIONS.items():
        out[section] = [
            _export_rule(kind, rule, refs, statuses) for rule in rules_by_kind.get(kind, [])
        ]
    return out


def _export_rule(kind: RuleKind, rule, refs, statuses: Statuses) -> dict:
    from leadtrack.services.conditions import normalize

    clock = rule.clock or {}
    entry: dict[str, Any] = {"name": rule.name, "enabled": rule.enabled}
    entry["when"] = normalize(rule.conditions)
    entry[DURATION_KEY[kind]] = format_duration(rule.within_seconds or 0)
    entry["business_time"] = rule.business_time
    if kind is RuleKind.RESPONSE:
        entry["warnings"] = list(clock.get("warnings") or [])
        entry["counts"] = list(clock.get("counts") or RESPONSE_KINDS)
        entry["ladder"] = [_export_step(step, refs) for step in clock.get("ladder") or []]
    elif kind is RuleKind.AGING:
        if clock.get("action") == "status":
            entry["then"] = {"status": statuses.name(clock.get("status_id"))}
        else:
            entry["then"] = "notify"
    elif kind is RuleKind.AUTO_CLOSE:
        entry["close_as"] = statuses.name(clock.get("status_id"))
        if clock.get("reason"):
            entry["reason"] = clock["reason"]
    return entry


def _export_step(step: dict, refs) -> dict:
    to = step.get("to") or {}
    kind = to.get("type")
    if kind == "user":
        target: Any = {"user": refs.user_emails.get(to.get("user_id"))}
    elif kind == "team":
        target = {"team": refs.unit_out(to.get("unit_id"))}
        if to.get("method") and to["method"] != "round_robin":
            target["method"] = to["method"]
    else:
        target = kind
    out: dict[str, Any] = {}
    if step.get("after"):
        out["after"] = format_duration(step["after"])
    out["to"] = target
    out["action"] = step.get("action", "reassign")
    if step.get("channels"):
        out["channels"] = list(step["channels"])
    if step.get("cc"):
        out["cc"] = [refs.user_emails.get(uid) for uid in step["cc"]]
    out["overdue"] = bool(step.get("overdue"))
    return out


# -- reading --------------------------------------------------------------------------------


class ClockReader:
    """Checks the clock sections of a document; mistakes go into `errors` by path."""

    def __init__(self, session: Session, org_id: int, refs, errors: dict[str, str]):
        self.refs, self.errors = refs, errors
        self.statuses = Statuses(session, org_id)

    def rule(self, kind: RuleKind, entry: dict, where: str, label: str) -> dict:
        """The kind-specific fields of one rule: within_seconds, business_time, clock."""
        key = DURATION_KEY[kind]
        seconds = parse_duration(entry.get(key))
        if seconds is None or not 1 <= seconds <= MAX_SECONDS:
            self.errors[f"{where}.{key}"] = (
                f"{label}: give {key} as a duration from 1s to 400d, e.g. 5m, 2h or 3d."
            )
            seconds = 0
        business = entry.get("business_time", True)
        if not isinstance(business, bool):
            self.errors[f"{where}.business_time"] = f"{label}: use true or false."
            business = True
        out = {"within_seconds": seconds, "business_time": business, "clock": {}}
        if kind is RuleKind.RESPONSE:
            out["clock"] = self._response(entry, where, label)
        elif kind is RuleKind.AGING:
            out["clock"] = self._aging(entry.get("then", "notify"), where, label)
        elif kind is RuleKind.AUTO_CLOSE:
            out["clock"] = self._auto_close(entry, where, label)
        return out

    def _response(self, entry: dict, where: str, label: str) -> dict:
        warnings = entry.get("warnings", [])
        if (
            not isinstance(warnings, list)
            or len(warnings) > MAX_WARNINGS
            or not all(
                isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 99 for p in warnings
            )
        ):
            self.errors[f"{where}.warnings"] = (
                f"{label}: warnings are up to {MAX_WARNINGS} percentages from 1 to 99, "
                "e.g. [50, 80]."
            )
            warnings = []
        counts = entry.get("counts", list(RESPONSE_KINDS))
        if (
            not isinstance(counts, list)
            or not counts
            or any(c not in RESPONSE_KINDS for c in counts)
        ):
            self.errors[f"{where}.counts"] = (
                f"{label}: counts lists what answers a lead: {', '.join(RESPONSE_KINDS)}."
            )
            counts = list(RESPONSE_KINDS)
        ladder = entry.get("ladder")
        if not isinstance(ladder, list) or not ladder:
            self.errors[f"{where}.ladder"] = (
                f"{label}: give the escalation ladder: at least one step, e.g. "
                "[{to: backup, action: reassign}]."
            )
            ladder = []
        elif len(ladder) > MAX_STEPS:
            self.errors[f"{where}.ladder"] = f"{label}: at most {MAX_STEPS} steps."
            ladder = []
        steps = [
            self._step(step, n, f"{where}.ladder[{n}]", f"{label}, step {n + 1}")
            for n, step in enumerate(ladder)
        ]
        return {"warnings": sorted(set(warnings)), "counts": counts, "ladder": steps}

    def _step(self, raw: Any, n: int, where: str, label: str) -> dict:
        if not isinstance(raw, dict):
            self.errors[where] = f"{label}: expected a mapping with to and action."
            return {}
        known = {"after", "to", "action", "channels", "cc", "overdue"}
        for key in set(raw) - known:
            self.errors[f"{where}.{key}"] = f"{label}: unknown key; use {', '.join(sorted(known))}."
        step: dict[str, Any] = {}
        after = parse_duration(raw.get("after", 0))
        if n == 0 and after not in (0, None):
            self.errors[f"{where}.after"] = (
                f"{label}: the first step happens at the deadline; give no after."
            )
        elif n > 0 and (after is None or not 1 <= after <= MAX_SECONDS):
            self.errors[f"{where}.after"] = (
                f"{label}: say how long after the previous step, e.g. after: 10m."
            )
        step["after"] = after or 0
        step["to"] = self._target(raw.get("to"), f"{where}.to", label)
        action = raw.get("action", "reassign")
        if action not in ACTIONS:
            self.errors[f"{where}.action"] = f"{label}: use {', '.join(ACTIONS)}."
        step["action"] = action
        channels = raw.get("channels") or []
        names = {c.value for c in ChannelName}
        if not isinstance(channels, list) or any(c not in names for c in channels):
            self.errors[f"{where}.channels"] = f"{label}: channels are {', '.join(sorted(names))}."
            channels = []
        step["channels"] = channels
        cc = raw.get("cc") or []
        if not isinstance(cc, list):
            self.errors[f"{where}.cc"] = f"{label}: cc is a list of e-mails."
            cc = []
        step["cc"] = [self.refs.user_in(email, f"{where}.cc", self.errors, label) for email in cc]
        overdue = raw.get("overdue", n == 0)
        if not isinstance(overdue, bool):
            self.errors[f"{where}.overdue"] = f"{label}: use true or false."
        step["overdue"] = overdue is True
        return step

    def _target(self, raw: Any, where: str, label: str) -> dict:
        if isinstance(raw, str) and raw in ("backup", "supervisor", "manager"):
            return {"type": raw}
        if isinstance(raw, dict) and set(raw) == {"user"}:
            return {
                "type": "user",
                "user_id": self.refs.user_in(raw["user"], where, self.errors, label),
            }
        if isinstance(raw, dict) and "team" in raw and set(raw) <= {"team", "method"}:
            method = raw.get("method") or "round_robin"
            if method not in ("round_robin", "fewest_open"):
                self.errors[f"{where}.method"] = f"{label}: use round_robin or fewest_open."
            unit_id = self.refs.unit_in(raw["team"], where, self.errors, label)
            return {"type": "team", "unit_id": unit_id, "method": method}
        self.errors[where] = (
            f"{label}: to is one of {', '.join(TARGETS[:3])}, {{user: e-mail}} or {{team: unit}}."
        )
        return {}

    def _status(self, name: Any, categories, where: str, label: str, what: str) -> int | None:
        status = self.statuses.by_name.get(name.casefold()) if isinstance(name, str) else None
        if status is None or status.category_enum not in categories:
            allowed = [
                s.name for s in self.statuses.by_id.values() if s.category_enum in categories
            ]
            self.errors[where] = (
                f"{label}: {what} is one of: {', '.join(allowed) or 'none defined'}."
            )
            return None
        return status.id

    def _aging(self, then: Any, where: str, label: str) -> dict:
        if then == "notify":
            return {"action": "notify"}
        if isinstance(then, dict) and set(then) == {"status"}:
            status_id = self._status(
                then["status"], (StatusCategory.DEAD,), f"{where}.then", label, "the status"
            )
            return {"action": "status", "status_id": status_id}
        self.errors[f"{where}.then"] = f"{label}: then is notify or {{status: <a dead status>}}."
        return {"action": "notify"}

    def _auto_close(self, entry: dict, where: str, label: str) -> dict:
        closed = (StatusCategory.WON, StatusCategory.LOST, StatusCategory.DEAD)
        status_id = self._status(
            entry.get("close_as"), closed, f"{where}.close_as", label, "close_as"
        )
        reason = entry.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 300:
            self.errors[f"{where}.reason"] = (
                f"{label}: the reason is text of at most 300 characters."
            )
            reason = ""
        return {"status_id": status_id, "reason": reason.strip()}
