"""Round-robin fairness: two processes taking in leads at once share them evenly (PostgreSQL),
someone back from leave is not flooded (fresh_start) or gets the missed leads first
(catch_up), a newcomer starts level, and a weight of 2 gets twice as many.

Every lead goes through the real intake (`intake.create_lead`, as the API sends it), and the
one assignment rule is written with `rules_document.apply`, as the editor or an import would.
The rule says `hours: false`, so the organization's business hours play no part here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import AssignmentDecision, Lead, Organization, Role, RotationSlot, User
from leadtrack.services import intake, rules_document, units, users
from leadtrack.services.history import Actor
from leadtrack.services.rotation import WEIGHT_UNITS
from tests.support.factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
TEAM = "Web team"
RULE = "Web leads round-robin"
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PER_PROCESS = 50


@pytest.fixture
def org(ctx, tenant) -> Organization:
    return db.session.get(Organization, tenant.org.id)


def _team(org: Organization, tenant, size: int) -> list[User]:
    team = units.create_unit(db.session, org, name=TEAM, kind="team", parent_id=tenant.store.id)
    people = [_agent(org, team.id, n) for n in range(1, size + 1)]
    db.session.commit()
    return people


def _agent(org: Organization, team_id: int, number: int) -> User:
    return users.create_user(
        db.session,
        org,
        email=f"web{number}@{org.slug}.example.com",
        name=f"Web Agent {number}",
        role=Role.AGENT,
        password=PASSWORD,
        unit_id=team_id,
    )


def _rules(org: Organization, tenant, policy: str = "fresh_start", weights=None) -> None:
    target = {"team": TEAM, "method": "round_robin", "hours": False}
    if weights:
        target["weights"] = weights
    document = {
        "settings": {"return_policy": policy},
        "assignment": [
            {
                "name": RULE,
                "when": {"field": "source", "op": "is", "value": "web"},
                "assign": target,
            }
        ],
    }
    admin = db.session.get(User, tenant.admin.id)
    rules_document.apply(db.session, org, document, Actor(org.id, user=admin), MONDAY)
    db.session.commit()


def _intake(org: Organization, count: int, start: datetime, tag: str) -> list[int]:
    """`count` web leads through the API's intake, one a minute from `start`, each committed;
    the assignee of each, in order."""
    actor = Actor(org.id, via="api")
    owners = []
    for n in range(count):
        raw = {"name": f"Lead {tag}{n}", "emails": f"{tag}{n}@customer.example.com"}
        lead = intake.create_lead(
            db.session, org, {**raw, "source": "web"}, actor, start + timedelta(minutes=n)
        ).lead
        db.session.commit()
        owners.append(lead.assignee_id)
    return owners


def _counts(owners: list[int], people: list[User]) -> list[int]:
    tally = Counter(owners)
    return [tally[person.id] for person in people]


def _slots(org: Organization) -> dict[int, RotationSlot]:
    rows = db.session.scalars(select(RotationSlot).where(RotationSlot.org_id == org.id))
    return {row.user_id: row for row in rows}


# -- two processes at once (PostgreSQL) ------------------------------------------------------

CHILD = """
import sys
from leadtrack import create_app
from leadtrack.extensions import db
from leadtrack.models import Organization
from leadtrack.services import intake
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow

org_id, tag, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
app = create_app()
with app.app_context():
    actor = Actor(org_id, via="api")
    db.session.get(Organization, org_id)  # connected and mapped before the start signal
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit(3)
    ids = []
    for n in range(count):
        org = db.session.get(Organization, org_id)
        raw = {"name": f"Lead {tag}{n}", "emails": f"{tag}{n}@customer.example.com",
               "source": "web"}
        ids.append(intake.create_lead(db.session, org, raw, actor, utcnow()).lead.id)
        db.session.commit()
    print("ids", *ids, flush=True)
