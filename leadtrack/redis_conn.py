"""One Redis for RQ, pub/sub and rate limits: `REDIS_URL`, or the embedded server."""

from __future__ import annotations

from pathlib import Path

import redis
from flask import Flask, current_app

from leadtrack import embedded_redis


def resolve_redis_url(config: dict) -> str:
    if config.get("REDIS_URL"):
        return config["REDIS_URL"]
    return embedded_redis.ensure_running(Path(config["INSTANCE_PATH"]) / "redis")


def limiter_storage_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def init_app(app: Flask) -> None:
    url = resolve_redis_url(app.config)
    app.config["REDIS_URL"] = url
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(url))
    app.extensions["redis"] = redis.Redis.from_url(url)


def get_redis(app: Flask | None = None) -> redis.Redis:
    return (app or current_app).extensions["redis"]
