"""The world of the authorization sweep (``tests/test_authz_sweep.py``), built through
the HTTP API the way the people in it (``PEOPLE``) would build it.

A group a person made (with a message, a sent image, an unsent one and an invite link);
school 1, verified, with 5А, its teachers, students and parents, a group, an invite
link that needs approval and a join request through it, a report, a planned rollover,
a transfer asked to school 3, a migrated chat; school 2 with a class of its own; an
operator with a wave and a report in the operators' queue; a child in safe mode; a
signed-out session. Then the removals, and what is said and changed after them.
``World.ids`` holds, per context of the sweep, the ids its routes are called with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from parta.clock import utcnow
from tests.client import Api, Factory, TestUser
from tests.org_factory import OrgFactory, School

API = "/api/v1"

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


PEOPLE: dict[str, str] = {
    "owner": "made a group (no organization): a message, an image, an invite link",
    "chat_member": "a plain member of that group",
    "removed_chat_member": "was in the group; the owner removed them",
    "stranger": "signed in, related to nobody (has a chat of their own, alone)",
    "kid": "a child in safe mode, in no school: a person nobody may name",
    "operator": "a regional operator: waves, verification, the operators' report queue",
    "admin": "the admin of school 1 (verified: parent links and join requests count only there)",
    "teacher": "teaches 5А (an admin of its chats)",
    "student": "in 5А; reported ``target``",
    "parent": "``student``'s parent, linked by the school",
    "target": "in 5А, the member the member routes act on; asked to move to school 3",
    "other_parent": "``target``'s parent: a parent, but not ``student``'s",
    "removed_member": "taught 5А; the school removed them",
    "asker": "asked to join school 1 through a link that needs approval",
    "other_admin": "the admin of school 2 (not verified yet), with a class of its own",
    "far_admin": "the admin of school 3 (verified), where ``target`` is asked to move",
}


@dataclass
class World:
    api: Api
    database_url: str
    people: dict[str, TestUser]
    ids: dict[str, dict[str, Any]]  # context -> the ids its routes are called with
    revoked_token: str
    school: School
    other_school: School
    # Where each removed person's sync starts (before their removal), and what they lost.
    removed_since: dict[str, int]
    lost_chats: dict[str, set[int]]

    def user(self, who: str) -> TestUser:
        return self.people[who]


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def _plain_chat(api: Api, make: Factory, p: dict[str, TestUser]) -> dict[str, Any]:
    chat = await make.chat(p["owner"], [p["chat_member"], p["removed_chat_member"]])
    base = f"{API}/chats/{chat['id']}"
    message = await make.message(p["owner"], chat["id"], "Только для кружка")
    owner = api.as_(p["owner"])
    upload = await _ok(await owner.post(f"{base}/files", files={"file": ("a.png", PNG, "image/png")}), 201)
    await make.message(p["owner"], chat["id"], "Рисунок", file_id=upload["id"])
    unsent = await _ok(await owner.post(f"{base}/files", files={"file": ("b.png", PNG, "image/png")}), 201)
    invite = await _ok(await owner.post(f"{base}/invites", json={}), 201)
    return {
        "chat_id": chat["id"],
        "message_id": message["id"],
        "user_id": p["owner"].id,  # the member acted on: the owner, whom nobody else may touch
        "invite_id": invite["id"],
        "file_id": upload["id"],
        "unsent_file_id": unsent["id"],
        "token": invite["token"],
    }


async def _operator(api: Api, p: dict[str, TestUser], plain: dict[str, Any]) -> dict[str, Any]:
    """A wave, and a report in the operators' queue (about a chat of no organization)."""
    from parta.orgs.organizations import create_operator

    async with api.app.state.services.database.session() as db:
        await create_operator(db, p["operator"].phone)  # as `parta admin create-operator` does
    body = {"name": "Москва", "org_kinds": ["school"], "starts_at": "2030-09-01"}
    wave = await _ok(await api.as_(p["operator"]).post(f"{API}/operator/waves", json=body), 201)
    body = {"message_id": plain["message_id"], "reason": "spam"}
    report = await _ok(await api.as_(p["chat_member"]).post(f"{API}/reports", json=body), 201)
    return {"wave_id": wave["id"], "report_id": report["id"]}


