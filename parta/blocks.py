"""Blocking: one person stops another from reaching them, both ways.

The block row is all this module writes; its effects (no lookup by phone, no
direct chat, no adding to chats, no new direct messages, no mentions) are
enforced by ``policy.can_contact`` and ``policy.can_post_to_direct`` through
``safety.reach``. The blocked person is never told: every event here goes to
the blocker's own devices only, and whatever the blocked person tries answers
as if the blocker did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import policy, safety
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import Block, ChatMember, User
from parta.errors import InvalidInput, user_not_found
from parta.events import log as events
from parta.render import Json, ts

MAX_PAGE = 500


async def known_user(db: AsyncSession, actor: User, user_id: int) -> User:
    """Someone the actor may name (to block or report): a person they share a
    chat with, one they could find by phone, or one they blocked already.

    Anyone else, a child in safe mode outside the actor's circle or someone who
    blocked the actor included, is ``user_not_found``: the same answer as for
    an id nobody has, and the same queries run for it.
    """
    target = await db.get(User, user_id)
    mine, theirs = aliased(ChatMember), aliased(ChatMember)
    shares_chat = await db.scalar(
        select(
            exists(
                select(mine.chat_id)
                .join(theirs, and_(theirs.chat_id == mine.chat_id, theirs.user_id == user_id))
                .where(mine.user_id == actor.id)
            )
        )
    )
    has_blocked = await db.get(Block, (actor.id, user_id)) is not None
    reach = await safety.reach(db, actor.id, target)
    if target is None or target.id == actor.id:
        raise user_not_found()
    if shares_chat or has_blocked or policy.can_contact(actor_id=actor.id, target_id=user_id, reach=reach):
        return target
    raise user_not_found()


def _not_self(actor: User, user_id: int) -> None:
    if user_id == actor.id:
        raise InvalidInput("Нельзя заблокировать самого себя.", field="user_id")


@dataclass(frozen=True)
class Blocked:
    user: User
    created_at: datetime


async def block_json(db: AsyncSession, viewer: User, blocked: Blocked) -> Json:
    """A blocked person as the blocker may see them (a child in safe mode may stay masked)."""
    return {"user": await safety.card_for(db, viewer, blocked.user), "created_at": ts(blocked.created_at)}


async def block_user(db: AsyncSession, actor: User, user_id: int) -> Blocked:
    """Block a user: from now on neither can reach the other (see the module docstring).

    Idempotent: blocking again keeps the first block and emits nothing. Emits
    ``user.blocked`` (with the person's card) to the blocker's devices only.
    Raises ``user_not_found`` (unknown, or someone the actor may not name),
    ``invalid_request`` (oneself).
    """
    _not_self(actor, user_id)
    async with transaction(db):
        target = await known_user(db, actor, user_id)
        existing = await db.get(Block, (actor.id, user_id))
        if existing is not None:
            return Blocked(user=target, created_at=existing.created_at)
        block = Block(blocker_id=actor.id, blocked_id=user_id, created_at=utcnow())
        db.add(block)
        await db.flush()
        blocked = Blocked(user=target, created_at=block.created_at)
        payload = await block_json(db, actor, blocked)
        await events.append(db, "user.blocked", user_id=actor.id, payload=payload)
    return blocked


async def unblock_user(db: AsyncSession, actor: User, user_id: int) -> None:
    """Lift the actor's block; what the blocked person may do is as before the block.

    Idempotent for anyone the actor may name. Emits ``user.unblocked`` to the
    blocker's devices when a block was lifted. Raises ``user_not_found``,
    ``invalid_request`` (oneself).
    """
    _not_self(actor, user_id)
    async with transaction(db):
        await known_user(db, actor, user_id)
        result = await db.execute(
            delete(Block).where(Block.blocker_id == actor.id, Block.blocked_id == user_id)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            await events.append(db, "user.unblocked", user_id=actor.id, payload={"user_id": user_id})


@dataclass(frozen=True)
class BlockPage:
    blocks: list[Blocked]
    next_cursor: int | None


async def list_blocks(db: AsyncSession, actor: User, *, cursor: int | None, limit: int) -> BlockPage:
    """The people the actor blocked, by user id, a page at a time (``cursor``: the last id).

    Only the actor's own blocks: nobody learns who blocked them.
    """
    query = select(Block).where(Block.blocker_id == actor.id)
    if cursor is not None:
        query = query.where(Block.blocked_id > cursor)
    found = list((await db.execute(query.order_by(Block.blocked_id).limit(limit + 1))).scalars())
    page = found[:limit]
    users = await q.users_by_id(db, [b.blocked_id for b in page])
    blocks = [
        Blocked(user=users[b.blocked_id], created_at=b.created_at) for b in page if b.blocked_id in users
    ]
    return BlockPage(blocks=blocks, next_cursor=page[-1].blocked_id if len(found) > limit else None)
