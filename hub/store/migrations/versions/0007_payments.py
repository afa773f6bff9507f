"""Payment orders and their verified callbacks (issue 7).

Revision ID: 0007_payments
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_payments"
down_revision = "0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("provider", sa.String(20), primary_key=True),
        sa.Column("reference", sa.String(20), primary_key=True),
        sa.Column("connector", sa.String(40), nullable=False),
        sa.Column("dossier_code", sa.String(25), nullable=False),
        sa.Column("agency_id", sa.String(13)),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("fees", sa.Text, nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("provider_reference", sa.String(100)),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("result_code", sa.String(10)),
        sa.Column("transaction_id", sa.String(64)),
        sa.Column("paid_amount", sa.BigInteger),
        sa.Column("bank_code", sa.String(20)),
        sa.Column("completed_at", sa.String(35)),
        sa.Column("business_date", sa.Date),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_payments_provider_day", "payments", ["provider", "business_date"])
    op.create_index("ix_payments_dossier", "payments", ["dossier_code"])


def downgrade() -> None:
    op.drop_table("payments")
