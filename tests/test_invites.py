"""Invite links through the API: create, list, revoke, preview, join."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from parta import clock, policy
from parta.db.engine import Database
from parta.events.bus import LocalBus
from tests.client import Api, Factory, TestUser, error_code


def _links(chat_id: int) -> str:
    return f"/api/v1/chats/{chat_id}/invites"


async def _create(api: Api, manager: TestUser, chat_id: int, **options: Any) -> dict[str, Any]:
    response = await api.as_(manager).post(_links(chat_id), json=options)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _join(api: Api, user: TestUser | None, token: str) -> Any:
    return await api.as_(user).post(f"/api/v1/invites/{token}/join")


async def _listed(api: Api, manager: TestUser, chat_id: int) -> list[dict[str, Any]]:
    response = await api.as_(manager).get(_links(chat_id))
    assert response.status_code == 200, response.text
    invites: list[dict[str, Any]] = response.json()["invites"]
    return invites


async def _member_count(api: Api, member: TestUser, chat_id: int) -> int:
    return int((await api.as_(member).get(f"/api/v1/chats/{chat_id}")).json()["member_count"])


async def test_newcomer_previews_and_joins_and_members_hear_of_it(api: Api, make: Factory) -> None:
    teacher, parent, newcomer = await make.users(3)
    chat = await make.chat(teacher, [parent], title="5А", kind="group")
    invite = await _create(api, teacher, chat["id"], expires_in_seconds=3600, usage_limit=5)
    assert invite["url"] == f"/join/{invite['token']}"
    assert invite["token_prefix"] == invite["token"][:6]
    assert invite["usage_limit"] == 5 and invite["usage_count"] == 0 and "expires_at" in invite
    parent_since = await api.as_(parent).last_event_id()
    newcomer_since = await api.as_(newcomer).last_event_id()

    preview = await api.as_(newcomer).get(f"/api/v1/invites/{invite['token']}")
    assert preview.status_code == 200
    assert preview.json() == {
        "chat": {"id": chat["id"], "kind": "group", "title": "5А", "member_count": 2},
        "is_member": False,
    }
    assert teacher.phone not in preview.text and parent.phone not in preview.text

    joined = await _join(api, newcomer, invite["token"])
    assert joined.status_code == 200
    assert joined.json()["id"] == chat["id"]
    assert joined.json()["role"] == "member" and joined.json()["member_count"] == 3

    for user, since in ((parent, parent_since), (newcomer, newcomer_since)):
        events = await api.as_(user).sync(since)
        assert [e["type"] for e in events] == ["chat.member_added"]
        assert events[0]["data"] == {
            "chat_id": chat["id"],
            "by": newcomer.id,
            "invite_id": invite["id"],
            "users": [
                {"id": newcomer.id, "first_name": newcomer.first_name, "last_name": newcomer.last_name}
            ],
        }
    again = await api.as_(newcomer).get(f"/api/v1/invites/{invite['token']}")
    assert again.json()["is_member"] is True
    [listed] = await _listed(api, teacher, chat["id"])
    assert listed["usage_count"] == 1 and listed["state"] == "active"


async def test_channel_link_makes_a_reader(api: Api, make: Factory) -> None:
    teacher, pupil = await make.users(2)
    channel = await make.chat(teacher, [], kind="channel", title="Новости школы")
    invite = await _create(api, teacher, channel["id"])
    assert "usage_limit" not in invite and "expires_at" not in invite
    joined = await _join(api, pupil, invite["token"])
    assert joined.status_code == 200 and joined.json()["role"] == "member"
    post = await api.as_(pupil).post(
        f"/api/v1/chats/{channel['id']}/messages", json={"text": "привет", "client_msg_id": "x1"}
    )
    assert post.status_code == 403 and error_code(post) == "forbidden"


async def test_admin_manages_links_with_creator_shown(api: Api, make: Factory) -> None:
    teacher, assistant = await make.users(2)
    chat = await make.chat(teacher, [assistant])
    role = await api.as_(teacher).patch(
        f"/api/v1/chats/{chat['id']}/members/{assistant.id}", json={"role": "admin"}
    )
    assert role.status_code == 204
    invite = await _create(api, assistant, chat["id"])
    [listed] = await _listed(api, teacher, chat["id"])
    assert listed["id"] == invite["id"]
    assert listed["creator"] == {
        "id": assistant.id,
        "first_name": assistant.first_name,
        "last_name": assistant.last_name,
    }
    assert (await api.as_(teacher).delete(f"{_links(chat['id'])}/{invite['id']}")).status_code == 204


async def test_plain_member_may_not_manage_links(api: Api, make: Factory) -> None:
    teacher, parent = await make.users(2)
    chat = await make.chat(teacher, [parent])
    invite = await _create(api, teacher, chat["id"])
    for response in (
        await api.as_(parent).post(_links(chat["id"]), json={}),
        await api.as_(parent).get(_links(chat["id"])),
        await api.as_(parent).delete(f"{_links(chat['id'])}/{invite['id']}"),
    ):
        assert response.status_code == 403 and error_code(response) == "forbidden"
        assert response.json()["error"]["reason"] == "not_chat_admin"
    [listed] = await _listed(api, teacher, chat["id"])
    assert listed["state"] == "active"


async def test_outsider_cannot_see_links(api: Api, make: Factory) -> None:
    teacher, outsider = await make.users(2)
    chat = await make.chat(teacher, [])
    invite = await _create(api, teacher, chat["id"])
    for response in (
        await api.as_(outsider).post(_links(chat["id"]), json={}),
        await api.as_(outsider).get(_links(chat["id"])),
        await api.as_(outsider).delete(f"{_links(chat['id'])}/{invite['id']}"),
        await api.as_(teacher).get(_links(987654)),
    ):
        assert response.status_code == 404 and error_code(response) == "chat_not_found"
    assert [i["state"] for i in await _listed(api, teacher, chat["id"])] == ["active"]


async def test_direct_chat_has_no_invite_links(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    direct = (await api.as_(anna).post("/api/v1/chats/direct", json={"user_id": boris.id})).json()
    response = await api.as_(anna).post(_links(direct["id"]), json={})
    assert response.status_code == 403 and error_code(response) == "forbidden"
    assert response.json()["error"]["reason"] == "direct_chat"


async def test_expired_link_lets_nobody_in(api: Api, make: Factory) -> None:
    teacher, late = await make.users(2)
    chat = await make.chat(teacher, [])
    invite = await _create(api, teacher, chat["id"], expires_in_seconds=60)
    clock.travel(timedelta(seconds=61))
    preview = await api.as_(late).get(f"/api/v1/invites/{invite['token']}")
    assert preview.status_code == 410 and error_code(preview) == "invite_expired"
    joined = await _join(api, late, invite["token"])
    assert joined.status_code == 410 and error_code(joined) == "invite_expired"
    assert await _member_count(api, teacher, chat["id"]) == 1
    [listed] = await _listed(api, teacher, chat["id"])
    assert listed["state"] == "expired" and listed["usage_count"] == 0


async def test_used_up_link_lets_nobody_else_in(api: Api, make: Factory) -> None:
    teacher, first, second, third = await make.users(4)
    chat = await make.chat(teacher, [])
    invite = await _create(api, teacher, chat["id"], usage_limit=2)
    for user in (first, second):
        assert (await _join(api, user, invite["token"])).status_code == 200
    preview = await api.as_(third).get(f"/api/v1/invites/{invite['token']}")
    assert preview.status_code == 410 and error_code(preview) == "invite_exhausted"
    joined = await _join(api, third, invite["token"])
    assert joined.status_code == 410 and error_code(joined) == "invite_exhausted"
    assert await _member_count(api, teacher, chat["id"]) == 3
    [listed] = await _listed(api, teacher, chat["id"])
    assert listed["state"] == "exhausted" and listed["usage_count"] == 2


async def test_joining_again_uses_nothing(api: Api, make: Factory) -> None:
    teacher, pupil = await make.users(2)
    chat = await make.chat(teacher, [])
    invite = await _create(api, teacher, chat["id"], usage_limit=1)
    since = await api.as_(teacher).last_event_id()
    assert (await _join(api, teacher, invite["token"])).status_code == 200
    first = await _join(api, pupil, invite["token"])
    retry = await _join(api, pupil, invite["token"])
    assert first.status_code == retry.status_code == 200
    assert retry.json()["id"] == chat["id"] and retry.json()["member_count"] == 2
    assert [e["type"] for e in await api.as_(teacher).sync(since)] == ["chat.member_added"]
    [listed] = await _listed(api, teacher, chat["id"])
    assert listed["usage_count"] == 1


async def test_concurrent_joins_cannot_overuse_a_single_use_link(api: Api, make: Factory) -> None:
    teacher, *pupils = await make.users(5)
    chat = await make.chat(teacher, [])
    invite = await _create(api, teacher, chat["id"], usage_limit=1)
    results = await asyncio.gather(*(_join(api, pupil, invite["token"]) for pupil in pupils))
    assert sorted(r.status_code for r in results) == [200, 410, 410, 410]
    assert await _member_count(api, teacher, chat["id"]) == 2
    [listed] = await _listed(api, teacher, chat["id"])
    assert listed["usage_count"] == 1


async def test_revoked_link_is_gone_but_its_members_stay(api: Api, make: Factory) -> None:
    teacher, early, late = await make.users(3)
    chat = await make.chat(teacher, [])
    invite = await _create(api, teacher, chat["id"])
    assert (await _join(api, early, invite["token"])).status_code == 200
    since = await api.as_(teacher).last_event_id()
    url = f"{_links(chat['id'])}/{invite['id']}"
    assert (await api.as_(teacher).delete(url)).status_code == 204
    assert (await api.as_(teacher).delete(url)).status_code == 204
    for response in (
        await api.as_(late).get(f"/api/v1/invites/{invite['token']}"),
        await _join(api, late, invite["token"]),
        await _join(api, early, invite["token"]),
    ):
        assert response.status_code == 404 and error_code(response) == "invite_not_found"
    assert await _member_count(api, teacher, chat["id"]) == 2
    [listed] = await _listed(api, teacher, chat["id"])
    assert listed["state"] == "revoked" and "revoked_at" in listed
    # Links are seen only by managers, so neither creating nor revoking goes to the log.
    await _create(api, teacher, chat["id"])
    assert await api.as_(teacher).sync(since) == []


async def test_revoking_unknown_or_foreign_link_is_not_found(api: Api, make: Factory) -> None:
    teacher = await make.user()
    chat = await make.chat(teacher, [], title="5А")
    other = await make.chat(teacher, [], title="5Б")
    foreign = await _create(api, teacher, other["id"])
    for invite_id in (foreign["id"], 987654):
        response = await api.as_(teacher).delete(f"{_links(chat['id'])}/{invite_id}")
        assert response.status_code == 404 and error_code(response) == "invite_not_found"
    [listed] = await _listed(api, teacher, other["id"])
    assert listed["state"] == "active"


@pytest.mark.parametrize("token", ["nosuchtoken", "x" * 300])
async def test_unknown_token_is_not_found(api: Api, make: Factory, token: str) -> None:
    pupil = await make.user()
    for response in (await api.as_(pupil).get(f"/api/v1/invites/{token}"), await _join(api, pupil, token)):
        assert response.status_code == 404 and error_code(response) == "invite_not_found"


async def test_links_need_sign_in(api: Api, make: Factory) -> None:
    teacher = await make.user()
    chat = await make.chat(teacher, [])
    invite = await _create(api, teacher, chat["id"])
    anonymous = (await api.get(f"/api/v1/invites/{invite['token']}"), await _join(api, None, invite["token"]))
    for response in anonymous:
        assert response.status_code == 401 and error_code(response) == "not_authenticated"


async def test_nameless_user_previews_but_cannot_join(api: Api, make: Factory) -> None:
    teacher = await make.user()
    nameless = await make.user(first_name="")
    chat = await make.chat(teacher, [])
    invite = await _create(api, teacher, chat["id"], usage_limit=1)
    assert (await api.as_(nameless).get(f"/api/v1/invites/{invite['token']}")).status_code == 200
    joined = await _join(api, nameless, invite["token"])
    assert joined.status_code == 403 and error_code(joined) == "forbidden"
    assert joined.json()["error"]["reason"] == "profile_incomplete"
    [listed] = await _listed(api, teacher, chat["id"])
    assert listed["usage_count"] == 0


async def test_token_is_stored_only_hashed(api: Api, make: Factory) -> None:
    teacher = await make.user()
    chat = await make.chat(teacher, [])
    invite = await _create(api, teacher, chat["id"])
    token = invite["token"]
    assert token not in (await api.as_(teacher).get(_links(chat["id"]))).text
    database = Database(api.settings.resolved_database_url, LocalBus())
    try:
        async with database.session() as db:
            rows = (await db.execute(text("SELECT * FROM chat_invites"))).mappings().all()
    finally:
        await database.dispose()
    [row] = rows
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for value in row.values())


async def test_list_pages_newest_first(api: Api, make: Factory) -> None:
    teacher = await make.user()
    chat = await make.chat(teacher, [])
    ids = [(await _create(api, teacher, chat["id"]))["id"] for _ in range(3)]
    first = (await api.as_(teacher).get(_links(chat["id"]), params={"limit": 2})).json()
    assert [i["id"] for i in first["invites"]] == ids[:0:-1] and first["has_more"] is True
    rest = (await api.as_(teacher).get(_links(chat["id"]), params={"limit": 2, "before": ids[1]})).json()
    assert [i["id"] for i in rest["invites"]] == ids[:1] and rest["has_more"] is False


async def test_create_without_body_makes_an_open_link(api: Api, make: Factory) -> None:
    teacher = await make.user()
    chat = await make.chat(teacher, [])
    response = await api.as_(teacher).post(_links(chat["id"]))
    assert response.status_code == 201
    assert "usage_limit" not in response.json() and "expires_at" not in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"usage_limit": 0}, "usage_limit"),
        ({"usage_limit": -1}, "usage_limit"),
        ({"usage_limit": 100_001}, "usage_limit"),
        ({"usage_limit": 2**70}, "usage_limit"),
        ({"usage_limit": "5"}, "usage_limit"),
        ({"usage_limit": 1.5}, "usage_limit"),
        ({"usage_limit": True}, "usage_limit"),
        ({"expires_in_seconds": -60}, "expires_in_seconds"),
        ({"expires_in_seconds": 59}, "expires_in_seconds"),
        ({"expires_in_seconds": 365 * 86400 + 1}, "expires_in_seconds"),
        ({"expires_in_seconds": "3600"}, "expires_in_seconds"),
        ({"usage_limt": 1}, "usage_limt"),
    ],
)
async def test_create_rejects_bad_input(api: Api, make: Factory, body: dict[str, object], field: str) -> None:
    teacher = await make.user()
    chat = await make.chat(teacher, [])
    response = await api.as_(teacher).post(_links(chat["id"]), json=body)
    assert response.status_code == 400 and error_code(response) == "invalid_request"
    assert response.json()["error"]["field"] == field
    assert await _listed(api, teacher, chat["id"]) == []


@pytest.mark.parametrize(
    ("is_member", "is_revoked", "is_expired", "is_exhausted", "allowed", "reason"),
    [
        (False, False, False, False, True, "ok"),
        (False, True, False, False, False, "revoked"),
        (True, True, False, False, False, "revoked"),
        (False, False, True, False, False, "expired"),
        (False, False, False, True, False, "exhausted"),
        (False, False, True, True, False, "expired"),
        (True, False, True, True, True, "already_member"),
    ],
)
def test_invite_policy(
    is_member: bool, is_revoked: bool, is_expired: bool, is_exhausted: bool, allowed: bool, reason: str
) -> None:
    decision = policy.can_join_by_invite(
        is_member=is_member, is_revoked=is_revoked, is_expired=is_expired, is_exhausted=is_exhausted
    )
    assert (decision.allowed, decision.reason) == (allowed, reason)
