"""index messages by file

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

A partial index on ``messages.file_id`` (only rows that carry a file). Used by the
file download check ("is this file sent in this chat") and by PostgreSQL's
``ON DELETE SET NULL`` when a file row is removed; both scanned messages before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_HAS_FILE = sa.text("file_id IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_messages_file_id",
        "messages",
        ["file_id"],
        sqlite_where=_HAS_FILE,
        postgresql_where=_HAS_FILE,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_file_id", table_name="messages")
