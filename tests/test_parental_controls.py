"""Parental controls through the API: a parent sees the child's contacts and chats
(never the messages), approves and removes contacts, and turns safe mode on; the
child cannot turn it off, the school can; everyone else cannot tell a child is there."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from parta import clock
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School

ME = "/api/v1/me"
LOOKUP = "/api/v1/users/lookup"
SECRET = "Секретный текст 7731"


@dataclass
class Family:
    school: School
    klass: dict[str, Any]
    teacher: TestUser
    child: TestUser
    parent: TestUser


async def _family(orgs: OrgFactory) -> Family:
    """A verified school with a class, its teacher, a student and the student's linked parent
    (only verified schools make anyone a child's circle or parent)."""
    school = await orgs.school()
    await orgs.verify(school)
    teacher = await orgs.add(school, "teacher", await orgs.make.user("Мария", "Учителева"))
    klass = await orgs.klass(school, "5А")
    await orgs.teach(school, klass["id"], teacher)
    child = await orgs.add(school, "student", await orgs.make.user("Петя", "Иванов"), class_id=klass["id"])
    parent = await orgs.add(school, "parent", await orgs.make.user("Ольга", "Иванова"))
    await orgs.link(school, parent, child)
    return Family(school, klass, teacher, child, parent)


def _born(age: int) -> str:
    """A birth date that makes someone exactly ``age`` today (by the app's clock)."""
    return date(clock.utcnow().year - age, 1, 1).isoformat()


async def _set_age(api: Api, user: TestUser, age: int) -> None:
    response = await api.as_(user).patch(ME, json={"birth_date": _born(age)})
    assert response.status_code == 200, response.text


def _child(child: TestUser, path: str = "") -> str:
    return f"/api/v1/children/{child.id}{path}"


def _reason(response: httpx.Response) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("reason")


def _of_type(events: list[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == type]


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _direct(api: Api, actor: TestUser, peer: TestUser) -> int:
    response = await api.as_(actor).post("/api/v1/chats/direct", json={"user_id": peer.id})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


async def _safe_mode(api: Api, user: TestUser) -> dict[str, Any]:
    me = await _ok(await api.as_(user).get(ME))
    state: dict[str, Any] = me["safe_mode"]
    return state


# --- Seeing the child ---------------------------------------------------------------


async def test_parent_sees_children_contacts_and_chats_but_no_message_text(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    fam = await _family(orgs)
    friend = await make.user("Сергей", "Дружинин")
    teacher_chat = await _direct(api, fam.teacher, fam.child)
    await make.message(fam.teacher, teacher_chat, SECRET)
    await make.message(fam.child, fam.klass["chat_id"], SECRET + " в классе")
    await _ok(
        await api.as_(fam.parent).post(_child(fam.child, "/approved-contacts"), json={"phone": friend.phone}),
        201,
    )

    children = await _ok(await api.as_(fam.parent).get("/api/v1/me/children"))
    contacts = await _ok(await api.as_(fam.parent).get(_child(fam.child, "/contacts")))
    chats = await _ok(await api.as_(fam.parent).get(_child(fam.child, "/chats")))

    assert children == {
        "children": [
            {
                "user": {"id": fam.child.id, "first_name": "Петя", "last_name": "Иванов"},
                "safe_mode": {"on": False, "locked": False},
                "schools": [
                    {
                        "org_id": fam.school.id,
                        "short_name": "Школа № 1",
                        "class_id": fam.klass["id"],
                        "class_name": "5А",
                    }
                ],
            }
        ]
    }
    by_id = {c["user"]["id"]: c for c in contacts["contacts"]}
    assert by_id == {
        fam.teacher.id: {
            "user": {"id": fam.teacher.id, "first_name": "Мария", "last_name": "Учителева"},
            "is_approved": False,
            "in_circle": True,
            "via": ["direct", "school"],
        },
        friend.id: {
            "user": {"id": friend.id, "first_name": "Сергей", "last_name": "Дружинин"},
            "is_approved": True,
            "in_circle": True,
            "via": ["approved"],
        },
    }
    listed = {c["id"]: c for c in chats["chats"]}
    assert listed[teacher_chat]["kind"] == "direct"
    assert listed[teacher_chat]["title"] == "Мария Учителева"
    assert listed[teacher_chat]["peer"]["id"] == fam.teacher.id
    assert listed[teacher_chat]["member_count"] == 2
    class_chat = listed[fam.klass["chat_id"]]
    assert class_chat["purpose"] == "class" and class_chat["org_id"] == fam.school.id
    assert class_chat["title"].startswith("5А") and class_chat["member_count"] >= 2
    assert "next_cursor" not in chats
    for answer in (children, contacts, chats):
        text = json.dumps(answer, ensure_ascii=False)
        assert SECRET not in text and "last_message" not in text and fam.child.phone not in text


async def test_child_chats_page_by_cursor(api: Api, make: Factory, orgs: OrgFactory) -> None:
    fam = await _family(orgs)
    first = await _direct(api, fam.teacher, fam.child)
    second = await _direct(api, fam.parent, fam.child)
    url = _child(fam.child, "/chats")
    page = await _ok(await api.as_(fam.parent).get(url, params={"limit": 2}))
    rest = await _ok(await api.as_(fam.parent).get(url, params={"limit": 2, "cursor": page["next_cursor"]}))
    ids = [c["id"] for c in page["chats"] + rest["chats"]]
    assert sorted(ids) == sorted([first, second, fam.klass["chat_id"]])
    assert "next_cursor" not in rest


async def test_parent_without_children_sees_an_empty_list(api: Api, make: Factory, orgs: OrgFactory) -> None:
    fam = await _family(orgs)
    for user in (await make.user(), fam.teacher, fam.child, fam.school.admin):
        assert await _ok(await api.as_(user).get("/api/v1/me/children")) == {"children": []}


# --- Approved contacts -----------------------------------------------------------------


async def test_approved_stranger_reaches_a_child_until_the_parent_removes_them(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    fam = await _family(orgs)
    await _set_age(api, fam.child, 10)
    coach = await make.user("Игорь", "Тренеров")
    as_coach = api.as_(coach)
    assert error_code(await as_coach.post(LOOKUP, json={"phone": fam.child.phone})) == "user_not_found"
    assert error_code(await as_coach.post("/api/v1/chats/direct", json={"user_id": fam.child.id})) == (
        "user_not_found"
    )
    since = {u.id: await api.as_(u).last_event_id() for u in (fam.parent, fam.child, coach)}

    approved = await api.as_(fam.parent).post(
        _child(fam.child, "/approved-contacts"), json={"phone": coach.phone}
    )

    assert await _ok(approved, 201) == {"id": coach.id, "first_name": "Игорь", "last_name": "Тренеров"}
    found = await _ok(await as_coach.post(LOOKUP, json={"phone": fam.child.phone}))
    assert found["id"] == fam.child.id and found["first_name"] == "Петя"
    chat_id = await _direct(api, coach, fam.child)
    await make.message(coach, chat_id, "Тренировка в 16:00")
    for user in (fam.parent, fam.child):
        assert _of_type(await api.as_(user).sync(since[user.id]), "child.contact_approved") == [
            {"child_id": fam.child.id, "user_id": coach.id}
        ]
    assert _of_type(await as_coach.sync(since[coach.id]), "child.contact_approved") == []
    again = await api.as_(fam.parent).post(
        _child(fam.child, "/approved-contacts"), json={"phone": coach.phone}
    )
    assert again.status_code == 201
    assert len(_of_type(await api.as_(fam.parent).sync(since[fam.parent.id]), "child.contact_approved")) == 1

    since = {u.id: await api.as_(u).last_event_id() for u in (fam.parent, fam.child)}
    removed = await api.as_(fam.parent).delete(_child(fam.child, f"/approved-contacts/{coach.id}"))

    assert removed.status_code == 204
    send = await as_coach.post(
        f"/api/v1/chats/{chat_id}/messages", json={"text": "Ещё", "client_msg_id": "x1"}
    )
    assert _reason(send) == (403, "forbidden", "safe_mode")
    assert error_code(await as_coach.post(LOOKUP, json={"phone": fam.child.phone})) == "user_not_found"
    for user in (fam.parent, fam.child):
        assert _of_type(await api.as_(user).sync(since[user.id]), "child.contact_removed") == [
            {"child_id": fam.child.id, "user_id": coach.id}
        ]
    contacts = (await _ok(await api.as_(fam.parent).get(_child(fam.child, "/contacts"))))["contacts"]
    assert [c for c in contacts if c["user"]["id"] == coach.id] == [
        {
            "user": {"id": coach.id, "first_name": "Игорь", "last_name": "Тренеров"},
            "is_approved": False,
            "in_circle": False,
            "via": ["direct"],
        }
    ]
    # The child still writes to them: only the stranger's side is stopped.
    await make.message(fam.child, chat_id, "Спасибо")
    repeat = await api.as_(fam.parent).delete(_child(fam.child, f"/approved-contacts/{coach.id}"))
    assert repeat.status_code == 204
    assert _of_type(await api.as_(fam.parent).sync(since[fam.parent.id]), "child.contact_removed") == [
        {"child_id": fam.child.id, "user_id": coach.id}
    ]


async def test_approving_an_unknown_or_own_phone(api: Api, make: Factory, orgs: OrgFactory) -> None:
    fam = await _family(orgs)
    url = _child(fam.child, "/approved-contacts")
    as_parent = api.as_(fam.parent)
    assert error_code(await as_parent.post(url, json={"phone": "+79990001122"})) == "user_not_found"
    for own in (fam.child, fam.parent):
        response = await as_parent.post(url, json={"phone": own.phone})
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "phone"


async def test_a_parent_cannot_approve_a_child_they_could_not_find(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    fam = await _family(orgs)
    other = await _family(orgs)
    await _set_age(api, other.child, 9)
    url = _child(fam.child, "/approved-contacts")
    # Approving must not tell a parent more than a lookup would.
    assert (
        error_code(await api.as_(fam.parent).post(url, json={"phone": other.child.phone})) == "user_not_found"
    )
    assert error_code(await api.as_(fam.parent).post(LOOKUP, json={"phone": other.child.phone})) == (
        "user_not_found"
    )


# --- Safe mode --------------------------------------------------------------------------


async def test_parent_turns_safe_mode_on_for_a_15_year_old_who_cannot_turn_it_off(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    fam = await _family(orgs)
    await _set_age(api, fam.child, 15)
    stranger = await make.user()
    assert await _safe_mode(api, fam.child) == {"on": False, "locked": False}
    assert (await api.as_(stranger).post(LOOKUP, json={"phone": fam.child.phone})).status_code == 200
    since = {u.id: await api.as_(u).last_event_id() for u in (fam.parent, fam.child, stranger)}

    response = await api.as_(fam.parent).put(_child(fam.child, "/safe-mode"), json={"enabled": True})

    on = {"on": True, "reason": "parent", "locked": False}
    assert await _ok(response) == on
    assert await _safe_mode(api, fam.child) == on
    assert (
        error_code(await api.as_(stranger).post(LOOKUP, json={"phone": fam.child.phone})) == "user_not_found"
    )
    for user in (fam.parent, fam.child):
        assert _of_type(await api.as_(user).sync(since[user.id]), "safe_mode.changed") == [
            {"user_id": fam.child.id, "on": True, "reason": "parent"}
        ]
    assert _of_type(await api.as_(stranger).sync(since[stranger.id]), "safe_mode.changed") == []
    children = (await _ok(await api.as_(fam.parent).get("/api/v1/me/children")))["children"]
    assert children[0]["safe_mode"] == on

    refused = await api.as_(fam.child).put(f"{ME}/safe-mode", json={"enabled": False})
    assert _reason(refused) == (403, "forbidden", "child_cannot_disable")
    assert await _safe_mode(api, fam.child) == on
    repeat = await api.as_(fam.parent).put(_child(fam.child, "/safe-mode"), json={"enabled": True})
    assert await _ok(repeat) == on
    assert len(_of_type(await api.as_(fam.child).sync(since[fam.child.id]), "safe_mode.changed")) == 1

    off = await api.as_(fam.parent).put(_child(fam.child, "/safe-mode"), json={"enabled": False})
    assert await _ok(off) == {"on": False, "locked": False}
    assert (await api.as_(stranger).post(LOOKUP, json={"phone": fam.child.phone})).status_code == 200
    assert _of_type(await api.as_(fam.child).sync(since[fam.child.id]), "safe_mode.changed")[-1] == {
        "user_id": fam.child.id,
        "on": False,
    }


async def test_a_child_under_14_is_locked_in_safe_mode(api: Api, make: Factory, orgs: OrgFactory) -> None:
    fam = await _family(orgs)
    await _set_age(api, fam.child, 10)
    locked = {"on": True, "reason": "age", "locked": True}
    assert await _safe_mode(api, fam.child) == locked

    aged = await api.as_(fam.child).patch(ME, json={"birth_date": _born(20)})
    assert _reason(aged) == (403, "forbidden", "safe_mode_locked")
    cleared = await api.as_(fam.child).patch(ME, json={"birth_date": None})
    assert _reason(cleared) == (403, "forbidden", "safe_mode_locked")
    off = await api.as_(fam.parent).put(_child(fam.child, "/safe-mode"), json={"enabled": False})
    assert _reason(off) == (403, "forbidden", "under_age")
    # Turning it on as well keeps it on past the 14th birthday.
    assert (
        await _ok(await api.as_(fam.parent).put(_child(fam.child, "/safe-mode"), json={"enabled": True}))
        == locked
    )
    assert await _ok(await api.as_(fam.child).put(f"{ME}/safe-mode", json={"enabled": True})) == locked
    assert await _safe_mode(api, fam.child) == locked


async def test_a_child_turns_safe_mode_on_and_only_a_parent_turns_it_off(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    fam = await _family(orgs)
    await _set_age(api, fam.child, 15)
    since = await api.as_(fam.parent).last_event_id()

    response = await api.as_(fam.child).put(f"{ME}/safe-mode", json={"enabled": True})

    assert await _ok(response) == {"on": True, "reason": "self", "locked": False}
    assert _of_type(await api.as_(fam.parent).sync(since), "safe_mode.changed") == [
        {"user_id": fam.child.id, "on": True, "reason": "self"}
    ]
    refused = await api.as_(fam.child).put(f"{ME}/safe-mode", json={"enabled": False})
    assert _reason(refused) == (403, "forbidden", "child_cannot_disable")
    off = await api.as_(fam.parent).put(_child(fam.child, "/safe-mode"), json={"enabled": False})
    assert await _ok(off) == {"on": False, "locked": False}


async def test_school_admin_turns_safe_mode_on_for_a_student(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    fam = await _family(orgs)
    await _set_age(api, fam.child, 16)
    url = f"/api/v1/orgs/{fam.school.id}/members/{fam.school.member_id(fam.child)}/safe-mode"
    since = {u.id: await api.as_(u).last_event_id() for u in (fam.parent, fam.child)}

    response = await api.as_(fam.school.admin).put(url, json={"enabled": True})

    on = {"on": True, "reason": "school", "locked": False}
    assert await _ok(response) == on
    assert await _safe_mode(api, fam.child) == on
    for user in (fam.parent, fam.child):
        assert _of_type(await api.as_(user).sync(since[user.id]), "safe_mode.changed") == [
            {"user_id": fam.child.id, "on": True, "reason": "school"}
        ]
    audit = await _ok(await api.as_(fam.school.admin).get(f"/api/v1/orgs/{fam.school.id}/audit"))
    entry = next(e for e in audit["entries"] if e["action"] == "member.safe_mode_changed")
    assert entry["target_user_id"] == fam.child.id and entry["actor_id"] == fam.school.admin.id
    assert entry["details"] == {"on": True}
    assert _reason(await api.as_(fam.child).put(f"{ME}/safe-mode", json={"enabled": False})) == (
        403,
        "forbidden",
        "child_cannot_disable",
    )

    off = await api.as_(fam.school.admin).put(url, json={"enabled": False})
    assert await _ok(off) == {"on": False, "locked": False}
    audit = await _ok(await api.as_(fam.school.admin).get(f"/api/v1/orgs/{fam.school.id}/audit"))
    changes = [e["details"] for e in audit["entries"] if e["action"] == "member.safe_mode_changed"]
    assert sorted(c["on"] for c in changes) == [False, True]


async def test_only_an_admin_changes_a_students_safe_mode(api: Api, make: Factory, orgs: OrgFactory) -> None:
    fam = await _family(orgs)
    other_school = await orgs.school()
    members = f"/api/v1/orgs/{fam.school.id}/members"
    url = f"{members}/{fam.school.member_id(fam.child)}/safe-mode"
    body = {"json": {"enabled": True}}
    for member in (fam.teacher, fam.parent, fam.child):
        assert _reason(await api.as_(member).put(url, **body)) == (403, "forbidden", "not_org_admin")
    for outsider in (await make.user(), other_school.admin):
        assert error_code(await api.as_(outsider).put(url, **body)) == "org_not_found"
    as_admin = api.as_(fam.school.admin)
    not_student = await as_admin.put(f"{members}/{fam.school.member_id(fam.teacher)}/safe-mode", **body)
    assert not_student.status_code == 400 and not_student.json()["error"]["field"] == "member_id"
    stranger_member = f"{members}/{other_school.admin_member_id}/safe-mode"
    assert error_code(await as_admin.put(stranger_member, **body)) == "member_not_found"
    assert await _safe_mode(api, fam.child) == {"on": False, "locked": False}
    await _set_age(api, fam.child, 12)
    assert _reason(await as_admin.put(url, json={"enabled": False})) == (403, "forbidden", "under_age")


# --- Wrong users and bad input ------------------------------------------------------------


async def _children_routes(
    api: Api, caller: TestUser, child_id: int, contact: TestUser
) -> list[httpx.Response]:
    as_caller = api.as_(caller)
    base = f"/api/v1/children/{child_id}"
    return [
        await as_caller.get(f"{base}/contacts"),
        await as_caller.get(f"{base}/chats"),
        await as_caller.post(f"{base}/approved-contacts", json={"phone": contact.phone}),
        await as_caller.delete(f"{base}/approved-contacts/{contact.id}"),
        await as_caller.put(f"{base}/safe-mode", json={"enabled": True}),
        await as_caller.put(f"{base}/safe-mode", json={"enabled": False}),
    ]


async def test_nobody_but_a_parent_can_tell_a_child_is_there(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    fam = await _family(orgs)
    await _set_age(api, fam.child, 15)
    other_parent = await orgs.add(fam.school, "parent")
    classmate = await orgs.add(fam.school, "student", class_id=fam.klass["id"])
    await orgs.link(fam.school, other_parent, classmate)
    asking = await orgs.add(fam.school, "parent")  # asked to be linked; no admin confirmed
    response = await api.as_(asking).post(
        f"/api/v1/orgs/{fam.school.id}/parent-links",
        json={
            "parent_member_id": fam.school.member_id(asking),
            "child_member_id": fam.school.member_id(fam.child),
        },
    )
    assert response.json()["status"] == "requested"
    contact = await make.user()
    wrong = [await make.user(), other_parent, fam.teacher, fam.school.admin, fam.child, classmate, asking]

    for caller in wrong:
        for answer in await _children_routes(api, caller, fam.child.id, contact):
            assert (answer.status_code, error_code(answer)) == (404, "user_not_found"), caller
    for answer in await _children_routes(api, fam.parent, 2**40, contact):
        assert error_code(answer) == "user_not_found"
    assert await _safe_mode(api, fam.child) == {"on": False, "locked": False}

    # A removed parent link takes the controls away.
    unlink = await api.as_(fam.school.admin).delete(
        f"/api/v1/orgs/{fam.school.id}/parent-links",
        params={
            "parent_member_id": fam.school.member_id(fam.parent),
            "child_member_id": fam.school.member_id(fam.child),
        },
    )
    assert unlink.status_code == 204
    assert error_code(await api.as_(fam.parent).get(_child(fam.child, "/contacts"))) == "user_not_found"
    assert await _ok(await api.as_(fam.parent).get("/api/v1/me/children")) == {"children": []}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("put", "/safe-mode", {"enabled": "yes"}, "enabled"),
        ("put", "/safe-mode", {}, "enabled"),
        ("put", "/safe-mode", {"enabled": True, "extra": 1}, "extra"),
        ("post", "/approved-contacts", {}, "phone"),
        ("post", "/approved-contacts", {"phone": "позвони мне"}, "phone"),
        ("post", "/approved-contacts", {"phone": "1" * 100}, "phone"),
        ("get", "/chats?cursor=nonsense", None, "cursor"),
        ("get", "/chats?limit=0", None, "limit"),
        ("delete", "/approved-contacts/0", None, "user_id"),
    ],
)
async def test_bad_input_is_refused_with_the_field(
    api: Api, make: Factory, orgs: OrgFactory, method: str, path: str, body: Any, field: str
) -> None:
    fam = await _family(orgs)
    kwargs = {"json": body} if body is not None else {}
    response = await api.as_(fam.parent).request(method.upper(), _child(fam.child, path), **kwargs)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


async def test_bad_ids_and_own_safe_mode_input(api: Api, make: Factory) -> None:
    user = await make.user()
    for url in ("/api/v1/children/0/contacts", "/api/v1/children/abc/chats"):
        response = await api.as_(user).get(url)
        assert response.status_code == 400 and response.json()["error"]["field"] == "child_id"
    response = await api.as_(user).put(f"{ME}/safe-mode", json={"enabled": 1})
    assert response.status_code == 400 and response.json()["error"]["field"] == "enabled"
    assert (await api.put(f"{ME}/safe-mode", json={"enabled": True})).status_code == 401
