"""scheduled chat archiving, migration waves

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of `chats` would cascade-delete members on SQLite.
    # No foreign key for the successor, as for `chats.org_id`: SQLite cannot add one.
    op.add_column("chats", sa.Column("archive_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("chats", sa.Column("archive_by", sa.BigInteger(), nullable=True))
    op.add_column("chats", sa.Column("successor_chat_id", sa.BigInteger(), nullable=True))
    op.create_index(op.f("ix_chats_archive_at"), "chats", ["archive_at"], unique=False)
    op.add_column("organizations", sa.Column("timezone", sa.String(length=64), nullable=True))
    op.create_table(
        "migration_waves",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("org_kinds", sa.JSON(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.Date(), nullable=False),
        sa.Column("ends_at", sa.Date(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_waves")),
    )
    op.create_table(
        "wave_reminders",
        sa.Column("id", _ID, nullable=False),
        sa.Column("wave_id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("sent_by", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["migration_waves.id"],
            name=op.f("fk_wave_reminders_wave_id_migration_waves"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_wave_reminders_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_reminders")),
    )
    op.create_index(op.f("ix_wave_reminders_wave_id"), "wave_reminders", ["wave_id"], unique=False)
    op.create_index("ix_wave_reminders_org_sent", "wave_reminders", ["org_id", "sent_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_wave_reminders_org_sent", table_name="wave_reminders")
    op.drop_index(op.f("ix_wave_reminders_wave_id"), table_name="wave_reminders")
    op.drop_table("wave_reminders")
    op.drop_table("migration_waves")
    op.drop_column("organizations", "timezone")
    op.drop_index(op.f("ix_chats_archive_at"), table_name="chats")
    op.drop_column("chats", "successor_chat_id")
    op.drop_column("chats", "archive_by")
    op.drop_column("chats", "archive_at")
