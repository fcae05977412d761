"""Weighted round-robin whose counters live in the database.

Each person in a pool has a `served` counter that grows by WEIGHT_UNITS / weight per lead;
the eligible person with the lowest counter is next (ties: longest since served, then id).
Someone who was skipped (away, off shift, at capacity) is marked away; when they are back,
the organization's policy decides: `fresh_start` levels their counter with the others',
`catch_up` lets them make up the leads they missed. A newcomer starts level."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import ReturnPolicy, RotationSlot
from leadtrack.services.rule_book import settings_of

WEIGHT_UNITS = 2520  # divisible by every weight from 1 to 10, so counters stay integers
MAX_WEIGHT = 10
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Slot:
    served: int = 0
    away: bool = False
    last_served_at: datetime | None = None


def choose(
    slots: dict[int, Slot],
    eligible: list[int],
    skipped: list[int],
    weights: dict[int, int],
    policy: ReturnPolicy,
    now: datetime,
) -> tuple[int, dict[int, Slot]]:
    """The next person and the pool's slots after serving them (only changed ones)."""
    changed: dict[int, Slot] = {}
    present = [slots[u].served for u in eligible if u in slots and not slots[u].away]
    level = (
        min(present)
        if present
        else min((slots[u].served for u in eligible if u in slots), default=0)
    )
    for user_id in skipped:
        if user_id not in slots:  # away before their first lead here: their place is kept
            changed[user_id] = Slot(served=level, away=True)
        elif not slots[user_id].away:
            changed[user_id] = replace(slots[user_id], away=True)
    current: dict[int, Slot] = {}
    for user_id in eligible:
        slot = slots.get(user_id)
        if slot is None:
            slot = changed[user_id] = Slot(served=level)
        elif slot.away:
            served = max(slot.served, level) if policy is ReturnPolicy.FRESH_START else slot.served
            slot = changed[user_id] = Slot(served, False, slot.last_served_at)
        current[user_id] = slot
    picked = min(
        eligible,
        key=lambda u: (current[u].served, current[u].last_served_at or _NEVER, u),
    )
    step = WEIGHT_UNITS // max(1, min(MAX_WEIGHT, weights.get(picked, 1)))
    changed[picked] = Slot(current[picked].served + step, False, now)
    return picked, changed


class Rotation:
    """The database's round-robin state (written) — the one real assignment uses."""

    def __init__(self, session: Session, org_id: int):
        self.session = session
        self.org_id = org_id
        self._locked = False

    def lock(self) -> None:
        """Before counting anyone's leads: concurrent decisions in one organization wait
        for each other here (a row lock on PostgreSQL), so counters and counts stay true."""
        if not self._locked:
            settings_of(self.session, self.org_id, lock=True)
            self._locked = True

    def handed_out(self, user_id: int) -> None:
        """A lead went to this person (the database's own count of open leads follows)."""

    def extra_open(self, user_id: int) -> int:
        return 0

    def read(self, pool: str, user_ids: list[int]) -> dict[int, Slot]:
        return {
            row.user_id: Slot(row.served, row.away, row.last_served_at)
            for row in self._rows(pool, user_ids).values()
        }

    def write(self, pool: str, changed: dict[int, Slot]) -> None:
        rows = self._rows(pool, list(changed))
        for user_id, slot in changed.items():
            row = rows.get(user_id)
            if row is None:
                row = RotationSlot(org_id=self.org_id, pool=pool, user_id=user_id)
                self.session.add(row)
            row.served, row.away, row.last_served_at = slot.served, slot.away, slot.last_served_at

    def _rows(self, pool: str, user_ids: list[int]) -> dict[int, RotationSlot]:
        if not user_ids:
            return {}
        rows = self.session.scalars(
            select(RotationSlot).where(
                RotationSlot.org_id == self.org_id,
                RotationSlot.pool == pool,
                RotationSlot.user_id.in_(user_ids),
            )
        )
        return {row.user_id: row for row in rows}


class SimulatedRotation(Rotation):
    """Reads the real counters once, then keeps its own copy: the simulator's rotation
    advances from lead to lead like the real one would, and the database stays untouched."""

    def __init__(self, session: Session, org_id: int):
        super().__init__(session, org_id)
        self.pools: dict[str, dict[int, Slot]] = {}
        self.given: dict[int, int] = {}  # leads handed out so far, on top of the real counts

    def handed_out(self, user_id: int) -> None:
        self.given[user_id] = self.given.get(user_id, 0) + 1

    def extra_open(self, user_id: int) -> int:
        return self.given.get(user_id, 0)

    def lock(self) -> None:
        pass

    def read(self, pool: str, user_ids: list[int]) -> dict[int, Slot]:
        known = self.pools.setdefault(pool, {})
        missing = [u for u in user_ids if u not in known]
        if missing:
            known.update(super().read(pool, missing))
        return {u: known[u] for u in user_ids if u in known}

    def write(self, pool: str, changed: dict[int, Slot]) -> None:
        self.pools.setdefault(pool, {}).update(changed)
