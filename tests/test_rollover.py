"""The yearly rollover through the API: a demo school (5А, 7Б, 11А) moves up a grade,
graduates' chats go to the archive, parents follow their children, leaving students
stay behind; preview equals the run; per-class runs; undo within the grace period;
the scheduled moment runs it once (restarts, two server processes); admins only."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from parta import clock, policy
from parta.clock import utcnow
from parta.policy import OrgRole
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School
from tests.servers import ServerProcess, plain_url

NEXT_YEAR = utcnow().year + 1
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Demo:
    school: School
    classes: dict[str, dict[str, Any]]
    teacher: TestUser
    students: dict[str, TestUser]  # "5А", "5А-leaving", "7Б", "11А"
    parents: dict[str, TestUser]  # "5А", "11А"

    def member(self, key: str) -> int:
        return self.school.member_id(self.students[key])


async def demo_school(api: Api, orgs: OrgFactory) -> Demo:
    school = await orgs.school()
    classes = {name: await orgs.klass(school, name) for name in ("5А", "7Б", "11А")}
    teacher = await orgs.add(school, "teacher")
    await orgs.teach(school, classes["5А"]["id"], teacher)
    homeroom = await api.as_(school.admin).patch(
        f"/api/v1/orgs/{school.id}/classes/{classes['5А']['id']}",
        json={"homeroom_member_id": school.member_id(teacher)},
    )
    assert homeroom.status_code == 200, homeroom.text
    students = {
        key: await orgs.add(school, "student", class_id=classes[key.split("-")[0]]["id"])
        for key in ("5А", "5А-leaving", "7Б", "11А")
    }
    parents = {key: await orgs.add(school, "parent") for key in ("5А", "11А")}
    for key, parent in parents.items():
        await orgs.link(school, parent, students[key])
    return Demo(school, classes, teacher, students, parents)


def base(demo: Demo) -> str:
    return f"/api/v1/orgs/{demo.school.id}"


async def plan(api: Api, demo: Demo, **body: Any) -> dict[str, Any]:
    response = await api.as_(demo.school.admin).post(
        f"{base(demo)}/rollovers", json={"at": f"{NEXT_YEAR}-09-01T08:00"} | body
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def run_now(api: Api, demo: Demo, rollover_id: int) -> dict[str, Any]:
    response = await api.as_(demo.school.admin).post(f"{base(demo)}/rollovers/{rollover_id}/run")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def open_classes(api: Api, demo: Demo) -> dict[str, dict[str, Any]]:
    listed = (await api.as_(demo.school.admin).get(f"{base(demo)}/classes")).json()["classes"]
    return {c["name"]: c for c in listed}


async def chat(api: Api, viewer: TestUser, chat_id: int) -> dict[str, Any]:
    response = await api.as_(viewer).get(f"/api/v1/chats/{chat_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def without_run_fields(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k not in ("new_class_id", "new_chat_ids")} for s in steps]


@pytest.mark.parametrize(
    ("role", "has_grades", "expected"),
    [
        (OrgRole.admin, True, "ok"),
        (OrgRole.additional_admin, True, "ok"),
        (OrgRole.admin, False, "no_grades"),
        (OrgRole.teacher, True, "not_org_admin"),
        (None, True, "not_member"),
    ],
)
def test_rollover_policy(role: OrgRole | None, has_grades: bool, expected: str) -> None:
    assert policy.can_roll_over(role, has_grades=has_grades).reason == expected


@pytest.mark.parametrize(
    ("status", "within", "expected"),
    [("done", True, "ok"), ("done", False, "undo_expired"), ("undone", True, "rollover_not_done")],
)
def test_undo_policy(status: str, within: bool, expected: str) -> None:
    assert policy.can_undo_rollover(status, within_grace=within).reason == expected


# -- the full rollover ------------------------------------------------------------------------------


async def test_full_rollover_of_a_demo_school(api: Api, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    admin = api.as_(demo.school.admin)
    old = demo.classes
    leaving = demo.member("5А-leaving")
    since = {who: await api.as_(u).last_event_id() for who, u in (("teacher", demo.teacher),)}
    planned = await plan(api, demo, leaving_member_ids=[leaving])
    assert planned["status"] == "planned" and planned["run_at_local"] == f"{NEXT_YEAR}-09-01T08:00+03:00"
    preview = (await admin.get(f"{base(demo)}/rollovers/{planned['id']}/preview")).json()["classes"]
    assert [(s["name"], s["outcome"], s.get("new_name")) for s in preview] == [
        ("5А", "promoted", "6А"),
        ("7Б", "promoted", "8Б"),
        ("11А", "graduated", None),
    ]
    assert preview[0]["moving_member_ids"] == [demo.member("5А")]
    assert preview[0]["leaving_member_ids"] == [leaving]
    assert preview[2]["graduating_member_ids"] == [demo.member("11А")]
    assert preview[0]["archived_chat_ids"] == [old["5А"]["chat_id"], old["5А"]["parents_chat_id"]]

    done = await run_now(api, demo, planned["id"])
    assert done["status"] == "done" and done["undo_until"]
    assert without_run_fields(done["classes"]) == preview  # the preview is what ran
    label = done["from_year"]["label"]

    now_open = await open_classes(api, demo)
    assert sorted(now_open) == ["6А", "8Б"]
    six = now_open["6А"]
    assert six["homeroom_member_id"] == demo.school.member_id(demo.teacher)
    assert six["teacher_member_ids"] == [demo.school.member_id(demo.teacher)]
    # Class chat and parents' chat of 6А: the teacher kept, the child moved, the parent followed.
    assert await orgs.chat_member_ids(demo.teacher, six["chat_id"]) == {
        demo.teacher.id,
        demo.students["5А"].id,
    }
    assert await orgs.chat_member_ids(demo.teacher, six["parents_chat_id"]) == {
        demo.teacher.id,
        demo.parents["5А"].id,
    }
    # Last year's chats: read-only, marked with the year, pointing at their successors.
    old_chat = await chat(api, demo.students["5А"], old["5А"]["chat_id"])
    assert old_chat["is_archived"] and old_chat["successor_chat_id"] == six["chat_id"]
    assert old_chat["title"] == f"5А класс · {label}"
    old_parents = await chat(api, demo.parents["5А"], old["5А"]["parents_chat_id"])
    assert old_parents["successor_chat_id"] == six["parents_chat_id"]
    graduates = await chat(api, demo.students["11А"], old["11А"]["chat_id"])
    assert graduates["is_archived"] and "successor_chat_id" not in graduates
    # The leaving student is in no new chat, and has no class.
    assert demo.students["5А-leaving"].id not in await orgs.chat_member_ids(demo.teacher, six["chat_id"])
    members = (await admin.get(f"{base(demo)}/members")).json()["members"]
    by_id = {m["member_id"]: m for m in members}
    assert "class_id" not in by_id[leaving]
    assert by_id[demo.member("5А")]["class_id"] == six["id"]
    assert by_id[demo.member("11А")]["class_id"] == old["11А"]["id"]  # graduates keep their closed class

    notices = [
        e for e in await api.as_(demo.teacher).sync(since["teacher"]) if e["type"] == "notice.rollover"
    ]
    assert [(n["data"]["audience"], n["data"]["new_class_name"]) for n in notices] == [("teacher", "6А")]
    for who, audience in (("5А", "student"), ("11А", "student")):
        got = [e for e in await api.as_(demo.students[who]).sync(0) if e["type"] == "notice.rollover"]
        assert [n["data"]["audience"] for n in got] == [audience]
    parent_notice = [e for e in await api.as_(demo.parents["5А"]).sync(0) if e["type"] == "notice.rollover"]
    assert "6А" in parent_notice[0]["data"]["text"]
    gone = [e for e in await api.as_(demo.students["5А-leaving"]).sync(0) if e["type"] == "notice.rollover"]
    assert [n["data"]["audience"] for n in gone] == ["leaving"]
    admin_events = [e["type"] for e in await admin.sync(0) if e["type"].startswith("rollover.")]
    assert admin_events == ["rollover.planned", "rollover.done"]
    audit = [e["action"] for e in (await admin.get(f"{base(demo)}/audit")).json()["entries"]]
    assert "rollover.done" in audit and "rollover.planned" in audit

    again = await admin.post(f"{base(demo)}/rollovers/{planned['id']}/run")
    assert (again.status_code, again.json()["error"]["reason"]) == (403, "rollover_not_planned")


async def test_new_classes_after_the_rollover_join_the_new_year(api: Api, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    done = await run_now(api, demo, (await plan(api, demo))["id"])
    await orgs.klass(demo.school, "5А")  # last year's 5А is closed: the name is free again
    years = (await api.as_(demo.school.admin).get(f"{base(demo)}/school-years")).json()
    assert years["current_year_id"] == done["to_year"]["id"]
    counts = {y["id"]: y["class_count"] for y in years["years"]}
    assert counts[done["to_year"]["id"]] == 3  # 5А (new), 6А, 8Б


# -- per class, skipping ----------------------------------------------------------------------------


async def test_per_class_runs(api: Api, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    first = await run_now(api, demo, (await plan(api, demo, class_ids=[demo.classes["7Б"]["id"]]))["id"])
    assert [(s["name"], s["outcome"]) for s in first["classes"]] == [("7Б", "promoted")]
    assert sorted(await open_classes(api, demo)) == ["11А", "5А", "8Б"]
    rest = await plan(api, demo)
    assert rest["from_year"] == first["from_year"]  # the classes still in last year
    second = await run_now(api, demo, rest["id"])
    assert [(s["name"], s["outcome"]) for s in second["classes"]] == [
        ("5А", "promoted"),
        ("11А", "graduated"),
    ]
    assert sorted(await open_classes(api, demo)) == ["6А", "8Б"]


async def test_a_class_whose_new_name_stays_taken_is_skipped(api: Api, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    await orgs.klass(demo.school, "6А")
    only = await plan(api, demo, class_ids=[demo.classes["5А"]["id"]])
    done = await run_now(api, demo, only["id"])
    assert [(s["outcome"], s["reason"]) for s in done["classes"]] == [("skipped", "name_taken")]
    assert sorted(await open_classes(api, demo)) == ["11А", "5А", "6А", "7Б"]
    # All at once, 6А → 7А and 7Б → 8Б free the way: nothing is skipped.
    everything = await run_now(api, demo, (await plan(api, demo))["id"])
    assert [s["outcome"] for s in everything["classes"]] == ["promoted", "promoted", "promoted", "graduated"]
    assert sorted(await open_classes(api, demo)) == ["6А", "7А", "8Б"]


# -- undo -----------------------------------------------------------------------------------------------


async def test_undo_restores_exactly_and_only_within_the_grace_period(api: Api, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    admin = api.as_(demo.school.admin)
    before_classes = await open_classes(api, demo)
    before_members = (await admin.get(f"{base(demo)}/members")).json()
    old = demo.classes["5А"]
    before_chat = await orgs.chat_member_ids(demo.teacher, old["chat_id"])
    rollover = await plan(api, demo, leaving_member_ids=[demo.member("5А-leaving")])
    done = await run_now(api, demo, rollover["id"])
    new_chat = done["classes"][0]["new_chat_ids"][0]

    undone = await admin.post(f"{base(demo)}/rollovers/{rollover['id']}/undo")
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "undone"
    assert await open_classes(api, demo) == before_classes
    assert (await admin.get(f"{base(demo)}/members")).json() == before_members
    restored = await chat(api, demo.students["5А"], old["chat_id"])
    assert restored["title"] == "5А класс" and not restored.get("is_archived")
    assert await orgs.chat_member_ids(demo.teacher, old["chat_id"]) == before_chat
    assert (await chat(api, demo.teacher, new_chat))["successor_chat_id"] == old["chat_id"]
    notices = [e for e in await api.as_(demo.parents["5А"]).sync(0) if e["type"] == "notice.rollover_undone"]
    assert len(notices) == 1

    twice = await admin.post(f"{base(demo)}/rollovers/{rollover['id']}/undo")
    assert (twice.status_code, twice.json()["error"]["reason"]) == (403, "rollover_not_done")
    late = await run_now(api, demo, (await plan(api, demo))["id"])
    clock.travel(timedelta(hours=73))
    expired = await admin.post(f"{base(demo)}/rollovers/{late['id']}/undo")
    assert (expired.status_code, expired.json()["error"]["reason"]) == (403, "undo_expired")


async def test_cancel_a_planned_rollover(api: Api, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    rollover = await plan(api, demo)
    cancelled = await api.as_(demo.school.admin).delete(f"{base(demo)}/rollovers/{rollover['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    clock.travel(timedelta(days=800))
    assert (await api.app.state.scheduler.run_due())["year.rollover"] == 0


# -- the moment: once, across restarts and processes -----------------------------------------------


async def test_scheduled_moment_runs_once(api: Api, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    at = (utcnow() + timedelta(hours=1)).isoformat()
    rollover = await plan(api, demo, at=at)
    assert (await api.app.state.scheduler.run_due())["year.rollover"] == 0
    clock.travel(timedelta(hours=2))
    assert (await api.app.state.scheduler.run_due())["year.rollover"] == 1
    assert (await api.app.state.scheduler.run_due())["year.rollover"] == 0
    got = (await api.as_(demo.school.admin).get(f"{base(demo)}/rollovers/{rollover['id']}")).json()
    assert got["status"] == "done" and len(got["classes"]) == 3


async def test_plan_survives_a_restart(database_url: str, tmp_path: Path) -> None:
    async with Api.start(database_url=database_url, data_dir=tmp_path / "data") as first:
        demo = await demo_school(first, OrgFactory(first, Factory(first)))
        rollover = await plan(first, demo, at=(utcnow() + timedelta(hours=1)).isoformat())
    clock.travel(timedelta(hours=2))
    async with Api.start(database_url=database_url, data_dir=tmp_path / "data") as second:
        assert (await second.app.state.scheduler.run_due())["year.rollover"] == 1
        got = (await second.as_(demo.school.admin).get(f"{base(demo)}/rollovers/{rollover['id']}")).json()
        assert got["status"] == "done"


async def test_two_server_processes_run_it_once(pg_database_url: str, tmp_path: Path) -> None:
    async with Api.start(database_url=pg_database_url, data_dir=tmp_path / "data") as setup:
        demo = await demo_school(setup, OrgFactory(setup, Factory(setup)))
        rollover = await plan(setup, demo, at=(utcnow() + timedelta(days=1)).isoformat())
    env = {"PARTA_SCHEDULER_POLL_SECONDS": "0.05", "PARTA_SECRET_KEY": "rollover-test"}
    a = ServerProcess(pg_database_url, tmp_path / "a", **env)
    b = ServerProcess(pg_database_url, tmp_path / "b", **env)
    conn = await asyncpg.connect(pg_database_url.replace("+asyncpg", ""))
    try:
        await a.start()
        await b.start()
        # The moment comes for both processes at once.
        await conn.execute(
            "UPDATE rollovers SET run_at = now() - interval '1 minute' WHERE id = $1", rollover["id"]
        )
        await _wait_done(conn, rollover["id"])
        for server in (a, b):
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                assert (await client.get("/api/v1/health")).status_code == 200
        await asyncio.sleep(0.3)  # more polls of both; a second run would have left rows by now
        done = await conn.fetchval("SELECT count(*) FROM events WHERE type = 'rollover.done'")
        records = await conn.fetchval("SELECT count(*) FROM rollover_classes")
        new_classes = await conn.fetchval("SELECT count(*) FROM class_groups WHERE name IN ('6А', '8Б')")
        archived = await conn.fetchval("SELECT count(*) FROM events WHERE type = 'chat.archived'")
    finally:
        await conn.close()
        await a.kill()
        await b.kill()
    assert (done, records, new_classes, archived) == (1, 3, 2, 6)  # one admin; 3 classes × 2 chats


async def _wait_done(conn: asyncpg.Connection, rollover_id: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a guard against a hang, not a speed assertion
    while await conn.fetchval("SELECT status FROM rollovers WHERE id = $1", rollover_id) != "done":
        assert loop.time() < deadline, "the rollover did not run"
        await asyncio.sleep(0.05)


# -- who may, bad input ----------------------------------------------------------------------------


async def test_every_step_is_refused_to_non_admins(api: Api, make: Factory, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    rollover = await plan(api, demo)
    outsider = await make.user()
    url = f"{base(demo)}/rollovers"
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", url, {"json": {}}),
        ("POST", f"{url}/preview", {"json": {}}),
        ("GET", url, {}),
        ("GET", f"{url}/{rollover['id']}/preview", {}),
        ("POST", f"{url}/{rollover['id']}/run", {}),
        ("POST", f"{url}/{rollover['id']}/undo", {}),
        ("DELETE", f"{url}/{rollover['id']}", {}),
    ]
    for method, target, kwargs in calls:
        for user in (demo.teacher, demo.students["5А"], demo.parents["5А"]):
            refused = await api.as_(user).request(method, target, **kwargs)
            assert (refused.status_code, error_code(refused)) == (403, "forbidden"), (method, target)
        hidden = await api.as_(outsider).request(method, target, **kwargs)
        assert (hidden.status_code, error_code(hidden)) == (404, "org_not_found"), (method, target)
    got = (await api.as_(demo.school.admin).get(f"{url}/{rollover['id']}")).json()
    assert got["status"] == "planned"


async def test_bad_plans(api: Api, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    admin = api.as_(demo.school.admin)
    url = f"{base(demo)}/rollovers"
    group = await orgs.klass(demo.school, "Хор", kind="group")

    async def answer(body: dict[str, Any]) -> tuple[int, str, str | None]:
        r = await admin.post(url, json=body)
        return r.status_code, error_code(r), r.json()["error"].get("field")

    assert await answer({"at": "2001-09-01T08:00"}) == (400, "invalid_request", "at")
    assert await answer({"at": f"{NEXT_YEAR + 5}-09-01T08:00"}) == (400, "invalid_request", "at")
    assert await answer({"class_ids": [10**9]}) == (400, "invalid_request", "class_ids")
    assert await answer({"class_ids": [group["id"]]}) == (400, "invalid_request", "class_ids")
    teacher_member = demo.school.member_id(demo.teacher)
    assert await answer({"leaving_member_ids": [teacher_member]}) == (
        400,
        "invalid_request",
        "leaving_member_ids",
    )
    assert await answer({"undo_hours": 0}) == (400, "invalid_request", "undo_hours")
    assert await answer({"extra": 1}) == (400, "invalid_request", "extra")
    missing = await admin.get(f"{url}/{10**9}")
    assert (missing.status_code, error_code(missing)) == (404, "rollover_not_found")
    assert (await admin.get(url)).json()["rollovers"] == []


async def test_kindergartens_have_no_rollover(api: Api, orgs: OrgFactory) -> None:
    garden = await orgs.school(kind="kindergarten", full_name="МБДОУ «Детский сад № 7»", short_name="Сад № 7")
    refused = await api.as_(garden.admin).post(f"/api/v1/orgs/{garden.id}/rollovers", json={})
    assert (refused.status_code, refused.json()["error"]["reason"]) == (403, "no_grades")


async def test_dry_preview_before_planning(api: Api, orgs: OrgFactory) -> None:
    demo = await demo_school(api, orgs)
    dry = await api.as_(demo.school.admin).post(
        f"{base(demo)}/rollovers/preview", json={"class_ids": [demo.classes["11А"]["id"]]}
    )
    assert dry.status_code == 200, dry.text
    assert [(s["name"], s["outcome"]) for s in dry.json()["classes"]] == [("11А", "graduated")]
    assert (await api.as_(demo.school.admin).get(f"{base(demo)}/rollovers")).json()["rollovers"] == []


async def test_cli_plan_preview_run_undo(database_url: str, tmp_path: Path) -> None:
    async with Api.start(database_url=database_url, data_dir=tmp_path / "data") as setup:
        demo = await demo_school(setup, OrgFactory(setup, Factory(setup)))
    env = os.environ | {
        "PARTA_DATABASE_URL": plain_url(database_url),
        "PARTA_DATA_DIR": str(tmp_path / "data"),
    }

    async def parta(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "parta", "year", *args, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, out.decode()
        return out.decode()

    planned = await parta(
        "plan", "--org", str(demo.school.id), "--at", f"{NEXT_YEAR}-09-01 08:00", "--classes", "7б,5-а"
    )
    rollover_id = planned.split("Rollover ", 1)[1].split(":", 1)[0]
    assert "planned" in planned and "8Б" in planned and "11А" not in planned
    assert "planned" in await parta("preview", rollover_id)
    assert "done" in await parta("run", rollover_id, "--now")
    assert "undone" in await parta("undo", rollover_id)
