"""routing: assignment and scoring rules, their versions, round-robin slots, assignment
decisions; users' open-lead caps; hand-set temperature and priority on leads

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 12:35:04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "routing_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_routing_rule_org_id_organization")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule")),
    )
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.create_index(
            "ix_routing_rule_org_kind_position", ["org_id", "kind", "position"], unique=False
        )

    op.create_table(
        "routing_settings",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.Column("fallback", sa.JSON(), nullable=False),
        sa.Column("return_policy", sa.String(length=20), nullable=False),
        sa.Column("hot_from", sa.Integer(), nullable=False),
        sa.Column("warm_from", sa.Integer(), nullable=False),
        sa.Column("priority_from", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_routing_settings_org_id_organization")
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_routing_settings")),
    )
    op.create_table(
        "rotation_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("away", sa.Boolean(), nullable=False),
        sa.Column("last_served_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_rotation_slot_org_id_organization")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_rotation_slot_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation_slot")),
        sa.UniqueConstraint(
            "org_id", "pool", "user_id", name=op.f("uq_rotation_slot_org_id_pool_user_id")
        ),
    )
    op.create_table(
        "rule_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_rule_version_actor_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_rule_version_org_id_organization")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_version")),
        sa.UniqueConstraint("org_id", "version", name=op.f("uq_rule_version_org_id_version")),
    )
    op.create_table(
        "assignment_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("rule_name", sa.String(length=120), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["user.id"], name=op.f("fk_assignment_decision_assignee_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_assignment_decision_lead_id_lead")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_assignment_decision_org_id_organization")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["routing_rule.id"],
            name=op.f("fk_assignment_decision_rule_id_routing_rule"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_assignment_decision_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_decision")),
    )
    with op.batch_alter_table("assignment_decision", schema=None) as batch_op:
        batch_op.create_index("ix_assignment_decision_lead_at", ["lead_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignment_decision_org_id"), ["org_id"], unique=False)

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("temperature_by_hand", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("priority_by_hand", sa.Boolean(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_open_leads", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("max_open_leads")

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("priority_by_hand")
        batch_op.drop_column("temperature_by_hand")

    with op.batch_alter_table("assignment_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_decision_org_id"))
        batch_op.drop_index("ix_assignment_decision_lead_at")

    op.drop_table("assignment_decision")
    op.drop_table("rule_version")
    op.drop_table("rotation_slot")
    op.drop_table("routing_settings")
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_rule_org_kind_position")

    op.drop_table("routing_rule")
