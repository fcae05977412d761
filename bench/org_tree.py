"""One large organization built with bulk inserts (the per-row services are too slow here).

The tree is areas > regions > stores > teams (depth 4). Every unit has its own manager;
agents fill the teams round-robin until the organization has `total_users` people.
Everyone shares one precomputed password hash, so no hashing happens while seeding.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from leadtrack.models import Organization, Role, Unit, User
from leadtrack.models.organization import DEFAULT_BUSINESS_HOURS

# (level, unit kind, children per parent): 5 + 20 + 140 + 840 = 1,005 units.
# The app knows area/store/team/department; a region is an area below an area.
SHAPE = (("area", "area", 5), ("region", "area", 4), ("store", "store", 7), ("team", "team", 6))
TOTAL_USERS = 10_000


@dataclass(frozen=True)
class OrgTree:
    org_id: int
    admin_id: int
    units_by_level: tuple[tuple[int, ...], ...]
    manager_of: dict[int, int]  # unit id -> manager user id
    users: int

    @property
    def units(self) -> int:
        return sum(len(level) for level in self.units_by_level)

    @property
    def top_area(self) -> int:
        return self.units_by_level[0][0]

    @property
    def first_store(self) -> int:
        return self.units_by_level[2][0]

    def shape(self) -> str:
        return " > ".join(
            f"{len(ids):,} {label}s"
            for (label, _, _), ids in zip(SHAPE, self.units_by_level, strict=True)
        )


def _insert_ids(session: Session, model: type, rows: list[dict]) -> list[int]:
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


def build(session: Session, password_hash: str, total_users: int = TOTAL_USERS) -> OrgTree:
    org = Organization(
        slug="bench",
        name="Bench Inc",
        timezone="Europe/Berlin",
        sender_name="Bench Inc",
        business_hours=dict(DEFAULT_BUSINESS_HOURS),
    )
    session.add(org)
    session.flush()
    [admin_id] = _insert_ids(
        session,
        User,
        [
            {
                "org_id": org.id,
                "email": "admin@bench.example.com",
                "name": "Bench Admin",
                "password_hash": password_hash,
                "role": Role.ORG_ADMIN.value,
            }
        ],
    )

    # Units, level by level, so each level knows its parents' ids.
    levels: list[tuple[int, ...]] = []
    parents: list[int | None] = [None]
    for label, kind, fanout in SHAPE:
        rows = [
            {
                "org_id": org.id,
                "parent_id": parent,
                "name": f"{label.title()} {p}.{n}",
                "kind": kind,
            }
            for p, parent in enumerate(parents)
            for n in range(1, fanout + 1)
        ]
        ids = _insert_ids(session, Unit, rows)
        levels.append(tuple(ids))
        parents = list(ids)
    all_units = [uid for level in levels for uid in level]

    # One manager per unit, then point each unit at its manager.
    manager_rows = [
        {
            "org_id": org.id,
            "email": f"manager{uid}@bench.example.com",
            "name": f"Manager {uid}",
            "password_hash": password_hash,
            "role": Role.MANAGER.value,
            "unit_id": uid,
        }
        for uid in all_units
    ]
    manager_ids = _insert_ids(session, User, manager_rows)
    manager_of = dict(zip(all_units, manager_ids, strict=True))
    session.execute(update(Unit), [{"id": u, "manager_id": m} for u, m in manager_of.items()])

    # Agents round-robin over the teams until the organization is full.
    teams = levels[-1]
    agents = total_users - 1 - len(manager_ids)
    session.execute(
        insert(User),
        [
            {
                "org_id": org.id,
                "email": f"agent{i}@bench.example.com",
                "name": f"Agent {i}",
                "password_hash": password_hash,
                "role": Role.AGENT.value,
                "unit_id": teams[i % len(teams)],
            }
            for i in range(agents)
        ],
    )
    session.commit()
    return OrgTree(
        org_id=org.id,
        admin_id=admin_id,
        units_by_level=tuple(levels),
        manager_of=manager_of,
        users=1 + len(manager_ids) + agents,
    )
