"""Blocking through the API: the block list, and every effect both ways.

A blocked person must not be able to tell they were blocked: wherever the
block denies something, the answer equals the one for a person who does not exist.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.client import Api, Factory, TestUser, error_code, new_phone

NOBODY = 2**40  # a user id nobody has


def _block(user_id: int) -> str:
    return f"/api/v1/me/blocks/{user_id}"


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def _answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


async def _pair_in_a_chat(make: Factory) -> tuple[TestUser, TestUser, dict[str, Any]]:
    a, b = await make.users(2)
    chat = await make.chat(a, [b], title="Кружок")
    return a, b, chat


async def _blocked(api: Api, blocker: TestUser) -> list[int]:
    response = await api.as_(blocker).get("/api/v1/me/blocks")
    assert response.status_code == 200, response.text
    return [b["user"]["id"] for b in response.json()["blocks"]]


async def test_block_and_unblock_are_idempotent_and_only_the_blocker_hears(api: Api, make: Factory) -> None:
    a, b, _ = await _pair_in_a_chat(make)
    a_since, b_since = await api.as_(a).last_event_id(), await api.as_(b).last_event_id()

    first = await api.as_(a).put(_block(b.id))
    again = await api.as_(a).put(_block(b.id))

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["user"] == {"id": b.id, "first_name": b.first_name, "last_name": b.last_name}
    assert await _blocked(api, a) == [b.id]
    assert await _blocked(api, b) == []
    events = await api.as_(a).sync(a_since)
    assert _types(events) == ["user.blocked"]
    assert events[0]["data"]["user"]["id"] == b.id

    assert (await api.as_(a).delete(_block(b.id))).status_code == 204
    assert (await api.as_(a).delete(_block(b.id))).status_code == 204
    assert await _blocked(api, a) == []
    assert _types(await api.as_(a).sync(a_since)) == ["user.blocked", "user.unblocked"]
    # The blocked person is never told, either way.
    assert await api.as_(b).sync(b_since) == []


async def test_block_list_pages_by_user_id(api: Api, make: Factory) -> None:
    me = await make.user()
    others = await make.users(3)
    for other in reversed(others):
        assert (await api.as_(me).put(_block(other.id))).status_code == 200

    first = await api.as_(me).get("/api/v1/me/blocks", params={"limit": 2})
    rest = await api.as_(me).get(
        "/api/v1/me/blocks", params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )

    assert [b["user"]["id"] for b in first.json()["blocks"]] == [others[0].id, others[1].id]
    assert [b["user"]["id"] for b in rest.json()["blocks"]] == [others[2].id]
    assert "next_cursor" not in rest.json()


async def test_blocking_someone_unknown_or_hidden_answers_user_not_found(api: Api, make: Factory) -> None:
    me = await make.user()
    child = await make.user("Петя", "Маленький")
    assert (await api.as_(child).patch("/api/v1/me", json={"birth_date": "2016-05-01"})).status_code == 200

    unknown = await api.as_(me).put(_block(NOBODY))
    hidden_child = await api.as_(me).put(_block(child.id))

    assert unknown.status_code == 404 and error_code(unknown) == "user_not_found"
    # A child in safe mode outside one's circle is as unknown as an id nobody has.
    assert _answer(hidden_child) == _answer(unknown)
    assert _answer(await api.as_(me).delete(_block(child.id))) == _answer(
        await api.as_(me).delete(_block(NOBODY))
    )


async def test_bad_block_requests(api: Api, make: Factory) -> None:
    me = await make.user()
    self_block = await api.as_(me).put(_block(me.id))
    assert self_block.status_code == 400 and self_block.json()["error"]["field"] == "user_id"
    bad_id = await api.as_(me).put("/api/v1/me/blocks/0")
    assert bad_id.status_code == 400 and bad_id.json()["error"]["field"] == "user_id"
    bad_cursor = await api.as_(me).get("/api/v1/me/blocks", params={"cursor": "x"})
    assert bad_cursor.status_code == 400 and bad_cursor.json()["error"]["field"] == "cursor"
    assert (await api.put(_block(me.id))).status_code == 401


async def test_blocked_people_cannot_find_each_other_by_phone(api: Api, make: Factory) -> None:
    a, b, _ = await _pair_in_a_chat(make)
    unused = await api.as_(a).post("/api/v1/users/lookup", json={"phone": new_phone()})
    assert unused.status_code == 404 and error_code(unused) == "user_not_found"
    assert (await api.as_(a).put(_block(b.id))).status_code == 200

    for actor, target in ((a, b), (b, a)):
        found = await api.as_(actor).post("/api/v1/users/lookup", json={"phone": target.phone})
        assert _answer(found) == _answer(unused)

    assert (await api.as_(a).delete(_block(b.id))).status_code == 204
    for actor, target in ((a, b), (b, a)):
        found = await api.as_(actor).post("/api/v1/users/lookup", json={"phone": target.phone})
        assert found.status_code == 200 and found.json()["id"] == target.id


async def test_blocked_people_cannot_open_a_direct_chat(api: Api, make: Factory) -> None:
    a, b, _ = await _pair_in_a_chat(make)
    assert (await api.as_(b).put(_block(a.id))).status_code == 200
    nobody = await api.as_(a).post("/api/v1/chats/direct", json={"user_id": NOBODY})
    assert nobody.status_code == 404 and error_code(nobody) == "user_not_found"

    for actor, target in ((a, b), (b, a)):
        opened = await api.as_(actor).post("/api/v1/chats/direct", json={"user_id": target.id})
        assert _answer(opened) == _answer(nobody)

    assert (await api.as_(b).delete(_block(a.id))).status_code == 204
    assert (await api.as_(a).post("/api/v1/chats/direct", json={"user_id": b.id})).status_code == 201


async def test_blocked_people_cannot_add_each_other_to_chats(api: Api, make: Factory) -> None:
    a, b = await make.users(2)
    # b shares a chat with a only through a third person, so a may block b.
    c = await make.user()
    await make.chat(c, [a, b])
    assert (await api.as_(a).put(_block(b.id))).status_code == 200

    for actor, target in ((a, b), (b, a)):
        group = await make.chat(actor, [], title="Моя группа")
        create = {"kind": "group", "title": "Новая", "member_ids": [target.id]}
        created = await api.as_(actor).post("/api/v1/chats", json=create)
        created_nobody = await api.as_(actor).post("/api/v1/chats", json=create | {"member_ids": [NOBODY]})
        assert created.status_code == 404 and error_code(created) == "user_not_found"
        assert _answer(created) == _answer(created_nobody)
        members = f"/api/v1/chats/{group['id']}/members"
        added = await api.as_(actor).post(members, json={"user_ids": [target.id]})
        added_nobody = await api.as_(actor).post(members, json={"user_ids": [NOBODY]})
        assert _answer(added) == _answer(added_nobody)

    assert (await api.as_(a).delete(_block(b.id))).status_code == 204
    group = await make.chat(a, [b], title="Снова вместе")
    assert group["member_count"] == 2


async def test_existing_direct_chat_takes_no_new_messages_either_way(api: Api, make: Factory) -> None:
    a, b = await make.users(2)
    direct = (await api.as_(a).post("/api/v1/chats/direct", json={"user_id": b.id})).json()
    before = await make.message(a, direct["id"], "Привет")
    assert (await api.as_(a).put(_block(b.id))).status_code == 200

    for sender in (a, b):
        sent = await api.as_(sender).post(
            f"/api/v1/chats/{direct['id']}/messages", json={"text": "Ещё", "client_msg_id": f"m{sender.id}"}
        )
        assert sent.status_code == 403 and error_code(sent) == "forbidden"
        assert sent.json()["error"]["reason"] == "blocked"
    # The history stays.
    history = await api.as_(b).get(f"/api/v1/chats/{direct['id']}/messages")
    assert [m["id"] for m in history.json()["messages"]] == [before["id"]]

    assert (await api.as_(a).delete(_block(b.id))).status_code == 204
    await make.message(b, direct["id"], "Мир")


async def test_mentions_of_a_blocked_person_are_dropped_both_ways(api: Api, make: Factory) -> None:
    a, b, c = await make.users(3)
    chat = await make.chat(c, [a, b])
    assert (await api.as_(b).put(_block(a.id))).status_code == 200

    from_a = await make.message(a, chat["id"], "@b @c", mention_ids=[b.id, c.id])
    from_b = await make.message(b, chat["id"], "@a", mention_ids=[a.id])

    assert from_a["mention_ids"] == [c.id]
    assert "mention_ids" not in from_b
    assert (await api.as_(b).delete(_block(a.id))).status_code == 204
    assert (await make.message(a, chat["id"], "@b", mention_ids=[b.id]))["mention_ids"] == [b.id]


async def test_a_blocked_child_stays_masked_in_the_block_list(api: Api, make: Factory) -> None:
    adult = await make.user()
    child = await make.user("Петя", "Маленький")
    assert (await api.as_(child).patch("/api/v1/me", json={"birth_date": "2016-05-01"})).status_code == 200
    # The child may write to an adult: they share a chat, so the adult may block the child.
    await make.chat(child, [adult], title="Кружок")

    blocked = await api.as_(adult).put(_block(child.id))

    assert blocked.status_code == 200
    card = blocked.json()["user"]
    assert card["id"] == child.id and card["is_masked"] is True
    assert "Петя" not in str(card) and "Маленький" not in str(card)
    listed = (await api.as_(adult).get("/api/v1/me/blocks")).json()["blocks"]
    assert [b["user"] for b in listed] == [card]
