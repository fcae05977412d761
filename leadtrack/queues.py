"""RQ queues and the health of the processes behind them (workers, cron scheduler)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app
from rq import Queue, Worker
from rq.cron import CronScheduler

from leadtrack.redis_conn import get_redis
from leadtrack.timeutil import as_utc

QUEUE_NAMES = ("default",)
HEARTBEAT_KEY = "leadtrack:scheduler:heartbeat"


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis(), is_async=not current_app.config.get("RQ_SYNC"))


def enqueue(func: Callable | str, *args, **kwargs):
    """Hand a job to RQ. Web code names jobs by dotted path, so it never imports `jobs/`."""
    return get_queue().enqueue(func, *args, **kwargs)


def worker_count() -> int:
    return len(Worker.all(connection=get_redis()))


def cron_schedulers() -> int:
    return len(CronScheduler.all(connection=get_redis()))


def last_heartbeat() -> datetime | None:
    raw = get_redis().get(HEARTBEAT_KEY)
    return as_utc(datetime.fromisoformat(raw.decode())) if raw else None
