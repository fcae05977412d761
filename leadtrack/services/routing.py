"""Assignment by rules: the first matching rule names a target (a person, a team by
round-robin or fewest open leads, a team chosen by a field, or a queue); the eligible
candidates are weighed; the lead goes to one of them — or, when nobody may take it, waits
in the unit's queue and the unit's manager is told. Every decision keeps its reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from leadtrack.models import AssignmentDecision, Lead, Organization, Role, Unit, User
from leadtrack.services import eligibility, history, leads, outbox, rule_book
from leadtrack.services.conditions import fold
from leadtrack.services.history import Actor
from leadtrack.services.lead_facts import UnitTree, facts_of
from leadtrack.services.rotation import Rotation, choose
from leadtrack.services.rule_book import CompiledRule, RuleBook

ASSIGNABLE_ROLES = (Role.AGENT,)  # a team's rotation: its agents, not its manager
METHODS = ("round_robin", "fewest_open")
TARGET_TYPES = ("user", "team", "by_field", "queue")


@dataclass
class Candidate:
    user_id: int
    name: str
    skipped: str = ""  # why this person could not take the lead; "" when they could
    open_leads: int = 0
    picked: bool = False


@dataclass
class Decision:
    rule_id: int | None
    rule_name: str
    method: str  # named | round_robin | fewest_open | queue
    assignee: User | None = None
    unit: Unit | None = None
    candidates: list[Candidate] = field(default_factory=list)
    note: str = ""

    @property
    def outcome(self) -> str:
        return "assigned" if self.assignee is not None else "queued"

    @property
    def summary(self) -> str:
        how = {
            "named": "to a named person",
            "round_robin": "round-robin",
            "fewest_open": "fewest open leads",
            "queue": "to the queue",
        }[self.method]
        where = f" in {self.unit.name}" if self.unit is not None and self.method != "named" else ""
        head = f"Rule “{self.rule_name}” ({how}{where})"
        if self.note:
            head += f", {self.note}"
        if self.assignee is not None:
            return f"{head} → {self.assignee.name}."
        queue = self.unit.name if self.unit is not None else "the organization"
        nobody = "" if self.method == "queue" else "nobody available; "
        return f"{head}: {nobody}waits in the queue of {queue}."

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "rule_id": self.rule_id,
            "rule": self.rule_name,
            "method": self.method,
            "assignee_id": self.assignee.id if self.assignee else None,
            "assignee": self.assignee.name if self.assignee else None,
            "unit_id": self.unit.id if self.unit else None,
            "unit": self.unit.name if self.unit else None,
            "note": self.note,
            "summary": self.summary,
            "candidates": [asdict(c) for c in self.candidates],
        }


def route(
    session: Session,
    org: Organization,
    lead: Lead,
    actor: Actor,
    now: datetime,
    *,
    exclude: frozenset[int] = frozenset(),
) -> Decision:
    """Decide by the rules and carry it out: assign (the assignee is alerted) or queue (the
    unit's manager is alerted); the decision and its reasons are stored with the lead."""
    book = rule_book.load(session, org)
    decision = decide(session, org, lead, now, book, Rotation(session, org.id), exclude=exclude)
    _carry_out(session, org, lead, decision, actor, now)
    return decision


def decide(
    session: Session,
    org: Organization,
    lead: Lead,
    now: datetime,
    book: RuleBook,
    rotation: Rotation,
    *,
    exclude: frozenset[int] = frozenset(),
    units: UnitTree | None = None,
) -> Decision:
    units = units or UnitTree.load(session, org.id)
    facts = facts_of(lead, ZoneInfo(org.timezone), now, units)
    rule = next((r for r in book.assign_rules if r.matches(facts)), book.fallback)
    target = rule.target or rule_book.QUEUE_OWN_UNIT
    return _Decider(session, org, lead, now, book, rotation, exclude).run(rule, target, facts)


class _Decider:
    def __init__(self, session, org, lead, now, book: RuleBook, rotation: Rotation, exclude):
        self.session, self.org, self.lead, self.now = session, org, lead, now
        self.book, self.rotation, self.exclude = book, rotation, exclude
        self._closed_reason: str | None = None

    def run(self, rule: CompiledRule, target: dict, facts: dict) -> Decision:
        kind = target.get("type")
        if kind == "user":
            return self._named(rule, target)
        if kind == "team":
            return self._team(rule, target, self._unit(target.get("unit_id")), "")
        if kind == "by_field":
            return self._by_field(rule, target, facts)
        unit = self._unit(target.get("unit_id")) or self._unit(self.lead.unit_id)
        return Decision(rule.id, rule.name, "queue", unit=unit)

    def _named(self, rule: CompiledRule, target: dict) -> Decision:
        user = self._users_by_ids([target.get("user_id")])
        decision = Decision(rule.id, rule.name, "named")
        if not user:
            decision.note = "the named person no longer exists"
            decision.unit = self._unit(self.lead.unit_id)
            return decision
        person = user[0]
        decision.unit = person.unit
        candidate = self._weigh(user, target)[0]
        decision.candidates = [candidate]
        if not candidate.skipped:
            candidate.picked = True
            decision.assignee = person
            self.rotation.handed_out(person.id)
        return decision

    def _by_field(self, rule: CompiledRule, target: dict, facts: dict) -> Decision:
        name = target.get("field", "")
        value = facts.get(name)
        mapping = {fold(k): v for k, v in (target.get("map") or {}).items()}
        unit_id = mapping.get(fold(value)) if value not in (None, "") else None
        if unit_id is None:
            unit_id = target.get("otherwise")
            note = f"{name} “{value or '—'}” is not mapped; its default team"
        else:
            note = f"{name} “{value}”"
        unit = self._unit(unit_id)
        if unit is None:
            fallback = self.book.fallback
            decision = self.run(fallback, fallback.target or rule_book.QUEUE_OWN_UNIT, facts)
            decision.rule_id, decision.rule_name = rule.id, rule.name
            decision.note = f"{name} “{value or '—'}” is not mapped; the fallback applies"
            return decision
        return self._team(rule, target, unit, note)

    def _team(self, rule: CompiledRule, target: dict, unit: Unit | None, note: str) -> Decision:
        method = target.get("method") if target.get("method") in METHODS else "round_robin"
        decision = Decision(rule.id, rule.name, method, unit=unit, note=note)
        if unit is None:  # nobody can take it: queued, and someone is told (see _queue)
            decision.unit = self._unit(self.lead.unit_id)
            decision.note = "the team no longer exists"
            return decision
        members = self._members(unit.id)
        decision.candidates = self._weigh(members, target)
        eligible = [c for c in decision.candidates if not c.skipped]
        if not eligible:
            return decision
        if method == "fewest_open":
            fewest = min(c.open_leads for c in eligible)
            eligible = [c for c in eligible if c.open_leads == fewest]
        picked = self._rotate(unit.id, decision.candidates, eligible, target)
        picked.picked = True
        self.rotation.handed_out(picked.user_id)
        decision.assignee = next(u for u in members if u.id == picked.user_id)
        return decision

    def _rotate(self, unit_id: int, everyone: list[Candidate], eligible: list[Candidate], target):
        pool = f"unit:{unit_id}"
        ids = [c.user_id for c in everyone]
        slots = self.rotation.read(pool, ids)
        weights = {int(k): int(v) for k, v in (target.get("weights") or {}).items()}
        eligible_ids = [c.user_id for c in eligible]
        skipped = [c.user_id for c in everyone if c.skipped]
        picked, changed = choose(
            slots, eligible_ids, skipped, weights, self.book.return_policy, self.now
        )
        self.rotation.write(pool, changed)
        return next(c for c in eligible if c.user_id == picked)

    def _weigh(self, users: list[User], target: dict) -> list[Candidate]:
        self.rotation.lock()
        counts = eligibility.open_lead_counts(self.session, self.org.id, [u.id for u in users])
        counts = {u.id: counts.get(u.id, 0) + self.rotation.extra_open(u.id) for u in users}
        closed = self._business_closed() if target.get("hours", True) else None
        return [
            Candidate(
                user.id,
                user.name,
                eligibility.skip_reason(
                    user,
                    self.org,
                    self.now,
                    counts.get(user.id, 0),
                    closed_reason=closed,
                    excluded=user.id in self.exclude,
                ),
                counts.get(user.id, 0),
            )
            for user in users
        ]

    def _business_closed(self) -> str:
        if self._closed_reason is None:
            self._closed_reason = eligibility.business_closed_reason(
                self.session, self.org, self.now
            )
        return self._closed_reason

    def _members(self, unit_id: int) -> list[User]:
        return self._people(User.unit_id == unit_id, User.role.in_(ASSIGNABLE_ROLES))

    def _users_by_ids(self, ids: list) -> list[User]:
        wanted = [i for i in ids if isinstance(i, int)]
        return self._people(User.id.in_(wanted)) if wanted else []

    def _people(self, *where) -> list[User]:
        """The organization's users matching `where`, with their absences loaded."""
        return list(
            self.session.scalars(
                select(User)
                .options(selectinload(User.out_of_office))
                .where(User.org_id == self.org.id, *where)
                .order_by(User.id)
            )
        )

    def _unit(self, unit_id) -> Unit | None:
        if not isinstance(unit_id, int):
            return None
        unit = self.session.get(Unit, unit_id)
        return unit if unit is not None and unit.org_id == self.org.id else None


def _carry_out(
    session: Session, org: Organization, lead: Lead, decision: Decision, actor: Actor, now: datetime
) -> None:
    record = AssignmentDecision(
        org_id=org.id,
        lead_id=lead.id,
        at=now,
        rule_id=decision.rule_id,
        rule_name=decision.rule_name,
        outcome=decision.outcome,
        assignee_id=decision.assignee.id if decision.assignee else None,
        unit_id=decision.unit.id if decision.unit else None,
        summary=decision.summary,
        detail=decision.as_dict(),
    )
    session.add(record)
    if decision.assignee is not None:
        leads.assign(session, lead, decision.assignee, actor, now, reason=decision.summary)
        return
    _queue(session, org, lead, decision, actor, now)


def _queue(session, org: Organization, lead: Lead, decision: Decision, actor: Actor, now) -> None:
    if lead.assignee_id is not None:
        leads.assign(session, lead, None, actor, now, reason=decision.summary)
    unit = decision.unit
    moved = unit is not None and lead.unit_id != unit.id
    on_purpose = decision.method == "queue"
    if on_purpose and not moved:
        return  # it stays where it came in, unassigned: nothing changed
    if moved:
        lead.unit_id = unit.id
        lead.updated_at = now
    history.record(
        session,
        lead,
        actor,
        now,
        "queued",
        unit_id=unit.id if unit else None,
        unit_name=unit.name if unit else None,
        reason=decision.summary,
    )
    if on_purpose:
        return  # the rule sends these leads to the queue: people route them by hand
    for person in managers_for(session, org, unit):
        outbox.notify(
            session,
            org,
            "lead_queued",
            person,
            now,
            lead=lead,
            step=outbox.each_time(now),
            details={"unit": unit.name if unit else org.name, "reason": decision.summary},
        )


def managers_for(session: Session, org: Organization, unit: Unit | None) -> list[User]:
    """The manager of the unit (or of the nearest unit above with one), else the
    organization's admins: someone always hears about a lead nobody could take."""
    cursor = unit
    while cursor is not None:
        if cursor.manager is not None and cursor.manager.is_active_user:
            return [cursor.manager]
        cursor = cursor.parent
    return list(
        session.scalars(
            select(User).where(
                User.org_id == org.id,
                User.role == Role.ORG_ADMIN,
                User.is_active_user.is_(True),
            )
        )
    )


def pick(
    session: Session,
    org: Organization,
    lead: Lead,
    target: dict,
    now: datetime,
    *,
    exclude: frozenset[int] = frozenset(),
) -> User | None:
    """Whom `target` would give the lead to now (eligibility and rotation included),
    without giving it: the clock's ladder decides what to do with that person."""
    units = UnitTree.load(session, org.id)
    facts = facts_of(lead, ZoneInfo(org.timezone), now, units)
    rule = CompiledRule(None, "Escalation", lambda _facts: True, target)
    book = rule_book.load(session, org)
    decider = _Decider(session, org, lead, now, book, Rotation(session, org.id), exclude)
    return decider.run(rule, target, facts).assignee


def latest_decision(session: Session, lead_id: int) -> AssignmentDecision | None:
    return session.scalars(
        select(AssignmentDecision)
        .where(AssignmentDecision.lead_id == lead_id)
        .order_by(AssignmentDecision.at.desc(), AssignmentDecision.id.desc())
        .limit(1)
    ).first()
