"""The schema is made only by Alembic migrations (parta/db/migrations): what they build
must be what the code's tables describe, on SQLite and on PostgreSQL, and every
migration must be undoable so an operator can step back after a bad upgrade."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from parta.db.engine import normalize_url
from parta.db.migrate import alembic_config, current_head, upgrade
from parta.db.tables import Base


def _run(url: str, work: Any) -> Any:
    async def main() -> Any:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(main())


# Made by migrations on purpose and read only by raw SQL in parta/search.py: SQLite's
# FTS5 index (its virtual table and shadow tables) and PostgreSQL's generated tsvector
# column with its GIN index.
SEARCH_ONLY = ("message_fts", "search_vector", "ix_messages_search_vector")


def _kept(obj: Any, name: str | None, kind: str, reflected: bool, _compare_to: Any) -> bool:
    return not (reflected and name is not None and name.startswith(SEARCH_ONLY))


def _differences(url: str) -> list[Any]:
    def compare(conn: Any) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"include_object": _kept, "compare_type": True})
        diffs = list(compare_metadata(context, Base.metadata))
        if conn.dialect.name == "sqlite":
            # SQLite does not enforce a VARCHAR's length, so migrations widen strings
            # only on PostgreSQL (0009, class_groups.kind); the column's type is TEXT's.
            diffs = [d for d in diffs if not (isinstance(d, list) and d[0][0] == "modify_type")]
        return diffs

    return _run(url, compare)


def _revision(url: str) -> str | None:
    return _run(url, lambda conn: MigrationContext.configure(conn).get_current_revision())


def test_migrations_build_exactly_the_tables_the_code_describes(database_url: str) -> None:
    # A column, index or constraint added to parta/db/tables.py without a migration (or
    # the other way round) shows up here, instead of on an operator's database.
    assert _revision(database_url) == current_head()
    assert _differences(database_url) == []


def test_every_migration_steps_back_and_forward_again(database_url: str) -> None:
    url = normalize_url(database_url)
    command.downgrade(alembic_config(url), "base")
    assert _revision(url) is None
    left = _run(url, lambda conn: set(inspect(conn).get_table_names()))
    assert left <= {"alembic_version"}, f"tables left after downgrade to base: {left}"

    upgrade(url)
    assert _revision(url) == current_head()
    assert _differences(url) == []
