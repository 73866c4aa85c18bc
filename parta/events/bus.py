"""The bus: how server processes tell each other that the log advanced, and carry
ephemeral signals (typing, presence) that are never stored.

The bus never carries events themselves. A "log advanced" notice only wakes each
process's tailer (events/tailer.py), which reads committed events from the database in
id order; so a lost or reordered notice delays delivery but cannot lose or reorder
events. In-process by default; ``RedisBus`` (events/redis_bus.py) joins processes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

LogListener = Callable[[int], None]
EphemeralListener = Callable[[dict[str, Any]], Awaitable[None]]


class Bus:
    """In-process bus: notices go straight to this process's listeners."""

    def __init__(self) -> None:
        self._log_listeners: list[LogListener] = []
        self._ephemeral_listeners: list[EphemeralListener] = []

    async def start(self) -> None:
        """Connect to the transport, if any."""

    async def stop(self) -> None:
        """Disconnect from the transport, if any."""

    async def publish(self, event_ids: Sequence[int]) -> None:
        """Called after a commit that appended ``event_ids``."""
        if event_ids:
            self._wake(max(event_ids))

    async def publish_ephemeral(self, message: dict[str, Any]) -> None:
        await self._deliver_ephemeral(message)

    def on_log(self, listener: LogListener) -> None:
        self._log_listeners.append(listener)

    def on_ephemeral(self, listener: EphemeralListener) -> None:
        self._ephemeral_listeners.append(listener)

    def _wake(self, head: int) -> None:
        for listener in list(self._log_listeners):
            listener(head)

    async def _deliver_ephemeral(self, message: dict[str, Any]) -> None:
        for listener in list(self._ephemeral_listeners):
            try:
                await listener(message)
            except Exception:  # one broken listener must not stop the others
                log.exception("ephemeral listener failed")


LocalBus = Bus
