"""The staff chat through the API: one per organization, its members follow every
change of who works there, nobody changes them by hand."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select

from parta.db.tables import Chat
from parta.orgs import staffchat
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School

ORGS = "/api/v1/orgs"


def _of(events: list[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == type]


def _member(school: School, user: TestUser) -> str:
    return f"{ORGS}/{school.id}/members/{school.member_id(user)}"


async def _staff_chat(api: Api, user: TestUser) -> dict[str, Any]:
    """The one staff chat in the user's chat list."""
    response = await api.as_(user).get("/api/v1/chats")
    assert response.status_code == 200, response.text
    chats: list[dict[str, Any]] = response.json()["chats"]
    [chat] = [c for c in chats if c.get("purpose") == "staff"]
    return chat


async def _has_staff_chat(api: Api, user: TestUser) -> bool:
    response = await api.as_(user).get("/api/v1/chats")
    assert response.status_code == 200, response.text
    return any(c.get("purpose") == "staff" for c in response.json()["chats"])


async def _roles(api: Api, viewer: TestUser, chat_id: int) -> dict[int, str]:
    response = await api.as_(viewer).get(f"/api/v1/chats/{chat_id}/members")
    assert response.status_code == 200, response.text
    return {m["id"]: m["role"] for m in response.json()["members"]}


async def _set_role(api: Api, school: School, user: TestUser, role: str) -> None:
    response = await api.as_(school.admin).patch(_member(school, user), json={"role": role})
    assert response.status_code == 200, response.text


async def _post(api: Api, sender: TestUser, chat_id: int) -> Any:
    return await api.as_(sender).post(
        f"/api/v1/chats/{chat_id}/messages",
        json={"text": "Педсовет в 15:00", "client_msg_id": uuid.uuid4().hex},
    )


async def test_a_new_organization_has_a_staff_chat_run_by_its_admin(api: Api, orgs: OrgFactory) -> None:
    admin = await orgs.make.user("Анна", "Директорова")
    since = await api.as_(admin).last_event_id()
    school = await orgs.school(admin)

    chat = await _staff_chat(api, admin)
    assert (chat["title"], chat["purpose"], chat["org_id"], chat["kind"], chat["role"]) == (
        "Сотрудники — Школа № 1",
        "staff",
        school.id,
        "group",
        "admin",
    )
    assert "class_id" not in chat
    events = await api.as_(admin).sync(since)
    assert [e["type"] for e in events] == ["org.joined", "chat.member_added"]
    assert events[1]["data"]["chat_id"] == chat["id"]
    assert [u["id"] for u in events[1]["data"]["users"]] == [admin.id]


