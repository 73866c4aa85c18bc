"""The log tailer: one per server process, it follows the event log in id order and
hands each committed event, rendered once, to the local WebSocket hub.

It reads whatever was committed after its position, woken by the bus (a local commit
or a Redis notice) or, as a safety net, by a timer. Because event ids commit in
increasing order (events/log.py), reading ``id > position`` never skips an event.

Reads are at least ``coalesce_seconds`` apart. The first commit after a quiet moment
is delivered at once; commits that follow it closely wait for the rest of that window
and then go out together, as one batch: one frame per connection instead of one per
event (docs/performance.md, real-time delivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from parta.db.engine import Database
from parta.db.tables import Event
from parta.events import log as events
from parta.events.serialize import render_events
from parta.outage import FailureStreak
from parta.render import Json

log = logging.getLogger(__name__)

BATCH = 1000
COALESCE_SECONDS = 0.025


@dataclass(frozen=True)
class Delivered:
    """One committed event: its scope (for choosing recipients) and its encoded JSON."""

    id: int
    type: str
    chat_id: int | None
    user_id: int | None
    payload: Json
    encoded: str


def encode(event: Json) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


Sink = Callable[[Sequence[Delivered]], Awaitable[None]]


class LogTailer:
    def __init__(
        self,
        database: Database,
        sink: Sink,
        *,
        poll_seconds: float,
        coalesce_seconds: float = COALESCE_SECONDS,
    ) -> None:
        self.database = database
        self.sink = sink
        self.poll_seconds = poll_seconds
        self.coalesce_seconds = coalesce_seconds
        self.position = 0
        self._last_read = float("-inf")  # loop time of the last read that found events
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reads = FailureStreak(log, "log tailer: reading the log")

    def wake(self, _head: int = 0) -> None:
        self._wake.set()

    async def start(self) -> None:
        async with self.database.session() as db:
            self.position = await events.head(db)
        self._task = asyncio.create_task(self._run(), name="log-tailer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            pause = self._last_read + self.coalesce_seconds - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)  # let the commits right after the last batch pile up
            self._wake.clear()
            try:
                while await self._step():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be restarting; the next wake-up or poll retries from
                # the same position, so nothing is skipped.
                self._reads.failed()
            else:
                self._reads.succeeded()

    async def _step(self) -> bool:
        """Deliver the next batch; True when there may be more."""
        started = asyncio.get_running_loop().time()
        async with self.database.session() as db:
            rows = list(
                (
                    await db.execute(
                        select(Event).where(Event.id > self.position).order_by(Event.id).limit(BATCH)
                    )
                ).scalars()
            )
            rendered = await render_events(db, rows)
        if not rows:
            return False
        self._last_read = started
        batch = [
            Delivered(r.id, r.type, r.chat_id, r.user_id, r.payload, encode(e))
            for r, e in zip(rows, rendered, strict=True)
        ]
        log.debug("tailer: %d events up to %d", len(batch), rows[-1].id)
        await self.sink(batch)
        self.position = rows[-1].id
        return len(rows) == BATCH
