"""Due transitions: changes planned for a moment (a chat closing at 09:00, later the
school-year rollover), applied by a background task in every server process.

A ``Transition`` says how to find what is due and how to apply one item. The
contract that makes several processes safe is the transition's: ``apply`` claims
its item with a conditional write and returns False when another process already
did, so each item is applied (and announced) once. The plan lives in the database,
so nothing is lost when every process restarts; the first poll after start
applies whatever came due meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from parta.clock import utcnow
from parta.db.engine import Database
from parta.outage import FailureStreak

log = logging.getLogger(__name__)

BATCH = 100


@dataclass(frozen=True)
class Transition:
    """``due(db, now, limit)``: ids of due items. ``apply(db, id, now)``: apply one in its
    own transaction, True only if this call did it (a lost race is False, not an error)."""

    name: str
    due: Callable[[AsyncSession, datetime, int], Awaitable[list[int]]]
    apply: Callable[[AsyncSession, int, datetime], Awaitable[bool]]


class Scheduler:
    def __init__(self, database: Database, transitions: Sequence[Transition], *, poll_seconds: float) -> None:
        self.database = database
        self.transitions = tuple(transitions)
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_due(self) -> dict[str, int]:
        """Apply everything due now; returns how many items this process applied, by transition."""
        return {t.name: await self._run_transition(t) for t in self.transitions}

    async def _run_transition(self, transition: Transition) -> int:
        applied = 0
        async with self.database.session() as db:
            while True:
                ids = await transition.due(db, utcnow(), BATCH)
                won = 0
                for item_id in ids:
                    won += await self._apply_one(db, transition, item_id)
                applied += won
                # A full batch of which nothing was ours: other processes are on it;
                # what they leave is picked up at the next poll.
                if len(ids) < BATCH or won == 0:
                    return applied

    async def _apply_one(self, db: AsyncSession, transition: Transition, item_id: int) -> bool:
        try:
            return await transition.apply(db, item_id, utcnow())
        except asyncio.CancelledError:
            raise
        except Exception:
            # One broken item must not stop the others; it is retried at the next poll.
            log.exception("scheduler: %s %d failed", transition.name, item_id)
            return False

    async def _run(self) -> None:
        polls = FailureStreak(log, f"scheduler poll (every {self.poll_seconds:g} s)")
        while True:
            try:
                applied = await self.run_due()
                if any(applied.values()):
                    log.info("scheduler applied %s", applied)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be restarting; the next poll retries (the plan is in
                # the database, so nothing due is lost).
                polls.failed()
            else:
                polls.succeeded()
            await asyncio.sleep(self.poll_seconds)
