"""The batched roster import (``parta.migration.bulk``) against the row-by-row actions:
the same members, classes, links, chats, audit entries and events; its fallback to the
actions when a batch meets something unusual; an interrupted import finished by a rerun."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from parta.db.tables import AuditEntry, ChatMember, ClassGroup, User
from parta.migration import bulk, roster
from parta.migration.roster import RosterReport
from tests.client import Api, Factory, TestUser
from tests.org_factory import OrgFactory, School

HEADER = "ФИО;Роль;Класс;Телефон;Ребёнок"
ROWS = [
    "Вера Учителева;учитель;;+79165559001;",  # has an account
    "Саша Первый;ученик;5А;+79165559003;",  # has an account: the class chat
    "Дима Второй;ученик;5А;+79165559004;",
    "Женя Третий;ученик;5Б;+79165559005;",
    "Зоя Четвёртая;ученик;6А;+79165559006;",
    "Павел Первый;родитель;;+79165559002;+79165559003",  # has an account: the parents' chat
    "Полина Вторая;родитель;;+79165559007;Дима Второй",
    "Пётр Третий;родитель;;+79165559008;+79165559005",
    "Пелагея Четвёртая;родитель;;+79165559009;+79165559006",
    "Плохой Номер;ученик;5А;12-34;",
    "Ада Помощникова;администратор;;+79165559010;",
    "Дима Второй;ученик;5А;+7 916 555-90-04;",  # the same phone again
    "Роза Чужая;родитель;;+79165559011;Никто Никтов",
    "Степан Завхозов;сотрудник;;+79165559012;",
]


def _file(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 3 rows, so a short file has several and a ragged last one."""
    monkeypatch.setattr(roster, "BATCHED", dataclasses.replace(roster.BATCHED, batch=3))


async def _accounts(make: Factory) -> list[TestUser]:
    return [
        await make.user("Вера", "Учителева", phone="+79165559001"),
        await make.user("Павел", "Первый", phone="+79165559002"),
        await make.user("Саша", "Первый", phone="+79165559003"),
    ]


async def _run(api: Api, school: School, data: bytes, *, batched: bool) -> RosterReport:
    run = roster.import_rows if batched else roster.import_rows_by_actions
    async with api.app.state.services.database.session() as db:
        actor = await db.get(User, school.admin.id)
        assert actor is not None
        return await run(db, actor, school.id, lambda: roster.read_roster(data))


async def _members(api: Api, school: School) -> dict[str, tuple[Any, ...]]:
    response = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/members")
    assert response.status_code == 200, response.text
    people = response.json()["members"]
    names = {m["member_id"]: m["name"] for m in people}
    classes = {c["id"]: c["name"] for c in await _class_list(api, school)}
    return {
        m["name"]: (
            m["role"],
            m["status"],
            m.get("user_id"),
            classes.get(m.get("class_id")),
            sorted(names[c] for c in m.get("children", [])),
        )
        for m in people
    }


async def _class_list(api: Api, school: School) -> list[dict[str, Any]]:
    response = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/classes")
    assert response.status_code == 200, response.text
    classes: list[dict[str, Any]] = response.json()["classes"]
    return classes


async def _chats(api: Api, school: School) -> dict[tuple[str, str], dict[int, str]]:
    """(class, chat) -> user id -> chat role, read from the database."""
    found: dict[tuple[str, str], dict[int, str]] = {}
    async with api.app.state.services.database.session() as db:
        rows = await db.execute(select(ClassGroup).where(ClassGroup.org_id == school.id))
        for cls in rows.scalars():
            for purpose, chat_id in (("class", cls.chat_id), ("parents", cls.parents_chat_id)):
                members = await db.execute(select(ChatMember).where(ChatMember.chat_id == chat_id))
                found[(cls.name, purpose)] = {m.user_id: m.role for m in members.scalars()}
    return found


async def _audit(api: Api, school: School) -> Counter[tuple[str, str]]:
    async with api.app.state.services.database.session() as db:
        rows = await db.execute(select(AuditEntry).where(AuditEntry.org_id == school.id))
        return Counter((e.action, str(sorted((e.details or {}).keys()))) for e in rows.scalars())


def _news(events: list[dict[str, Any]], org_id: int) -> tuple[Counter[str], set[int]]:
    """Org event types about this school, and the users its chats heard of joining."""
    types: Counter[str] = Counter()
    joined: set[int] = set()
    for event in events:
        data = event["data"]
        if event["type"] == "chat.member_added":
            joined |= {u["id"] for u in data["users"]}
        elif data.get("org_id") == org_id:
            types[event["type"]] += 1
    return types, joined


async def test_batches_end_as_the_actions_do(
    api: Api, make: Factory, orgs: OrgFactory, small_batches: None
) -> None:
    await _accounts(make)
    by_batches = await orgs.school()
    by_actions = await orgs.school(admin=by_batches.admin, short_name="Школа № 2")
    admin, data = by_batches.admin, _file(ROWS)

    start = await api.as_(admin).last_event_id()
    batched = await _run(api, by_batches, data, batched=True)
    middle = await api.as_(admin).last_event_id()
    reference = await _run(api, by_actions, data, batched=False)
    end = await api.as_(admin).last_event_id()

    assert batched == reference
    assert batched.summary() == {
        "created": 3,  # the accounts: through the actions, with the safe-mode checks
        "pending": 8,
        "existing": 0,
        "rejected": 3,
        "classes_created": 3,
        "parents_linked": 4,
    }
    assert await _members(api, by_batches) == await _members(api, by_actions)
    assert await _chats(api, by_batches) == await _chats(api, by_actions)
    assert await _audit(api, by_batches) == await _audit(api, by_actions)
    events = await api.as_(admin).sync(start)
    first = [e for e in events if e["id"] <= middle]
    second = [e for e in events if middle < e["id"] <= end]
    assert _news(first, by_batches.id) == _news(second, by_actions.id)


