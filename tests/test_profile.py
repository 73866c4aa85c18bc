"""The profile: names and birth date, required names before chatting, a phone nobody else sees."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from parta import clock
from parta.errors import ErrorCode
from tests.client import Api, Factory, TestUser, error_code

ME = "/api/v1/me"


def assert_invalid(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == ErrorCode.invalid_request
    assert error["field"] == field
    assert error["message"]


async def test_new_account_has_an_incomplete_profile(api: Api, make: Factory) -> None:
    user = await make.user(first_name="")
    me = (await api.as_(user).get(ME)).json()
    assert me["id"] == user.id
    assert me["phone"] == user.phone
    assert me["first_name"] == me["last_name"] == ""
    assert me["is_profile_complete"] is False
    assert "birth_date" not in me
    assert isinstance(me["last_event_id"], int)


async def test_profile_is_complete_once_both_names_are_set(api: Api, make: Factory) -> None:
    user = api.as_(await make.user(first_name=""))
    first = await user.patch(ME, json={"first_name": "Анна"})
    assert first.status_code == 200
    assert first.json()["is_profile_complete"] is False
    second = await user.patch(ME, json={"last_name": "Петрова"})
    assert second.status_code == 200
    body = second.json()
    assert (body["first_name"], body["last_name"], body["is_profile_complete"]) == ("Анна", "Петрова", True)
    me = (await user.get(ME)).json()
    assert (me["first_name"], me["last_name"], me["is_profile_complete"]) == ("Анна", "Петрова", True)


async def test_names_are_trimmed_and_spaces_collapsed(api: Api, make: Factory) -> None:
    user = api.as_(await make.user(first_name=""))
    response = await user.patch(ME, json={"first_name": "  Анна \t Мария ", "last_name": "Ё" * 64})
    assert response.status_code == 200, response.text
    assert response.json()["first_name"] == "Анна Мария"
    assert response.json()["last_name"] == "Ё" * 64


BAD_NAMES: list[Any] = [
    "",
    "   ",
    "\t\n",
    "\u200b",
    "...",
    "Я" * 65,
    "Я" * 201,
    "Ан\x00на",
    "Ан\x07на",
    5,
    None,
]


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("value", BAD_NAMES)
async def test_bad_names_are_refused_with_field(api: Api, make: Factory, field: str, value: Any) -> None:
    user = await make.user()
    response = await api.as_(user).patch(ME, json={field: value})
    if value is None:
        # null means "leave unchanged" for names.
        assert response.status_code == 200
    else:
        assert_invalid(response, field)
    me = (await api.as_(user).get(ME)).json()
    assert (me["first_name"], me["last_name"]) == (user.first_name, user.last_name)


async def test_a_refused_field_changes_nothing(api: Api, make: Factory) -> None:
    user = await make.user()
    response = await api.as_(user).patch(ME, json={"first_name": "Новое", "last_name": " "})
    assert_invalid(response, "last_name")
    assert (await api.as_(user).get(ME)).json()["first_name"] == user.first_name


async def test_birth_date_is_set_kept_and_cleared_with_null(api: Api, make: Factory) -> None:
    user = api.as_(await make.user())
    response = await user.patch(ME, json={"birth_date": "2012-09-01"})
    assert response.status_code == 200
    assert response.json()["birth_date"] == "2012-09-01"
    assert (await user.patch(ME, json={"first_name": "Оля"})).json()["birth_date"] == "2012-09-01"
    assert (await user.get(ME)).json()["birth_date"] == "2012-09-01"
    cleared = await user.patch(ME, json={"birth_date": None})
    assert cleared.status_code == 200
    assert "birth_date" not in cleared.json()
    assert "birth_date" not in (await user.get(ME)).json()


async def test_birth_date_today_is_accepted(api: Api, make: Factory) -> None:
    user = await make.user()
    today = clock.utcnow().date().isoformat()
    response = await api.as_(user).patch(ME, json={"birth_date": today})
    assert response.status_code == 200
    assert response.json()["birth_date"] == today


def _tomorrow() -> str:
    return (clock.utcnow().date() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize("value", ["future", "1850-01-01", "2012-13-01", "вчера", "", 5.5, [2012, 1, 1]])
async def test_bad_birth_date_is_refused(api: Api, make: Factory, value: Any) -> None:
    user = await make.user()
    await api.as_(user).patch(ME, json={"birth_date": "2012-09-01"})
    response = await api.as_(user).patch(ME, json={"birth_date": _tomorrow() if value == "future" else value})
    assert_invalid(response, "birth_date")
    assert (await api.as_(user).get(ME)).json()["birth_date"] == "2012-09-01"


async def test_unknown_fields_are_ignored(api: Api, make: Factory) -> None:
    user = await make.user()
    response = await api.as_(user).patch(
        ME,
        json={"first_name": "Вера", "phone": "+79990000000", "id": 1, "is_profile_complete": False, "x": 1},
    )
    assert response.status_code == 200, response.text
    me = (await api.as_(user).get(ME)).json()
    assert (me["id"], me["phone"], me["first_name"]) == (user.id, user.phone, "Вера")


async def test_profile_needs_a_session(api: Api) -> None:
    for response in [await api.get(ME), await api.patch(ME, json={"first_name": "А"})]:
        assert response.status_code == 401
        assert error_code(response) == ErrorCode.not_authenticated


# Chatting needs a complete profile


async def _send(api: Api, user: TestUser, chat_id: int) -> httpx.Response:
    return await api.as_(user).post(
        f"/api/v1/chats/{chat_id}/messages", json={"text": "Здравствуйте", "client_msg_id": uuid.uuid4().hex}
    )


async def test_member_with_incomplete_profile_cannot_send(api: Api, make: Factory) -> None:
    teacher = await make.user()
    newcomer = await make.user(first_name="")
    chat = await make.chat(teacher)
    added = await api.as_(teacher).post(
        f"/api/v1/chats/{chat['id']}/members", json={"user_ids": [newcomer.id]}
    )
    assert added.status_code == 200, added.text
    refused = await _send(api, newcomer, chat["id"])
    assert refused.status_code == 403
    assert error_code(refused) == ErrorCode.forbidden
    assert refused.json()["error"]["reason"] == "profile_incomplete"
    await api.as_(newcomer).patch(ME, json={"first_name": "Новый", "last_name": "Ученик"})
    assert (await _send(api, newcomer, chat["id"])).status_code == 201


async def test_incomplete_profile_cannot_start_chats(api: Api, make: Factory) -> None:
    teacher = await make.user()
    newcomer = await make.user(first_name="")
    group = await api.as_(newcomer).post(
        "/api/v1/chats", json={"kind": "group", "title": "5А", "member_ids": []}
    )
    assert group.status_code == 403
    assert error_code(group) == ErrorCode.forbidden
    direct = await api.as_(newcomer).post("/api/v1/chats/direct", json={"user_id": teacher.id})
    assert direct.status_code == 403
    assert error_code(direct) == ErrorCode.forbidden


# Nobody else sees a user's phone


def assert_no_phone(response_text: str, *phones: str) -> None:
    for phone in phones:
        digits = phone.removeprefix("+7")
        assert digits not in response_text, f"{phone} leaked: {response_text}"


async def test_phone_is_never_shown_to_other_people(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    since = await api.as_(boris).last_event_id()
    chat = await make.chat(anna, [boris])
    direct = await api.as_(anna).post("/api/v1/chats/direct", json={"user_id": boris.id})
    assert direct.status_code in (200, 201), direct.text
    await make.message(anna, chat["id"], "Завтра контрольная")
    await api.as_(anna).patch(ME, json={"first_name": "Анна", "birth_date": "1990-01-01"})
    as_boris = api.as_(boris)
    responses = [
        await as_boris.get(f"/api/v1/users/{anna.id}"),
        await as_boris.get(f"/api/v1/chats/{chat['id']}/members"),
        await as_boris.get(f"/api/v1/chats/{chat['id']}"),
        await as_boris.get("/api/v1/chats"),
        await as_boris.get(f"/api/v1/chats/{chat['id']}/messages"),
        await as_boris.get("/api/v1/sync", params={"since": since}),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert_no_phone(response.text, anna.phone)
    assert response.json()["events"], "sync should have carried events"
    member_fields = {k for m in responses[1].json()["members"] for k in m}
    assert "phone" not in member_fields
    types = [e["type"] for e in responses[-1].json()["events"]]
    assert "user.updated" in types


async def test_own_sync_does_not_repeat_the_phone(api: Api, make: Factory) -> None:
    anna = await make.user(first_name="")
    since = await api.as_(anna).last_event_id()
    await api.as_(anna).patch(ME, json={"first_name": "Анна", "last_name": "Ким"})
    response = await api.as_(anna).get("/api/v1/sync", params={"since": since})
    assert [e["type"] for e in response.json()["events"]] == ["user.updated"]
    assert_no_phone(response.text, anna.phone)


async def test_profile_change_reaches_chat_members_by_sync(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    await make.chat(anna, [boris])
    since = await api.as_(boris).last_event_id()
    await api.as_(anna).patch(ME, json={"last_name": "Смирнова", "birth_date": "1990-05-06"})
    events = await api.as_(boris).sync(since)
    assert [e["type"] for e in events] == ["user.updated"]
    user = events[0]["data"]["user"]
    assert (user["id"], user["last_name"]) == (anna.id, "Смирнова")
    assert "birth_date" not in user


async def test_strangers_cannot_see_a_user(api: Api, make: Factory) -> None:
    anna, stranger = await make.users(2)
    response = await api.as_(stranger).get(f"/api/v1/users/{anna.id}")
    assert response.status_code == 404
    assert error_code(response) == ErrorCode.user_not_found
    assert_no_phone(response.text, anna.phone)