async def test_everyone_who_works_there_is_in_it_and_admins_run_it(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    deputy = await orgs.add(school, "additional_admin")
    teacher = await orgs.add(school, "teacher")
    cook = await orgs.add(school, "staff")
    klass = await orgs.klass(school, "5А")
    student = await orgs.add(school, "student", class_id=klass["id"])
    parent = await orgs.add(school, "parent")
    await orgs.link(school, parent, student)

    chat_id = (await _staff_chat(api, teacher))["id"]
    assert await _roles(api, cook, chat_id) == {
        school.admin.id: "admin",
        deputy.id: "admin",
        teacher.id: "member",
        cook.id: "member",
    }
    # Students and parents never: the staff talk about children there.
    for outsider in (student, parent):
        assert not await _has_staff_chat(api, outsider)
        response = await api.as_(outsider).get(f"/api/v1/chats/{chat_id}")
        assert response.status_code == 404 and error_code(response) == "chat_not_found"
    assert (await _post(api, cook, chat_id)).status_code == 201


async def test_membership_follows_every_role_change(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    chat_id = (await _staff_chat(api, school.admin))["id"]
    teacher = await orgs.make.user()
    since = await api.as_(teacher).last_event_id()

    await orgs.add(school, "teacher", teacher)
    assert teacher.id in await _roles(api, school.admin, chat_id)
    added = _of(await api.as_(teacher).sync(since), "chat.member_added")
    assert [(e["chat_id"], [u["id"] for u in e["users"]]) for e in added] == [(chat_id, [teacher.id])]

    since = await api.as_(teacher).last_event_id()
    await _set_role(api, school, teacher, "parent")
    assert teacher.id not in await _roles(api, school.admin, chat_id)
    assert not await _has_staff_chat(api, teacher)
    assert _of(await api.as_(teacher).sync(since), "chat.removed") == [
        {"chat_id": chat_id, "user_id": teacher.id}
    ]

    await _set_role(api, school, teacher, "staff")
    assert (await _roles(api, school.admin, chat_id))[teacher.id] == "member"
    since = await api.as_(teacher).last_event_id()
    await _set_role(api, school, teacher, "additional_admin")
    assert (await _roles(api, school.admin, chat_id))[teacher.id] == "admin"
    assert _of(await api.as_(teacher).sync(since), "chat.member_updated") == [
        {"chat_id": chat_id, "user_id": teacher.id, "role": "admin"}
    ]
    await _set_role(api, school, teacher, "teacher")
    assert (await _roles(api, school.admin, chat_id))[teacher.id] == "member"
    await _set_role(api, school, teacher, "student")
    assert teacher.id not in await _roles(api, school.admin, chat_id)


async def test_removed_and_leaving_staff_leave_it(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    cook = await orgs.add(school, "staff")
    chat_id = (await _staff_chat(api, teacher))["id"]
    since = await api.as_(teacher).last_event_id()

    assert (await api.as_(school.admin).delete(_member(school, teacher))).status_code == 204
    left = await api.as_(cook).post(f"{ORGS}/{school.id}/leave")
    assert left.status_code == 204, left.text

    assert await _roles(api, school.admin, chat_id) == {school.admin.id: "admin"}
    assert [e["chat_id"] for e in _of(await api.as_(teacher).sync(since), "chat.removed")] == [chat_id]
    assert not await _has_staff_chat(api, cook)


async def test_a_pending_teacher_signs_in_into_it(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    chat_id = (await _staff_chat(api, school.admin))["id"]
    phone, _ = await orgs.add_pending(school, "teacher")
    assert set(await _roles(api, school.admin, chat_id)) == {school.admin.id}

    teacher = await make.user("Вера", "Новикова", phone=phone)

    assert (await _roles(api, school.admin, chat_id))[teacher.id] == "member"
    [welcome] = _of(await api.as_(teacher).sync(0), "notice.welcome")
    assert welcome["chats"] == [{"id": chat_id, "title": "Сотрудники — Школа № 1"}]


async def test_joining_by_link_or_request_brings_staff_in(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    chat_id = (await _staff_chat(api, school.admin))["id"]
    links = f"{ORGS}/{school.id}/invites"
    direct = (await api.as_(school.admin).post(links, json={"role": "teacher"})).json()["token"]
    asked = (
        await api.as_(school.admin).post(links, json={"role": "staff", "requires_approval": True})
    ).json()["token"]
    teacher, nurse = await make.user(), await make.user()

    assert (await api.as_(teacher).post(f"/api/v1/org-invites/{direct}/join")).status_code == 201
    requested = await api.as_(nurse).post(f"/api/v1/org-invites/{asked}/join")
    assert requested.status_code == 202, requested.text
    assert nurse.id not in await _roles(api, school.admin, chat_id)
    request_id = requested.json()["join_request"]["id"]
    approved = await api.as_(school.admin).post(f"{ORGS}/{school.id}/join-requests/{request_id}/approve")
    assert approved.status_code == 200, approved.text

    assert await _roles(api, school.admin, chat_id) == {
        school.admin.id: "admin",
        teacher.id: "member",
        nurse.id: "member",
    }


async def test_a_suspended_teacher_leaves_it(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    colleague = await orgs.add(school, "teacher")
    chat_id = (await _staff_chat(api, teacher))["id"]
    message = (await _post(api, teacher, chat_id)).json()
    report = await api.as_(colleague).post(
        "/api/v1/reports", json={"reason": "abuse", "message_id": message["id"]}
    )
    assert report.status_code == 201, report.text
    since = await api.as_(teacher).last_event_id()

    decided = await api.as_(school.admin).post(
        f"{ORGS}/{school.id}/reports/{report.json()['id']}/resolve", json={"action": "suspend_member"}
    )

    assert decided.status_code == 200, decided.text
    assert teacher.id not in await _roles(api, colleague, chat_id)
    assert [e["chat_id"] for e in _of(await api.as_(teacher).sync(since), "chat.removed")] == [chat_id]


async def test_nobody_changes_its_members_or_title_by_hand(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    stranger = await make.user()
    chat = f"/api/v1/chats/{(await _staff_chat(api, teacher))['id']}"

    attempts = [
        await api.as_(school.admin).post(f"{chat}/members", json={"user_ids": [stranger.id]}),
        await api.as_(school.admin).delete(f"{chat}/members/{teacher.id}"),
        await api.as_(teacher).delete(f"{chat}/members/{teacher.id}"),
        await api.as_(school.admin).post(f"{chat}/invites", json={}),
        await api.as_(school.admin).patch(chat, json={"title": "Учительская"}),
    ]
    for response in attempts:
        assert response.status_code == 403, response.text
        assert (error_code(response), response.json()["error"]["reason"]) == ("forbidden", "managed_chat")
    members = await api.as_(teacher).get(f"{chat}/members")
    assert {m["id"] for m in members.json()["members"]} == {school.admin.id, teacher.id}
    outsider = await api.as_(stranger).get(chat)
    assert outsider.status_code == 404 and error_code(outsider) == "chat_not_found"


async def test_its_title_follows_the_short_name(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    chat_id = (await _staff_chat(api, teacher))["id"]
    since = await api.as_(teacher).last_event_id()

    patched = await api.as_(school.admin).patch(f"{ORGS}/{school.id}", json={"short_name": "Лицей № 2"})

    assert patched.status_code == 200, patched.text
    assert (await _staff_chat(api, teacher))["title"] == "Сотрудники — Лицей № 2"
    assert _of(await api.as_(teacher).sync(since), "chat.updated") == [
        {"chat_id": chat_id, "title": "Сотрудники — Лицей № 2"}
    ]
    forbidden = await api.as_(teacher).patch(f"{ORGS}/{school.id}", json={"short_name": "Своя"})
    assert forbidden.status_code == 403 and error_code(forbidden) == "forbidden"


async def test_verified_teachers_wear_the_badge_there(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    await orgs.verify(school)
    teacher = await orgs.add(school, "teacher")
    cook = await orgs.add(school, "staff")
    chat_id = (await _staff_chat(api, cook))["id"]

    members = (await api.as_(cook).get(f"/api/v1/chats/{chat_id}/members")).json()["members"]

    assert {m["id"]: m.get("badge") for m in members} == {
        school.admin.id: None,
        teacher.id: "teacher",
        cook.id: None,
    }


async def _drop_staff_chat(api: Api, org_id: int) -> None:
    """As if the organization predated staff chats."""
    async with api.app.state.services.database.session() as db:
        await db.execute(delete(Chat).where(Chat.org_id == org_id, Chat.purpose == staffchat.STAFF))
        await db.commit()


async def _staff_chats(api: Api, org_id: int) -> list[int]:
    async with api.app.state.services.database.session() as db:
        rows = await db.execute(select(Chat.id).where(Chat.org_id == org_id, Chat.purpose == staffchat.STAFF))
        return list(rows.scalars())


async def test_an_older_organization_gets_it_at_its_first_membership_change(
    api: Api, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    await _drop_staff_chat(api, school.id)
    since = await api.as_(teacher).last_event_id()

    cook = await orgs.add(school, "staff")

    [chat_id] = await _staff_chats(api, school.id)
    assert await _roles(api, cook, chat_id) == {
        school.admin.id: "admin",
        teacher.id: "member",
        cook.id: "member",
    }
    assert [e["chat_id"] for e in _of(await api.as_(teacher).sync(since), "chat.member_added")] == [chat_id]


async def test_ensure_staff_chats_fills_in_every_older_organization_once(api: Api, orgs: OrgFactory) -> None:
    first, second = await orgs.school(), await orgs.school()
    teacher = await orgs.add(first, "teacher")
    await _drop_staff_chat(api, first.id)
    kept = await _staff_chats(api, second.id)

    async with api.app.state.services.database.session() as db:
        assert await staffchat.ensure_staff_chats(db) == 1
        assert await staffchat.ensure_staff_chats(db) == 0

    [chat_id] = await _staff_chats(api, first.id)
    assert await _roles(api, teacher, chat_id) == {first.admin.id: "admin", teacher.id: "member"}
    assert await _staff_chats(api, second.id) == kept
