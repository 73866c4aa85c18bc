"""Several server processes on one PostgreSQL, joined by Redis: a message sent
through one process reaches a WebSocket held by another, also while Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import require_service
from tests.live import free_port

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("PARTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WAIT = 20.0


async def _redis_reachable() -> str | None:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
        return None
    except Exception as exc:
        return f"Redis at {REDIS_URL} is unreachable: {exc!r}"
    finally:
        await client.aclose()


@pytest.fixture
async def redis_url() -> str:
    require_service(await _redis_reachable())
    return REDIS_URL


class TcpCut:
    """A TCP forwarder in front of Redis that the test can cut and restore."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.is_open = True
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> TcpCut:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()

    def cut(self) -> None:
        self.is_open = False
        for writer in list(self._writers):
            writer.close()

    def restore(self) -> None:
        self.is_open = True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.is_open:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self._writers.discard(writer)


@asynccontextmanager
async def process(env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "parta",
        "serve",
        "--port",
        str(port),
        "--no-upgrade",
        cwd=ROOT,
        env=os.environ | env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=WAIT)
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/api/v1/health")).status_code == 200:
                    break
            assert proc.returncode is None, "server exited early"
            await asyncio.sleep(0.1)
        yield client
    finally:
        await client.aclose()
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        await proc.wait()


async def sign_in(client: httpx.AsyncClient, data_dir: Path, phone: str, name: str) -> dict[str, Any]:
    assert (await client.post("/api/v1/auth/code", json={"phone": phone})).status_code == 200
    lines = [json.loads(x) for x in (data_dir / "otp.log").read_text().splitlines()]
    code = [x["code"] for x in lines if x["phone"] == phone][-1]
    body = (await client.post("/api/v1/auth/token", json={"phone": phone, "code": code})).json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    await client.patch("/api/v1/me", json={"first_name": name, "last_name": "Тестова"}, headers=headers)
    return {"id": body["user"]["id"], "token": body["token"], "headers": headers}


async def open_ws(client: httpx.AsyncClient, token: str) -> ClientConnection:
    url = str(client.base_url).replace("http://", "ws://") + "/api/v1/ws"
    ws = await connect(url, open_timeout=WAIT)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await ws.recv())["type"] == "ready"
    return ws


async def messages(ws: ClientConnection, count: int) -> list[int]:
    """Ids of the next ``count`` created messages (a frame may carry several)."""
    ids: list[int] = []
    while len(ids) < count:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT))
        if frame["type"] == "events":
            ids += [e["data"]["message"]["id"] for e in frame["events"] if e["type"] == "message.created"]
    return ids


@asynccontextmanager
async def two_processes(
    pg_database_url: str, redis_url: str, tmp_path: Path, *, poll_seconds: float
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, TcpCut, Path]]:
    redis_port = httpx.URL(redis_url.replace("redis://", "http://")).port or 6379
    data_dir = tmp_path / "shared"
    async with TcpCut(redis_port) as cut:
        env = {
            "PARTA_DATABASE_URL": pg_database_url.replace("+asyncpg", ""),
            "PARTA_DATA_DIR": str(data_dir),
            "PARTA_REDIS_URL": f"redis://127.0.0.1:{cut.port}/0",
            "PARTA_REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}:",
            "PARTA_CODE_PER_IP_PER_HOUR": "100000",
            "PARTA_RATE_LIMIT_SCALE": "1000",
            "PARTA_SECRET_KEY": "multi-process-test",
            "PARTA_TAIL_POLL_SECONDS": str(poll_seconds),
        }
        async with process(env) as a, process(env) as b:
            yield a, b, cut, data_dir


async def _class_chat(
    a: httpx.AsyncClient, b: httpx.AsyncClient, data_dir: Path
) -> tuple[dict[str, Any], dict[str, Any], int]:
    teacher = await sign_in(a, data_dir, "+79125550101", "Анна")
    parent = await sign_in(b, data_dir, "+79125550102", "Борис")
    body = {"kind": "group", "title": "5А", "member_ids": [parent["id"]]}
    chat = (await a.post("/api/v1/chats", json=body, headers=teacher["headers"])).json()
    return teacher, parent, int(chat["id"])


async def send(client: httpx.AsyncClient, user: dict[str, Any], chat_id: int, text: str) -> int:
    body = {"text": text, "client_msg_id": uuid.uuid4().hex}
    response = await client.post(f"/api/v1/chats/{chat_id}/messages", json=body, headers=user["headers"])
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_message_through_one_process_reaches_a_socket_on_another(
    pg_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # Polling is set to 60 s, so arrival within WAIT can only come from the Redis wake-up.
    async with two_processes(pg_database_url, redis_url, tmp_path, poll_seconds=60) as (a, b, _, data_dir):
        teacher, parent, chat_id = await _class_chat(a, b, data_dir)
        ws = await open_ws(b, parent["token"])
        for text in ("через Redis", "и ещё одно"):
            sent = await send(a, teacher, chat_id, text)
            assert await messages(ws, 1) == [sent]


async def test_redis_outage_delays_delivery_but_loses_nothing(
    pg_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with two_processes(pg_database_url, redis_url, tmp_path, poll_seconds=0.5) as (a, b, cut, data_dir):
        teacher, parent, chat_id = await _class_chat(a, b, data_dir)
        ws = await open_ws(b, parent["token"])
        cut.cut()
        during = [await send(a, teacher, chat_id, f"без Redis {i}") for i in range(3)]
        assert await messages(ws, 3) == during
        cut.restore()
        after = await send(a, teacher, chat_id, "Redis вернулся")
        assert await messages(ws, 1) == [after]
