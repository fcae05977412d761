"""tasks: runaway switches on routing_settings, which timers acted, runs of scheduled tasks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("routing_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tasks_paused", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("task_daily_cap", sa.Integer(), server_default="3", nullable=False)
        )
    with op.batch_alter_table("clock_timer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acted", sa.Boolean(), server_default="0", nullable=False))
        batch_op.create_index("ix_clock_timer_rule_lead", ["rule_id", "lead_id"])
    op.create_table(
        "task_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_task_run_org_id_organization")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["routing_rule.id"],
            name=op.f("fk_task_run_rule_id_routing_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_run")),
        sa.UniqueConstraint("rule_id", "slot", name=op.f("uq_task_run_rule_id_slot")),
    )


def downgrade():
    op.drop_table("task_run")
    with op.batch_alter_table("clock_timer", schema=None) as batch_op:
        batch_op.drop_index("ix_clock_timer_rule_lead")
        batch_op.drop_column("acted")
    with op.batch_alter_table("routing_settings", schema=None) as batch_op:
        batch_op.drop_column("task_daily_cap")
        batch_op.drop_column("tasks_paused")
