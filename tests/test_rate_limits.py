"""Rate limits on every write route, and request size limits (parta/ratelimit.py,
parta/body_limit.py).

The sweep takes the write routes from the app's own route table, so a new write
route is limited (and tested) from the day it is added.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import limits.aio.storage.memory as limits_memory
import limits.aio.strategies as limits_strategies
import pytest

from parta.ratelimit import BUCKETS, STORE_RETRY_S, WRITE_METHODS, bucket_for, make_rate_limits
from tests.client import Api, Factory, error_code
from tests.live import live_server
from tests.test_multiprocess import redis_url  # noqa: F401  (fixture: fails under CI=true without Redis)

# Every bucket's first window allows one request.
TINY = 0.001


def _fill_ids(template: str) -> str:
    out = []
    for part in template.split("/"):
        if part.startswith("{"):
            out.append("abcdef" if part == "{token}" else "7")
        else:
            out.append(part)
    return "/".join(out)


@pytest.fixture
def still_windows(monkeypatch: pytest.MonkeyPatch) -> Callable[[Api], None]:
    """Stop the clock of the in-memory rate-limit windows for an app: what is tested is a
    burst, and a loaded CI machine can take longer than a 10 s window to send 20 messages."""
    frozen = time.time()
    for module in (limits_memory, limits_strategies):  # the windows and their reset times
        monkeypatch.setattr(module, "time", SimpleNamespace(time=lambda: frozen))

    def freeze(api: Api) -> None:
        api.app.state.rate_limits._clock = lambda: frozen

    return freeze


def _assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 429, (response.request.method, response.request.url, response.text)
    assert error_code(response) == "rate_limited"
    body = response.json()["error"]
    assert body["message"].startswith("Слишком много запросов")
    assert int(response.headers["Retry-After"]) == body["retry_after"] >= 1


async def test_every_write_route_is_limited(database_url: str, tmp_path: Path) -> None:
    async with Api.start(database_url=database_url, data_dir=tmp_path, rate_limit_scale=TINY) as api:
        routes = api.app.state.write_routes
        methods = sum(len(m) for _, m, _ in routes)
        assert methods >= 60
        for _, route_methods, template in routes:
            for method in sorted(route_methods):
                await api.app.state.rate_limits.reset()
                url = _fill_ids(template)
                first = await api.client.request(method, url)
                assert first.status_code != 429, (method, template)
                second = await api.client.request(method, url)
                _assert_refused(second)


def test_every_write_operation_documents_429(api: Api) -> None:
    paths = api.app.openapi()["paths"]
    for template, operations in paths.items():
        for method, operation in operations.items():
            if method.upper() in WRITE_METHODS:
                documented = operation["responses"].get("429", {}).get("description", "")
                assert "`rate_limited`" in documented, (method, template)


def test_buckets_name_the_routes_people_use_most() -> None:
    assert bucket_for("POST", "/api/v1/chats/{chat_id}/messages") == "message"
    assert bucket_for("PATCH", "/api/v1/chats/{chat_id}/messages/{message_id}") == "message"
    assert bucket_for("POST", "/api/v1/chats/{chat_id}/messages/{message_id}/reactions") == "reaction"
    assert bucket_for("POST", "/api/v1/chats/{chat_id}/read") == "read"
    assert bucket_for("POST", "/api/v1/chats/{chat_id}/files") == "upload"
    assert bucket_for("POST", "/api/v1/orgs/{org_id}/roster") == "import"
    assert bucket_for("POST", "/api/v1/users/lookup") == "lookup"
    assert bucket_for("POST", "/api/v1/auth/code") == "sign_in"
    assert bucket_for("POST", "/api/v1/chats") == "write"
    assert set(BUCKETS) >= {"message", "read", "reaction", "upload", "import", "lookup", "sign_in", "write"}


async def _one_chat(make: Factory) -> tuple[Any, Any, dict[str, Any]]:
    teacher, parent = await make.users(2)
    chat = await make.chat(teacher, [parent])
    return teacher, parent, chat


async def test_a_burst_of_messages_is_refused_after_twenty_and_nothing_extra_is_stored(
    database_url: str, tmp_path: Path, still_windows: Callable[[Api], None]
) -> None:
    async with Api.start(database_url=database_url, data_dir=tmp_path, rate_limit_scale=1) as api:
        still_windows(api)
        make = Factory(api)
        teacher, parent, chat = await _one_chat(make)
        url = f"/api/v1/chats/{chat['id']}/messages"
        for n in range(20):
            sent = await api.as_(teacher).post(url, json={"text": f"Сообщение {n}", "client_msg_id": f"m{n}"})
            assert sent.status_code == 201, sent.text
        refused = await api.as_(teacher).post(url, json={"text": "Лишнее", "client_msg_id": "m20"})
        _assert_refused(refused)
        assert int(refused.headers["Retry-After"]) <= 10
        # Reading still works, and so does the other member's writing: limits are per person.
        history = await api.as_(teacher).get(url, params={"limit": 50})
        assert history.status_code == 200
        texts = [m["text"] for m in history.json()["messages"]]
        assert "Лишнее" not in texts and len(texts) == 20
        answer = await api.as_(parent).post(url, json={"text": "Спасибо", "client_msg_id": "p1"})
        assert answer.status_code == 201, answer.text


async def test_phone_lookup_is_bounded(
    database_url: str, tmp_path: Path, still_windows: Callable[[Api], None]
) -> None:
    """Finding people by phone is how numbers would be enumerated: 30 a minute."""
    async with Api.start(database_url=database_url, data_dir=tmp_path, rate_limit_scale=1) as api:
        still_windows(api)
        prober = await Factory(api).user()
        answers = []
        for n in range(31):
            response = await api.as_(prober).post("/api/v1/users/lookup", json={"phone": f"+7999{n:07d}"})
            answers.append(response.status_code)
        assert 429 not in answers[:30], answers
        assert answers[30] == 429


async def test_two_processes_share_the_counters_through_redis(
    database_url: str,
    tmp_path: Path,
    redis_url: str,  # noqa: F811
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    common: dict[str, Any] = {"redis_url": redis_url, "redis_prefix": prefix, "rate_limit_scale": TINY}
    async with (
        Api.start(database_url=database_url, data_dir=tmp_path / "a", **common) as first,
        Api.start(database_url=database_url, data_dir=tmp_path / "b", **common) as second,
    ):
        try:
            body = {"phone": "+79990000001"}
            one = await first.client.post("/api/v1/users/lookup", json=body)
            assert one.status_code == 401  # counted, then refused for want of a session
            _assert_refused(await second.client.post("/api/v1/users/lookup", json=body))
        finally:
            await first.app.state.rate_limits.reset()


async def test_a_json_body_over_a_megabyte_is_refused(api: Api, make: Factory) -> None:
    teacher, _parent, chat = await _one_chat(make)
    url = f"/api/v1/chats/{chat['id']}/messages"
    huge = b'{"text": "' + b"a" * (1024 * 1024 + 10) + b'", "client_msg_id": "big"}'
    response = await api.as_(teacher).post(url, content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert error_code(response) == "request_too_large"
    assert "Слишком большой запрос" in response.json()["error"]["message"]
    history = await api.as_(teacher).get(url)
    assert history.json()["messages"] == []


@pytest.fixture
async def live(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with live_server(database_url=database_url, data_dir=tmp_path, max_upload_bytes=256 * 1024) as api:
        yield api


async def _chunks(size: int, piece: bytes = b"x" * 65536) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        yield piece
        sent += len(piece)


async def test_a_chunked_body_without_length_is_cut_off_at_the_limit(live: Api) -> None:
    """No Content-Length to check up front: the body is counted as it streams."""
    make = Factory(live)
    teacher, _parent, chat = await _one_chat(make)
    url = f"/api/v1/chats/{chat['id']}/messages"
    headers = {"Authorization": f"Bearer {teacher.token}", "Content-Type": "application/json"}
    response = await live.client.post(url, content=_chunks(8 * 1024 * 1024), headers=headers)
    assert response.status_code == 413, response.text
    assert error_code(response) == "request_too_large"
    # The server is fine and stored nothing.
    history = await live.as_(teacher).get(url)
    assert history.status_code == 200 and history.json()["messages"] == []


async def test_a_chunked_upload_over_the_limit_stores_nothing(live: Api) -> None:
    make = Factory(live)
    teacher, _parent, chat = await _one_chat(make)
    boundary = "partaboundary"

    async def multipart() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        async for chunk in _chunks(4 * 1024 * 1024):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {
        "Authorization": f"Bearer {teacher.token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    response = await live.client.post(
        f"/api/v1/chats/{chat['id']}/files", content=multipart(), headers=headers
    )
    assert response.status_code == 413, response.text
    assert error_code(response) == "file_too_large"
    blobs = [p for p in (live.data_dir / "media").rglob("*") if p.is_file() and "tmp" not in p.parts]
    assert blobs == []


def test_every_upload_operation_needs_an_account(api: Api) -> None:
    # The size-limit middleware refuses anonymous multipart requests before reading
    # them (parta/body_limit.py): right only while no upload route is public.
    document = api.app.openapi()
    uploads = [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if any(kind.startswith("multipart/") for kind in operation.get("requestBody", {}).get("content", {}))
    ]
    assert len(uploads) >= 6
    for method, path, operation in uploads:
        assert operation.get("security") == [{"HTTPBearer": []}], (method, path)


async def test_an_anonymous_upload_is_refused_before_its_body_is_read(api: Api) -> None:
    """A 400 MB history export from nobody: 401 at once, without waiting for (and
    spooling to disk) a body the multipart parser would otherwise read first."""
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if reads == 1:
            return {"type": "http.request", "body": b"--b\r\n", "more_body": True}
        await asyncio.Event().wait()  # the rest of the body never comes
        raise AssertionError("unreachable")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/orgs/1/history-imports",
        "raw_path": b"/api/v1/orgs/1/history-imports",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"multipart/form-data; boundary=b"),
            (b"content-length", str(400 * 1024 * 1024).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    # Without the check the app waits for the rest of the body: the wait times out.
    await asyncio.wait_for(api.app(scope, receive, send), timeout=10)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 401
    assert (b"www-authenticate", b"Bearer") in start["headers"]
    body = json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
    assert body["error"]["code"] == "not_authenticated"
    assert body["error"]["message"] == "Нужно войти в систему."
    assert reads == 0  # a claimed 400 MB is not even drained


async def test_an_anonymous_small_upload_gets_the_same_401_as_any_anonymous_request(api: Api) -> None:
    files = {"file": ("roster.csv", "Фамилия;Имя\n".encode(), "text/csv")}
    upload = await api.client.post("/api/v1/orgs/1/roster", files=files)
    plain = await api.client.get("/api/v1/me")
    assert upload.status_code == plain.status_code == 401
    assert upload.json() == plain.json()
    assert upload.headers["www-authenticate"] == "Bearer"


async def test_with_the_counter_store_down_messages_still_go_through_and_it_is_retried_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on port 1: every call to the store fails at once.
    now = [1000.0]
    limits = make_rate_limits(redis_url="redis://127.0.0.1:1/0", redis_prefix="t:", scale=1.0)
    limits._clock = lambda: now[0]
    with caplog.at_level("WARNING", logger="parta.ratelimit"):
        # More than the message bucket's 20 a minute: a limiter that cannot count lets
        # people write rather than refusing them.
        for _ in range(30):
            assert await limits.check("message", "caller") is None
        assert limits._down_until == now[0] + STORE_RETRY_S
        now[0] += STORE_RETRY_S + 1  # the store is tried again, still down
        assert await limits.check("message", "caller") is None
        assert limits._down_until == now[0] + STORE_RETRY_S
    warnings = [r for r in caplog.records if "rate-limit store unavailable" in r.getMessage()]
    assert len(warnings) == 1  # one line a minute, not one per request
