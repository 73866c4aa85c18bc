"""Blocking people: PUT/DELETE /me/blocks/{user_id}, GET /me/blocks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from parta import blocks
from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.api.schemas import UserPublic
from parta.errors import ErrorCode as E

router = APIRouter(prefix="/me/blocks", tags=["blocks"])

UserId = Annotated[int, Path(ge=1, le=2**62)]


class BlockOut(BaseModel):
    user: UserPublic
    created_at: str


class BlockList(BaseModel):
    blocks: list[BlockOut]
    next_cursor: int | None = Field(None, description="pass as `cursor` for the next page; absent at the end")


@router.put(
    "/{user_id}",
    response_model=BlockOut,
    response_model_exclude_none=True,
    responses=errors(E.user_not_found),
)
async def block_user(user_id: UserId, user: CurrentUser, db: DbSession) -> BlockOut:
    """Block a person (idempotent): neither of you can find the other by phone, open a
    direct chat, add the other to a chat, write in your direct chat or mention the other.

    You can block someone you share a chat with or could find by phone. They are
    not told. `user.blocked` reaches your own devices only.
    """
    blocked = await blocks.block_user(db, user, user_id)
    return BlockOut(**await blocks.block_json(db, user, blocked))


@router.delete("/{user_id}", status_code=204, responses=errors(E.user_not_found))
async def unblock_user(user_id: UserId, user: CurrentUser, db: DbSession) -> Response:
    """Lift a block (idempotent); `user.unblocked` reaches your own devices only."""
    await blocks.unblock_user(db, user, user_id)
    return Response(status_code=204)


@router.get("", response_model=BlockList, response_model_exclude_none=True, responses=errors())
async def list_blocks(
    user: CurrentUser,
    db: DbSession,
    cursor: Annotated[int | None, Query(ge=0, le=2**62, description="`next_cursor` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=blocks.MAX_PAGE)] = 100,
) -> BlockList:
    """The people you blocked."""
    page = await blocks.list_blocks(db, user, cursor=cursor, limit=limit)
    return BlockList(
        blocks=[BlockOut(**await blocks.block_json(db, user, b)) for b in page.blocks],
        next_cursor=page.next_cursor,
    )
