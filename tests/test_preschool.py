"""Kindergartens through the API: preschool groups instead of classes, each with a
parents' chat and no children's chat; schools keep their "5А" rules."""

from __future__ import annotations

from typing import Any

from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School

SUN = "Младшая группа «Солнышко»"


async def _kindergarten(orgs: OrgFactory) -> School:
    return await orgs.school(
        kind="kindergarten",
        full_name="МБДОУ «Детский сад № 7 „Ромашка“»",
        short_name="Детский сад № 7",
    )


def _classes(school: School) -> str:
    return f"/api/v1/orgs/{school.id}/classes"


def _of(events: list[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == type]


async def _chats(api: Api, user: TestUser) -> list[dict[str, Any]]:
    response = await api.as_(user).get("/api/v1/chats")
    assert response.status_code == 200, response.text
    chats: list[dict[str, Any]] = response.json()["chats"]
    return chats


async def _roles(api: Api, viewer: TestUser, chat_id: int) -> dict[int, str]:
    response = await api.as_(viewer).get(f"/api/v1/chats/{chat_id}/members")
    assert response.status_code == 200, response.text
    return {m["id"]: m["role"] for m in response.json()["members"]}


async def test_a_kindergarten_class_is_a_preschool_group_with_a_parents_chat_only(
    api: Api, orgs: OrgFactory
) -> None:
    garden = await _kindergarten(orgs)
    since = await api.as_(garden.admin).last_event_id()

    created = await orgs.klass(garden, f"  {SUN}  ")

    assert created == {
        "id": created["id"],
        "kind": "preschool",
        "name": SUN,
        "parents_chat_id": created["parents_chat_id"],
        "teacher_member_ids": [],
    }
    [announced] = _of(await api.as_(garden.admin).sync(since), "class.created")
    assert announced == {"org_id": garden.id, "class": created}
    listed = (await api.as_(garden.admin).get(f"{_classes(garden)}/{created['id']}")).json()
    assert listed == created


async def test_preschool_group_names_are_free_form_and_unique_under_any_case(
    api: Api, orgs: OrgFactory
) -> None:
    garden = await _kindergarten(orgs)
    await orgs.klass(garden, SUN)
    for spelling in ("младшая  группа «солнышко»", "МЛАДШАЯ ГРУППА «СОЛНЫШКО»"):
        again = await api.as_(garden.admin).post(_classes(garden), json={"kind": "class", "name": spelling})
        assert again.status_code == 409 and error_code(again) == "conflict", spelling
    # No "5А" parsing: a name without a grade is fine, and "5А" is just a name.
    for name in ("Средняя группа", "5А", "Группа кратковременного пребывания"):
        made = await orgs.klass(garden, name)
        assert (made["kind"], made["name"]) == ("preschool", name) and "grade" not in made
    for bad in ("", "   ", "х" * 65):
        refused = await api.as_(garden.admin).post(_classes(garden), json={"kind": "class", "name": bad})
        assert refused.status_code == 400 and refused.json()["error"]["field"] == "name", bad
    # A club is still a group with its own chat, even in a kindergarten.
    club = await orgs.klass(garden, "Английский для малышей", kind="group")
    assert club["kind"] == "group" and "chat_id" in club
    names = [c["name"] for c in (await api.as_(garden.admin).get(_classes(garden))).json()["classes"]]
    assert names == [
        "5А",
        "Группа кратковременного пребывания",
        SUN,
        "Средняя группа",
        "Английский для малышей",
    ]


async def test_a_school_keeps_its_class_rules(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    created = await orgs.klass(school, "5а")
    assert (created["kind"], created["name"], created["grade"], created["letter"]) == ("class", "5А", 5, "А")
    assert "chat_id" in created and "parents_chat_id" in created
    refused = await api.as_(school.admin).post(_classes(school), json={"kind": "class", "name": SUN})
    assert refused.status_code == 400 and error_code(refused) == "invalid_request"
    assert refused.json()["error"]["field"] == "name"


async def test_educators_and_linked_parents_share_the_parents_chat_children_are_in_no_chat(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    garden = await _kindergarten(orgs)
    group = await orgs.klass(garden, SUN)
    chat_id = group["parents_chat_id"]
    educator = await orgs.add(garden, "teacher")
    await orgs.teach(garden, group["id"], educator)
    child = await orgs.add(garden, "student", class_id=group["id"])
    parent = await orgs.add(garden, "parent")
    assert await _roles(api, educator, chat_id) == {educator.id: "admin"}
    since = await api.as_(parent).last_event_id()

    await orgs.link(garden, parent, child)

    assert await _roles(api, educator, chat_id) == {educator.id: "admin", parent.id: "member"}
    added = _of(await api.as_(parent).sync(since), "chat.member_added")
    assert [(e["chat_id"], [u["id"] for u in e["users"]]) for e in added] == [(chat_id, [parent.id])]
    parents_chat = next(c for c in await _chats(api, parent) if c["id"] == chat_id)
    assert (parents_chat["title"], parents_chat["purpose"], parents_chat["class_id"]) == (
        f"{SUN} — родители",
        "parents",
        group["id"],
    )
    # The child is enrolled into the group but is in no chat: children do not use the messenger.
    assert await _chats(api, child) == []
    members = (await api.as_(garden.admin).get(f"/api/v1/orgs/{garden.id}/members")).json()["members"]
    assert next(m for m in members if m.get("user_id") == child.id)["class_id"] == group["id"]
    # The educators' room is the staff chat, without parents.
    assert sorted(c["purpose"] for c in await _chats(api, educator)) == ["parents", "staff"]
    assert [c["purpose"] for c in await _chats(api, parent)] == ["parents"]


async def test_a_pending_child_and_a_parent_by_link_land_in_the_group(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    garden = await _kindergarten(orgs)
    group = await orgs.klass(garden, SUN)
    educator = await orgs.add(garden, "teacher")
    await orgs.teach(garden, group["id"], educator)
    _, child = await orgs.add_pending(garden, "student", class_id=group["id"], name="Соня Малышева")
    assert child["class_id"] == group["id"]
    invite = await api.as_(garden.admin).post(
        f"/api/v1/orgs/{garden.id}/invites", json={"role": "parent", "class_id": group["id"]}
    )
    assert invite.status_code == 201, invite.text
    parent = await make.user("Ольга", "Малышева")

    joined = await api.as_(parent).post(f"/api/v1/org-invites/{invite.json()['token']}/join")

    assert joined.status_code == 201, joined.text
    # A parent in the group, not yet linked to a child: not in the parents' chat yet.
    assert await _roles(api, educator, group["parents_chat_id"]) == {educator.id: "admin"}
    members = (await api.as_(garden.admin).get(f"/api/v1/orgs/{garden.id}/members")).json()["members"]
    mine = next(m for m in members if m.get("user_id") == parent.id)
    assert mine["class_id"] == group["id"]
    linked = await api.as_(garden.admin).post(
        f"/api/v1/orgs/{garden.id}/parent-links",
        json={"parent_member_id": mine["member_id"], "child_member_id": child["member_id"]},
    )
    assert linked.status_code == 201, linked.text
    assert await _roles(api, educator, group["parents_chat_id"]) == {
        educator.id: "admin",
        parent.id: "member",
    }


async def test_preschool_groups_have_no_homeroom_and_no_group_members(api: Api, orgs: OrgFactory) -> None:
    garden = await _kindergarten(orgs)
    group = await orgs.klass(garden, SUN)
    educator = await orgs.add(garden, "teacher")
    url = f"{_classes(garden)}/{group['id']}"

    homeroom = await api.as_(garden.admin).patch(url, json={"homeroom_member_id": garden.member_id(educator)})
    as_member = await api.as_(garden.admin).put(f"{url}/members/{garden.member_id(educator)}")

    assert homeroom.status_code == 400 and homeroom.json()["error"]["field"] == "homeroom_member_id"
    assert as_member.status_code == 400 and as_member.json()["error"]["field"] == "class_id"


async def test_renaming_and_deleting_a_preschool_group_carry_its_chat(api: Api, orgs: OrgFactory) -> None:
    garden = await _kindergarten(orgs)
    group = await orgs.klass(garden, SUN)
    await orgs.klass(garden, "Средняя группа")
    educator = await orgs.add(garden, "teacher")
    await orgs.teach(garden, group["id"], educator)
    url = f"{_classes(garden)}/{group['id']}"

    taken = await api.as_(garden.admin).patch(url, json={"name": "СРЕДНЯЯ группа"})
    renamed = await api.as_(garden.admin).patch(url, json={"name": "Средняя группа «Солнышко»"})

    assert taken.status_code == 409 and error_code(taken) == "conflict"
    assert renamed.status_code == 200 and renamed.json()["name"] == "Средняя группа «Солнышко»"
    chat = (await api.as_(educator).get(f"/api/v1/chats/{group['parents_chat_id']}")).json()
    assert chat["title"] == "Средняя группа «Солнышко» — родители"
    assert (await api.as_(garden.admin).delete(url)).status_code == 204
    chat = (await api.as_(educator).get(f"/api/v1/chats/{group['parents_chat_id']}")).json()
    assert chat["is_archived"] is True


async def test_only_admins_manage_preschool_groups(api: Api, make: Factory, orgs: OrgFactory) -> None:
    garden = await _kindergarten(orgs)
    group = await orgs.klass(garden, SUN)
    educator = await orgs.add(garden, "teacher")
    outsider = await make.user()
    body = {"kind": "class", "name": "Старшая группа"}
    url = f"{_classes(garden)}/{group['id']}"

    not_found = await api.as_(outsider).post(_classes(garden), json=body)
    forbidden = await api.as_(educator).post(_classes(garden), json=body)
    teach = await api.as_(educator).put(f"{url}/teachers/{garden.member_id(educator)}")

    assert not_found.status_code == 404 and error_code(not_found) == "org_not_found"
    assert forbidden.status_code == 403 and error_code(forbidden) == "forbidden"
    assert teach.status_code == 403 and error_code(teach) == "forbidden"
    assert (await api.as_(outsider).get(url)).status_code == 404
    listed = (await api.as_(garden.admin).get(_classes(garden))).json()["classes"]
    assert [c["name"] for c in listed] == [SUN]


async def test_a_kindergarten_roster_names_its_groups(api: Api, make: Factory, orgs: OrgFactory) -> None:
    garden = await _kindergarten(orgs)
    mother = await make.user("Ирина", "Малышева")
    rows = [
        ["Соня Малышева", "воспитанница", SUN, "+7 912 555-01-01", ""],
        ["Ирина Малышева", "родитель", "", mother.phone, "+7 912 555-01-01"],
        ["Вера Воспитателева", "воспитатель", "", "+7 912 555-01-02", ""],
    ]
    header = "ФИО;Роль;Группа;Телефон;Ребёнок"
    data = ("\r\n".join([header, *(";".join(r) for r in rows)]) + "\r\n").encode()

    response = await api.as_(garden.admin).post(
        f"/api/v1/orgs/{garden.id}/roster", files={"file": ("r.csv", data)}
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["rejected"] == [], report
    assert report["summary"]["classes_created"] == 1 and report["summary"]["parents_linked"] == 1
    [group] = (await api.as_(garden.admin).get(_classes(garden))).json()["classes"]
    assert (group["kind"], group["name"]) == ("preschool", SUN)
    members = (await api.as_(garden.admin).get(f"/api/v1/orgs/{garden.id}/members")).json()["members"]
    child = next(m for m in members if m["name"] == "Соня Малышева")
    assert child["class_id"] == group["id"] and child["role"] == "student"
    assert next(m for m in members if m["name"] == "Вера Воспитателева")["role"] == "teacher"
    assert await _roles(api, mother, group["parents_chat_id"]) == {mother.id: "member"}
