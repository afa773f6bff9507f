"""Citizen access log (Decree 13/2023): who looked up which citizen, when and why.

Revision ID: 0006_citizen_access
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_citizen_access"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "citizen_access_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("citizen_digest", sa.String(64), nullable=False),
        sa.Column("citizen_masked", sa.String(16), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("officer_id", sa.String(50), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("dossier_code", sa.String(25), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
    )
    op.create_index("ix_citizen_access_log_citizen", "citizen_access_log", ["citizen_digest", "at"])
    op.create_index("ix_citizen_access_log_officer", "citizen_access_log", ["officer_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_citizen_access_log_officer", table_name="citizen_access_log")
    op.drop_index("ix_citizen_access_log_citizen", table_name="citizen_access_log")
    op.drop_table("citizen_access_log")
