"""CI helper: are PostgreSQL and Redis up on 127.0.0.1? Create or drop a fresh database."""

from __future__ import annotations

import os
import sys
import uuid

import psycopg
import redis

ADMIN_USERS = ("postgres", "root")


def _admin_conninfo() -> str | None:
    for user in ADMIN_USERS:
        conninfo = f"host=127.0.0.1 port=5432 user={user} dbname=postgres connect_timeout=3"
        try:
            with psycopg.connect(conninfo):
                return conninfo
        except psycopg.Error:
            continue
    return None


def check() -> int:
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=3).ping()
    except redis.RedisError:
        return 1
    return 0 if _admin_conninfo() else 1


def create_db() -> int:
    conninfo = _admin_conninfo()
    name = f"leadtrack_ci_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    user = conninfo.split("user=")[1].split()[0]
    print(f"postgresql://{user}@127.0.0.1:5432/{name}")
    return 0


def drop_db(url: str) -> int:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "check":
        sys.exit(check())
    if command == "create-db":
        sys.exit(create_db())
    if command == "drop-db":
        sys.exit(drop_db(sys.argv[2]))
    sys.exit(2)
