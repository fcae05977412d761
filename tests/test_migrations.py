"""Migrations: the models and the migration history agree, and upgrading keeps data."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import Organization


def test_models_match_the_migrations(ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_upgrade_on_an_existing_database_keeps_its_data(ctx, tenant):
    upgrade()  # already at head: must be a no-op that keeps every row
    names = db.session.scalars(select(Organization.name)).all()
    assert names == ["Acme Inc"]


def test_constraint_names_follow_the_convention(ctx):
    from sqlalchemy import inspect

    inspector = inspect(db.engine)
    fks = {fk["name"] for fk in inspector.get_foreign_keys("unit")}
    assert "fk_unit_manager_id_user" in fks
    uniques = {uc["name"] for uc in inspector.get_unique_constraints("user")}
    assert "uq_user_email" in uniques
