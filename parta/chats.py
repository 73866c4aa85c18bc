"""Chats: direct chats, groups and channels, their members and settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy, safety
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import Chat, ChatMember, Message, User
from parta.errors import InvalidInput, chat_archived, chat_not_found, denied, user_not_found
from parta.events import log as events
from parta.orgs import badges
from parta.policy import ChatKind, ChatRole
from parta.render import Json, user_public
from parta.text import require_printable

MAX_TITLE = 128
MAX_DESCRIPTION = 1024
MAX_MEMBERS_PER_CALL = 200


def require(decision: policy.Decision, message: str) -> None:
    if not decision.allowed:
        raise denied(decision.reason, message)


def require_can_chat(user: User) -> None:
    require(
        policy.can_chat(is_profile_complete=user.is_profile_complete),
        "Сначала укажите имя и фамилию в профиле.",
    )


async def load_member_chat(
    db: AsyncSession, actor: User, chat_id: int, *, for_update: bool = False
) -> tuple[Chat, ChatMember]:
    """The chat as seen by a member; anyone else gets ``chat_not_found``."""
    found = await q.chat_with_member(db, chat_id, actor.id, for_update=for_update)
    if found is None or not policy.can_see_chat(ChatRole(found[1].role)):
        raise chat_not_found()
    return found


def is_archived(chat: Chat) -> bool:
    """Archived, or past its scheduled moment: the scheduler may not have run yet,
    and a send one second after the moment must already be refused."""
    if chat.archived_at is not None:
        return True
    return chat.archive_at is not None and chat.archive_at <= utcnow()


async def require_open(db: AsyncSession, chat: Chat) -> None:
    """Refuse a change to an archived chat with ``chat_archived``, naming its successor.
    The caller holds the chat's row lock, so the scheduler cannot archive it meanwhile."""
    if policy.can_change_archived_chat(is_archived=is_archived(chat)).allowed:
        return
    successor = await db.get(Chat, chat.successor_chat_id) if chat.successor_chat_id else None
    raise chat_archived(successor.title or None if successor is not None else None)


def _require_unmanaged(chat: Chat) -> None:
    require(
        policy.can_change_managed_chat_members(is_managed=chat.is_managed),
        "Состав этого чата определяется классом или группой в организации.",
    )


def _clean_title(title: str) -> str:
    cleaned = " ".join(require_printable(title, "title").split())
    if not cleaned:
        raise InvalidInput("Укажите название чата.", field="title")
    if len(cleaned) > MAX_TITLE:
        raise InvalidInput(f"Название не длиннее {MAX_TITLE} символов.", field="title")
    return cleaned


def _clean_description(description: str) -> str:
    cleaned = require_printable(description, "description").strip()
    if len(cleaned) > MAX_DESCRIPTION:
        raise InvalidInput(f"Описание не длиннее {MAX_DESCRIPTION} символов.", field="description")
    return cleaned


async def _contactable_users(db: AsyncSession, actor: User, user_ids: list[int]) -> list[User]:
    """Users the actor may add; unknown or hidden users answer ``user_not_found``."""
    if len(user_ids) > MAX_MEMBERS_PER_CALL:
        raise InvalidInput(f"Не больше {MAX_MEMBERS_PER_CALL} участников за раз.", field="member_ids")
    wanted = [uid for uid in dict.fromkeys(user_ids) if uid != actor.id]
    found = await q.users_by_id(db, wanted)
    for uid in wanted:
        user = found.get(uid)
        reach = await safety.reach(db, actor.id, user)
        if user is None or not policy.can_contact(actor_id=actor.id, target_id=uid, reach=reach):
            raise user_not_found()
    return [found[uid] for uid in wanted]


async def add_org_group(
    db: AsyncSession, owner: User, org_id: int, title: str, members: list[User], since: int
) -> Chat:
    """A plain (not managed) group chat of an organization, made by a tool rather than a
    person's request (migration imports): ``owner`` owns it, ``members`` join it. The
    caller holds the transaction and the log lock (``since``) and appends
    ``chat.created`` once the rest of its rows are in."""
    now = utcnow()
    chat = Chat(
        kind=ChatKind.group.value,
        title=title,
        created_by=owner.id,
        created_at=now,
        last_activity_at=now,
        org_id=org_id,
    )
    db.add(chat)
    await db.flush()
    await join_chat(db, chat, owner, ChatRole.owner, since)
    for user in members:
        if user.id != owner.id:
            await join_chat(db, chat, user, ChatRole.member, since)
    return chat


