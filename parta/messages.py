"""Messages: send (idempotent), edit, delete, reactions, pins, read state, history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy, safety, search
from parta.chats import is_archived, load_member_chat, require, require_can_chat, require_open
from parta.clock import utcnow
from parta.config import Settings
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import Chat, ChatMember, Message, Reaction, StoredFile, User
from parta.errors import Conflict, ErrorCode, InvalidInput, file_not_found, message_not_found
from parta.events import log as events
from parta.orgs import badges
from parta.policy import ChatKind, ChatRole
from parta.render import Json
from parta.render import message as render_message
from parta.text import require_printable

# The reactions a school messenger offers; a fixed set keeps moderation simple.
REACTIONS: Final = ("👍", "👎", "❤️", "😂", "😮", "😢", "🙏", "👏", "🔥", "🎉", "🤔", "✅")
MAX_MENTIONS = 50
MAX_CLIENT_MSG_ID = 64


@dataclass(frozen=True)
class ForwardSource:
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class NewMessage:
    client_msg_id: str
    text: str = ""
    reply_to: int | None = None
    file_id: int | None = None
    mention_ids: list[int] = field(default_factory=list)
    forward: ForwardSource | None = None


def _check_text(settings: Settings, text: str) -> str:
    if len(text) > settings.max_message_length:
        raise InvalidInput(
            f"Сообщение длиннее {settings.max_message_length} символов. Разделите его на части.",
            code=ErrorCode.text_too_long,
            field="text",
        )
    return require_printable(text, "text")


def _check_client_msg_id(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_CLIENT_MSG_ID:
        raise InvalidInput(f"client_msg_id: от 1 до {MAX_CLIENT_MSG_ID} символов.", field="client_msg_id")
    return value


async def _existing_send(db: AsyncSession, actor: User, client_msg_id: str) -> Message | None:
    return (
        await db.execute(
            select(Message).where(Message.sender_id == actor.id, Message.client_msg_id == client_msg_id)
        )
    ).scalar_one_or_none()


def _same_send(found: Message, chat_id: int) -> Message:
    if found.chat_id != chat_id:
        raise Conflict("Этот client_msg_id уже использован для другого чата.", field="client_msg_id")
    return found


async def send_message(
    db: AsyncSession, settings: Settings, actor: User, chat_id: int, new: NewMessage
) -> tuple[Message, bool]:
    """Post a message; returns it and whether it was created by this call.

    Idempotent: the same ``(sender, client_msg_id)`` returns the first message,
    so a client may retry after losing the answer. Emits ``message.created``.
    Raises ``chat_not_found``, ``chat_archived``, ``forbidden`` (read-only channel, profile),
    ``text_too_long``, ``message_empty``, ``message_not_found`` (reply/forward
    target), ``file_not_found``, ``conflict``.
    """
    client_msg_id = _check_client_msg_id(new.client_msg_id)
    found = await _existing_send(db, actor, client_msg_id)
    if found is not None:
        return _same_send(found, chat_id), False
    text = _check_text(settings, new.text)
    try:
        async with transaction(db):
            msg = await _insert_message(db, actor, chat_id, new, client_msg_id, text)
    except IntegrityError:
        # A concurrent retry of the same send committed first. Start from a clean
        # session: the failed flush left this one's connection mid-rollback (on SQLite
        # the next BEGIN then failed with MissingGreenlet under load).
        await db.close()
        found = await _existing_send(db, actor, client_msg_id)
        if found is None:
            raise
        return _same_send(found, chat_id), False
    return msg, True


async def _insert_message(
    db: AsyncSession, actor: User, chat_id: int, new: NewMessage, client_msg_id: str, text: str
) -> Message:
    chat, me = await load_member_chat(db, actor, chat_id, for_update=True)
    await require_open(db, chat)
    require_can_chat(actor)
    require(
        policy.can_post(ChatKind(chat.kind), ChatRole(me.role), is_archived=is_archived(chat)),
        "В этом чате писать могут только администраторы.",
    )
    if chat.direct_key is not None:
        await _require_direct_reach(db, actor, chat)
    now = utcnow()
    msg = Message(chat_id=chat.id, sender_id=actor.id, client_msg_id=client_msg_id, text=text, created_at=now)
    if new.forward is not None:
        await _fill_forward(db, actor, chat, msg, new.forward)
    else:
        msg.file_id = await _attachable_file(db, actor, chat, new.file_id)
    if not (msg.text or "").strip() and msg.file_id is None:
        raise InvalidInput("Пустое сообщение.", code=ErrorCode.message_empty, field="text")
    if new.reply_to is not None:
        if await q.message_in_chat(db, chat.id, new.reply_to) is None:
            raise message_not_found()
        msg.reply_to_id = new.reply_to
    msg.mention_ids = await _valid_mentions(db, actor, chat.id, new.mention_ids) or None
    db.add(msg)
    await db.flush()
    chat.last_message_id = msg.id
    chat.last_activity_at = now
    me.last_read_message_id = msg.id  # one's own message is read
    await search.index_message(db, msg)
    await events.append(db, "message.created", chat_id=chat.id, message_id=msg.id)
    return msg


async def _fill_forward(
    db: AsyncSession, actor: User, chat: Chat, msg: Message, source: ForwardSource
) -> None:
    """Copy a message the actor can see; the original author is kept."""
    await load_member_chat(db, actor, source.chat_id)
    original = await q.message_in_chat(db, source.chat_id, source.message_id)
    if original is None or original.deleted_at is not None:
        raise message_not_found()
    msg.text = original.text
    author_id = original.forward_from_user_id or original.sender_id
    author = await db.get(User, author_id) if author_id is not None else None
    # A child's identity does not travel with a forward: the copy says only
    # "forwarded", wherever it goes.
    msg.forward_from_user_id = None if author is not None and safety.is_protected(author) else author_id
    msg.forward_from_chat_id = original.forward_from_chat_id or original.chat_id
    if original.file_id is not None:
        msg.file_id = await _copy_file_to_chat(db, original.file_id, chat)


async def _copy_file_to_chat(db: AsyncSession, file_id: int, chat: Chat) -> int | None:
    # Download rights follow the chat a file row belongs to; a forward gets its
    # own row pointing at the same content-addressed blob (no copy on disk).
    source = await db.get(StoredFile, file_id)
    if source is None:
        return None
    copy = StoredFile(
        chat_id=chat.id,
        uploader_id=source.uploader_id,
        sha256=source.sha256,
        size=source.size,
        mime_type=source.mime_type,
        name=source.name,
        width=source.width,
        height=source.height,
        thumbnail_sha256=source.thumbnail_sha256,
        created_at=utcnow(),
    )
    db.add(copy)
    await db.flush()
    return copy.id


async def _attachable_file(db: AsyncSession, actor: User, chat: Chat, file_id: int | None) -> int | None:
    """An upload of this chat the actor may send: their own, or one the chat already
    shows; anything else answers like a missing file (an unsent upload is private)."""
    if file_id is None:
        return None
    f = await db.get(StoredFile, file_id)
    if f is None or f.chat_id != chat.id:
        raise file_not_found()
    is_uploader = f.uploader_id == actor.id
    is_sent = not is_uploader and await q.file_is_sent(db, chat.id, f.id)
    if not policy.can_attach_file(is_uploader=is_uploader, is_sent=is_sent):
        raise file_not_found()
    return f.id


async def _require_direct_reach(db: AsyncSession, actor: User, chat: Chat) -> None:
    """A block, or a child's contact removed by a parent, stops new direct messages."""
    low, high = (int(x) for x in (chat.direct_key or "0:0").split(":"))
    peer = await db.get(User, high if low == actor.id else low)
    require(
        policy.can_post_to_direct(await safety.reach(db, actor.id, peer)),
        "Этому пользователю нельзя написать.",
    )


