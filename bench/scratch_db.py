"""Scratch databases for the lead benchmarks: a PostgreSQL database or a SQLite file that
exists for one run and is removed afterwards, whatever happens in between."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def postgres_url(name: str) -> str:
    return f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


def postgres_reachable() -> bool:
    try:
        psycopg.connect(**PG, dbname="postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        log(f"PostgreSQL not reachable ({str(exc).strip().splitlines()[0]})")
        return False
    return True


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A fresh database `<prefix>_<pid>`, dropped (WITH FORCE) afterwards; yields its URL."""
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(**PG, dbname="postgres", autocommit=True, connect_timeout=3) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    log(f"created PostgreSQL database {name}")
    try:
        yield postgres_url(name)
    finally:
        with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        log(f"dropped PostgreSQL database {name}")


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def delete_redis_keys(redis_url: str, pattern: str) -> int:
    """Delete the keys matching `pattern` (only ours: callers pass their own prefix)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=pattern, count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)
