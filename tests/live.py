"""A real uvicorn server inside the test's event loop: real sockets, real WebSockets,
lifespan (bus, tailer) running, on a free 127.0.0.1 port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from parta.app import create_app
from parta.config import Settings
from parta.events.shared_frames import SharedFrameProtocol
from tests.client import Api


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def live_server(
    *, database_url: str, data_dir: Path, ws_ping_interval: float | None = 20.0, **overrides: Any
) -> AsyncIterator[Api]:
    """Serve the app; yields an ``Api`` talking to it over real HTTP (``api.base_url``).
    ``ws_ping_interval`` is uvicorn's WebSocket keepalive (20 s, as in ``parta serve``;
    None: no pings); ``overrides`` are settings."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        **(
            {
                "secret_key": "test-secret",
                "code_per_ip_per_hour": 100_000,
                "rate_limit_scale": 1000,
                "gc_tuning": False,
            }
            | overrides
        ),
    )
    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws=SharedFrameProtocol,
        ws_ping_interval=ws_ping_interval,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            yield Api(client, data_dir, settings, app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
