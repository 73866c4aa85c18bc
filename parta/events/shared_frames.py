"""WebSocket frames built once and written to many connections.

When one group message goes to 1,000 connected devices, the text of the ``events``
frame is the same for all of them. Serializing and compressing it once per connection
was the biggest cost of live delivery (docs/performance.md). This module lets the
server do that work once per frame:

- ``SharedFrame`` is a text message plus its finished wire bytes (WebSocket header and
  payload, compressed or not), cached per kind of connection.
- ``SharedFrameProtocol`` is uvicorn's sans-I/O WebSocket protocol with three changes:

  1. permessage-deflate is negotiated with ``server_no_context_takeover``, so every
     message the server sends is compressed on its own, from an empty window. Its
     compressed bytes then depend only on the text and the compression parameters,
     never on what the connection sent before, and are valid on every connection that
     negotiated the same parameters (RFC 7692, section 7.1.1.1);
  2. an ASGI ``websocket.send`` message may carry a ``SharedFrame`` under the extra key
     ``SHARED_FRAME``. The protocol then writes the cached bytes, building them on
     first use. A server that does not know the key sends the message's ``text``, so
     the application works on any ASGI server;
  3. the ASGI scope offers ``write_now`` under ``scope["extensions"][SHARED_FRAMES]``:
     a plain function that writes shared frames at once when the socket takes data
     without waiting, and otherwise says so. The hub uses it to hand a batch to 1,000
     idle connections without waking 1,000 tasks.

Connections that did not negotiate deflate share the uncompressed frame. What the
client may do (client context takeover, its own window size) is unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from uvicorn._types import ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.extensions import Extension
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State

# The extra key of a ``websocket.send`` message that carries a SharedFrame.
SHARED_FRAME = "parta.shared_frame"
# The ASGI scope extension that offers ``write_now``.
SHARED_FRAMES = "parta.shared_frames"

# The server's deflate parameters: uvicorn's own (a 4 KiB window, memLevel 5), plus
# server_no_context_takeover. They are the same for every connection, so two
# connections' deflated frames differ only if a client asked for a smaller window.
SERVER_MAX_WINDOW_BITS = 12
CLIENT_MAX_WINDOW_BITS = 12
COMPRESS_SETTINGS = {"memLevel": 5}

PLAIN = 0  # the cache key of the uncompressed frame

WriteNow = Callable[[Sequence["SharedFrame"]], bool]


class SharedFrame:
    """One text message for any number of connections; its wire bytes are built at most
    once per kind of connection (plain, or deflate with a given window)."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._wire: dict[int, bytes] = {}

    def wire(self, key: int, build: Callable[[bytes], bytes]) -> bytes:
        data = self._wire.get(key)
        if data is None:
            data = self._wire[key] = build(self.text.encode())
        return data


def shared_frame_key(extensions: Sequence[Extension]) -> int | None:
    """What the wire bytes of a frame depend on for a connection with these extensions:
    ``PLAIN``, the deflate window bits, or None when the frame cannot be shared (deflate
    with context takeover, or an unknown extension)."""
    if not extensions:
        return PLAIN
    if len(extensions) == 1:
        deflate = extensions[0]
        if isinstance(deflate, PerMessageDeflate) and deflate.local_no_context_takeover:
            return deflate.local_max_window_bits
    return None


def write_now_of(scope: Mapping[str, Any]) -> WriteNow | None:
    """The protocol's ``write_now`` for this connection, if the server offers it."""
    offered = scope.get("extensions", {}).get(SHARED_FRAMES)
    return cast(WriteNow, offered["write_now"]) if offered else None


class SharedFrameProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, with shared frames (see the module doc)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if config.ws_per_message_deflate:
            # Replaces the factory uvicorn configured: the same parameters, and the
            # server never keeps its compression context between messages.
            self.conn.available_extensions = [
                ServerPerMessageDeflateFactory(
                    server_no_context_takeover=True,
                    server_max_window_bits=SERVER_MAX_WINDOW_BITS,
                    client_max_window_bits=CLIENT_MAX_WINDOW_BITS,
                    compress_settings=COMPRESS_SETTINGS,
                )
            ]
        self.shared_key: int | None = None

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)  # negotiates the extensions, builds the scope
        if self.response.status_code != 101:
            return  # refused handshake: no scope, no application
        self.shared_key = shared_frame_key(self.conn.extensions)
        if self.shared_key is not None:
            # The application task was only created, it has not run: it sees this.
            self.scope.setdefault("extensions", {})[SHARED_FRAMES] = {"write_now": self.write_now}

    def write_now(self, frames: Sequence[SharedFrame]) -> bool:
        """Write these frames at once, in order, if the socket is open and its buffer
        below the high-water mark (one batch may take it past the mark; the next write
        then waits). False, writing nothing, when the caller must wait: queue the
        frames and send them through ASGI ``send``, which waits and times out.
        """
        key = self.shared_key
        if key is None or self.disconnected or not self.writable.is_set() or not self._open_for_data():
            return False
        if len(frames) == 1:
            self.transport.write(frames[0].wire(key, self._serialize))
        else:
            self.transport.writelines([frame.wire(key, self._serialize) for frame in frames])
        return True

    async def send(self, message: ASGISendEvent) -> None:
        shared = cast(Mapping[str, object], message).get(SHARED_FRAME)
        if isinstance(shared, SharedFrame) and self.shared_key is not None:
            await self.writable.wait()
            if self.disconnected:
                raise ClientDisconnected()
            if self.write_now((shared,)):
                return
        # Anything else, including a shared frame on a connection that is closing
        # (uvicorn raises the right error for that), takes uvicorn's own path.
        await super().send(message)

    def _open_for_data(self) -> bool:
        return (
            self.handshake_complete
            and self.initial_response is None
            and not self.close_sent
            and self.conn.state is State.OPEN
            and not self.conn.expect_continuation_frame
        )

    def _serialize(self, data: bytes) -> bytes:
        """A complete server-to-client text frame for this kind of connection.

        This connection's own deflate extension is used: without context takeover it
        keeps no state between messages, so the result is what any connection with the
        same parameters would produce. Compression is kept only when it saves bytes; an
        uncompressed message (RSV1 unset) is always allowed (RFC 7692, section 6).
        """
        frame = Frame(Opcode.TEXT, data)
        plain = frame.serialize(mask=False)
        if self.shared_key == PLAIN:
            return plain
        compressed = frame.serialize(mask=False, extensions=self.conn.extensions)
        return compressed if len(compressed) < len(plain) else plain
