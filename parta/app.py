"""create_app(): wiring and lifespan, nothing else."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.convertors import Convertor, register_url_convertor
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from parta import __version__, body_limit, ratelimit
from parta.api import (
    archiving,
    auth,
    blocks,
    chats,
    classes,
    errors,
    files,
    history_import,
    invites,
    me,
    messages,
    migration,
    moderation,
    org_joining,
    org_members,
    orgs,
    parental,
    roster,
    search,
    sync,
    unavailable,
    users,
    waves,
    ws,
    years,
)
from parta.api.deps import Services
from parta.archiving import ARCHIVE_TRANSITION
from parta.body_limit import BodyLimit
from parta.codes import make_code_sender
from parta.config import Settings
from parta.db.engine import Database
from parta.errors import ErrorCode
from parta.events.bus import Bus
from parta.events.gateway import Hub, Limits
from parta.events.tailer import LogTailer
from parta.orgs.rollover import ROLLOVER_TRANSITION
from parta.ratelimit import RateLimitMiddleware, make_rate_limits, write_routes
from parta.runtime import tune_gc
from parta.scheduler import Scheduler
from parta.security_headers import SecurityHeaders

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
    scheduler = Scheduler(
        services.database,
        [ARCHIVE_TRANSITION, ROLLOVER_TRANSITION],
        poll_seconds=settings.scheduler_poll_seconds,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await bus.start()
        await tailer.start()
        await scheduler.start()
        if settings.gc_tuning:
            tune_gc()
        try:
            yield
        finally:
            await scheduler.stop()
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
    app.state.scheduler = scheduler
    errors.install(app)
    unavailable.install(app, API)  # a database outage answers 503, not 500
    routers = (auth, me, users, chats, messages, files, invites, sync, search, ws)
    org_routers = (orgs, org_members, classes, org_joining, parental, blocks, moderation, roster)
    api_routers = [
        module.router
        for module in (migration, *routers, *org_routers, archiving, waves, years, history_import)
    ]
    for router in api_routers:
        app.include_router(router, prefix=API)
    # Outermost last: security headers on every answer, then rate limits (before any
    # body is read), then the size limit while the body streams in.
    app.add_middleware(JsonGzip)
    app.add_middleware(
        BodyLimit,
        json_bytes=settings.max_json_bytes,
        upload_bytes=settings.max_upload_bytes,
        history_bytes=settings.history_max_upload_bytes,
    )
    app.state.rate_limits = make_rate_limits(
        redis_url=settings.redis_url, redis_prefix=settings.redis_prefix, scale=settings.rate_limit_scale
    )
    app.state.write_routes = write_routes(api_routers, API)
    app.add_middleware(RateLimitMiddleware, limits=app.state.rate_limits, routes=app.state.write_routes)
    app.add_middleware(SecurityHeaders, api_prefix=API, index_html=STATIC / "index.html")
    ratelimit.document(app, API)
    body_limit.document(app, API)

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


def _mount_web_client(app: FastAPI) -> None:
    """Serve the built web client (``make web`` builds it into parta/static).

    Hashed assets are cached for a year; every other path that is not the API gets
    ``index.html`` (never cached), so a reload of ``/chats/5`` opens the app there.
    """
    index_file = STATIC / "index.html"
    if not index_file.exists():

        @app.get("/", include_in_schema=False)
        async def index() -> HTMLResponse:
            return HTMLResponse(
                "<!doctype html><html lang=ru><meta charset=utf-8><title>Парта</title>"
                "<h1>Парта</h1><p>Сервер работает. Веб-клиент ещё не собран: <code>make web</code>.</p>"
                f'<p><a href="{API}/docs">API</a></p></html>'
            )

        return
    root = STATIC.resolve()

    # Vite names assets by their content hash: they never change under one name.
    @app.get("/assets/{name}", include_in_schema=False)
    async def web_asset(request: Request, name: str) -> Response:
        return _static_file(request, root, root / "assets" / name, "public, max-age=31536000, immutable")

    # The catch-all never matches /api/…: unknown API routes and wrong methods keep
    # their own 404 and 405 answers.
    @app.get("/{path:web_path}", include_in_schema=False)
    async def web_client(request: Request, path: str) -> Response:
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            # sw.js and other unhashed files: revalidate, so updates reach clients.
            return _static_file(request, root, candidate, "no-cache")
        return _static_file(request, root, index_file, "no-cache")


class JsonGzip:
    """Compress API answers over 1 KB: chat lists and history pages shrink 5-10x, which
    is seconds on a slow mobile link. Files are sent as stored (mostly compressed
    already), and the client's built files have .gz twins of their own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1024, compresslevel=5)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if path.startswith(API) and not path.startswith(f"{API}/files"):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class WebPath(Convertor[str]):
    """Any path except the API's."""

    regex = r"(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("web_path", WebPath())


def _file_not_found() -> JSONResponse:
    body = {"error": {"code": ErrorCode.not_found.value, "message": "Файл не найден."}}
    return JSONResponse(body, status_code=404)


def _static_file(request: Request, root: Path, path: Path, cache_control: str) -> Response:
    """A file of the built client; its gzip twin (made by the build) when the browser takes gzip."""
    path = path.resolve()
    if not path.is_file() or not path.is_relative_to(root):
        return _file_not_found()
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    packed = path.with_name(path.name + ".gz")
    if "gzip" in request.headers.get("accept-encoding", "") and packed.is_file():
        headers["Content-Encoding"] = "gzip"
        return FileResponse(packed, media_type=media_type, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)
