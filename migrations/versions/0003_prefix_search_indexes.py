"""leads: prefix-search indexes (varchar_pattern_ops on PostgreSQL)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:45:00

LIKE 'prefix%' on name, e-mail and phone can only walk a B-tree on PostgreSQL when the index
uses pattern ops (or the database collation is "C"). The e-mail and phone indexes are rebuilt
with them (they still serve equality); a prefix index on the lower-cased name is added beside
the plain one, which keeps serving ORDER BY name. On SQLite the new index is a plain one.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lead_email") as batch_op:
        batch_op.drop_index("ix_lead_email_org_email")
        batch_op.create_index("ix_lead_email_org_email", ["org_id", "email"],
                              postgresql_ops={"email": "varchar_pattern_ops"})
    with op.batch_alter_table("lead_phone") as batch_op:
        batch_op.drop_index("ix_lead_phone_org_phone")
        batch_op.create_index("ix_lead_phone_org_phone", ["org_id", "phone"],
                              postgresql_ops={"phone": "varchar_pattern_ops"})
    with op.batch_alter_table("lead") as batch_op:
        batch_op.create_index("ix_lead_org_name_prefix", ["org_id", "name_key"],
                              postgresql_ops={"name_key": "varchar_pattern_ops"})


def downgrade():
    with op.batch_alter_table("lead") as batch_op:
        batch_op.drop_index("ix_lead_org_name_prefix")
    with op.batch_alter_table("lead_phone") as batch_op:
        batch_op.drop_index("ix_lead_phone_org_phone")
        batch_op.create_index("ix_lead_phone_org_phone", ["org_id", "phone"])
    with op.batch_alter_table("lead_email") as batch_op:
        batch_op.drop_index("ix_lead_email_org_email")
        batch_op.create_index("ix_lead_email_org_email", ["org_id", "email"])
