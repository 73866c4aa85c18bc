"""Chat membership manifests: legacy chats recreated with their people, through the API and the CLI."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import openpyxl
from typer.testing import CliRunner, Result

from parta import cli
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School
from tests.safety_world import years_ago

FIXTURES = Path(__file__).parent / "fixtures" / "manifests"
HEADER = ["Чат", "Телефон", "Роль", "ФИО"]


def _url(school: School) -> str:
    return f"/api/v1/orgs/{school.id}/chat-manifests"


def _csv(rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8") -> bytes:
    lines = [delimiter.join(HEADER)] + [delimiter.join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


async def _upload(
    api: Api, user: TestUser, school: School, data: bytes, *, name: str = "chats.csv", dry_run: bool = False
) -> Any:
    params = {"dry_run": "true"} if dry_run else {}
    return await api.as_(user).post(_url(school), files={"file": (name, data)}, params=params)


async def _import(api: Api, school: School, data: bytes, **kwargs: Any) -> dict[str, Any]:
    response = await _upload(api, school.admin, school, data, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _summary(**counts: int) -> dict[str, int]:
    return dict.fromkeys(("chats_created", "added", "pending", "existing", "rejected"), 0) | counts


async def _members(api: Api, viewer: TestUser, chat_id: int) -> dict[int, str]:
    response = await api.as_(viewer).get(f"/api/v1/chats/{chat_id}/members")
    assert response.status_code == 200, response.text
    return {m["id"]: m["role"] for m in response.json()["members"]}


async def _migrated(api: Api, school: School) -> dict[str, dict[str, Any]]:
    response = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/migrated-chats")
    assert response.status_code == 200, response.text
    return {c["title"]: c for c in response.json()["chats"]}


# --- Chats and members -----------------------------------------------------------------


async def test_a_manifest_makes_chats_with_members_and_a_second_run_changes_nothing(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await make.user("Вера", "Ёлкина", phone="+79165551001")
    parent = await make.user("Олег", "Папин", phone="+79165551002")
    data = (FIXTURES / "chats_utf8_bom.csv").read_bytes()

    body = await _import(api, school, data)

    assert body["summary"] == _summary(chats_created=2, added=3, pending=2)
    assert body["rejected"] == [] and body["rows"] == 5
    by_title = {c["title"]: c for c in body["chats"]}
    assert set(by_title) == {"5А Родители", "Кружок робототехники"}
    parents_chat = by_title["5А Родители"]
    assert parents_chat["is_new"] and parents_chat["invite"]["token"] in parents_chat["invite"]["url"]
    assert parents_chat["invite"]["text"].startswith("Мы переезжаем в Парту")
    assert await _members(api, school.admin, parents_chat["chat_id"]) == {
        school.admin.id: "owner",
        teacher.id: "admin",
        parent.id: "member",
    }
    club = by_title["Кружок робототехники"]["chat_id"]
    assert await _members(api, school.admin, club) == {school.admin.id: "owner", teacher.id: "member"}
    listed = await _migrated(api, school)
    assert listed["5А Родители"]["pending_count"] == 1 and listed["5А Родители"]["member_count"] == 3
    since = await api.as_(teacher).last_event_id()

    again = await _import(api, school, data)

    assert again["summary"] == _summary(existing=5)
    assert {c["chat_id"] for c in again["chats"]} == {parents_chat["chat_id"], club}
    assert all(c["invite"] is None and not c["is_new"] for c in again["chats"])
    assert await _migrated(api, school) == listed
    assert await api.as_(teacher).sync(since) == []


async def test_the_same_title_spelt_differently_is_one_chat(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    data = _csv([["5А  родители", "+79165551101", "", ""], ["5а Родители", "+79165551102", "", ""]])

    body = await _import(api, school, data)

    assert body["summary"] == _summary(chats_created=1, pending=2)
    assert len(await _migrated(api, school)) == 1


async def test_a_pending_person_signs_in_lands_in_the_chat_and_is_welcomed(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    body = await _import(api, school, _csv([["9Б Класс", "+79165551201", "администратор", "Лев Новиков"]]))
    chat_id = body["chats"][0]["chat_id"]

    newcomer = await make.user("Лев", "Новиков", phone="+79165551201")

    assert (await _members(api, school.admin, chat_id))[newcomer.id] == "admin"
    welcome = [e["data"] for e in await api.as_(newcomer).sync(0) if e["type"] == "notice.welcome"]
    assert len(welcome) == 1
    assert welcome[0]["chats"] == [{"id": chat_id, "title": "9Б Класс"}]
    assert (await _migrated(api, school))["9Б Класс"]["pending_count"] == 0


async def test_someone_in_the_roster_and_a_manifest_gets_one_welcome_listing_both(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    roster = "ФИО;Роль;Класс;Телефон\nСоня Клёнова;ученик;7В;+79165551301\n".encode()
    response = await api.as_(school.admin).post(
        f"/api/v1/orgs/{school.id}/roster", files={"file": ("roster.csv", roster)}
    )
    assert response.status_code == 200, response.text
    await _import(api, school, _csv([["Хор", "+79165551301", "", "Соня Клёнова"]]))

    student = await make.user("Соня", "Клёнова", phone="+79165551301")

    welcome = [e["data"] for e in await api.as_(student).sync(0) if e["type"] == "notice.welcome"]
    assert len(welcome) == 1
    assert {c["title"] for c in welcome[0]["chats"]} == {"7В класс", "Хор"}


# --- Bad rows and formats ----------------------------------------------------------------


async def test_bad_rows_are_listed_with_their_lines_and_the_rest_imported(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    data = _csv(
        [
            ["Родители 5А", "+79165551401", "", "Хорошая Мария"],  # line 2
            ["Родители 5А", "12345", "", "Плохой Телефон"],  # 3
            ["Родители 5А", "+79165551403", "директор", "Неизвестная Роль"],  # 4
            ["", "+79165551404", "", "Без Чата"],  # 5
            ["Родители 5А", "+7 916 555-14-01", "", "Повтор"],  # 6
            ["Родители 5А", "", "", "Без Телефона"],  # 7
        ]
    )

    body = await _import(api, school, data)

    assert body["summary"] == _summary(chats_created=1, pending=1, rejected=5)
    reasons = {r["line"]: r["reason"] for r in body["rejected"]}
    assert list(reasons) == [3, 4, 5, 6, 7]
    assert "телефон" in reasons[3].lower() and "директор" in reasons[4] and "чат" in reasons[5]
    assert "строке 2" in reasons[6] and "телефон" in reasons[7]


async def test_a_cp1251_comma_file_and_an_xlsx_sheet_are_read(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    cp1251 = _csv(
        [["Ёлочка", "8 (916) 555-15-01", "участник", "Ёжиков Ёж"]], delimiter=",", encoding="cp1251"
    )
    book = openpyxl.Workbook()
    book.active.append(["Chat", "Phone", "Role", "Name"])
    book.active.append(["Ёлочка", 79165551502, "owner", "Белкина Анна"])
    sheet = io.BytesIO()
    book.save(sheet)

    first = await _import(api, school, cp1251)
    second = await _import(api, school, sheet.getvalue(), name="chats.xlsx")

    assert first["summary"] == _summary(chats_created=1, pending=1)
    assert second["summary"] == _summary(pending=1)
    assert second["chats"][0]["chat_id"] == first["chats"][0]["chat_id"]


async def test_a_file_without_the_needed_columns_is_refused(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    response = await _upload(api, school.admin, school, "Название;Кто\nЧат;Вася\n".encode())
    assert error_code(response) == "invalid_request" and response.json()["error"]["field"] == "file"
    assert error_code(await _upload(api, school.admin, school, b"")) == "file_empty"


async def test_dry_run_reports_the_plan_and_writes_nothing(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    await make.user("Вера", "Ёлкина", phone="+79165551001")
    since = await api.as_(school.admin).last_event_id()

    body = await _import(api, school, (FIXTURES / "chats_utf8_bom.csv").read_bytes(), dry_run=True)

    assert body["summary"] == _summary(chats_created=2, added=2, pending=3)
    assert all(c["chat_id"] is None and c["invite"] is None for c in body["chats"])
    assert await _migrated(api, school) == {}
    assert await api.as_(school.admin).sync(since) == []


# --- Safe mode ------------------------------------------------------------------------------


async def _child(api: Api, make: Factory, phone: str) -> TestUser:
    child = await make.user("Миша", "Малышев", phone=phone)
    response = await api.as_(child).patch("/api/v1/me", json={"birth_date": years_ago(10).isoformat()})
    assert response.status_code == 200, response.text
    return child


async def test_a_child_in_safe_mode_is_added_only_by_a_school_in_the_childs_circle(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    child = await _child(api, make, "+79165551601")
    own_school = await orgs.school()
    await orgs.verify(own_school)
    await orgs.add(own_school, "student", child)
    stranger = await orgs.school(
        await make.user("Глеб", "Чужой"), full_name="Кружок «Чужой»", short_name="Чужой кружок"
    )
    data = _csv([["Шахматы", "+79165551601", "", "Миша Малышев"]])

    refused = await _import(api, stranger, data)
    accepted = await _import(api, own_school, data)

    assert refused["summary"] == _summary(chats_created=1, rejected=1)
    assert "безопасном режиме" in refused["rejected"][0]["reason"]
    assert child.id not in await _members(api, stranger.admin, refused["chats"][0]["chat_id"])
    assert accepted["summary"] == _summary(chats_created=1, added=1)
    assert child.id in await _members(api, own_school.admin, accepted["chats"][0]["chat_id"])
    dry = await _import(api, stranger, data, dry_run=True)
    assert dry["summary"] == _summary(rejected=1)


# --- Invite links --------------------------------------------------------------------------


async def test_an_invite_link_brings_in_someone_the_file_did_not_have(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    body = await _import(api, school, _csv([["Родители 1А", "", "", "Без Телефона"]]))
    chat_id = body["chats"][0]["chat_id"]
    url = f"/api/v1/orgs/{school.id}/migrated-chats/{chat_id}/invite"
    second_admin = await orgs.add(school, "additional_admin")

    made = await api.as_(second_admin).post(url)

    assert made.status_code == 201, made.text
    link = made.json()
    assert link["token"] in link["text"] and link["expires_at"]
    newcomer = await make.user("Павел", "Новый")
    joined = await api.as_(newcomer).post(f"/api/v1/invites/{link['token']}/join")
    assert joined.status_code == 200, joined.text
    assert newcomer.id in await _members(api, school.admin, chat_id)
    first_link = body["chats"][0]["invite"]["token"]
    another = await make.user("Ира", "Другая")
    assert (await api.as_(another).post(f"/api/v1/invites/{first_link}/join")).status_code == 200


async def test_only_the_orgs_admins_import_list_and_make_links(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    outsider = await make.user()
    data = _csv([["Родители 2Б", "+79165551801", "", ""]])
    chat_id = (await _import(api, school, data))["chats"][0]["chat_id"]
    other = await orgs.school(await make.user("Глеб", "Чужой"), short_name="Гимназия № 2")
    other_chat = (await _import(api, other, data))["chats"][0]["chat_id"]
    base = f"/api/v1/orgs/{school.id}"

    assert error_code(await _upload(api, teacher, school, data)) == "forbidden"
    assert error_code(await _upload(api, outsider, school, data)) == "org_not_found"
    assert error_code(await api.as_(teacher).get(f"{base}/migrated-chats")) == "forbidden"
    assert error_code(await api.as_(outsider).get(f"{base}/migrated-chats")) == "org_not_found"
    assert error_code(await api.as_(teacher).post(f"{base}/migrated-chats/{chat_id}/invite")) == "forbidden"
    invite_other = await api.as_(school.admin).post(f"{base}/migrated-chats/{other_chat}/invite")
    assert error_code(invite_other) == "chat_not_found"
    assert list(await _migrated(api, school)) == ["Родители 2Б"]


# --- Command line ---------------------------------------------------------------------------


async def test_cli_imports_chats_with_dry_run_first(api: Api, orgs: OrgFactory, tmp_path: Path) -> None:
    school = await orgs.school()
    path = tmp_path / "chats.csv"
    path.write_bytes(_csv([["Родители 6А", "+79165551901", "", "Белов Кирилл"], ["", "", "", "Никто"]]))

    dry = await _cli(api, "import", "chats", str(path), "--org", str(school.id), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "line 3" in dry.output and await _migrated(api, school) == {}

    done = await _cli(
        api, "import", "chats", str(path), "--org", str(school.id), "--as-phone", school.admin.phone
    )
    assert done.exit_code == 0, done.output
    assert "/join/" in done.output and "Родители 6А" in await _migrated(api, school)

    missing = await _cli(api, "import", "chats", str(path), "--org", "999999")
    assert missing.exit_code == 1


async def _cli(api: Api, *args: str) -> Result:
    env = {"PARTA_DATABASE_URL": api.settings.database_url, "PARTA_DATA_DIR": str(api.data_dir)}
    return await asyncio.to_thread(CliRunner().invoke, cli.app, list(args), env=env)
