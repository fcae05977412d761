"""tasks: runaway switches on routing_settings, and which timers acted

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


def downgrade():
    with op.batch_alter_table("clock_timer", schema=None) as batch_op:
        batch_op.drop_index("ix_clock_timer_rule_lead")
        batch_op.drop_column("acted")
    with op.batch_alter_table("routing_settings", schema=None) as batch_op:
        batch_op.drop_column("task_daily_cap")
        batch_op.drop_column("tasks_paused")
