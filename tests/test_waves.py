"""Migration waves: operators plan them, watch progress (JSON, CSV, CLI) and remind
the admins of lagging organizations, at most once a day each."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from parta import clock
from parta.cli import app as cli
from parta.clock import utcnow
from tests.client import Api, Factory, TestUser, error_code, new_phone
from tests.org_factory import OrgFactory, School

WAVES = "/api/v1/operator/waves"
TODAY = utcnow().date()


def wave_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Школы Москвы и Свердловской области",
        "org_kinds": ["school"],
        "regions": ["77", "66"],
        "starts_at": (TODAY - timedelta(days=1)).isoformat(),
    } | overrides


async def plan(api: Api, operator: TestUser, **overrides: Any) -> dict[str, Any]:
    response = await api.as_(operator).post(WAVES, json=wave_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def progress(api: Api, operator: TestUser, wave_id: int) -> dict[str, Any]:
    response = await api.as_(operator).get(f"{WAVES}/{wave_id}/progress")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_org(body: dict[str, Any]) -> dict[int, tuple[bool, int, int]]:
    return {o["org_id"]: (o["is_started"], o["joined"], o["pending"]) for o in body["orgs"]}


async def test_operator_plans_edits_and_deletes_a_wave(api: Api, orgs: OrgFactory) -> None:
    operator = await orgs.operator()
    wave = await plan(api, operator, ends_at=(TODAY + timedelta(days=30)).isoformat())
    assert wave["regions"] == ["77", "66"] and wave["org_kinds"] == ["school"]
    op = api.as_(operator)
    changed = await op.patch(f"{WAVES}/{wave['id']}", json={"name": "Школы", "ends_at": None})
    assert (
        changed.status_code == 200 and changed.json()["name"] == "Школы" and "ends_at" not in changed.json()
    )
    later = await plan(
        api, operator, name="Колледжи", org_kinds=["college"], starts_at=str(TODAY + timedelta(7))
    )
    listed = (await op.get(WAVES)).json()["waves"]
    assert [w["id"] for w in listed] == [wave["id"], later["id"]]
    assert (await op.delete(f"{WAVES}/{wave['id']}")).status_code == 204
    gone = await op.get(f"{WAVES}/{wave['id']}")
    assert (gone.status_code, error_code(gone)) == (404, "wave_not_found")
    missing = await op.patch(f"{WAVES}/{wave['id']}", json={"name": "X"})
    assert (missing.status_code, error_code(missing)) == (404, "wave_not_found")


async def test_bad_wave_input_names_the_field(api: Api, orgs: OrgFactory) -> None:
    operator = await orgs.operator()
    op = api.as_(operator)
    cases: dict[str, dict[str, Any]] = {
        "org_kinds": {"org_kinds": ["university"]},
        "regions": {"regions": ["99"]},
        "name": {"name": "  "},
        "ends_at": {"ends_at": (TODAY - timedelta(days=5)).isoformat()},
        "starts_at": {"starts_at": "25.08.2025"},
    }
    for field, change in cases.items():
        response = await op.post(WAVES, json=wave_body(**change))
        got = (response.status_code, error_code(response), response.json()["error"].get("field"))
        assert got == (400, "invalid_request", field), (field, response.text)
    wave = await plan(api, operator)
    emptied = await op.patch(f"{WAVES}/{wave['id']}", json={"org_kinds": []})
    assert (emptied.status_code, emptied.json()["error"]["field"]) == (400, "org_kinds")
    reminders = await op.post(f"{WAVES}/{wave['id']}/reminders", json={"min_joined_share": 1.5})
    assert (reminders.status_code, reminders.json()["error"]["field"]) == (400, "min_joined_share")
    assert (await op.get(WAVES)).json()["waves"] == [wave]


async def test_only_operators_see_waves(api: Api, make: Factory, orgs: OrgFactory) -> None:
    operator = await orgs.operator()
    wave = await plan(api, operator)
    school = await orgs.school()
    for user in (school.admin, await make.user()):
        calls = [
            await api.as_(user).post(WAVES, json=wave_body()),
            await api.as_(user).get(WAVES),
            await api.as_(user).patch(f"{WAVES}/{wave['id']}", json={"name": "Захват"}),
            await api.as_(user).get(f"{WAVES}/{wave['id']}/progress"),
            await api.as_(user).post(f"{WAVES}/{wave['id']}/reminders", json={}),
            await api.as_(user).delete(f"{WAVES}/{wave['id']}"),
            await api.as_(user).get(f"{WAVES}/{10**9}"),  # no probing of ids either
        ]
        assert {(r.status_code, error_code(r), r.json()["error"]["reason"]) for r in calls} == {
            (403, "forbidden", "not_operator")
        }
    assert (await api.as_(operator).get(WAVES)).json()["waves"] == [wave]


async def _schools(orgs: OrgFactory) -> tuple[School, School, School, School]:
    moscow = await orgs.school()
    ural = await orgs.school(full_name="МАОУ «Лицей № 3»", short_name="Лицей № 3", region="66")
    kindergarten = await orgs.school(
        kind="kindergarten", full_name="МБДОУ «Детский сад № 7»", short_name="Сад № 7"
    )
    elsewhere = await orgs.school(full_name="МОУ «СОШ № 9»", short_name="СОШ № 9", region="50")
    return moscow, ural, kindergarten, elsewhere


async def test_progress_counts_people_as_they_join(api: Api, make: Factory, orgs: OrgFactory) -> None:
    operator = await orgs.operator()
    # A kindergarten and a school in region 50 exist too: outside the wave.
    moscow, ural, _, _ = await _schools(orgs)
    wave = await plan(api, operator)
    before = await progress(api, operator, wave["id"])
    assert by_org(before) == {moscow.id: (False, 1, 0), ural.id: (False, 1, 0)}
    assert (before["totals"]["orgs"], before["totals"]["orgs_started"]) == (2, 0)

    phones = [(await orgs.add_pending(moscow, "student"))[0] for _ in range(3)]
    await orgs.add(moscow, "teacher")
    klass = await orgs.klass(moscow)
    await api.as_(moscow.admin).put(f"/api/v1/chats/{klass['chat_id']}/archive", json={})
    at = f"{TODAY.year + 1}-08-25T09:00"
    await api.as_(moscow.admin).put(f"/api/v1/chats/{klass['parents_chat_id']}/archive", json={"at": at})
    await make.user(phone=phones[0])  # the first sign-in activates the pending membership

    after = await progress(api, operator, wave["id"])
    assert by_org(after) == {moscow.id: (True, 3, 2), ural.id: (False, 1, 0)}
    row = next(o for o in after["orgs"] if o["org_id"] == moscow.id)
    assert (row["chats_archived"], row["chats_scheduled"], row["joined_share"]) == (1, 1, 0.6)
    assert after["totals"] == {
        "orgs": 2,
        "orgs_started": 1,
        "joined": 4,
        "pending": 2,
        "joined_share": round(4 / 6, 4),
        "chats_archived": 1,
        "chats_scheduled": 1,
    }
    regions = {r["region"]: (r["orgs"], r["joined"], r["pending"]) for r in after["regions"]}
    assert regions == {"66": (1, 1, 0), "77": (1, 3, 2)}

    exported = await api.as_(operator).get(f"{WAVES}/{wave['id']}/progress", params={"format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
    assert [(r["org_id"], r["joined"], r["pending"], r["is_started"]) for r in rows] == [
        (str(ural.id), "1", "0", "0"),
        (str(moscow.id), "3", "2", "1"),
    ]


async def test_reminders_go_to_lagging_admins_once_a_day(api: Api, make: Factory, orgs: OrgFactory) -> None:
    operator = await orgs.operator()
    lagging, idle, _, _ = await _schools(orgs)
    on_track = await orgs.school(full_name="МБОУ «Гимназия № 5»", short_name="Гимназия № 5")
    deputy = await orgs.add(lagging, "additional_admin")
    teacher = await orgs.add(lagging, "teacher")
    for _ in range(4):
        await orgs.add_pending(lagging, "student")
    for _ in range(3):
        await orgs.add(on_track, "student")
    await orgs.add_pending(on_track, "student")
    wave = await plan(api, operator)
    people = (lagging.admin, deputy, teacher, idle.admin, on_track.admin)
    since = {p.id: await api.as_(p).last_event_id() for p in people}
    remind = f"{WAVES}/{wave['id']}/reminders"

    first = await api.as_(operator).post(remind, json={"min_joined_share": 0.5})
    assert first.status_code == 200, first.text
    assert first.json() == {
        "sent": sorted([lagging.id, idle.id]),
        "already_today": [],
        "on_track": 1,
        "not_started_yet": 0,
    }
    got = {
        p.id: [e for e in await api.as_(p).sync(since[p.id]) if e["type"] == "notice.reminder"]
        for p in people
    }
    assert [len(got[p.id]) for p in people] == [1, 1, 0, 1, 0]
    notice = got[lagging.admin.id][0]["data"]
    assert (notice["org_id"], notice["wave_id"], notice["joined"], notice["pending"]) == (
        lagging.id,
        wave["id"],
        3,
        4,
    )
    assert notice["text"]

    again = (await api.as_(operator).post(remind, json={"min_joined_share": 0.5})).json()
    assert (again["sent"], again["already_today"]) == ([], sorted([lagging.id, idle.id]))
    clock.travel(timedelta(hours=25))
    next_day = (await api.as_(operator).post(remind, json={"min_joined_share": 0.5})).json()
    assert next_day["sent"] == sorted([lagging.id, idle.id])


async def test_no_reminders_before_the_wave_starts(api: Api, orgs: OrgFactory) -> None:
    operator = await orgs.operator()
    await _schools(orgs)
    wave = await plan(api, operator, starts_at=(TODAY + timedelta(days=10)).isoformat())
    answer = (await api.as_(operator).post(f"{WAVES}/{wave['id']}/reminders", json={})).json()
    assert answer == {"sent": [], "already_today": [], "on_track": 0, "not_started_yet": 2}


def test_cli_plans_lists_shows_progress_and_reminds(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"PARTA_DATABASE_URL": database_url, "PARTA_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    refused = runner.invoke(cli, ["wave", "list"], env=env)
    assert refused.exit_code == 1
    run("admin", "create-operator", new_phone())
    starts = (date.today() - timedelta(days=1)).isoformat()
    out = run(
        "wave",
        "plan",
        "--name",
        "Школы Москвы",
        "--kinds",
        "school",
        "--regions",
        "77,50",
        "--starts",
        starts,
    )
    assert "Wave 1 planned" in out
    assert "Школы Москвы" in run("wave", "list")
    assert "total" in run("wave", "progress", "1")
    assert "Reminded: 0" in run("wave", "remind", "1")
    bad = runner.invoke(cli, ["wave", "plan", "--name", "X", "--kinds", "zoo", "--starts", starts], env=env)
    assert bad.exit_code == 1
