"""Archiving chats at a planned moment (issue 8: closing the old chats after a move)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from parta import archiving
from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.chats import is_archived
from parta.db.tables import Chat
from parta.errors import ErrorCode as E
from parta.orgs.timezones import zone
from parta.render import ts

router = APIRouter(tags=["archiving"])

Id = Annotated[int, Path(ge=1, le=2**62)]


class ArchiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None = Field(
        None,
        description='"2025-08-25T09:00" is local time of the chat\'s organization (Moscow time for a chat '
        'of no organization); with an offset ("…+05:00", "…Z") it is that moment; absent: now',
    )
    successor_chat_id: Annotated[int, Field(ge=1, le=2**62, strict=True)] | None = Field(
        None, description="the chat where the conversation continues; one you can see"
    )


class ArchiveOut(BaseModel):
    chat_id: int
    is_archived: bool
    timezone: str = Field(description="the zone `archive_at_local` is shown in")
    archive_at: str | None = None
    archive_at_local: str | None = Field(None, description='e.g. "2025-08-25T09:00+03:00"')
    archived_at: str | None = None
    successor_chat_id: int | None = None


class ScheduledChat(ArchiveOut):
    title: str
    purpose: str | None = None
    class_id: int | None = None


class ArchiveScheduleOut(BaseModel):
    timezone: str
    chats: list[ScheduledChat]


def _out(chat: Chat, timezone: str) -> ArchiveOut:
    return ArchiveOut(
        chat_id=chat.id,
        is_archived=is_archived(chat),
        timezone=timezone,
        archive_at=ts(chat.archive_at) if chat.archive_at else None,
        archive_at_local=chat.archive_at.astimezone(zone(timezone)).isoformat(timespec="minutes")
        if chat.archive_at
        else None,
        archived_at=ts(chat.archived_at) if chat.archived_at else None,
        successor_chat_id=chat.successor_chat_id,
    )


@router.put(
    "/chats/{chat_id}/archive",
    response_model=ArchiveOut,
    response_model_exclude_none=True,
    responses=errors(E.chat_not_found, E.forbidden, E.chat_archived),
)
async def schedule_archive(chat_id: Id, body: ArchiveIn, user: CurrentUser, db: DbSession) -> ArchiveOut:
    """Plan when the chat becomes read-only, and where the conversation continues.

    The chat's owner and admins, or admins of its organization. A future moment
    sends members `chat.updated` with `archive_at`; when it comes (or at once,
    without `at`) they get `chat.archived`, and from then on sending, editing,
    reactions, pins, adding members and joining by link answer 403 `chat_archived`.
    Reading and search keep working. Calling again re-plans.
    """
    plan = archiving.ArchivePlan(at=body.at, successor_chat_id=body.successor_chat_id)
    chat = await archiving.schedule_archive(db, user, chat_id, plan)
    return _out(chat, await archiving.chat_timezone(db, chat))


@router.delete(
    "/chats/{chat_id}/archive",
    response_model=ArchiveOut,
    response_model_exclude_none=True,
    responses=errors(E.chat_not_found, E.forbidden, E.chat_archived),
)
async def cancel_archive(chat_id: Id, user: CurrentUser, db: DbSession) -> ArchiveOut:
    """Cancel a planned archiving before its moment (`chat_archived` after it). Idempotent."""
    chat = await archiving.cancel_archive(db, user, chat_id)
    return _out(chat, await archiving.chat_timezone(db, chat))


@router.get(
    "/orgs/{org_id}/archive-schedule",
    response_model=ArchiveScheduleOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden),
)
async def archive_schedule(org_id: Id, user: CurrentUser, db: DbSession) -> ArchiveScheduleOut:
    """The organization's chats with a planned or done archiving, soonest first (admins, operators)."""
    schedule = await archiving.archive_schedule(db, user, org_id)
    return ArchiveScheduleOut(
        timezone=schedule.timezone,
        chats=[
            ScheduledChat(
                **_out(chat, schedule.timezone).model_dump(),
                title=chat.title,
                purpose=chat.purpose,
                class_id=chat.class_group_id,
            )
            for chat in schedule.chats
        ],
    )
