"""staff chats, preschool groups

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

- ``class_groups.kind`` widens to 16 characters for ``preschool`` (a
  kindergarten's group). SQLite does not enforce a VARCHAR's length, so only
  PostgreSQL is altered.
- At most one staff chat per organization: a partial unique index.

No data step: organizations made before this revision get their staff chat
from the application (``parta/orgs/staffchat.py``) at their first membership
change, with the chat events their members' clients need.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_STAFF = sa.text("purpose = 'staff'")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "class_groups",
            "kind",
            existing_type=sa.String(length=8),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
    op.create_index(
        "uq_chats_org_staff",
        "chats",
        ["org_id"],
        unique=True,
        sqlite_where=_STAFF,
        postgresql_where=_STAFF,
    )


def downgrade() -> None:
    op.drop_index("uq_chats_org_staff", table_name="chats")
    # ``class_groups.kind`` stays 16 wide: narrowing would fail on the
    # preschool groups' rows, and the older code reads the wider column as well.
