from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from parta import chats
from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.api.schemas import ChatList, ChatOut, MemberList, MemberOut
from parta.db import queries as q
from parta.db.tables import Chat, ChatMember, User
from parta.errors import ErrorCode as E
from parta.messages import render_messages
from parta.policy import ChatKind, ChatRole
from parta.render import Json
from parta.render import chat as render_chat

router = APIRouter(prefix="/chats", tags=["chats"])

Id = Annotated[int, Field(ge=1, le=2**62)]
# Ids in paths are bounded like ids in bodies: a larger one cannot exist and must not reach
# the database (SQLite and PostgreSQL reject it with an error, which was a 500).
PathId = Annotated[int, Path(ge=1, le=2**62)]


class ChatIn(BaseModel):
    kind: Literal["group", "channel"]
    title: Annotated[str, Field(max_length=1000)]
    member_ids: Annotated[list[Id], Field(max_length=1000)] = []
    description: Annotated[str, Field(max_length=5000)] = ""


class DirectIn(BaseModel):
    user_id: Id


class ChatPatch(BaseModel):
    title: Annotated[str, Field(max_length=1000)] | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None
    avatar_file_id: Id | None = None


class MembersIn(BaseModel):
    user_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]


class RoleIn(BaseModel):
    role: Literal["admin", "member"]


class Added(BaseModel):
    added: list[int]


async def render_chats(db: AsyncSession, actor: User, rows: list[tuple[Chat, ChatMember]]) -> list[Json]:
    """Chats with member counts, unread counts, last messages and direct peers (batched)."""
    chat_list = [c for c, _ in rows]
    ids = [c.id for c in chat_list]
    counts = await q.member_counts(db, ids)
    unread = await chats.unread_counts(db, actor, ids)
    last = await q.messages_by_id(db, [c.last_message_id for c in chat_list if c.last_message_id])
    rendered = await render_messages(db, list(last.values()))
    peers = await chats.direct_peers(db, actor, chat_list)
    return [
        render_chat(
            c,
            member=m,
            member_count=counts.get(c.id, 0),
            unread_count=unread.get(c.id, 0),
            last_message=rendered.get(c.last_message_id) if c.last_message_id else None,
            peer=peers.get(c.id),
        )
        for c, m in rows
    ]


async def _one(db: AsyncSession, actor: User, chat_id: int) -> ChatOut:
    chat, member = await chats.load_member_chat(db, actor, chat_id)
    return ChatOut(**(await render_chats(db, actor, [(chat, member)]))[0])


@router.post(
    "",
    status_code=201,
    response_model=ChatOut,
    response_model_exclude_none=True,
    responses=errors(E.forbidden, E.user_not_found),
)
async def create_chat(body: ChatIn, user: CurrentUser, db: DbSession) -> ChatOut:
    """Create a group or a channel (only owner and admins post in a channel)."""
    chat = await chats.create_chat(
        db,
        user,
        chats.NewChat(
            kind=ChatKind(body.kind),
            title=body.title,
            member_ids=body.member_ids,
            description=body.description,
        ),
    )
    return await _one(db, user, chat.id)


@router.post(
    "/direct",
    response_model=ChatOut,
    response_model_exclude_none=True,
    responses={
        201: {"description": "the direct chat was created by this call", "model": ChatOut},
        **errors(E.forbidden, E.user_not_found),
    },
)
async def open_direct(body: DirectIn, user: CurrentUser, db: DbSession, response: Response) -> ChatOut:
    """The direct chat with a user: created on first call (201), the same one after (200)."""
    chat, created = await chats.get_or_create_direct(db, user, body.user_id)
    response.status_code = 201 if created else 200
    return await _one(db, user, chat.id)


@router.get("", response_model=ChatList, response_model_exclude_none=True, responses=errors())
async def list_chats(
    user: CurrentUser,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=100, description="`next_cursor` of the previous page")
    ] = None,
) -> ChatList:
    """Your chats, most recent activity first, with unread counts and last messages."""
    page = await chats.list_chats(db, user, limit=limit, cursor=cursor)
    rendered = await render_chats(db, user, page.chats)
    return ChatList(chats=[ChatOut(**c) for c in rendered], next_cursor=page.next_cursor)


@router.get(
    "/{chat_id}", response_model=ChatOut, response_model_exclude_none=True, responses=errors(E.chat_not_found)
)
async def get_chat(chat_id: PathId, user: CurrentUser, db: DbSession) -> ChatOut:
    return await _one(db, user, chat_id)


@router.patch(
    "/{chat_id}",
    response_model=ChatOut,
    response_model_exclude_none=True,
    responses=errors(E.chat_not_found, E.forbidden),
)
async def update_chat(chat_id: PathId, body: ChatPatch, user: CurrentUser, db: DbSession) -> ChatOut:
    """Rename, describe or set the avatar of a group or channel (owner and admins)."""
    change = chats.ChatChange(
        title=body.title, description=body.description, avatar_file_id=body.avatar_file_id
    )
    await chats.update_chat(db, user, chat_id, change)
    return await _one(db, user, chat_id)


@router.get(
    "/{chat_id}/members",
    response_model=MemberList,
    response_model_exclude_none=True,
    responses=errors(E.chat_not_found),
)
async def list_members(chat_id: PathId, user: CurrentUser, db: DbSession) -> MemberList:
    rows = await chats.list_members(db, user, chat_id)
    return MemberList(members=[MemberOut(**card, role=m.role, badge=b) for card, m, b in rows])


@router.post(
    "/{chat_id}/members",
    response_model=Added,
    responses=errors(E.chat_not_found, E.forbidden, E.user_not_found, E.chat_archived),
)
async def add_members(chat_id: PathId, body: MembersIn, user: CurrentUser, db: DbSession) -> Added:
    """Add people to a group or channel (owner and admins). Already-present people are skipped."""
    return Added(added=await chats.add_members(db, user, chat_id, body.user_ids))


@router.delete(
    "/{chat_id}/members/{user_id}",
    status_code=204,
    responses=errors(E.chat_not_found, E.forbidden, E.user_not_found),
)
async def remove_member(chat_id: PathId, user_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    """Remove a member; your own id means leaving the chat."""
    await chats.remove_member(db, user, chat_id, user_id)
    return Response(status_code=204)


@router.patch(
    "/{chat_id}/members/{user_id}",
    status_code=204,
    responses=errors(E.chat_not_found, E.forbidden, E.user_not_found),
)
async def set_member_role(
    chat_id: PathId, user_id: PathId, body: RoleIn, user: CurrentUser, db: DbSession
) -> Response:
    """Appoint or demote an admin (owner only)."""
    await chats.set_member_role(db, user, chat_id, user_id, ChatRole(body.role))
    return Response(status_code=204)
