"""Rate-limit windows shared by every hub process (the SMS status look-up's per-number limit).

Revision ID: 0010_rate_limits
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_rate_limits"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("scope", sa.String(40), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("hits", sa.Integer, nullable=False),
    )
    op.create_index("ix_rate_limits_window", "rate_limits", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_rate_limits_window", table_name="rate_limits")
    op.drop_table("rate_limits")
