"""An async Python client for Parta: the HTTP API and the real-time event stream.

Used by tests, benchmarks and bots. Sends are idempotent (one ``client_msg_id`` per
message, reused on every retry), and the event stream resumes by itself after any
disconnect, yielding each event exactly once and in log order::

    async with PartaClient("http://127.0.0.1:8000") as client:
        await client.request_code("+79123456789")
        await client.sign_in("+79123456789", code)  # the code from the SMS
        chat = await client.create_chat("group", "5А", [])
        await client.send_message(chat["id"], "Собрание в 18:00")
        async for event in client.events(since=0):
            if event["type"] == "reset":
                ...  # too far behind: refetch chats and recent messages
            print(event["id"], event["type"])

The protocols are described in docs/api.md and docs/realtime.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

Json = dict[str, Any]
EphemeralHandler = Callable[[Json], None]

API = "/api/v1"
# Reconnecting cannot help after 4001 (signed out); every other close is retried,
# including 4002 (the auth frame arrived late on a slow link) and 4000 (a bad frame:
# retrying is harmless and a newer server may accept it).
_UNAUTHENTICATED = 4001


class PartaApiError(Exception):
    """An error answer of the server: HTTP status plus its stable ``code``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: httpx.Response) -> PartaApiError:
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error.get("message", ""))
        except (ValueError, KeyError, TypeError):  # e.g. an HTML 502 page from a proxy
            error, code, message = {}, "http_error", response.text[:200]
        retry_after = _seconds(error.get("retry_after", response.headers.get("retry-after")))
        return cls(response.status_code, code, message, field=error.get("field"), retry_after=retry_after)

    @property
    def is_retryable(self) -> bool:
        return self.status >= 500 or self.status == 429


