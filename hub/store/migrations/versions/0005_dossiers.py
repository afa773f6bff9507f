"""Dossier state, sync lag and the procedure catalogue copy (issue 5).

Revision ID: 0005_dossiers
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_dossiers"
down_revision = "0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dossier_state",
        sa.Column("dossier_code", sa.String(40), primary_key=True),
        sa.Column("agency_id", sa.String(13), nullable=False),
        sa.Column("procedure_code", sa.String(22)),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("status_at", TS, nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("accepted_at", TS, nullable=False),
        sa.Column("synced_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_dossier_state_agency", "dossier_state", ["agency_id"])
    op.create_table(
        "dossier_sync_lag",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(40), nullable=False),
        sa.Column("agency_id", sa.String(13), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("accepted_at", TS, nullable=False),
        sa.Column("acknowledged_at", TS, nullable=False),
        sa.Column("lag_ms", sa.Float, nullable=False),
    )
    op.create_index("ix_dossier_sync_lag_agency_at", "dossier_sync_lag", ["agency_id", "acknowledged_at"])
    op.create_index("ix_dossier_sync_lag_dossier", "dossier_sync_lag", ["dossier_code"])
    op.create_table(
        "procedures",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("synced_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("procedures")
    op.drop_index("ix_dossier_sync_lag_dossier", "dossier_sync_lag")
    op.drop_index("ix_dossier_sync_lag_agency_at", "dossier_sync_lag")
    op.drop_table("dossier_sync_lag")
    op.drop_index("ix_dossier_state_agency", "dossier_state")
    op.drop_table("dossier_state")
