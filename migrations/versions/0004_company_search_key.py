"""leads: company_key, the lower-cased company that prefix search walks on an index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lead") as batch_op:
        batch_op.add_column(
            sa.Column("company_key", sa.String(length=200), nullable=False, server_default="")
        )
    op.execute("UPDATE lead SET company_key = lower(company) WHERE company <> ''")
    with op.batch_alter_table("lead") as batch_op:
        batch_op.create_index(
            "ix_lead_org_company_prefix",
            ["org_id", "company_key"],
            postgresql_ops={"company_key": "varchar_pattern_ops"},
        )


def downgrade():
    with op.batch_alter_table("lead") as batch_op:
        batch_op.drop_index("ix_lead_org_company_prefix")
        batch_op.drop_column("company_key")
