"""Signature evidence: exact bytes, signature, certificates of signed / verified hops.

Revision ID: 0009_signature_evidence
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_signature_evidence"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "signature_evidence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("delivery_id", sa.String(220)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("signature", sa.Text),
        sa.Column("certificates", sa.Text, nullable=False),
        sa.Column("anchors", sa.Text, nullable=False),
        sa.Column("meta", sa.Text, nullable=False),
    )
    op.create_index("ix_signature_evidence_message", "signature_evidence", ["message_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_signature_evidence_message", table_name="signature_evidence")
    op.drop_table("signature_evidence")