async def _valid_mentions(db: AsyncSession, actor: User, chat_id: int, mention_ids: list[int]) -> list[int]:
    if len(mention_ids) > MAX_MENTIONS:
        raise InvalidInput(f"Не больше {MAX_MENTIONS} упоминаний.", field="mention_ids")
    if not mention_ids:
        return []
    wanted = list(dict.fromkeys(mention_ids))
    members = set(await q.member_ids(db, chat_id))
    # Mentions of people outside the chat are dropped, not errors: names in
    # text can go stale while a message is being typed. A child in safe mode
    # is mentioned only by their circle; others' mentions drop the same way.
    users = await q.users_by_id(db, [uid for uid in wanted if uid in members])
    kept = []
    for uid, user in users.items():
        reach = await safety.reach(db, actor.id, user)
        if uid == actor.id or policy.can_contact(actor_id=actor.id, target_id=uid, reach=reach):
            kept.append(uid)
    return [uid for uid in wanted if uid in kept]


async def _load_message(
    db: AsyncSession, actor: User, chat_id: int, message_id: int
) -> tuple[Chat, ChatMember, Message]:
    chat, me = await load_member_chat(db, actor, chat_id, for_update=True)
    msg = await q.message_in_chat(db, chat.id, message_id)
    if msg is None:
        raise message_not_found()
    return chat, me, msg