async def _school(api: Api, orgs: OrgFactory, p: dict[str, TestUser]) -> tuple[School, dict[str, Any]]:
    school = await orgs.school(p["admin"])
    await _ok(await api.as_(p["operator"]).post(f"{API}/orgs/{school.id}/verification"))
    klass = await orgs.klass(school, "5А")
    group = await orgs.klass(school, "Робототехника", kind="group")
    for who in ("teacher", "removed_member"):
        await orgs.add(school, "teacher", p[who])
        await orgs.teach(school, klass["id"], p[who])
    for who in ("student", "target"):
        await orgs.add(school, "student", p[who], class_id=klass["id"])
    for who, child_ in (("parent", "student"), ("other_parent", "target")):
        await orgs.add(school, "parent", p[who])
        await orgs.link(school, p[who], p[child_])
    admin, base = api.as_(p["admin"]), f"{API}/orgs/{school.id}"
    link = await _ok(
        await admin.post(f"{base}/invites", json={"role": "parent", "requires_approval": True}), 201
    )
    asked = await _ok(await api.as_(p["asker"]).post(f"{API}/org-invites/{link['token']}/join"), 202)
    body = {"user_id": p["target"].id, "reason": "spam"}
    report = await _ok(await api.as_(p["student"]).post(f"{API}/reports", json=body), 201)
    later = (utcnow() + timedelta(days=60)).strftime("%Y-%m-%dT08:00")  # planned, never run here
    rollover = await _ok(await admin.post(f"{base}/rollovers", json={"at": later}), 201)
    csv = "Чат;Телефон\nКружок рисования;+79990001166\n".encode()
    manifest = await _ok(
        await admin.post(f"{base}/chat-manifests", files={"file": ("chats.csv", csv, "text/csv")})
    )
    return school, {
        "org_id": school.id,
        "class_id": klass["id"],
        "group_id": group["id"],
        "member_id": school.member_id(p["target"]),
        "child_member_id": school.member_id(p["student"]),
        "parent_member_id": school.member_id(p["parent"]),
        "invite_id": link["invite"]["id"],
        "request_id": asked["join_request"]["id"],
        "report_id": report["id"],
        "rollover_id": rollover["id"],
        "chat_id": manifest["chats"][0]["chat_id"],  # the migration routes' chat
        "class_chat_id": klass["chat_id"],
    }


async def _transfer_out(api: Api, orgs: OrgFactory, school: School, p: dict[str, TestUser]) -> int:
    far = await orgs.school(p["far_admin"], full_name="МБОУ «Лицей № 3»", short_name="Лицей № 3")
    verified = await api.as_(p["operator"]).post(f"{API}/orgs/{far.id}/verification")
    assert verified.status_code == 200, verified.text
    url = f"{API}/orgs/{school.id}/members/{school.member_id(p['target'])}/transfer"
    asked = await _ok(await api.as_(p["admin"]).post(url, json={"to_org_id": far.id}))
    transfer_id: int = asked["transfer"]["id"]
    return transfer_id


async def _revoked_token(api: Api, make: Factory) -> str:
    """The token of a session that signed out."""
    user = await make.user()
    sessions = (await _ok(await api.as_(user).get(f"{API}/sessions")))["sessions"]
    assert (await api.as_(user).delete(f"{API}/sessions/{sessions[0]['id']}")).status_code == 204
    return user.token


async def _remove(api: Api, p: dict[str, TestUser], school: School, plain: dict[str, Any]) -> dict[str, int]:
    """Where the removed members' sync stood, then their removal (by the chat's owner, by the school)."""
    since = {who: await api.as_(p[who]).last_event_id() for who in ("removed_chat_member", "removed_member")}
    url = f"{API}/chats/{plain['chat_id']}/members/{p['removed_chat_member'].id}"
    assert (await api.as_(p["owner"]).delete(url)).status_code == 204
    url = f"{API}/orgs/{school.id}/members/{school.member_id(p['removed_member'])}"
    assert (await api.as_(p["admin"]).delete(url)).status_code == 204
    return since