def _seconds(value: object) -> float | None:
    try:
        return float(value) if isinstance(value, int | float | str) else None
    except ValueError:  # Retry-After may also be an HTTP date; then the backoff decides
        return None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter, bounded by a number of attempts and a total time."""

    base: float = 0.1
    cap: float = 2.0
    attempts: int | None = 10
    deadline: float | None = 60.0

    def delay(self, failures: int) -> float:
        # Jitter spreads the retries of many clients after one outage, so a
        # restarting server is not hit by all of them at the same instant.
        ceiling = min(self.cap, self.base * 2 ** min(failures, 30))
        return random.uniform(ceiling / 2, ceiling)

    def gives_up(self, failures: int, elapsed: float) -> bool:
        return (self.attempts is not None and failures >= self.attempts) or (
            self.deadline is not None and elapsed >= self.deadline
        )


class PartaClient:
    """One signed-in device. An async context manager; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        device_name: str = "parta.client",
        timeout: float = 10.0,
        backoff: Backoff | None = None,
        ping_interval: float = 20.0,
        on_ephemeral: EphemeralHandler | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.device_name = device_name
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self.ping_interval = ping_interval
        self.on_ephemeral = on_ephemeral
        self._http = httpx.AsyncClient(base_url=self.base_url + API, timeout=timeout, transport=transport)
        self._ws: ClientConnection | None = None
        self._last_event_id: int | None = None
        self._ready = False  # the current connection was accepted (resets the backoff)
        self._closed = False

    async def __aenter__(self) -> PartaClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP pool and the WebSocket; a running ``events()`` then ends."""
        self._closed = True
        if self._ws is not None:
            await self._ws.close()
        await self._http.aclose()

    @property
    def is_connected(self) -> bool:
        """Whether ``events()`` holds an accepted WebSocket right now."""
        return self._ws is not None and self._ready

    @property
    def last_event_id(self) -> int | None:
        """The id of the last event ``events()`` yielded (or the position it resumes from)."""
        return self._last_event_id

    # HTTP

    async def _call(
        self,
        method: str,
        path: str,
        *,
        retry: Backoff | None = None,
        body: Json | None = None,
        params: dict[str, Any] | None = None,
    ) -> Json:
        """One API call; with ``retry``, repeated after transport errors, 5xx and 429."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        started, failures = asyncio.get_running_loop().time(), 0
        while True:
            try:
                response = await self._http.request(method, path, json=body, params=params, headers=headers)
            except httpx.TransportError as exc:
                error: Exception = exc
                wait = None
            else:
                if response.status_code < 400:
                    return dict(response.json()) if response.content else {}
                error = PartaApiError.from_response(response)
                if retry is None or not error.is_retryable:
                    raise error
                wait = error.retry_after
            failures += 1
            delay = wait if wait is not None else (retry or self.backoff).delay(failures)
            elapsed = asyncio.get_running_loop().time() - started + delay
            if retry is None or retry.gives_up(failures, elapsed):
                raise error
            await asyncio.sleep(delay)

    async def request_code(self, phone: str) -> Json:
        return await self._call("POST", "/auth/code", body={"phone": phone})

    async def sign_in(self, phone: str, code: str) -> Json:
        """Exchange the code for a session; the token is kept for every later call."""
        body = {"phone": phone, "code": code, "device_name": self.device_name}
        answer = await self._call("POST", "/auth/token", body=body)
        self.token = str(answer["token"])
        return answer

    async def me(self) -> Json:
        return await self._call("GET", "/me", retry=self.backoff)

    async def update_profile(self, *, first_name: str | None = None, last_name: str | None = None) -> Json:
        change = {"first_name": first_name, "last_name": last_name}
        return await self._call("PATCH", "/me", body={k: v for k, v in change.items() if v is not None})

    async def create_chat(self, kind: str, title: str, member_ids: list[int]) -> Json:
        body = {"kind": kind, "title": title, "member_ids": member_ids}
        return await self._call("POST", "/chats", body=body)

    async def chats(self) -> list[Json]:
        """All your chats, following the pages."""
        result: list[Json] = []
        params: dict[str, Any] = {}
        while True:
            page = await self._call("GET", "/chats", params=params, retry=self.backoff)
            result.extend(page["chats"])
            if not page.get("next_cursor"):
                return result
            params = {"cursor": page["next_cursor"]}

    async def history(
        self, chat_id: int, *, before: int | None = None, after: int | None = None, limit: int = 50
    ) -> Json:
        """One page of messages in id order: ``{"messages": [...], "has_more": bool}``."""
        given = {"before": before, "after": after}
        params = {"limit": limit} | {k: v for k, v in given.items() if v is not None}
        return await self._call("GET", f"/chats/{chat_id}/messages", params=params, retry=self.backoff)

    async def sync(self, since: int) -> tuple[list[Json], int]:
        """Every event after ``since`` (all pages) and the position to continue from.

        When the server answers ``reset``, the list ends with ``{"type": "reset",
        "next": N}``: refetch chats and recent messages, then continue from N.
        """
        events: list[Json] = []
        while True:
            page = await self._call("GET", "/sync", params={"since": since}, retry=self.backoff)
            since = int(page["next"])
            if page.get("reset"):
                events.append({"type": "reset", "next": since})
                return events, since
            events.extend(page["events"])
            if not page.get("has_more"):
                return events, since

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        client_msg_id: str | None = None,
        reply_to: int | None = None,
        retries: Backoff | None = None,
    ) -> Json:
        """Send a message, retrying with the same ``client_msg_id`` until acknowledged.

        Transport errors, 5xx and 429 are retried (``retries``, default the client's
        backoff); other 4xx raise ``PartaApiError`` at once. The server stores a
        retried send once and answers with the original message.
        """
        body: Json = {"client_msg_id": client_msg_id or uuid.uuid4().hex, "text": text}
        if reply_to is not None:
            body["reply_to"] = reply_to
        path = f"/chats/{chat_id}/messages"
        return await self._call("POST", path, body=body, retry=retries or self.backoff)

    # WebSocket

    def _ws_url(self) -> str:
        url = httpx.URL(self.base_url + API + "/ws")
        return str(url.copy_with(scheme="wss" if url.scheme == "https" else "ws"))

    async def events(self, since: int | None = None) -> AsyncIterator[Json]:
        """Every event after ``since``, in order, exactly once. Without ``since``: from
        the position the server reports when the first connection is accepted.

        Reconnects with backoff after any disconnect, resuming from ``last_event_id``.
        A ``reset`` from the server is yielded as ``{"type": "reset", "next": N}``.
        Raises ``PartaApiError(401, "not_authenticated")`` when the session is refused.
        """
        if since is not None:
            self._last_event_id = since
        failures = 0
        while not self._closed:
            self._ready = False
            try:
                async with aclosing(self._connection()) as items:
                    async for item in items:
                        yield item
            except (OSError, TimeoutError, WebSocketException) as exc:
                _raise_if_refused(exc)
            if self._closed:
                return
            failures = 0 if self._ready else failures + 1
            await asyncio.sleep(self.backoff.delay(failures))

    async def _connection(self) -> AsyncGenerator[Json]:
        """One WebSocket connection: authenticate, then yield new events until it closes."""
        async with connect(
            self._ws_url(),
            open_timeout=self.timeout,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
            max_size=64 * 2**20,
        ) as ws:
            self._ws = ws
            if self._closed:  # aclose() ran while this connection was opening
                return
            keepalive = asyncio.create_task(self._keepalive(ws))
            try:
                auth: Json = {"type": "auth", "token": self.token or ""}
                if self._last_event_id is not None:
                    auth["since"] = self._last_event_id
                await ws.send(json.dumps(auth))
                error: Json = {}
                with contextlib.suppress(ConnectionClosed):
                    async for raw in ws:
                        frame = json.loads(raw)
                        error = frame.get("error", error)
                        for item in self._on_frame(frame):
                            if self._is_seen(item):
                                continue
                            self._last_event_id = int(item["id"] if "id" in item else item["next"])
                            yield item
                if ws.close_code == _UNAUTHENTICATED:
                    message = error.get("message", ws.close_reason or "")
                    raise PartaApiError(401, error.get("code", "not_authenticated"), message)
            finally:
                keepalive.cancel()
                self._ws = None

    def _is_seen(self, item: Json) -> bool:
        # A resumed connection may overlap the previous one; the id alone decides.
        last = self._last_event_id
        return "id" in item and last is not None and int(item["id"]) <= last

    def _on_frame(self, frame: Json) -> list[Json]:
        """The items a frame carries for the caller; handles the others itself."""
        kind = frame.get("type")
        if kind == "ready":
            self._ready = True
            if self._last_event_id is None:
                self._last_event_id = int(frame["head"])
        elif kind == "reset":
            return [{"type": "reset", "next": int(frame["next"])}]
        elif kind == "events":
            return list(frame["events"])
        elif kind in ("typing", "presence") and self.on_ephemeral is not None:
            self.on_ephemeral(frame)
        return []

    async def _keepalive(self, ws: ClientConnection) -> None:
        # The server closes a connection that sent nothing for 60 s (close code 4009).
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.ping_interval)
                await ws.send('{"type":"ping"}')

    async def send_typing(self, chat_id: int) -> None:
        """Tell the chat you are typing (only while ``events()`` is connected)."""
        if self._ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(json.dumps({"type": "typing", "chat_id": chat_id}))


def _raise_if_refused(exc: Exception) -> None:
    """A handshake refused with a client error (no such route, 401) will not heal by retrying."""
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if 400 <= status < 500 and status not in (408, 429):
            raise PartaApiError(status, "handshake_refused", str(exc)) from exc