async def edit_message(
    db: AsyncSession, settings: Settings, actor: User, chat_id: int, message_id: int, text: str
) -> Message:
    """Replace a message's text (author only); marks it edited. Emits ``message.edited``.

    Earlier versions are not kept, so nobody else can see the edit history.
    """
    text = _check_text(settings, text)
    async with transaction(db):
        chat, _, msg = await _load_message(db, actor, chat_id, message_id)
        await require_open(db, chat)
        require(
            policy.can_edit_message(
                actor_id=actor.id, sender_id=msg.sender_id, is_deleted=msg.deleted_at is not None
            ),
            "Изменить можно только своё сообщение.",
        )
        if not text.strip() and msg.file_id is None:
            raise InvalidInput("Пустое сообщение.", code=ErrorCode.message_empty, field="text")
        if text != msg.text:
            msg.text = text
            msg.edited_at = utcnow()
            await search.index_message(db, msg)
            await events.append(db, "message.edited", chat_id=chat.id, message_id=msg.id)
    return msg


async def delete_message(db: AsyncSession, actor: User, chat_id: int, message_id: int) -> Message:
    """Delete a message for everyone: the text, file link, mentions and reactions
    are erased from the database; a tombstone row keeps the history's shape.

    Emits ``message.deleted``. Idempotent. Raises ``message_not_found``, ``forbidden``.
    """
    async with transaction(db):
        chat, me, msg = await _load_message(db, actor, chat_id, message_id)
        require(
            policy.can_delete_message(
                ChatKind(chat.kind), ChatRole(me.role), actor_id=actor.id, sender_id=msg.sender_id
            ),
            "Удалить можно только своё сообщение.",
        )
        await erase_message(db, msg)
    return msg


async def erase_message(db: AsyncSession, msg: Message) -> None:
    """The erasure behind every deletion (an author's, a chat moderator's, a report's):
    text, file link, mentions, pin and reactions go; a tombstone row stays. Emits
    ``message.deleted``; an already deleted message is left as it is. The caller
    holds the chat's row lock and has checked the right to delete."""
    if msg.deleted_at is not None:
        return
    await _drop_attachment(db, msg)
    msg.text = None
    msg.mention_ids = None
    msg.pinned_at = None
    msg.deleted_at = utcnow()
    await db.execute(delete(Reaction).where(Reaction.message_id == msg.id))
    await search.unindex_message(db, msg.id)
    await events.append(db, "message.deleted", chat_id=msg.chat_id, message_id=msg.id)


