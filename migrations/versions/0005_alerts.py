"""alerts: the notification outbox, templates, per-organization channel settings and
per-user preferences

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("intended_recipient_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("dedupe_key", sa.String(length=250), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("claimed_at", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("used_fallback", sa.Boolean(), nullable=False),
        sa.Column("receipt", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.Column("read_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_notification_org_id_organization")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["user.id"], name=op.f("fk_notification_recipient_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["intended_recipient_id"],
            ["user.id"],
            name=op.f("fk_notification_intended_recipient_id_user"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_notification_lead_id_lead")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_notification_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("org_id", "dedupe_key", name=op.f("uq_notification_org_id_dedupe_key")),
    )
    op.create_index("ix_notification_due", "notification", ["status", "next_attempt_at"])
    op.create_index("ix_notification_cap", "notification", ["recipient_id", "channel", "sent_at"])
    op.create_index("ix_notification_org_created", "notification", ["org_id", "created_at"])
    op.create_index("ix_notification_inbox", "notification", ["recipient_id", "channel", "read_at"])
    op.create_index(op.f("ix_notification_lead_id"), "notification", ["lead_id"])

    op.create_table(
        "notification_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_notification_template_org_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_notification_template_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_template")),
        sa.UniqueConstraint(
            "org_id", "event", "channel", name=op.f("uq_notification_template_org_id_event_channel")
        ),
    )

    op.create_table(
        "alert_settings",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("smtp_url_secret", sa.Text(), nullable=False),
        sa.Column("mail_from", sa.String(length=254), nullable=False),
        sa.Column("twilio_account_sid", sa.String(length=64), nullable=False),
        sa.Column("twilio_token_secret", sa.Text(), nullable=False),
        sa.Column("twilio_from", sa.String(length=32), nullable=False),
        sa.Column("voice_enabled", sa.Boolean(), nullable=False),
        sa.Column("webhook_url_secret", sa.Text(), nullable=False),
        sa.Column("urgent_ignores_quiet_hours", sa.Boolean(), nullable=False),
        sa.Column("hourly_caps", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_alert_settings_org_id_organization")
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_alert_settings")),
    )

    op.create_table(
        "alert_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("quiet_from", sa.Time(), nullable=True),
        sa.Column("quiet_until", sa.Time(), nullable=True),
        sa.Column("digest_enabled", sa.Boolean(), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_alert_preferences_user_id_user")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_alert_preferences")),
    )


def downgrade():
    op.drop_table("alert_preferences")
    op.drop_table("alert_settings")
    op.drop_table("notification_template")
    op.drop_index(op.f("ix_notification_lead_id"), table_name="notification")
    op.drop_index("ix_notification_inbox", table_name="notification")
    op.drop_index("ix_notification_org_created", table_name="notification")
    op.drop_index("ix_notification_cap", table_name="notification")
    op.drop_index("ix_notification_due", table_name="notification")
    op.drop_table("notification")
