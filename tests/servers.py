"""A real ``parta serve`` subprocess that tests can kill (SIGKILL) and start again on
the same port, database and data dir; and signing people up through it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from parta.client import Json, PartaClient

ROOT = Path(__file__).resolve().parents[1]
# Guards against hangs only; never assertions about speed.
READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def plain_url(database_url: str) -> str:
    """The server picks its own driver; tests hand it ``sqlite:///`` or ``postgresql://``."""
    return database_url.replace("+asyncpg", "").replace("+aiosqlite", "")


class ServerProcess:
    def __init__(self, database_url: str, data_dir: Path, **env: str) -> None:
        self.database_url = plain_url(database_url)
        self.data_dir = data_dir
        self.port = free_port()
        self.env = os.environ | {
            "PARTA_DATABASE_URL": self.database_url,
            "PARTA_DATA_DIR": str(data_dir),
            "PARTA_CODE_PER_IP_PER_HOUR": "100000",
            "PARTA_RATE_LIMIT_SCALE": "1000",
        }
        self.env |= env
        self.process: asyncio.subprocess.Process | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        # A file, not a pipe: a full pipe would block a chatty server.
        return self.data_dir / "server.log"

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "parta", "serve", "--port", str(self.port)),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:
            while loop.time() < deadline:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"server exited early:\n{self.log_path.read_text()[-4000:]}")
                try:
                    if (await client.get("/api/v1/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        raise AssertionError("server did not become ready")

    async def kill(self) -> None:
        """SIGKILL: no graceful shutdown, as in a crash or an OOM kill."""
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.kill()
        await asyncio.wait_for(self.process.wait(), timeout=30)

    async def restart(self) -> None:
        await self.kill()
        await self.start()

    def code_for(self, phone: str) -> str:
        """The newest sign-in code the development sender wrote for this phone."""
        for line in reversed((self.data_dir / "otp.log").read_text().splitlines()):
            entry = json.loads(line)
            if entry["phone"] == phone:
                return str(entry["code"])
        raise AssertionError(f"no code for {phone}")

    async def sign_up(self, phone: str, first_name: str, last_name: str = "Тестова") -> tuple[int, str]:
        """A new account with a filled profile; returns (user id, token)."""
        async with PartaClient(self.base_url) as client:
            await client.request_code(phone)
            answer = await client.sign_in(phone, self.code_for(phone))
            await client.update_profile(first_name=first_name, last_name=last_name)
            return int(answer["user"]["id"]), str(answer["token"])


@asynccontextmanager
async def running_server(database_url: str, data_dir: Path, **env: str) -> AsyncIterator[ServerProcess]:
    server = ServerProcess(database_url, data_dir, **env)
    try:
        await server.start()
        yield server
    finally:
        await server.kill()


async def wait_for(condition: Callable[[], bool], *, what: str = "condition", guard: float = 60.0) -> None:
    """Poll until ``condition()`` holds; ``guard`` seconds only protect against a hang."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + guard
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Receiver:
    """Consumes ``client.events()`` in a background task and records every item."""

    def __init__(self, client: PartaClient, since: int | None) -> None:
        self.client = client
        self.items: list[Json] = []
        self.task = asyncio.create_task(self._run(since))

    async def _run(self, since: int | None) -> None:
        async for item in self.client.events(since):
            self.items.append(item)

    def message_ids(self, chat_id: int) -> list[int]:
        """Ids of the messages created in the chat, in the order they arrived."""
        return [
            int(item["data"]["message"]["id"])
            for item in self.items
            if item["type"] == "message.created" and item.get("chat_id") == chat_id
        ]

    async def wait_for(self, condition: Callable[[Receiver], bool], what: str) -> None:
        def done() -> bool:
            if self.task.done():
                self.task.result()  # a failed stream fails the test at once
                raise AssertionError(f"events() ended while waiting for {what}")
            return condition(self)

        await wait_for(done, what=what)

    async def stop(self) -> None:
        await self.client.aclose()  # events() returns once its client is closed
        await asyncio.wait_for(self.task, timeout=30)
