"""create_app(): wiring and lifespan, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from parta import __version__
from parta.api import (
    auth,
    blocks,
    chats,
    classes,
    errors,
    files,
    invites,
    me,
    messages,
    moderation,
    org_joining,
    org_members,
    orgs,
    parental,
    roster,
    search,
    sync,
    users,
    ws,
)
from parta.api.deps import Services
from parta.codes import make_code_sender
from parta.config import Settings
from parta.db.engine import Database
from parta.errors import ErrorCode
from parta.events.bus import Bus
from parta.events.gateway import Hub, Limits
from parta.events.tailer import LogTailer
from parta.runtime import tune_gc

STATIC = Path(__file__).parent / "static"
API = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    bus = make_bus(settings)
    services = Services(
        settings=settings,
        database=Database(settings.resolved_database_url, bus),
        code_sender=make_code_sender(settings),
    )
    hub = Hub(services.database, bus, _limits(settings))
    tailer = LogTailer(
        services.database,
        hub.deliver,
        poll_seconds=settings.tail_poll_seconds,
        coalesce_seconds=settings.tail_coalesce_seconds,
    )
    bus.on_log(tailer.wake)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await bus.start()
        await tailer.start()
        if settings.gc_tuning:
            tune_gc()
        try:
            yield
        finally:
            await hub.close_all()
            await tailer.stop()
            await bus.stop()
            await services.database.dispose()

    app = FastAPI(
        title="Parta API",
        version=__version__,
        description="Open, self-hostable educational messenger. See docs/api.md.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.hub = hub
    errors.install(app)
    routers = (auth, me, users, chats, messages, files, invites, sync, search, ws)
    for module in (*routers, orgs, org_members, classes, org_joining, parental, blocks, moderation, roster):
        app.include_router(module.router, prefix=API)
    app.middleware("http")(_body_limit(settings.max_upload_bytes + 1024 * 1024))

    @app.get(f"{API}/health", tags=["meta"], include_in_schema=True)
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    _mount_web_client(app)
    return app


def make_bus(settings: Settings) -> Bus:
    """Redis when configured (several processes), else in-process."""
    if settings.redis_url:
        from parta.events.redis_bus import RedisBus

        return RedisBus(settings.redis_url, prefix=settings.redis_prefix)
    return Bus()


def _limits(settings: Settings) -> Limits:
    return Limits(
        auth_timeout=settings.ws_auth_timeout,
        idle_timeout=settings.ws_idle_timeout,
        send_timeout=settings.ws_send_timeout,
        queue_limit=settings.ws_queue_limit,
        page_limit=settings.sync_page_limit,
        reset_after=settings.sync_reset_after,
    )


def _body_limit(
    max_bytes: int,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_bytes):
            body = {"error": {"code": ErrorCode.file_too_large.value, "message": "Слишком большой запрос."}}
            return JSONResponse(body, status_code=413)
        return await call_next(request)

    return limit


def _mount_web_client(app: FastAPI) -> None:
    if (STATIC / "index.html").exists():
        app.mount("/", StaticFiles(directory=STATIC, html=True), name="web")
        return

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang=ru><meta charset=utf-8><title>Парта</title>"
            "<h1>Парта</h1><p>Сервер работает. Веб-клиент ещё не собран.</p>"
            f'<p><a href="{API}/docs">API</a></p></html>'
        )
