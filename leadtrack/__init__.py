"""LeadTrack: sales leads on a response clock."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from leadtrack import redis_conn
from leadtrack.config import build_config
from leadtrack.extensions import csrf, db, limiter, login_manager, migrate
from leadtrack.services import live_events, outbox, passwords, timer_queue


def create_app(config: dict | None = None) -> Flask:
    settings = build_config(config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.config.update(settings)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    passwords.configure(app.config["PASSWORD_HASH_METHOD"])
    redis_conn.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    outbox.init_app(app)
    timer_queue.init_app(app)
    live_events.init_app(app)
    _init_login(app)

    from leadtrack.blueprints import register_blueprints
    from leadtrack.web import register_converters, register_web_helpers

    register_converters(app)
    register_blueprints(app)
    register_web_helpers(app)
    return app


def _migrations_dir():
    from leadtrack.config import PROJECT_ROOT

    return PROJECT_ROOT / "migrations"


def _init_login(app: Flask) -> None:
    from leadtrack.models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL lets the web, worker and scheduler processes read while one writes."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
