from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from parta import messages
from parta.api.deps import CurrentUser, DbSession, SettingsDep
from parta.api.errors import errors
from parta.api.schemas import MessageOut, MessagePage, UserPublic
from parta.db.tables import Message, User
from parta.errors import ErrorCode as E

router = APIRouter(prefix="/chats/{chat_id}", tags=["messages"])

Id = Annotated[int, Field(ge=1, le=2**62)]
# Ids in paths are bounded like ids in bodies: a larger one cannot exist and must not reach
# the database (SQLite and PostgreSQL reject it with an error, which was a 500).
PathId = Annotated[int, Path(ge=1, le=2**62)]
# Far above the message limit: longer text gets the clear `text_too_long` error
# from the action, bodies beyond this are rejected before parsing finishes.
RawText = Annotated[str, Field(max_length=100_000)]


class ForwardIn(BaseModel):
    chat_id: Id
    message_id: Id


class MessageIn(BaseModel):
    client_msg_id: Annotated[str, Field(min_length=1, max_length=64)]
    text: RawText = ""
    reply_to: Id | None = None
    file_id: Id | None = None
    mention_ids: Annotated[list[Id], Field(max_length=200)] = []
    forward_from: ForwardIn | None = Field(None, description="forward this message (text is ignored)")


class MessagePatch(BaseModel):
    text: RawText


class ReadIn(BaseModel):
    message_id: Id


class ReadOut(BaseModel):
    last_read_message_id: int


class ReactionIn(BaseModel):
    emoji: Annotated[str, Field(max_length=16)]


class ReactionSet(BaseModel):
    reactions: list[str]


class ReaderList(BaseModel):
    readers: list[UserPublic]


async def render(db: AsyncSession, actor: User, rows: list[Message]) -> list[MessageOut]:
    """Messages as the actor sees them (own ones with `read_by`), in a fixed number of queries."""
    rendered = await messages.render_messages(db, rows)
    own = [m for m in rows if m.sender_id == actor.id and m.deleted_at is None]
    read_by = await messages.read_by_counts(db, own)
    out = []
    for m in rows:
        data = rendered[m.id]
        if m.id in read_by:
            data["read_by"] = read_by[m.id]
        out.append(MessageOut(**data))
    return out


MessageErrors = (E.chat_not_found, E.message_not_found)


@router.post(
    "/messages",
    status_code=201,
    response_model=MessageOut,
    response_model_exclude_none=True,
    responses={
        200: {
            "description": "a retry: the message first sent with this `client_msg_id`",
            "model": MessageOut,
        },
        **errors(
            *MessageErrors,
            E.forbidden,
            E.text_too_long,
            E.message_empty,
            E.file_not_found,
            E.conflict,
            E.chat_archived,
        ),
    },
)
async def send_message(
    chat_id: PathId,
    body: MessageIn,
    user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
    response: Response,
) -> MessageOut:
    """Send a message. Retrying with the same `client_msg_id` returns the first
    message (200) instead of creating a second one (201)."""
    new = messages.NewMessage(
        client_msg_id=body.client_msg_id,
        text=body.text,
        reply_to=body.reply_to,
        file_id=body.file_id,
        mention_ids=body.mention_ids,
        forward=messages.ForwardSource(body.forward_from.chat_id, body.forward_from.message_id)
        if body.forward_from
        else None,
    )
    msg, created = await messages.send_message(db, settings, user, chat_id, new)
    response.status_code = 201 if created else 200
    return (await render(db, user, [msg]))[0]


