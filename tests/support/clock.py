"""The clock engine with its real processes: `leadtrack worker` and `leadtrack scheduler` as
subprocesses (each in its own session, so a test can SIGKILL one with everything it forked),
a response rule written through the rules document, leads through the real intake, and
queries for what the engine did."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import Lead, LeadEvent, Notification, Organization, Timer, TimerKind, User
from leadtrack.services import intake, rules_document
from leadtrack.services.history import Actor
from leadtrack.timeutil import as_utc, utcnow

LEADTRACK = str(Path(sys.executable).with_name("leadtrack"))
SWEEP_SECONDS = 2
RULE = "Web leads, fast"


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1):
    """The predicate's first truthy value, or its last value once `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# -- processes --------------------------------------------------------------------------------


def process_env(app, sweep_seconds: int = SWEEP_SECONDS) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        SECRET_KEY=app.config["SECRET_KEY"],
        SMTP_URL=app.config["SMTP_URL"],
        CLOCK_SWEEP_SECONDS=str(sweep_seconds),
        PYTHONUNBUFFERED="1",
    )
    return env


def children_of(pid: int) -> list[int]:
    """Every live descendant of `pid` (Linux /proc): RQ's work horse puts itself in its own
    process group, so killing the worker's group does not reach it."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def work_horses(pid: int) -> list[int]:
    """The work horses under an RQ worker: the children that lead their own process group
    (RQ's scheduler process, also a child, stays in the worker's)."""
    found = []
    for child in children_of(pid):
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(child) == child:
                found.append(child)
    return found


def is_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


@dataclass
class Processes:
    """The `leadtrack` processes of one test; whatever is still running at the end is
    stopped (SIGTERM, then SIGKILL for the whole session)."""

    env: dict[str, str]
    logs: Path
    running: list[subprocess.Popen] = field(default_factory=list)
    _count: int = 0

    def start(self, command: str) -> subprocess.Popen:
        self._count += 1
        log = open(self.logs / f"{self._count:02d}-{command}.log", "wb")  # noqa: SIM115
        try:
            process = subprocess.Popen(
                [LEADTRACK, command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self.running.append(process)
        return process

    def sigkill(self, process: subprocess.Popen) -> list[int]:
        """SIGKILL the process, everything it forked (the work horse first) and its group;
        return the pids killed besides the process itself."""
        others = children_of(process.pid)
        for pid in others:
            _kill(pid, signal.SIGKILL)
        _killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert wait_until(lambda: all(is_gone(pid) for pid in others), 30), others
        self.running.remove(process)
        return others

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                _killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            others = children_of(process.pid)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for pid in others:
                    _kill(pid, signal.SIGKILL)
                _killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        self.running.clear()

    def output(self) -> str:
        """The processes' logs (the tail of each), for an assertion's message."""
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace")
            parts.append(f"--- {path.name}\n{text[-3000:]}")
        return "\n".join(parts)


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


# -- rule and leads ---------------------------------------------------------------------------


def response_rule(app, org_id: int, within: int, channels: list[str]) -> None:
    """One response rule for web leads, around the clock, whose only ladder step gives the
    lead to the assignee's backup and alerts them on `channels`."""
    document = {
        "response": [
            {
                "name": RULE,
                "when": {"field": "source", "op": "is", "value": "web"},
                "within": f"{within}s",
                "business_time": False,
                "warnings": [],
                "ladder": [{"to": "backup", "action": "reassign", "channels": channels}],
            }
        ]
    }
    with app.app_context():
        org = db.session.get(Organization, org_id)
        rules_document.apply(db.session, org, document, Actor(org_id, via="cli"), utcnow())
        db.session.commit()


def set_backup(app, user_id: int, backup_id: int) -> None:
    with app.app_context():
        db.session.get(User, user_id).backup_id = backup_id
        db.session.commit()


def make_leads(
    app, org_id: int, assignee_id: int, names: list[str], *, by_assignee: bool = False
) -> list[int]:
    """Web leads for `assignee_id` through the intake, in one transaction: their timers are
    handed to RQ (`enqueue_at`) when it commits. Taken in through the API, or by the
    assignee (then nobody is alerted about the assignment: no mail traffic besides the
    clock's)."""
    with app.app_context():
        org = db.session.get(Organization, org_id)
        if by_assignee:
            actor = Actor(org_id, user=db.session.get(User, assignee_id), via="web")
        else:
            actor = Actor(org_id, via="api")
        ids = []
        for number, name in enumerate(names):
            raw = {
                "name": name,
                "emails": f"lead{number}@customer.example.com",
                "source": "web",
                "assignee_id": assignee_id,
            }
            ids.append(intake.create_lead(db.session, org, raw, actor, utcnow()).lead.id)
        db.session.commit()
        return ids


# -- what the engine did ----------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    lead_id: int
    at: datetime
    text: str


def escalations(app, lead_ids: list[int]) -> list[Escalation]:
    with app.app_context():
        rows = db.session.execute(
            select(LeadEvent.lead_id, LeadEvent.at, LeadEvent.data).where(
                LeadEvent.lead_id.in_(lead_ids), LeadEvent.kind == "escalated"
            )
        ).all()
        db.session.remove()
    return [Escalation(row.lead_id, as_utc(row.at), row.data.get("text", "")) for row in rows]


def escalated_count(app, lead_ids: list[int]) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count(func.distinct(LeadEvent.lead_id))).where(
                LeadEvent.lead_id.in_(lead_ids), LeadEvent.kind == "escalated"
            )
        )
        db.session.remove()
    return count


@dataclass(frozen=True)
class TimerRow:
    id: int
    lead_id: int
    kind: str
    step: int
    state: str
    attempts: int
    fire_at: datetime
    outcome: str
    fired_at: datetime | None = None


def timers(app, lead_ids: list[int]) -> list[TimerRow]:
    with app.app_context():
        rows = db.session.scalars(select(Timer).where(Timer.lead_id.in_(lead_ids))).all()
        found = [
            TimerRow(
                t.id,
                t.lead_id,
                t.kind,
                t.step,
                t.state,
                t.attempts,
                as_utc(t.fire_at),
                t.outcome,
                as_utc(t.fired_at),
            )
            for t in rows
        ]
        db.session.remove()
    return found


def step_zero(app, lead_ids: list[int]) -> dict[int, list[TimerRow]]:
    """Each lead's step-0 escalation timers (the deadline)."""
    found: dict[int, list[TimerRow]] = {lead_id: [] for lead_id in lead_ids}
    for row in timers(app, lead_ids):
        if row.kind == TimerKind.ESCALATION and row.step == 0:
            found[row.lead_id].append(row)
    return found


def assignees(app, lead_ids: list[int]) -> dict[int, tuple[int | None, int]]:
    """Each lead's (assignee id, escalation tier)."""
    with app.app_context():
        rows = db.session.execute(
            select(Lead.id, Lead.assignee_id, Lead.escalation_tier).where(Lead.id.in_(lead_ids))
        ).all()
        db.session.remove()
    return {row.id: (row.assignee_id, row.escalation_tier) for row in rows}


def escalation_alerts(app, lead_ids: list[int]) -> Counter:
    """How many escalation alerts (outbox rows) each lead has."""
    with app.app_context():
        rows = db.session.scalars(
            select(Notification.lead_id).where(
                Notification.lead_id.in_(lead_ids), Notification.event.like("escalated_%")
            )
        ).all()
        db.session.remove()
    return Counter(rows)
