"""Periodic housekeeping run by the cron scheduler."""

from __future__ import annotations

from leadtrack.queues import HEARTBEAT_KEY
from leadtrack.redis_conn import get_redis
from leadtrack.timeutil import utcnow


def heartbeat() -> str:
    """Proves the scheduler -> queue -> worker chain is alive; shown on the status page."""
    stamp = utcnow().isoformat()
    get_redis().set(HEARTBEAT_KEY, stamp, ex=3600)
    return stamp
