"""migrated chats, membership manifests, reconciliation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "migrated_chats",
        sa.Column("id", _id(), nullable=False),
        sa.Column("org_id", _id(), nullable=False),
        sa.Column("chat_id", _id(), nullable=False),
        sa.Column("legacy_title", sa.String(length=128), nullable=False),
        sa.Column("legacy_key", sa.String(length=128), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_migrated_chats_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_migrated_chats_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migrated_chats")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_migrated_chats_chat_id")),
        sa.UniqueConstraint("org_id", "legacy_key", name="uq_migrated_chats_org_key"),
    )
    op.create_table(
        "pending_chat_members",
        sa.Column("chat_id", _id(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_pending_chat_members_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("chat_id", "phone", name=op.f("pk_pending_chat_members")),
    )
    op.create_index("ix_pending_chat_members_phone", "pending_chat_members", ["phone"], unique=False)
    op.create_table(
        "migration_listings",
        sa.Column("id", _id(), nullable=False),
        sa.Column("org_id", _id(), nullable=False),
        sa.Column("chat_id", _id(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("listing_key", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("class_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_migration_listings_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_migration_listings_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_listings")),
        sa.UniqueConstraint("org_id", "listing_key", name="uq_migration_listings_org_key"),
    )
    op.create_index("ix_migration_listings_chat", "migration_listings", ["chat_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_migration_listings_chat", table_name="migration_listings")
    op.drop_table("migration_listings")
    op.drop_index("ix_pending_chat_members_phone", table_name="pending_chat_members")
    op.drop_table("pending_chat_members")
    op.drop_table("migrated_chats")
