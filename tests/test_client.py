"""parta.client against a real server process (SQLite and PostgreSQL), and its retry
rules against a scripted transport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.server import ServerConnection, serve

from parta.client import Backoff, Json, PartaApiError, PartaClient
from tests.servers import Receiver, ServerProcess, running_server, wait_for

FAST = Backoff(base=0.001, cap=0.002, attempts=5, deadline=None)


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    async with running_server(database_url, tmp_path / "server") as running:
        yield running


async def test_message_from_one_client_arrives_at_another(server: ServerProcess) -> None:
    teacher_id, teacher_token = await server.sign_up("+79125550001", "Ольга")
    pupil_id, pupil_token = await server.sign_up("+79125550002", "Петя")
    ephemeral: list[Json] = []
    async with PartaClient(server.base_url, token=teacher_token) as teacher:
        chat = await teacher.create_chat("group", "5А", [pupil_id])
        pupil = Receiver(PartaClient(server.base_url, token=pupil_token, on_ephemeral=ephemeral.append), None)
        await wait_for(lambda: pupil.client.is_connected, what="the pupil's connection")
        sent = await teacher.send_message(chat["id"], "Собрание в 18:00")
        await pupil.wait_for(lambda r: r.message_ids(chat["id"]) == [sent["id"]], "the message")

        typist = Receiver(teacher, None)  # shares the teacher's session
        await wait_for(lambda: teacher.is_connected, what="the teacher's connection")
        await teacher.send_typing(chat["id"])
        await wait_for(lambda: {"type": "typing", "chat_id": chat["id"], "user_id": teacher_id} in ephemeral)
        await typist.stop()
    assert {"type": "presence", "user_id": teacher_id, "online": True} in ephemeral
    await pupil.stop()
    assert [i["data"]["message"]["text"] for i in pupil.items] == ["Собрание в 18:00"]
    assert pupil.client.last_event_id == pupil.items[-1]["id"]


async def test_retried_send_returns_the_same_message(server: ServerProcess) -> None:
    _, token = await server.sign_up("+79125550001", "Ольга")
    async with PartaClient(server.base_url, token=token) as client:
        chat = await client.create_chat("group", "5А", [])
        first = await client.send_message(chat["id"], "Привет", client_msg_id="abc")
        again = await client.send_message(chat["id"], "Привет", client_msg_id="abc")
        assert again == first
        history = await client.history(chat["id"])
        assert [m["id"] for m in history["messages"]] == [first["id"]]
        assert (await client.history(chat["id"], after=first["id"]))["messages"] == []


async def test_concurrent_retries_of_one_send_store_it_once(server: ServerProcess) -> None:
    # A retry that times out while the first attempt is still running overlaps it.
    _, token = await server.sign_up("+79125550001", "Ольга")
    async with PartaClient(server.base_url, token=token) as client:
        chat = await client.create_chat("group", "5А", [])
        sends = [client.send_message(chat["id"], "Привет", client_msg_id="same") for _ in range(8)]
        answers = await asyncio.gather(*sends)
        assert len({m["id"] for m in answers}) == 1
        assert len((await client.history(chat["id"]))["messages"]) == 1


async def test_client_errors_raise_typed_errors(server: ServerProcess) -> None:
    _, token = await server.sign_up("+79125550001", "Ольга")
    async with PartaClient(server.base_url, token=token) as client:
        chat = await client.create_chat("group", "5А", [])
        with pytest.raises(PartaApiError) as missing:
            await client.send_message(chat["id"] + 1000, "Привет")
        assert (missing.value.status, missing.value.code) == (404, "chat_not_found")
        with pytest.raises(PartaApiError) as too_long:
            await client.send_message(chat["id"], "я" * 5000)
        assert (too_long.value.status, too_long.value.code) == (400, "text_too_long")
        with pytest.raises(PartaApiError) as wrong_code:
            await client.sign_in("+79125550001", "000000")
        assert wrong_code.value.code == "code_invalid"
        await client.request_code("+79125550003")
        with pytest.raises(PartaApiError) as too_soon:
            await client.request_code("+79125550003")
        assert too_soon.value.code == "rate_limited" and too_soon.value.retry_after


async def test_events_with_a_wrong_token_raise_not_authenticated(server: ServerProcess) -> None:
    async def consume() -> None:
        async with PartaClient(server.base_url, token="wrong") as client:
            async for _ in client.events(since=0):
                pass

    with pytest.raises(PartaApiError) as refused:
        await asyncio.wait_for(consume(), timeout=30)
    assert (refused.value.status, refused.value.code) == (401, "not_authenticated")
    async with PartaClient(server.base_url, token="wrong") as client:
        with pytest.raises(PartaApiError) as http_refused:
            await client.me()
        assert http_refused.value.status == 401


async def test_events_end_with_not_authenticated_when_the_session_is_revoked(server: ServerProcess) -> None:
    _, token = await server.sign_up("+79125550001", "Ольга")
    receiver = Receiver(PartaClient(server.base_url, token=token), None)
    await wait_for(lambda: receiver.client.is_connected, what="the connection")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", headers=headers) as http:
        sessions = (await http.get("/sessions")).json()["sessions"]
        assert (await http.delete(f"/sessions/{sessions[0]['id']}")).status_code == 204
    with pytest.raises(PartaApiError) as signed_out:
        await asyncio.wait_for(receiver.task, timeout=30)
    assert (signed_out.value.status, signed_out.value.code) == (401, "not_authenticated")
    await receiver.client.aclose()


async def test_sync_follows_pages_and_reports_reset(server: ServerProcess) -> None:
    _, token = await server.sign_up("+79125550001", "Ольга")
    async with PartaClient(server.base_url, token=token) as client:
        start = (await client.me())["last_event_id"]
        chat = await client.create_chat("group", "5А", [])
        sent = [await client.send_message(chat["id"], f"№{i}") for i in range(3)]
        events, position = await client.sync(start)
        created = [e["data"]["message"]["id"] for e in events if e["type"] == "message.created"]
        assert created == [m["id"] for m in sent]
        assert position == events[-1]["id"]
        assert await client.sync(position) == ([], position)
        assert await client.sync(10**9) == ([{"type": "reset", "next": position}], position)


async def test_events_yield_a_reset_for_an_unknown_position(server: ServerProcess) -> None:
    _, token = await server.sign_up("+79125550001", "Ольга")
    client = PartaClient(server.base_url, token=token)
    head = (await client.me())["last_event_id"]
    receiver = Receiver(client, 10**9)
    await receiver.wait_for(lambda r: len(r.items) == 1, "the reset")
    assert receiver.items == [{"type": "reset", "next": head}]
    assert client.last_event_id == head
    await receiver.stop()


# Retry rules, with a scripted transport (no server needed).

Step = Callable[[httpx.Request], httpx.Response]


def scripted(steps: list[Step], seen: list[Json]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return steps.pop(0)(request)

    return httpx.MockTransport(handle)


def answer(status: int, body: Json) -> Step:
    return lambda request: httpx.Response(status, json=body)


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def error(status: int, code: str, **extra: object) -> Step:
    return answer(status, {"error": {"code": code, "message": "…", **extra}})


async def test_send_retries_transport_errors_and_5xx_with_one_client_msg_id() -> None:
    seen: list[Json] = []
    steps = [refuse, error(503, "internal_error"), answer(502, {}), error(429, "rate_limited", retry_after=0)]
    steps.append(answer(201, {"id": 7}))
    async with PartaClient("http://parta.test", token="t", transport=scripted(steps, seen)) as client:
        assert await client.send_message(1, "Привет", retries=FAST) == {"id": 7}
    assert len(seen) == 5 and len({s["client_msg_id"] for s in seen}) == 1


async def test_send_does_not_retry_client_errors() -> None:
    seen: list[Json] = []
    steps = [error(403, "forbidden", reason="channel_read_only")]
    async with PartaClient("http://parta.test", token="t", transport=scripted(steps, seen)) as client:
        with pytest.raises(PartaApiError) as denied:
            await client.send_message(1, "Привет", client_msg_id="k1", retries=FAST)
    assert (denied.value.status, denied.value.code) == (403, "forbidden")
    assert seen == [{"client_msg_id": "k1", "text": "Привет"}]


async def test_send_gives_up_after_its_attempts() -> None:
    seen: list[Json] = []
    steps: list[Step] = [refuse] * 5
    async with PartaClient("http://parta.test", token="t", transport=scripted(steps, seen)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.send_message(1, "Привет", retries=FAST)
    assert len(seen) == 5


# The event stream's reconnect rules, against a scripted WebSocket server.


def events_frame(*ids: int) -> Json:
    return {"type": "events", "events": [{"id": i, "type": "message.created"} for i in ids], "next": ids[-1]}


def ready(head: int) -> Json:
    return {"type": "ready", "user_id": 1, "session_id": 1, "head": head}


SCRIPT: list[tuple[list[Json], int]] = [
    ([ready(10), events_frame(11, 12)], 1012),  # server restarting
    ([ready(12), events_frame(12, 13), {"type": "typing", "chat_id": 1, "user_id": 2}], 4008),  # too slow
    ([ready(13), {"type": "reset", "next": 20}], 4009),  # idle
    ([ready(20), events_frame(19, 21, 20, 22)], 1000),  # ids that went backwards are dropped
    ([{"type": "error", "error": {"code": "not_authenticated", "message": "…"}}], 4001),
]


async def test_events_resume_after_every_close_and_yield_each_id_once() -> None:
    auths: list[Json] = []

    async def handler(ws: ServerConnection) -> None:
        auths.append(json.loads(await ws.recv()))
        frames, code = SCRIPT[len(auths) - 1]
        for frame in frames:
            await ws.send(json.dumps(frame))
        await ws.close(code)

    ephemeral: list[Json] = []
    got: list[Json] = []
    async with serve(handler, "127.0.0.1", 0) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        async with PartaClient(url, token="t", backoff=FAST, on_ephemeral=ephemeral.append) as client:
            with pytest.raises(PartaApiError) as refused:
                async for item in client.events(since=10):
                    got.append(item)
    assert refused.value.status == 401
    assert [i.get("id", i) for i in got] == [11, 12, 13, {"type": "reset", "next": 20}, 21, 22]
    assert [a["since"] for a in auths] == [10, 12, 13, 20, 22]
    assert ephemeral == [{"type": "typing", "chat_id": 1, "user_id": 2}]
