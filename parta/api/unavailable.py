"""A database that is down or restarting: 503 ``service_unavailable``, never a 500.

While PostgreSQL restarts (or is unreachable, or out of connections) every request
that needs it fails. Those failures are not faults of the request or the code: the
answer is 503 with a stable code, a Russian message and ``Retry-After``, which
clients (parta.client, the web client's outbox) retry with the same
``client_msg_id``. The server process keeps running and its pool reconnects by
itself (parta/db/engine.py). Any other database error stays a 500.
"""

from __future__ import annotations

import logging

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import HTTPConnection

from parta.db.engine import database_unavailable
from parta.errors import DatabaseUnavailable, ErrorCode
from parta.events.gateway import close_quietly
from parta.openapi_errors import list_error_on

log = logging.getLogger("parta.api")

# Seconds a client should wait before retrying: a restart takes a few seconds.
RETRY_AFTER = 1
# WebSocket close code 1013, "try again later" (RFC 6455 registry).
TRY_AGAIN_LATER = 1013


async def _database_error(conn: HTTPConnection, exc: Exception) -> JSONResponse | None:
    if not database_unavailable(exc):
        raise exc  # not ours: the generic handler answers 500 and logs the traceback
    log.warning("database unavailable (%s %s): %r", conn.scope.get("method", "WS"), conn.url.path, exc)
    error = DatabaseUnavailable(retry_after=RETRY_AFTER)
    if isinstance(conn, WebSocket):
        body = {"code": error.instance_code.value, "message": error.message}
        await close_quietly(conn, TRY_AGAIN_LATER, body)
        return None
    return JSONResponse(error.body(), status_code=error.status, headers={"Retry-After": str(RETRY_AFTER)})


def install(app: FastAPI, api_prefix: str) -> None:
    """Answer database outages with 503 and list ``service_unavailable`` on every API operation."""
    # Starlette picks a handler by the exception's class; the outage errors are these
    # kinds (or subclasses). What is not an outage is raised again, to the 500 handler.
    # One handler for both scopes: it answers HTTP with JSON and closes a WebSocket.
    for kind in (SQLAlchemyError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        app.add_exception_handler(kind, _database_error)  # type: ignore[arg-type]
    _document(app, api_prefix)


def _document(app: FastAPI, api_prefix: str) -> None:
    health = f"{api_prefix}/health"
    list_error_on(app, api_prefix, 503, ErrorCode.service_unavailable, lambda path, _m, _o: path != health)
