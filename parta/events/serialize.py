"""The one serializer of events, shared by ``GET /sync`` and live push."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from parta.db import queries as q
from parta.db.tables import Event
from parta.render import Json, ts


async def render_events(db: AsyncSession, rows: Sequence[Event]) -> list[Json]:
    """Events as clients see them: ``{"id", "type", "at", "chat_id"?, "data"}``.

    Message events are rendered with the message's current state (edited text,
    tombstone after deletion), so the log never keeps deleted text or edit history.
    """
    from parta.messages import render_messages

    message_rows = await q.messages_by_id(db, [e.message_id for e in rows if e.message_id])
    rendered = await render_messages(db, list(message_rows.values()))
    result: list[Json] = []
    for event in rows:
        item: Json = {"id": event.id, "type": event.type, "at": ts(event.created_at)}
        if event.chat_id is not None:
            item["chat_id"] = event.chat_id
        data = dict(event.payload)
        if event.message_id is not None and event.message_id in rendered:
            data["message"] = rendered[event.message_id]
        item["data"] = data
        result.append(item)
    return result