async def _drop_attachment(db: AsyncSession, msg: Message) -> None:
    """Deleting for everyone takes the file away too: its row goes unless another
    live message in the chat still shows it (the blob is shared and stays on disk)."""
    file_id, msg.file_id = msg.file_id, None
    if file_id is None:
        return
    await db.flush()
    still_used = await db.scalar(
        select(func.count()).where(
            Message.chat_id == msg.chat_id, Message.file_id == file_id, Message.deleted_at.is_(None)
        )
    )
    if not still_used:
        await db.execute(delete(StoredFile).where(StoredFile.id == file_id))


async def set_reaction(
    db: AsyncSession, actor: User, chat_id: int, message_id: int, emoji: str, *, present: bool
) -> Message:
    """Add (``present``) or remove the actor's reaction. Emits ``reaction.added`` / ``reaction.removed``."""
    if emoji not in REACTIONS:
        raise InvalidInput("Такой реакции нет.", code=ErrorCode.invalid_reaction, field="emoji")
    async with transaction(db):
        chat, _, msg = await _load_message(db, actor, chat_id, message_id)
        await require_open(db, chat)
        if msg.deleted_at is not None:
            raise message_not_found()
        existing = await db.get(Reaction, (msg.id, actor.id, emoji))
        if present and existing is None:
            db.add(Reaction(message_id=msg.id, user_id=actor.id, emoji=emoji, created_at=utcnow()))
            await db.flush()
        elif not present and existing is not None:
            await db.delete(existing)
            await db.flush()
        else:
            return msg
        kind = "reaction.added" if present else "reaction.removed"
        await events.append(
            db, kind, chat_id=chat.id, message_id=msg.id, payload={"user_id": actor.id, "emoji": emoji}
        )
    return msg


async def available_reactions(db: AsyncSession, actor: User, chat_id: int) -> list[str]:
    """The reactions offered in a chat (members only; the set is the same everywhere for now)."""
    await load_member_chat(db, actor, chat_id)
    return list(REACTIONS)


async def set_pinned(
    db: AsyncSession, actor: User, chat_id: int, message_id: int, *, pinned: bool
) -> Message:
    """Pin or unpin a message. Emits ``message.pinned`` / ``message.unpinned``."""
    async with transaction(db):
        chat, me, msg = await _load_message(db, actor, chat_id, message_id)
        await require_open(db, chat)
        require(
            policy.can_pin(ChatKind(chat.kind), ChatRole(me.role)),
            "Закреплять сообщения могут администраторы чата.",
        )
        if msg.deleted_at is not None:
            raise message_not_found()
        if (msg.pinned_at is not None) != pinned:
            msg.pinned_at = utcnow() if pinned else None
            msg.pinned_by = actor.id if pinned else None
            kind = "message.pinned" if pinned else "message.unpinned"
            await events.append(db, kind, chat_id=chat.id, message_id=msg.id, payload={"by": actor.id})
    return msg


async def mark_read(db: AsyncSession, actor: User, chat_id: int, message_id: int) -> int:
    """Move the actor's read pointer forward to ``message_id``; returns the pointer.

    The pointer never moves back: a late request from a second device must not
    make read messages unread again. Emits ``chat.read`` when it moves.
    """
    async with transaction(db):
        chat, me = await load_member_chat(db, actor, chat_id, for_update=True)
        if await q.message_in_chat(db, chat.id, message_id) is None:
            raise message_not_found()
        if message_id > me.last_read_message_id:
            me.last_read_message_id = message_id
            await events.append(
                db, "chat.read", chat_id=chat.id, payload={"user_id": actor.id, "message_id": message_id}
            )
        return me.last_read_message_id


@dataclass(frozen=True)
class Page:
    messages: list[Message]
    has_more: bool


