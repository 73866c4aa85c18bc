"""A test client that talks to the app over HTTP like a real client, and factories.

Factories build data through the public API (sign-in with the code from
otp.log, profile, chats, messages), so every event a real client would cause exists.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from parta.app import create_app
from parta.config import Settings

_phones = itertools.count(1)


def new_phone() -> str:
    return f"+7912{next(_phones):07d}"


@dataclass
class TestUser:
    __test__ = False
    id: int
    phone: str
    token: str
    first_name: str = ""
    last_name: str = ""


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert "error" in body, f"expected an error, got {response.status_code} {body}"
    return str(body["error"]["code"])


_documents: dict[frozenset[tuple[str, str]], dict[str, Any]] = {}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once per set of routes: FastAPI builds it
    once per app, which cost about 0.8 s in every test (each gets a fresh app)."""
    key = frozenset(
        (getattr(route, "path", ""), ",".join(sorted(getattr(route, "methods", None) or ())))
        for route in app.routes
    )
    if key not in _documents:
        _documents[key] = app.openapi()
    return _documents[key]


def check_documented_error(app: FastAPI, method: str, url: str, response: httpx.Response) -> None:
    """Every error a route answers with must be listed in its OpenAPI document
    (the contract outside clients read); checked on every response of every test."""
    if response.status_code < 400 or response.status_code == 413:  # 413: the body-size guard
        return
    code = error_code(response)
    path = httpx.URL(url).path
    for template, operations in _openapi(app)["paths"].items():
        if method.lower() in operations and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            responses = operations[method.lower()]["responses"]
            documented = responses.get(str(response.status_code), {}).get("description", "")
            assert f"`{code}`" in documented, (
                f"{method} {template} answered {response.status_code} {code}, "
                f"which its OpenAPI responses do not list"
            )
            return
    assert code in ("not_found", "invalid_request"), f"{method} {url}: no route, but answered {code}"


class Api:
    """``api.get(...)`` is anonymous; ``api.as_(user).get(...)`` carries the user's token."""

    def __init__(self, client: httpx.AsyncClient, data_dir: Path, settings: Settings, app: FastAPI) -> None:
        self.app = app
        self.client = client
        self.data_dir = data_dir
        self.settings = settings
        self._token: str | None = None

    @classmethod
    @asynccontextmanager
    async def start(cls, *, database_url: str, data_dir: Path, **overrides: Any) -> AsyncIterator[Api]:
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
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            try:
                yield cls(client, data_dir, settings, app)
            finally:
                await app.state.services.database.dispose()

    @property
    def ws_url(self) -> str:
        return str(self.client.base_url).replace("http://", "ws://").rstrip("/") + "/api/v1/ws"

    def as_(self, user: TestUser | None) -> Api:
        other = Api(self.client, self.data_dir, self.settings, self.app)
        other._token = user.token if user else None
        return other

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        result = dict(headers or {})
        if self._token:
            result["Authorization"] = f"Bearer {self._token}"
        return result

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kwargs["headers"] = self._headers(kwargs.get("headers"))
        response = await self.client.request(method, url, **kwargs)
        check_documented_error(self.app, method, url, response)
        return response

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)

    def last_code(self, phone: str) -> str:
        """The newest code the development sender wrote for ``phone`` to otp.log."""
        lines = (self.data_dir / "otp.log").read_text(encoding="utf-8").splitlines()
        codes = [json.loads(line) for line in lines]
        return str([c for c in codes if c["phone"] == phone][-1]["code"])

    async def last_event_id(self) -> int:
        response = await self.get("/api/v1/sync")
        assert response.status_code == 200, response.text
        return int(response.json()["next"])

    async def sync(self, since: int) -> list[dict[str, Any]]:
        """Every event after ``since``, following pages."""
        events: list[dict[str, Any]] = []
        while True:
            response = await self.get("/api/v1/sync", params={"since": since})
            assert response.status_code == 200, response.text
            body = response.json()
            assert not body.get("reset"), body
            events.extend(body["events"])
            since = body["next"]
            if not body.get("has_more"):
                return events


@dataclass
class Factory:
    api: Api
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def sign_in(self, phone: str, device_name: str = "test") -> dict[str, Any]:
        response = await self.api.post("/api/v1/auth/code", json={"phone": phone})
        assert response.status_code == 200, response.text
        code = self.api.last_code(response.json()["phone"])
        response = await self.api.post(
            "/api/v1/auth/token", json={"phone": phone, "code": code, "device_name": device_name}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def user(
        self, first_name: str | None = None, last_name: str = "Иванова", *, phone: str | None = None
    ) -> TestUser:
        phone = phone or new_phone()
        body = await self.sign_in(phone)
        user = TestUser(id=body["user"]["id"], phone=phone, token=body["token"])
        if first_name != "":
            user.first_name = first_name or f"Пользователь{next(self._names)}"
            user.last_name = last_name
            response = await self.api.as_(user).patch(
                "/api/v1/me", json={"first_name": user.first_name, "last_name": user.last_name}
            )
            assert response.status_code == 200, response.text
        return user

    async def users(self, n: int) -> list[TestUser]:
        return [await self.user() for _ in range(n)]

    async def chat(
        self,
        owner: TestUser,
        members: Sequence[TestUser] = (),
        kind: str = "group",
        title: str = "5А",
    ) -> dict[str, Any]:
        response = await self.api.as_(owner).post(
            "/api/v1/chats", json={"kind": kind, "title": title, "member_ids": [m.id for m in members]}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def message(
        self, sender: TestUser, chat_id: int, text: str = "Привет", **extra: Any
    ) -> dict[str, Any]:
        payload = {"text": text, "client_msg_id": uuid.uuid4().hex, **extra}
        response = await self.api.as_(sender).post(f"/api/v1/chats/{chat_id}/messages", json=payload)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body
