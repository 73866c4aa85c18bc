"""Parent links through the API: an admin links a parent to a student, or the parent
asks and an admin confirms; the link is what puts the parent into the parents' chat."""

from __future__ import annotations

from typing import Any

from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School


def _links(school: School | int) -> str:
    org_id = school if isinstance(school, int) else school.id
    return f"/api/v1/orgs/{org_id}/parent-links"


def _pair(school: School, parent: TestUser, child: TestUser) -> dict[str, int]:
    return {"parent_member_id": school.member_id(parent), "child_member_id": school.member_id(child)}


def _of_type(events: list[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == type]


async def _listed(api: Api, viewer: TestUser, school: School, **params: Any) -> list[dict[str, Any]]:
    response = await api.as_(viewer).get(_links(school), params=params)
    assert response.status_code == 200, response.text
    links: list[dict[str, Any]] = response.json()["links"]
    return links


async def _audit_actions(api: Api, school: School) -> list[str]:
    response = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/audit")
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["entries"]]


async def _class_with_student(
    orgs: OrgFactory, school: School, name: str = "5А"
) -> tuple[dict[str, Any], TestUser, TestUser]:
    """A class with its teacher and one student."""
    teacher = await orgs.add(school, "teacher")
    klass = await orgs.klass(school, name)
    await orgs.teach(school, klass["id"], teacher)
    student = await orgs.add(school, "student", class_id=klass["id"])
    return klass, teacher, student


async def _family(orgs: OrgFactory, school: School) -> tuple[dict[str, Any], TestUser, TestUser, TestUser]:
    """A class with its teacher, one student and the student's linked parent."""
    klass, teacher, student = await _class_with_student(orgs, school)
    parent = await orgs.add(school, "parent")
    await orgs.link(school, parent, student)
    return klass, teacher, student, parent


async def test_admin_links_a_parent_who_enters_the_parents_chat(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass, teacher, student = await _class_with_student(orgs, school)
    parent = await orgs.add(school, "parent")
    since = {u.id: await api.as_(u).last_event_id() for u in (parent, student, school.admin, teacher)}

    response = await api.as_(school.admin).post(_links(school), json=_pair(school, parent, student))

    assert response.status_code == 201, response.text
    link = response.json()
    assert link == _pair(school, parent, student) | {
        "org_id": school.id,
        "status": "active",
        "created_at": link["created_at"],
    }
    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id, parent.id}
    assert await orgs.chat_member_ids(teacher, klass["chat_id"]) == {teacher.id, student.id}
    for user in (parent, student, school.admin):
        assert _of_type(await api.as_(user).sync(since[user.id]), "parent_link.created") == [link]
    assert _of_type(await api.as_(teacher).sync(since[teacher.id]), "parent_link.created") == []
    assert "parent_link.added" in await _audit_actions(api, school)
    assert await _listed(api, school.admin, school) == [link]
    assert await _listed(api, parent, school) == [link]


async def test_parent_asks_and_an_admin_confirms(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    klass, teacher, student = await _class_with_student(orgs, school)
    parent = await orgs.add(school, "parent")
    admin_since = await api.as_(school.admin).last_event_id()
    student_since = await api.as_(student).last_event_id()
    pair = _pair(school, parent, student)

    asked = await api.as_(parent).post(_links(school), json=pair)

    assert asked.status_code == 201 and asked.json()["status"] == "requested"
    # Not yet in the parents' chat: an admin has to confirm who is whose parent.
    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id}
    created = _of_type(await api.as_(school.admin).sync(admin_since), "parent_link.created")
    assert [c["status"] for c in created] == ["requested"]
    assert [x["status"] for x in await _listed(api, school.admin, school, status="requested")] == [
        "requested"
    ]
    assert await _listed(api, school.admin, school, status="active") == []
    assert error_code(await api.as_(parent).post(_links(school), json=pair)) == "conflict"
    assert error_code(await api.as_(parent).post(f"{_links(school)}/confirm", json=pair)) == "forbidden"
    assert error_code(await api.as_(teacher).post(f"{_links(school)}/confirm", json=pair)) == "forbidden"

    confirmed = await api.as_(school.admin).post(f"{_links(school)}/confirm", json=pair)

    assert confirmed.status_code == 200 and confirmed.json()["status"] == "active"
    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id, parent.id}
    again = await api.as_(school.admin).post(f"{_links(school)}/confirm", json=pair)
    assert again.status_code == 200 and again.json() == confirmed.json()
    assert [
        c["status"] for c in _of_type(await api.as_(student).sync(student_since), "parent_link.confirmed")
    ] == ["active"]
    assert {"parent_link.requested", "parent_link.confirmed"} <= set(await _audit_actions(api, school))


