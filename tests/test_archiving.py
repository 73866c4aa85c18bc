"""Archiving chats at a planned moment: local time of the school, read-only after the
moment (even before the scheduler runs), one `chat.archived` across restarts,
several app instances and several server processes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from parta import clock, policy
from parta.archiving import apply_archive
from parta.clock import utcnow
from parta.db.engine import Database
from parta.events.bus import Bus
from parta.policy import ChatKind, ChatRole
from tests.client import Api, Factory, TestUser, error_code
from tests.live import live_server
from tests.org_factory import OrgFactory, School
from tests.servers import ServerProcess
from tests.test_ws import events, open_ws

NEXT_YEAR = utcnow().year + 1


def url(chat_id: int) -> str:
    return f"/api/v1/chats/{chat_id}/archive"


async def send(api: Api, user: TestUser, chat_id: int, text: str = "Ещё вопрос") -> Any:
    body = {"text": text, "client_msg_id": uuid.uuid4().hex}
    return await api.as_(user).post(f"/api/v1/chats/{chat_id}/messages", json=body)


async def class_chat(orgs: OrgFactory, school: School, name: str = "5А") -> int:
    return int((await orgs.klass(school, name))["chat_id"])


async def run_scheduler(api: Api) -> int:
    applied: dict[str, int] = await api.app.state.scheduler.run_due()
    return applied["chat.archive"]


def types(events: list[dict[str, Any]], chat_id: int) -> list[str]:
    return [e["type"] for e in events if e.get("chat_id") == chat_id]


@pytest.mark.parametrize(
    ("kind", "role", "is_org_admin", "expected"),
    [
        (ChatKind.group, ChatRole.owner, False, "ok"),
        (ChatKind.channel, ChatRole.admin, False, "ok"),
        (ChatKind.group, ChatRole.member, False, "not_chat_admin"),
        (ChatKind.group, None, True, "org_admin"),
        (ChatKind.group, ChatRole.member, True, "org_admin"),
        (ChatKind.direct, ChatRole.member, False, "direct_chat"),
        (ChatKind.group, None, False, "not_chat_admin"),
    ],
)
def test_archive_policy(kind: ChatKind, role: ChatRole | None, is_org_admin: bool, expected: str) -> None:
    assert policy.can_archive_chat(kind, role, is_org_admin=is_org_admin).reason == expected


# -- local time -------------------------------------------------------------------------------------


async def test_local_time_is_the_schools_own(api: Api, orgs: OrgFactory) -> None:
    moscow = await orgs.school()
    yekaterinburg = await orgs.school(full_name="МАОУ «Лицей № 3»", short_name="Лицей № 3", region="66")
    org = (await api.as_(yekaterinburg.admin).get(f"/api/v1/orgs/{yekaterinburg.id}")).json()
    assert org["timezone"] == "Asia/Yekaterinburg"
    at = {"at": f"{NEXT_YEAR}-08-25T09:00"}
    a = await api.as_(moscow.admin).put(url(await class_chat(orgs, moscow)), json=at)
    b = await api.as_(yekaterinburg.admin).put(url(await class_chat(orgs, yekaterinburg)), json=at)
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    assert a.json()["archive_at"] == f"{NEXT_YEAR}-08-25T06:00:00Z"
    assert a.json()["archive_at_local"] == f"{NEXT_YEAR}-08-25T09:00+03:00"
    assert b.json()["archive_at"] == f"{NEXT_YEAR}-08-25T04:00:00Z"
    assert b.json()["archive_at_local"] == f"{NEXT_YEAR}-08-25T09:00+05:00"
    assert a.json()["is_archived"] is False


async def test_admin_sets_the_time_zone_and_an_offset_wins(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    admin = api.as_(school.admin)
    base = f"/api/v1/orgs/{school.id}"
    bad = await admin.patch(base, json={"timezone": "Europe/Atlantis"})
    assert (bad.status_code, error_code(bad), bad.json()["error"]["field"]) == (
        400,
        "invalid_request",
        "timezone",
    )
    changed = await admin.patch(base, json={"timezone": "Asia/Yekaterinburg"})
    assert changed.json()["timezone"] == "Asia/Yekaterinburg"
    chat_id = await class_chat(orgs, school)
    local = await admin.put(url(chat_id), json={"at": f"{NEXT_YEAR}-08-25T09:00"})
    assert local.json()["archive_at"] == f"{NEXT_YEAR}-08-25T04:00:00Z"
    explicit = await admin.put(url(chat_id), json={"at": f"{NEXT_YEAR}-08-25T09:00+03:00"})
    assert explicit.json()["archive_at"] == f"{NEXT_YEAR}-08-25T06:00:00Z"
    cleared = await admin.patch(base, json={"timezone": None})
    assert cleared.json()["timezone"] == "Europe/Moscow"


# -- archived means read-only -----------------------------------------------------------------------


async def test_archived_chat_refuses_changes_and_keeps_history(api: Api, make: Factory) -> None:
    owner, pupil, newcomer = await make.users(3)
    old = await make.chat(owner, [pupil], title="5А (старый)")
    new = await make.chat(owner, [pupil], title="6А")
    msg = await make.message(pupil, old["id"], "Где найти учебник?")
    invite = (await api.as_(owner).post(f"/api/v1/chats/{old['id']}/invites", json={})).json()
    since = await api.as_(pupil).last_event_id()

    done = await api.as_(owner).put(url(old["id"]), json={"successor_chat_id": new["id"]})
    assert done.status_code == 200, done.text
    assert done.json()["is_archived"] is True and done.json()["successor_chat_id"] == new["id"]

    [archived] = [e for e in await api.as_(pupil).sync(since) if e["type"] == "chat.archived"]
    assert archived["chat_id"] == old["id"] and archived["data"]["successor_chat_id"] == new["id"]
    chat = (await api.as_(pupil).get(f"/api/v1/chats/{old['id']}")).json()
    assert chat["is_archived"] is True and chat["successor_chat_id"] == new["id"] and chat["archived_at"]

    base = f"/api/v1/chats/{old['id']}"
    refused = [
        await send(api, pupil, old["id"]),
        await api.as_(pupil).patch(f"{base}/messages/{msg['id']}", json={"text": "исправлено"}),
        await api.as_(owner).post(f"{base}/messages/{msg['id']}/reactions", json={"emoji": "👍"}),
        await api.as_(owner).post(f"{base}/messages/{msg['id']}/pin"),
        await api.as_(owner).post(f"{base}/members", json={"user_ids": [newcomer.id]}),
        await api.as_(newcomer).post(f"/api/v1/invites/{invite['token']}/join"),
    ]
    assert [(r.status_code, error_code(r)) for r in refused] == [(403, "chat_archived")] * len(refused)
    assert refused[0].json()["error"]["reason"] == "chat_archived"

    history = (await api.as_(pupil).get(f"{base}/messages")).json()["messages"]
    assert [m["text"] for m in history] == ["Где найти учебник?"]
    found = (await api.as_(pupil).get("/api/v1/search", params={"q": "учебник"})).json()["messages"]
    assert [m["id"] for m in found] == [msg["id"]]
    assert (await send(api, pupil, new["id"])).status_code == 201


async def test_the_moment_closes_the_chat_before_the_scheduler_runs(api: Api, make: Factory) -> None:
    owner, pupil = await make.users(2)
    chat = await make.chat(owner, [pupil])
    since = await api.as_(pupil).last_event_id()
    at = (utcnow() + timedelta(hours=1)).isoformat()
    planned = await api.as_(owner).put(url(chat["id"]), json={"at": at})
    assert planned.status_code == 200 and planned.json()["is_archived"] is False
    assert (await send(api, pupil, chat["id"])).status_code == 201

    clock.travel(timedelta(hours=2))
    refused = await send(api, pupil, chat["id"])
    assert (refused.status_code, error_code(refused)) == (403, "chat_archived")
    assert (await api.as_(pupil).get(f"/api/v1/chats/{chat['id']}")).json()["is_archived"] is True

    assert await run_scheduler(api) == 1
    assert await run_scheduler(api) == 0
    seen = types(await api.as_(pupil).sync(since), chat["id"])
    assert seen == ["chat.updated", "message.created", "chat.archived"]


async def test_cancel_before_the_moment(api: Api, make: Factory) -> None:
    owner, pupil = await make.users(2)
    chat = await make.chat(owner, [pupil])
    since = await api.as_(pupil).last_event_id()
    at = (utcnow() + timedelta(days=3)).isoformat()
    assert (await api.as_(owner).put(url(chat["id"]), json={"at": at})).status_code == 200
    cancelled = await api.as_(owner).delete(url(chat["id"]))
    assert cancelled.status_code == 200 and "archive_at" not in cancelled.json()
    again = await api.as_(owner).delete(url(chat["id"]))
    assert again.status_code == 200
    got = [e for e in await api.as_(pupil).sync(since) if e["type"] == "chat.updated"]
    assert [e["data"]["archive_at"] for e in got] == [planned_at(at), None]

    clock.travel(timedelta(days=4))
    assert await run_scheduler(api) == 0
    assert (await send(api, pupil, chat["id"])).status_code == 201
    assert "archive_at" not in (await api.as_(pupil).get(f"/api/v1/chats/{chat['id']}")).json()


def planned_at(at: str) -> str:
    return datetime.fromisoformat(at).isoformat().replace("+00:00", "Z")


async def test_too_late_to_cancel_or_replan(api: Api, make: Factory) -> None:
    owner, pupil = await make.users(2)
    chat = await make.chat(owner, [pupil])
    at = (utcnow() + timedelta(hours=1)).isoformat()
    assert (await api.as_(owner).put(url(chat["id"]), json={"at": at})).status_code == 200
    clock.travel(timedelta(hours=2))
    late = [await api.as_(owner).delete(url(chat["id"])), await api.as_(owner).put(url(chat["id"]), json={})]
    assert [(r.status_code, error_code(r)) for r in late] == [(403, "chat_archived")] * 2


# -- who may ------------------------------------------------------------------------------------------


async def test_who_may_archive(api: Api, make: Factory, orgs: OrgFactory) -> None:
    owner, pupil, outsider = await make.users(3)
    chat = await make.chat(owner, [pupil])
    hidden = await api.as_(outsider).put(url(chat["id"]), json={})
    assert (hidden.status_code, error_code(hidden)) == (404, "chat_not_found")
    member = await api.as_(pupil).put(url(chat["id"]), json={})
    assert (member.status_code, error_code(member), member.json()["error"]["reason"]) == (
        403,
        "forbidden",
        "not_chat_admin",
    )
    assert (await api.as_(pupil).delete(url(chat["id"]))).status_code == 403
    direct = (await api.as_(owner).post("/api/v1/chats/direct", json={"user_id": pupil.id})).json()
    refused = await api.as_(owner).put(url(direct["id"]), json={})
    assert (refused.status_code, refused.json()["error"]["reason"]) == (403, "direct_chat")

    # A school's class chat: its admins (not members of it) may; a student in it may not.
    school = await orgs.school()
    klass = await orgs.klass(school)
    student = await orgs.add(school, "student", class_id=klass["id"])
    teacher = await orgs.add(school, "teacher")
    as_student = await api.as_(student).put(url(klass["chat_id"]), json={})
    assert (as_student.status_code, error_code(as_student)) == (403, "forbidden")
    as_teacher = await api.as_(teacher).put(url(klass["chat_id"]), json={})
    assert (as_teacher.status_code, error_code(as_teacher)) == (404, "chat_not_found")
    at = f"{NEXT_YEAR}-08-25T09:00"
    assert (await api.as_(school.admin).put(url(klass["chat_id"]), json={"at": at})).status_code == 200


async def test_archive_schedule_of_an_org(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    first, second = await class_chat(orgs, school, "5А"), await class_chat(orgs, school, "6Б")
    admin = api.as_(school.admin)
    assert (await admin.put(url(second), json={"at": f"{NEXT_YEAR}-08-25T09:00"})).status_code == 200
    assert (await admin.put(url(first), json={"at": f"{NEXT_YEAR}-08-24T18:00"})).status_code == 200
    schedule = (await admin.get(f"/api/v1/orgs/{school.id}/archive-schedule")).json()
    assert schedule["timezone"] == "Europe/Moscow"
    assert [(c["chat_id"], c["archive_at_local"], c["purpose"]) for c in schedule["chats"]] == [
        (first, f"{NEXT_YEAR}-08-24T18:00+03:00", "class"),
        (second, f"{NEXT_YEAR}-08-25T09:00+03:00", "class"),
    ]
    teacher, outsider = await orgs.add(school, "teacher"), await make.user()
    denied = await api.as_(teacher).get(f"/api/v1/orgs/{school.id}/archive-schedule")
    assert (denied.status_code, error_code(denied)) == (403, "forbidden")
    hidden = await api.as_(outsider).get(f"/api/v1/orgs/{school.id}/archive-schedule")
    assert (hidden.status_code, error_code(hidden)) == (404, "org_not_found")


# -- bad input ----------------------------------------------------------------------------------------


async def test_bad_moments_and_successors(api: Api, make: Factory) -> None:
    owner, pupil, stranger = await make.users(3)
    chat = await make.chat(owner, [pupil])
    elsewhere = await make.chat(stranger, title="Чужой чат")
    closed = await make.chat(owner, title="Закрытый")
    assert (await api.as_(owner).put(url(closed["id"]), json={})).status_code == 200

    def answer(r: httpx.Response) -> tuple[int, str, str | None]:
        return r.status_code, error_code(r), r.json()["error"].get("field")

    put = api.as_(owner).put
    assert answer(await put(url(chat["id"]), json={"at": "2001-09-01T08:30"})) == (
        400,
        "invalid_request",
        "at",
    )
    assert answer(await put(url(chat["id"]), json={"at": "завтра"})) == (400, "invalid_request", "at")
    far = f"{NEXT_YEAR + 5}-01-01T00:00"
    assert answer(await put(url(chat["id"]), json={"at": far})) == (400, "invalid_request", "at")
    assert answer(await put(url(chat["id"]), json={"successor_chat_id": chat["id"]})) == (
        400,
        "invalid_request",
        "successor_chat_id",
    )
    assert answer(await put(url(chat["id"]), json={"successor_chat_id": elsewhere["id"]})) == (
        404,
        "chat_not_found",
        "successor_chat_id",
    )
    assert answer(await put(url(chat["id"]), json={"successor_chat_id": closed["id"]})) == (
        400,
        "invalid_request",
        "successor_chat_id",
    )
    assert answer(await put(url(closed["id"]), json={})) == (403, "chat_archived", None)
    assert (await api.as_(owner).get(f"/api/v1/chats/{chat['id']}")).json().get("archive_at") is None


# -- once: restarts, concurrent claims, live clients, processes ---------------------------------------


async def test_plan_survives_a_restart(database_url: str, tmp_path: Path) -> None:
    async with Api.start(database_url=database_url, data_dir=tmp_path / "data") as first:
        make = Factory(first)
        owner, pupil = await make.users(2)
        chat = await make.chat(owner, [pupil])
        at = (utcnow() + timedelta(hours=1)).isoformat()
        assert (await first.as_(owner).put(url(chat["id"]), json={"at": at})).status_code == 200
        since = await first.as_(pupil).last_event_id()
    clock.travel(timedelta(hours=2))
    async with Api.start(database_url=database_url, data_dir=tmp_path / "data") as second:
        assert await run_scheduler(second) == 1
        assert types(await second.as_(pupil).sync(since), chat["id"]) == ["chat.archived"]


async def test_concurrent_claims_archive_once(api: Api, make: Factory, database_url: str) -> None:
    owner, pupil = await make.users(2)
    chats = [await make.chat(owner, [pupil], title=f"Чат {i}") for i in range(3)]
    since = await api.as_(pupil).last_event_id()
    at = (utcnow() + timedelta(minutes=5)).isoformat()
    for chat in chats:
        assert (await api.as_(owner).put(url(chat["id"]), json={"at": at})).status_code == 200
    clock.travel(timedelta(minutes=10))
    # Two "processes": separate engines, each trying every chat at the same time.
    first, second = Database(database_url, Bus()), Database(database_url, Bus())
    try:
        for chat in chats:
            async with first.session() as a, second.session() as b:
                won = await asyncio.gather(
                    apply_archive(a, chat["id"], utcnow()), apply_archive(b, chat["id"], utcnow())
                )
            assert sorted(won) == [False, True]
    finally:
        await first.dispose()
        await second.dispose()
    archived = [e["chat_id"] for e in await api.as_(pupil).sync(since) if e["type"] == "chat.archived"]
    assert archived == [c["id"] for c in chats]


async def test_moment_passing_while_connected(database_url: str, tmp_path: Path) -> None:
    async with live_server(
        database_url=database_url, data_dir=tmp_path / "data", scheduler_poll_seconds=0.05
    ) as live:
        make = Factory(live)
        owner, pupil = await make.users(2)
        chat = await make.chat(owner, [pupil])
        msg = await make.message(owner, chat["id"], "Последнее объявление")
        at = (utcnow() + timedelta(hours=1)).isoformat()
        assert (await live.as_(owner).put(url(chat["id"]), json={"at": at})).status_code == 200
        ws = await open_ws(live, pupil)
        clock.travel(timedelta(hours=2))
        [event] = await events(ws, 1)
        assert (event["type"], event["chat_id"]) == ("chat.archived", chat["id"])
        refused = await send(live, pupil, chat["id"])
        assert (refused.status_code, error_code(refused)) == (403, "chat_archived")
        history = (await live.as_(pupil).get(f"/api/v1/chats/{chat['id']}/messages")).json()["messages"]
        assert [m["id"] for m in history] == [msg["id"]]
        await ws.close()


async def test_two_server_processes_archive_once(pg_database_url: str, tmp_path: Path) -> None:
    env = {"PARTA_SCHEDULER_POLL_SECONDS": "0.05", "PARTA_SECRET_KEY": "archiving-test"}
    a = ServerProcess(pg_database_url, tmp_path / "a", **env)
    b = ServerProcess(pg_database_url, tmp_path / "b", **env)
    try:
        await a.start()
        await b.start()
        chat_ids = await _planned_chats(a, count=10)
        dsn = pg_database_url.replace("+asyncpg", "")
        conn = await asyncpg.connect(dsn)
        try:
            # Time passes for both processes at once: every plan becomes due together.
            await conn.execute(
                "UPDATE chats SET archive_at = now() - interval '1 minute' WHERE id = ANY($1::bigint[])",
                chat_ids,
            )
            await _wait_archived(conn, chat_ids)
            await _wait_both_polled(a, b)
            rows = await conn.fetch(
                "SELECT chat_id, count(*) AS n FROM events WHERE type = 'chat.archived' GROUP BY chat_id"
            )
        finally:
            await conn.close()
        assert {r["chat_id"]: r["n"] for r in rows} == dict.fromkeys(chat_ids, 1)
    finally:
        await a.kill()
        await b.kill()


async def _planned_chats(server: ServerProcess, *, count: int) -> list[int]:
    _, token = await server.sign_up("+79125550301", "Анна")
    headers = {"Authorization": f"Bearer {token}"}
    at = (utcnow() + timedelta(days=1)).isoformat()
    ids = []
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        for i in range(count):
            chat = await client.post(
                "/api/v1/chats", json={"kind": "group", "title": f"Чат {i}"}, headers=headers
            )
            ids.append(int(chat.json()["id"]))
            planned = await client.put(url(ids[-1]), json={"at": at}, headers=headers)
            assert planned.status_code == 200, planned.text
    return ids


async def _wait_archived(conn: asyncpg.Connection, chat_ids: list[int]) -> None:
    remaining = len(chat_ids)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a guard against a hang, not a speed assertion
    while remaining:
        assert loop.time() < deadline, "chats were not archived"
        await asyncio.sleep(0.05)
        remaining = await conn.fetchval(
            "SELECT count(*) FROM chats WHERE id = ANY($1::bigint[]) AND archived_at IS NULL", chat_ids
        )


async def _wait_both_polled(a: ServerProcess, b: ServerProcess) -> None:
    """Both processes still serve after the claims, and each has polled several more
    times (every 50 ms), so a second ``chat.archived`` would be in the log by now."""
    for server in (a, b):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            assert (await client.get("/api/v1/health")).status_code == 200
    await asyncio.sleep(0.3)  # lets more polls happen; nothing is asserted about speed
