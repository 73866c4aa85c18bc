"""Sessions: one per signed-in device, listable and revocable; bearer tokens stored hashed."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from parta import clock
from parta.errors import ErrorCode
from tests.client import Api, Factory, TestUser, error_code, new_phone

SESSIONS = "/api/v1/sessions"


async def sign_in_devices(make: Factory, phone: str, *names: str) -> list[TestUser]:
    """The same person signing in on several devices (past the resend interval each time)."""
    devices = []
    for name in names:
        body = await make.sign_in(phone, device_name=name)
        devices.append(TestUser(id=body["user"]["id"], phone=phone, token=body["token"]))
        clock.travel(timedelta(seconds=61))
    return devices


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert error_code(response) == ErrorCode.not_authenticated
    assert response.json()["error"]["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def session_list(api: Api, device: TestUser) -> list[dict[str, Any]]:
    response = await api.as_(device).get(SESSIONS)
    assert response.status_code == 200, response.text
    sessions: list[dict[str, Any]] = response.json()["sessions"]
    return sessions


async def test_each_sign_in_is_a_device_and_the_list_marks_the_current_one(api: Api, make: Factory) -> None:
    phone = new_phone()
    phone_app, laptop, tablet = await sign_in_devices(make, phone, "Телефон", "Ноутбук", "Планшет")
    await make.user()  # someone else's session is not listed
    sessions = await session_list(api, laptop)
    assert sorted(s["device_name"] for s in sessions) == ["Ноутбук", "Планшет", "Телефон"]
    assert [s["device_name"] for s in sessions if s["is_current"]] == ["Ноутбук"]
    assert len({s["id"] for s in sessions}) == 3
    for session in sessions:
        assert set(session) == {"id", "device_name", "created_at", "last_seen_at", "is_current"}
    current_on_tablet = [s["device_name"] for s in await session_list(api, tablet) if s["is_current"]]
    assert current_on_tablet == ["Планшет"]
    assert phone_app.id == laptop.id == tablet.id


async def test_last_seen_moves_when_a_device_is_used(api: Api, make: Factory) -> None:
    phone_app, laptop = await sign_in_devices(make, new_phone(), "Телефон", "Ноутбук")
    before = {s["device_name"]: s["last_seen_at"] for s in await session_list(api, laptop)}
    clock.travel(timedelta(minutes=5))
    assert (await api.as_(phone_app).get("/api/v1/me")).status_code == 200
    after = {s["device_name"]: s["last_seen_at"] for s in await session_list(api, laptop)}
    assert after["Телефон"] > before["Телефон"]


async def test_revoked_session_token_stops_working(api: Api, make: Factory) -> None:
    phone_app, laptop = await sign_in_devices(make, new_phone(), "Телефон", "Ноутбук")
    target = next(s for s in await session_list(api, phone_app) if s["device_name"] == "Ноутбук")
    response = await api.as_(phone_app).delete(f"{SESSIONS}/{target['id']}")
    assert response.status_code == 204
    assert_unauthenticated(await api.as_(laptop).get("/api/v1/me"))
    assert (await api.as_(phone_app).get("/api/v1/me")).status_code == 200
    assert [s["device_name"] for s in await session_list(api, phone_app)] == ["Телефон"]
    again = await api.as_(phone_app).delete(f"{SESSIONS}/{target['id']}")
    assert again.status_code == 404
    assert error_code(again) == ErrorCode.session_not_found


async def test_revoking_the_current_session_signs_out(api: Api, make: Factory) -> None:
    user = await make.user()
    [current] = await session_list(api, user)
    assert (await api.as_(user).delete(f"{SESSIONS}/{current['id']}")).status_code == 204
    assert_unauthenticated(await api.as_(user).get(SESSIONS))


async def test_another_users_session_cannot_be_revoked(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    [boris_session] = await session_list(api, boris)
    response = await api.as_(anna).delete(f"{SESSIONS}/{boris_session['id']}")
    assert response.status_code == 404
    assert error_code(response) == ErrorCode.session_not_found
    assert response.json()["error"]["message"]
    assert (await api.as_(boris).get("/api/v1/me")).status_code == 200
    missing = await api.as_(anna).delete(f"{SESSIONS}/999999")
    assert missing.status_code == 404
    assert error_code(missing) == ErrorCode.session_not_found


async def test_revoke_others_keeps_the_current_session(api: Api, make: Factory) -> None:
    phone_app, laptop, tablet = await sign_in_devices(make, new_phone(), "Телефон", "Ноутбук", "Планшет")
    bystander = await make.user()
    response = await api.as_(laptop).delete(SESSIONS)
    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert_unauthenticated(await api.as_(phone_app).get("/api/v1/me"))
    assert_unauthenticated(await api.as_(tablet).get("/api/v1/me"))
    assert (await api.as_(bystander).get("/api/v1/me")).status_code == 200
    sessions = await session_list(api, laptop)
    assert [(s["device_name"], s["is_current"]) for s in sessions] == [("Ноутбук", True)]
    assert (await api.as_(laptop).delete(SESSIONS)).json() == {"revoked": 0}


async def test_other_devices_learn_of_a_revocation_by_sync(api: Api, make: Factory) -> None:
    phone_app, _laptop, tablet = await sign_in_devices(make, new_phone(), "Телефон", "Ноутбук", "Планшет")
    since = await api.as_(phone_app).last_event_id()
    target = next(s for s in await session_list(api, phone_app) if s["device_name"] == "Ноутбук")
    await api.as_(phone_app).delete(f"{SESSIONS}/{target['id']}")
    events = await api.as_(tablet).sync(since)
    assert [(e["type"], e["data"]) for e in events] == [("session.revoked", {"session_id": target["id"]})]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer garbage-token",
        "Bearer " + "x" * 5000,
        "Token abc",
        "Basic dXNlcjpwYXNz",
    ],
)
async def test_requests_without_a_valid_bearer_token_are_refused(
    api: Api, make: Factory, authorization: str | None
) -> None:
    await make.user()
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, url in [
        ("GET", "/api/v1/me"),
        ("GET", SESSIONS),
        ("DELETE", SESSIONS),
        ("DELETE", f"{SESSIONS}/1"),
    ]:
        assert_unauthenticated(await api.request(method, url, headers=headers))


async def test_basic_scheme_with_a_real_token_is_refused(api: Api, make: Factory) -> None:
    user = await make.user()
    assert_unauthenticated(await api.get("/api/v1/me", headers={"Authorization": f"Basic {user.token}"}))
    assert (await api.get("/api/v1/me", headers={"Authorization": f"bearer {user.token}"})).status_code == 200


async def test_tokens_are_stored_only_as_hashes(api: Api, make: Factory, database_url: str) -> None:
    users = await make.users(2)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(text("SELECT * FROM sessions ORDER BY id"))).all()
    finally:
        await engine.dispose()
    assert len(stored) == 2
    for user, row in zip(users, stored, strict=True):
        values = " ".join(str(v) for v in row._mapping.values())
        assert user.token not in values
        assert row._mapping["token_hash"] == hashlib.sha256(user.token.encode()).hexdigest()


async def test_session_id_must_be_an_integer(api: Api, make: Factory) -> None:
    user = await make.user()
    response = await api.as_(user).delete(f"{SESSIONS}/abc")
    assert response.status_code == 400
    assert error_code(response) == ErrorCode.invalid_request


async def test_every_error_body_has_a_code_and_a_message(api: Api, make: Factory) -> None:
    user = await make.user()
    phone = new_phone()
    await api.post("/api/v1/auth/code", json={"phone": phone})
    responses = [
        await api.post("/api/v1/auth/code", json={"phone": "abc"}),
        await api.post("/api/v1/auth/code", json={"phone": 5}),
        await api.post("/api/v1/auth/code", json={"phone": phone}),
        await api.post("/api/v1/auth/token", json={"phone": phone, "code": "x"}),
        await api.post("/api/v1/auth/token", json={"phone": new_phone(), "code": "123456"}),
        await api.get("/api/v1/me"),
        await api.as_(user).patch("/api/v1/me", json={"first_name": " "}),
        await api.as_(user).delete(f"{SESSIONS}/999999"),
        await api.as_(user).request("PUT", SESSIONS),
        await api.get("/api/v1/no-such-route"),
    ]
    for response in responses:
        assert response.status_code >= 400, response.text
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"] in set(ErrorCode)
        assert isinstance(error["message"], str) and error["message"]