async def join_chat(db: AsyncSession, chat: Chat, user: User, role: ChatRole, since: int) -> None:
    db.add(
        ChatMember(
            chat_id=chat.id,
            user_id=user.id,
            role=role.value,
            joined_at=utcnow(),
            since_event_id=since,
            last_read_message_id=chat.last_message_id or 0,
        )
    )


@dataclass(frozen=True)
class NewChat:
    kind: ChatKind
    title: str
    member_ids: list[int]
    description: str = ""


async def create_chat(db: AsyncSession, actor: User, new: NewChat) -> Chat:
    """Create a group or channel owned by the actor, with the given members.

    Emits ``chat.created`` to the new chat (every member sees it). Raises
    ``forbidden`` (profile incomplete), ``user_not_found``, ``invalid_request``.
    """
    require_can_chat(actor)
    if new.kind is ChatKind.direct:
        raise InvalidInput("Личный чат создаётся через /chats/direct.", field="kind")
    title = _clean_title(new.title)
    description = _clean_description(new.description)
    now = utcnow()
    async with transaction(db):
        members = await _contactable_users(db, actor, new.member_ids)
        chat = Chat(
            kind=new.kind.value,
            title=title,
            description=description,
            created_by=actor.id,
            created_at=now,
            last_activity_at=now,
        )
        db.add(chat)
        await db.flush()
        since = await events.lock_and_head(db)
        await join_chat(db, chat, actor, ChatRole.owner, since)
        for user in members:
            await join_chat(db, chat, user, ChatRole.member, since)
        await db.flush()
        await events.append(
            db,
            "chat.created",
            chat_id=chat.id,
            payload={"chat_id": chat.id, "kind": chat.kind, "title": chat.title},
        )
    return chat


def _direct_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


async def get_or_create_direct(db: AsyncSession, actor: User, user_id: int) -> tuple[Chat, bool]:
    """The one direct chat between the actor and ``user_id``; created on first use.

    Emits ``chat.created`` when created. Raises ``user_not_found`` for unknown
    users, users the actor may not contact, and the actor themselves.
    """
    require_can_chat(actor)
    key = _direct_key(actor.id, user_id)
    existing = await _direct_chat(db, key)
    if existing is not None:
        return existing, False
    try:
        async with transaction(db):
            peer = await db.get(User, user_id)
            reach = await safety.reach(db, actor.id, peer)
            if peer is None or not policy.can_contact(actor_id=actor.id, target_id=user_id, reach=reach):
                raise user_not_found()
            now = utcnow()
            chat = Chat(
                kind=ChatKind.direct.value,
                direct_key=key,
                created_by=actor.id,
                created_at=now,
                last_activity_at=now,
            )
            db.add(chat)
            await db.flush()
            since = await events.lock_and_head(db)
            await join_chat(db, chat, actor, ChatRole.member, since)
            await join_chat(db, chat, peer, ChatRole.member, since)
            await db.flush()
            await events.append(
                db, "chat.created", chat_id=chat.id, payload={"chat_id": chat.id, "kind": chat.kind}
            )
    except IntegrityError:
        # Both users opened the chat at the same moment: the other insert won.
        existing = await _direct_chat(db, key)
        if existing is None:
            raise
        return existing, False
    return chat, True


async def _direct_chat(db: AsyncSession, key: str) -> Chat | None:
    return (await db.execute(select(Chat).where(Chat.direct_key == key))).scalar_one_or_none()