@router.get(
    "/messages",
    response_model=MessagePage,
    response_model_exclude_none=True,
    responses=errors(E.chat_not_found),
)
async def history(
    chat_id: PathId,
    user: CurrentUser,
    db: DbSession,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    """Messages in id order: the newest `limit`, or those `before` / `after` a message id."""
    page = await messages.history(db, user, chat_id, before=before, after=after, limit=limit)
    return MessagePage(messages=await render(db, user, page.messages), has_more=page.has_more)


@router.get(
    "/messages/{message_id}",
    response_model=MessageOut,
    response_model_exclude_none=True,
    responses=errors(*MessageErrors),
)
async def get_message(chat_id: PathId, message_id: PathId, user: CurrentUser, db: DbSession) -> MessageOut:
    msg = await messages.get_message(db, user, chat_id, message_id)
    return (await render(db, user, [msg]))[0]


@router.patch(
    "/messages/{message_id}",
    response_model=MessageOut,
    response_model_exclude_none=True,
    responses=errors(*MessageErrors, E.forbidden, E.text_too_long, E.message_empty, E.chat_archived),
)
async def edit_message(
    chat_id: PathId,
    message_id: PathId,
    body: MessagePatch,
    user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
) -> MessageOut:
    """Edit your message's text; it is marked edited, earlier versions are not kept."""
    msg = await messages.edit_message(db, settings, user, chat_id, message_id, body.text)
    return (await render(db, user, [msg]))[0]


@router.delete("/messages/{message_id}", status_code=204, responses=errors(*MessageErrors, E.forbidden))
async def delete_message(chat_id: PathId, message_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    """Delete for everyone: the text is erased; a placeholder stays in the history."""
    await messages.delete_message(db, user, chat_id, message_id)
    return Response(status_code=204)


@router.post(
    "/messages/{message_id}/reactions",
    response_model=MessageOut,
    response_model_exclude_none=True,
    responses=errors(*MessageErrors, E.invalid_reaction, E.chat_archived),
)
async def add_reaction(
    chat_id: PathId, message_id: PathId, body: ReactionIn, user: CurrentUser, db: DbSession
) -> MessageOut:
    msg = await messages.set_reaction(db, user, chat_id, message_id, body.emoji, present=True)
    return (await render(db, user, [msg]))[0]


@router.delete(
    "/messages/{message_id}/reactions",
    response_model=MessageOut,
    response_model_exclude_none=True,
    responses=errors(*MessageErrors, E.invalid_reaction, E.chat_archived),
)
async def remove_reaction(
    chat_id: PathId,
    message_id: PathId,
    user: CurrentUser,
    db: DbSession,
    emoji: Annotated[str, Query(max_length=16)],
) -> MessageOut:
    msg = await messages.set_reaction(db, user, chat_id, message_id, emoji, present=False)
    return (await render(db, user, [msg]))[0]


@router.get("/reactions", response_model=ReactionSet, tags=["messages"], responses=errors(E.chat_not_found))
async def reaction_set(chat_id: PathId, user: CurrentUser, db: DbSession) -> ReactionSet:
    """The reactions offered in this chat."""
    return ReactionSet(reactions=await messages.available_reactions(db, user, chat_id))


@router.post(
    "/messages/{message_id}/pin",
    response_model=MessageOut,
    response_model_exclude_none=True,
    responses=errors(*MessageErrors, E.forbidden, E.chat_archived),
)
async def pin(chat_id: PathId, message_id: PathId, user: CurrentUser, db: DbSession) -> MessageOut:
    msg = await messages.set_pinned(db, user, chat_id, message_id, pinned=True)
    return (await render(db, user, [msg]))[0]


@router.delete(
    "/messages/{message_id}/pin",
    response_model=MessageOut,
    response_model_exclude_none=True,
    responses=errors(*MessageErrors, E.forbidden, E.chat_archived),
)
async def unpin(chat_id: PathId, message_id: PathId, user: CurrentUser, db: DbSession) -> MessageOut:
    msg = await messages.set_pinned(db, user, chat_id, message_id, pinned=False)
    return (await render(db, user, [msg]))[0]


@router.get(
    "/messages/{message_id}/readers",
    response_model=ReaderList,
    response_model_exclude_none=True,
    responses=errors(*MessageErrors, E.forbidden),
)
async def readers(chat_id: PathId, message_id: PathId, user: CurrentUser, db: DbSession) -> ReaderList:
    """Who read your own message (its author only), by name; at most 500."""
    found = await messages.message_readers(db, user, chat_id, message_id)
    return ReaderList(readers=[UserPublic(**card) for card in found])


@router.get(
    "/pins",
    response_model=MessagePage,
    response_model_exclude_none=True,
    responses=errors(E.chat_not_found),
)
async def pins(chat_id: PathId, user: CurrentUser, db: DbSession) -> MessagePage:
    """Pinned messages, most recently pinned first."""
    rows = await messages.pinned_messages(db, user, chat_id)
    return MessagePage(messages=await render(db, user, rows), has_more=False)


@router.post(
    "/read",
    response_model=ReadOut,
    responses=errors(*MessageErrors),
)
async def mark_read(chat_id: PathId, body: ReadIn, user: CurrentUser, db: DbSession) -> ReadOut:
    """Mark messages up to `message_id` read. The marker never moves back."""
    return ReadOut(last_read_message_id=await messages.mark_read(db, user, chat_id, body.message_id))