# Said and changed after the removals, which the removed must not hear of.
LIFE_GOES_ON = ("После удаления", "Контрольная в пятницу", "https://school1.ru")


async def build_world(api: Api) -> World:
    """The world of ``PEOPLE``, built through the API the way they would build it."""
    make = Factory(api)
    orgs = OrgFactory(api, make)
    p = {who: await make.user() for who in PEOPLE}
    await _ok(await api.as_(p["kid"]).put(f"{API}/me/safe-mode", json={"enabled": True}))
    plain = await _plain_chat(api, make, p)
    operator_ids = await _operator(api, p, plain)
    school, org_ids = await _school(api, orgs, p)
    org_ids["transfer_id"] = await _transfer_out(api, orgs, school, p)
    other = await orgs.school(p["other_admin"], full_name="МБОУ «Гимназия № 2»", short_name="Гимназия № 2")
    other_class = await orgs.klass(other, "5А")
    class_chat = org_ids.pop("class_chat_id")
    class_message = await make.message(p["teacher"], class_chat, "Домашнее задание")
    own_chat = await make.chat(p["stranger"], title="Мой чат")
    own_invite = await _ok(
        await api.as_(p["stranger"]).post(f"{API}/chats/{own_chat['id']}/invites", json={}), 201
    )
    sessions = (await _ok(await api.as_(p["owner"]).get(f"{API}/sessions")))["sessions"]
    common = {"stranger_id": p["stranger"].id, "stranger_phone": p["stranger"].phone}
    ids: dict[str, dict[str, Any]] = {
        "plain_chat": common | plain,
        "class_chat": common
        | {
            "chat_id": class_chat,
            "message_id": class_message["id"],
            "user_id": p["target"].id,
            "invite_id": plain["invite_id"],  # class chats have no links: any id will do
        },
        "file": {"file_id": plain["file_id"]},
        "unsent_file": {"file_id": plain["unsent_file_id"]},
        "org": common | org_ids,
        "child": common | {"child_id": p["student"].id, "user_id": p["owner"].id},
        "own": {"session_id": sessions[0]["id"], "request_id": org_ids["request_id"], "user_id": p["kid"].id},
        "operator": operator_ids,
        # Another chat's things, named in the group's routes by its owner.
        "foreign": {
            "message_id": class_message["id"],
            "user_id": p["target"].id,
            "invite_id": own_invite["id"],
        },
        "anyone": common | {"user_id": p["kid"].id, "token": plain["token"], "org_id": school.id},
        # Named inside requests (REFERENCES).
        "refs": {
            "own_chat": own_chat["id"],
            "chat": plain["chat_id"],
            "message": plain["message_id"],
            "file": plain["file_id"],
            "unsent_file": plain["unsent_file_id"],
            "kid": p["kid"].id,
            "kid_phone": p["kid"].phone,
            "owner": p["owner"].id,
            "student": p["student"].id,
            "school": school.id,
            "class": org_ids["class_id"],
            "class_chat": class_chat,
            "member": org_ids["member_id"],
            "teacher": school.member_id(p["teacher"]),
            "other_org": other.id,
            "other_class": other_class["id"],
            "operator_report": operator_ids["report_id"],
            "class_message": class_message["id"],
        },
    }
    revoked = await _revoked_token(api, make)
    since = await _remove(api, p, school, plain)
    await make.message(p["owner"], plain["chat_id"], LIFE_GOES_ON[0])
    await make.message(p["teacher"], class_chat, LIFE_GOES_ON[1])
    await _ok(await api.as_(p["admin"]).patch(f"{API}/orgs/{school.id}", json={"website": LIFE_GOES_ON[2]}))
    return World(
        api=api,
        database_url="",
        people=p,
        ids=ids,
        revoked_token=revoked,
        school=school,
        other_school=other,
        removed_since=since,
        lost_chats={"removed_chat_member": {plain["chat_id"]}, "removed_member": {class_chat}},
    )
