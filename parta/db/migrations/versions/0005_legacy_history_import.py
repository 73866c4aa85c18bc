"""legacy history import (imported messages, legacy authors)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX: a batch copy of `messages` on SQLite would
    # drop the table and cascade-delete its reactions.
    op.add_column("messages", sa.Column("import_key", sa.String(length=128), nullable=True))
    op.add_column("messages", sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("messages", sa.Column("legacy_author_name", sa.String(length=128), nullable=True))
    op.create_index("uq_messages_chat_import_key", "messages", ["chat_id", "import_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_messages_chat_import_key", table_name="messages")
    op.drop_column("messages", "legacy_author_name")
    op.drop_column("messages", "imported_at")
    op.drop_column("messages", "import_key")
