"""Classes and groups through the API: their chats follow teachers, students, parents and members."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School


def _classes(school: School) -> str:
    return f"/api/v1/orgs/{school.id}/classes"


def _class(school: School, class_id: int) -> str:
    return f"{_classes(school)}/{class_id}"


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def _reason(response: Any) -> str:
    return str(response.json()["error"].get("reason"))


async def _chat(api: Api, user: TestUser, chat_id: int) -> dict[str, Any]:
    response = await api.as_(user).get(f"/api/v1/chats/{chat_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _roles(api: Api, viewer: TestUser, chat_id: int) -> dict[int, str]:
    response = await api.as_(viewer).get(f"/api/v1/chats/{chat_id}/members")
    assert response.status_code == 200, response.text
    return {m["id"]: m["role"] for m in response.json()["members"]}


async def _post(api: Api, sender: TestUser, chat_id: int) -> Any:
    return await api.as_(sender).post(
        f"/api/v1/chats/{chat_id}/messages", json={"text": "Привет", "client_msg_id": uuid.uuid4().hex}
    )


async def test_every_spelling_of_a_class_is_one_class(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    created = await orgs.klass(school, "5А")
    assert created["name"] == "5А" and created["grade"] == 5 and created["letter"] == "А"
    for spelling in ("5 а", "5a", "5-A", '5 "а"', " 5А "):
        response = await api.as_(school.admin).post(
            _classes(school), json={"kind": "class", "name": spelling}
        )
        assert response.status_code == 409 and error_code(response) == "conflict", spelling
    group = await orgs.klass(school, "  Шахматы ", kind="group")
    assert group["name"] == "Шахматы" and "grade" not in group and "parents_chat_id" not in group
    again = await api.as_(school.admin).post(_classes(school), json={"kind": "group", "name": "ШАХМАТЫ"})
    assert error_code(again) == "conflict"
    # A group may share a class's spelling: they are different kinds of things.
    assert (await orgs.klass(school, "5А", kind="group"))["kind"] == "group"


async def test_new_class_gets_its_two_chats_and_only_admins_hear_of_it(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    deputy = await orgs.add(school, "additional_admin")
    teacher = await orgs.add(school, "teacher")
    since = {u.id: await api.as_(u).last_event_id() for u in (school.admin, deputy, teacher)}

    created = await orgs.klass(school, "7б")
    assert created == {
        "id": created["id"],
        "kind": "class",
        "name": "7Б",
        "grade": 7,
        "letter": "Б",
        "chat_id": created["chat_id"],
        "parents_chat_id": created["parents_chat_id"],
        "teacher_member_ids": [],
    }
    for admin in (school.admin, deputy):
        events = await api.as_(admin).sync(since[admin.id])
        assert _types(events) == ["class.created"]
        assert events[0]["data"] == {"org_id": school.id, "class": created}
    assert await api.as_(teacher).sync(since[teacher.id]) == []

    await orgs.teach(school, created["id"], teacher)
    class_chat = await _chat(api, teacher, created["chat_id"])
    parents_chat = await _chat(api, teacher, created["parents_chat_id"])
    assert (class_chat["title"], class_chat["purpose"], class_chat["org_id"]) == (
        "7Б класс",
        "class",
        school.id,
    )
    assert (parents_chat["title"], parents_chat["purpose"]) == ("7Б — родители", "parents")
    assert class_chat["class_id"] == parents_chat["class_id"] == created["id"]


async def test_teachers_students_and_parents_land_in_the_right_chats(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "5А")
    class_chat, parents_chat = cls["chat_id"], cls["parents_chat_id"]
    teacher = await orgs.add(school, "teacher")
    teacher_since = await api.as_(teacher).last_event_id()
    await orgs.teach(school, cls["id"], teacher)
    assert await _roles(api, teacher, class_chat) == {teacher.id: "admin"}
    assert await _roles(api, teacher, parents_chat) == {teacher.id: "admin"}
    teacher_events = await api.as_(teacher).sync(teacher_since)
    assert _types(teacher_events).count("chat.member_added") == 2
    updated = next(e for e in teacher_events if e["type"] == "class.updated")
    public = {"id": cls["id"], "kind": "class", "name": "5А", "grade": 5, "letter": "А"}
    assert updated["data"] == {"org_id": school.id, "class": public}

    student = await orgs.add(school, "student", class_id=cls["id"])
    assert await orgs.chat_member_ids(teacher, class_chat) == {teacher.id, student.id}
    assert await orgs.chat_member_ids(teacher, parents_chat) == {teacher.id}

    parent = await orgs.add(school, "parent")
    await orgs.link(school, parent, student)
    assert await orgs.chat_member_ids(teacher, parents_chat) == {teacher.id, parent.id}
    assert await orgs.chat_member_ids(teacher, class_chat) == {teacher.id, student.id}
    assert (await _roles(api, teacher, parents_chat))[parent.id] == "member"

    # Everyone sees the class; chat ids only of their own chats.
    seen = {
        user.id: (await api.as_(user).get(_class(school, cls["id"]))).json()
        for user in (teacher, student, parent)
    }
    assert (seen[teacher.id]["chat_id"], seen[teacher.id]["parents_chat_id"]) == (class_chat, parents_chat)
    assert seen[student.id]["chat_id"] == class_chat and "parents_chat_id" not in seen[student.id]
    assert seen[parent.id]["parents_chat_id"] == parents_chat and "chat_id" not in seen[parent.id]
    assert all("teacher_member_ids" not in body for body in seen.values())


async def test_removed_teacher_leaves_the_chats(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher")
    student = await orgs.add(school, "student", class_id=cls["id"])
    await orgs.teach(school, cls["id"], teacher)
    url = f"{_class(school, cls['id'])}/teachers/{school.member_id(teacher)}"
    again = await api.as_(school.admin).put(url)
    assert again.status_code == 200 and again.json()["teacher_member_ids"] == [school.member_id(teacher)]
    since = await api.as_(teacher).last_event_id()

    response = await api.as_(school.admin).delete(url)
    assert response.status_code == 200 and response.json()["teacher_member_ids"] == []
    assert await orgs.chat_member_ids(student, cls["chat_id"]) == {student.id}
    events = await api.as_(teacher).sync(since)
    assert _types(events).count("chat.removed") == 2 and "class.updated" in _types(events)
    assert (await api.as_(school.admin).delete(url)).status_code == 200  # already gone: harmless


async def test_homeroom_teacher_teaches_the_class(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "9В")
    teacher = await orgs.add(school, "teacher")
    student = await orgs.add(school, "student", class_id=cls["id"])
    teacher_id = school.member_id(teacher)
    admin_since = await api.as_(school.admin).last_event_id()
    teacher_since = await api.as_(teacher).last_event_id()

    response = await api.as_(school.admin).patch(
        _class(school, cls["id"]), json={"homeroom_member_id": teacher_id}
    )
    assert response.status_code == 200
    assert response.json()["homeroom_member_id"] == teacher_id
    assert response.json()["teacher_member_ids"] == [teacher_id]
    assert (await _roles(api, teacher, cls["chat_id"]))[teacher.id] == "admin"
    admin_events = await api.as_(school.admin).sync(admin_since)
    assert _types(admin_events) == ["class.updated"]
    assert admin_events[0]["data"] == {"org_id": school.id, "class": response.json()}
    teacher_events = [e for e in await api.as_(teacher).sync(teacher_since) if e["type"] == "class.updated"]
    assert teacher_events[0]["data"]["class"]["homeroom_member_id"] == teacher_id
    assert "teacher_member_ids" not in teacher_events[0]["data"]["class"]

    bad = await api.as_(school.admin).patch(
        _class(school, cls["id"]), json={"homeroom_member_id": school.member_id(student)}
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "homeroom_member_id"

    cleared = await api.as_(school.admin).patch(_class(school, cls["id"]), json={"homeroom_member_id": None})
    assert "homeroom_member_id" not in cleared.json() and cleared.json()["teacher_member_ids"] == [teacher_id]

    await api.as_(school.admin).patch(_class(school, cls["id"]), json={"homeroom_member_id": teacher_id})
    await api.as_(school.admin).delete(f"{_class(school, cls['id'])}/teachers/{teacher_id}")
    assert "homeroom_member_id" not in (await api.as_(school.admin).get(_class(school, cls["id"]))).json()

    group = await orgs.klass(school, "Хор", kind="group")
    refused = await api.as_(school.admin).patch(
        _class(school, group["id"]), json={"homeroom_member_id": teacher_id}
    )
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "homeroom_member_id"
    unknown = await api.as_(school.admin).patch(_class(school, cls["id"]), json={"homeroom_member_id": 10**9})
    assert error_code(unknown) == "member_not_found"


@pytest.mark.parametrize("role", ["parent", "student"])
async def test_a_homeroom_teacher_given_a_non_teaching_role_stops_teaching(
    api: Api, orgs: OrgFactory, role: str
) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "9В")
    group = await orgs.klass(school, "Хор", kind="group")
    teacher = await orgs.add(school, "teacher")
    teacher_id = school.member_id(teacher)
    await orgs.teach(school, group["id"], teacher)
    await api.as_(school.admin).patch(_class(school, cls["id"]), json={"homeroom_member_id": teacher_id})
    admin_since = await api.as_(school.admin).last_event_id()
    teacher_since = await api.as_(teacher).last_event_id()

    changed = await api.as_(school.admin).patch(
        f"/api/v1/orgs/{school.id}/members/{teacher_id}", json={"role": role}
    )

    assert changed.status_code == 200 and "is_homeroom" not in changed.json()
    for klass in (cls, group):
        shown = (await api.as_(school.admin).get(_class(school, klass["id"]))).json()
        assert "homeroom_member_id" not in shown and shown["teacher_member_ids"] == []
    admin_events = await api.as_(school.admin).sync(admin_since)
    updated = [e["data"] for e in admin_events if e["type"] == "class.updated"]
    shown_now = [(await api.as_(school.admin).get(_class(school, k["id"]))).json() for k in (cls, group)]
    assert updated == [{"org_id": school.id, "class": c} for c in shown_now]
    teacher_events = await api.as_(teacher).sync(teacher_since)
    assert [e["data"]["class"]["id"] for e in teacher_events if e["type"] == "class.updated"] == [
        cls["id"],
        group["id"],
    ]
    # The class, parents' and group chats, and the staff chat: a student or parent is not staff.
    chats = (await api.as_(school.admin).get("/api/v1/chats")).json()["chats"]
    staff_chat = next(c["id"] for c in chats if c.get("purpose") == "staff")
    removed = [e["data"]["chat_id"] for e in teacher_events if e["type"] == "chat.removed"]
    assert sorted(removed) == sorted([cls["chat_id"], cls["parents_chat_id"], group["chat_id"], staff_chat])


async def test_rename_renames_the_chats(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "5А")
    await orgs.klass(school, "5Б")
    student = await orgs.add(school, "student", class_id=cls["id"])
    since = await api.as_(student).last_event_id()

    response = await api.as_(school.admin).patch(_class(school, cls["id"]), json={"name": "6 а"})
    assert response.status_code == 200 and response.json()["name"] == "6А" and response.json()["grade"] == 6
    assert (await _chat(api, student, cls["chat_id"]))["title"] == "6А класс"
    events = await api.as_(student).sync(since)
    assert {"chat_id": cls["chat_id"], "title": "6А класс"} in [
        e["data"] for e in events if e["type"] == "chat.updated"
    ]

    since = await api.as_(school.admin).last_event_id()
    same = await api.as_(school.admin).patch(_class(school, cls["id"]), json={"name": "6-a"})
    assert same.status_code == 200 and await api.as_(school.admin).sync(since) == []
    taken = await api.as_(school.admin).patch(_class(school, cls["id"]), json={"name": "5б"})
    assert taken.status_code == 409 and error_code(taken) == "conflict"
    empty = await api.as_(school.admin).patch(_class(school, cls["id"]), json={"name": ""})
    assert empty.status_code == 400 and empty.json()["error"]["field"] == "name"

    group = await orgs.klass(school, "шахматы", kind="group")
    renamed = await api.as_(school.admin).patch(_class(school, group["id"]), json={"name": "Шахматы"})
    assert renamed.json()["name"] == "Шахматы"


async def test_deleted_class_leaves_readable_archived_chats(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher")
    await orgs.teach(school, cls["id"], teacher)
    student = await orgs.add(school, "student", class_id=cls["id"])
    await make.message(student, cls["chat_id"], "Домашка?")
    since = await api.as_(student).last_event_id()

    response = await api.as_(school.admin).delete(_class(school, cls["id"]))
    assert response.status_code == 204
    events = await api.as_(student).sync(since)
    assert {"chat_id": cls["chat_id"], "is_archived": True} in [e["data"] for e in events]
    assert {"type": "class.deleted", "data": {"org_id": school.id, "class_id": cls["id"]}} in [
        {"type": e["type"], "data": e["data"]} for e in events
    ]
    refused = await _post(api, teacher, cls["chat_id"])
    assert refused.status_code == 403 and _reason(refused) == "chat_archived"
    assert (await _chat(api, student, cls["chat_id"]))["is_archived"] is True
    history = await api.as_(student).get(f"/api/v1/chats/{cls['chat_id']}/messages")
    assert history.status_code == 200 and "Домашка?" in history.text

    listed = (await api.as_(school.admin).get(_classes(school))).json()["classes"]
    assert listed == []
    gone = await api.as_(school.admin).get(_class(school, cls["id"]))
    assert gone.status_code == 404 and error_code(gone) == "class_not_found"
    assert error_code(await api.as_(school.admin).delete(_class(school, cls["id"]))) == "class_not_found"
    members = (await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/members")).json()["members"]
    assert "class_id" not in next(m for m in members if m.get("user_id") == student.id)


async def test_removed_student_loses_the_archived_class_chats(api: Api, orgs: OrgFactory) -> None:
    school, other = await orgs.school(), await orgs.school()
    cls, elsewhere = await orgs.klass(school, "5А"), await orgs.klass(other, "5А")
    teacher = await orgs.add(school, "teacher")
    await orgs.teach(school, cls["id"], teacher)
    student = await orgs.add(school, "student", class_id=cls["id"])
    classmate = await orgs.add(school, "student", class_id=cls["id"])
    await orgs.add(other, "student", student, class_id=elsewhere["id"])
    for org, klass in ((school, cls), (other, elsewhere)):
        assert (await api.as_(org.admin).delete(_class(org, klass["id"]))).status_code == 204
    since = await api.as_(student).last_event_id()
    teacher_since = await api.as_(teacher).last_event_id()

    url = f"/api/v1/orgs/{school.id}/members/{school.member_id(student)}"
    assert (await api.as_(school.admin).delete(url)).status_code == 204

    gone = await api.as_(student).get(f"/api/v1/chats/{cls['chat_id']}")
    assert gone.status_code == 404 and error_code(gone) == "chat_not_found"
    left = {"chat_id": cls["chat_id"], "user_id": student.id}
    assert [e["data"] for e in await api.as_(student).sync(since) if e["type"] == "chat.removed"] == [left]
    teacher_events = await api.as_(teacher).sync(teacher_since)
    assert [e["data"] for e in teacher_events if e["type"] == "chat.member_removed"] == [left]
    assert await orgs.chat_member_ids(classmate, cls["chat_id"]) == {teacher.id, classmate.id}
    # The other school's archived class chat is not this school's to take away.
    assert (await _chat(api, student, elsewhere["chat_id"]))["is_archived"] is True


async def test_class_chat_titles_follow_the_class_not_its_teachers(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher")
    await orgs.teach(school, cls["id"], teacher)
    student = await orgs.add(school, "student", class_id=cls["id"])
    since = await api.as_(student).last_event_id()
    url = f"/api/v1/chats/{cls['chat_id']}"

    for chat_id in (cls["chat_id"], cls["parents_chat_id"]):
        refused = await api.as_(teacher).patch(f"/api/v1/chats/{chat_id}", json={"title": "Лучший класс"})
        assert (refused.status_code, error_code(refused), _reason(refused)) == (
            403,
            "forbidden",
            "managed_chat",
        )
    assert _reason(await api.as_(student).patch(url, json={"description": "Мы"})) == "not_chat_admin"
    # The teacher, a chat admin, still describes the chat; resending its title renames nothing.
    body = {"title": " 5А  класс", "description": "Расписание в закрепе"}
    described = await api.as_(teacher).patch(url, json=body)

    assert described.status_code == 200, described.text
    chat = await _chat(api, student, cls["chat_id"])
    assert (chat["title"], chat["description"]) == ("5А класс", "Расписание в закрепе")
    updates = [e["data"] for e in await api.as_(student).sync(since) if e["type"] == "chat.updated"]
    assert updates == [
        {"chat_id": cls["chat_id"], "title": "5А класс", "description": "Расписание в закрепе"}
    ]


async def test_deleting_a_class_revokes_invites_into_it(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "5А")
    invites = f"/api/v1/orgs/{school.id}/invites"
    invite = await api.as_(school.admin).post(invites, json={"role": "student", "class_id": cls["id"]})
    assert invite.status_code == 201, invite.text
    assert (await api.as_(school.admin).delete(_class(school, cls["id"]))).status_code == 204
    listed = (await api.as_(school.admin).get(invites)).json()["invites"]
    assert [i["state"] for i in listed] == ["revoked"]
    joiner = await orgs.make.user()
    refused = await api.as_(joiner).post(f"/api/v1/org-invites/{invite.json()['token']}/join")
    assert refused.status_code == 404 and error_code(refused) == "invite_not_found"


async def test_group_members_and_teachers_share_the_group_chat(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    group = await orgs.klass(school, "Робототехника", kind="group")
    cls = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher")
    student = await orgs.add(school, "student", class_id=cls["id"])
    parent = await orgs.add(school, "parent")
    await orgs.teach(school, group["id"], teacher)
    members_url = f"{_class(school, group['id'])}/members"

    for user in (student, parent):
        response = await api.as_(school.admin).put(f"{members_url}/{school.member_id(user)}")
        assert response.status_code == 200
    body = response.json()
    assert body["member_ids"] == sorted([school.member_id(student), school.member_id(parent)])
    assert await _roles(api, teacher, group["chat_id"]) == {
        teacher.id: "admin",
        student.id: "member",
        parent.id: "member",
    }
    since = await api.as_(school.admin).last_event_id()
    again = await api.as_(school.admin).put(f"{members_url}/{school.member_id(student)}")
    assert again.status_code == 200 and await api.as_(school.admin).sync(since) == []

    student_since = await api.as_(student).last_event_id()
    removed = await api.as_(school.admin).delete(f"{members_url}/{school.member_id(student)}")
    assert removed.status_code == 200 and removed.json()["member_ids"] == [school.member_id(parent)]
    assert "chat.removed" in _types(await api.as_(student).sync(student_since))
    assert await orgs.chat_member_ids(teacher, group["chat_id"]) == {teacher.id, parent.id}

    as_teacher = await api.as_(school.admin).delete(f"{members_url}/{school.member_id(teacher)}")
    assert as_teacher.status_code == 400 and as_teacher.json()["error"]["field"] == "member_id"
    in_class = await api.as_(school.admin).put(
        f"{_class(school, cls['id'])}/members/{school.member_id(parent)}"
    )
    assert in_class.status_code == 400 and in_class.json()["error"]["field"] == "class_id"


async def test_managed_chats_refuse_hand_made_membership_changes(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher")
    await orgs.teach(school, cls["id"], teacher)
    student = await orgs.add(school, "student", class_id=cls["id"])
    stranger = await make.user()
    chat = f"/api/v1/chats/{cls['chat_id']}"

    attempts = [
        await api.as_(teacher).post(f"{chat}/members", json={"user_ids": [stranger.id]}),
        await api.as_(teacher).delete(f"{chat}/members/{student.id}"),
        await api.as_(student).delete(f"{chat}/members/{student.id}"),
        await api.as_(teacher).post(f"{chat}/invites", json={}),
    ]
    for response in attempts:
        assert response.status_code == 403 and _reason(response) == "managed_chat", response.text
    assert await orgs.chat_member_ids(teacher, cls["chat_id"]) == {teacher.id, student.id}
    assert (await _post(api, student, cls["chat_id"])).status_code == 201


async def test_classes_are_listed_by_grade_and_letter_then_groups(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    for name in ("10А", "5Б", "5А", "5"):
        await orgs.klass(school, name)
    for name in ("Шахматы", "английский"):
        await orgs.klass(school, name, kind="group")
    student = await orgs.add(school, "student")
    for viewer in (school.admin, student):
        response = await api.as_(viewer).get(_classes(school))
        assert response.status_code == 200
        names = [c["name"] for c in response.json()["classes"]]
        assert names == ["5", "5А", "5Б", "10А", "английский", "Шахматы"]
    seen = (await api.as_(student).get(_classes(school))).json()["classes"]
    assert all("chat_id" not in c and "teacher_member_ids" not in c for c in seen)


async def test_admin_actions_are_audited(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher")
    await orgs.teach(school, cls["id"], teacher)
    await api.as_(school.admin).patch(_class(school, cls["id"]), json={"name": "5Б"})
    await api.as_(school.admin).delete(_class(school, cls["id"]))
    entries = (await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/audit")).json()["entries"]
    ours = [(e["action"], e.get("class_id")) for e in entries if e.get("class_id") == cls["id"]]
    assert sorted(ours) == sorted(
        [(a, cls["id"]) for a in ("class.created", "class.teacher_added", "class.updated", "class.deleted")]
    )
    teaching = next(e for e in entries if e["action"] == "class.teacher_added")
    assert teaching["target_member_id"] == school.member_id(teacher)


def _admin_routes(
    school: School, class_id: int, member_id: int
) -> list[tuple[str, str, dict[str, Any] | None]]:
    one = _class(school, class_id)
    return [
        ("POST", _classes(school), {"kind": "class", "name": "8А"}),
        ("PATCH", one, {"name": "8Б"}),
        ("PUT", f"{one}/teachers/{member_id}", None),
        ("DELETE", f"{one}/teachers/{member_id}", None),
        ("PUT", f"{one}/members/{member_id}", None),
        ("DELETE", f"{one}/members/{member_id}", None),
        ("DELETE", one, None),
    ]


async def test_only_admins_manage_classes(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    group = await orgs.klass(school, "Хор", kind="group")
    teacher = await orgs.add(school, "teacher")
    student = await orgs.add(school, "student")
    parent = await orgs.add(school, "parent")
    routes = _admin_routes(school, group["id"], school.member_id(teacher))
    for user in (teacher, student, parent):
        for method, url, body in routes:
            response = await api.as_(user).request(method, url, json=body)
            assert response.status_code == 403 and error_code(response) == "forbidden", (method, url)

    other = await orgs.school()
    outsider = await make.user()
    for user in (outsider, other.admin):
        for method, url, body in [
            *routes,
            ("GET", _classes(school), None),
            ("GET", _class(school, group["id"]), None),
        ]:
            response = await api.as_(user).request(method, url, json=body)
            assert response.status_code == 404 and error_code(response) == "org_not_found", (method, url)


async def test_removed_member_no_longer_sees_the_classes(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    group = await orgs.klass(school, "Хор", kind="group")
    teacher = await orgs.add(school, "teacher")
    removed = await api.as_(school.admin).delete(
        f"/api/v1/orgs/{school.id}/members/{school.member_id(teacher)}"
    )
    assert removed.status_code in (200, 204), removed.text
    for url in (_classes(school), _class(school, group["id"])):
        assert error_code(await api.as_(teacher).get(url)) == "org_not_found"


async def test_class_of_another_org_is_not_found(api: Api, orgs: OrgFactory) -> None:
    school, other = await orgs.school(), await orgs.school()
    foreign = await orgs.klass(other, "5А")
    teacher = await orgs.add(school, "teacher")
    for method, url, body in [
        *_admin_routes(school, foreign["id"], school.member_id(teacher))[1:],
        ("GET", _class(school, foreign["id"]), None),
    ]:
        response = await api.as_(school.admin).request(method, url, json=body)
        assert response.status_code == 404 and error_code(response) == "class_not_found", (method, url)
    student = await orgs.add(school, "student")
    assert error_code(await api.as_(student).get(_class(school, foreign["id"]))) == "class_not_found"


async def test_bad_input_names_the_field(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    cls = await orgs.klass(school, "5А")
    group = await orgs.klass(school, "Хор", kind="group")
    admin = api.as_(school.admin)
    cases: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("POST", _classes(school), {"kind": "club", "name": "5А"}, "kind"),
        ("POST", _classes(school), {"kind": "class", "name": "12Б"}, "name"),
        ("POST", _classes(school), {"kind": "class", "name": "А5"}, "name"),
        ("POST", _classes(school), {"kind": "class", "name": "5АБВГ"}, "name"),
        ("POST", _classes(school), {"kind": "class", "name": ""}, "name"),
        ("POST", _classes(school), {"kind": "group", "name": "   "}, "name"),
        ("POST", _classes(school), {"kind": "group", "name": "х" * 65}, "name"),
        ("POST", _classes(school), {"kind": "class"}, "name"),
        ("POST", _classes(school), {"kind": "class", "name": 5}, "name"),
        ("PATCH", _class(school, cls["id"]), {"homeroom_member_id": "первый"}, "homeroom_member_id"),
        ("PATCH", _class(school, cls["id"]), {"title": "5Б"}, "title"),
    ]
    for method, url, body, field in cases:
        response = await admin.request(method, url, json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["field"] == field, body

    student = await orgs.add(school, "student")
    _phone, pending = await orgs.add_pending(school, "teacher")
    for member_id in (school.member_id(student), pending["member_id"]):
        response = await admin.put(f"{_class(school, group['id'])}/teachers/{member_id}")
        assert response.status_code == 400 and response.json()["error"]["field"] == "member_id"
    other = await orgs.school()
    for url in (f"{_class(school, group['id'])}/teachers", f"{_class(school, group['id'])}/members"):
        response = await admin.put(f"{url}/{other.admin_member_id}")
        assert response.status_code == 404 and error_code(response) == "member_not_found"
    bad_id = await admin.get(f"{_classes(school)}/0")
    assert bad_id.status_code == 400


async def test_pending_group_member_joins_the_chat_on_first_sign_in(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    group = await orgs.klass(school, "Шахматы", kind="group")
    teacher = await orgs.add(school, "teacher")
    await orgs.teach(school, group["id"], teacher)
    phone, pending = await orgs.add_pending(school, "student")
    added = await api.as_(school.admin).put(f"{_class(school, group['id'])}/members/{pending['member_id']}")
    assert added.status_code == 200 and added.json()["member_ids"] == [pending["member_id"]]
    assert await orgs.chat_member_ids(teacher, group["chat_id"]) == {teacher.id}

    newcomer = await make.user(phone=phone)
    assert await orgs.chat_member_ids(teacher, group["chat_id"]) == {teacher.id, newcomer.id}
