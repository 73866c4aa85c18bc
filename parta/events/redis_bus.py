"""Redis pub/sub between server processes.

Two channels: ``parta:log`` carries the newest committed event id (a wake-up for
tailers) and ``parta:ephemeral`` carries typing and presence signals. If Redis is
unreachable, publishing is skipped with a warning and the subscriber keeps
reconnecting; tailers fall back to polling the log, so no event is lost, only delayed.
While the subscription is down the bus wakes this process's tailer at every reconnect
attempt (each ``RECONNECT_DELAY``), since no notice from another process can arrive.
A restarted Redis has forgotten every subscription: the subscriber subscribes again
when it reconnects, and a publish on a connection the restart broke is sent again
once on a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Sequence
from typing import Any

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from parta.events.bus import Bus

log = logging.getLogger(__name__)

LOG_CHANNEL = "parta:log"
EPHEMERAL_CHANNEL = "parta:ephemeral"
RECONNECT_DELAY = 1.0


class RedisBus(Bus):
    def __init__(self, url: str, *, prefix: str = "") -> None:
        super().__init__()
        self.url = url
        self.log_channel = prefix + LOG_CHANNEL
        self.ephemeral_channel = prefix + EPHEMERAL_CHANNEL
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._client = redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._reader: asyncio.Task[None] | None = None
        self.is_subscribed = asyncio.Event()
        self._outage_logged = False

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._client.aclose()

    async def publish(self, event_ids: Sequence[int]) -> None:
        if not event_ids:
            return
        head = max(event_ids)
        self._wake(head)  # this process need not wait for the round trip
        await self._send(self.log_channel, json.dumps({"head": head, "origin": self.origin}))

    async def publish_ephemeral(self, message: dict[str, Any]) -> None:
        await self._deliver_ephemeral(message)
        await self._send(self.ephemeral_channel, json.dumps({"origin": self.origin, "message": message}))

    async def _send(self, channel: str, data: str) -> None:
        # After a Redis restart the pooled connections are dead and a publish on one
        # fails. So while the subscriber finds Redis up, a failed publish drops the pool's
        # connections and is sent once more, on a new one; during an outage it is not
        # (each attempt may wait for the connect timeout).
        attempts = 2 if self.is_subscribed.is_set() else 1
        for attempt in range(1, attempts + 1):
            try:
                await self._client.publish(channel, data)
                return
            except (RedisConnectionError, OSError) as exc:
                if attempt == attempts:
                    log.warning("redis publish failed (tailers fall back to polling): %s", exc)
                else:
                    await self._client.connection_pool.disconnect(inuse_connections=False)
            except RedisError as exc:
                log.warning("redis publish failed (tailers fall back to polling): %s", exc)
                return

    async def _read_forever(self) -> None:
        while True:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.is_subscribed.clear()
                # Once per outage, not every second of it; _read logs the return.
                level = logging.DEBUG if self._outage_logged else logging.WARNING
                log.log(level, "redis subscription lost, retrying every %.0fs: %s", RECONNECT_DELAY, exc)
                self._outage_logged = True
                # No other process's notice can reach us now: poll the log at this pace.
                self._wake(0)
                await asyncio.sleep(RECONNECT_DELAY)

    async def _read(self) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.log_channel, self.ephemeral_channel)
            if self._outage_logged:
                log.info("redis subscription restored")
                self._outage_logged = False
            self.is_subscribed.set()
            # Events committed while we were not subscribed are found by the next read.
            self._wake(0)
            while True:
                item = await pubsub.get_message(timeout=5.0)
                if item is not None:
                    await self._handle(item)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _handle(self, item: dict[str, Any]) -> None:
        channel = item["channel"].decode() if isinstance(item["channel"], bytes) else item["channel"]
        body = json.loads(item["data"])
        if body.get("origin") == self.origin:
            return
        if channel == self.log_channel:
            self._wake(int(body["head"]))
        elif channel == self.ephemeral_channel:
            await self._deliver_ephemeral(body["message"])
