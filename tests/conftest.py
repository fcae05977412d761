"""Fixtures: a real database (SQLite file, or PostgreSQL from DATABASE_URL), a real Redis
(embedded, or REDIS_URL), an SMTP server on loopback, RQ workers, and a browser."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

_TMP = Path(tempfile.mkdtemp(prefix="leadtrack-tests-"))
os.environ["LEADTRACK_INSTANCE"] = str(_TMP / "instance")

from leadtrack import create_app, embedded_redis  # noqa: E402
from leadtrack.config import normalize_database_url  # noqa: E402
from leadtrack.extensions import db  # noqa: E402
from tests.support.smtp import SmtpSink  # noqa: E402
from tests.support.web import WebClient  # noqa: E402

pytest_plugins = ["tests.support.factories", "tests.support.browser"]


def _database_url() -> str:
    """A fresh SQLite file, or DATABASE_URL, which must name a throwaway database: the suite
    empties every table it finds (.ci/run creates `leadtrack_ci_…` for each run)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{_TMP / 'test.db'}"
    name = url.rsplit("/", 1)[-1].split("?")[0]
    if "test" not in name and "_ci_" not in name:
        pytest.exit(f"refusing to run the suite on database {name!r}: use a *test* or *_ci_* one")
    return normalize_database_url(url)


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def app(smtp_sink):
    redis_dir = _TMP / "instance" / "redis"  # where redis_conn starts the embedded server
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_sink.port}",
        "BASE_URL": "http://localhost",
        "LOGIN_RATE_LIMIT": "20 per minute",
        # Real hashing, cheaper cost: the suite creates hundreds of users.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    application = create_app(config)
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()
    if not os.environ.get("REDIS_URL"):
        embedded_redis.stop(redis_dir)


@pytest.fixture(autouse=True)
def _clean_state(app, smtp_sink):
    """Each test starts with empty tables, an empty Redis and an empty mailbox."""
    from leadtrack.redis_conn import get_redis

    get_redis(app).flushdb()
    smtp_sink.messages.clear()
    yield
    with app.app_context():
        db.session.remove()
        _empty_tables()
    get_redis(app).flushdb()


def _empty_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for table in tables:
                conn.execute(table.delete())
            conn.execute(text("PRAGMA foreign_keys=ON"))


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def web(app) -> WebClient:
    return WebClient(app.test_client())


@pytest.fixture
def other_web(app) -> WebClient:
    """A second, independent browser session."""
    return WebClient(app.test_client())


@pytest.fixture
def run_jobs(app):
    """Run every queued RQ job with a real worker (burst mode) on the real Redis."""
    from rq import SimpleWorker

    from leadtrack.queues import QUEUE_NAMES
    from leadtrack.redis_conn import get_redis

    def run() -> None:
        with app.app_context():
            worker = SimpleWorker(list(QUEUE_NAMES), connection=get_redis(app))
            worker.work(burst=True)

    return run
