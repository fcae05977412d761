"""Task jobs: start the checks of tasks on a schedule (queued every minute by the cron
scheduler; the checks then fire like every timer, from jobs/clock.py)."""

from __future__ import annotations

from leadtrack.extensions import db
from leadtrack.services import tasks
from leadtrack.timeutil import utcnow


def run_schedules() -> int:
    try:
        return tasks.run_schedules(db.session, utcnow())
    finally:
        db.session.remove()
