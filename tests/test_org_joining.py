"""Joining an organization through the API: invite links and join requests."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from parta import clock
from parta.db.engine import Database
from parta.db.tables import Operator
from parta.events.bus import LocalBus
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School

ORGS = "/api/v1/orgs"


def _links(school: School) -> str:
    return f"{ORGS}/{school.id}/invites"


def _requests(school: School) -> str:
    return f"{ORGS}/{school.id}/join-requests"


async def _link(api: Api, school: School, **options: Any) -> dict[str, Any]:
    response = await api.as_(school.admin).post(_links(school), json=options)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _join(api: Api, user: TestUser | None, token: str) -> Any:
    return await api.as_(user).post(f"/api/v1/org-invites/{token}/join")


async def _listed(api: Api, school: School) -> list[dict[str, Any]]:
    response = await api.as_(school.admin).get(_links(school))
    assert response.status_code == 200, response.text
    invites: list[dict[str, Any]] = response.json()["invites"]
    return invites


async def _chat_ids(api: Api, user: TestUser) -> set[int]:
    response = await api.as_(user).get("/api/v1/chats")
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["chats"]}


async def _audit_actions(api: Api, school: School) -> list[str]:
    response = await api.as_(school.admin).get(f"{ORGS}/{school.id}/audit")
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["entries"]]


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def _of(events: list[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == type]


async def _verified(api: Api, make: Factory, orgs: OrgFactory) -> School:
    """A school an operator has verified (so it is in the directory and takes requests)."""
    school = await orgs.school()
    operator = await make.user("Ольга", "Операторова")
    database = Database(api.settings.resolved_database_url, LocalBus())
    try:
        async with database.session() as db, db.begin():
            db.add(Operator(user_id=operator.id, created_at=clock.utcnow()))
    finally:
        await database.dispose()
    response = await api.as_(operator).post(f"{ORGS}/{school.id}/verification")
    assert response.status_code == 200, response.text
    return school


# Invite links ------------------------------------------------------------------


async def test_teacher_joins_by_link_and_admins_hear_of_it(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    newcomer = await make.user("Пётр", "Учителев")
    admin_since = await api.as_(school.admin).last_event_id()
    created = await _link(api, school, role="teacher", expires_in_seconds=3600, usage_limit=5)
    token = created["token"]
    assert created["url"] == f"/join/org/{token}"
    invite = created["invite"]
    assert invite["token_prefix"] == token[:6] and invite["state"] == "active"
    assert invite["role"] == "teacher" and invite["usage_limit"] == 5 and invite["usage_count"] == 0
    assert invite["requires_approval"] is False and "expires_at" in invite
    newcomer_since = await api.as_(newcomer).last_event_id()

    preview = await api.as_(newcomer).get(f"/api/v1/org-invites/{token}")
    assert preview.status_code == 200, preview.text
    assert preview.json() == {
        "org": {
            "id": school.id,
            "kind": "school",
            "short_name": "Школа № 1",
            "full_name": "МБОУ «Средняя общеобразовательная школа № 1»",
            "is_verified": False,
        },
        "role": "teacher",
        "state": "active",
        "requires_approval": False,
        "is_member": False,
    }
    assert school.admin.phone not in preview.text

    joined = await _join(api, newcomer, token)
    assert joined.status_code == 201, joined.text
    body = joined.json()
    assert body["role"] == "teacher" and body["org"]["id"] == school.id
    assert body["org"]["my_role"] == "teacher" and "class_id" not in body
    assert (await api.as_(newcomer).get(f"{ORGS}/{school.id}")).status_code == 200

    [own] = _of(await api.as_(newcomer).sync(newcomer_since), "org.joined")
    assert own == {"org": body["org"], "member_id": body["member_id"], "role": "teacher"}
    admin_events = await api.as_(school.admin).sync(admin_since)
    # The admin is in the staff chat, which the new teacher enters.
    assert _types(admin_events) == ["org_invite.created", "chat.member_added", "org.member_added"]
    assert admin_events[0]["data"] == {"org_id": school.id, "invite": invite}
    assert [u["id"] for u in admin_events[1]["data"]["users"]] == [newcomer.id]
    member = admin_events[2]["data"]["member"]
    assert member["member_id"] == body["member_id"] and member["user_id"] == newcomer.id
    assert member["role"] == "teacher" and member["phone"] == newcomer.phone
    [listed] = await _listed(api, school)
    assert listed["usage_count"] == 1 and token not in str(listed)
    actions = await _audit_actions(api, school)
    assert "invite.created" in actions and "member.joined" in actions


async def test_student_link_puts_the_student_into_the_class_chat(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass = await orgs.klass(school, "5А")
    pupil = await make.user("Маша", "Ученикова")
    created = await _link(api, school, role="student", class_id=klass["id"])
    assert created["invite"]["class_id"] == klass["id"]
    preview = (await api.as_(pupil).get(f"/api/v1/org-invites/{created['token']}")).json()
    assert preview["class_id"] == klass["id"] and preview["class_name"] == klass["name"]
    assert "notice" not in preview
    assert klass["chat_id"] not in await _chat_ids(api, pupil)
    since = await api.as_(pupil).last_event_id()

    joined = await _join(api, pupil, created["token"])

    assert joined.status_code == 201, joined.text
    assert joined.json()["role"] == "student" and joined.json()["class_id"] == klass["id"]
    chats = await _chat_ids(api, pupil)
    assert klass["chat_id"] in chats and klass["parents_chat_id"] not in chats
    events = await api.as_(pupil).sync(since)
    assert "org.joined" in _types(events)
    assert _of(events, "org.joined")[0]["class_id"] == klass["id"]


async def test_teacher_link_with_a_class_makes_a_teacher_of_it(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass = await orgs.klass(school, "7Б")
    teacher = await make.user("Ирина", "Классная")
    created = await _link(api, school, role="teacher", class_id=klass["id"])
    assert (await _join(api, teacher, created["token"])).status_code == 201
    chats = await _chat_ids(api, teacher)
    assert {klass["chat_id"], klass["parents_chat_id"]} <= chats


async def test_parent_link_explains_the_child_link_and_keeps_the_class(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass = await orgs.klass(school, "3В")
    parent = await make.user("Олег", "Папин")
    created = await _link(api, school, role="parent", class_id=klass["id"])
    preview = (await api.as_(parent).get(f"/api/v1/org-invites/{created['token']}")).json()
    assert preview["role"] == "parent" and preview["notice"] and preview["class_name"] == klass["name"]

    joined = await _join(api, parent, created["token"])

    assert joined.status_code == 201, joined.text
    assert joined.json()["class_id"] == klass["id"] and joined.json()["notice"]
    # Not yet linked to a child: not in the parents' chat.
    assert klass["parents_chat_id"] not in await _chat_ids(api, parent)


async def test_usage_limit_and_retry_use_nothing_up(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    first, second = await make.users(2)
    token = (await _link(api, school, role="staff", usage_limit=1))["token"]

    joined = await _join(api, first, token)
    retry = await _join(api, first, token)

    assert joined.status_code == 201 and retry.status_code == 200
    assert retry.json()["member_id"] == joined.json()["member_id"]
    late = await _join(api, second, token)
    assert late.status_code == 410 and error_code(late) == "invite_exhausted"
    preview = await api.as_(second).get(f"/api/v1/org-invites/{token}")
    assert preview.status_code == 410 and error_code(preview) == "invite_exhausted"
    member_view = (await api.as_(first).get(f"/api/v1/org-invites/{token}")).json()
    assert member_view["is_member"] is True and member_view["state"] == "exhausted"
    [listed] = await _listed(api, school)
    assert listed["usage_count"] == 1 and listed["state"] == "exhausted"


async def test_concurrent_joins_cannot_overuse_the_last_place(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    pupils = await make.users(4)
    token = (await _link(api, school, role="student", usage_limit=1))["token"]
    results = await asyncio.gather(*(_join(api, pupil, token) for pupil in pupils))
    assert sorted(r.status_code for r in results) == [201, 410, 410, 410]
    assert {error_code(r) for r in results if r.status_code == 410} == {"invite_exhausted"}
    [listed] = await _listed(api, school)
    assert listed["usage_count"] == 1


async def test_link_expires_by_the_server_clock(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    early, late = await make.users(2)
    token = (await _link(api, school, role="teacher", expires_in_seconds=3600))["token"]
    assert (await _join(api, early, token)).status_code == 201
    clock.travel(timedelta(seconds=3601))
    for response in (await api.as_(late).get(f"/api/v1/org-invites/{token}"), await _join(api, late, token)):
        assert response.status_code == 410 and error_code(response) == "invite_expired"
    assert (await _join(api, early, token)).status_code == 200
    [listed] = await _listed(api, school)
    assert listed["state"] == "expired" and listed["usage_count"] == 1


async def test_revoked_link_is_gone_and_admins_hear_once(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    early, late = await make.users(2)
    created = await _link(api, school, role="teacher")
    token = created["token"]
    assert (await _join(api, early, token)).status_code == 201
    since = await api.as_(school.admin).last_event_id()
    url = f"{_links(school)}/{created['invite']['id']}"

    assert (await api.as_(school.admin).delete(url)).status_code == 204
    assert (await api.as_(school.admin).delete(url)).status_code == 204

    for response in (
        await api.as_(late).get(f"/api/v1/org-invites/{token}"),
        await _join(api, late, token),
        await _join(api, early, token),
    ):
        assert response.status_code == 404 and error_code(response) == "invite_not_found"
    assert (await api.as_(early).get(f"{ORGS}/{school.id}")).status_code == 200
    [listed] = await _listed(api, school)
    assert listed["state"] == "revoked" and "revoked_at" in listed
    events = await api.as_(school.admin).sync(since)
    assert events == [
        {**events[0], "type": "org_invite.revoked", "data": {"org_id": school.id, "invite_id": listed["id"]}}
    ]
    assert "invite.revoked" in await _audit_actions(api, school)


async def test_list_pages_newest_first(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    ids = [(await _link(api, school, role="teacher"))["invite"]["id"] for _ in range(3)]
    first = (await api.as_(school.admin).get(_links(school), params={"limit": 2})).json()
    assert [i["id"] for i in first["invites"]] == ids[:0:-1] and first["next_before"] == ids[1]
    rest = (await api.as_(school.admin).get(_links(school), params={"before": ids[1]})).json()
    assert [i["id"] for i in rest["invites"]] == ids[:1] and "next_before" not in rest


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"role": "admin"}, "role"),
        ({"role": "additional_admin"}, "role"),
        ({"role": "director"}, "role"),
        ({}, "role"),
        ({"role": "teacher", "expires_in_seconds": 59}, "expires_in_seconds"),
        ({"role": "teacher", "expires_in_seconds": 366 * 86400}, "expires_in_seconds"),
        ({"role": "teacher", "usage_limit": 0}, "usage_limit"),
        ({"role": "teacher", "usage_limit": 10_001}, "usage_limit"),
        ({"role": "teacher", "requires_approval": "maybe"}, "requires_approval"),
        ({"role": "teacher", "uses": 3}, "uses"),
    ],
)
async def test_bad_link_options_are_refused(
    api: Api, orgs: OrgFactory, options: dict[str, Any], field: str
) -> None:
    school = await orgs.school()
    response = await api.as_(school.admin).post(_links(school), json=options)
    assert response.status_code == 400 and error_code(response) == "invalid_request"
    assert response.json()["error"]["field"] == field
    assert await _listed(api, school) == []


async def test_link_class_must_be_this_orgs_and_parents_go_to_classes(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    other = await orgs.school()
    foreign = await orgs.klass(other, "5А")
    club = await orgs.klass(school, "Шахматы", kind="group")
    for class_id in (foreign["id"], 987654):
        response = await api.as_(school.admin).post(
            _links(school), json={"role": "student", "class_id": class_id}
        )
        assert response.status_code == 404 and error_code(response) == "class_not_found"
    response = await api.as_(school.admin).post(
        _links(school), json={"role": "parent", "class_id": club["id"]}
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "class_id"


async def test_only_this_orgs_admins_manage_links(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    other = await orgs.school()
    klass = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher")
    student = await orgs.add(school, "student", class_id=klass["id"])
    parent = await orgs.add(school, "parent")
    outsider = await make.user()
    invite_id = (await _link(api, school, role="teacher"))["invite"]["id"]
    foreign_id = (await _link(api, other, role="teacher"))["invite"]["id"]
    calls = (
        ("post", _links(school), {"json": {"role": "teacher"}}),
        ("get", _links(school), {}),
        ("delete", f"{_links(school)}/{invite_id}", {}),
    )
    for user, code in ((teacher, "forbidden"), (student, "forbidden"), (parent, "forbidden")):
        for method, url, kwargs in calls:
            response = await api.as_(user).request(method, url, **kwargs)
            assert (response.status_code, error_code(response)) == (403, code), (method, url)
    for user in (outsider, other.admin):
        for method, url, kwargs in calls:
            response = await api.as_(user).request(method, url, **kwargs)
            assert (response.status_code, error_code(response)) == (404, "org_not_found"), (method, url)
    response = await api.as_(school.admin).delete(f"{_links(school)}/{foreign_id}")
    assert response.status_code == 404 and error_code(response) == "invite_not_found"
    [listed] = await _listed(api, school)
    assert listed["state"] == "active"


async def test_removed_member_cannot_manage_links(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    deputy = await orgs.add(school, "additional_admin")
    assert (await api.as_(deputy).get(_links(school))).status_code == 200
    removed = await api.as_(school.admin).delete(f"{ORGS}/{school.id}/members/{school.member_id(deputy)}")
    assert removed.status_code in (200, 204), removed.text
    response = await api.as_(deputy).get(_links(school))
    assert response.status_code == 404 and error_code(response) == "org_not_found"


@pytest.mark.parametrize("token", ["nosuchtoken", "x" * 300])
async def test_unknown_token_is_not_found(api: Api, make: Factory, token: str) -> None:
    user = await make.user()
    for response in (await api.as_(user).get(f"/api/v1/org-invites/{token}"), await _join(api, user, token)):
        assert response.status_code == 404 and error_code(response) == "invite_not_found"


async def test_links_need_sign_in_and_a_complete_profile(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    nameless = await make.user(first_name="")
    token = (await _link(api, school, role="teacher"))["token"]
    for response in (await api.get(f"/api/v1/org-invites/{token}"), await _join(api, None, token)):
        assert response.status_code == 401 and error_code(response) == "not_authenticated"
    assert (await api.as_(nameless).get(f"/api/v1/org-invites/{token}")).status_code == 200
    joined = await _join(api, nameless, token)
    assert joined.status_code == 403 and error_code(joined) == "forbidden"
    assert joined.json()["error"]["reason"] == "profile_incomplete"
    [listed] = await _listed(api, school)
    assert listed["usage_count"] == 0


async def test_link_requiring_approval_makes_a_request(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()  # unverified: reachable only through its links
    klass = await orgs.klass(school, "6А")
    pupil = await make.user("Коля", "Новенький")
    token = (await _link(api, school, role="student", class_id=klass["id"], requires_approval=True))["token"]
    assert (await api.as_(pupil).get(f"/api/v1/org-invites/{token}")).json()["requires_approval"] is True
    admin_since = await api.as_(school.admin).last_event_id()
    pupil_since = await api.as_(pupil).last_event_id()

    first = await _join(api, pupil, token)
    retry = await _join(api, pupil, token)

    assert first.status_code == retry.status_code == 202, first.text
    request = first.json()["join_request"]
    assert retry.json()["join_request"]["id"] == request["id"]
    assert (
        request["status"] == "pending" and request["role"] == "student" and request["class_id"] == klass["id"]
    )
    assert (await api.as_(pupil).get(f"{ORGS}/{school.id}")).status_code == 404
    [listed] = await _listed(api, school)
    assert listed["usage_count"] == 1
    [created] = _of(await api.as_(school.admin).sync(admin_since), "join_request.created")
    assert created["join_request"]["id"] == request["id"] and created["join_request"]["phone"] == pupil.phone

    approved = await api.as_(school.admin).post(f"{_requests(school)}/{request['id']}/approve")

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and "member_id" in approved.json()
    events = await api.as_(pupil).sync(pupil_since)
    [decided] = _of(events, "join_request.decided")
    assert decided["status"] == "approved" and decided["org"]["id"] == school.id
    assert _of(events, "org.joined")[0]["class_id"] == klass["id"]
    assert klass["chat_id"] in await _chat_ids(api, pupil)
    assert (await _join(api, pupil, token)).status_code == 200


# Join requests -------------------------------------------------------------------


async def test_request_is_approved_and_everyone_hears(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await _verified(api, make, orgs)
    klass = await orgs.klass(school, "8А")
    other_class = await orgs.klass(school, "8Б")
    pupil = await make.user("Вера", "Просилова")
    admin_since = await api.as_(school.admin).last_event_id()
    pupil_since = await api.as_(pupil).last_event_id()
    body = {"role": "student", "class_id": klass["id"], "message": "Перевожусь из школы № 5"}

    asked = await api.as_(pupil).post(_requests(school), json=body)

    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["status"] == "pending" and request["message"] == body["message"]
    assert request["user"]["id"] == pupil.id and "phone" not in request
    pending = (await api.as_(school.admin).get(_requests(school), params={"status": "pending"})).json()
    assert [r["id"] for r in pending["join_requests"]] == [request["id"]]
    assert pending["join_requests"][0]["phone"] == pupil.phone

    approved = await api.as_(school.admin).post(
        f"{_requests(school)}/{request['id']}/approve", json={"class_id": other_class["id"]}
    )

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and "decided_at" in approved.json()
    again = await api.as_(school.admin).post(f"{_requests(school)}/{request['id']}/approve")
    assert again.status_code == 409 and error_code(again) == "conflict"
    events = await api.as_(pupil).sync(pupil_since)
    [decided] = _of(events, "join_request.decided")
    assert decided["status"] == "approved" and decided["org"]["id"] == school.id
    assert decided["request_id"] == request["id"]
    assert _of(events, "org.joined")[0]["class_id"] == other_class["id"]
    assert other_class["chat_id"] in await _chat_ids(api, pupil)
    admin_types = _types(await api.as_(school.admin).sync(admin_since))
    assert {"join_request.created", "org.member_added", "join_request.decided"} <= set(admin_types)
    mine = (await api.as_(pupil).get("/api/v1/me/join-requests")).json()["join_requests"]
    assert [(r["id"], r["status"], r["org"]["short_name"]) for r in mine] == [
        (request["id"], "approved", "Школа № 1")
    ]
    assert "join_request.approved" in await _audit_actions(api, school)


async def test_request_is_declined_with_a_reason(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await _verified(api, make, orgs)
    parent = await make.user("Семён", "Отказов")
    request = (await api.as_(parent).post(_requests(school), json={"role": "parent"})).json()
    since = await api.as_(parent).last_event_id()
    url = f"{_requests(school)}/{request['id']}/decline"
    for reason, field in (("", "reason"), ("x" * 513, "reason")):
        response = await api.as_(school.admin).post(url, json={"reason": reason})
        assert response.status_code == 400 and response.json()["error"]["field"] == field
    response = await api.as_(school.admin).post(url, json={})
    assert response.status_code == 400 and response.json()["error"]["field"] == "reason"

    declined = await api.as_(school.admin).post(url, json={"reason": "Не нашли вашего ребёнка в списках"})

    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    twice = await api.as_(school.admin).post(url, json={"reason": "Ещё раз"})
    assert twice.status_code == 409 and error_code(twice) == "conflict"
    late_approval = await api.as_(school.admin).post(f"{_requests(school)}/{request['id']}/approve")
    assert late_approval.status_code == 409
    events = await api.as_(parent).sync(since)
    assert _types(events) == ["join_request.decided"]
    assert events[0]["data"] == {
        "org_id": school.id,
        "request_id": request["id"],
        "status": "declined",
        "reason": "Не нашли вашего ребёнка в списках",
    }
    assert (await api.as_(parent).get(f"{ORGS}/{school.id}")).status_code == 404
    assert "join_request.declined" in await _audit_actions(api, school)
    # A declined person may ask again.
    assert (await api.as_(parent).post(_requests(school), json={"role": "parent"})).status_code == 201


async def test_unverified_or_unknown_org_takes_no_requests(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    user = await make.user()
    for org_id in (school.id, 987654):
        response = await api.as_(user).post(f"{ORGS}/{org_id}/join-requests", json={"role": "teacher"})
        assert response.status_code == 404 and error_code(response) == "org_not_found"


async def test_bad_or_duplicate_requests_are_refused(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await _verified(api, make, orgs)
    other = await orgs.school()
    foreign = await orgs.klass(other, "5А")
    teacher = await orgs.add(school, "teacher")
    user = await make.user()
    nameless = await make.user(first_name="")
    for body, field in (
        ({"role": "admin"}, "role"),
        ({"role": "additional_admin"}, "role"),
        ({"role": "teacher", "message": "x" * 513}, "message"),
        ({"role": "teacher", "class_id": 0}, "class_id"),
        ({}, "role"),
    ):
        response = await api.as_(user).post(_requests(school), json=body)
        assert response.status_code == 400 and response.json()["error"]["field"] == field, body
    response = await api.as_(user).post(
        _requests(school), json={"role": "student", "class_id": foreign["id"]}
    )
    assert response.status_code == 404 and error_code(response) == "class_not_found"
    response = await api.as_(nameless).post(_requests(school), json={"role": "teacher"})
    assert response.status_code == 403 and response.json()["error"]["reason"] == "profile_incomplete"
    assert (await api.as_(user).post(_requests(school), json={"role": "teacher"})).status_code == 201
    for asker in (user, teacher):
        response = await api.as_(asker).post(_requests(school), json={"role": "staff"})
        assert response.status_code == 409 and error_code(response) == "conflict"
    bad_status = await api.as_(school.admin).get(_requests(school), params={"status": "maybe"})
    assert bad_status.status_code == 400 and bad_status.json()["error"]["field"] == "status"


async def test_approval_cannot_make_an_admin(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await _verified(api, make, orgs)
    user = await make.user()
    request = (await api.as_(user).post(_requests(school), json={"role": "teacher"})).json()
    url = f"{_requests(school)}/{request['id']}/approve"
    for body, field in (({"role": "admin"}, "role"), ({"class_id": "x"}, "class_id")):
        response = await api.as_(school.admin).post(url, json=body)
        assert response.status_code == 400 and response.json()["error"]["field"] == field
    response = await api.as_(school.admin).post(url, json={"class_id": 987654})
    assert response.status_code == 404 and error_code(response) == "class_not_found"
    listed = (await api.as_(school.admin).get(_requests(school))).json()["join_requests"]
    assert [r["status"] for r in listed] == ["pending"]


async def test_only_this_orgs_admins_decide(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await _verified(api, make, orgs)
    other = await orgs.school()
    klass = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher")
    student = await orgs.add(school, "student", class_id=klass["id"])
    parent = await orgs.add(school, "parent")
    asker, outsider = await make.users(2)
    request = (await api.as_(asker).post(_requests(school), json={"role": "teacher"})).json()
    calls = (
        ("get", _requests(school), {}),
        ("post", f"{_requests(school)}/{request['id']}/approve", {}),
        ("post", f"{_requests(school)}/{request['id']}/decline", {"json": {"reason": "Нет"}}),
    )
    for user in (teacher, student, parent):
        for method, url, kwargs in calls:
            response = await api.as_(user).request(method, url, **kwargs)
            assert (response.status_code, error_code(response)) == (403, "forbidden"), (method, url)
    for user in (outsider, asker, other.admin):
        for method, url, kwargs in calls:
            response = await api.as_(user).request(method, url, **kwargs)
            assert (response.status_code, error_code(response)) == (404, "org_not_found"), (method, url)
    # Another org's request id through this org, and an unknown id.
    foreign_asker = await make.user()
    other_verified = await _verified(api, make, orgs)
    foreign = (await api.as_(foreign_asker).post(_requests(other_verified), json={"role": "staff"})).json()
    for request_id in (foreign["id"], 987654):
        response = await api.as_(school.admin).post(f"{_requests(school)}/{request_id}/approve")
        assert response.status_code == 404 and error_code(response) == "join_request_not_found"
    listed = (await api.as_(school.admin).get(_requests(school))).json()["join_requests"]
    assert [r["status"] for r in listed] == ["pending"]


async def test_requester_cancels_their_own_request(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await _verified(api, make, orgs)
    asker, stranger = await make.users(2)
    request = (await api.as_(asker).post(_requests(school), json={"role": "staff"})).json()
    admin_since = await api.as_(school.admin).last_event_id()
    url = f"/api/v1/me/join-requests/{request['id']}"

    response = await api.as_(stranger).delete(url)
    assert response.status_code == 404 and error_code(response) == "join_request_not_found"
    assert (await api.as_(asker).delete(url)).status_code == 204
    assert (await api.as_(asker).delete(url)).status_code == 204

    [decided] = _of(await api.as_(school.admin).sync(admin_since), "join_request.decided")
    assert decided["status"] == "cancelled" and decided["request_id"] == request["id"]
    approve = await api.as_(school.admin).post(f"{_requests(school)}/{request['id']}/approve")
    assert approve.status_code == 409 and error_code(approve) == "conflict"
    assert (await api.as_(stranger).get("/api/v1/me/join-requests")).json()["join_requests"] == []
    mine = (await api.as_(asker).get("/api/v1/me/join-requests")).json()["join_requests"]
    assert [r["status"] for r in mine] == ["cancelled"]
    # Decided requests are no longer the requester's to cancel.
    again = (await api.as_(asker).post(_requests(school), json={"role": "staff"})).json()
    declined = f"{_requests(school)}/{again['id']}/decline"
    assert (await api.as_(school.admin).post(declined, json={"reason": "Нет мест"})).status_code == 200
    response = await api.as_(asker).delete(f"/api/v1/me/join-requests/{again['id']}")
    assert response.status_code == 409 and error_code(response) == "conflict"


async def test_request_list_pages_by_cursor(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await _verified(api, make, orgs)
    askers = await make.users(3)
    ids = [(await api.as_(u).post(_requests(school), json={"role": "staff"})).json()["id"] for u in askers]
    first = (await api.as_(school.admin).get(_requests(school), params={"limit": 2})).json()
    assert [r["id"] for r in first["join_requests"]] == ids[:2] and first["next_cursor"] == ids[1]
    rest = (await api.as_(school.admin).get(_requests(school), params={"cursor": ids[1]})).json()
    assert [r["id"] for r in rest["join_requests"]] == ids[2:] and "next_cursor" not in rest
    declined = (await api.as_(school.admin).get(_requests(school), params={"status": "declined"})).json()
    assert declined["join_requests"] == []


# Where a newcomer lands (members.enroll) -------------------------------------------


async def test_group_links_make_group_members_and_teachers(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    club = await orgs.klass(school, "Шахматы", kind="group")
    pupil, coach = await make.user(), await make.user()
    for user, role in ((pupil, "student"), (coach, "teacher")):
        token = (await _link(api, school, role=role, class_id=club["id"]))["token"]
        joined = await _join(api, user, token)
        assert joined.status_code == 201 and "class_id" not in joined.json()
        school.members[user.id] = joined.json()["member_id"]

    shown = (await api.as_(school.admin).get(f"{ORGS}/{school.id}/classes/{club['id']}")).json()
    assert shown["member_ids"] == [school.member_id(pupil)]
    assert shown["teacher_member_ids"] == [school.member_id(coach)]
    assert await orgs.chat_member_ids(coach, club["chat_id"]) == {pupil.id, coach.id}


async def test_a_request_for_a_class_deleted_since_joins_without_one(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await _verified(api, make, orgs)
    klass = await orgs.klass(school, "4Г")
    pupil = await make.user()
    request = (
        await api.as_(pupil).post(_requests(school), json={"role": "student", "class_id": klass["id"]})
    ).json()
    assert (
        await api.as_(school.admin).delete(f"{ORGS}/{school.id}/classes/{klass['id']}")
    ).status_code == 204
    since = await api.as_(pupil).last_event_id()

    approved = await api.as_(school.admin).post(f"{_requests(school)}/{request['id']}/approve")

    assert approved.status_code == 200, approved.text
    [joined] = _of(await api.as_(pupil).sync(since), "org.joined")
    assert joined["role"] == "student" and "class_id" not in joined
    assert klass["chat_id"] not in await _chat_ids(api, pupil)


async def test_a_parent_keeps_the_class_of_their_link_while_their_role_stays(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass = await orgs.klass(school, "3В")
    parent = await make.user()
    joined = await _join(
        api, parent, (await _link(api, school, role="parent", class_id=klass["id"]))["token"]
    )
    url = f"{ORGS}/{school.id}/members/{joined.json()['member_id']}"

    same = await api.as_(school.admin).patch(url, json={"role": "parent"})
    assert same.status_code == 200 and same.json()["class_id"] == klass["id"]
    assert "class_id" not in (await api.as_(school.admin).patch(url, json={"role": "staff"})).json()