"""


@pytest.fixture
def child_env(app) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SMTP_URL": app.config["SMTP_URL"],
        "PYTHONPATH": str(ROOT),
    }


def _start_children(org_id: int, env: dict, tmp_path: Path) -> list[subprocess.Popen]:
    children = []
    for tag in ("a", "b"):
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(org_id), tag, str(PER_PROCESS)],
                env=env,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=(tmp_path / f"child-{tag}.err").open("w"),
                text=True,
            )
        )
    return children


def _run_children(children: list[subprocess.Popen], tmp_path: Path) -> dict[str, list[int]]:
    """Both ready (app made, database connected), then both told to go at once."""
    errors = {tag: tmp_path / f"child-{tag}.err" for tag in ("a", "b")}
    for child, tag in zip(children, errors, strict=True):
        line = child.stdout.readline().strip()
        assert line == "ready", f"child {tag} did not start:\n{errors[tag].read_text()}"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    made = {}
    for child, tag in zip(children, errors, strict=True):
        out, _ = child.communicate(timeout=600)  # a guard against a hang, not a speed limit
        assert child.returncode == 0, f"child {tag} failed:\n{errors[tag].read_text()}"
        words = out.split()
        made[tag] = [int(word) for word in words[words.index("ids") + 1 :]]
    return made


def test_two_processes_taking_leads_at_once_share_them_evenly(org, tenant, child_env, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip(
            "two writer processes need PostgreSQL (its row lock is what serializes "
            "round-robin); SQLite serializes whole-database writes, .ci/run's second run "
            "covers this"
        )
    people = _team(org, tenant, 4)
    _rules(org, tenant)
    children = _start_children(org.id, child_env, tmp_path)
    try:
        made = _run_children(children, tmp_path)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    ids = made["a"] + made["b"]
    assert len(ids) == len(set(ids)) == 2 * PER_PROCESS

    # The two really ran at once: their leads interleave in id (commit) order.
    maker = {lead_id: tag for tag, lead_ids in made.items() for lead_id in lead_ids}
    runs = 1 + sum(1 for x, y in pairwise(sorted(ids)) if maker[x] != maker[y])
    assert runs > 2, "the two processes did not overlap; nothing concurrent was tested"

    db.session.expire_all()
    leads = db.session.scalars(select(Lead).where(Lead.id.in_(ids))).all()
    assert [lead.id for lead in leads if lead.assignee_id is None] == []
    counts = _counts([lead.assignee_id for lead in leads], people)
    assert all(24 <= count <= 26 for count in counts), counts
    assert sum(counts) == 2 * PER_PROCESS

    decisions = db.session.scalars(
        select(AssignmentDecision).where(AssignmentDecision.lead_id.in_(ids))
    ).all()
    assert len(decisions) == len(ids)
    assert {(d.outcome, d.rule_name) for d in decisions} == {("assigned", RULE)}
    assert {d.lead_id: d.assignee_id for d in decisions} == {
        lead.id: lead.assignee_id for lead in leads
    }

    # The counters in the database say exactly what happened.
    slots = _slots(org)
    assert sorted(slots) == sorted(person.id for person in people)
    for person, count in zip(people, counts, strict=True):
        assert slots[person.id].served == count * WEIGHT_UNITS
        assert not slots[person.id].away
    assert {slot.pool for slot in slots.values()} == {f"unit:{people[0].unit_id}"}


# -- one process: leave, newcomers, weights (SQLite and PostgreSQL) --------------------------


def _away(person: User, starts: datetime, ends: datetime) -> None:
    users.add_out_of_office(db.session, person, starts, ends, note="holiday")
    db.session.commit()


def _before_during_leave(org: Organization, people: list[User]) -> datetime:
    """Two leads each, then the last person is out of office for a week and the other three
    take 12 (4 each). Returns when the leave ends."""
    assert _counts(_intake(org, 8, MONDAY, "before"), people) == [2, 2, 2, 2]
    leave_starts = MONDAY + timedelta(days=1)
    leave_ends = leave_starts + timedelta(days=7)
    _away(people[3], leave_starts, leave_ends)
    during = _intake(org, 12, leave_starts + timedelta(hours=1), "during")
    assert _counts(during, people) == [4, 4, 4, 0]
    return leave_ends


def test_fresh_start_gives_someone_back_from_leave_their_share_from_now_on(org, tenant):
    people = _team(org, tenant, 4)
    _rules(org, tenant, "fresh_start")
    returning = people[3]
    leave_ends = _before_during_leave(org, people)
    last = db.session.scalars(
        select(AssignmentDecision).order_by(AssignmentDecision.id.desc()).limit(1)
    ).one()
    reasons = {c["user_id"]: c["skipped"] for c in last.detail["candidates"]}
    assert reasons[returning.id].startswith("out of office until")
    assert _slots(org)[returning.id].away

    after = _intake(org, 8, leave_ends + timedelta(hours=1), "after")
    assert _counts(after, people) == [2, 2, 2, 2]  # their share, not the 4 they missed
    slots = _slots(org)
    assert not slots[returning.id].away
    assert len({slot.served for slot in slots.values()}) == 1  # level with the others


def test_catch_up_gives_someone_back_from_leave_the_missed_leads_first(org, tenant):
    people = _team(org, tenant, 4)
    _rules(org, tenant, "catch_up")
    returning = people[3]
    leave_ends = _before_during_leave(org, people)

    after = _intake(org, 8, leave_ends + timedelta(hours=1), "after")
    assert after[:4] == [returning.id] * 4  # the 4 they missed, first
    assert _counts(after[4:], people) == [1, 1, 1, 1]  # then the rotation goes on


def test_catch_up_counts_a_leave_that_began_before_the_first_lead(org, tenant):
    people = _team(org, tenant, 4)
    _rules(org, tenant, "catch_up")
    leave_ends = MONDAY + timedelta(days=7)
    _away(people[3], MONDAY, leave_ends)
    assert _counts(_intake(org, 12, MONDAY + timedelta(hours=1), "during"), people) == [4, 4, 4, 0]

    after = _intake(org, 4, leave_ends + timedelta(hours=1), "after")
    assert after == [people[3].id] * 4


@pytest.mark.parametrize("policy", ["fresh_start", "catch_up"])
def test_a_newcomer_starts_level_with_the_team(org, tenant, policy):
    people = _team(org, tenant, 3)
    _rules(org, tenant, policy)
    before = _intake(org, 9, MONDAY, "before")
    assert _counts(before, people) == [3, 3, 3]

    newcomer = _agent(org, people[0].unit_id, 4)
    db.session.commit()
    people.append(newcomer)
    after = _intake(org, 8, MONDAY + timedelta(days=1), "after")
    assert _counts(after, people) == [2, 2, 2, 2]
    served = {slot.user_id: slot.served for slot in _slots(org).values()}
    assert served[newcomer.id] == served[people[0].id] == 5 * WEIGHT_UNITS


def test_weight_two_gets_twice_as_many(org, tenant):
    people = _team(org, tenant, 3)
    _rules(org, tenant, weights={people[1].email: 2})
    owners = _intake(org, 20, MONDAY, "w")
    assert _counts(owners, people) == [5, 10, 5]
    # After every four leads the split is exactly 1 : 2 : 1.
    for n in range(4, 21, 4):
        assert _counts(owners[:n], people) == [n // 4, n // 2, n // 4]
