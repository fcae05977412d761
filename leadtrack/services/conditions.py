"""The condition language: one way to say "which leads" for assignment rules, scoring
rules, response-time rules and tasks. A condition is plain data (JSON or YAML):

    {"all": [condition, ...]}      every one holds (an empty "all" always holds)
    {"any": [condition, ...]}      at least one holds
    {"not": condition}
    {"field": "value", "op": "gte", "value": 50000}

`check` names every mistake with its path; `compile` turns a checked condition into a
predicate over a lead's facts (a dict, see services/lead_facts.py). Text comparisons ignore
case. docs/rules.md is the reference.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]


class Kind(StrEnum):
    TEXT = "text"  # free text: company, district, …
    CHOICE = "choice"  # one of a known list: source, status, temperature, …
    NUMBER = "number"  # value, score, numeric custom fields
    TAGS = "tags"  # a set of words: tags, multi-select custom fields
    FLAG = "flag"  # true or false
    TIME = "time"  # time of day, "HH:MM", in the organization's time zone
    WEEKDAY = "weekday"  # mon … sun, in the organization's time zone
    UNIT = "unit"  # the lead's unit; `within` also matches the units below


EMPTY_OPS = ("is_empty", "is_set")
OPS: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: ("is", "is_not", "in", "not_in", "contains", "starts_with", *EMPTY_OPS),
    Kind.CHOICE: ("is", "is_not", "in", "not_in", *EMPTY_OPS),
    Kind.NUMBER: ("is", "is_not", "gt", "gte", "lt", "lte", "between", *EMPTY_OPS),
    Kind.TAGS: ("has", "has_any", "has_all", "has_none", *EMPTY_OPS),
    Kind.FLAG: ("is",),
    Kind.TIME: ("between", "before", "after"),
    Kind.WEEKDAY: ("is", "in", "not_in"),
    Kind.UNIT: ("is", "is_not", "in", "not_in", "within", *EMPTY_OPS),
}
OP_ALIASES = {
    "=": "is",
    "==": "is",
    "!=": "is_not",
    ">": "gt",
    ">=": "gte",
    "<": "lt",
    "<=": "lte",
}
OP_LABELS = {
    "is": "is",
    "is_not": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "starts_with": "starts with",
    "is_empty": "is empty",
    "is_set": "is filled in",
    "gt": "more than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
    "between": "between",
    "has": "has",
    "has_any": "has any of",
    "has_all": "has all of",
    "has_none": "has none of",
    "before": "before",
    "after": "at or after",
    "within": "is in or below",
}
LIST_OPS = frozenset({"in", "not_in", "has_any", "has_all", "has_none"})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_DEPTH = 6


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: Kind
    options: tuple[str, ...] = ()  # the known values; empty means "any value"
    group: str = "Lead"

    @property
    def ops(self) -> tuple[str, ...]:
        return OPS[self.kind]


@dataclass
class Catalog:
    """The fields a condition may name, for one organization."""

    fields: dict[str, FieldSpec] = field(default_factory=dict)

    def add(self, spec: FieldSpec) -> None:
        self.fields[spec.name] = spec

    def get(self, name: str) -> FieldSpec | None:
        return self.fields.get(name)


class ConditionError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


ALWAYS: dict = {"all": []}


def is_always(node: Any) -> bool:
    return not node or node == ALWAYS


def check(node: Any, catalog: Catalog, path: str = "when") -> list[str]:
    """Every mistake in a condition, each with where it is."""
    errors: list[str] = []
    _check(node, catalog, path, errors, depth=0)
    return errors


def compile_condition(node: Any, catalog: Catalog, path: str = "when") -> Predicate:
    errors = check(node, catalog, path)
    if errors:
        raise ConditionError(errors)
    return _compile(node or ALWAYS, catalog)


def normalize(node: Any) -> Any:
    """The stored form: operator aliases spelled out, an empty condition as {"all": []}."""
    if is_always(node):
        return dict(ALWAYS)
    if "all" in node or "any" in node:
        key = "all" if "all" in node else "any"
        return {key: [normalize(child) for child in node[key]]}
    if "not" in node:
        return {"not": normalize(node["not"])}
    leaf = {"field": node["field"], "op": OP_ALIASES.get(node["op"], node["op"])}
    if "value" in node:
        leaf["value"] = node["value"]
    return leaf


def describe(node: Any, catalog: Catalog | None = None) -> str:
    """A sentence for people: `source is web and value at least 50000`."""
    if is_always(node):
        return "every lead"
    for key, joiner in (("all", " and "), ("any", " or ")):
        if key in node:
            parts = [describe(child, catalog) for child in node[key]]
            text = joiner.join(parts)
            return f"({text})" if len(parts) > 1 else text
    if "not" in node:
        return f"not {describe(node['not'], catalog)}"
    spec = catalog.get(node["field"]) if catalog else None
    label = spec.label if spec else node["field"]
    op = OP_ALIASES.get(node["op"], node["op"])
    if op in EMPTY_OPS:
        return f"{label} {OP_LABELS[op]}"
    value = node.get("value")
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if op == "between" and isinstance(value, list) and len(value) == 2:
        shown = f"{value[0]} and {value[1]}"
    return f"{label} {OP_LABELS.get(op, op)} {shown}"


# -- checking -----------------------------------------------------------------------------


def _check(node: Any, catalog: Catalog, path: str, errors: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        errors.append(f"{path}: nested more than {MAX_DEPTH} levels deep.")
        return
    if node is None or node == {}:
        return
    if not isinstance(node, dict):
        errors.append(f"{path}: expected a condition (all / any / not / field), got {node!r}.")
        return
    groups = [key for key in ("all", "any", "not") if key in node]
    if groups:
        if len(node) != 1:
            errors.append(f"{path}: '{groups[0]}' must stand alone in its condition.")
            return
        key = groups[0]
        if key == "not":
            _check(node["not"], catalog, f"{path}.not", errors, depth + 1)
            return
        children = node[key]
        if not isinstance(children, list):
            errors.append(f"{path}.{key}: expected a list of conditions.")
            return
        for n, child in enumerate(children):
            _check(child, catalog, f"{path}.{key}[{n}]", errors, depth + 1)
        return
    _check_leaf(node, catalog, path, errors)


def _check_leaf(node: dict, catalog: Catalog, path: str, errors: list[str]) -> None:
    unknown_keys = set(node) - {"field", "op", "value"}
    if unknown_keys:
        errors.append(f"{path}: unknown key(s) {', '.join(sorted(unknown_keys))}.")
        return
    name = node.get("field")
    spec = catalog.get(name) if isinstance(name, str) else None
    if spec is None:
        errors.append(f"{path}: unknown field {name!r}.")
        return
    raw_op = node.get("op")
    op = OP_ALIASES.get(raw_op, raw_op) if isinstance(raw_op, str) else None
    if op not in spec.ops:
        allowed = ", ".join(spec.ops)
        errors.append(f"{path}: {name} cannot use {node.get('op')!r}; use one of {allowed}.")
        return
    if op in EMPTY_OPS:
        return
    if "value" not in node:
        errors.append(f"{path}: {name} {op} needs a value.")
        return
    problem = _value_problem(spec, op, node["value"])
    if problem:
        errors.append(f"{path}: {name}: {problem}")


def _value_problem(spec: FieldSpec, op: str, value: Any) -> str:
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            return "between needs two values, [from, to]."
        return _first(_scalar_problem(spec, item) for item in value)
    if op in LIST_OPS or (spec.kind is Kind.WEEKDAY and op == "in"):
        if not isinstance(value, list) or not value:
            return f"{op} needs a list of values."
        return _first(_scalar_problem(spec, item) for item in value)
    if isinstance(value, list):
        return f"{op} takes one value, not a list."
    return _scalar_problem(spec, value)


def _scalar_problem(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number."
    if spec.kind is Kind.NUMBER:
        return "" if _number(value) is not None else f"{value!r} is not a number."
    if spec.kind is Kind.FLAG:
        return "" if isinstance(value, bool) else "use true or false."
    if spec.kind is Kind.TIME:
        return "" if isinstance(value, str) and _HHMM.match(value) else "use a time as HH:MM."
    if spec.kind is Kind.WEEKDAY:
        ok = isinstance(value, str) and value.lower()[:3] in WEEKDAYS
        return "" if ok else f"{value!r} is not a weekday (mon … sun)."
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return f"{value!r} is not a text value."
    if spec.options and fold(value) not in {fold(option) for option in spec.options}:
        known = ", ".join(spec.options[:20])
        return f"unknown {spec.label.lower()} {value!r} (known: {known})."
    return ""


def _first(problems: Iterable[str]) -> str:
    return next((problem for problem in problems if problem), "")


# -- compiling ----------------------------------------------------------------------------


def _compile(node: dict, catalog: Catalog) -> Predicate:
    if "all" in node:
        parts = [_compile(child, catalog) for child in node["all"]]
        return lambda facts: all(part(facts) for part in parts)
    if "any" in node:
        parts = [_compile(child, catalog) for child in node["any"]]
        return lambda facts: any(part(facts) for part in parts)
    if "not" in node:
        inner = _compile(node["not"] or ALWAYS, catalog)
        return lambda facts: not inner(facts)
    spec = catalog.get(node["field"])
    op = OP_ALIASES.get(node["op"], node["op"])
    test = _LEAF_COMPILERS[spec.kind](op, node.get("value"))
    name = spec.name
    return lambda facts: test(facts.get(name))


def fold(value: Any) -> str:
    return str(value).strip().casefold()


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | set | frozenset) and not value)


def _emptiness(op: str) -> Callable[[Any], bool] | None:
    if op == "is_empty":
        return _empty
    if op == "is_set":
        return lambda fact: not _empty(fact)
    return None


def _text_test(op: str, value: Any) -> Callable[[Any], bool]:
    emptiness = _emptiness(op)
    if emptiness:
        return emptiness
    if op in ("in", "not_in"):
        wanted = frozenset(fold(item) for item in value)

        def hit(fact):
            return fact is not None and fold(fact) in wanted

        return hit if op == "in" else (lambda fact: not hit(fact))
    target = fold(value)
    tests = {
        "is": lambda fact: fact is not None and fold(fact) == target,
        "is_not": lambda fact: fact is None or fold(fact) != target,
        "contains": lambda fact: fact is not None and target in fold(fact),
        "starts_with": lambda fact: fact is not None and fold(fact).startswith(target),
    }
    return tests[op]


def _number_test(op: str, value: Any) -> Callable[[Any], bool]:
    emptiness = _emptiness(op)
    if emptiness:
        return emptiness
    if op == "between":
        low, high = sorted((_number(value[0]), _number(value[1])))
        return lambda fact: (n := _number(fact)) is not None and low <= n <= high
    target = _number(value)
    compare = {
        "is": lambda n: n == target,
        "is_not": lambda n: n != target,
        "gt": lambda n: n > target,
        "gte": lambda n: n >= target,
        "lt": lambda n: n < target,
        "lte": lambda n: n <= target,
    }[op]
    if op == "is_not":
        return lambda fact: (n := _number(fact)) is None or compare(n)
    return lambda fact: (n := _number(fact)) is not None and compare(n)


def _tags_test(op: str, value: Any) -> Callable[[Any], bool]:
    emptiness = _emptiness(op)
    if emptiness:
        return emptiness
    wanted = frozenset(fold(item) for item in (value if isinstance(value, list) else [value]))

    def folded(fact: Any) -> frozenset[str]:
        return frozenset(fold(item) for item in (fact or ()))

    tests = {
        "has": lambda fact: wanted <= folded(fact),
        "has_any": lambda fact: bool(wanted & folded(fact)),
        "has_all": lambda fact: wanted <= folded(fact),
        "has_none": lambda fact: not (wanted & folded(fact)),
    }
    return tests[op]


def _flag_test(op: str, value: Any) -> Callable[[Any], bool]:
    return lambda fact: bool(fact) is value


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _time_test(op: str, value: Any) -> Callable[[Any], bool]:
    """Facts hold minutes since midnight. `between` includes its start, excludes its end,
    and wraps past midnight: ["22:00", "06:00"] is the night."""
    if op == "before":
        limit = _minutes(value)
        return lambda fact: fact is not None and fact < limit
    if op == "after":
        limit = _minutes(value)
        return lambda fact: fact is not None and fact >= limit
    start, end = _minutes(value[0]), _minutes(value[1])
    if start <= end:
        return lambda fact: fact is not None and start <= fact < end
    return lambda fact: fact is not None and (fact >= start or fact < end)


def _weekday_test(op: str, value: Any) -> Callable[[Any], bool]:
    """Facts hold Monday = 0 … Sunday = 6."""
    days = frozenset(WEEKDAYS.index(str(v).lower()[:3]) for v in _as_list(value))
    if op == "not_in":
        return lambda fact: fact not in days
    return lambda fact: fact in days


def _unit_test(op: str, value: Any) -> Callable[[Any], bool]:
    """Facts hold one set per level from the top of the tree down to the lead's unit, each
    with the unit's name and its full path: ({"north"}, {"store 1", "north / store 1"})."""
    emptiness = _emptiness(op)
    if emptiness:
        return lambda fact: emptiness(list(fact or ()))
    wanted = frozenset(fold(item) for item in _as_list(value))
    if op == "within":
        return lambda fact: any(wanted & level for level in fact or ())

    def hit(fact):
        return bool(fact) and bool(wanted & fact[-1])

    return (lambda fact: not hit(fact)) if op in ("is_not", "not_in") else hit


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


_LEAF_COMPILERS: dict[Kind, Callable[[str, Any], Callable[[Any], bool]]] = {
    Kind.TEXT: _text_test,
    Kind.CHOICE: _text_test,
    Kind.NUMBER: _number_test,
    Kind.TAGS: _tags_test,
    Kind.FLAG: _flag_test,
    Kind.TIME: _time_test,
    Kind.WEEKDAY: _weekday_test,
    Kind.UNIT: _unit_test,
}
