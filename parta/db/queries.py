"""Typed queries shared by actions. No rules and no commits here."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parta.db.tables import Chat, ChatMember, Message, Reaction, StoredFile, User


async def chat_with_member(
    db: AsyncSession, chat_id: int, user_id: int, *, for_update: bool = False
) -> tuple[Chat, ChatMember] | None:
    """The chat and the user's membership, or None when the user is not a member.

    ``for_update`` locks the chat's row FOR NO KEY UPDATE: writers of one chat still
    wait for each other, but rows that merely point at the chat (a new member, whose
    foreign key takes a KEY SHARE lock on it) are not held up. With FOR UPDATE a send
    held the chat and waited for the event log's lock, while a sign-in that held the
    log's lock waited to add a member to that chat: a deadlock."""
    query = (
        select(Chat, ChatMember)
        .join(ChatMember, ChatMember.chat_id == Chat.id)
        .where(Chat.id == chat_id, ChatMember.user_id == user_id)
    )
    if for_update:
        query = query.with_for_update(of=Chat, key_share=True)
    row = (await db.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1])


async def membership(db: AsyncSession, chat_id: int, user_id: int) -> ChatMember | None:
    return await db.get(ChatMember, (chat_id, user_id))


async def member_count(db: AsyncSession, chat_id: int) -> int:
    return int((await db.execute(select(func.count()).where(ChatMember.chat_id == chat_id))).scalar_one())


async def member_counts(db: AsyncSession, chat_ids: Iterable[int]) -> dict[int, int]:
    ids = list(chat_ids)
    if not ids:
        return {}
    rows = await db.execute(
        select(ChatMember.chat_id, func.count())
        .where(ChatMember.chat_id.in_(ids))
        .group_by(ChatMember.chat_id)
    )
    return {chat_id: int(count) for chat_id, count in rows}


async def member_ids(db: AsyncSession, chat_id: int) -> list[int]:
    rows = await db.execute(select(ChatMember.user_id).where(ChatMember.chat_id == chat_id))
    return list(rows.scalars())


async def users_by_id(db: AsyncSession, user_ids: Iterable[int]) -> dict[int, User]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = await db.execute(select(User).where(User.id.in_(ids)))
    return {u.id: u for u in rows.scalars()}


async def messages_by_id(db: AsyncSession, message_ids: Iterable[int]) -> dict[int, Message]:
    ids = list(set(message_ids))
    if not ids:
        return {}
    rows = await db.execute(select(Message).where(Message.id.in_(ids)))
    return {m.id: m for m in rows.scalars()}


async def reactions_for(db: AsyncSession, message_ids: Iterable[int]) -> dict[int, dict[str, list[int]]]:
    """``{message_id: {emoji: [user ids in reaction order]}}``."""
    ids = list(set(message_ids))
    if not ids:
        return {}
    rows = await db.execute(
        select(Reaction.message_id, Reaction.emoji, Reaction.user_id)
        .where(Reaction.message_id.in_(ids))
        .order_by(Reaction.created_at, Reaction.user_id)
    )
    result: dict[int, dict[str, list[int]]] = {}
    for message_id, emoji, user_id in rows:
        result.setdefault(message_id, {}).setdefault(emoji, []).append(user_id)
    return result


async def files_by_id(db: AsyncSession, file_ids: Iterable[int | None]) -> dict[int, StoredFile]:
    ids = list({i for i in file_ids if i is not None})
    if not ids:
        return {}
    rows = await db.execute(select(StoredFile).where(StoredFile.id.in_(ids)))
    return {f.id: f for f in rows.scalars()}


async def file_is_sent(db: AsyncSession, chat_id: int, file_id: int) -> bool:
    """Whether a live message of the chat carries the file (newest first: a file is
    usually fetched soon after it was sent)."""
    carrier = (
        select(Message.id)
        .where(Message.chat_id == chat_id, Message.file_id == file_id, Message.deleted_at.is_(None))
        .order_by(Message.id.desc())
        .limit(1)
    )
    return (await db.scalar(carrier)) is not None


async def message_in_chat(db: AsyncSession, chat_id: int, message_id: int) -> Message | None:
    msg = await db.get(Message, message_id)
    return msg if msg is not None and msg.chat_id == chat_id else None
