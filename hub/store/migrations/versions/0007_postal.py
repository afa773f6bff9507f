"""VNPost orders and the statuses heard for them (issue 7).

Revision ID: 0007_postal
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_postal"
down_revision = "0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "postal_orders",
        sa.Column("tracking_number", sa.String(50), primary_key=True),
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("delivery_id", sa.String(220), nullable=False, unique=True),
        sa.Column("order_id", sa.String(50)),
        sa.Column("dossier_code", sa.String(25), nullable=False),
        sa.Column("flow", sa.String(8), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("status_at", sa.String(35)),
        sa.Column("total_fee", sa.BigInteger),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_postal_orders_open", "postal_orders", ["connector", "final"])
    op.create_table(
        "postal_statuses",
        sa.Column("tracking_number", sa.String(50), primary_key=True),
        sa.Column("status_code", sa.Integer, primary_key=True),
        sa.Column("at", sa.String(35), primary_key=True),
        sa.Column("status_name", sa.String(200)),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("postal_statuses")
    op.drop_table("postal_orders")
