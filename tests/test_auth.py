"""Sign-in by phone: codes, their limits and delivery, and the first sign-in."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import create_async_engine

from parta import clock
from parta.app import create_app
from parta.codes import WebhookCodeSender
from parta.config import Settings
from parta.errors import ErrorCode, ServiceUnavailable
from tests.client import Api, Factory, new_phone

CODE = "/api/v1/auth/code"
TOKEN = "/api/v1/auth/token"


async def rows(database_url: str, sql: str) -> Sequence[Row[Any]]:
    """Read the database directly, as an attacker holding a copy of it would."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).all()
    finally:
        await engine.dispose()


async def request_code(api: Api, phone: str) -> str:
    response = await api.post(CODE, json={"phone": phone})
    assert response.status_code == 200, response.text
    return api.last_code(phone)


async def sign_in(api: Api, phone: str, code: str) -> httpx.Response:
    return await api.post(TOKEN, json={"phone": phone, "code": code, "device_name": "Телефон"})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def assert_error(response: httpx.Response, status: int, code: ErrorCode) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# Requesting codes


async def test_code_request_answers_number_expiry_and_resend_interval(api: Api) -> None:
    before = clock.utcnow()
    response = await api.post(CODE, json={"phone": "+7 912 345 67 89"})
    after = clock.utcnow()
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"phone", "expires_at", "resend_after"}
    assert body["phone"] == "+79123456789"
    assert body["resend_after"] == 60
    expires_at = parse_ts(body["expires_at"])
    assert expires_at.tzinfo is not None
    # Five minutes from the moment the server answered (however long that took).
    second = timedelta(seconds=1)
    assert before + timedelta(seconds=300) - second <= expires_at <= after + timedelta(seconds=300) + second


