"""Authentication hardening (issue 10): a session that ends is over at once everywhere
(HTTP reads and writes, sync, open and new WebSockets, other server processes); "no
such user" and "wrong code" do the same work and answer alike; no secret reaches the
server's logs. docs/security.md: Sessions and revocation, Timing, Logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import shutil
import sys
import uuid
from collections.abc import Awaitable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection as SqlConnection
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from parta import accounts, clock, tokens
from parta.client import PartaApiError, PartaClient
from parta.config import Settings
from parta.db.tables import Session, User
from parta.errors import ErrorCode
from parta.redaction import RedactSecrets, mask_phone, redact
from tests.client import Api, Factory, TestUser, error_code, new_phone
from tests.live import live_server
from tests.org_factory import OrgFactory
from tests.servers import Receiver, running_server, wait_for
from tests.test_auth import Hook, hook_server
from tests.test_multiprocess import redis_url  # noqa: F401  (fixture: fails under CI=true without Redis)
from tests.test_sessions import sign_in_devices

# Guards against hangs only; never assertions about speed.
WAIT = 15.0
API = "/api/v1"


# Revocation


async def open_ws(api: Api, token: str) -> ClientConnection:
    ws = await connect(api.ws_url, open_timeout=WAIT)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    ready = json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT))
    assert ready["type"] == "ready", ready
    return ws


async def frames_until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame the server still sends, and the close code it ends with."""
    frames: list[dict[str, Any]] = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT)))
    return frames, closed.value.rcvd.code if closed.value.rcvd else None


async def assert_signed_out(ws: ClientConnection) -> None:
    """Closed with 4001, the last frame saying why."""
    frames, code = await frames_until_closed(ws)
    assert code == 4001
    assert frames and frames[-1]["type"] == "error", frames
    assert frames[-1]["error"]["code"] == ErrorCode.not_authenticated
    assert frames[-1]["error"]["message"]
    assert not [f for f in frames if f["type"] == "ready"], frames


