"""Chats through the API: groups, channels, direct chats, members and rights."""

from __future__ import annotations

import pytest

from tests.client import Api, Factory, error_code


async def test_create_group_lists_for_members_only(api: Api, make: Factory) -> None:
    teacher, parent, outsider = await make.users(3)
    chat = await make.chat(teacher, [parent], title="  5А   класс ")
    assert chat["title"] == "5А класс"
    assert chat["role"] == "owner" and chat["member_count"] == 2

    listed = (await api.as_(parent).get("/api/v1/chats")).json()["chats"]
    assert [c["id"] for c in listed] == [chat["id"]]
    assert listed[0]["role"] == "member"
    assert (await api.as_(outsider).get("/api/v1/chats")).json()["chats"] == []

    response = await api.as_(outsider).get(f"/api/v1/chats/{chat['id']}")
    assert response.status_code == 404 and error_code(response) == "chat_not_found"
    unknown = await api.as_(teacher).get("/api/v1/chats/999999")
    assert unknown.status_code == 404 and error_code(unknown) == "chat_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "group", "title": ""}, "title"),
        ({"kind": "group", "title": "   "}, "title"),
        ({"kind": "group", "title": "x" * 129}, "title"),
        ({"kind": "direct", "title": "x"}, "kind"),
        ({"kind": "group"}, "title"),
        ({"kind": "group", "title": 5}, "title"),
        ({"kind": "group", "title": "ok", "member_ids": "1"}, "member_ids"),
        ({"kind": "group", "title": "ok", "member_ids": [-1]}, "member_ids.0"),
    ],
)
async def test_create_chat_rejects_bad_input(
    api: Api, make: Factory, body: dict[str, object], field: str
) -> None:
    teacher = await make.user()
    response = await api.as_(teacher).post("/api/v1/chats", json=body)
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"
    assert response.json()["error"]["field"] == field
    assert (await api.as_(teacher).get("/api/v1/chats")).json()["chats"] == []


async def test_create_chat_with_unknown_member_creates_nothing(api: Api, make: Factory) -> None:
    teacher = await make.user()
    response = await api.as_(teacher).post(
        "/api/v1/chats", json={"kind": "group", "title": "5Б", "member_ids": [424242]}
    )
    assert response.status_code == 404 and error_code(response) == "user_not_found"
    assert (await api.as_(teacher).get("/api/v1/chats")).json()["chats"] == []


async def test_incomplete_profile_cannot_create_chats(api: Api, make: Factory) -> None:
    nameless = await make.user(first_name="")
    response = await api.as_(nameless).post("/api/v1/chats", json={"kind": "group", "title": "x"})
    assert response.status_code == 403 and error_code(response) == "forbidden"
    assert response.json()["error"]["reason"] == "profile_incomplete"


