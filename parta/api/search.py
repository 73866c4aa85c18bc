from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parta import search
from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.api.messages import render as render_messages_for
from parta.api.schemas import MessagePage

router = APIRouter(tags=["search"])


@router.get("/search", response_model=MessagePage, response_model_exclude_none=True, responses=errors())
async def search_messages(
    user: CurrentUser,
    db: DbSession,
    q: Annotated[str, Query(max_length=1000, description="words to find, in any form")],
    chat_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="page: messages older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> MessagePage:
    """Search messages in your chats: "учебник" also finds "учебники" and "учебника"."""
    rows = await search.search_messages(db, user, q, chat_id=chat_id, before=before, limit=limit + 1)
    return MessagePage(messages=await render_messages_for(db, user, rows[:limit]), has_more=len(rows) > limit)