async def test_dev_sender_appends_one_json_line_per_code(api: Api) -> None:
    first, second = new_phone(), new_phone()
    await request_code(api, first)
    await request_code(api, second)
    lines = (api.data_dir / "otp.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    entries = [json.loads(line) for line in lines]
    assert [e["phone"] for e in entries] == [first, second]
    for entry in entries:
        assert re.fullmatch(r"\d{6}", entry["code"])
        assert parse_ts(entry["expires_at"]) > clock.utcnow()


async def test_codes_are_six_digits(api: Api) -> None:
    codes = [await request_code(api, new_phone()) for _ in range(10)]
    assert all(re.fullmatch(r"[0-9]{6}", code) for code in codes)
    assert len(set(codes)) > 1


async def test_codes_are_stored_only_as_hashes(api: Api, database_url: str) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    stored = await rows(database_url, "SELECT * FROM login_codes")
    assert len(stored) == 1
    row = stored[0]._mapping
    assert code not in " ".join(str(v) for v in row.values())
    assert re.fullmatch(r"[0-9a-f]{64}", row["code_hash"])


async def test_resend_within_a_minute_is_rate_limited(api: Api) -> None:
    phone = new_phone()
    await request_code(api, phone)
    clock.travel(timedelta(seconds=20))
    response = await api.post(CODE, json={"phone": phone})
    error = assert_error(response, 429, ErrorCode.rate_limited)
    assert 39 <= error["retry_after"] <= 41
    assert response.headers["Retry-After"] == str(error["retry_after"])
    clock.travel(timedelta(seconds=41))
    assert (await api.post(CODE, json={"phone": phone})).status_code == 200


async def test_resend_interval_counts_the_number_not_its_spelling(api: Api) -> None:
    await request_code(api, "+79123456789")
    response = await api.post(CODE, json={"phone": "8 (912) 345-67-89"})
    assert_error(response, 429, ErrorCode.rate_limited)


async def test_at_most_five_codes_per_phone_per_hour(api: Api) -> None:
    phone = new_phone()
    for _ in range(5):
        await request_code(api, phone)
        clock.travel(timedelta(seconds=61))
    response = await api.post(CODE, json={"phone": phone})
    error = assert_error(response, 429, ErrorCode.rate_limited)
    # The oldest of the five was sent 5 * 61 s ago; it leaves the window at one hour.
    assert error["retry_after"] == 3600 - 5 * 61
    assert response.headers["Retry-After"] == str(error["retry_after"])
    assert (await api.post(CODE, json={"phone": new_phone()})).status_code == 200
    clock.travel(timedelta(seconds=error["retry_after"] + 1))
    assert (await api.post(CODE, json={"phone": phone})).status_code == 200


async def test_at_most_ten_codes_per_phone_per_day(api: Api) -> None:
    """Ten codes a day, five tries each: guessing a phone's codes is bounded at 50 tries a
    day (docs/security.md), however the attacker spreads the requests over the hours."""
    phone = new_phone()
    for n in range(10):
        await request_code(api, phone)
        clock.travel(timedelta(minutes=20) if n % 5 != 4 else timedelta(hours=1))
    response = await api.post(CODE, json={"phone": phone})
    error = assert_error(response, 429, ErrorCode.rate_limited)
    # The first code leaves the 24-hour window first.
    elapsed = 8 * 20 * 60 + 2 * 3600
    assert error["retry_after"] == 24 * 3600 - elapsed
    clock.travel(timedelta(seconds=error["retry_after"] + 1))
    assert (await api.post(CODE, json={"phone": phone})).status_code == 200


@asynccontextmanager
async def api_with_ip_limit(database_url: str, data_dir: Path, limit: int) -> AsyncIterator[Api]:
    """Like ``Api.start``, which fixes ``code_per_ip_per_hour`` and so cannot override it."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="test-secret",
        code_per_ip_per_hour=limit,
        rate_limit_scale=1000,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        try:
            yield Api(client, data_dir, settings, app)
        finally:
            await app.state.services.database.dispose()


async def test_code_requests_per_ip_are_limited(database_url: str, tmp_path: Path) -> None:
    async with api_with_ip_limit(database_url, tmp_path / "ip", limit=3) as api:
        for _ in range(3):
            await request_code(api, new_phone())
        response = await api.post(CODE, json={"phone": new_phone()})
        error = assert_error(response, 429, ErrorCode.rate_limited)
        assert 3590 <= error["retry_after"] <= 3600
        assert response.headers["Retry-After"] == str(error["retry_after"])
        clock.travel(timedelta(hours=1, seconds=1))
        assert (await api.post(CODE, json={"phone": new_phone()})).status_code == 200


async def test_concurrent_requests_for_one_phone_send_one_code(api: Api) -> None:
    phone = new_phone()
    responses = await asyncio.gather(*(api.post(CODE, json={"phone": phone}) for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [429] * 5
    lines = (api.data_dir / "otp.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1


async def test_broken_dev_sender_answers_delivery_failure(api: Api) -> None:
    (api.data_dir / "otp.log").mkdir(parents=True)
    phone = new_phone()
    assert_error(await api.post(CODE, json={"phone": phone}), 503, ErrorCode.code_delivery_failed)
    (api.data_dir / "otp.log").rmdir()
    # The failed attempt does not count against the resend interval.
    await request_code(api, phone)


async def test_failed_delivery_leaves_the_previous_code_working(api: Api) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    clock.travel(timedelta(seconds=61))
    otp_log = api.data_dir / "otp.log"
    otp_log.rename(api.data_dir / "otp.log.bak")
    otp_log.mkdir()
    assert_error(await api.post(CODE, json={"phone": phone}), 503, ErrorCode.code_delivery_failed)
    assert (await sign_in(api, phone, code)).status_code == 200


# Exchanging codes


async def test_first_sign_in_creates_the_account_and_the_second_does_not(api: Api, make: Factory) -> None:
    phone = new_phone()
    first = await make.sign_in(phone)
    assert set(first) == {"token", "user", "is_new_user"}
    assert first["is_new_user"] is True
    assert first["user"]["phone"] == phone
    assert first["user"]["is_profile_complete"] is False
    assert None not in first["user"].values()  # compact, like GET /me
    assert first["token"]
    clock.travel(timedelta(seconds=61))
    second = await make.sign_in(phone)
    assert second["is_new_user"] is False
    assert second["user"]["id"] == first["user"]["id"]
    assert second["token"] != first["token"]
    me = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {second['token']}"})
    assert me.json()["id"] == first["user"]["id"]


async def test_code_works_until_five_minutes_pass(api: Api) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    clock.travel(timedelta(seconds=299))
    assert (await sign_in(api, phone, code)).status_code == 200


async def test_code_expires_after_five_minutes(api: Api) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    clock.travel(timedelta(seconds=301))
    assert_error(await sign_in(api, phone, code), 401, ErrorCode.code_expired)
    fresh = await request_code(api, phone)
    assert (await sign_in(api, phone, fresh)).status_code == 200


async def test_five_wrong_codes_lock_out_even_the_right_one(api: Api) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    for _ in range(5):
        error = assert_error(await sign_in(api, phone, wrong(code)), 401, ErrorCode.code_invalid)
        assert error["field"] == "code"
    assert_error(await sign_in(api, phone, code), 401, ErrorCode.too_many_attempts)
    clock.travel(timedelta(seconds=61))
    fresh = await request_code(api, phone)
    assert (await sign_in(api, phone, fresh)).status_code == 200


async def test_four_wrong_codes_still_allow_the_right_one(api: Api) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    for _ in range(4):
        assert_error(await sign_in(api, phone, wrong(code)), 401, ErrorCode.code_invalid)
    assert (await sign_in(api, phone, code)).status_code == 200


async def test_concurrent_wrong_guesses_are_all_counted(api: Api) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    guesses = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, 9)]
    answers = await asyncio.gather(*(sign_in(api, phone, guess) for guess in guesses))
    codes = sorted(r.json()["error"]["code"] for r in answers)
    assert codes == [ErrorCode.code_invalid] * 5 + [ErrorCode.too_many_attempts] * 3
    assert_error(await sign_in(api, phone, code), 401, ErrorCode.too_many_attempts)


async def test_concurrent_use_of_one_code_signs_in_once(api: Api) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    answers = await asyncio.gather(*(sign_in(api, phone, code) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [200, 401, 401, 401]
    assert [r.json()["is_new_user"] for r in answers if r.status_code == 200] == [True]
    for refused in (r for r in answers if r.status_code == 401):
        assert refused.json()["error"]["code"] == ErrorCode.code_invalid


async def test_a_new_code_invalidates_the_old_one(api: Api) -> None:
    phone = new_phone()
    old = await request_code(api, phone)
    new = old
    while new == old:  # a one-in-a-million repeat of the random code: draw again
        clock.travel(timedelta(seconds=61))
        new = await request_code(api, phone)
    assert_error(await sign_in(api, phone, old), 401, ErrorCode.code_invalid)
    assert (await sign_in(api, phone, new)).status_code == 200


async def test_a_used_code_cannot_be_reused(api: Api) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    assert (await sign_in(api, phone, code)).status_code == 200
    assert_error(await sign_in(api, phone, code), 401, ErrorCode.code_invalid)


async def test_a_code_belongs_to_its_phone(api: Api) -> None:
    owner, other = new_phone(), new_phone()
    code = await request_code(api, owner)
    await request_code(api, other)
    while api.last_code(other) == code:  # a one-in-a-million repeat: draw again
        clock.travel(timedelta(seconds=61))
        await request_code(api, other)
    assert_error(await sign_in(api, other, code), 401, ErrorCode.code_invalid)
    assert_error(await sign_in(api, new_phone(), code), 401, ErrorCode.code_invalid)


async def test_code_may_be_typed_in_another_spelling_of_the_number(api: Api) -> None:
    code = await request_code(api, "+79123456789")
    response = await sign_in(api, "8 (912) 345-67-89", f" {code} ")
    assert response.status_code == 200
    assert response.json()["user"]["phone"] == "+79123456789"


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "+79123456789"},
        {"phone": "+79123456789", "code": 123456},
        {"phone": "+79123456789", "code": None},
        {"phone": "+79123456789", "code": "1" * 17},
        {"code": "123456"},
        {"phone": "+79123456789", "code": "123456", "device_name": 5},
        {"phone": "+79123456789", "code": "123456", "device_name": "x" * 129},
    ],
)
async def test_malformed_token_request_is_an_invalid_request(api: Api, body: dict[str, Any]) -> None:
    assert_error(await api.post(TOKEN, json=body), 400, ErrorCode.invalid_request)


async def test_control_characters_in_device_name_are_dropped(api: Api) -> None:
    phone = new_phone()
    code = await request_code(api, phone)
    response = await api.post(TOKEN, json={"phone": phone, "code": code, "device_name": "  Pixel\x00 7\n "})
    assert response.status_code == 200, response.text
    auth = {"Authorization": f"Bearer {response.json()['token']}"}
    sessions = (await api.get("/api/v1/sessions", headers=auth)).json()["sessions"]
    assert [s["device_name"] for s in sessions] == ["Pixel 7"]


# Delivery through a webhook


@dataclass
class Hook:
    """A minimal HTTP/1.1 server on 127.0.0.1 that records POSTs and answers queued statuses."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((request_line, headers, json.loads(body)))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


@asynccontextmanager
async def hook_server(hook: Hook) -> AsyncIterator[str]:
    server = await asyncio.start_server(hook.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/sms"
    finally:
        server.close()
        await server.wait_closed()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_webhook_sender_posts_the_code() -> None:
    hook = Hook()
    expires_at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with hook_server(hook) as url:
        await WebhookCodeSender(url).send(phone="+79123456789", code="042917", expires_at=expires_at)
    [(request_line, headers, body)] = hook.requests
    assert request_line.startswith("POST /sms ")
    assert headers["content-type"] == "application/json"
    assert body == {"phone": "+79123456789", "code": "042917", "expires_at": expires_at.isoformat()}


async def test_webhook_sender_raises_delivery_failure() -> None:
    sender = WebhookCodeSender(f"http://127.0.0.1:{unused_port()}/sms", timeout=5)
    with pytest.raises(ServiceUnavailable):
        await sender.send(phone="+79123456789", code="042917", expires_at=clock.utcnow())
    hook = Hook(statuses=[502])
    async with hook_server(hook) as url:
        with pytest.raises(ServiceUnavailable):
            await WebhookCodeSender(url).send(phone="+79123456789", code="1", expires_at=clock.utcnow())


async def test_sign_in_with_a_code_delivered_by_webhook(database_url: str, tmp_path: Path) -> None:
    hook = Hook()
    async with (
        hook_server(hook) as url,
        Api.start(
            database_url=database_url, data_dir=tmp_path, code_sender="webhook", code_webhook_url=url
        ) as api,
    ):
        response = await api.post(CODE, json={"phone": "8 912 345 67 89"})
        assert response.status_code == 200, response.text
        [(_, _, body)] = hook.requests
        assert body["phone"] == "+79123456789"
        assert re.fullmatch(r"\d{6}", body["code"])
        assert body["expires_at"]
        assert (await sign_in(api, "+79123456789", body["code"])).status_code == 200
    assert not (tmp_path / "otp.log").exists()


async def test_unreachable_webhook_fails_without_blocking_a_retry(database_url: str, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{unused_port()}/sms"
    async with Api.start(
        database_url=database_url, data_dir=tmp_path, code_sender="webhook", code_webhook_url=url
    ) as api:
        for _ in range(3):
            response = await api.post(CODE, json={"phone": "+79123456789"})
            assert_error(response, 503, ErrorCode.code_delivery_failed)
    assert await rows(database_url, "SELECT * FROM login_codes") == []


async def test_failing_webhook_then_working_one_delivers(database_url: str, tmp_path: Path) -> None:
    hook = Hook(statuses=[500])
    async with (
        hook_server(hook) as url,
        Api.start(
            database_url=database_url, data_dir=tmp_path, code_sender="webhook", code_webhook_url=url
        ) as api,
    ):
        assert_error(
            await api.post(CODE, json={"phone": "+79123456789"}), 503, ErrorCode.code_delivery_failed
        )
        assert (await api.post(CODE, json={"phone": "+79123456789"})).status_code == 200
        assert len(hook.requests) == 2
        code = hook.requests[-1][2]["code"]
        assert (await sign_in(api, "+79123456789", code)).status_code == 200
