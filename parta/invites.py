"""Invite links to groups and channels: create, list, revoke, preview, join.

The token is shown once, to the manager who creates the link; the database
keeps only its hash and a short prefix to tell links apart in a list.
Creating and revoking links emit no events: only managers may see links, and
the log has no "managers of a chat" scope; managers refetch the list instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.chats import join_chat, load_member_chat, require, require_can_chat, require_open
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import Chat, ChatInvite, ChatMember, User
from parta.errors import ErrorCode, Gone, InvalidInput, NotFound, PartaError
from parta.events import log as events
from parta.policy import ChatKind, ChatRole
from parta.render import user_public
from parta.tokens import new_token, token_hash

MIN_EXPIRY = timedelta(minutes=1)
MAX_EXPIRY = timedelta(days=365)
MAX_USAGE_LIMIT = 100_000
TOKEN_PREFIX_LENGTH = 6
# Real tokens are 43 characters; anything much longer is not worth hashing.
MAX_TOKEN_LENGTH = 128


def invite_not_found() -> NotFound:
    return NotFound("Ссылка-приглашение не найдена.", code=ErrorCode.invite_not_found)


def _unusable(reason: str) -> PartaError:
    if reason == "expired":
        return Gone("Срок действия ссылки истёк.", code=ErrorCode.invite_expired)
    if reason == "exhausted":
        return Gone("Ссылка уже использована максимальное число раз.", code=ErrorCode.invite_exhausted)
    # A revoked link answers exactly like one that never existed.
    return invite_not_found()


def _usability(invite: ChatInvite, *, is_member: bool, now: datetime) -> policy.Decision:
    return policy.can_join_by_invite(
        is_member=is_member,
        is_revoked=invite.revoked_at is not None,
        is_expired=invite.expires_at is not None and invite.expires_at <= now,
        is_exhausted=invite.usage_limit is not None and invite.usage_count >= invite.usage_limit,
    )


def invite_state(invite: ChatInvite, now: datetime) -> str:
    """``active``, ``revoked``, ``expired`` or ``exhausted``, judged by the server's clock
    (a school phone's clock is often wrong, so clients should not compute it)."""
    decision = _usability(invite, is_member=False, now=now)
    return "active" if decision.allowed else decision.reason


@dataclass(frozen=True)
class NewInvite:
    expires_in: timedelta | None = None
    usage_limit: int | None = None


def _check_new(new: NewInvite) -> None:
    if new.expires_in is not None and not MIN_EXPIRY <= new.expires_in <= MAX_EXPIRY:
        raise InvalidInput("Срок действия ссылки: от минуты до года.", field="expires_in_seconds")
    if new.usage_limit is not None and not 1 <= new.usage_limit <= MAX_USAGE_LIMIT:
        raise InvalidInput(f"Число использований: от 1 до {MAX_USAGE_LIMIT}.", field="usage_limit")


async def _managed_chat(db: AsyncSession, actor: User, chat_id: int) -> Chat:
    chat, me = await load_member_chat(db, actor, chat_id)
    require(
        policy.can_change_managed_chat_members(is_managed=chat.is_managed),
        "В чат класса или группы приглашают через организацию.",
    )
    require(
        policy.can_manage_invites(ChatKind(chat.kind), ChatRole(me.role)),
        "Ссылками-приглашениями управляют владелец и администраторы группы или канала.",
    )
    return chat


async def create_invite(
    db: AsyncSession, actor: User, chat_id: int, new: NewInvite
) -> tuple[ChatInvite, str]:
    """Create an invite link; returns it and its token, which is never retrievable again.

    Emits no event. Raises ``chat_not_found`` (not a member), ``forbidden``
    (not a manager, or a direct chat), ``invalid_request``.
    """
    _check_new(new)
    token = new_token()
    async with transaction(db):
        chat = await _managed_chat(db, actor, chat_id)
        now = utcnow()
        invite = ChatInvite(
            chat_id=chat.id,
            token_hash=token_hash(token),
            token_prefix=token[:TOKEN_PREFIX_LENGTH],
            created_by=actor.id,
            created_at=now,
            expires_at=now + new.expires_in if new.expires_in is not None else None,
            usage_limit=new.usage_limit,
            usage_count=0,
        )
        db.add(invite)
        await db.flush()
    return invite, token


@dataclass(frozen=True)
class InviteRow:
    invite: ChatInvite
    state: str
    creator: User | None


@dataclass(frozen=True)
class InvitePage:
    invites: list[InviteRow]
    has_more: bool


async def list_invites(
    db: AsyncSession, actor: User, chat_id: int, *, before: int | None, limit: int
) -> InvitePage:
    """The chat's links, newest first, paged by ``before`` (an invite id); managers only.

    Raises ``chat_not_found``, ``forbidden``.
    """
    chat = await _managed_chat(db, actor, chat_id)
    query = select(ChatInvite).where(ChatInvite.chat_id == chat.id)
    if before is not None:
        query = query.where(ChatInvite.id < before)
    found = list((await db.execute(query.order_by(ChatInvite.id.desc()).limit(limit + 1))).scalars())
    page = found[:limit]
    creators = await q.users_by_id(db, [i.created_by for i in page if i.created_by is not None])
    now = utcnow()
    rows = [
        InviteRow(
            invite=i,
            state=invite_state(i, now),
            creator=creators.get(i.created_by) if i.created_by is not None else None,
        )
        for i in page
    ]
    return InvitePage(invites=rows, has_more=len(found) > limit)


async def revoke_invite(db: AsyncSession, actor: User, chat_id: int, invite_id: int) -> None:
    """Revoke a link: from now on it answers ``invite_not_found``. Idempotent.

    Members who joined through it stay. Emits no event. Raises
    ``chat_not_found``, ``forbidden``, ``invite_not_found`` (not this chat's link).
    """
    async with transaction(db):
        chat = await _managed_chat(db, actor, chat_id)
        invite = (
            await db.execute(
                select(ChatInvite)
                .where(ChatInvite.id == invite_id, ChatInvite.chat_id == chat.id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if invite is None:
            raise invite_not_found()
        if invite.revoked_at is None:
            invite.revoked_at = utcnow()


async def _invite_by_token(db: AsyncSession, token: str, *, for_update: bool) -> ChatInvite:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise invite_not_found()
    query = select(ChatInvite).where(ChatInvite.token_hash == token_hash(token))
    if for_update:
        # Re-read the row after waiting for the lock: a concurrent join may
        # have just used the last place.
        query = query.with_for_update().execution_options(populate_existing=True)
    invite = (await db.execute(query)).scalar_one_or_none()
    if invite is None:
        raise invite_not_found()
    return invite


@dataclass(frozen=True)
class InvitePreview:
    chat: Chat
    member_count: int
    is_member: bool


async def preview_invite(db: AsyncSession, actor: User, token: str) -> InvitePreview:
    """What a link leads to, for any signed-in user: the chat's public face only
    (no member list, so no names or phone numbers of children leak through a link).

    Raises ``invite_not_found`` (unknown or revoked), ``invite_expired``, ``invite_exhausted``.
    """
    invite = await _invite_by_token(db, token, for_update=False)
    chat = await db.get(Chat, invite.chat_id)
    if chat is None:
        raise invite_not_found()
    is_member = await q.membership(db, chat.id, actor.id) is not None
    decision = _usability(invite, is_member=is_member, now=utcnow())
    if not decision.allowed:
        raise _unusable(decision.reason)
    return InvitePreview(chat=chat, member_count=await q.member_count(db, chat.id), is_member=is_member)


async def join_by_invite(db: AsyncSession, actor: User, token: str) -> tuple[Chat, ChatMember]:
    """Join a chat as a plain member through a link, using one of its places.

    A member joining again gets the chat and uses nothing (safe to retry).
    Emits ``chat.member_added`` (with ``invite_id``; the joiner sees it too).
    Raises ``invite_not_found``, ``invite_expired``, ``invite_exhausted``,
    ``chat_archived``, ``forbidden`` (profile incomplete).
    """
    async with transaction(db):
        # Lock order invite -> chat; no other action locks an invite after its chat.
        invite = await _invite_by_token(db, token, for_update=True)
        chat = (
            await db.execute(select(Chat).where(Chat.id == invite.chat_id).with_for_update())
        ).scalar_one()
        present = await q.membership(db, chat.id, actor.id)
        decision = _usability(invite, is_member=present is not None, now=utcnow())
        if not decision.allowed:
            raise _unusable(decision.reason)
        if present is not None:
            return chat, present
        await require_open(db, chat)
        require_can_chat(actor)
        invite.usage_count += 1
        since = await events.lock_and_head(db)
        # chats.join_chat is the one place a membership row is built (log position, read pointer).
        await join_chat(db, chat, actor, ChatRole.member, since)
        await db.flush()
        member = await q.membership(db, chat.id, actor.id)
        assert member is not None
        await events.append(
            db,
            "chat.member_added",
            chat_id=chat.id,
            payload={
                "chat_id": chat.id,
                "by": actor.id,
                "users": [user_public(actor)],
                "invite_id": invite.id,
            },
        )
    return chat, member
