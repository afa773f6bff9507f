"""Search by agency: each message's agency id (from its dossier code), indexed with the time of acceptance.

Revision ID: 0010_message_agency
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_message_agency"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("messages", sa.Column("agency_id", sa.String(13)))
    # Messages accepted before this revision: the first 13 characters of a dossier code shaped subject
    # (<agency id>-<YYMMDD>-<NNNN>, 25 characters); new ones get hub.formats.agency_of() at acceptance.
    op.execute("UPDATE messages SET agency_id = substr(subject, 1, 13) "
               "WHERE length(subject) = 25 AND substr(subject, 14, 1) = '-' AND substr(subject, 21, 1) = '-'")
    op.create_index("ix_messages_agency_accepted", "messages", ["agency_id", "accepted_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_agency_accepted", table_name="messages")
    with op.batch_alter_table("messages") as batch:   # SQLite drops a column by copying the table
        batch.drop_column("agency_id")
