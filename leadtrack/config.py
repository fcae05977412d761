"""Settings from environment variables, with embedded defaults that just work."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    path = Path(os.environ.get("LEADTRACK_INSTANCE", PROJECT_ROOT / "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _persistent_secret_key(instance: Path) -> str:
    """A secret generated once and kept under instance/, so sessions survive restarts."""
    key_file = instance / "secret_key"
    try:  # O_EXCL: when several processes start at once, exactly one writes the key
        fd = os.open(key_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    for _ in range(50):  # the writer may still be writing
        key = key_file.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{key_file} is empty; delete it and start again")


def normalize_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def build_config(overrides: dict | None = None) -> dict:
    instance = instance_path()
    env = os.environ
    config = {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": env.get("SECRET_KEY") or _persistent_secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{instance / 'leadtrack.db'}"
        ),
        "REDIS_URL": env.get("REDIS_URL", ""),
        "SMTP_URL": env.get("SMTP_URL", ""),
        "MAIL_FROM": env.get("MAIL_FROM", "leadtrack@localhost"),
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000"),
        # Instance-wide delivery accounts; an organization may set its own (Settings → Alerts).
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID", ""),
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN", ""),
        "TWILIO_FROM": env.get("TWILIO_FROM", ""),
        "TWILIO_API_BASE": env.get("TWILIO_API_BASE", "https://api.twilio.com"),
        "CHAT_WEBHOOK_URL": env.get("CHAT_WEBHOOK_URL", ""),
        "ALERT_LINK_MAX_AGE": int(env.get("ALERT_LINK_MAX_AGE", str(7 * 24 * 3600))),
        "ALERT_MAX_ATTEMPTS": int(env.get("ALERT_MAX_ATTEMPTS", "6")),
        "ALERT_RETRY_SECONDS": int(env.get("ALERT_RETRY_SECONDS", "30")),
        # How often the scheduler sweeps for due timers nobody fired (at most 15 s).
        "CLOCK_SWEEP_SECONDS": min(max(int(env.get("CLOCK_SWEEP_SECONDS", "10")), 1), 15),
        # Live board streams (SSE): at most this many open at once in one web process (the
        # rest poll), each ended after LIVE_STREAM_SECONDS (the browser resumes where it
        # stopped), with a comment line every LIVE_HEARTBEAT_SECONDS to keep proxies open.
        "LIVE_MAX_STREAMS": int(env.get("LIVE_MAX_STREAMS", "24")),
        "LIVE_STREAM_SECONDS": int(env.get("LIVE_STREAM_SECONDS", "300")),
        "LIVE_HEARTBEAT_SECONDS": int(env.get("LIVE_HEARTBEAT_SECONDS", "15")),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "20 per minute"),
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "600 per minute"),
        "LOCKOUT_THRESHOLD": int(env.get("LOCKOUT_THRESHOLD", "5")),
        "LOCKOUT_MINUTES": int(env.get("LOCKOUT_MINUTES", "15")),
        "PASSWORD_RESET_MAX_AGE": int(env.get("PASSWORD_RESET_MAX_AGE", "3600")),
        "PASSWORD_HASH_METHOD": env.get("PASSWORD_HASH_METHOD", "scrypt"),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(20 * 1024 * 1024))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "") == "1",
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Behind N reverse proxies / load balancers, trust N X-Forwarded-* hops (rate limits
        # and logs then see the client's address, not the balancer's).
        "PROXY_COUNT": int(env.get("PROXY_COUNT", "0")),
    }
    config.update(overrides or {})
    return config
