"""The bus: tells listeners (WebSocket gateways) which log positions were committed.

In-process by default. The bus carries only event ids; listeners read the rows
(and render them with the one serializer), so live push and ``sync`` can never
disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[int]], Awaitable[None]]


class Bus:
    async def publish(self, event_ids: Sequence[int]) -> None:
        raise NotImplementedError

    def subscribe(self, listener: Listener) -> None:
        raise NotImplementedError

    def unsubscribe(self, listener: Listener) -> None:
        raise NotImplementedError


class LocalBus(Bus):
    """Delivers to listeners in this process."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.published: int = 0

    async def publish(self, event_ids: Sequence[int]) -> None:
        self.published += len(event_ids)
        for listener in list(self._listeners):
            try:
                await listener(event_ids)
            except Exception:  # one broken listener must not stop the others
                log.exception("bus listener failed")

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
