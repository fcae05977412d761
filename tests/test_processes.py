"""The real processes: the `leadtrack` console command, an RQ worker and the cron scheduler."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import ApiKey, Lead, Organization, Role, RuleKind, User
from leadtrack.queues import HEARTBEAT_KEY
from leadtrack.redis_conn import get_redis
from leadtrack.services import demo, demo_leads, rule_book
from tests.support.factories import PASSWORD

LEADTRACK = str(Path(sys.executable).with_name("leadtrack"))


@pytest.fixture
def cli_env(app) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        SECRET_KEY=app.config["SECRET_KEY"],
        SMTP_URL=app.config["SMTP_URL"],
    )
    return env


def _run(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LEADTRACK, *args], env=env, capture_output=True, text=True, timeout=120)


def test_create_org_user_and_api_key_from_the_command_line(app, cli_env):
    result = _run(
        cli_env,
        "create-org",
        "--slug",
        "initech",
        "--name",
        "Initech",
        "--admin-email",
        "bill@initech.example.com",
        "--admin-password",
        "tps-report-99",
    )
    assert result.returncode == 0, result.stderr
    result = _run(
        cli_env,
        "create-user",
        "--org",
        "initech",
        "--email",
        "milton@initech.example.com",
        "--name",
        "Milton",
        "--role",
        "agent",
        "--password",
        "red-stapler-1",
    )
    assert result.returncode == 0, result.stderr
    result = _run(
        cli_env,
        "create-api-key",
        "--org",
        "initech",
        "--scopes",
        "leads:create,leads:read",
        "--name",
        "Website",
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("lt_")

    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.get_json()["organization"]["slug"] == "initech"
    assert me.get_json()["scopes"] == ["leads:create", "leads:read"]
    with app.app_context():
        milton = db.session.scalars(select(User).where(User.name == "Milton")).one()
        assert milton.role == Role.AGENT


def test_command_line_errors_are_messages_not_tracebacks(app, cli_env, tenant):
    result = _run(
        cli_env,
        "create-org",
        "--slug",
        "acme",
        "--name",
        "",
        "--admin-email",
        "nope",
        "--admin-password",
        "x",
    )
    assert result.returncode == 1
    assert "slug: This slug is taken." in result.stderr
    assert "Traceback" not in result.stderr
    result = _run(cli_env, "create-api-key", "--org", "acme", "--scopes", "root", "--name", "X")
    assert result.returncode == 1
    assert "scopes: Choose one or more of" in result.stderr
    with app.app_context():
        assert db.session.scalars(select(ApiKey)).all() == []
        assert len(db.session.scalars(select(Organization)).all()) == 1


def test_seed_demo_is_idempotent(app, cli_env):
    first = _run(cli_env, "seed-demo")
    assert first.returncode == 0, first.stderr
    with app.app_context():
        count = len(db.session.scalars(select(User)).all())
    second = _run(cli_env, "seed-demo")
    assert second.returncode == 0, second.stderr
    assert first.stdout == second.stdout
    assert "admin@northwind.example" in first.stdout
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == count >= 10
        roles = {u.role for u in db.session.scalars(select(User))}
        assert roles == {r.value for r in Role}
        leads = db.session.scalars(select(Lead)).all()
        assert len(leads) == demo_leads.DEMO_LEADS  # a second run adds none
        assert any(lead.first_response_at for lead in leads)
        assert len({lead.created_at.date() for lead in leads}) >= 3  # a few days of them
        org = db.session.scalars(select(Organization)).one()
        tasks = rule_book.rules_of(db.session, org.id, RuleKind.TASK)
        assert [t.name for t in tasks] == [t["name"] for t in demo.DEMO_TASKS]
        assert rule_book.settings_of(db.session, org.id).version == 2  # rules, then tasks, once


def test_demo_login_works(app, cli_env, web):
    assert _run(cli_env, "seed-demo").returncode == 0
    from leadtrack.services.demo import DEMO_PASSWORD

    assert web.login("ava.chen@northwind.example", DEMO_PASSWORD).status_code == 302
    assert "Hello, Ava" in web.get("/").get_data(as_text=True)


def _wait(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_and_scheduler_run_the_heartbeat_job(app, cli_env, web, tenant):
    redis = get_redis(app)
    processes = [
        subprocess.Popen(
            [LEADTRACK, name], env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for name in ("worker", "scheduler")
    ]
    try:
        assert _wait(lambda: redis.get(HEARTBEAT_KEY) is not None), "no heartbeat was run"
        web.login(tenant.admin.email, PASSWORD)
        page = web.get("/status").get_data(as_text=True)
        assert 'class="big ">1</p>' in page  # one worker
        assert "never" not in page
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_password_reset_mail_through_a_real_worker_process(app, cli_env, web, tenant, smtp_sink):
    web.post("/forgot-password", {"email": tenant.agent.email})
    result = _run(cli_env, "worker", "--burst")
    assert result.returncode == 0, result.stderr
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == tenant.agent.email
