"""Circuit breaker states per connector and process.

Revision ID: 0009_circuits
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_circuits"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "connector_circuits",
        sa.Column("connector", sa.String(40), primary_key=True),
        sa.Column("process", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("connector_circuits")
