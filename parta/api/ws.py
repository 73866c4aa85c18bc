"""GET /api/v1/ws: authenticate with the first frame, then run the connection."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from parta import accounts
from parta.api.deps import Services
from parta.errors import ErrorCode, PartaError
from parta.events import log as events
from parta.events.gateway import Close, Connection, Hub, close_quietly
from parta.events.tailer import encode

router = APIRouter()


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    hub: Hub = ws.app.state.hub
    await ws.accept()
    try:
        conn = await _authenticate(ws, services, hub)
    except WebSocketDisconnect:
        return
    if conn is None:
        return
    await _serve(ws, hub, conn)


async def _authenticate(ws: WebSocket, services: Services, hub: Hub) -> Connection | None:
    try:
        text = await asyncio.wait_for(ws.receive_text(), timeout=hub.limits.auth_timeout)
    except TimeoutError:
        # A slow link, not a broken client: it may simply reconnect.
        await close_quietly(
            ws, Close.AUTH_TIMEOUT, _error(ErrorCode.invalid_request, "Не дождались кадра auth.")
        )
        return None
    try:
        frame = _auth_frame(text)
    except ValueError:
        await close_quietly(ws, Close.BAD_FRAME, _error(ErrorCode.invalid_request, "Ожидался кадр auth."))
        return None
    token, since = frame
    try:
        async with services.database.session() as db:
            user, session = await accounts.authenticate(db, token)
    except PartaError as exc:
        await close_quietly(ws, Close.UNAUTHENTICATED, _error(exc.instance_code, exc.message))
        return None
    return Connection(ws, hub, user_id=user.id, session_id=session.id, since=since)


def _auth_frame(text: str) -> tuple[str, int | None]:
    frame = json.loads(text)
    if not isinstance(frame, dict) or frame.get("type") != "auth" or not isinstance(frame.get("token"), str):
        raise ValueError("not an auth frame")
    since = frame.get("since")
    if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
        raise ValueError("bad since")
    return frame["token"], since


def _error(code: ErrorCode, message: str) -> dict[str, str]:
    return {"code": code.value, "message": message}


async def _serve(ws: WebSocket, hub: Hub, conn: Connection) -> None:
    await hub.add(conn)  # before reading the head, so no committed event falls between
    try:
        async with hub.database.session() as db:
            head = await events.head(db)
            # A revocation that committed between the auth frame's check and hub.add
            # reached the hub before this connection did: check the session again.
            active = await accounts.session_is_active(db, conn.session_id)
        if active:
            await _run(ws, conn, head)
        else:
            conn.close(Close.UNAUTHENTICATED)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        await hub.remove(conn)
    reason = {Close.UNAUTHENTICATED: ErrorCode.not_authenticated}.get(conn.close_code or 0)
    error = _error(reason, "Сеанс завершён. Войдите снова.") if reason else None
    await close_quietly(ws, conn.close_code or 1000, error)


async def _run(ws: WebSocket, conn: Connection, head: int) -> None:
    await ws.send_text(
        encode({"type": "ready", "user_id": conn.user_id, "session_id": conn.session_id, "head": head})
    )
    sender = asyncio.create_task(conn.send_loop(head))
    reader = asyncio.create_task(conn.read_loop())
    await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
    for task in (sender, reader):
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