async def test_an_admin_linking_a_requested_pair_confirms_it(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass, teacher, student = await _class_with_student(orgs, school)
    parent = await orgs.add(school, "parent")
    pair = _pair(school, parent, student)
    await api.as_(parent).post(_links(school), json=pair)

    linked = await api.as_(school.admin).post(_links(school), json=pair)

    assert linked.status_code == 201 and linked.json()["status"] == "active"
    assert error_code(await api.as_(school.admin).post(_links(school), json=pair)) == "conflict"
    assert parent.id in await orgs.chat_member_ids(teacher, klass["parents_chat_id"])


async def test_a_teacher_can_be_a_parent_too(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    klass, teacher, student = await _class_with_student(orgs, school)
    other_teacher = await orgs.add(school, "teacher")

    await orgs.link(school, other_teacher, student)

    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id, other_teacher.id}
    # A parent link gives no place in the children's class chat.
    assert other_teacher.id not in await orgs.chat_member_ids(teacher, klass["chat_id"])


async def test_removing_a_link_takes_the_parent_out(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    klass, teacher, student = await _class_with_student(orgs, school)
    mother, father, stranger = [await orgs.add(school, "parent") for _ in range(3)]
    await orgs.link(school, mother, student)
    await orgs.link(school, father, student)
    since = await api.as_(mother).last_event_id()

    def url(parent: TestUser) -> str:
        pair = _pair(school, parent, student)
        return f"{_links(school)}?" + "&".join(f"{k}={v}" for k, v in pair.items())

    assert error_code(await api.as_(stranger).delete(url(mother))) == "forbidden"
    assert error_code(await api.as_(teacher).delete(url(mother))) == "forbidden"
    assert error_code(await api.as_(stranger).delete(url(stranger))) == "not_found"
    assert (await api.as_(mother).delete(url(mother))).status_code == 204
    assert (await api.as_(school.admin).delete(url(father))).status_code == 204

    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id}
    events = await api.as_(mother).sync(since)
    assert [d["parent_member_id"] for d in _of_type(events, "parent_link.deleted")] == [
        school.member_id(mother)
    ]
    assert {d["chat_id"] for d in _of_type(events, "chat.removed")} == {klass["parents_chat_id"]}
    assert error_code(await api.as_(school.admin).delete(url(mother))) == "not_found"
    assert await _listed(api, school.admin, school) == []
    assert "parent_link.removed" in await _audit_actions(api, school)


async def test_a_parent_sees_only_their_own_links(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    _, teacher, first = await _class_with_student(orgs, school)
    second = await orgs.add(school, "student")
    mother, other = await orgs.add(school, "parent"), await orgs.add(school, "parent")
    await orgs.link(school, mother, first)
    await orgs.link(school, other, second)

    assert [link["child_member_id"] for link in await _listed(api, mother, school)] == [
        school.member_id(first)
    ]
    assert len(await _listed(api, school.admin, school)) == 2
    assert await _listed(api, teacher, school) == []
    response = await api.as_(school.admin).get(_links(school), params={"status": "maybe"})
    assert (response.status_code, error_code(response), response.json()["error"]["field"]) == (
        400,
        "invalid_request",
        "status",
    )


async def test_linking_checks_rights_and_input(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    other = await orgs.school()
    _, teacher, student = await _class_with_student(orgs, school)
    classmate = await orgs.add(school, "student")
    parent = await orgs.add(school, "parent")
    foreign_child = await orgs.add(other, "student")
    outsider = await make.user()
    pair = _pair(school, parent, student)
    url = _links(school)

    # Only admins link someone else; a student asks for nobody.
    assert error_code(await api.as_(teacher).post(url, json=pair)) == "forbidden"
    assert (
        error_code(await api.as_(classmate).post(url, json=_pair(school, classmate, student))) == "forbidden"
    )
    assert error_code(await api.as_(outsider).post(url, json=pair)) == "org_not_found"
    assert error_code(await api.as_(other.admin).post(url, json=pair)) == "org_not_found"
    for call in (
        api.as_(outsider).get(url),
        api.as_(other.admin).post(f"{url}/confirm", json=pair),
        api.as_(outsider).delete(url, params=pair),
    ):
        assert error_code(await call) == "org_not_found"
    bad = [
        (_pair(school, student, student), 400, "invalid_request", "child_member_id"),
        (_pair(school, student, parent), 400, "invalid_request", "child_member_id"),
        (pair | {"child_member_id": "x"}, 400, "invalid_request", "child_member_id"),
        ({"parent_member_id": pair["parent_member_id"]}, 400, "invalid_request", "child_member_id"),
        (pair | {"note": "мама"}, 400, "invalid_request", "note"),
        (pair | {"child_member_id": other.member_id(foreign_child)}, 404, "member_not_found", None),
    ]
    for body, status, code, field in bad:
        response = await api.as_(school.admin).post(url, json=body)
        assert (response.status_code, error_code(response)) == (status, code), body
        assert response.json()["error"].get("field") == field, body
    missing = await api.as_(school.admin).post(f"{url}/confirm", json=pair)
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    assert await _listed(api, school.admin, school) == []


async def test_removing_a_parent_or_child_removes_their_links(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass, teacher, student, parent = await _family(orgs, school)
    url = f"/api/v1/orgs/{school.id}/members/{school.member_id(parent)}"

    assert (await api.as_(school.admin).delete(url)).status_code == 204

    assert await _listed(api, school.admin, school) == []
    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id}
    assert error_code(await api.as_(parent).get(_links(school))) == "org_not_found"
    assert error_code(await api.as_(parent).post(_links(school), json=_pair(school, parent, student))) == (
        "org_not_found"
    )


async def test_a_pending_parent_linked_in_advance_joins_the_parents_chat(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass, teacher, student = await _class_with_student(orgs, school)
    phone, pending = await orgs.add_pending(school, "parent", name="Мама Пети")
    link = await api.as_(school.admin).post(
        _links(school),
        json={"parent_member_id": pending["member_id"], "child_member_id": school.member_id(student)},
    )
    assert link.status_code == 201
    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id}

    parent = await make.user(phone=phone)

    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id, parent.id}
    members = (await api.as_(parent).get(f"/api/v1/orgs/{school.id}/members")).json()["members"]
    me = next(m for m in members if m.get("user_id") == parent.id)
    assert me["children"] == [school.member_id(student)]


async def test_a_parent_who_leaves_loses_the_archived_parents_chat(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass, teacher, student, parent = await _family(orgs, school)
    deleted = await api.as_(school.admin).delete(f"/api/v1/orgs/{school.id}/classes/{klass['id']}")
    assert deleted.status_code == 204
    parents_chat = f"/api/v1/chats/{klass['parents_chat_id']}"
    assert (await api.as_(parent).get(parents_chat)).status_code == 200  # archived, still readable
    since = await api.as_(parent).last_event_id()
    teacher_since = await api.as_(teacher).last_event_id()

    assert (await api.as_(parent).post(f"/api/v1/orgs/{school.id}/leave")).status_code == 204

    assert error_code(await api.as_(parent).get(parents_chat)) == "chat_not_found"
    left = {"chat_id": klass["parents_chat_id"], "user_id": parent.id}
    assert _of_type(await api.as_(parent).sync(since), "chat.removed") == [left]
    assert _of_type(await api.as_(teacher).sync(teacher_since), "chat.member_removed") == [left]
    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id}
    # Those who stay keep the history.
    assert (await api.as_(student).get(f"/api/v1/chats/{klass['chat_id']}")).status_code == 200