async def test_a_second_run_of_a_batched_import_changes_nothing(
    api: Api, make: Factory, orgs: OrgFactory, small_batches: None
) -> None:
    await _accounts(make)
    school = await orgs.school()
    await _run(api, school, _file(ROWS), batched=True)
    people, chats = await _members(api, school), await _chats(api, school)
    since = await api.as_(school.admin).last_event_id()

    again = await _run(api, school, _file(ROWS), batched=True)

    assert again.summary() == {
        "created": 0,
        "pending": 0,
        "existing": 11,
        "rejected": 3,
        "classes_created": 0,
        "parents_linked": 0,
    }
    assert await _members(api, school) == people and await _chats(api, school) == chats
    assert [e["type"] for e in await api.as_(school.admin).sync(since)] == []


async def test_an_interrupted_import_is_finished_by_running_it_again(
    api: Api, make: Factory, orgs: OrgFactory, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _accounts(make)
    interrupted = await orgs.school()
    whole = await orgs.school(admin=interrupted.admin, short_name="Школа № 2")
    real = bulk.add_people
    calls = 0

    async def crash_on_third(*args: Any) -> bulk.Added:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the server went down")
        return await real(*args)

    monkeypatch.setattr(bulk, "add_people", crash_on_third)
    with pytest.raises(RuntimeError):
        await _run(api, interrupted, _file(ROWS), batched=True)
    monkeypatch.setattr(bulk, "add_people", real)
    kept = await _members(api, interrupted)
    assert 1 < len(kept) < 12  # the admin and the first batches

    finished = await _run(api, interrupted, _file(ROWS), batched=True)
    await _run(api, whole, _file(ROWS), batched=True)

    assert finished.summary()["existing"] == len(kept) - 1
    assert await _members(api, interrupted) == await _members(api, whole)
    assert await _chats(api, interrupted) == await _chats(api, whole)


async def test_a_batch_meeting_a_row_added_meanwhile_goes_through_the_actions(
    api: Api, orgs: OrgFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = await orgs.school()
    response = await api.as_(school.admin).post(
        f"/api/v1/orgs/{school.id}/members", json={"phone": "+79165559005", "role": "student"}
    )
    assert response.status_code in (200, 201), response.text

    async def blind(*_: Any) -> set[str]:
        return set()  # as if the member had not been there when the batch looked

    monkeypatch.setattr(bulk, "_member_phones", blind)
    monkeypatch.setattr(roster, "_members_by_phone", _without_members(roster._members_by_phone))

    report = await _run(api, school, _file(ROWS[2:5]), batched=True)

    assert report.summary() == {
        "created": 0,
        "pending": 2,
        "existing": 1,  # the unique phone refused the batch; the action said "conflict"
        "rejected": 0,
        "classes_created": 3,
        "parents_linked": 0,
    }
    names = set(await _members(api, school))
    assert {"Дима Второй", "Зоя Четвёртая"} <= names and len(names) == 4


def _without_members(real: Any) -> Any:
    """``roster._members_by_phone`` that sees nobody the first time (the plan's look)."""
    calls = 0

    async def first_call_sees_nobody(*args: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {} if calls == 1 else dict(await real(*args))

    return first_call_sees_nobody


async def test_a_chat_hears_one_member_added_per_batch(api: Api, make: Factory, orgs: OrgFactory) -> None:
    parents = [await make.user("Родитель", f"Номер{i}", phone=f"+7916555980{i}") for i in range(3)]
    school = await orgs.school()
    rows = [f"Ребёнок Номер{i};ученик;2А;+7916555990{i};" for i in range(3)]
    rows += [f"Родитель Номер{i};родитель;;+7916555980{i};+7916555990{i}" for i in range(3)]
    await _run(api, school, _file(rows), batched=True)
    [klass] = await _class_list(api, school)

    since = 0
    events = await api.as_(parents[0]).sync(since)

    added = [
        e for e in events if e["type"] == "chat.member_added" and e["chat_id"] == klass["parents_chat_id"]
    ]
    assert len(added) == 1
    assert {u["id"] for u in added[0]["data"]["users"]} == {p.id for p in parents}


async def test_the_file_is_read_off_the_event_loop_and_outside_any_transaction(
    api: Api, orgs: OrgFactory
) -> None:
    """A hostile workbook within the limits takes about 1.5 s of CPU to read. Read on the
    event loop inside the import's write transaction, it stalled every other request of
    the process, and on SQLite held the only writer, for that long."""
    school = await orgs.school()
    seen: dict[str, Any] = {}
    async with api.app.state.services.database.session() as db:
        actor = await db.get(User, school.admin.id)
        assert actor is not None

        def read() -> list[Any]:
            seen["thread"] = threading.current_thread()
            seen["in_transaction"] = db.in_transaction()
            return roster.read_roster(_file(["Анна Читаева;ученик;3Б;+79165559501;"]))

        report = await roster.import_rows(db, actor, school.id, read)
    assert seen["thread"] is not threading.main_thread()
    assert seen["in_transaction"] is False
    assert report.pending == 1  # and the import itself is unchanged
