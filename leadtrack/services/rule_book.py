"""An organization's rules, compiled once per version of the rule set and kept per process.
Every change bumps `routing_settings.version`, so each process notices on its next lead."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from threading import Lock
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import Organization, ReturnPolicy, RoutingRule, RoutingSettings, RuleKind
from leadtrack.services.conditions import Catalog, Predicate, compile_condition
from leadtrack.services.lead_facts import catalog_for

QUEUE_OWN_UNIT: dict = {"type": "queue", "unit_id": None}
DEFAULT_PRIORITIES = {"urgent": 80, "high": 50}


@dataclass(frozen=True)
class CompiledRule:
    id: int | None
    name: str
    matches: Predicate
    target: dict = field(default_factory=dict)
    points: int = 0
    # Clock rules only.
    within: int = 0
    business_time: bool = True
    clock: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RuleBook:
    version: int
    assign_rules: tuple[CompiledRule, ...]
    score_rules: tuple[CompiledRule, ...]
    fallback: CompiledRule
    return_policy: ReturnPolicy
    hot_from: int
    warm_from: int
    priority_from: dict[str, int]
    clock_rules: dict[RuleKind, tuple[CompiledRule, ...]] = field(default_factory=dict)
    task_rules: tuple[CompiledRule, ...] = ()

    def first_clock_rule(self, kind: RuleKind, facts: dict) -> CompiledRule | None:
        """The first enabled clock rule of `kind` whose conditions hold."""
        return next((rule for rule in self.clock_rules.get(kind, ()) if rule.matches(facts)), None)

    def task(self, rule_id: int | None) -> CompiledRule | None:
        return next((rule for rule in self.task_rules if rule.id == rule_id), None)

    def clock_rule(self, rule_id: int | None) -> CompiledRule | None:
        for rules in self.clock_rules.values():
            for rule in rules:
                if rule.id == rule_id:
                    return rule
        return None


_cache: dict[tuple[int, int, str], RuleBook] = {}
_cache_lock = Lock()


def settings_of(session: Session, org_id: int, lock: bool = False) -> RoutingSettings:
    """The organization's routing settings row, created on first use. With `lock`, the
    row is locked until commit (PostgreSQL): concurrent round-robin decisions queue up."""
    stmt = select(RoutingSettings).where(RoutingSettings.org_id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalars(stmt).first()
    if found is None:
        found = RoutingSettings(
            org_id=org_id,
            version=0,
            stamp=uuid4().hex,
            fallback=dict(QUEUE_OWN_UNIT),
            return_policy=ReturnPolicy.FRESH_START,
            hot_from=60,
            warm_from=30,
            priority_from=dict(DEFAULT_PRIORITIES),
        )
        session.add(found)
        session.flush()
    return found


def rules_of(session: Session, org_id: int, kind: RuleKind) -> list[RoutingRule]:
    return list(
        session.scalars(
            select(RoutingRule)
            .where(RoutingRule.org_id == org_id, RoutingRule.kind == kind)
            .order_by(RoutingRule.position, RoutingRule.id)
        )
    )


def load(session: Session, org: Organization, settings: RoutingSettings | None = None) -> RuleBook:
    settings = settings or settings_of(session, org.id)
    key = (org.id, settings.version, settings.stamp)
    book = _cache.get(key)
    if book is None:
        book = _compile(session, org, settings)
        with _cache_lock:
            for stale in [k for k in _cache if k[0] == org.id]:
                del _cache[stale]
            _cache[key] = book
    return book


def _compile(session: Session, org: Organization, settings: RoutingSettings) -> RuleBook:
    # Stored rules were checked when saved; a unit or status renamed since simply stops
    # matching, so the options are not checked again here.
    full = catalog_for(session, org)
    catalog = Catalog({name: replace(spec, options=()) for name, spec in full.fields.items()})

    def compiled(rule: RoutingRule) -> CompiledRule:
        matches = compile_condition(rule.conditions, catalog, path=f"rule {rule.name!r}")
        return CompiledRule(
            rule.id,
            rule.name,
            matches,
            dict(rule.target or {}),
            rule.points,
            within=rule.within_seconds or 0,
            business_time=rule.business_time,
            clock=dict(rule.clock or {}),
        )

    def enabled(kind: RuleKind) -> tuple[CompiledRule, ...]:
        return tuple(compiled(r) for r in rules_of(session, org.id, kind) if r.enabled)

    return RuleBook(
        version=settings.version,
        assign_rules=enabled(RuleKind.ASSIGN),
        score_rules=enabled(RuleKind.SCORE),
        fallback=CompiledRule(None, "Fallback", lambda facts: True, settings.fallback or {}),
        return_policy=ReturnPolicy(settings.return_policy),
        hot_from=settings.hot_from,
        warm_from=settings.warm_from,
        priority_from=dict(settings.priority_from or DEFAULT_PRIORITIES),
        clock_rules={kind: enabled(kind) for kind in RuleKind if kind.is_clock},
        task_rules=enabled(RuleKind.TASK),
    )
