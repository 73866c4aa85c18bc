"""Rate limits on every write route (POST, PUT, PATCH, DELETE under /api/v1).

Each write route belongs to one bucket (``bucket_for``): sending messages, marking
read, reactions, uploads, imports, sign-in, or the default for everything else. A
bucket is a set of sliding windows (the ``limits`` library), counted per caller: the
session token for signed-in callers (hashed: tokens never reach the counter store),
the client address for anonymous ones. Counters live in Redis when
``PARTA_REDIS_URL`` is set, so several processes share them, else in memory.

The check runs before the route: a flood is refused before its body is read or the
database is touched, with 429 ``rate_limited``, a Russian message and
``Retry-After``. If the counter store fails, requests pass (availability beats
limiting) and the failure is logged once a minute.

Sign-in codes have their own, stricter limits per phone and address
(``parta/accounts.py``); these buckets are about load and abuse.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from parta.errors import ErrorCode
from parta.openapi_errors import list_error_on

log = logging.getLogger("parta.ratelimit")

WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# When the counter store (Redis) fails, requests pass unlimited and the store is tried
# again after STORE_RETRY_S; a store slower than STORE_TIMEOUT_S counts as failed.
STORE_RETRY_S: Final = 5.0
STORE_TIMEOUT_S: Final = 0.5

# Per caller. A bucket's windows all apply: a burst limit and a sustained one.
BUCKETS: Final[Mapping[str, str]] = {
    # What a person does by hand: a message every two seconds for long is already a bot.
    "message": "20/10 seconds;600/hour",
    # Clients mark read while scrolling and react quickly: generous.
    "read": "120/minute",
    "reaction": "60/minute;1000/hour",
    "upload": "10/minute;200/hour",
    # Roster, chat manifests, history exports: admins retrying a corrected file.
    "import": "10/minute;60/hour",
    "lookup": "30/minute;300/day",
    # Anonymous sign-in calls per address (codes also have per-phone limits).
    "sign_in": "30/minute;300/hour",
    # Every other write: chats, members, invites, reports, org settings, sessions.
    "write": "60/minute;1000/hour",
}

# (method or "*", route template regex) -> bucket; the first match wins, else "write".
_RULES: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = tuple(
    (method, re.compile(pattern), bucket)
    for method, pattern, bucket in (
        ("POST", r"/auth/", "sign_in"),
        ("*", r"/chats/\{chat_id\}/messages/\{message_id\}/reactions$", "reaction"),
        ("POST", r"/chats/\{chat_id\}/read$", "read"),
        ("*", r"/chats/\{chat_id\}/messages(/\{message_id\})?$", "message"),
        # Finding people by phone: bounded so that numbers cannot be enumerated.
        ("POST", r"/users/lookup$", "lookup"),
        ("*", r"/files$|/avatar$|/logo$", "upload"),
        ("POST", r"/roster$|/chat-manifests$|/history-imports$", "import"),
    )
)


def bucket_for(method: str, template: str) -> str:
    """The bucket of a write route, by its path template (``/api/v1`` prefix or not)."""
    for rule_method, pattern, bucket in _RULES:
        if rule_method in ("*", method) and pattern.search(template):
            return bucket
    return "write"


@dataclass(frozen=True)
class Refusal:
    retry_after: int


class RateLimits:
    """The counters: ``check(bucket, caller)`` counts one request, or refuses it."""

    def __init__(
        self, storage: Storage, *, scale: float = 1.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.storage = storage
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.items: dict[str, list[RateLimitItem]] = {
            name: [_scaled(item, scale) for item in parse_many(spec)] for name, spec in BUCKETS.items()
        }
        self._clock = clock
        self._last_failure_log = 0.0
        self._down_until = 0.0

    async def check(self, bucket: str, caller: str) -> Refusal | None:
        if self._clock() < self._down_until:  # the store failed a moment ago: do not wait on it
            return None
        try:
            for item in self.items[bucket]:
                if not await self.limiter.hit(item, bucket, caller):
                    stats = await self.limiter.get_window_stats(item, bucket, caller)
                    return Refusal(retry_after=max(1, math.ceil(stats.reset_time - self._clock())))
        except Exception:  # the counter store is down: let the request through
            now = self._clock()
            self._down_until = now + STORE_RETRY_S
            if now - self._last_failure_log > 60:
                self._last_failure_log = now
                log.warning("rate-limit store unavailable; requests pass unlimited", exc_info=True)
        return None

    async def reset(self) -> None:
        await self.storage.reset()


def make_rate_limits(*, redis_url: str, redis_prefix: str, scale: float) -> RateLimits:
    if redis_url:
        storage: Storage = RedisStorage(
            "async+" + redis_url,
            implementation="redispy",
            key_prefix=f"{redis_prefix}parta:rl",
            wrap_exceptions=True,
            # A limit check must not hold a request up: a store that does not answer
            # at once counts as down.
            socket_connect_timeout=STORE_TIMEOUT_S,
            socket_timeout=STORE_TIMEOUT_S,
        )
    else:
        storage = MemoryStorage()
    return RateLimits(storage, scale=scale)


def _scaled(item: RateLimitItem, scale: float) -> RateLimitItem:
    if scale == 1.0:
        return item
    return type(item)(max(1, round(item.amount * scale)), item.multiples, item.namespace)


def caller_of(scope: Scope) -> str:
    """The counter's key: the session token's hash, or the client address."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return "t:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


RouteTable = list[tuple[re.Pattern[str], frozenset[str], str]]


class RateLimitMiddleware:
    """Counts every write request under ``api_prefix`` against its route's bucket."""

    def __init__(self, app: ASGIApp, *, limits: RateLimits, routes: RouteTable) -> None:
        self.app = app
        self.limits = limits
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        template = self._template(scope)
        if template is None:  # not a route: 404 or 405 follows
            await self.app(scope, receive, send)
            return
        refusal = await self.limits.check(bucket_for(scope["method"], template), caller_of(scope))
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await _send_refusal(send, refusal)

    def _template(self, scope: Scope) -> str | None:
        path = scope["path"]
        for pattern, methods, template in self.routes:
            if scope["method"] in methods and pattern.fullmatch(path):
                return template
        return None


def write_routes(routers: Iterable[APIRouter], prefix: str) -> RouteTable:
    """(path regex, write methods, template) of every write route of the routers,
    mounted under ``prefix``; literal paths first ("/chats/direct" before "/chats/{chat_id}")."""
    table: RouteTable = []
    for router in routers:
        for route in router.routes:
            methods = frozenset(getattr(route, "methods", None) or ()) & WRITE_METHODS
            if isinstance(route, APIRoute) and methods:
                template = prefix + route.path
                parts = re.split(r"(\{[^}]+\})", template)
                regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
                table.append((re.compile(regex), methods, template))
    table.sort(key=lambda row: row[2].count("{"))
    return table


async def _send_refusal(send: Send, refusal: Refusal) -> None:
    message = f"Слишком много запросов. Повторите через {refusal.retry_after} с."
    error = {"code": ErrorCode.rate_limited.value, "message": message, "retry_after": refusal.retry_after}
    body = json.dumps({"error": error}, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(refusal.retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def document(app: FastAPI, api_prefix: str) -> None:
    """List 429 ``rate_limited`` among the answers of every write operation."""

    def writes(_path: str, method: str, _operation: object) -> bool:
        return method in WRITE_METHODS

    list_error_on(app, api_prefix, 429, ErrorCode.rate_limited, writes)
