"""The periodic jobs, registered with RQ's cron scheduler (`leadtrack scheduler`)."""

from __future__ import annotations

import logging

from redis import Redis
from rq.cron import CronScheduler

from jobs import clock, tasks
from jobs.alerts import daily_digests, follow_up_reminders, sweep
from jobs.system import heartbeat

HEARTBEAT_SECONDS = 30
ALERT_SWEEP_SECONDS = 15
REMINDER_SECONDS = 60
TASK_SCHEDULE_SECONDS = 60
DIGEST_SECONDS = 300


def build_cron_scheduler(
    connection: Redis, level: int = logging.INFO, clock_sweep_seconds: int = 10
) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, logging_level=level or logging.INFO)
    scheduler.register(heartbeat, queue_name="default", interval=HEARTBEAT_SECONDS)
    scheduler.register(clock.sweep, queue_name="default", interval=clock_sweep_seconds)
    scheduler.register(sweep, queue_name="default", interval=ALERT_SWEEP_SECONDS)
    scheduler.register(follow_up_reminders, queue_name="default", interval=REMINDER_SECONDS)
    scheduler.register(tasks.run_schedules, queue_name="default", interval=TASK_SCHEDULE_SECONDS)
    scheduler.register(daily_digests, queue_name="default", interval=DIGEST_SECONDS)
    return scheduler
