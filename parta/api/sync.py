from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parta.api.deps import CurrentUser, DbSession, SettingsDep
from parta.api.errors import errors
from parta.api.schemas import EventOut, SyncOut
from parta.events import log as events
from parta.events.serialize import render_events

router = APIRouter(tags=["sync"])


@router.get("/sync", response_model=SyncOut, response_model_exclude_none=True, responses=errors())
async def sync(
    user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
    since: Annotated[
        int | None, Query(ge=0, le=2**62, description="last event id applied; omit for the current position")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> SyncOut:
    """Events you missed since `since`, oldest first, one page at a time.

    Continue with `since=next` while `has_more` is true. `reset: true` means you
    are too far behind: refetch `/chats` and recent messages, then sync from `next`.
    Without `since`, returns no events and the current position.
    """
    if since is None:
        return SyncOut(events=[], next=await events.head(db))
    page = await events.read_since(
        db,
        user_id=user.id,
        since=since,
        limit=min(limit or settings.sync_page_limit, settings.sync_page_limit),
        reset_after=settings.sync_reset_after,
    )
    rendered = await render_events(db, page.events)
    return SyncOut(
        events=[EventOut(**e) for e in rendered], next=page.next, has_more=page.has_more, reset=page.reset
    )
