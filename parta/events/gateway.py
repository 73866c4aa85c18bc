"""WebSocket delivery: the hub of this process's connections and each connection's
catch-up, live stream, heartbeats and back-pressure. Protocol: docs/realtime.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from parta.db.engine import Database
from parta.db.tables import ChatMember
from parta.events import log as events
from parta.events.bus import Bus
from parta.events.serialize import render_events
from parta.events.shared_frames import SHARED_FRAME, SharedFrame, write_now_of
from parta.events.tailer import Delivered, encode

log = logging.getLogger(__name__)


class Close:
    BAD_FRAME = 4000
    UNAUTHENTICATED = 4001
    AUTH_TIMEOUT = 4002
    TOO_SLOW = 4008
    IDLE = 4009
    TOO_MANY_FRAMES = 4029


@dataclass(frozen=True)
class Limits:
    auth_timeout: float
    idle_timeout: float
    send_timeout: float
    queue_limit: int
    page_limit: int
    reset_after: int
    typing_interval: float = 2.0
    # Frames a client may send: a steady 5 a second with bursts of 30. A real client
    # sends a ping every half minute and "typing" every few seconds; more is a flood,
    # and each typing frame costs a membership lookup.
    inbound_per_second: float = 5.0
    inbound_burst: float = 30.0


# Events that change who is in a chat; they invalidate the hub's member cache.
MEMBERSHIP_EVENTS = frozenset(
    {"chat.created", "chat.member_added", "chat.member_removed", "chat.removed", "chat.deleted"}
)
MEMBER_CACHE_CHATS = 10_000
PRESENCE_MAX_MEMBERS = 50

# Frames stay well under common client limits (1 MiB in `websockets`) however many
# events piled up; a big backlog goes out as several frames.
FRAME_CHARS = 256 * 1024


def events_frames(items: Sequence[tuple[int, str]]) -> list[str]:
    """``(event id, encoded event)`` pairs as ``events`` frames of bounded size.

    Events are encoded once (by the tailer, or once per catch-up page) and spliced
    in, not re-encoded per connection.
    """
    frames: list[str] = []
    chunk: list[str] = []
    size = 0
    for position, (event_id, encoded) in enumerate(items):
        chunk.append(encoded)
        size += len(encoded)
        if size >= FRAME_CHARS or position == len(items) - 1:
            frames.append('{"type":"events","events":[' + ",".join(chunk) + '],"next":' + str(event_id) + "}")
            chunk, size = [], 0
    return frames


def live_frames(items: Sequence[Delivered]) -> list[SharedFrame]:
    return [SharedFrame(text) for text in events_frames([(d.id, d.encoded) for d in items])]


class Batch:
    """Live events that a set of connections receive identically, in one tailer batch.

    Their ``events`` frames are built on first use and then shared: the JSON text is
    spliced once, and the protocol compresses it once per kind of connection
    (shared_frames.py), however many connections receive it.
    """

    __slots__ = ("_frames", "items")

    def __init__(self, items: tuple[Delivered, ...]) -> None:
        self.items = items
        self._frames: list[SharedFrame] | None = None

    def frames(self) -> list[SharedFrame]:
        if self._frames is None:
            self._frames = live_frames(self.items)
        return self._frames


PONG = SharedFrame(encode({"type": "pong"}))


class Connection:
    """One authenticated WebSocket. Live events queue here (bounded) until the sender
    task writes them; a client that cannot keep up is closed and resumes with ``since``.

    Fast path: while the sender task is parked with nothing queued and the socket takes
    data without waiting, a frame is written at once by the caller (``write_now`` of
    SharedFrameProtocol), without waking the task. Order, each-once and the limits are
    unchanged: anything that would have to wait takes the queue.
    """

    def __init__(self, ws: WebSocket, hub: Hub, *, user_id: int, session_id: int, since: int | None) -> None:
        self.ws = ws
        self.hub = hub
        self.user_id = user_id
        self.session_id = session_id
        self.since = since
        self.last_id = 0
        self.live: deque[Batch] = deque()
        self.queued = 0  # events in `live`
        self.outbox: deque[SharedFrame] = deque()
        self.wake = asyncio.Event()
        self.parked = False  # the sender task waits for work and nothing is queued
        self.close_code: int | None = None
        self._write_now = write_now_of(ws.scope)
        self._last_typing: dict[int, float] = {}
        self._inbound_budget = hub.limits.inbound_burst
        self._inbound_at = 0.0

    def _written_now(self, frames: Sequence[SharedFrame]) -> bool:
        """Wrote the frames at once (fast path), or False: nothing written, queue them."""
        if not self.parked or self.close_code is not None or self._write_now is None:
            return False
        return self._write_now(frames)

    def offer(self, batch: Batch) -> None:
        if self.close_code is not None:
            return  # closing: the client resumes with `since`, nothing to keep
        if batch.items[0].id > self.last_id and self._written_now(batch.frames()):
            self.last_id = batch.items[-1].id
            return
        self.live.append(batch)
        self.queued += len(batch.items)
        if self.queued > self.hub.limits.queue_limit:
            self.live.clear()
            self.queued = 0
            self.close(Close.TOO_SLOW)
        self._wake_sender()

    def send_later(self, frame: SharedFrame) -> None:
        if self._written_now((frame,)):
            return
        if len(self.outbox) < self.hub.limits.queue_limit:
            self.outbox.append(frame)
            self._wake_sender()

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        self._wake_sender()

    def _wake_sender(self) -> None:
        # Something is queued: no fast path until the sender task has sent it, or a
        # later frame could overtake it.
        self.parked = False
        self.wake.set()

    async def _send(self, frame: SharedFrame) -> None:
        # `text` is the standard ASGI message; SharedFrameProtocol writes the shared
        # bytes instead (built once for every connection alike).
        message = {"type": "websocket.send", "text": frame.text, SHARED_FRAME: frame}
        try:
            # asyncio.timeout, not wait_for: no extra task per frame on the hot path.
            async with asyncio.timeout(self.hub.limits.send_timeout):
                await self.ws.send(message)
        except TimeoutError:
            self.close(Close.TOO_SLOW)
            raise

    async def send_loop(self, head: int) -> None:
        await self._catch_up(head)
        while self.close_code is None:
            self.parked = not self.wake.is_set()
            await self.wake.wait()
            self.parked = False
            self.wake.clear()
            while self.outbox and self.close_code is None:
                await self._send(self.outbox.popleft())
            frames, last_id = self._take_live()
            for frame in frames:
                if self.close_code is None:
                    await self._send(frame)
            self.last_id = last_id

    def _take_live(self) -> tuple[list[SharedFrame], int]:
        """Empty the live queue: the frames of the events this client has not had yet,
        and the id of the last of them."""
        batches = list(self.live)
        self.live.clear()
        self.queued = 0
        if len(batches) == 1 and batches[0].items[0].id > self.last_id:
            return batches[0].frames(), batches[0].items[-1].id  # the usual case: shared
        # Several batches piled up (a slow reader), or the first live events repeat
        # the end of the catch-up: frames of this connection's own.
        fresh = [d for batch in batches for d in batch.items if d.id > self.last_id]
        if not fresh:
            return [], self.last_id
        return live_frames(fresh), fresh[-1].id

    async def _catch_up(self, head: int) -> None:
        """Send what the client missed after ``since`` (pages), or a reset."""
        if self.since is None:
            self.last_id = head
            return
        self.last_id = self.since
        limits = self.hub.limits
        while True:
            async with self.hub.database.session() as db:
                page = await events.read_since(
                    db,
                    user_id=self.user_id,
                    since=self.last_id,
                    limit=limits.page_limit,
                    reset_after=limits.reset_after,
                )
                rendered = await render_events(db, page.events)
            if page.reset:
                await self._send(SharedFrame(encode({"type": "reset", "next": page.next})))
                self.last_id = page.next
                return
            for text in events_frames([(e["id"], encode(e)) for e in rendered]):
                await self._send(SharedFrame(text))
            self.last_id = max(self.last_id, page.next)
            if not page.has_more:
                return

    async def read_loop(self) -> None:
        limits = self.hub.limits
        while self.close_code is None:
            try:
                text = await asyncio.wait_for(self.ws.receive_text(), timeout=limits.idle_timeout)
            except TimeoutError:
                self.close(Close.IDLE)
                return
            if not self._inbound_allowed():
                self.close(Close.TOO_MANY_FRAMES)
                return
            frame = _parse(text) or {}
            kind = frame.get("type")
            if kind == "ping":
                self.send_later(PONG)
            elif kind == "typing" and isinstance(frame.get("chat_id"), int):
                await self._typing(int(frame["chat_id"]))

    def _inbound_allowed(self) -> bool:
        """A token bucket over the frames this client sends."""
        limits = self.hub.limits
        now = asyncio.get_running_loop().time()
        elapsed = now - self._inbound_at if self._inbound_at else 0.0
        self._inbound_at = now
        self._inbound_budget = min(
            limits.inbound_burst, self._inbound_budget + elapsed * limits.inbound_per_second
        )
        if self._inbound_budget < 1:
            return False
        self._inbound_budget -= 1
        return True

    async def _typing(self, chat_id: int) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_typing.get(chat_id, -1e9) < self.hub.limits.typing_interval:
            return  # a chatty keyboard must not flood the chat
        if len(self._last_typing) >= 256:  # only recent chats matter: the map stays small
            interval = self.hub.limits.typing_interval
            self._last_typing = {c: t for c, t in self._last_typing.items() if now - t < interval}
        self._last_typing[chat_id] = now
        await self.hub.typing(self, chat_id)


def _parse(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class Hub:
    """This process's connections, by user."""

    def __init__(self, database: Database, bus: Bus, limits: Limits) -> None:
        self.database = database
        self.bus = bus
        self.limits = limits
        self.connections: dict[int, set[Connection]] = defaultdict(set)
        # chat id -> {member user id: log position they joined at}; see deliver().
        self._members: OrderedDict[int, dict[int, int]] = OrderedDict()
        bus.on_ephemeral(self.on_ephemeral)

    @property
    def connection_count(self) -> int:
        return sum(len(c) for c in self.connections.values())

    async def add(self, conn: Connection) -> None:
        first = not self.connections.get(conn.user_id)
        self.connections[conn.user_id].add(conn)
        if first:
            await self.bus.publish_ephemeral({"type": "presence", "user_id": conn.user_id, "online": True})

    async def remove(self, conn: Connection) -> None:
        mine = self.connections.get(conn.user_id)
        if mine is None:
            return
        mine.discard(conn)
        if not mine:
            del self.connections[conn.user_id]
            await self.bus.publish_ephemeral({"type": "presence", "user_id": conn.user_id, "online": False})

    async def deliver(self, batch: Sequence[Delivered]) -> None:
        """Route committed events to the connections of the users who may see them."""
        self._forget_changed_memberships(batch)
        if not self.connections:
            return
        members = await self._chat_members({d.chat_id for d in batch if d.chat_id is not None})
        outgoing: dict[Connection, list[Delivered]] = defaultdict(list)
        for item in batch:
            if item.user_id is not None:
                users: Iterable[int] = (item.user_id,)
            else:
                users = (uid for uid, since in members.get(item.chat_id or 0, ()) if item.id > since)
            for uid in users:
                for conn in self.connections.get(uid, ()):
                    outgoing[conn].append(item)
            if item.type == "session.revoked" and item.user_id is not None:
                self._close_revoked(item.user_id, item.payload)
        # Connections that receive the same events share one Batch, hence one frame
        # build and one compression (usually every member of a chat gets the same).
        shared: dict[tuple[int, ...], Batch] = {}
        for conn, items in outgoing.items():
            key = tuple(d.id for d in items)
            same = shared.get(key)
            if same is None:
                same = shared[key] = Batch(tuple(items))
            conn.offer(same)

    def _forget_changed_memberships(self, batch: Sequence[Delivered]) -> None:
        # Every membership change appends one of these events to the chat, and the
        # tailer hands events over in log order, so dropping the cached member list
        # here keeps the cache exactly as fresh as the log.
        for item in batch:
            if item.type in MEMBERSHIP_EVENTS and item.chat_id is not None:
                self._members.pop(item.chat_id, None)

    def _close_revoked(self, user_id: int, payload: dict[str, Any]) -> None:
        for conn in list(self.connections.get(user_id, ())):
            revoked = (
                conn.session_id != payload.get("kept_session_id")
                if payload.get("others")
                else conn.session_id == payload.get("session_id")
            )
            if revoked:
                conn.close(Close.UNAUTHENTICATED)

    async def _chat_members(self, chat_ids: set[int]) -> dict[int, list[tuple[int, int]]]:
        """Connected members of each chat, with the log position they joined at."""
        missing = [c for c in chat_ids if c not in self._members]
        if missing:
            await self._load_members(missing)
        result: dict[int, list[tuple[int, int]]] = {}
        for chat_id in chat_ids:
            members = self._members.get(chat_id, {})
            self._members.move_to_end(chat_id)
            result[chat_id] = [(uid, since) for uid, since in members.items() if uid in self.connections]
        return result

    async def _load_members(self, chat_ids: list[int]) -> None:
        async with self.database.session() as db:
            rows = await db.execute(
                select(ChatMember.chat_id, ChatMember.user_id, ChatMember.since_event_id).where(
                    ChatMember.chat_id.in_(chat_ids)
                )
            )
            loaded: dict[int, dict[int, int]] = {chat_id: {} for chat_id in chat_ids}
            for chat_id, user_id, since in rows:
                loaded[chat_id][user_id] = since
        self._members.update(loaded)
        while len(self._members) > MEMBER_CACHE_CHATS:
            self._members.popitem(last=False)

    async def typing(self, conn: Connection, chat_id: int) -> None:
        async with self.database.session() as db:
            if await db.get(ChatMember, (chat_id, conn.user_id)) is None:
                return  # not a member: ignored, so chat ids cannot be probed
        await self.bus.publish_ephemeral({"type": "typing", "chat_id": chat_id, "user_id": conn.user_id})

    async def on_ephemeral(self, message: dict[str, Any]) -> None:
        if not self.connections:
            return
        user_id = int(message["user_id"])
        if message.get("type") == "typing":
            audience = await self._typing_audience(int(message["chat_id"]))
        else:
            audience = await self._co_members(user_id)
        frame = SharedFrame(encode(message))
        for uid in audience - {user_id}:
            for conn in self.connections.get(uid, ()):
                conn.send_later(frame)

    async def _typing_audience(self, chat_id: int) -> set[int]:
        members = await self._chat_members({chat_id})
        return {uid for uid, _ in members.get(chat_id, ())}

    async def _co_members(self, user_id: int) -> set[int]:
        """Connected users who share a small chat with ``user_id``.

        Presence goes only through chats of at most PRESENCE_MAX_MEMBERS people: in a
        class or school channel of hundreds, "online" for everyone is noise, and it
        made a whole class connecting cost O(n^2) frames (docs/performance.md).
        """
        mine, theirs = aliased(ChatMember), aliased(ChatMember)
        small_chats = (
            select(ChatMember.chat_id)
            .group_by(ChatMember.chat_id)
            .having(func.count() <= PRESENCE_MAX_MEMBERS)
        )
        async with self.database.session() as db:
            rows = await db.execute(
                select(theirs.user_id)
                .join(mine, and_(mine.chat_id == theirs.chat_id, mine.user_id == user_id))
                .where(theirs.chat_id.in_(small_chats))
                .distinct()
            )
            return {uid for uid in rows.scalars() if uid in self.connections}

    async def close_all(self, code: int = 1012) -> None:
        for conns in list(self.connections.values()):
            for conn in list(conns):
                conn.close(code)


async def close_quietly(ws: WebSocket, code: int, error: dict[str, str] | None = None) -> None:
    with contextlib.suppress(Exception):
        if ws.application_state == WebSocketState.CONNECTED:
            if error is not None:
                await ws.send_text(encode({"type": "error", "error": error}))
            await ws.close(code)


__all__ = ["Close", "Connection", "Hub", "Limits", "WebSocketDisconnect", "close_quietly"]