async def add_members(db: AsyncSession, actor: User, chat_id: int, user_ids: list[int]) -> list[int]:
    """Add users to a group or channel; returns the ids actually added.

    Emits ``chat.member_added`` (new members see it too). Already-present users
    are skipped, so retries are safe. Raises ``chat_not_found``, ``chat_archived``,
    ``forbidden``, ``user_not_found``.
    """
    async with transaction(db):
        chat, me = await load_member_chat(db, actor, chat_id, for_update=True)
        await require_open(db, chat)
        _require_unmanaged(chat)
        require(
            policy.can_add_members(ChatKind(chat.kind), ChatRole(me.role)),
            "Добавлять участников могут владелец и администраторы.",
        )
        users = await _contactable_users(db, actor, user_ids)
        present = set(await q.member_ids(db, chat.id))
        new_users = [u for u in users if u.id not in present]
        if not new_users:
            return []
        since = await events.lock_and_head(db)
        for user in new_users:
            await join_chat(db, chat, user, ChatRole.member, since)
        await db.flush()
        await events.append(
            db,
            "chat.member_added",
            chat_id=chat.id,
            payload={"chat_id": chat.id, "by": actor.id, "users": [user_public(u) for u in new_users]},
        )
    return [u.id for u in new_users]


async def remove_member(db: AsyncSession, actor: User, chat_id: int, user_id: int) -> None:
    """Remove a member, or leave when ``user_id`` is the actor.

    Emits ``chat.member_removed`` to the chat and ``chat.removed`` to the removed
    user (who no longer sees the chat's events). Raises ``chat_not_found``,
    ``forbidden``, ``user_not_found`` (not a member).
    """
    async with transaction(db):
        chat, me = await load_member_chat(db, actor, chat_id, for_update=True)
        target = me if user_id == actor.id else await q.membership(db, chat.id, user_id)
        if target is None:
            raise user_not_found()
        _require_unmanaged(chat)
        require(
            policy.can_remove_member(
                ChatKind(chat.kind), ChatRole(me.role), ChatRole(target.role), is_self=user_id == actor.id
            ),
            "Недостаточно прав, чтобы удалить этого участника.",
        )
        await db.delete(target)
        await db.flush()
        payload = {"chat_id": chat.id, "user_id": user_id, "by": actor.id}
        await events.append(db, "chat.member_removed", chat_id=chat.id, payload=payload)
        await events.append(db, "chat.removed", user_id=user_id, payload=payload)


async def set_member_role(db: AsyncSession, actor: User, chat_id: int, user_id: int, role: ChatRole) -> None:
    """Appoint or demote a chat admin. Emits ``chat.member_updated``."""
    async with transaction(db):
        chat, me = await load_member_chat(db, actor, chat_id, for_update=True)
        target = await q.membership(db, chat.id, user_id)
        if target is None:
            raise user_not_found()
        _require_unmanaged(chat)
        require(
            policy.can_set_member_role(ChatKind(chat.kind), ChatRole(me.role), role),
            "Назначать администраторов может только владелец.",
        )
        if target.role == ChatRole.owner:
            raise denied("owner_role_fixed", "Роль владельца изменить нельзя.")
        if target.role != role.value:
            target.role = role.value
            await events.append(
                db,
                "chat.member_updated",
                chat_id=chat.id,
                payload={"chat_id": chat.id, "user_id": user_id, "role": role.value},
            )


@dataclass(frozen=True)
class ChatChange:
    title: str | None = None
    description: str | None = None
    avatar_file_id: int | None = None


async def update_chat(db: AsyncSession, actor: User, chat_id: int, change: ChatChange) -> Chat:
    """Rename a chat or change its description or avatar. Emits ``chat.updated``.

    Raises ``chat_not_found``, ``forbidden`` (``not_chat_admin``, ``direct_chat``;
    ``managed_chat``: a new title for a class, parents' or group chat, whose
    title follows its class), ``invalid_request``.
    """
    async with transaction(db):
        chat, me = await load_member_chat(db, actor, chat_id, for_update=True)
        # Resending the current title (a client saving the whole form) is no change.
        retitled = change.title is not None and " ".join(change.title.split()) != chat.title
        decision = policy.can_edit_chat(
            ChatKind(chat.kind), ChatRole(me.role), is_managed_title_change=retitled and chat.is_managed
        )
        require(
            decision,
            "Название чата класса или группы меняется вместе с классом."
            if decision.reason == "managed_chat"
            else "Изменять чат могут владелец и администраторы.",
        )
        payload: Json = {"chat_id": chat.id}
        if change.title is not None:
            chat.title = payload["title"] = _clean_title(change.title)
        if change.description is not None:
            chat.description = payload["description"] = _clean_description(change.description)
        if change.avatar_file_id is not None:
            await _check_avatar(db, chat, change.avatar_file_id)
            chat.avatar_file_id = payload["avatar_file_id"] = change.avatar_file_id
        if len(payload) > 1:
            await events.append(db, "chat.updated", chat_id=chat.id, payload=payload)
    return chat


