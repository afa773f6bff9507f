"""Operator tools: audit log and the dashboard's search indexes.

Revision ID: 0008_ops
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_ops"
down_revision = "0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(300)),
        sa.Column("detail", sa.Text),
        sa.Column("remote_addr", sa.String(64)),
    )
    op.create_index("ix_audit_at", "audit_log", ["at"])
    op.create_index("ix_audit_actor_at", "audit_log", ["actor", "at"])
    op.create_index("ix_messages_source_accepted", "messages", ["source", "accepted_at"])
    op.create_index("ix_messages_subject_accepted", "messages", ["subject", "accepted_at"])
    op.create_index("ix_deliveries_connector_state_created", "deliveries", ["connector", "state", "created_at"])
    op.create_index("ix_deliveries_state_created", "deliveries", ["state", "created_at"])
    op.create_index("ix_deliveries_created", "deliveries", ["created_at"])


def downgrade() -> None:
    for name, table in (("ix_deliveries_created", "deliveries"), ("ix_deliveries_state_created", "deliveries"),
                        ("ix_deliveries_connector_state_created", "deliveries"),
                        ("ix_messages_subject_accepted", "messages"), ("ix_messages_source_accepted", "messages")):
        op.drop_index(name, table_name=table)
    op.drop_table("audit_log")
