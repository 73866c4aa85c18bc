"""Invite links: managers create, list and revoke them; anyone signed in previews and joins."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parta import invites
from parta.api.chats import render_chats
from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.api.schemas import ChatOut, UserPublic
from parta.db.tables import ChatInvite
from parta.errors import ErrorCode as E
from parta.render import ts, user_public

router = APIRouter(tags=["invites"])

Id = Annotated[int, Path(ge=1, le=2**62)]

_MIN_EXPIRY = int(invites.MIN_EXPIRY.total_seconds())
_MAX_EXPIRY = int(invites.MAX_EXPIRY.total_seconds())


class InviteIn(BaseModel):
    # A misspelt option would silently make an unlimited, never-expiring link.
    model_config = ConfigDict(extra="forbid")

    expires_in_seconds: Annotated[int, Field(ge=_MIN_EXPIRY, le=_MAX_EXPIRY, strict=True)] | None = None
    usage_limit: Annotated[int, Field(ge=1, le=invites.MAX_USAGE_LIMIT, strict=True)] | None = None


class InviteOut(BaseModel):
    id: int
    token_prefix: str = Field(description="the token's first characters, to tell links apart")
    state: str = Field(description="active | expired | exhausted | revoked")
    usage_count: int
    usage_limit: int | None = None
    expires_at: str | None = None
    revoked_at: str | None = None
    created_at: str
    creator: UserPublic | None = None


class InviteCreated(BaseModel):
    id: int
    token: str = Field(description="shown only in this response; the server keeps only a hash")
    url: str
    token_prefix: str
    usage_count: int
    usage_limit: int | None = None
    expires_at: str | None = None
    created_at: str


class InviteList(BaseModel):
    invites: list[InviteOut]
    has_more: bool


class InviteChat(BaseModel):
    id: int
    kind: str
    title: str
    description: str | None = None
    member_count: int
    avatar_file_id: int | None = None


class InvitePreviewOut(BaseModel):
    chat: InviteChat
    is_member: bool


def _times(invite: ChatInvite) -> dict[str, str | None]:
    return {
        "expires_at": ts(invite.expires_at) if invite.expires_at else None,
        "created_at": ts(invite.created_at),
    }


@router.post(
    "/chats/{chat_id}/invites",
    status_code=201,
    response_model=InviteCreated,
    response_model_exclude_none=True,
    responses=errors(E.chat_not_found, E.forbidden),
)
async def create_invite(
    chat_id: Id, user: CurrentUser, db: DbSession, body: Annotated[InviteIn | None, Body()] = None
) -> InviteCreated:
    """Create an invite link to a group or channel (owner and admins).

    The full `token` (and the `url` built from it) appears only in this response:
    the server stores a hash, so a lost link cannot be shown again; revoke it
    and create a new one. Without options the link never expires and has no use limit.
    """
    body = body or InviteIn()
    expires_in = timedelta(seconds=body.expires_in_seconds) if body.expires_in_seconds else None
    new = invites.NewInvite(expires_in=expires_in, usage_limit=body.usage_limit)
    invite, token = await invites.create_invite(db, user, chat_id, new)
    return InviteCreated(
        id=invite.id,
        token=token,
        url=f"/join/{token}",
        token_prefix=invite.token_prefix,
        usage_count=invite.usage_count,
        usage_limit=invite.usage_limit,
        **_times(invite),
    )


@router.get(
    "/chats/{chat_id}/invites",
    response_model=InviteList,
    response_model_exclude_none=True,
    responses=errors(E.chat_not_found, E.forbidden),
)
async def list_invites(
    chat_id: Id,
    user: CurrentUser,
    db: DbSession,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="an invite id from the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> InviteList:
    """The chat's invite links, newest first, without their tokens (owner and admins)."""
    page = await invites.list_invites(db, user, chat_id, before=before, limit=limit)
    return InviteList(
        invites=[
            InviteOut(
                id=row.invite.id,
                token_prefix=row.invite.token_prefix,
                state=row.state,
                usage_count=row.invite.usage_count,
                usage_limit=row.invite.usage_limit,
                revoked_at=ts(row.invite.revoked_at) if row.invite.revoked_at else None,
                creator=UserPublic(**user_public(row.creator)) if row.creator else None,
                **_times(row.invite),
            )
            for row in page.invites
        ],
        has_more=page.has_more,
    )


@router.delete(
    "/chats/{chat_id}/invites/{invite_id}",
    status_code=204,
    responses=errors(E.chat_not_found, E.forbidden, E.invite_not_found),
)
async def revoke_invite(chat_id: Id, invite_id: Id, user: CurrentUser, db: DbSession) -> Response:
    """Revoke an invite link (owner and admins); repeating it is harmless.

    People who joined through the link stay in the chat.
    """
    await invites.revoke_invite(db, user, chat_id, invite_id)
    return Response(status_code=204)


@router.get(
    "/invites/{token}",
    response_model=InvitePreviewOut,
    response_model_exclude_none=True,
    responses=errors(E.invite_not_found, E.invite_expired, E.invite_exhausted),
)
async def preview_invite(token: str, user: CurrentUser, db: DbSession) -> InvitePreviewOut:
    """What an invite link leads to: the chat's title, kind and size, never its members."""
    preview = await invites.preview_invite(db, user, token)
    chat = preview.chat
    return InvitePreviewOut(
        chat=InviteChat(
            id=chat.id,
            kind=chat.kind,
            title=chat.title,
            description=chat.description or None,
            member_count=preview.member_count,
            avatar_file_id=chat.avatar_file_id,
        ),
        is_member=preview.is_member,
    )


@router.post(
    "/invites/{token}/join",
    response_model=ChatOut,
    response_model_exclude_none=True,
    responses=errors(E.invite_not_found, E.invite_expired, E.invite_exhausted, E.forbidden, E.chat_archived),
)
async def join_by_invite(token: str, user: CurrentUser, db: DbSession) -> ChatOut:
    """Join the chat as a member; returns it like `GET /chats/{id}`.

    Already a member: the same answer, and the link's use is not counted, so
    retrying is safe. Requires a first and last name in the profile.
    """
    chat, member = await invites.join_by_invite(db, user, token)
    return ChatOut(**(await render_chats(db, user, [(chat, member)]))[0])
