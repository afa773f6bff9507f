"""Messages, deliveries, hops, dead letters.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128)),
        sa.Column("correlation_id", sa.String(128)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("accepted_at", TS, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
    )
    op.create_index("ix_messages_subject", "messages", ["subject"])
    op.create_index("ix_messages_type_accepted", "messages", ["type", "accepted_at"])
    op.create_index("ix_messages_accepted", "messages", ["accepted_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(220), primary_key=True),
        sa.Column("message_id", sa.String(128), sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("route", sa.String(80), nullable=False),
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS),
        sa.Column("lease_until", TS),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("last_code", sa.String(64)),
        sa.Column("last_error", sa.Text),
        sa.Column("reply", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
    )
    op.create_index("ix_deliveries_message", "deliveries", ["message_id"])
    op.create_index("ix_deliveries_state_next", "deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_deliveries_connector_state", "deliveries", ["connector", "state"])
    op.create_table(
        "hops",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("delivery_id", sa.String(220)),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("duration_ms", sa.Float),
        sa.Column("code", sa.String(64)),
        sa.Column("detail", sa.Text),
        sa.Column("process", sa.String(64)),
    )
    op.create_index("ix_hops_message", "hops", ["message_id", "id"])
    op.create_table(
        "dead_letters",
        sa.Column("delivery_id", sa.String(220), sa.ForeignKey("deliveries.id"), primary_key=True),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("route", sa.String(80), nullable=False),
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("dead_at", TS, nullable=False),
        sa.Column("replayed_at", TS),
        sa.Column("replay_count", sa.Integer, nullable=False),
    )
    op.create_index("ix_dead_letters_connector_at", "dead_letters", ["connector", "dead_at"])
    op.create_index("ix_dead_letters_code", "dead_letters", ["code"])


def downgrade() -> None:
    for table in ("dead_letters", "hops", "deliveries", "messages"):
        op.drop_table(table)
