"""The WebSocket gateway through real sockets: catch-up, live delivery, access, limits."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import zlib
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.extensions import Extension
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate
from websockets.frames import Frame
from websockets.typing import ExtensionParameter

from parta.events.gateway import Batch, Connection, Limits
from parta.events.shared_frames import SHARED_FRAMES, SharedFrame
from parta.events.tailer import Delivered
from tests.client import Api, Factory, TestUser
from tests.live import live_server

# Generous guards against hangs; never assertions about speed.
WAIT = 15.0


async def open_ws(api: Api, user: TestUser, since: int | None = None, **options: Any) -> ClientConnection:
    ws = await connect(api.ws_url, open_timeout=WAIT, **options)
    frame: dict[str, Any] = {"type": "auth", "token": user.token}
    if since is not None:
        frame["since"] = since
    await ws.send(json.dumps(frame))
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    return ws


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT)))


async def events(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    """The next ``count`` log events (ephemeral frames are skipped)."""
    got: list[dict[str, Any]] = []
    while len(got) < count:
        frame = await recv(ws)
        if frame["type"] == "events":
            assert frame["next"] == frame["events"][-1]["id"]
            got.extend(frame["events"])
    return got


async def test_live_message_reaches_every_device_of_every_member(live: Api, mk: Factory) -> None:
    teacher, parent = await mk.users(2)
    chat = await mk.chat(teacher, [parent])
    phone, laptop = await open_ws(live, parent), await open_ws(live, parent)
    own = await open_ws(live, teacher)
    msg = await mk.message(teacher, chat["id"], "Завтра контрольная")
    for ws in (phone, laptop, own):
        [event] = await events(ws, 1)
        assert event["type"] == "message.created"
        assert event["data"]["message"] == {k: v for k, v in msg.items() if k != "read_by"}
    sync = await live.as_(parent).sync(event["id"] - 1)
    assert sync == [event]  # same object as sync returns


async def test_catch_up_then_live_in_order_without_duplicates(live: Api, mk: Factory) -> None:
    teacher, parent = await mk.users(2)
    chat = await mk.chat(teacher, [parent])
    since = await live.as_(parent).last_event_id()
    missed = [(await mk.message(teacher, chat["id"], f"пропущено {i}"))["id"] for i in range(5)]
    ws = await open_ws(live, parent, since=since)
    fresh = (await mk.message(teacher, chat["id"], "новое"))["id"]
    got = await events(ws, 6)
    assert [e["data"]["message"]["id"] for e in got] == [*missed, fresh]
    ids = [e["id"] for e in got]
    assert ids == sorted(set(ids))


async def test_wrong_token_is_refused(live: Api) -> None:
    ws = await connect(live.ws_url, open_timeout=WAIT)
    await ws.send(json.dumps({"type": "auth", "token": "nonsense"}))
    error = await recv(ws)
    assert error["type"] == "error" and error["error"]["code"] == "not_authenticated"
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout=WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_first_frame_must_be_auth(live: Api) -> None:
    ws = await connect(live.ws_url, open_timeout=WAIT)
    await ws.send("not json")
    assert (await recv(ws))["error"]["code"] == "invalid_request"
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout=WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000


async def test_revoked_session_is_disconnected(live: Api, mk: Factory) -> None:
    anna = await mk.user()
    ws = await open_ws(live, anna)
    sessions = (await live.as_(anna).get("/api/v1/sessions")).json()["sessions"]
    assert (await live.as_(anna).delete(f"/api/v1/sessions/{sessions[0]['id']}")).status_code == 204
    frames = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            frames.append(await recv(ws))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    assert frames[-1]["type"] == "error"


async def test_left_chat_stops_delivering(live: Api, mk: Factory) -> None:
    teacher, parent = await mk.users(2)
    chat = await mk.chat(teacher, [parent])
    ws = await open_ws(live, parent)
    await live.as_(parent).delete(f"/api/v1/chats/{chat['id']}/members/{parent.id}")
    got = await events(ws, 1)
    assert [e["type"] for e in got] == ["chat.removed"]
    await mk.message(teacher, chat["id"], "секрет после ухода")
    other = await mk.chat(teacher, [parent], title="Другой")
    later = await events(ws, 1)
    assert later[0]["type"] == "chat.created" and later[0]["chat_id"] == other["id"]


async def test_ping_pong_and_idle_timeout(database_url: str, tmp_path: Path) -> None:
    async with live_server(database_url=database_url, data_dir=tmp_path / "d", ws_idle_timeout=0.5) as api:
        user = await Factory(api).user()
        ws = await open_ws(api, user)
        await ws.send(json.dumps({"type": "ping"}))
        assert await recv(ws) == {"type": "pong"}
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=WAIT)  # silent client
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4009


async def test_client_too_far_behind_gets_reset(database_url: str, tmp_path: Path) -> None:
    async with live_server(database_url=database_url, data_dir=tmp_path / "d", sync_reset_after=3) as api:
        make = Factory(api)
        teacher, parent = await make.users(2)
        chat = await make.chat(teacher, [parent])
        since = await api.as_(parent).last_event_id()
        for i in range(5):
            await make.message(teacher, chat["id"], f"m{i}")
        ws = await open_ws(api, parent, since=since)
        reset = await recv(ws)
        assert reset["type"] == "reset" and reset["next"] >= since + 5
        await make.message(teacher, chat["id"], "после сброса")
        [event] = await events(ws, 1)
        assert event["data"]["message"]["text"] == "после сброса"


async def test_typing_reaches_other_members_only(live: Api, mk: Factory) -> None:
    teacher, parent, outsider = await mk.users(3)
    chat = await mk.chat(teacher, [parent])
    t, p, o = await open_ws(live, teacher), await open_ws(live, parent), await open_ws(live, outsider)
    await o.send(json.dumps({"type": "typing", "chat_id": chat["id"]}))  # not a member: ignored
    await t.send(json.dumps({"type": "typing", "chat_id": chat["id"]}))
    frame = await recv(p)
    while frame["type"] == "presence":
        frame = await recv(p)
    assert frame == {"type": "typing", "chat_id": chat["id"], "user_id": teacher.id}
    await o.send(json.dumps({"type": "ping"}))
    frame = await recv(o)
    while frame["type"] == "presence":
        frame = await recv(o)
    assert frame == {"type": "pong"}  # nothing about the chat reached the outsider


async def test_a_flood_of_frames_is_closed_and_the_client_resumes(live: Api, mk: Factory) -> None:
    """Typing frames for thousands of chat ids (each would cost a membership lookup):
    past the inbound budget the socket is closed with 4029; the client reconnects
    and misses nothing."""
    teacher, parent = await mk.users(2)
    chat = await mk.chat(teacher, [parent])
    since = await live.as_(parent).last_event_id()
    ws = await open_ws(live, parent, since=since)
    with pytest.raises(ConnectionClosed) as closed:
        for chat_id in range(1, 5000):
            await ws.send(json.dumps({"type": "typing", "chat_id": chat_id}))
        await asyncio.wait_for(ws.recv(), timeout=WAIT)
        await asyncio.wait_for(ws.recv(), timeout=WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029
    await mk.message(teacher, chat["id"], "после потопа")
    again = await open_ws(live, parent, since=since)
    [event] = await events(again, 1)
    assert event["data"]["message"]["text"] == "после потопа"
    # An ordinary client's pace passes: a ping and a typing frame.
    await again.send(json.dumps({"type": "ping"}))
    assert await recv(again) == {"type": "pong"}


async def test_presence_is_told_to_people_sharing_a_chat(live: Api, mk: Factory) -> None:
    teacher, parent, stranger = await mk.users(3)
    await mk.chat(teacher, [parent])
    p = await open_ws(live, parent)
    s = await open_ws(live, stranger)
    t = await open_ws(live, teacher)
    assert await recv(p) == {"type": "presence", "user_id": teacher.id, "online": True}
    await t.close()
    assert await recv(p) == {"type": "presence", "user_id": teacher.id, "online": False}
    await s.send(json.dumps({"type": "ping"}))
    assert await recv(s) == {"type": "pong"}


async def test_slow_reader_is_disconnected_and_resumes(database_url: str, tmp_path: Path) -> None:
    """A client that stops reading fills the socket; its queue overflows, the server drops
    it (4008) instead of buffering without bound, and it resumes with `since`."""
    # This client never reads and never writes after `auth`. On a loaded machine filling
    # the socket buffers (about 800 messages) can take over a minute; uvicorn's keepalive
    # (no pong within 40 s: 1011) or the idle timeout (nothing from the client for 60 s:
    # 4009) would then close it first, both right but not what is tested here. So no
    # pings, and a long idle timeout.
    settings = {"ws_queue_limit": 3, "ws_send_timeout": 1.0, "ws_idle_timeout": 600.0}
    async with live_server(
        database_url=database_url, data_dir=tmp_path / "d", ws_ping_interval=None, **settings
    ) as api:
        make = Factory(api)
        teacher, parent = await make.users(2)
        chat = await make.chat(teacher, [parent])
        since = await api.as_(parent).last_event_id()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", api.client.base_url.port or 80))
        # No client keepalive: a client that does not read cannot see the server's pong
        # either, and would give up after 20 s by itself if filling the buffers is slow.
        ws = await connect(api.ws_url, sock=sock, max_queue=1, open_timeout=WAIT, ping_interval=None)
        await ws.send(json.dumps({"type": "auth", "token": parent.token, "since": since}))
        assert (await recv(ws))["type"] == "ready"
        conn = next(iter(api.app.state.hub.connections[parent.id]))
        rng = random.Random(7)
        letters = "абвгдежзийклмнопрстуфхцчшщъыьэюя "
        sent: list[int] = []
        while conn.close_code is None and len(sent) < 3000:
            text = "".join(rng.choice(letters) for _ in range(3500))  # incompressible enough
            sent.append((await make.message(teacher, chat["id"], text))["id"])
        assert conn.close_code == 4008 and not conn.live  # dropped, memory released
        with pytest.raises(ConnectionClosed):
            while True:
                await recv(ws)
        resumed = await open_ws(api, parent, since=since)
        got = await events(resumed, len(sent))
        assert [e["data"]["message"]["id"] for e in got] == sent


async def test_permessage_deflate_is_negotiated(live: Api, mk: Factory) -> None:
    user = await mk.user()
    ws = await open_ws(live, user)
    assert any(type(ext).__name__ == "PerMessageDeflate" for ext in ws.protocol.extensions)


async def test_silent_client_is_closed_with_auth_timeout(database_url: str, tmp_path: Path) -> None:
    async with live_server(database_url=database_url, data_dir=tmp_path / "d", ws_auth_timeout=0.3) as api:
        ws = await connect(api.ws_url, open_timeout=WAIT)
        assert (await recv(ws))["type"] == "error"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=WAIT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002


async def test_member_added_while_connected_starts_receiving(live: Api, mk: Factory) -> None:
    teacher, parent, late = await mk.users(3)
    chat = await mk.chat(teacher, [parent])
    ws = await open_ws(live, late)
    await mk.message(teacher, chat["id"], "до добавления")  # warms the hub's member cache
    await live.as_(teacher).post(f"/api/v1/chats/{chat['id']}/members", json={"user_ids": [late.id]})
    after = await mk.message(teacher, chat["id"], "после добавления")
    got = await events(ws, 2)
    assert [e["type"] for e in got] == ["chat.member_added", "message.created"]
    assert got[1]["data"]["message"]["id"] == after["id"]


async def test_presence_is_not_broadcast_through_large_chats(live: Api, mk: Factory) -> None:
    teacher, parent = await mk.users(2)
    crowd = await mk.users(49)
    await mk.chat(teacher, [parent, *crowd], title="Вся параллель")  # 51 members
    p = await open_ws(live, parent)
    await open_ws(live, teacher)
    await p.send(json.dumps({"type": "ping"}))
    assert await recv(p) == {"type": "pong"}  # no presence frame came first


class WindowChecked(PerMessageDeflate):
    """Decodes like `websockets`, after checking that each compressed message refers back
    no further than the window the client allowed. zlib alone does not notice when it
    inflates a whole message at once, so a frame compressed for a bigger window would
    pass; inflating a few bytes at a time makes it use the window only."""

    def decode(self, frame: Frame, *, max_size: int | None = None) -> Frame:
        if frame.rsv1:
            strict = zlib.decompressobj(wbits=-self.remote_max_window_bits)
            data = bytes(frame.data) + b"\x00\x00\xff\xff"
            while data:
                strict.decompress(data, 16)  # zlib.error: invalid distance too far back
                data = strict.unconsumed_tail
        return super().decode(frame, max_size=max_size)


class WindowCheckedFactory(ClientPerMessageDeflateFactory):
    def process_response_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension]
    ) -> PerMessageDeflate:
        agreed = super().process_response_params(params, accepted_extensions)
        return WindowChecked(
            agreed.remote_no_context_takeover,
            agreed.local_no_context_takeover,
            agreed.remote_max_window_bits,
            agreed.local_max_window_bits,
            agreed.compress_settings,
        )


async def test_clients_with_any_compression_get_the_same_events(live: Api, mk: Factory) -> None:
    """The server compresses each frame once and writes the same bytes to every client
    that negotiated the same deflate parameters. Every kind of client must still decode
    exactly the events the others see."""
    teacher, *parents = await mk.users(5)
    chat = await mk.chat(teacher, parents)
    usual = WindowCheckedFactory(compress_settings={"memLevel": 5})  # what `websockets` offers
    phone = await open_ws(live, parents[0], compression=None, extensions=[usual])
    laptop = await open_ws(live, parents[1], compression=None, extensions=[usual])
    # A client that allows the server only a 512-byte window: it cannot share frames
    # compressed with the usual 4 KiB window.
    small = WindowCheckedFactory(server_max_window_bits=9, compress_settings={"memLevel": 5})
    tablet = await open_ws(live, parents[2], compression=None, extensions=[small])
    plain = await open_ws(live, parents[3], compression=None)

    for ws, window in ((phone, 12), (laptop, 12), (tablet, 9)):
        [deflate] = ws.protocol.extensions
        assert isinstance(deflate, PerMessageDeflate)
        assert deflate.remote_no_context_takeover  # the server's server_no_context_takeover
        assert deflate.remote_max_window_bits == window
    assert plain.protocol.extensions == []

    rng = random.Random(3)
    letters = "абвгдежзийклмнопрстуфхцчшщъыьэюя "
    block = "".join(rng.choice(letters) for _ in range(700))
    filler = "".join(rng.choice(letters) for _ in range(700))
    texts = ["Родительское собрание в четверг", block + filler + block, "Не забудьте сменную обувь"]
    sent = [await mk.message(teacher, chat["id"], text) for text in texts]

    received = [await events(ws, len(texts)) for ws in (phone, laptop, tablet, plain)]
    assert [e["data"]["message"]["id"] for e in received[0]] == [m["id"] for m in sent]
    assert [e["data"]["message"]["text"] for e in received[0]] == texts
    assert all(got == received[0] for got in received[1:])


class BackingUpSocket:
    """The server end of a WebSocket whose send buffer can fill up: the fast path
    (``write_now``) refuses while it is backed up, and ``send`` waits until it drains."""

    def __init__(self) -> None:
        self.drained = asyncio.Event()
        self.drained.set()
        self.arrived = asyncio.Event()
        self.frames: list[dict[str, Any]] = []
        self.scope = {"extensions": {SHARED_FRAMES: {"write_now": self.write_now}}}

    def write_now(self, frames: Sequence[SharedFrame]) -> bool:
        if not self.drained.is_set():
            return False
        for frame in frames:
            self._arrive(frame.text)
        return True

    async def send(self, message: dict[str, Any]) -> None:
        await self.drained.wait()
        self._arrive(message["text"])

    def _arrive(self, text: str) -> None:
        self.frames.append(json.loads(text))
        self.arrived.set()

    def event_ids(self) -> list[int]:
        return [e["id"] for frame in self.frames if frame["type"] == "events" for e in frame["events"]]

    async def until(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.event_ids()) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def test_events_keep_their_order_when_the_socket_backs_up() -> None:
    """Events that had to wait for a backed-up socket are not overtaken by later ones
    written at once, and none is dropped or repeated."""
    sock = BackingUpSocket()
    limits = Limits(
        auth_timeout=10, idle_timeout=60, send_timeout=WAIT, queue_limit=100, page_limit=500, reset_after=100
    )
    conn = Connection(sock, SimpleNamespace(limits=limits), user_id=1, session_id=1, since=None)
    sender = asyncio.create_task(conn.send_loop(head=0))

    def batch(event_id: int) -> Batch:
        return Batch((Delivered(event_id, "message.created", 1, None, {}, json.dumps({"id": event_id})),))

    await asyncio.sleep(0)  # the sender task starts and waits for work
    conn.offer(batch(1))  # the socket takes it at once
    sock.drained.clear()
    conn.offer(batch(2))  # has to wait: queued for the sender task
    sock.drained.set()  # the socket drains before the sender task runs
    conn.offer(batch(3))  # must not overtake 2
    await sock.until(3)
    conn.offer(batch(4))
    await sock.until(4)
    sender.cancel()
    assert sock.event_ids() == [1, 2, 3, 4]
