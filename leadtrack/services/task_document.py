"""The tasks section of the rules document: "if this is not done within that time after
that happened, do these things" (services/tasks.py runs them).

    tasks:
      - name: Internet leads in 5 minutes
        when: {field: source, op: is, value: web}   # which leads (the shared language)
        trigger: created          # created | assigned | idle | status_changed
                                  # | {status_changed: <status or category>}
                                  # | {field_changed: <field>}
                                  # | {schedule: {at: "09:00", days: [mon, fri]}}
        until: status_changed     # status_changed | {status: <category>} | {filled: <field>}
                                  # | {ticked: <field>} | closed | updated | nothing
        within: 5m
        business_time: false
        then:                     # when it is not done in time
          - reassign: {team: Inside Sales, channels: [sms, email]}
          - notify: {to: [assignee, manager], cc: [boss@example.com], channels: [email],
                     message: Call them now}
          - status: Could not reach
          - set: {field: temperature, value: cold}
          - tag: stalled
          - follow_up: 2d
        repeat: {every: 2d, until: 30d}   # or {every: 2d, times: 5}
        finally: [{reassign: {team: Inside Sales}}]   # when the repeats run out
        if_met:                   # when it is done in time
          when: {field: value, op: gte, value: 50000}
          then: [{notify: {to: [manager]}}]
"""

from __future__ import annotations

import re
from typing import Any

from leadtrack.models import ChannelName, RuleKind, StatusCategory
from leadtrack.services.clock_document import MAX_SECONDS, format_duration, parse_duration
from leadtrack.services.conditions import check, normalize

SECTIONS = {RuleKind.TASK: "tasks"}
KEYS = {"trigger", "until", "within", "business_time", "then", "repeat", "finally", "if_met"}
TRIGGERS = ("created", "assigned", "idle", "status_changed", "field_changed", "schedule")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
UNTILS = ("status_changed", "status", "filled", "ticked", "closed", "updated", "nothing")
ACTIONS = ("reassign", "notify", "status", "set", "tag", "follow_up")
ROLES = ("assignee", "manager", "supervisor")  # who `notify` may name besides people
REASSIGN_TO = ("supervisor", "manager", "backup")
CATEGORIES = tuple(c.value for c in StatusCategory)
MAX_ACTIONS = 8
MAX_REPEATS = 100
MIN_REPEAT_SECONDS = 60


def export_task(rule, refs, statuses) -> dict:
    spec = rule.clock or {}
    entry: dict[str, Any] = {"trigger": _trigger_out(spec.get("trigger") or {}, statuses)}
    entry["until"] = _until_out(spec.get("until") or {})
    entry["within"] = format_duration(rule.within_seconds or 0)
    entry["business_time"] = rule.business_time
    entry["then"] = [_action_out(a, refs, statuses) for a in spec.get("then") or []]
    if spec.get("repeat"):
        repeat = spec["repeat"]
        entry["repeat"] = {"every": format_duration(repeat["every"])}
        if repeat.get("until"):
            entry["repeat"]["until"] = format_duration(repeat["until"])
        else:
            entry["repeat"]["times"] = repeat.get("times", 1)
    if spec.get("finally"):
        entry["finally"] = [_action_out(a, refs, statuses) for a in spec["finally"]]
    if spec.get("if_met"):
        met = spec["if_met"]
        entry["if_met"] = {
            "when": normalize(met.get("when") or {}),
            "then": [_action_out(a, refs, statuses) for a in met.get("then") or []],
        }
    return entry


def _trigger_out(trigger: dict, statuses) -> Any:
    kind = trigger.get("type", "created")
    if kind == "status_changed" and trigger.get("status_id"):
        return {"status_changed": statuses.name(trigger["status_id"])}
    if kind == "status_changed" and trigger.get("category"):
        return {"status_changed": trigger["category"]}
    if kind == "field_changed":
        return {"field_changed": trigger.get("field")}
    if kind == "schedule":
        schedule: dict[str, Any] = {"at": trigger.get("at")}
        if trigger.get("days"):
            schedule["days"] = [DAYS[d] for d in trigger["days"]]
        return {"schedule": schedule}
    return kind


def _until_out(until: dict) -> Any:
    kind = until.get("type", "status_changed")
    if kind == "status":
        return {"status": until.get("category")}
    if kind in ("filled", "ticked"):
        return {kind: until.get("field")}
    return kind


