"""Request size limits, enforced while the body arrives.

A ``Content-Length`` over the limit is refused before anything is read; a body sent
without one (chunked) is counted as it streams and refused the moment it passes
the limit, so no request can make the server buffer more than its limit. Limits:
``PARTA_MAX_JSON_BYTES`` (1 MiB) for ordinary requests, ``PARTA_MAX_UPLOAD_BYTES``
plus 1 MiB of form overhead for multipart uploads, and the history-import limit for
``…/history-imports`` (a chat export with its photos; the multipart parser spools
it to disk, never to memory).

Answers: 413 ``file_too_large`` for uploads, 413 ``request_too_large`` otherwise.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parta.errors import ErrorCode, Unauthenticated
from parta.openapi_errors import list_error_on

FORM_OVERHEAD: Final = 1024 * 1024
# After a refusal the rest of the body is read and dropped (never kept), up to this
# much, so that an ordinary client, still sending, gets to read the 413; past it the
# connection is simply closed.
DRAIN_BYTES: Final = 64 * 1024 * 1024


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes its limit."""


class BodyLimit:
    def __init__(self, app: ASGIApp, *, json_bytes: int, upload_bytes: int, history_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes + FORM_OVERHEAD
        self.history_bytes = history_bytes + FORM_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        is_upload = headers.get(b"content-type", b"").lower().startswith(b"multipart/")
        if scope["path"].endswith("/history-imports"):
            allowed = self.history_bytes
        else:
            allowed = self.upload_bytes if is_upload else self.json_bytes
        code = ErrorCode.file_too_large if is_upload else ErrorCode.request_too_large
        length = headers.get(b"content-length")
        if is_upload and not _has_bearer(headers):
            # Every upload operation needs a bearer token (a test in
            # ``tests/test_rate_limits.py`` checks the OpenAPI document): refuse
            # before the multipart parser spools the file to disk.
            if length is None or (length.isdigit() and int(length) <= DRAIN_BYTES):
                await _drain(receive)
            unauthenticated = Unauthenticated()
            await _send_error(send, 401, unauthenticated.code, unauthenticated.message, bearer=True)
            return
        if length is not None and (not length.isdigit() or int(length) > allowed):
            if length.isdigit() and int(length) <= DRAIN_BYTES:
                await _drain(receive)
            await _refuse(send, code, allowed)
            return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > allowed:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # whatever the app made of the broken body, the answer is 413
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        if exceeded and not started:
            await _drain(receive)
            await _refuse(send, code, allowed)


async def _drain(receive: Receive) -> None:
    drained = 0
    while drained <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _has_bearer(headers: dict[bytes, bytes]) -> bool:
    scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
    return scheme.lower() == b"bearer" and bool(token.strip())


async def _refuse(send: Send, code: ErrorCode, allowed: int) -> None:
    megabytes = max(1, allowed // (1024 * 1024))
    if code is ErrorCode.file_too_large:
        message = f"Файл слишком большой: можно не больше {megabytes} МБ."
    else:
        message = f"Слишком большой запрос: можно не больше {megabytes} МБ."
    await _send_error(send, 413, code, message)


async def _send_error(
    send: Send, status: int, code: ErrorCode, message: str, *, bearer: bool = False
) -> None:
    body = json.dumps({"error": {"code": code.value, "message": message}}, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if bearer:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def document(app: FastAPI, api_prefix: str) -> None:
    """List 413 ``request_too_large`` among the answers of every operation with a JSON body."""

    def takes_json(_path: str, _method: str, operation: dict[str, Any]) -> bool:
        return "application/json" in operation.get("requestBody", {}).get("content", {})

    list_error_on(app, api_prefix, 413, ErrorCode.request_too_large, takes_json)