async def _check_avatar(db: AsyncSession, chat: Chat, file_id: int) -> None:
    files = await q.files_by_id(db, [file_id])
    f = files.get(file_id)
    if f is None or f.chat_id != chat.id or not f.mime_type.startswith("image/"):
        raise InvalidInput("Аватар должен быть изображением, загруженным в этот чат.", field="avatar_file_id")


@dataclass(frozen=True)
class ChatPage:
    chats: list[tuple[Chat, ChatMember]]
    next_cursor: str | None


def _cursor(chat: Chat) -> str:
    return f"{chat.last_activity_at.isoformat()}_{chat.id}"


def _parse_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        moment, chat_id = cursor.rsplit("_", 1)
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError(cursor)
        return parsed, int(chat_id)
    except ValueError:
        raise InvalidInput("Неверный курсор списка чатов.", field="cursor") from None


async def list_chats(db: AsyncSession, actor: User, *, limit: int, cursor: str | None) -> ChatPage:
    """The actor's chats, most recently active first, a page at a time.

    The cursor is the (last activity, chat id) of the page's last chat, so a chat
    that moves to the top while the client pages is not shown twice further down.
    """
    query = (
        select(Chat, ChatMember)
        .join(ChatMember, and_(ChatMember.chat_id == Chat.id, ChatMember.user_id == actor.id))
        .order_by(Chat.last_activity_at.desc(), Chat.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        moment, chat_id = _parse_cursor(cursor)
        query = query.where(
            or_(
                Chat.last_activity_at < moment,
                and_(Chat.last_activity_at == moment, Chat.id < chat_id),
            )
        )
    rows = [(c, m) for c, m in await db.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return ChatPage(chats=rows, next_cursor=_cursor(rows[-1][0]) if more else None)


async def unread_counts(db: AsyncSession, actor: User, chat_ids: list[int]) -> dict[int, int]:
    """Messages from others after the actor's read pointer, per chat."""
    if not chat_ids:
        return {}
    rows = await db.execute(
        select(Message.chat_id, func.count())
        .join(ChatMember, and_(ChatMember.chat_id == Message.chat_id, ChatMember.user_id == actor.id))
        .where(
            Message.chat_id.in_(chat_ids),
            Message.id > ChatMember.last_read_message_id,
            Message.sender_id != actor.id,
            Message.deleted_at.is_(None),
        )
        .group_by(Message.chat_id)
    )
    return {chat_id: int(n) for chat_id, n in rows}


async def direct_peers(db: AsyncSession, actor: User, chats: list[Chat]) -> dict[int, Json]:
    """For direct chats, the other person, by chat id."""
    peer_ids: dict[int, int] = {}
    for chat in chats:
        if chat.direct_key:
            low, high = (int(x) for x in chat.direct_key.split(":"))
            peer_ids[chat.id] = high if low == actor.id else low
    users = await q.users_by_id(db, peer_ids.values())
    return {
        cid: await safety.card_for(db, actor, users[uid]) for cid, uid in peer_ids.items() if uid in users
    }


async def list_members(
    db: AsyncSession, actor: User, chat_id: int
) -> list[tuple[Json, ChatMember, str | None]]:
    """The chat's members, oldest first, each as the actor may see them (a child in
    safe mode is masked outside their circle), with their badge (``teacher`` or none)."""
    await load_member_chat(db, actor, chat_id)
    rows = await db.execute(
        select(User, ChatMember)
        .join(ChatMember, ChatMember.user_id == User.id)
        .where(ChatMember.chat_id == chat_id)
        .order_by(ChatMember.joined_at, User.id)
    )
    teachers = (await badges.teachers_by_chat(db, [chat_id])).get(chat_id, set())
    return [
        (await safety.card_for(db, actor, u), m, badges.TEACHER if u.id in teachers else None)
        for u, m in rows
    ]