def _action_out(action: dict, refs, statuses) -> dict:
    kind = action.get("type")
    if kind == "reassign":
        to = action.get("to") or {}
        if to.get("type") == "user":
            target: Any = {"user": refs.user_emails.get(to.get("user_id"))}
        elif to.get("type") == "team":
            target = {"team": refs.unit_out(to.get("unit_id"))}
            if to.get("method") and to["method"] != "round_robin":
                target["method"] = to["method"]
        else:
            target = to.get("type")
        if action.get("channels"):
            target = target if isinstance(target, dict) else {target: True}
            target = {**target, "channels": list(action["channels"])}
        return {"reassign": target}
    if kind == "notify":
        out: dict[str, Any] = {"to": [_person_out(p, refs) for p in action.get("to") or []]}
        if action.get("cc"):
            out["cc"] = [_person_out(p, refs) for p in action["cc"]]
        if action.get("channels"):
            out["channels"] = list(action["channels"])
        if action.get("message"):
            out["message"] = action["message"]
        return {"notify": out}
    if kind == "status":
        return {"status": statuses.name(action.get("status_id"))}
    if kind == "set":
        return {"set": {"field": action.get("field"), "value": action.get("value")}}
    if kind == "tag":
        return {"tag": action.get("tag")}
    return {"follow_up": format_duration(action.get("after") or 0)}


def _person_out(person: dict, refs) -> str | None:
    if person.get("role"):
        return person["role"]
    return refs.user_emails.get(person.get("user_id"))


# -- reading --------------------------------------------------------------------------------


