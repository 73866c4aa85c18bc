"""A TCP proxy on 127.0.0.1 that makes the link between clients and the server bad.

It forwards bytes unchanged (HTTP and WebSocket alike) and, drawing from a seeded
RNG, drops connections (both sides aborted, as when a phone changes cell towers)
and stalls them (forwarding paused, as on a congested mobile link). Chaos is rolled
per forwarded chunk and per connection per unit of time. ``calm()`` switches it off
so that a test run can converge::

    async with ChaosProxy(server_port, Chaos(drop_per_chunk=0.05), seed=1) as proxy:
        client = PartaClient(proxy.base_url, token=token)
        ...
        proxy.calm()
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from types import TracebackType


@dataclass(frozen=True)
class Chaos:
    drop_per_chunk: float = 0.0
    stall_per_chunk: float = 0.0
    drop_per_second: float = 0.0  # per connection
    stall_per_second: float = 0.0  # per connection
    stall_seconds: tuple[float, float] = (0.05, 1.0)


CALM = Chaos()


@dataclass
class Stats:
    connections: int = 0
    drops: int = 0
    stalls: int = 0


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client side and the upstream (server) side."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    paused_until: float = 0.0
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.resumed.set()

    def abort(self) -> None:
        # abort(), not close(): no FIN handshake, the peers see the link vanish.
        self.client.transport.abort()
        self.upstream.transport.abort()


class ChaosProxy:
    def __init__(self, target_port: int, chaos: Chaos, *, seed: int, tick: float = 0.1) -> None:
        self.target_port = target_port
        self.chaos = chaos
        self.stats = Stats()
        self._rng = random.Random(seed)
        self._tick = tick
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ChaosProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ticker = asyncio.create_task(self._tick_loop())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None and self._ticker is not None
        self._server.close()
        self._ticker.cancel()
        for link in list(self._links):
            link.abort()
        tasks = [task for link in self._links for task in link.tasks] + [self._ticker]
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    def calm(self) -> None:
        """No more drops or stalls; stalled links resume at once."""
        self.chaos = CALM
        for link in self._links:
            link.resumed.set()

    def unleash(self, chaos: Chaos) -> None:
        self.chaos = chaos

    def _roll(self, probability: float) -> bool:
        return probability > 0 and self._rng.random() < probability

    def _drop(self, link: _Link) -> None:
        self.stats.drops += 1
        link.abort()

    def _stall(self, link: _Link) -> None:
        self.stats.stalls += 1
        now = asyncio.get_running_loop().time()
        link.paused_until = max(link.paused_until, now + self._rng.uniform(*self.chaos.stall_seconds))
        link.resumed.clear()  # the ticker sets it again once paused_until has passed

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:  # the server is down: the client sees a closed connection
            writer.transport.abort()
            return
        self.stats.connections += 1
        link = _Link(writer, up_writer)
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, up_writer)),
            asyncio.create_task(self._pump(link, up_reader, writer)),
        ]
        try:
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            self._links.discard(link)

    async def _pump(self, link: _Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Forward one direction; when either side ends, the whole link ends."""
        try:
            while data := await source.read(65536):
                if self._roll(self.chaos.drop_per_chunk):
                    self._drop(link)
                    return
                if self._roll(self.chaos.stall_per_chunk):
                    self._stall(link)
                await link.resumed.wait()
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            for writer in (link.client, link.upstream):
                with contextlib.suppress(Exception):
                    writer.close()

    async def _tick_loop(self) -> None:
        """Time-based chaos: links that are idle (a WebSocket waiting for events) fail too."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._tick)
            for link in list(self._links):
                if loop.time() >= link.paused_until:
                    link.resumed.set()
                if self._roll(self.chaos.drop_per_second * self._tick):
                    self._drop(link)
                elif self._roll(self.chaos.stall_per_second * self._tick):
                    self._stall(link)