async def assert_ws_refused(url: str, token: str) -> None:
    ws = await connect(url, open_timeout=WAIT)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    await assert_signed_out(ws)


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert error_code(response) == ErrorCode.not_authenticated
    assert response.json()["error"]["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def next_event(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next log event of this type (other frames are skipped)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT))
        for item in frame.get("events", ()):
            if item["type"] == kind:
                return dict(item)


async def first_event(client: PartaClient, since: int) -> dict[str, Any]:
    async for item in client.events(since):  # here the stream fails before any event
        return item
    raise AssertionError("the event stream ended without an event")


async def session_id(api: Api, device: TestUser) -> int:
    sessions = (await api.as_(device).get(f"{API}/sessions")).json()["sessions"]
    return int(next(s["id"] for s in sessions if s["is_current"]))


async def suspend(api: Api, make: Factory, user: TestUser) -> None:
    """An operator suspends the account on someone's report (the only route that blocks one)."""
    operator = await OrgFactory(api, make).operator()
    reporter = await make.user()
    await make.chat(reporter, [user])
    report = await api.as_(reporter).post(f"{API}/reports", json={"reason": "abuse", "user_id": user.id})
    assert report.status_code == 201, report.text
    url = f"{API}/operator/reports/{report.json()['id']}/resolve"
    decided = await api.as_(operator).post(url, json={"action": "suspend_user"})
    assert decided.status_code == 200, decided.text


WAYS = ("revoked_from_another_device", "revoke_others", "sign_out", "account_suspended")


@contextlib.contextmanager
def scenario(name: str) -> Iterator[None]:
    """Name the scenario in a failure of a test that runs several on one server."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{name}: {exc}") from exc


async def test_an_ended_session_is_refused_everywhere_and_its_socket_closes(live: Api, mk: Factory) -> None:
    for way in WAYS:  # one server for all four: each starts in seconds
        with scenario(way):
            await _session_ends(live, mk, way)


async def _session_ends(live: Api, mk: Factory, way: str) -> None:
    laptop, phone_app = await sign_in_devices(mk, new_phone(), "Ноутбук", "Телефон")
    await live.as_(laptop).patch(f"{API}/me", json={"first_name": "Анна", "last_name": "Иванова"})
    friend = await mk.user()
    chat = await mk.chat(friend, [laptop])
    since = await live.as_(laptop).last_event_id()
    laptop_ws, phone_ws = await open_ws(live, laptop.token), await open_ws(live, phone_app.token)

    if way == "revoked_from_another_device":
        gone = await live.as_(phone_app).delete(f"{API}/sessions/{await session_id(live, laptop)}")
        assert gone.status_code == 204
    elif way == "revoke_others":
        assert (await live.as_(phone_app).delete(f"{API}/sessions")).json() == {"revoked": 1}
    elif way == "sign_out":
        own = await session_id(live, laptop)
        assert (await live.as_(laptop).delete(f"{API}/sessions/{own}")).status_code == 204
    else:
        await suspend(live, mk, laptop)

    await assert_signed_out(laptop_ws)
    laptop_api = live.as_(laptop)
    assert_401(await laptop_api.get(f"{API}/me"))
    assert_401(await laptop_api.get(f"{API}/sync", params={"since": since}))
    assert_401(await laptop_api.patch(f"{API}/me", json={"first_name": "Взломщик"}))
    sent = {"text": "после выхода", "client_msg_id": uuid.uuid4().hex}
    assert_401(await laptop_api.post(f"{API}/chats/{chat['id']}/messages", json=sent))
    await assert_ws_refused(live.ws_url, laptop.token)
    # The real client gives up at once instead of reconnecting forever.
    async with PartaClient(str(live.client.base_url), token=laptop.token) as client:
        with pytest.raises(PartaApiError) as sync_refused:
            await client.sync(since)
        assert (sync_refused.value.status, sync_refused.value.code) == (401, "not_authenticated")
        with pytest.raises(PartaApiError) as stream_refused:
            await asyncio.wait_for(first_event(client, since), timeout=WAIT)
        assert stream_refused.value.code == "not_authenticated"
    # Nothing the refused calls sent was stored.
    history = (await live.as_(friend).get(f"{API}/chats/{chat['id']}/messages")).json()["messages"]
    assert "после выхода" not in [m["text"] for m in history]
    assert (await live.as_(friend).get(f"{API}/users/{laptop.id}")).json()["first_name"] == "Анна"

    if way == "account_suspended":
        await assert_signed_out(phone_ws)  # every session of the account ends
        assert_401(await live.as_(phone_app).get(f"{API}/me"))
    else:
        # The other device keeps working, its live socket included.
        assert (await live.as_(phone_app).get(f"{API}/me")).status_code == 200
        await next_event(phone_ws, "session.revoked")
        await mk.message(friend, chat["id"], "Вы ещё здесь?")
        assert (await next_event(phone_ws, "message.created"))["data"]["message"]["text"] == "Вы ещё здесь?"
        await phone_ws.close()


# The hub and the gateway behave alike on both databases: SQLite is enough here.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_socket_authenticated_just_before_its_revocation_is_closed(
    live: Api, mk: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revocation commits and reaches the hub after the socket's token was checked
    but before the socket joined the hub: it must not stay open on a dead session."""
    laptop, phone_app = await sign_in_devices(mk, new_phone(), "Ноутбук", "Телефон")
    watcher = await open_ws(live, phone_app.token)  # hears the revocation once the hub handled it
    real_authenticate = accounts.authenticate

    async def revoked_right_after_the_check(db: Any, token: str) -> tuple[User, Session]:
        user, session = await real_authenticate(db, token)
        if token == laptop.token:
            async with live.app.state.services.database.session() as other:
                await accounts.revoke_session(other, user, session.id)
            await next_event(watcher, "session.revoked")
        return user, session

    monkeypatch.setattr(accounts, "authenticate", revoked_right_after_the_check)
    await assert_ws_refused(live.ws_url, laptop.token)
    monkeypatch.undo()
    assert_401(await live.as_(laptop).get(f"{API}/me"))


async def test_signing_out_on_one_process_closes_the_socket_on_another(
    pg_database_url: str,
    tmp_path: Path,
    redis_url: str,  # noqa: F811
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    # Process A serves in this test's loop, B is a `parta serve` subprocess. Polling is
    # 60 s in both: only the Redis wake-up can close B's socket within the guard.
    env = {
        "PARTA_REDIS_URL": redis_url,
        "PARTA_REDIS_PREFIX": prefix,
        "PARTA_TAIL_POLL_SECONDS": "60",
        "PARTA_SECRET_KEY": "test-secret",
    }
    async with (
        live_server(
            database_url=pg_database_url,
            data_dir=tmp_path / "a",
            redis_url=redis_url,
            redis_prefix=prefix,
            tail_poll_seconds=60,
        ) as a,
        running_server(pg_database_url, tmp_path / "b", **env) as b,
    ):
        anna = await Factory(a).user("Анна")
        ws_b = f"ws://127.0.0.1:{b.port}{API}/ws"
        ws = await connect(ws_b, open_timeout=WAIT)
        await ws.send(json.dumps({"type": "auth", "token": anna.token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT))["type"] == "ready"
        own = await session_id(a, anna)
        assert (await a.as_(anna).delete(f"{API}/sessions/{own}")).status_code == 204
        await assert_signed_out(ws)
        async with httpx.AsyncClient(base_url=b.base_url) as on_b:
            assert_401(await on_b.get(f"{API}/me", headers={"Authorization": f"Bearer {anna.token}"}))
        await assert_ws_refused(ws_b, anna.token)


# Timing: "no such user" and "wrong code" do the same work and answer alike


class Work:
    """What the server did for each request: SQL statements (text, without parameters)
    and calls of the keyed code hash and of the constant-time comparison."""

    def __init__(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements: list[str] = []
        self.hashes = 0
        self.comparisons = 0
        self._engine = api.app.state.services.database.engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._on_sql)
        real_hash, real_same = tokens.code_hash, tokens.same

        def counted_hash(key: bytes, phone: str, code: str) -> str:
            self.hashes += 1
            return real_hash(key, phone, code)

        def counted_same(a: str, b: str) -> bool:
            self.comparisons += 1
            return real_same(a, b)

        monkeypatch.setattr(tokens, "code_hash", counted_hash)
        monkeypatch.setattr(tokens, "same", counted_same)

    def _on_sql(self, _conn: SqlConnection, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(" ".join(statement.split()))

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._on_sql)

    async def of(self, call: Awaitable[httpx.Response]) -> tuple[httpx.Response, tuple[list[str], int, int]]:
        self.statements, self.hashes, self.comparisons = [], 0, 0
        response = await call
        return response, (self.statements, self.hashes, self.comparisons)


@pytest.fixture
def work(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    counter = Work(api, monkeypatch)
    yield counter
    counter.close()


def _answer(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    return response.status_code, response.json(), dict(response.headers)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_no_such_user_answers_like_a_wrong_code_after_the_same_work(
    api: Api, make: Factory, work: Work
) -> None:
    known = await make.user()
    idle = await make.user()  # an account with no code pending
    clock.travel(timedelta(seconds=61))

    # Asking for a code: the same work and answer for an account's phone and a new one.
    stranger_with_code = new_phone()
    for_known, known_work = await work.of(api.post(f"{API}/auth/code", json={"phone": known.phone}))
    for_new, new_work = await work.of(api.post(f"{API}/auth/code", json={"phone": stranger_with_code}))
    assert for_known.status_code == for_new.status_code == 200
    assert set(for_known.json()) == set(for_new.json()) == {"phone", "expires_at", "resend_after"}
    assert for_known.json()["resend_after"] == for_new.json()["resend_after"]
    assert dict(for_known.headers).keys() == dict(for_new.headers).keys()
    assert known_work == new_work and known_work[1] == 1  # one keyed hash: the new code's
    known_code, stranger_code = api.last_code(known.phone), api.last_code(stranger_with_code)

    # Checking a code: "no such user" does what a wrong guess does and answers the same.
    def attempt(phone: str, code: str) -> Awaitable[httpx.Response]:
        return api.post(f"{API}/auth/token", json={"phone": phone, "code": code, "device_name": "x"})

    cases = {
        "no such user": await work.of(attempt(new_phone(), "123456")),
        "wrong code for an account": await work.of(attempt(known.phone, _wrong(known_code))),
        "wrong code, no account yet": await work.of(attempt(stranger_with_code, _wrong(stranger_code))),
        "account without a code": await work.of(attempt(idle.phone, "123456")),
    }
    answers = {name: _answer(response) for name, (response, _) in cases.items()}
    done = {name: done for name, (_, done) in cases.items()}
    first = answers["no such user"]
    assert first[0] == 401 and first[1]["error"]["code"] == ErrorCode.code_invalid
    assert first[1]["error"]["field"] == "code" and first[1]["error"]["message"]
    assert all(answer == first for answer in answers.values()), answers
    statements, hashes, comparisons = done["no such user"]
    assert (hashes, comparisons) == (1, 1)
    assert any(s.upper().startswith("UPDATE LOGIN_CODES") for s in statements), statements
    assert all(d == done["no such user"] for d in done.values()), done
    # A wrong guess leaves the code usable.
    assert (await attempt(known.phone, known_code)).status_code == 200


# Logs


def test_redaction_hides_tokens_codes_and_secrets_and_masks_phones() -> None:
    token = secrets.token_urlsafe(32)
    lines = {
        f'127.0.0.1:5 - "GET /api/v1/invites/{token} HTTP/1.1" 200': '"GET /api/v1/invites/*** HTTP/1.1" 200',
        f"POST /api/v1/org-invites/{token}/join": "POST /api/v1/org-invites/***/join",
        f"GET /join/{token}": "GET /join/***",
        f"GET /join/org/{token}?x=1": "GET /join/org/***?x=1",
        f'"WebSocket /api/v1/ws?token={token}&since=5" [accepted]': "/api/v1/ws?token=***&since=5",
        f"Authorization: Bearer {token}": "Authorization: Bearer ***",
        f'< TEXT \'{{"type":"auth","token":"{token}"}}\'': '{"type":"auth","token":"***"}',
        '{"phone": "+79123456789", "code": "042917"}': '{"phone": "+7912***6789", "code": "***"}',
        "POST https://sms.example/send?key=s3cr3t&to=1": "https://sms.example/send?key=***&to=1",
        "connect to postgresql://parta:s3cr3t@db:5432/parta": "postgresql://parta:***@db:5432/parta",
        "redis://:s3cr3t@cache:6379/0 unreachable": "redis://:***@cache:6379/0",
    }
    for line, expected in lines.items():
        assert expected in redact(line), (line, redact(line))
        assert token not in redact(line) and "s3cr3t" not in redact(line)
    # Ids and error codes stay readable.
    for kept in (
        "DELETE /api/v1/chats/5/invites/12",
        '{"code":"not_authenticated"}',
        "/api/v1/join-requests",
    ):
        assert redact(kept) == kept
    assert mask_phone("+79123456789") == "+7912***6789"


def test_the_server_secret_is_not_shown_when_the_settings_are_printed(tmp_path: Path) -> None:
    # A traceback with locals, a debug print of the settings: the secret stays hidden,
    # and it still peppers the code hashes.
    settings = Settings(data_dir=tmp_path, secret_key="pepper-4f1c2a")
    assert "pepper-4f1c2a" not in repr(settings)
    assert "pepper-4f1c2a" not in str(settings.model_dump())
    assert settings.resolved_secret_key == b"pepper-4f1c2a"


def test_the_filter_keeps_uvicorns_access_record_shape_and_redacts_tracebacks() -> None:
    token = secrets.token_urlsafe(32)
    access = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/api/v1/invites/{token}", "1.1", 200), None,
    )  # fmt: skip
    assert RedactSecrets().filter(access)
    assert access.getMessage() == '127.0.0.1:5 - "GET /api/v1/invites/*** HTTP/1.1" 200'
    try:
        raise ValueError(f"[parameters: ('+79123456789', '{token}')]")
    except ValueError:
        failed = logging.LogRecord("parta.api", logging.ERROR, "", 0, "unhandled error", (), sys.exc_info())
    assert RedactSecrets().filter(failed)
    assert failed.exc_text is not None and "+79123456789" not in failed.exc_text
    assert "+7912***6789" in failed.exc_text


SIX_DIGITS = re.compile(r"(?<!\d)\d{6}(?!\d)")


async def test_a_full_run_leaves_no_secret_in_the_logs(tmp_path: Path, sqlite_template: Path) -> None:
    """A real server with DEBUG logging and the access log on, codes sent by webhook
    (the development sender logs them by design): after a run through every place a
    secret passes, none of them is in anything the server wrote."""
    hook = Hook(statuses=[500])  # the first delivery fails: the failure is logged too
    secret_key = secrets.token_hex(32)
    gateway_key = secrets.token_urlsafe(16)
    data_dir = tmp_path / "data"
    async with hook_server(hook) as hook_url:
        env = {
            "PARTA_CODE_SENDER": "webhook",
            "PARTA_CODE_WEBHOOK_URL": f"{hook_url}?key={gateway_key}",
            "PARTA_SECRET_KEY": secret_key,
            "PARTA_LOG_LEVEL": "DEBUG",
            "PARTA_CODE_RESEND_SECONDS": "0",
        }
        database = tmp_path / "parta.db"
        shutil.copy(sqlite_template, database)  # migrated already: the server starts sooner
        async with running_server(f"sqlite:///{database}", data_dir, **env) as server:
            seen = await _full_run(server.base_url, hook)
    seen |= {secret_key, gateway_key}
    logs = {path: path.read_text(errors="replace") for path in sorted(data_dir.rglob("*.log"))}
    assert server.log_path in logs and not (data_dir / "otp.log").exists()
    text = "\n".join(logs.values())
    # The run was logged (access log on, DEBUG on), with its tokens hidden.
    assert '"GET /api/v1/invites/*** HTTP/1.1" 200' in text
    assert '"POST /api/v1/org-invites/***/join HTTP/1.1"' in text
    assert "/api/v1/ws?token=***" in text
    assert "code webhook failed: HTTP 500 from http://127.0.0.1:" in text
    assert "tailer:" in text  # a DEBUG line of Parta's
    leaks = [
        f"{secret!r} in: {line.strip()}"
        for secret in sorted(seen)
        for line in text.splitlines()
        if (re.search(rf"(?<!\d){secret}(?!\d)", line) if SIX_DIGITS.fullmatch(secret) else secret in line)
    ]
    assert not leaks, "secrets in the server's logs:\n" + "\n".join(leaks)


async def _full_run(base_url: str, hook: Hook) -> set[str]:
    """Sign-up, sign-in on two devices, sessions, org and chat invite links, a file,
    live events over a WebSocket, sync and sign-out; returns every secret that passed."""
    seen: set[str] = set()
    teacher_phone, parent_phone = "+79125550301", "+79125550302"
    seen |= {teacher_phone, parent_phone, teacher_phone[2:], parent_phone[2:]}
    async with httpx.AsyncClient(base_url=base_url + API, timeout=WAIT) as http:

        async def sign_in(phone: str, device: str) -> dict[str, str]:
            sent = await http.post("/auth/code", json={"phone": phone})
            if sent.status_code == 503:  # the gateway's first answer was 500
                sent = await http.post("/auth/code", json={"phone": phone})
            assert sent.status_code == 200, sent.text
            code = hook.requests[-1][2]["code"]
            seen.add(code)
            wrong = await http.post("/auth/token", json={"phone": phone, "code": _wrong(code)})
            assert wrong.status_code == 401
            body = {"phone": phone, "code": code, "device_name": device}
            token = (await http.post("/auth/token", json=body)).json()["token"]
            seen.add(token)
            return {"Authorization": f"Bearer {token}"}

        teacher = await sign_in(teacher_phone, "Ноутбук")
        teacher_phone_app = await sign_in(teacher_phone, "Телефон")
        parent = await sign_in(parent_phone, "Телефон")
        for headers, name in ((teacher, "Анна"), (parent, "Борис")):
            named = await http.patch(
                "/me", json={"first_name": name, "last_name": "Тестова"}, headers=headers
            )
            assert named.status_code == 200, named.text
        sessions = (await http.get("/sessions", headers=teacher)).json()["sessions"]
        other = next(s["id"] for s in sessions if not s["is_current"])
        assert (await http.delete(f"/sessions/{other}", headers=teacher)).status_code == 204
        assert (await http.get("/me", headers=teacher_phone_app)).status_code == 401

        org_body = {
            "kind": "school",
            "full_name": "Школа № 5 города",
            "short_name": "Школа № 5",
            "region": "77",
        }
        org = (await http.post("/orgs", json=org_body, headers=teacher)).json()
        link = await http.post(f"/orgs/{org['id']}/invites", json={"role": "staff"}, headers=teacher)
        assert link.status_code == 201, link.text
        org_token = link.json()["token"]
        seen.add(org_token)
        assert (await http.get(f"/org-invites/{org_token}", headers=parent)).status_code == 200
        assert (await http.post(f"/org-invites/{org_token}/join", headers=parent)).status_code < 300
        await http.get(f"{base_url}/join/org/{org_token}")  # the web client's link page

        chat = (
            await http.post(
                "/chats", json={"kind": "group", "title": "5А", "member_ids": []}, headers=teacher
            )
        ).json()
        link = await http.post(f"/chats/{chat['id']}/invites", headers=teacher)
        assert link.status_code == 201, link.text
        chat_token = link.json()["token"]
        seen.add(chat_token)
        assert (await http.get(f"/invites/{chat_token}", headers=parent)).status_code == 200
        assert (await http.post(f"/invites/{chat_token}/join", headers=parent)).status_code < 300
        await http.get(f"{base_url}/join/{chat_token}")

        files = {"file": ("план.txt", "План урока".encode(), "text/plain")}
        uploaded = await http.post(f"/chats/{chat['id']}/files", files=files, headers=teacher)
        assert uploaded.status_code == 201, uploaded.text
        file_id = uploaded.json()["id"]
        parent_token = parent["Authorization"].removeprefix("Bearer ")
        async with PartaClient(base_url, token=parent_token) as client:
            receiver = Receiver(client, None)
            await wait_for(lambda: client.is_connected, what="the parent's socket")
            body = {"text": "Файл к уроку", "client_msg_id": uuid.uuid4().hex, "file_id": file_id}
            sent = await http.post(f"/chats/{chat['id']}/messages", json=body, headers=teacher)
            assert sent.status_code == 201, sent.text
            await receiver.wait_for(lambda r: sent.json()["id"] in r.message_ids(chat["id"]), "the message")
            assert (await http.get(f"/files/{file_id}", headers=parent)).content == "План урока".encode()
            events, _ = await client.sync(0)
            assert events
            await receiver.stop()
        # A client that puts its token in the URL (Parta's do not): the handshake is logged.
        ws_url = base_url.replace("http://", "ws://") + f"{API}/ws?token={parent_token}"
        async with connect(ws_url, open_timeout=WAIT) as ws:
            await ws.send(json.dumps({"type": "auth", "token": parent_token}))
            assert json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT))["type"] == "ready"
        for headers in (teacher, parent):
            sessions = (await http.get("/sessions", headers=headers)).json()["sessions"]
            current = next(s["id"] for s in sessions if s["is_current"])
            assert (await http.delete(f"/sessions/{current}", headers=headers)).status_code == 204
    return seen
