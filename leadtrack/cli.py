"""The `leadtrack` console command: Flask's CLI bound to the app factory."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from leadtrack import create_app
from leadtrack.extensions import db
from leadtrack.models import ORG_ROLES, Role
from leadtrack.services import api_keys, demo, organizations, rules_document, users
from leadtrack.services.errors import NotFound, ValidationError
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow


def _create_app(*_args, **_kwargs):
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli() -> None:
    """LeadTrack: sales leads on a response clock."""


def main() -> None:
    cli(prog_name="leadtrack")


def _fail(exc: Exception) -> None:
    db.session.rollback()
    if isinstance(exc, ValidationError):
        details = "\n".join(f"  {field}: {message}" for field, message in exc.errors.items())
        raise click.ClickException("nothing was saved:\n" + details)
    raise click.ClickException(str(exc))


@cli.command("seed-demo")
def seed_demo() -> None:
    """Create the demo organization and users (safe to run again)."""
    try:
        logins = demo.seed_demo(db.session)
    except ValidationError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for login in logins:
        click.echo(f"  {login.email:<38} {login.role:<20} {login.where}")


@cli.command("create-org")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--admin-email", required=True)
@click.option("--admin-password", required=True)
@click.option("--admin-name", default="Administrator")
@click.option("--timezone", default="UTC")
def create_org(slug, name, admin_email, admin_password, admin_name, timezone) -> None:
    """Create an organization and its first admin."""
    try:
        org, admin = organizations.create_organization(
            db.session,
            slug=slug,
            name=name,
            admin_email=admin_email,
            admin_password=admin_password,
            admin_name=admin_name,
            timezone=timezone,
        )
    except ValidationError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"created organization {org.slug} (id {org.id}); admin {admin.email}")


@cli.command("create-user")
@click.option("--org", "org_slug", help="Organization slug; omit for a super admin.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    type=click.Choice([r.value for r in (*ORG_ROLES, Role.SUPER_ADMIN)]),
    default=Role.AGENT.value,
)
@click.option("--password", required=True)
def create_user(org_slug, email, name, role, password) -> None:
    """Create a user (a super admin when --org is omitted)."""
    try:
        org = organizations.get_by_slug(db.session, org_slug) if org_slug else None
        if (org is None) != (role == Role.SUPER_ADMIN):
            raise click.ClickException("a super admin has no --org; every other role needs one")
        user = users.create_user(
            db.session, org, email=email, name=name, role=role, password=password
        )
    except (ValidationError, NotFound) as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@cli.command("create-api-key")
@click.option("--org", "org_slug", required=True)
@click.option("--scopes", required=True, help="Comma-separated: leads:create,leads:read,…")
@click.option("--name", required=True)
def create_api_key(org_slug, scopes, name) -> None:
    """Create an API key; the key is printed alone on the last line, and never again."""
    try:
        org = organizations.get_by_slug(db.session, org_slug)
        key, plaintext = api_keys.create_api_key(
            db.session, org, name=name, scopes=scopes, created_by=None
        )
    except (ValidationError, NotFound) as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"API key {key.name!r} for {org.slug}, scopes {','.join(key.scopes)}:")
    click.echo(plaintext)


@cli.group("rules")
def rules() -> None:
    """Assignment and scoring rules as a document (YAML or JSON); docs/rules.md."""


@rules.command("export")
@click.option("--org", "org_slug", required=True)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
def rules_export(org_slug: str, fmt: str, output: Path | None) -> None:
    """Print (or write to --output) the organization's rules as a document."""
    try:
        org = organizations.get_by_slug(db.session, org_slug)
    except NotFound as exc:
        _fail(exc)
    text = rules_document.dump(rules_document.export(db.session, org), fmt)
    db.session.rollback()  # exporting changes nothing
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Rules of {org_slug} written to {output}")


@rules.command("import")
@click.option("--org", "org_slug", required=True)
@click.argument("file", type=click.File("rb"))
def rules_import(org_slug: str, file) -> None:
    """Make the organization's rules what FILE says (YAML, or JSON for *.json), or change
    nothing: each mistake is printed as `path: message`, and the exit status is 1."""
    fmt = "json" if file.name.lower().endswith(".json") else "yaml"
    try:
        org = organizations.get_by_slug(db.session, org_slug)
        document = _read_document(file.read(), fmt)
        version = rules_document.apply(
            db.session, org, document, Actor(org.id, via="cli"), utcnow()
        )
        number, summary = version.version, version.summary
    except NotFound as exc:
        _fail(exc)
    except ValidationError as exc:
        db.session.rollback()
        for path, message in exc.errors.items():
            click.echo(f"{path}: {message}", err=True)
        click.get_current_context().exit(1)
    db.session.commit()
    click.echo(f"Rules of {org_slug} are now version {number}: {summary}")


def _read_document(raw: bytes, fmt: str) -> dict:
    try:
        return rules_document.parse(raw.decode("utf-8-sig"), fmt)
    except UnicodeDecodeError:
        raise ValidationError({"document": "The file is not UTF-8 text."}) from None
    except RecursionError:
        raise ValidationError({"document": "The document is nested too deeply."}) from None


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker, with RQ's scheduler for jobs due at a set time."""
    from rq import Worker
    from sqlalchemy.orm import configure_mappers

    # Imported once here, not in every forked job.
    import jobs.alerts
    import jobs.clock
    import jobs.tasks  # noqa: F401
    from leadtrack.channels import email  # noqa: F401
    from leadtrack.queues import QUEUE_NAMES
    from leadtrack.redis_conn import get_redis

    configure_mappers()
    engine = db.engine
    # Each job runs in a forked child: it must not reuse the parent's pooled connections.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    Worker(list(QUEUE_NAMES), connection=get_redis()).work(with_scheduler=True, burst=burst)


@cli.command("scheduler")
def scheduler() -> None:
    """Run RQ's cron scheduler, which enqueues the periodic jobs (one per installation)."""
    from jobs.cron import build_cron_scheduler
    from leadtrack.redis_conn import get_redis

    build_cron_scheduler(
        get_redis(), current_app.logger.level, current_app.config["CLOCK_SWEEP_SECONDS"]
    ).start()
