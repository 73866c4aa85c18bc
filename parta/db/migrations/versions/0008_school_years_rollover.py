"""school years, class years, rollovers, transfers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _org_fk(table: str, column: str = "org_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["organizations.id"], name=f"fk_{table}_{column}_organizations", ondelete="CASCADE"
    )


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of `class_groups` would cascade-delete its teachers on SQLite.
    op.add_column("class_groups", sa.Column("year_id", sa.BigInteger(), nullable=True))
    op.add_column("class_groups", sa.Column("closed_at", _TS, nullable=True))
    op.create_index(op.f("ix_class_groups_year_id"), "class_groups", ["year_id"], unique=False)
    _create_years()
    _create_rollovers()
    _create_transfers()
    _bind_existing_classes()


def _create_years() -> None:
    op.create_table(
        "school_years",
        sa.Column("id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _org_fk("school_years"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_years")),
        sa.UniqueConstraint("org_id", "starts_on", name="uq_school_years_org_starts"),
    )
    op.create_index(op.f("ix_school_years_org_id"), "school_years", ["org_id"], unique=False)
    op.create_table(
        "school_year_settings",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("starts_on", sa.String(length=5), nullable=False),
        sa.Column("ends_on", sa.String(length=5), nullable=False),
        sa.Column("last_grade", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        _org_fk("school_year_settings"),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_school_year_settings")),
    )


def _create_rollovers() -> None:
    op.create_table(
        "rollovers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("from_year_id", sa.BigInteger(), nullable=False),
        sa.Column("to_year_id", sa.BigInteger(), nullable=False),
        sa.Column("class_ids", sa.JSON(), nullable=True),
        sa.Column("leaving_member_ids", sa.JSON(), nullable=False),
        sa.Column("run_at", _TS, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("undo_hours", sa.Integer(), nullable=False),
        sa.Column("undo_until", _TS, nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("done_at", _TS, nullable=True),
        sa.Column("done_by", sa.BigInteger(), nullable=True),
        sa.Column("undone_at", _TS, nullable=True),
        sa.Column("undone_by", sa.BigInteger(), nullable=True),
        _org_fk("rollovers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollovers")),
    )
    op.create_index(op.f("ix_rollovers_org_id"), "rollovers", ["org_id"], unique=False)
    op.create_index("ix_rollovers_status_run_at", "rollovers", ["status", "run_at"], unique=False)
    op.create_table(
        "rollover_classes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("rollover_id", _ID, nullable=False),
        sa.Column("old_class_id", sa.BigInteger(), nullable=False),
        sa.Column("new_class_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("old_name", sa.String(length=64), nullable=False),
        sa.Column("new_name", sa.String(length=64), nullable=True),
        sa.Column("moved_member_ids", sa.JSON(), nullable=False),
        sa.Column("leaving_member_ids", sa.JSON(), nullable=False),
        sa.Column("archived_chat_ids", sa.JSON(), nullable=False),
        sa.Column("new_chat_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["rollover_id"],
            ["rollovers.id"],
            name=op.f("fk_rollover_classes_rollover_id_rollovers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollover_classes")),
    )
    op.create_index(
        op.f("ix_rollover_classes_rollover_id"), "rollover_classes", ["rollover_id"], unique=False
    )


def _create_transfers() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("from_org_id", _ID, nullable=False),
        sa.Column("to_org_id", _ID, nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("new_member_id", sa.BigInteger(), nullable=True),
        sa.Column("class_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        _org_fk("transfers", "from_org_id"),
        _org_fk("transfers", "to_org_id"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_transfers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_index("ix_transfers_to_org_status", "transfers", ["to_org_id", "status"], unique=False)
    op.create_index("ix_transfers_from_org_status", "transfers", ["from_org_id", "status"], unique=False)


def _current_year(today: date) -> tuple[date, date, str]:
    """The default school year (1 September - 31 August) containing ``today``."""
    start = today.year if today >= date(today.year, 9, 1) else today.year - 1
    return date(start, 9, 1), date(start + 1, 8, 31), f"{start}/{(start + 1) % 100:02d}"


def _bind_existing_classes() -> None:
    """Every existing class belongs to its organization's current (default-dated) year."""
    conn = op.get_bind()
    classes = sa.table("class_groups", sa.column("org_id"), sa.column("kind"), sa.column("year_id"))
    years = sa.table(
        "school_years",
        sa.column("id"),
        sa.column("org_id"),
        sa.column("starts_on"),
        sa.column("ends_on"),
        sa.column("label"),
        sa.column("created_at"),
    )
    now = datetime.now(UTC)
    starts, ends, label = _current_year(now.date())
    org_ids = conn.execute(sa.select(classes.c.org_id).where(classes.c.kind == "class").distinct()).scalars()
    for org_id in list(org_ids):
        conn.execute(
            years.insert().values(org_id=org_id, starts_on=starts, ends_on=ends, label=label, created_at=now)
        )
        year_id = conn.execute(
            sa.select(years.c.id).where(years.c.org_id == org_id, years.c.starts_on == starts)
        ).scalar_one()
        conn.execute(
            classes.update()
            .where(classes.c.org_id == org_id, classes.c.kind == "class")
            .values(year_id=year_id)
        )


def downgrade() -> None:
    op.drop_index("ix_transfers_from_org_status", table_name="transfers")
    op.drop_index("ix_transfers_to_org_status", table_name="transfers")
    op.drop_table("transfers")
    op.drop_index(op.f("ix_rollover_classes_rollover_id"), table_name="rollover_classes")
    op.drop_table("rollover_classes")
    op.drop_index("ix_rollovers_status_run_at", table_name="rollovers")
    op.drop_index(op.f("ix_rollovers_org_id"), table_name="rollovers")
    op.drop_table("rollovers")
    op.drop_table("school_year_settings")
    op.drop_index(op.f("ix_school_years_org_id"), table_name="school_years")
    op.drop_table("school_years")
    op.drop_index(op.f("ix_class_groups_year_id"), table_name="class_groups")
    op.drop_column("class_groups", "closed_at")
    op.drop_column("class_groups", "year_id")