async def history(
    db: AsyncSession, actor: User, chat_id: int, *, before: int | None, after: int | None, limit: int
) -> Page:
    """A page of messages in id order: the newest ones, or those before/after a cursor."""
    chat, _ = await load_member_chat(db, actor, chat_id)
    query = select(Message).where(Message.chat_id == chat.id)
    if after is not None:
        query = query.where(Message.id > after)
        if before is not None:
            query = query.where(Message.id < before)
        rows = list((await db.execute(query.order_by(Message.id).limit(limit + 1))).scalars())
        return Page(rows[:limit], len(rows) > limit)
    if before is not None:
        query = query.where(Message.id < before)
    rows = list((await db.execute(query.order_by(Message.id.desc()).limit(limit + 1))).scalars())
    return Page(list(reversed(rows[:limit])), len(rows) > limit)


async def get_message(db: AsyncSession, actor: User, chat_id: int, message_id: int) -> Message:
    chat, _ = await load_member_chat(db, actor, chat_id)
    msg = await q.message_in_chat(db, chat.id, message_id)
    if msg is None:
        raise message_not_found()
    return msg


async def pinned_messages(db: AsyncSession, actor: User, chat_id: int) -> list[Message]:
    chat, _ = await load_member_chat(db, actor, chat_id)
    rows = await db.execute(
        select(Message)
        .where(Message.chat_id == chat.id, Message.pinned_at.is_not(None))
        .order_by(Message.pinned_at.desc())
    )
    return list(rows.scalars())


MAX_READERS = 500


async def message_readers(db: AsyncSession, actor: User, chat_id: int, message_id: int) -> list[Json]:
    """The members (not the author) who read the author's own message, by name, each as
    the author may see them (a child in safe mode is masked outside their circle).

    Raises ``chat_not_found``, ``message_not_found``, ``forbidden`` (not the author).
    """
    chat, _ = await load_member_chat(db, actor, chat_id)
    msg = await q.message_in_chat(db, chat.id, message_id)
    if msg is None or msg.deleted_at is not None:
        raise message_not_found()
    require(
        policy.can_see_readers(actor_id=actor.id, sender_id=msg.sender_id),
        "Кто прочитал, видит только автор сообщения.",
    )
    rows = await db.execute(
        select(User)
        .join(ChatMember, ChatMember.user_id == User.id)
        .where(
            ChatMember.chat_id == chat.id,
            ChatMember.user_id != msg.sender_id,
            ChatMember.last_read_message_id >= msg.id,
        )
        .order_by(User.first_name, User.last_name, User.id)
        .limit(MAX_READERS)
    )
    return [await safety.card_for(db, actor, user) for user in rows.scalars()]


async def read_by_counts(db: AsyncSession, messages: list[Message]) -> dict[int, int]:
    """For each message, how many members other than its sender have read it.

    Counted in SQL: a class chat has hundreds of read pointers, and loading them all
    on every send cost 6 % of the server at the delivery benchmark's target load.
    """
    if not messages:
        return {}
    rows = await db.execute(
        select(Message.id, func.count(ChatMember.user_id))
        .join(
            ChatMember,
            and_(
                ChatMember.chat_id == Message.chat_id,
                ChatMember.user_id != Message.sender_id,
                ChatMember.last_read_message_id >= Message.id,
            ),
        )
        .where(Message.id.in_([m.id for m in messages]))
        .group_by(Message.id)
    )
    counts = {message_id: int(n) for message_id, n in rows}
    return {m.id: counts.get(m.id, 0) for m in messages}


async def render_messages(db: AsyncSession, messages: list[Message]) -> dict[int, Json]:
    """Render messages with their reactions, files and teacher badges, in a few queries in all."""
    reactions = await q.reactions_for(db, [m.id for m in messages])
    files = await q.files_by_id(db, [m.file_id for m in messages])
    teachers = await badges.teachers_by_chat(db, [m.chat_id for m in messages])
    rendered = {}
    for m in messages:
        data = render_message(
            m,
            reactions=reactions.get(m.id),
            file=files.get(m.file_id) if m.file_id is not None else None,
        )
        if m.sender_id in teachers.get(m.chat_id, ()):
            data["sender_badge"] = badges.TEACHER
        rendered[m.id] = data
    return rendered