class TaskReader:
    """Checks one task of a document; mistakes go into `errors` by path, in words."""

    def __init__(self, refs, clock_reader, catalog, errors: dict[str, str]):
        self.refs, self.clock, self.catalog, self.errors = refs, clock_reader, catalog, errors
        self.statuses = clock_reader.statuses

    def rule(self, entry: dict, where: str, label: str) -> dict:
        seconds = parse_duration(entry.get("within"))
        if seconds is None or not 0 <= seconds <= MAX_SECONDS:
            self.errors[f"{where}.within"] = (
                f"{label}: give within as a duration up to 400d, e.g. 5m, 2h or 14d (0s: at once)."
            )
            seconds = 0
        business = entry.get("business_time", True)
        if not isinstance(business, bool):
            self.errors[f"{where}.business_time"] = f"{label}: use true or false."
            business = True
        trigger = self._trigger(entry.get("trigger", "created"), f"{where}.trigger", label)
        default_until = "updated" if trigger.get("type") == "idle" else "status_changed"
        spec: dict[str, Any] = {
            "trigger": trigger,
            "until": self._until(entry.get("until", default_until), f"{where}.until", label),
            "then": self._actions(entry.get("then"), f"{where}.then", label, required=True),
        }
        if "repeat" in entry:
            spec["repeat"] = self._repeat(entry["repeat"], f"{where}.repeat", label)
        if "finally" in entry:
            if "repeat" not in entry:
                self.errors[f"{where}.finally"] = (
                    f"{label}: finally runs when the repeats run out; add repeat."
                )
            spec["finally"] = self._actions(entry["finally"], f"{where}.finally", label, True)
        if "if_met" in entry:
            spec["if_met"] = self._if_met(entry["if_met"], f"{where}.if_met", label)
        return {"within_seconds": seconds, "business_time": business, "clock": spec}

    def _trigger(self, raw: Any, where: str, label: str) -> dict:
        if raw in ("created", "assigned", "idle", "status_changed"):
            return {"type": raw}
        if isinstance(raw, dict) and set(raw) == {"status_changed"}:
            value = raw["status_changed"]
            if isinstance(value, str) and value.casefold() in CATEGORIES:
                return {"type": "status_changed", "category": value.casefold()}
            status = self.statuses.by_name.get(value.casefold()) if isinstance(value, str) else None
            if status is None:
                self.errors[where] = (
                    f"{label}: status_changed names a status ("
                    + ", ".join(s.name for s in self.statuses.by_id.values())
                    + ") or a category ("
                    + ", ".join(CATEGORIES)
                    + ")."
                )
                return {"type": "status_changed"}
            return {"type": "status_changed", "status_id": status.id}
        if isinstance(raw, dict) and set(raw) == {"field_changed"}:
            return {
                "type": "field_changed",
                "field": self._field(raw["field_changed"], where, label),
            }
        if isinstance(raw, dict) and set(raw) == {"schedule"}:
            return self._schedule(raw["schedule"], f"{where}.schedule", label)
        self.errors[where] = (
            f"{label}: trigger is one of created, assigned, idle, status_changed, "
            "{status_changed: <status>}, {field_changed: <field>} or "
            "{schedule: {at: HH:MM, days: [mon, …]}}."
        )
        return {"type": "created"}

    def _schedule(self, raw: Any, where: str, label: str) -> dict:
        """Runs at `at` (the organization's time) on `days` (default: every day)."""
        if not isinstance(raw, dict) or set(raw) - {"at", "days"} or "at" not in raw:
            self.errors[where] = f"{label}: schedule is {{at: HH:MM, days: [mon, …]}}."
            return {"type": "schedule", "at": "09:00"}
        at = raw["at"]
        if not isinstance(at, str) or not _HHMM.match(at):
            self.errors[f"{where}.at"] = f"{label}: at is a time of day, HH:MM (24 hours)."
            at = "09:00"
        days = raw.get("days") or list(DAYS)
        if not isinstance(days, list) or any(d not in DAYS for d in days):
            self.errors[f"{where}.days"] = f"{label}: days are {', '.join(DAYS)}."
            days = list(DAYS)
        numbers = sorted({DAYS.index(d) for d in days})
        return {"type": "schedule", "at": at, "days": [] if len(numbers) == 7 else numbers}

    def _until(self, raw: Any, where: str, label: str) -> dict:
        if raw in ("status_changed", "closed", "updated", "nothing"):
            return {"type": raw}
        if isinstance(raw, dict) and set(raw) == {"status"}:
            category = raw["status"]
            if not isinstance(category, str) or category.casefold() not in CATEGORIES:
                self.errors[where] = f"{label}: status is a category: {', '.join(CATEGORIES)}."
                return {"type": "status_changed"}
            return {"type": "status", "category": category.casefold()}
        if isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) in ("filled", "ticked"):
            kind, name = next(iter(raw.items()))
            return {"type": kind, "field": self._field(name, where, label)}
        self.errors[where] = (
            f"{label}: until is one of status_changed, {{status: <category>}}, "
            "{filled: <field>}, {ticked: <field>}, closed, updated or nothing."
        )
        return {"type": "status_changed"}

    def _field(self, name: Any, where: str, label: str) -> str:
        if not isinstance(name, str) or self.catalog.get(name) is None:
            self.errors[where] = f"{label}: unknown field {name!r}."
            return ""
        return name

    def _repeat(self, raw: Any, where: str, label: str) -> dict:
        if not isinstance(raw, dict) or "every" not in raw or len(raw) != 2:
            self.errors[where] = (
                f"{label}: repeat is {{every: 2d, until: 30d}} or {{every: 2d, times: 5}}."
            )
            return {}
        every = parse_duration(raw["every"])
        if every is None or not MIN_REPEAT_SECONDS <= every <= MAX_SECONDS:
            self.errors[f"{where}.every"] = (
                f"{label}: repeat at most once a minute, e.g. every: 2d."
            )
            every = MIN_REPEAT_SECONDS
        out: dict[str, Any] = {"every": every}
        if "until" in raw:
            until = parse_duration(raw["until"])
            if until is None or not every <= until <= MAX_SECONDS:
                self.errors[f"{where}.until"] = (
                    f"{label}: until is how long after the trigger the repeats stop, "
                    "at least one repeat away."
                )
                until = every
            out["until"] = until
        elif "times" in raw:
            times = raw["times"]
            if (
                not isinstance(times, int)
                or isinstance(times, bool)
                or not 1 <= times <= MAX_REPEATS
            ):
                self.errors[f"{where}.times"] = f"{label}: times is from 1 to {MAX_REPEATS}."
                times = 1
            out["times"] = times
        else:
            self.errors[where] = f"{label}: say until when (until: 30d) or how often (times: 5)."
        return out

    def _if_met(self, raw: Any, where: str, label: str) -> dict:
        if not isinstance(raw, dict) or set(raw) - {"when", "then"}:
            self.errors[where] = f"{label}: if_met has when (optional) and then."
            return {}
        when = raw.get("when") or {}
        problems = check(when, self.catalog, path=f"{where}.when")
        for problem in problems:
            path, _, message = problem.partition(": ")
            self.errors.setdefault(path, f"{label}: {message}")
        actions = self._actions(raw.get("then"), f"{where}.then", label, required=True)
        return {"when": when if problems else normalize(when), "then": actions}

    def _actions(self, raw: Any, where: str, label: str, required: bool) -> list[dict]:
        if not isinstance(raw, list) or (required and not raw) or len(raw) > MAX_ACTIONS:
            self.errors[where] = (
                f"{label}: give a list of 1 to {MAX_ACTIONS} actions: " + ", ".join(ACTIONS) + "."
            )
            return []
        out = []
        for n, item in enumerate(raw):
            spot = f"{where}[{n}]"
            if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in ACTIONS:
                self.errors[spot] = f"{label}: an action is one of {', '.join(ACTIONS)}."
                continue
            kind, value = next(iter(item.items()))
            out.append({"type": kind, **getattr(self, f"_{kind}")(value, f"{spot}.{kind}", label)})
        return out

    def _reassign(self, value: Any, where: str, label: str) -> dict:
        channels: list[str] = []
        if isinstance(value, dict) and "channels" in value:
            value = dict(value)
            channels = self._channels(value.pop("channels"), f"{where}.channels", label)
            if len(value) == 1 and next(iter(value)) in REASSIGN_TO:
                value = next(iter(value))
        if isinstance(value, str) and value in REASSIGN_TO:
            return {"to": {"type": value}, "channels": channels}
        return {"to": self.clock._target(value, where, label), "channels": channels}

    def _notify(self, value: Any, where: str, label: str) -> dict:
        if not isinstance(value, dict) or set(value) - {"to", "cc", "channels", "message"}:
            self.errors[where] = f"{label}: notify has to, cc, channels and message."
            return {"to": []}
        to = self._people(value.get("to"), f"{where}.to", label, required=True)
        cc = self._people(value.get("cc") or [], f"{where}.cc", label, required=False)
        message = value.get("message", "")
        if not isinstance(message, str) or len(message) > 300:
            self.errors[f"{where}.message"] = (
                f"{label}: the message is text of at most 300 characters."
            )
            message = ""
        channels = self._channels(value.get("channels") or [], f"{where}.channels", label)
        return {"to": to, "cc": cc, "channels": channels, "message": message.strip()}

    def _people(self, raw: Any, where: str, label: str, required: bool) -> list[dict]:
        if not isinstance(raw, list) or (required and not raw):
            self.errors[where] = f"{label}: a list of {', '.join(ROLES)} or e-mails."
            return []
        people = []
        for ref in raw:
            if ref in ROLES:
                people.append({"role": ref})
            else:
                people.append({"user_id": self.refs.user_in(ref, where, self.errors, label)})
        return people

    def _channels(self, raw: Any, where: str, label: str) -> list[str]:
        names = {c.value for c in ChannelName}
        if not isinstance(raw, list) or any(c not in names for c in raw):
            self.errors[where] = f"{label}: channels are {', '.join(sorted(names))}."
            return []
        return list(raw)

    def _status(self, value: Any, where: str, label: str) -> dict:
        every = tuple(StatusCategory)
        return {"status_id": self.clock._status(value, every, where, label, "the status")}

    def _set(self, value: Any, where: str, label: str) -> dict:
        if not isinstance(value, dict) or set(value) != {"field", "value"}:
            self.errors[where] = f"{label}: set is {{field: <field>, value: <value>}}."
            return {}
        return {"field": self._field(value["field"], where, label), "value": value["value"]}

    def _tag(self, value: Any, where: str, label: str) -> dict:
        if not isinstance(value, str) or not value.strip() or len(value) > 40:
            self.errors[where] = f"{label}: tag is one word or phrase of at most 40 characters."
            return {"tag": ""}
        return {"tag": value.strip()}

    def _follow_up(self, value: Any, where: str, label: str) -> dict:
        after = parse_duration(value)
        if after is None or not 60 <= after <= MAX_SECONDS:
            self.errors[where] = f"{label}: follow_up is how long from then, e.g. 2d."
            after = 86400
        return {"after": after}
