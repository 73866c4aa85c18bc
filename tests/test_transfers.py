"""Transfers mid-year: between classes (one action, parents follow) and between schools
(the old school asks, the verified new school accepts; both audit logs show it)."""

from __future__ import annotations

from typing import Any

import pytest

from parta import policy
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School


@pytest.mark.parametrize(
    ("verified", "same", "expected"),
    [(True, False, "ok"), (False, False, "org_not_verified"), (True, True, "same_org")],
)
def test_transfer_policy(verified: bool, same: bool, expected: str) -> None:
    assert policy.can_transfer_to_org(is_target_verified=verified, is_same_org=same).reason == expected


async def family(orgs: OrgFactory, school: School, class_id: int) -> tuple[TestUser, TestUser]:
    child = await orgs.add(school, "student", class_id=class_id)
    parent = await orgs.add(school, "parent")
    await orgs.link(school, parent, child)
    return child, parent


def url(school: School, member_id: int) -> str:
    return f"/api/v1/orgs/{school.id}/members/{member_id}/transfer"


async def audit_actions(api: Api, school: School) -> list[str]:
    entries = (await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/audit")).json()["entries"]
    return [e["action"] for e in entries]


async def test_between_classes_student_and_parents_change_chats(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    a, b = await orgs.klass(school, "5А"), await orgs.klass(school, "5Б")
    teacher = await orgs.add(school, "teacher")
    for klass in (a, b):
        await orgs.teach(school, klass["id"], teacher)
    child, parent = await family(orgs, school, a["id"])
    since = await api.as_(parent).last_event_id()

    moved = await api.as_(school.admin).post(url(school, school.member_id(child)), json={"class_id": b["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["member"]["class_id"] == b["id"]
    assert child.id not in await orgs.chat_member_ids(teacher, a["chat_id"])
    assert parent.id not in await orgs.chat_member_ids(teacher, a["parents_chat_id"])
    assert child.id in await orgs.chat_member_ids(teacher, b["chat_id"])
    assert parent.id in await orgs.chat_member_ids(teacher, b["parents_chat_id"])
    seen = [e["type"] for e in await api.as_(parent).sync(since)]
    assert "notice.transfer" in seen and "chat.removed" in seen
    assert "member.transferred" in await audit_actions(api, school)

    same = await api.as_(school.admin).post(url(school, school.member_id(child)), json={"class_id": b["id"]})
    assert same.status_code == 200


async def test_between_classes_bad_input_and_wrong_users(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    a = await orgs.klass(school, "5А")
    group = await orgs.klass(school, "Хор", kind="group")
    child, parent = await family(orgs, school, a["id"])
    teacher, outsider = await orgs.add(school, "teacher"), await make.user()
    target = url(school, school.member_id(child))

    def answer(r: Any) -> tuple[int, str]:
        return r.status_code, error_code(r)

    assert answer(await api.as_(teacher).post(target, json={"class_id": a["id"]})) == (403, "forbidden")
    assert answer(await api.as_(outsider).post(target, json={"class_id": a["id"]})) == (404, "org_not_found")
    admin = api.as_(school.admin)
    assert answer(await admin.post(target, json={"class_id": group["id"]})) == (404, "class_not_found")
    assert answer(await admin.post(target, json={"class_id": 10**9})) == (404, "class_not_found")
    assert answer(await admin.post(target, json={})) == (400, "invalid_request")
    both = await admin.post(target, json={"class_id": a["id"], "to_org_id": school.id})
    assert answer(both) == (400, "invalid_request")
    not_student = await admin.post(url(school, school.member_id(parent)), json={"class_id": a["id"]})
    assert (*answer(not_student), not_student.json()["error"]["field"]) == (
        400,
        "invalid_request",
        "member_id",
    )
    missing = await admin.post(url(school, 10**9), json={"class_id": a["id"]})
    assert answer(missing) == (404, "member_not_found")


async def two_schools(orgs: OrgFactory) -> tuple[School, School]:
    old = await orgs.school()
    new = await orgs.school(full_name="МБОУ «Гимназия № 2»", short_name="Гимназия № 2")
    await orgs.verify(new)
    return old, new


async def test_between_schools_with_consent_of_both(api: Api, orgs: OrgFactory) -> None:
    old, new = await two_schools(orgs)
    old_class, new_class = await orgs.klass(old, "5А"), await orgs.klass(new, "6В")
    child, parent = await family(orgs, old, old_class["id"])
    sibling = await orgs.add(old, "student", class_id=old_class["id"])
    await orgs.link(old, parent, sibling)
    new_teacher = await orgs.add(new, "teacher")
    await orgs.teach(new, new_class["id"], new_teacher)
    old_teacher = await orgs.add(old, "teacher")
    await orgs.teach(old, old_class["id"], old_teacher)

    asked = await api.as_(old.admin).post(url(old, old.member_id(child)), json={"to_org_id": new.id})
    assert asked.status_code == 200, asked.text
    transfer = asked.json()["transfer"]
    assert (transfer["status"], transfer["direction"]) == ("pending", "outgoing")
    incoming = (await api.as_(new.admin).get(f"/api/v1/orgs/{new.id}/transfers")).json()["transfers"]
    assert [(t["id"], t["direction"]) for t in incoming] == [(transfer["id"], "incoming")]
    again = await api.as_(old.admin).post(url(old, old.member_id(child)), json={"to_org_id": new.id})
    assert (again.status_code, error_code(again)) == (409, "conflict")

    accept = f"/api/v1/orgs/{new.id}/transfers/{transfer['id']}/accept"
    wrong_side = await api.as_(old.admin).post(
        f"/api/v1/orgs/{old.id}/transfers/{transfer['id']}/accept", json={"class_id": new_class["id"]}
    )
    assert (wrong_side.status_code, wrong_side.json()["error"]["reason"]) == (403, "not_target_org")
    done = await api.as_(new.admin).post(accept, json={"class_id": new_class["id"]})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "accepted" and done.json()["class_id"] == new_class["id"]

    # The child and the parent are in the new school's chats; the child left the old one.
    assert child.id in await orgs.chat_member_ids(new_teacher, new_class["chat_id"])
    assert parent.id in await orgs.chat_member_ids(new_teacher, new_class["parents_chat_id"])
    assert child.id not in await orgs.chat_member_ids(old_teacher, old_class["chat_id"])
    # The parent stays in the old parents' chat through the sibling still there.
    assert parent.id in await orgs.chat_member_ids(old_teacher, old_class["parents_chat_id"])
    gone = await api.as_(child).get(f"/api/v1/orgs/{old.id}")
    assert (gone.status_code, error_code(gone)) == (404, "org_not_found")
    assert {"member.transfer_requested", "member.transferred_out"} <= set(await audit_actions(api, old))
    assert "member.transferred_in" in await audit_actions(api, new)
    notices = [e for e in await api.as_(child).sync(0) if e["type"] == "notice.transfer"]
    assert len(notices) == 1 and "6В" in notices[0]["data"]["text"]
    twice = await api.as_(new.admin).post(accept, json={"class_id": new_class["id"]})
    assert (twice.status_code, error_code(twice)) == (409, "conflict")


async def test_between_schools_refusals(api: Api, make: Factory, orgs: OrgFactory) -> None:
    old, new = await two_schools(orgs)
    unverified = await orgs.school(full_name="ООО «Школа мечты»", short_name="Школа мечты")
    old_class = await orgs.klass(old, "5А")
    child, _ = await family(orgs, old, old_class["id"])
    target = url(old, old.member_id(child))
    admin = api.as_(old.admin)

    def answer(r: Any) -> tuple[int, str, str | None]:
        return r.status_code, error_code(r), r.json()["error"].get("field")

    assert answer(await admin.post(target, json={"to_org_id": unverified.id})) == (
        404,
        "org_not_found",
        "to_org_id",
    )
    assert answer(await admin.post(target, json={"to_org_id": 10**9})) == (404, "org_not_found", "to_org_id")
    assert answer(await admin.post(target, json={"to_org_id": old.id})) == (
        400,
        "invalid_request",
        "to_org_id",
    )

    asked = (await admin.post(target, json={"to_org_id": new.id})).json()["transfer"]
    teacher, outsider = await orgs.add(new, "teacher"), await make.user()
    accept = f"/api/v1/orgs/{new.id}/transfers/{asked['id']}/accept"
    refused = await api.as_(teacher).post(accept, json={"class_id": 1})
    assert (refused.status_code, error_code(refused)) == (403, "forbidden")
    hidden = await api.as_(outsider).post(accept, json={"class_id": 1})
    assert (hidden.status_code, error_code(hidden)) == (404, "org_not_found")
    stranger = await orgs.school(full_name="МБОУ «Школа № 3»", short_name="Школа № 3")
    elsewhere = await api.as_(stranger.admin).post(
        f"/api/v1/orgs/{stranger.id}/transfers/{asked['id']}/decline"
    )
    assert (elsewhere.status_code, error_code(elsewhere)) == (404, "transfer_not_found")
    bad_class = await api.as_(new.admin).post(accept, json={"class_id": old_class["id"]})
    assert (bad_class.status_code, error_code(bad_class)) == (404, "class_not_found")

    declined = await api.as_(new.admin).post(f"/api/v1/orgs/{new.id}/transfers/{asked['id']}/decline")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    late = await api.as_(new.admin).post(accept, json={"class_id": 1})
    assert (late.status_code, error_code(late)) == (409, "conflict")
    assert (await api.as_(child).get(f"/api/v1/orgs/{old.id}")).status_code == 200
    assert "member.transfer_declined" in await audit_actions(api, new)
