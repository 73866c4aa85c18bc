"""The teacher badge: parents can tell the real teacher from an impostor."""

from __future__ import annotations

from typing import Any

from tests.client import Api, Factory, TestUser
from tests.org_factory import OrgFactory, School


async def _class_with_family(orgs: OrgFactory, school: School) -> tuple[dict[str, Any], TestUser, TestUser]:
    klass = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher", await orgs.make.user("Мария", "Петровна"))
    await orgs.teach(school, klass["id"], teacher)
    student = await orgs.add(school, "student", class_id=klass["id"])
    # The impostor gives herself the teacher's name: only the badge tells them apart.
    parent = await orgs.add(school, "parent", await orgs.make.user("Мария", "Петровна"))
    await orgs.link(school, parent, student)
    return klass, teacher, parent


def _badges(messages: list[dict[str, Any]]) -> dict[str, str | None]:
    return {m["text"]: m.get("sender_badge") for m in messages}


async def test_verified_teacher_is_marked_in_messages_members_and_live_events(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    await orgs.verify(school)
    klass, teacher, parent = await _class_with_family(orgs, school)
    chat_id = klass["parents_chat_id"]
    since = await api.as_(parent).last_event_id()
    await make.message(teacher, chat_id, "Собрание в четверг")
    await make.message(parent, chat_id, "Собрание отменили, приходите в пятницу")

    history = (await api.as_(parent).get(f"/api/v1/chats/{chat_id}/messages")).json()["messages"]
    expected = {"Собрание в четверг": "teacher", "Собрание отменили, приходите в пятницу": None}
    assert _badges(history) == expected
    live = [e["data"]["message"] for e in await api.as_(parent).sync(since) if e["type"] == "message.created"]
    assert _badges(live) == expected
    members = (await api.as_(parent).get(f"/api/v1/chats/{chat_id}/members")).json()["members"]
    assert {m["id"]: m.get("badge") for m in members} == {teacher.id: "teacher", parent.id: None}


async def test_no_badge_in_an_unverified_school(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    klass, teacher, parent = await _class_with_family(orgs, school)
    await make.message(teacher, klass["parents_chat_id"], "Собрание в четверг")
    history = (await api.as_(parent).get(f"/api/v1/chats/{klass['parents_chat_id']}/messages")).json()
    assert "sender_badge" not in history["messages"][0]
    members = (await api.as_(parent).get(f"/api/v1/chats/{klass['parents_chat_id']}/members")).json()
    assert all("badge" not in m for m in members["members"])


async def test_badge_disappears_when_the_teacher_leaves_the_school(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    await orgs.verify(school)
    klass, teacher, parent = await _class_with_family(orgs, school)
    await make.message(teacher, klass["parents_chat_id"], "Собрание в четверг")
    response = await api.as_(school.admin).patch(
        f"/api/v1/orgs/{school.id}/members/{school.member_id(teacher)}", json={"role": "parent"}
    )
    assert response.status_code == 200, response.text
    history = (await api.as_(parent).get(f"/api/v1/chats/{klass['parents_chat_id']}/messages")).json()
    assert "sender_badge" not in history["messages"][0]
