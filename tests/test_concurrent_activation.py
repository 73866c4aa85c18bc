"""People an admin added before they had an account, signing in at the same moment
(the first school morning on Parta): every first sign-in succeeds and everyone ends
up in the chats their membership puts them in. Found by bench/load.py: on PostgreSQL
two transactions syncing one chat each read who should be in it and who is in it at
different moments, so one took out a teacher the other had just added, and a later
sync failed with a duplicate chat member (500)."""

from __future__ import annotations

import asyncio
import uuid

from tests.client import Api, Factory, TestUser
from tests.org_factory import OrgFactory

PEOPLE = 8


async def _member_ids(api: Api, viewer: TestUser, chat_id: int) -> set[int]:
    response = await api.as_(viewer).get(f"/api/v1/chats/{chat_id}/members")
    assert response.status_code == 200, response.text
    return {m["id"] for m in response.json()["members"]}


async def test_teachers_and_students_signing_in_at_once_all_land_in_their_chats(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    klass = await orgs.klass(school, "5А")
    teachers = [(await orgs.add_pending(school, "teacher"))[0] for _ in range(PEOPLE)]
    students = [(await orgs.add_pending(school, "student", class_id=klass["id"]))[0] for _ in range(PEOPLE)]
    chats = (await api.as_(school.admin).get("/api/v1/chats")).json()["chats"]
    staff_chat = next(c["id"] for c in chats if c.get("purpose") == "staff")

    signed = await asyncio.gather(*(make.sign_in(phone) for phone in teachers + students))

    people = [
        TestUser(b["user"]["id"], phone, b["token"])
        for b, phone in zip(signed, teachers + students, strict=True)
    ]
    ids = [p.id for p in people]
    assert await _member_ids(api, school.admin, staff_chat) == {school.admin.id, *ids[:PEOPLE]}
    assert await _member_ids(api, people[-1], klass["chat_id"]) == set(ids[PEOPLE:])


async def test_first_sign_ins_while_the_class_writes_all_succeed(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    """Signing in for the first time adds the person to the class chat while others
    write there. On PostgreSQL a send held the chat's row and waited for the event
    log's lock, which the sign-in held while its new chat member's foreign key waited
    for that row: deadlock, 500 for one of them."""
    school = await orgs.school()
    klass = await orgs.klass(school, "5А")
    writers = [await orgs.add(school, "student", class_id=klass["id"]) for _ in range(4)]
    newcomers = [(await orgs.add_pending(school, "student", class_id=klass["id"]))[0] for _ in range(PEOPLE)]
    for writer in writers:
        await api.as_(writer).patch("/api/v1/me", json={"first_name": "Оля", "last_name": "Петрова"})

    async def write(writer: TestUser) -> list[int]:
        statuses = []
        for i in range(PEOPLE):
            body = {"text": f"Кто решил номер {i}?", "client_msg_id": uuid.uuid4().hex}
            response = await api.as_(writer).post(f"/api/v1/chats/{klass['chat_id']}/messages", json=body)
            statuses.append(response.status_code)
        return statuses

    results = await asyncio.gather(
        *(make.sign_in(phone) for phone in newcomers), *(write(writer) for writer in writers)
    )

    signed, sent = results[:PEOPLE], results[PEOPLE:]
    assert all(status == 201 for statuses in sent for status in statuses), sent
    members = await _member_ids(api, writers[0], klass["chat_id"])
    assert members == {w.id for w in writers} | {body["user"]["id"] for body in signed}
