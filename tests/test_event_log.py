"""The log's ordering guarantee, tested at the storage level with real transactions."""

from __future__ import annotations

import asyncio

from parta.clock import utcnow
from parta.db.engine import Database, transaction
from parta.db.tables import User
from parta.events import log as events
from parta.events.bus import LocalBus


async def test_reader_never_skips_an_event_committed_late(pg_database_url: str) -> None:
    """Transaction A appends first but commits last; a reader in between must not
    advance past A's event, or every client would miss it forever."""
    # PostgreSQL only: SQLite has a single writer, so appends cannot commit out of order.
    database = Database(pg_database_url, LocalBus())
    try:
        async with database.session() as setup:
            async with transaction(setup):
                user = User(phone="+79120000000", created_at=utcnow(), updated_at=utcnow())
                setup.add(user)
            user_id = user.id
        start = await _head(database)

        slow = database.session()
        await slow.begin()
        first = await events.append(slow, "test.slow", user_id=user_id)

        async def fast_append() -> int:
            async with database.session() as db, transaction(db):
                return (await events.append(db, "test.fast", user_id=user_id)).id

        fast = asyncio.create_task(fast_append())
        await asyncio.sleep(0.2)  # give the fast writer every chance to commit first
        async with database.session() as reader:
            page = await events.read_since(reader, user_id=user_id, since=start, limit=100, reset_after=1000)
        await slow.commit()
        await slow.close()
        second = await fast
        async with database.session() as reader:
            rest = await events.read_since(
                reader, user_id=user_id, since=page.next, limit=100, reset_after=1000
            )
        seen = [e.id for e in page.events] + [e.id for e in rest.events]
        assert sorted(seen) == sorted([first.id, second]) and len(set(seen)) == 2
    finally:
        await database.dispose()


async def _head(database: Database) -> int:
    async with database.session() as db:
        return await events.head(db)