async def test_direct_chat_is_one_per_pair(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    first = await api.as_(anna).post("/api/v1/chats/direct", json={"user_id": boris.id})
    assert first.status_code == 201
    again = await api.as_(boris).post("/api/v1/chats/direct", json={"user_id": anna.id})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.json()["kind"] == "direct"
    assert again.json()["peer"]["id"] == anna.id
    assert again.json()["title"] == f"{anna.first_name} {anna.last_name}"


async def test_direct_chat_with_self_or_unknown_user_is_not_found(api: Api, make: Factory) -> None:
    anna = await make.user()
    for user_id in (anna.id, 987654):
        response = await api.as_(anna).post("/api/v1/chats/direct", json={"user_id": user_id})
        assert response.status_code == 404 and error_code(response) == "user_not_found"


async def test_direct_chat_members_cannot_be_changed(api: Api, make: Factory) -> None:
    anna, boris, vera = await make.users(3)
    chat = (await api.as_(anna).post("/api/v1/chats/direct", json={"user_id": boris.id})).json()
    added = await api.as_(anna).post(f"/api/v1/chats/{chat['id']}/members", json={"user_ids": [vera.id]})
    assert added.status_code == 403 and error_code(added) == "forbidden"
    renamed = await api.as_(anna).patch(f"/api/v1/chats/{chat['id']}", json={"title": "x"})
    assert renamed.status_code == 403


async def test_add_and_remove_members_with_events(api: Api, make: Factory) -> None:
    teacher, parent, pupil = await make.users(3)
    chat = await make.chat(teacher, [parent])
    url = f"/api/v1/chats/{chat['id']}/members"
    parent_since = await api.as_(parent).last_event_id()
    pupil_since = await api.as_(pupil).last_event_id()

    added = await api.as_(teacher).post(url, json={"user_ids": [pupil.id, pupil.id, parent.id]})
    assert added.status_code == 200 and added.json()["added"] == [pupil.id]
    again = await api.as_(teacher).post(url, json={"user_ids": [pupil.id]})
    assert again.json()["added"] == []

    # The new member sees the chat and the event that added them.
    pupil_events = await api.as_(pupil).sync(pupil_since)
    assert [e["type"] for e in pupil_events] == ["chat.member_added"]
    members = (await api.as_(pupil).get(url)).json()["members"]
    assert {m["id"] for m in members} == {teacher.id, parent.id, pupil.id}
    assert all("phone" not in m for m in members)

    removed = await api.as_(teacher).delete(f"{url}/{pupil.id}")
    assert removed.status_code == 204
    gone = await api.as_(pupil).get(f"/api/v1/chats/{chat['id']}")
    assert gone.status_code == 404
    types = [e["type"] for e in await api.as_(parent).sync(parent_since)]
    assert types == ["chat.member_added", "chat.member_removed"]
    assert [e["type"] for e in await api.as_(pupil).sync(pupil_events[-1]["id"])] == ["chat.removed"]


async def test_members_and_outsiders_cannot_manage_members(api: Api, make: Factory) -> None:
    teacher, parent, other, outsider = await make.users(4)
    chat = await make.chat(teacher, [parent, other])
    url = f"/api/v1/chats/{chat['id']}/members"
    by_member = await api.as_(parent).post(url, json={"user_ids": [outsider.id]})
    assert by_member.status_code == 403 and error_code(by_member) == "forbidden"
    kick = await api.as_(parent).delete(f"{url}/{other.id}")
    assert kick.status_code == 403
    by_outsider = await api.as_(outsider).post(url, json={"user_ids": [outsider.id]})
    assert by_outsider.status_code == 404 and error_code(by_outsider) == "chat_not_found"
    listing = await api.as_(outsider).get(url)
    assert listing.status_code == 404
    members = (await api.as_(teacher).get(url)).json()["members"]
    assert len(members) == 3


async def test_member_can_leave_but_owner_cannot(api: Api, make: Factory) -> None:
    teacher, parent = await make.users(2)
    chat = await make.chat(teacher, [parent])
    left = await api.as_(parent).delete(f"/api/v1/chats/{chat['id']}/members/{parent.id}")
    assert left.status_code == 204
    assert (await api.as_(parent).get("/api/v1/chats")).json()["chats"] == []
    owner_leaves = await api.as_(teacher).delete(f"/api/v1/chats/{chat['id']}/members/{teacher.id}")
    assert owner_leaves.status_code == 403
    assert owner_leaves.json()["error"]["reason"] == "owner_cannot_leave"


async def test_owner_appoints_admin_who_can_then_add_but_not_remove_admins(api: Api, make: Factory) -> None:
    owner, deputy, parent, newcomer = await make.users(4)
    chat = await make.chat(owner, [deputy, parent])
    url = f"/api/v1/chats/{chat['id']}/members"
    by_member = await api.as_(deputy).patch(f"{url}/{parent.id}", json={"role": "admin"})
    assert by_member.status_code == 403
    assert (await api.as_(owner).patch(f"{url}/{deputy.id}", json={"role": "admin"})).status_code == 204
    bad_role = await api.as_(owner).patch(f"{url}/{deputy.id}", json={"role": "owner"})
    assert bad_role.status_code == 400 and bad_role.json()["error"]["field"] == "role"

    assert (await api.as_(deputy).post(url, json={"user_ids": [newcomer.id]})).status_code == 200
    assert (await api.as_(deputy).delete(f"{url}/{newcomer.id}")).status_code == 204
    assert (await api.as_(deputy).delete(f"{url}/{owner.id}")).status_code == 403
    roles = {m["id"]: m["role"] for m in (await api.as_(owner).get(url)).json()["members"]}
    assert roles == {owner.id: "owner", deputy.id: "admin", parent.id: "member"}


async def test_rename_chat_by_owner_only_with_event(api: Api, make: Factory) -> None:
    owner, parent = await make.users(2)
    chat = await make.chat(owner, [parent])
    since = await api.as_(parent).last_event_id()
    url = f"/api/v1/chats/{chat['id']}"
    denied = await api.as_(parent).patch(url, json={"title": "Захват"})
    assert denied.status_code == 403
    ok = await api.as_(owner).patch(url, json={"title": "5А (2026)", "description": "Класс"})
    assert ok.status_code == 200 and ok.json()["title"] == "5А (2026)"
    too_long = await api.as_(owner).patch(url, json={"description": "я" * 1025})
    assert too_long.status_code == 400 and too_long.json()["error"]["field"] == "description"
    events = await api.as_(parent).sync(since)
    assert [(e["type"], e["data"].get("title")) for e in events] == [("chat.updated", "5А (2026)")]
    assert (await api.as_(parent).get(url)).json()["description"] == "Класс"


async def test_channel_only_admins_post(api: Api, make: Factory) -> None:
    head, parent = await make.users(2)
    channel = await make.chat(head, [parent], kind="channel", title="Новости школы")
    url = f"/api/v1/chats/{channel['id']}/messages"
    denied = await api.as_(parent).post(url, json={"text": "Можно?", "client_msg_id": "p1"})
    assert denied.status_code == 403 and denied.json()["error"]["reason"] == "channel_read_only"
    assert (
        await api.as_(head).post(url, json={"text": "Каникулы", "client_msg_id": "h1"})
    ).status_code == 201
    history = (await api.as_(parent).get(url)).json()["messages"]
    assert [m["text"] for m in history] == ["Каникулы"]


async def test_chat_list_orders_by_activity_with_unread_counts(api: Api, make: Factory) -> None:
    teacher, parent = await make.users(2)
    older = await make.chat(teacher, [parent], title="Старый")
    newer = await make.chat(teacher, [parent], title="Новый")
    await make.message(teacher, older["id"], "раз")
    await make.message(teacher, older["id"], "два")
    listed = (await api.as_(parent).get("/api/v1/chats")).json()["chats"]
    assert [c["title"] for c in listed] == ["Старый", "Новый"]
    assert listed[0]["unread_count"] == 2 and listed[0]["last_message"]["text"] == "два"
    assert listed[1]["unread_count"] == 0
    mine = (await api.as_(teacher).get("/api/v1/chats")).json()["chats"]
    assert mine[0]["unread_count"] == 0
    assert newer["id"] in {c["id"] for c in mine}


async def test_user_profile_visible_only_to_people_sharing_a_chat(api: Api, make: Factory) -> None:
    teacher, parent, stranger = await make.users(3)
    await make.chat(teacher, [parent])
    seen = await api.as_(parent).get(f"/api/v1/users/{teacher.id}")
    assert seen.status_code == 200 and "phone" not in seen.json()
    assert teacher.phone[1:] not in seen.text
    hidden = await api.as_(stranger).get(f"/api/v1/users/{teacher.id}")
    assert hidden.status_code == 404 and error_code(hidden) == "user_not_found"


async def test_lookup_by_phone_accepts_any_format(api: Api, make: Factory) -> None:
    teacher = await make.user(phone="+79123450001")
    parent = await make.user()
    for raw in ("8 (912) 345-00-01", "79123450001", "+7 912 345 00 01"):
        found = await api.as_(parent).post("/api/v1/users/lookup", json={"phone": raw})
        assert found.status_code == 200 and found.json()["id"] == teacher.id
        assert "phone" not in found.json()
    bad = await api.as_(parent).post("/api/v1/users/lookup", json={"phone": "12"})
    assert bad.status_code == 400 and error_code(bad) == "invalid_phone"
    missing = await api.as_(parent).post("/api/v1/users/lookup", json={"phone": "+79123459999"})
    assert missing.status_code == 404 and error_code(missing) == "user_not_found"


async def test_anonymous_requests_are_rejected(api: Api) -> None:
    for method, url in [("GET", "/api/v1/chats"), ("POST", "/api/v1/chats"), ("GET", "/api/v1/sync")]:
        response = await api.request(method, url)
        assert response.status_code == 401 and error_code(response) == "not_authenticated"


async def test_chat_list_pages_by_cursor(api: Api, make: Factory) -> None:
    teacher = await make.user()
    made = [await make.chat(teacher, [], title=f"Группа {i}") for i in range(5)]
    first = (await api.as_(teacher).get("/api/v1/chats", params={"limit": 2})).json()
    assert [c["id"] for c in first["chats"]] == [made[4]["id"], made[3]["id"]]
    # A chat that becomes active meanwhile moves to the top and is not repeated below.
    await make.message(teacher, made[0]["id"], "оживили")
    second = (
        await api.as_(teacher).get("/api/v1/chats", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [c["id"] for c in second["chats"]] == [made[2]["id"], made[1]["id"]]
    assert "next_cursor" not in second
    bad = await api.as_(teacher).get("/api/v1/chats", params={"cursor": "garbage"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "cursor"
