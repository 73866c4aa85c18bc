"""Members of an organization through the API: adding, pending sign-ins, roles,
classes, removal, leaving, the directory, and the class chats that follow them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.client import Api, Factory, TestUser, error_code, new_phone
from tests.org_factory import OrgFactory, School


def _members(school: School | int) -> str:
    org_id = school if isinstance(school, int) else school.id
    return f"/api/v1/orgs/{org_id}/members"


def _member(school: School, member_id: int) -> str:
    return f"{_members(school)}/{member_id}"


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def _of_type(events: list[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == type]


async def _directory(api: Api, viewer: TestUser, school: School, **params: Any) -> list[dict[str, Any]]:
    response = await api.as_(viewer).get(_members(school), params=params)
    assert response.status_code == 200, response.text
    members: list[dict[str, Any]] = response.json()["members"]
    return members


async def _audit_actions(api: Api, school: School) -> list[str]:
    response = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/audit")
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["entries"]]


async def _reason(response: Any) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("reason")


# --- Adding -------------------------------------------------------------------


async def test_admin_adds_a_person_with_an_account_who_hears_of_it(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await make.user("Мария", "Учителева")
    teacher_since = await api.as_(teacher).last_event_id()
    admin_since = await api.as_(school.admin).last_event_id()

    response = await api.as_(school.admin).post(
        _members(school), json={"phone": teacher.phone.replace("+7", "8"), "role": "teacher"}
    )

    assert response.status_code == 201, response.text
    member = response.json()
    assert member == {
        "member_id": member["member_id"],
        "user_id": teacher.id,
        "name": "Мария Учителева",
        "role": "teacher",
        "status": "active",
        "phone": teacher.phone,
    }
    events = await api.as_(teacher).sync(teacher_since)
    # A teacher is staff: the staff chat takes them in, as the org tells them.
    assert _types(events) == ["chat.member_added", "org.joined"]
    staff_chat = (await api.as_(teacher).get("/api/v1/chats")).json()["chats"][0]
    assert staff_chat["purpose"] == "staff" and events[0]["data"]["chat_id"] == staff_chat["id"]
    joined = events[1]["data"]
    assert joined["org"]["id"] == school.id and joined["org"]["my_role"] == "teacher"
    assert joined["member_id"] == member["member_id"] and joined["role"] == "teacher"
    assert teacher.phone not in str(events)
    added = _of_type(await api.as_(school.admin).sync(admin_since), "org.member_added")
    assert added == [{"org_id": school.id, "member": member}]
    assert "member.added" in await _audit_actions(api, school)
    mine = await _directory(api, teacher, school)
    assert {m["member_id"] for m in mine} == {school.admin_member_id, member["member_id"]}


async def test_student_added_with_a_class_enters_the_class_chat(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    klass = await orgs.klass(school, "5А")
    await orgs.teach(school, klass["id"], teacher)

    student = await orgs.add(school, "student", class_id=klass["id"])

    assert await orgs.chat_member_ids(teacher, klass["chat_id"]) == {teacher.id, student.id}
    assert await orgs.chat_member_ids(teacher, klass["parents_chat_id"]) == {teacher.id}
    listed = await _directory(api, school.admin, school, role="student")
    assert [(m["member_id"], m["class_id"]) for m in listed] == [(school.member_id(student), klass["id"])]


async def test_pending_member_becomes_active_on_first_sign_in(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    klass = await orgs.klass(school, "7Б")
    await orgs.teach(school, klass["id"], teacher)
    phone, pending = await orgs.add_pending(school, "student", class_id=klass["id"], name="  Петя   Сидоров ")
    assert pending == {
        "member_id": pending["member_id"],
        "name": "Петя Сидоров",
        "role": "student",
        "status": "pending",
        "class_id": klass["id"],
        "phone": phone,
    }
    # Pending members are the admins' business: others do not see them.
    assert pending["member_id"] not in {m["member_id"] for m in await _directory(api, teacher, school)}
    assert pending in await _directory(api, school.admin, school)
    admin_since = await api.as_(school.admin).last_event_id()

    student = await make.user("Пётр", "Сидоров", phone=phone)

    events = await api.as_(student).sync(0)
    joined = _of_type(events, "org.joined")
    assert len(joined) == 1 and joined[0]["member_id"] == pending["member_id"]
    assert joined[0]["class_id"] == klass["id"] and joined[0]["org"]["id"] == school.id
    assert await orgs.chat_member_ids(teacher, klass["chat_id"]) == {teacher.id, student.id}
    # The first screen explains where they are: the school, the class and their chats.
    [welcome] = _of_type(events, "notice.welcome")
    assert welcome["org_id"] == school.id and welcome["class_name"] == "7Б"
    assert welcome["chats"] == [{"id": klass["chat_id"], "title": "7Б класс"}]
    assert "7Б" in welcome["text"] and "ученик" in welcome["text"]
    updated = _of_type(await api.as_(school.admin).sync(admin_since), "org.member_updated")
    assert [u["member"]["status"] for u in updated] == ["active"]
    assert updated[0]["member"]["user_id"] == student.id and "phone" not in updated[0]["member"]
    row = next(
        m for m in await _directory(api, school.admin, school) if m["member_id"] == pending["member_id"]
    )
    assert row["status"] == "active" and row["user_id"] == student.id and row["phone"] == phone
    assert row["name"] == "Пётр Сидоров"


async def test_a_phone_pending_in_two_schools_joins_both(api: Api, make: Factory, orgs: OrgFactory) -> None:
    first, second = await orgs.school(), await orgs.school()
    phone = new_phone()
    for school in (first, second):
        response = await api.as_(school.admin).post(_members(school), json={"phone": phone, "role": "parent"})
        assert response.status_code == 201, response.text

    parent = await make.user(phone=phone)

    assert len(_of_type(await api.as_(parent).sync(0), "org.joined")) == 2
    for school in (first, second):
        assert parent.id in {m.get("user_id") for m in await _directory(api, parent, school)}


async def test_adding_checks_rights_and_input(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    other = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    outsider = await make.user()
    klass = await orgs.klass(school, "5А")
    group = await orgs.klass(school, "Шахматы", kind="group")
    foreign_class = await orgs.klass(other, "5А")
    url = _members(school)
    fine = {"phone": new_phone(), "role": "student"}

    assert error_code(await api.as_(teacher).post(url, json=fine)) == "forbidden"
    assert error_code(await api.as_(outsider).post(url, json=fine)) == "org_not_found"
    assert error_code(await api.as_(other.admin).post(url, json=fine)) == "org_not_found"
    assert error_code(await api.as_(school.admin).post(_members(10**9), json=fine)) == "org_not_found"
    bad = [
        ({"phone": "12345"}, 400, "invalid_phone", "phone"),
        ({"phone": "8912CALLNOW"}, 400, "invalid_phone", "phone"),
        ({"role": "director"}, 400, "invalid_request", "role"),
        ({"role": "teacher", "class_id": klass["id"]}, 400, "invalid_request", "class_id"),
        ({"class_id": "x"}, 400, "invalid_request", "class_id"),
        ({"name": "Петя\x00"}, 400, "invalid_request", "name"),
        ({"surname": "Петров"}, 400, "invalid_request", "surname"),
        ({"class_id": foreign_class["id"]}, 404, "class_not_found", None),
        ({"class_id": group["id"]}, 404, "class_not_found", None),
        ({"class_id": 10**9}, 404, "class_not_found", None),
    ]
    for change, status, code, field in bad:
        response = await api.as_(school.admin).post(url, json=fine | change)
        assert (response.status_code, error_code(response)) == (status, code), change
        assert response.json()["error"].get("field") == field, change
    # Nothing was added by the failed calls.
    assert len(await _directory(api, school.admin, school)) == 2


async def test_adding_someone_twice_is_a_conflict(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    phone, _ = await orgs.add_pending(school, "parent")

    for body in ({"phone": teacher.phone, "role": "parent"}, {"phone": phone, "role": "teacher"}):
        response = await api.as_(school.admin).post(_members(school), json=body)
        assert (response.status_code, error_code(response)) == (409, "conflict")
    own = await api.as_(school.admin).post(
        _members(school), json={"phone": school.admin.phone, "role": "teacher"}
    )
    assert error_code(own) == "conflict"


# --- Roles and the main admin -------------------------------------------------


async def test_additional_admins_do_not_touch_admins(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    deputy = await orgs.add(school, "additional_admin")
    teacher = await orgs.add(school, "teacher")
    as_deputy = api.as_(deputy)

    for role in ("admin", "additional_admin"):
        response = await as_deputy.post(_members(school), json={"phone": new_phone(), "role": role})
        assert await _reason(response) == (403, "forbidden", "not_main_admin")
    teacher_url = _member(school, school.member_id(teacher))
    assert await _reason(await as_deputy.patch(teacher_url, json={"role": "additional_admin"})) == (
        403,
        "forbidden",
        "not_main_admin",
    )
    admin_url = _member(school, school.admin_member_id)
    assert await _reason(await as_deputy.patch(admin_url, json={"role": "teacher"})) == (
        403,
        "forbidden",
        "not_main_admin",
    )
    assert await _reason(await as_deputy.delete(admin_url)) == (403, "forbidden", "not_main_admin")
    # Everything else is theirs to do.
    assert (await as_deputy.patch(teacher_url, json={"role": "staff"})).json()["role"] == "staff"
    added = await as_deputy.post(_members(school), json={"phone": new_phone(), "role": "teacher"})
    assert added.status_code == 201


async def test_admin_appoints_and_demotes_additional_admins(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    url = _member(school, school.member_id(teacher))
    teacher_since = await api.as_(teacher).last_event_id()

    promoted = await api.as_(school.admin).patch(url, json={"role": "additional_admin"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "additional_admin"
    # Now they manage the school: they see phones.
    assert all("phone" in m for m in await _directory(api, teacher, school))
    demoted = await api.as_(school.admin).patch(url, json={"role": "teacher"})
    assert demoted.json()["role"] == "teacher"
    assert error_code(
        await api.as_(teacher).post(_members(school), json={"phone": new_phone(), "role": "parent"})
    ) == ("forbidden")

    updates = _of_type(await api.as_(teacher).sync(teacher_since), "org.member_updated")
    assert [u["member"]["role"] for u in updates] == ["additional_admin", "teacher"]
    assert [a for a in await _audit_actions(api, school) if a == "member.role_changed"] == [
        "member.role_changed"
    ] * 2


async def test_nobody_changes_their_own_role_and_the_last_admin_stays(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    own = _member(school, school.admin_member_id)
    leave = f"/api/v1/orgs/{school.id}/leave"

    assert await _reason(await api.as_(school.admin).patch(own, json={"role": "teacher"})) == (
        403,
        "forbidden",
        "own_role",
    )
    assert await _reason(await api.as_(school.admin).post(leave)) == (403, "forbidden", "last_admin")
    assert await _reason(await api.as_(school.admin).delete(own)) == (403, "forbidden", "last_admin")
    deputy = await orgs.add(school, "additional_admin")
    # An additional admin does not make the school managed enough.
    assert await _reason(await api.as_(school.admin).post(leave)) == (403, "forbidden", "last_admin")

    await api.as_(school.admin).patch(_member(school, school.member_id(deputy)), json={"role": "admin"})
    since = await api.as_(deputy).last_event_id()
    assert (await api.as_(school.admin).post(leave)).status_code == 204

    assert error_code(await api.as_(school.admin).get(_members(school))) == "org_not_found"
    removed = _of_type(await api.as_(deputy).sync(since), "org.member_removed")
    assert removed == [{"org_id": school.id, "member_id": school.admin_member_id, "reason": "left"}]


async def test_updating_checks_rights_and_input(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    other = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    student = await orgs.add(school, "student")
    stranger = await orgs.add(other, "student")
    outsider = await make.user()
    url = _member(school, school.member_id(student))

    assert error_code(await api.as_(teacher).patch(url, json={"role": "parent"})) == "forbidden"
    assert error_code(await api.as_(outsider).patch(url, json={"role": "parent"})) == "org_not_found"
    assert error_code(await api.as_(other.admin).patch(url, json={"role": "parent"})) == "org_not_found"
    foreign = _member(school, other.member_id(stranger))
    assert (
        error_code(await api.as_(school.admin).patch(foreign, json={"role": "parent"})) == "member_not_found"
    )
    bad = [
        ({"role": "king"}, 400, "invalid_request", "role"),
        ({"class_id": 0}, 400, "invalid_request", "class_id"),
        ({"level": 1}, 400, "invalid_request", "level"),
        ({"class_id": 10**9}, 404, "class_not_found", None),
    ]
    for change, status, code, field in bad:
        response = await api.as_(school.admin).patch(url, json=change)
        assert (response.status_code, error_code(response)) == (status, code), change
        assert response.json()["error"].get("field") == field, change
    klass = await orgs.klass(school, "5А")
    teacher_url = _member(school, school.member_id(teacher))
    response = await api.as_(school.admin).patch(teacher_url, json={"class_id": klass["id"]})
    assert (error_code(response), response.json()["error"]["field"]) == ("invalid_request", "class_id")


# --- Classes follow the member ---------------------------------------------------


async def _two_classes(orgs: OrgFactory, school: School) -> tuple[dict[str, Any], dict[str, Any], TestUser]:
    teacher = await orgs.add(school, "teacher")
    a, b = await orgs.klass(school, "5А"), await orgs.klass(school, "5Б")
    for klass in (a, b):
        await orgs.teach(school, klass["id"], teacher)
    return a, b, teacher


async def test_class_change_moves_the_student_and_their_parents(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    a, b, teacher = await _two_classes(orgs, school)
    student = await orgs.add(school, "student", class_id=a["id"])
    parent = await orgs.add(school, "parent")
    await orgs.link(school, parent, student)
    since = await api.as_(student).last_event_id()

    response = await api.as_(school.admin).patch(
        _member(school, school.member_id(student)), json={"class_id": b["id"]}
    )

    assert response.status_code == 200 and response.json()["class_id"] == b["id"]
    assert await orgs.chat_member_ids(teacher, a["chat_id"]) == {teacher.id}
    assert await orgs.chat_member_ids(teacher, b["chat_id"]) == {teacher.id, student.id}
    assert await orgs.chat_member_ids(teacher, a["parents_chat_id"]) == {teacher.id}
    assert await orgs.chat_member_ids(teacher, b["parents_chat_id"]) == {teacher.id, parent.id}
    events = await api.as_(student).sync(since)
    assert [e["data"]["member"]["class_id"] for e in events if e["type"] == "org.member_updated"] == [b["id"]]
    assert {e["data"]["chat_id"] for e in events if e["type"] == "chat.removed"} == {a["chat_id"]}
    assert "member.class_changed" in await _audit_actions(api, school)

    # null takes the student out of any class.
    cleared = await api.as_(school.admin).patch(
        _member(school, school.member_id(student)), json={"class_id": None}
    )
    assert "class_id" not in cleared.json()
    assert await orgs.chat_member_ids(teacher, b["chat_id"]) == {teacher.id}
    assert await orgs.chat_member_ids(teacher, b["parents_chat_id"]) == {teacher.id}


async def test_a_student_made_staff_leaves_the_class_chats(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    a, _, teacher = await _two_classes(orgs, school)
    student = await orgs.add(school, "student", class_id=a["id"])
    parent = await orgs.add(school, "parent")
    await orgs.link(school, parent, student)

    response = await api.as_(school.admin).patch(
        _member(school, school.member_id(student)), json={"role": "staff"}
    )

    assert response.json()["role"] == "staff" and "class_id" not in response.json()
    assert await orgs.chat_member_ids(teacher, a["chat_id"]) == {teacher.id}
    assert await orgs.chat_member_ids(teacher, a["parents_chat_id"]) == {teacher.id}


async def test_a_teacher_made_parent_leaves_the_chats_they_taught(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    a, b, teacher = await _two_classes(orgs, school)
    student = await orgs.add(school, "student", class_id=a["id"])

    await api.as_(school.admin).patch(_member(school, school.member_id(teacher)), json={"role": "parent"})

    assert await orgs.chat_member_ids(student, a["chat_id"]) == {student.id}
    assert error_code(await api.as_(teacher).get(f"/api/v1/chats/{b['chat_id']}/members")) == "chat_not_found"


# --- Removal --------------------------------------------------------------------


async def test_removed_member_leaves_every_chat_and_the_org(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    a, _, teacher = await _two_classes(orgs, school)
    student = await orgs.add(school, "student", class_id=a["id"])
    parent = await orgs.add(school, "parent")
    await orgs.link(school, parent, student)
    student_since = await api.as_(student).last_event_id()
    admin_since = await api.as_(school.admin).last_event_id()
    url = _member(school, school.member_id(student))

    assert (await api.as_(school.admin).delete(url)).status_code == 204

    assert await orgs.chat_member_ids(teacher, a["chat_id"]) == {teacher.id}
    # Their parent's link went with them, and so did the parents' chat place.
    assert await orgs.chat_member_ids(teacher, a["parents_chat_id"]) == {teacher.id}
    events = await api.as_(student).sync(student_since)
    left = _of_type(events, "org.left")
    assert left == [{"org_id": school.id, "member_id": school.member_id(student), "reason": "removed"}]
    assert {e["data"]["chat_id"] for e in events if e["type"] == "chat.removed"} == {a["chat_id"]}
    removed = _of_type(await api.as_(school.admin).sync(admin_since), "org.member_removed")
    assert [r["member_id"] for r in removed] == [school.member_id(student)]
    assert "member.removed" in await _audit_actions(api, school)
    for call in (
        api.as_(student).get(_members(school)),
        api.as_(student).post(f"/api/v1/orgs/{school.id}/leave"),
        api.as_(student).get(f"/api/v1/orgs/{school.id}/parent-links"),
    ):
        assert error_code(await call) == "org_not_found"
    assert error_code(await api.as_(school.admin).delete(url)) == "member_not_found"


async def test_removing_checks_rights(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    other = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    student = await orgs.add(school, "student")
    stranger = await orgs.add(other, "teacher")
    outsider = await make.user()
    url = _member(school, school.member_id(student))

    assert error_code(await api.as_(teacher).delete(url)) == "forbidden"
    # A plain member learns nothing about ids: forbidden, even for a missing one.
    assert error_code(await api.as_(teacher).delete(_member(school, 10**9))) == "forbidden"
    assert error_code(await api.as_(outsider).delete(url)) == "org_not_found"
    assert error_code(await api.as_(other.admin).delete(url)) == "org_not_found"
    foreign = _member(school, other.member_id(stranger))
    assert error_code(await api.as_(school.admin).delete(foreign)) == "member_not_found"
    assert error_code(await api.as_(school.admin).delete(_member(school, 0))) == "invalid_request"
    assert error_code(await api.as_(outsider).post(f"/api/v1/orgs/{school.id}/leave")) == "org_not_found"


async def test_a_member_leaves_by_deleting_their_own_membership(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    since = await api.as_(teacher).last_event_id()

    assert (await api.as_(teacher).delete(_member(school, school.member_id(teacher)))).status_code == 204

    left = _of_type(await api.as_(teacher).sync(since), "org.left")
    assert left == [{"org_id": school.id, "member_id": school.member_id(teacher), "reason": "left"}]
    assert "member.left" in await _audit_actions(api, school)
    assert error_code(await api.as_(teacher).get(_members(school))) == "org_not_found"


async def test_pending_member_can_be_removed(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    phone, pending = await orgs.add_pending(school, "parent")

    assert (await api.as_(school.admin).delete(_member(school, pending["member_id"]))).status_code == 204

    user = await make.user(phone=phone)
    assert _of_type(await api.as_(user).sync(0), "org.joined") == []
    assert error_code(await api.as_(user).get(_members(school))) == "org_not_found"


# --- The directory ---------------------------------------------------------------


async def _populated(orgs: OrgFactory) -> tuple[School, dict[str, Any], dict[str, TestUser]]:
    """Two classes: 5А (teacher t_a; students s1, s2; parents p1, p2) and 5Б
    (teacher t_b; student s3; parent p3); one pending teacher; one staff member."""
    school = await orgs.school()
    a, b = await orgs.klass(school, "5А"), await orgs.klass(school, "5Б")
    people: dict[str, TestUser] = {}
    for name in ("t_a", "t_b"):
        people[name] = await orgs.add(school, "teacher")
    await orgs.teach(school, a["id"], people["t_a"])
    await orgs.teach(school, b["id"], people["t_b"])
    for name, klass in (("s1", a), ("s2", a), ("s3", b)):
        people[name] = await orgs.add(school, "student", class_id=klass["id"])
    for name, child in (("p1", "s1"), ("p2", "s2"), ("p3", "s3")):
        people[name] = await orgs.add(school, "parent")
        await orgs.link(school, people[name], people[child])
    people["staff"] = await orgs.add(school, "staff")
    _, pending = await orgs.add_pending(school, "teacher", name="Новый Учитель")
    return school, {"a": a, "b": b, "pending": pending}, people


def _names_of(school: School, people: dict[str, TestUser], listed: list[dict[str, Any]]) -> set[str]:
    by_member = {school.member_id(user): name for name, user in people.items()}
    by_member[school.admin_member_id] = "admin"
    return {by_member.get(m["member_id"], "pending") for m in listed}


EVERYONE = {"admin", "t_a", "t_b", "s1", "s2", "s3", "p1", "p2", "p3", "staff"}


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("t_a", EVERYONE),
        ("staff", EVERYONE),
        ("p1", {"admin", "p1", "s1", "t_a", "p2"}),
        ("s1", {"admin", "s1", "s2", "t_a", "p1"}),
        ("s3", {"admin", "s3", "t_b", "p3"}),
    ],
)
async def test_directory_shows_each_their_circle(
    api: Api, make: Factory, orgs: OrgFactory, viewer: str, expected: set[str]
) -> None:
    school, _, people = await _populated(orgs)

    listed = await _directory(api, people[viewer], school)

    assert _names_of(school, people, listed) == expected
    assert all("phone" not in m for m in listed)
    assert all(m["status"] == "active" for m in listed)


async def test_admin_sees_everyone_with_phones_and_pending(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school, classes, people = await _populated(orgs)

    listed = await _directory(api, school.admin, school)

    assert _names_of(school, people, listed) == EVERYONE | {"pending"}
    phones = {m["member_id"]: m["phone"] for m in listed}
    assert phones[school.member_id(people["s1"])] == people["s1"].phone
    assert phones[classes["pending"]["member_id"]] == classes["pending"]["phone"]
    p1 = next(m for m in listed if m["member_id"] == school.member_id(people["p1"]))
    assert p1["children"] == [school.member_id(people["s1"])]
    assert [m["member_id"] for m in listed] == sorted(m["member_id"] for m in listed)


async def test_a_parent_sees_children_only_of_their_own(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school, _, people = await _populated(orgs)

    listed = {m["member_id"]: m for m in await _directory(api, people["p1"], school)}

    assert listed[school.member_id(people["p1"])]["children"] == [school.member_id(people["s1"])]
    # p2's child is not in p1's circle, so p1 does not even learn its member id.
    assert "children" not in listed[school.member_id(people["p2"])]


async def test_directory_filters_and_pages(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school, classes, people = await _populated(orgs)
    admin = school.admin

    students = await _directory(api, admin, school, role="student")
    assert _names_of(school, people, students) == {"s1", "s2", "s3"}
    in_a = await _directory(api, admin, school, class_id=classes["a"]["id"])
    assert _names_of(school, people, in_a) == {"t_a", "s1", "s2", "p1", "p2"}
    parents_of_b = await _directory(api, admin, school, class_id=classes["b"]["id"], role="parent")
    assert _names_of(school, people, parents_of_b) == {"p3"}

    for viewer in (admin, people["s1"]):
        everyone = await _directory(api, viewer, school)
        paged: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor is not None else {})
            body = (await api.as_(viewer).get(_members(school), params=params)).json()
            assert len(body["members"]) <= 2
            paged.extend(body["members"])
            cursor = body.get("next_cursor")
            if cursor is None:
                break
        assert paged == everyone


async def test_directory_checks_access_and_input(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    other = await orgs.school()
    outsider = await make.user()

    assert error_code(await api.as_(outsider).get(_members(school))) == "org_not_found"
    assert error_code(await api.as_(other.admin).get(_members(school))) == "org_not_found"
    assert error_code(await api.as_(None).get(_members(school))) == "not_authenticated"
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"role": "king"}, "role"),
        ({"cursor": "x"}, "cursor"),
    ):
        response = await api.as_(school.admin).get(_members(school), params=params)
        assert (response.status_code, error_code(response), response.json()["error"]["field"]) == (
            400,
            "invalid_request",
            field,
        )
    assert len(await _directory(api, school.admin, school, limit=500)) == 1


async def test_admins_see_each_students_safe_mode_and_nobody_else_does(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    await orgs.verify(school)  # an unverified school's admins see a child in safe mode masked
    cls = await orgs.klass(school)
    child, teen = await make.user("Петя"), await make.user("Оля")
    for person, born in ((child, "2016-05-01"), (teen, "2009-05-01")):
        assert (await api.as_(person).patch("/api/v1/me", json={"birth_date": born})).status_code == 200
        await orgs.add(school, "student", person, class_id=cls["id"])
    teacher = await orgs.add(school, "teacher")

    def safe_modes(rows: list[dict[str, Any]]) -> dict[int, Any]:
        return {r["user_id"]: r.get("safe_mode") for r in rows if r.get("user_id") in (child.id, teen.id)}

    assert safe_modes(await _directory(api, school.admin, school)) == {child.id: True, teen.id: False}
    # The school turns it on for the teenager: the cabinet shows the new state.
    url = f"/api/v1/orgs/{school.id}/members/{school.member_id(teen)}/safe-mode"
    assert (await api.as_(school.admin).put(url, json={"enabled": True})).status_code == 200
    assert safe_modes(await _directory(api, school.admin, school)) == {child.id: True, teen.id: True}
    # A teacher sees the students, not their safe-mode state (nor their phones).
    seen = await _directory(api, teacher, school)
    assert all("safe_mode" not in r and "phone" not in r for r in seen)
