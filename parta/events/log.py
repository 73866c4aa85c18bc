"""Appending to the event log and reading it back (``sync``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal_column, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from parta.clock import utcnow
from parta.db.engine import PENDING_KEY
from parta.db.tables import ChatMember, Event

# Any constant: the key of the PostgreSQL advisory lock that orders log appends.
_LOG_LOCK_KEY = 7_270_001


async def _lock_log(db: AsyncSession) -> None:
    """Make log ids commit in increasing order.

    A reader that has seen event N must never later find a smaller id appear
    (that event would be skipped by every client). PostgreSQL hands out sequence
    values to concurrent transactions that may commit in any order, so appenders
    take one transaction-scoped lock before their first append and hold it until
    commit: ids are then assigned in commit order. SQLite has a single writer
    already. Actions append their events last to keep this window short.
    """
    if PENDING_KEY in db.info:
        return
    db.info[PENDING_KEY] = []
    bind = db.get_bind()
    if bind.dialect.name == "postgresql":
        await db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOG_LOCK_KEY})


async def append(
    db: AsyncSession,
    type: str,
    *,
    chat_id: int | None = None,
    user_id: int | None = None,
    message_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append one event in the caller's transaction; it is published after commit."""
    if (chat_id is None) == (user_id is None):
        raise ValueError("an event is scoped to exactly one chat or one user")
    await _lock_log(db)
    event = Event(
        type=type,
        chat_id=chat_id,
        user_id=user_id,
        message_id=message_id,
        payload=payload or {},
        created_at=utcnow(),
    )
    db.add(event)
    await db.flush()
    db.info[PENDING_KEY].append(event)
    return event


async def append_for_users(
    db: AsyncSession, type: str, user_ids: Iterable[int], payload: dict[str, Any]
) -> list[Event]:
    """Append one user-scoped event per user (each sees only their own copy).

    Organization events fan out this way: the log has chat and user scopes
    only, and an org event concerns a known, bounded set of people (its admins,
    the member it is about). One flush inserts them all.
    """
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    await _lock_log(db)
    now = utcnow()
    rows = [Event(type=type, user_id=uid, payload=payload, created_at=now) for uid in wanted]
    db.add_all(rows)
    await db.flush()
    db.info[PENDING_KEY].extend(rows)
    return rows


async def head(db: AsyncSession) -> int:
    """The newest committed log position (0 for an empty log)."""
    return int((await db.execute(select(func.coalesce(func.max(Event.id), 0)))).scalar_one())


async def lock_and_head(db: AsyncSession) -> int:
    """The log position after which events appended in this transaction will land."""
    await _lock_log(db)
    return await head(db)


def _visible_ids(user_id: int, since: int, upto: int) -> Any:
    in_chats = (
        select(Event.id.label("id"))
        .join(ChatMember, (ChatMember.chat_id == Event.chat_id) & (ChatMember.user_id == user_id))
        .where(Event.id > since, Event.id <= upto, Event.id > ChatMember.since_event_id)
    )
    own = select(Event.id.label("id")).where(Event.user_id == user_id, Event.id > since, Event.id <= upto)
    return union_all(in_chats, own).subquery()


@dataclass(frozen=True)
class SyncPage:
    events: Sequence[Event]
    next: int
    has_more: bool
    reset: bool


async def read_since(db: AsyncSession, *, user_id: int, since: int, limit: int, reset_after: int) -> SyncPage:
    """Events the user may see after ``since``, oldest first, one page at a time.

    Answers ``reset`` instead when the client is too far behind (more than
    ``reset_after`` missed events) or claims a position the log never reached.
    """
    upto = await head(db)
    if since > upto:
        return SyncPage(events=(), next=upto, has_more=False, reset=True)
    visible = _visible_ids(user_id, since, upto)
    backlog = select(visible.c.id).limit(reset_after + 1).subquery()
    missed = (await db.execute(select(func.count()).select_from(backlog))).scalar_one()
    if missed > reset_after:
        return SyncPage(events=(), next=upto, has_more=False, reset=True)
    ids = (
        (await db.execute(select(visible.c.id).order_by(literal_column("id")).limit(limit + 1)))
        .scalars()
        .all()
    )
    has_more = len(ids) > limit
    ids = ids[:limit]
    rows = (
        (await db.execute(select(Event).where(Event.id.in_(ids)).order_by(Event.id))).scalars().all()
        if ids
        else []
    )
    next_position = rows[-1].id if has_more else upto
    return SyncPage(events=rows, next=next_position, has_more=has_more, reset=False)
