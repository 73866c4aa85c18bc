"""Reconciliation: who the roster and the manifests listed, who has joined since, who is
still pending, who had no phone; as JSON, as CSV for Excel, and from the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from parta import cli
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School

ROSTER = (
    "ФИО;Роль;Класс;Телефон\n"
    "Вера Ёлкина;учитель;;+79165552001\n"  # has an account: joins at once
    "Пётр Ждунов;ученик;5А;+79165552002\n"  # pending until he signs in
    "Нина Безномерова;родитель;;\n"  # no phone
    "Игорь Кривой;ученик;5А;12-34\n"  # a phone that is no phone
)
MANIFEST = (
    "Чат;Телефон;Роль;ФИО\n"
    "5А Родители;+79165552001;администратор;Вера Ёлкина\n"  # joined
    "5А Родители;+79165552003;;Ольга Ждунова\n"  # pending
    "5А Родители;;;Без Телефона\n"  # unknown phone
    "5А Родители;+79165552004;директор;Роль Неизвестная\n"  # refused: not added
)
ZERO = {"listed": 0, "joined": 0, "pending": 0, "unknown_phone": 0, "not_added": 0}


async def _post(api: Api, school: School, path: str, data: str) -> dict[str, Any]:
    response = await api.as_(school.admin).post(
        f"/api/v1/orgs/{school.id}/{path}", files={"file": ("file.csv", data.encode())}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _migrated_school(api: Api, make: Factory, orgs: OrgFactory) -> tuple[School, TestUser, int]:
    school = await orgs.school()
    teacher = await make.user("Вера", "Ёлкина", phone="+79165552001")
    await _post(api, school, "roster", ROSTER)
    chat_id = (await _post(api, school, "chat-manifests", MANIFEST))["chats"][0]["chat_id"]
    return school, teacher, chat_id


async def _report(api: Api, user: TestUser, school: School, **params: str) -> Any:
    return await api.as_(user).get(f"/api/v1/orgs/{school.id}/migration/report", params=params)


def _counts(**counts: int) -> dict[str, int]:
    return ZERO | counts


async def test_the_report_counts_each_status_before_and_after_sign_ins(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school, _, chat_id = await _migrated_school(api, make, orgs)

    before = (await _report(api, school.admin, school)).json()

    assert before["roster"] == _counts(listed=4, joined=1, pending=1, unknown_phone=2)
    [chat] = before["chats"]
    assert chat["chat_id"] == chat_id and chat["title"] == "5А Родители" and chat["member_count"] == 2
    assert chat["counts"] == _counts(listed=4, joined=1, pending=1, unknown_phone=1, not_added=1)
    assert before["totals"] == _counts(listed=8, joined=2, pending=2, unknown_phone=3, not_added=1)

    await make.user("Пётр", "Ждунов", phone="+79165552002")
    await make.user("Ольга", "Ждунова", phone="+79165552003")
    after = (await _report(api, school.admin, school)).json()

    assert after["roster"] == _counts(listed=4, joined=2, unknown_phone=2)
    assert after["chats"][0]["counts"] == _counts(listed=4, joined=2, unknown_phone=1, not_added=1)
    assert after["totals"] == _counts(listed=8, joined=4, unknown_phone=3, not_added=1)


async def test_importing_the_same_files_again_lists_nobody_twice(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school, _, _ = await _migrated_school(api, make, orgs)
    before = (await _report(api, school.admin, school)).json()

    await _post(api, school, "roster", ROSTER)
    await _post(api, school, "chat-manifests", MANIFEST)

    assert (await _report(api, school.admin, school)).json() == before


async def test_the_csv_opens_in_excel_and_parses_back(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school, _, _ = await _migrated_school(api, make, orgs)

    response = await _report(api, school.admin, school, format="csv")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Где", "Строка файла", "ФИО", "Телефон", "Роль", "Класс", "Статус"]
    assert [row[0] for row in rows[1:]] == ["Список организации"] * 4 + ["Чат «5А Родители»"] * 4
    by_name = {(row[0], row[2]): row for row in rows[1:]}
    assert by_name["Список организации", "Пётр Ждунов"] == [
        "Список организации", "3", "Пётр Ждунов", "+79165552002", "ученик", "5А", "ожидает",
    ]  # fmt: skip
    in_chat = {name: row for (where, name), row in by_name.items() if where.startswith("Чат")}
    assert in_chat["Без Телефона"][6] == "нет телефона" and in_chat["Роль Неизвестная"][6] == "не добавлен"
    assert by_name["Список организации", "Вера Ёлкина"][4:] == ["учитель", "", "присоединился"]
    assert in_chat["Вера Ёлкина"][4:] == ["администратор", "", "присоединился"]


async def test_a_chat_report_shows_people_with_phones_for_org_admins_only(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school, teacher, chat_id = await _migrated_school(api, make, orgs)
    url = f"/api/v1/orgs/{school.id}/migration/report/chats/{chat_id}"

    as_admin = (await api.as_(school.admin).get(url)).json()
    as_chat_admin = await api.as_(teacher).get(url)

    assert as_admin["counts"] == _counts(listed=4, joined=1, pending=1, unknown_phone=1, not_added=1)
    people = {p["name"]: p for p in as_admin["people"]}
    assert (
        people["Ольга Ждунова"]["phone"] == "+79165552003" and people["Ольга Ждунова"]["status"] == "pending"
    )
    assert people["Без Телефона"]["status"] == "unknown_phone" and people["Без Телефона"]["line"] == 4
    assert as_chat_admin.status_code == 200, as_chat_admin.text
    assert [p.get("phone") for p in as_chat_admin.json()["people"]] == [None] * 4


async def test_wrong_users_get_404_or_403(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school, _, chat_id = await _migrated_school(api, make, orgs)
    other_teacher = await orgs.add(school, "teacher")
    outsider = await make.user()
    chat_url = f"/api/v1/orgs/{school.id}/migration/report/chats/{chat_id}"
    class_chat = (await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/classes")).json()["classes"][0]

    assert error_code(await _report(api, outsider, school)) == "org_not_found"
    assert error_code(await _report(api, other_teacher, school)) == "forbidden"
    assert error_code(await _report(api, other_teacher, school, format="csv")) == "forbidden"
    assert error_code(await api.as_(outsider).get(chat_url)) == "org_not_found"
    assert error_code(await api.as_(other_teacher).get(chat_url)) == "forbidden"
    not_migrated = f"/api/v1/orgs/{school.id}/migration/report/chats/{class_chat['chat_id']}"
    assert error_code(await api.as_(school.admin).get(not_migrated)) == "chat_not_found"
    bad_format = await _report(api, school.admin, school, format="xml")
    assert error_code(bad_format) == "invalid_request"


async def test_an_org_without_migration_files_has_an_empty_report(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    body = (await _report(api, school.admin, school)).json()
    assert body == {"org_id": school.id, "totals": ZERO, "roster": ZERO, "chats": []}


async def test_cli_prints_the_report_and_writes_the_csv(
    api: Api, make: Factory, orgs: OrgFactory, tmp_path: Path
) -> None:
    school, _, _ = await _migrated_school(api, make, orgs)
    path = tmp_path / "report.csv"
    env = {"PARTA_DATABASE_URL": api.settings.database_url, "PARTA_DATA_DIR": str(api.data_dir)}
    args = ["migration", "report", "--org", str(school.id), "--csv", str(path)]

    result = await asyncio.to_thread(CliRunner().invoke, cli.app, args, env=env)

    assert result.exit_code == 0, result.output
    assert "Родители" in result.output and "total" in result.output
    assert len(path.read_bytes().decode("utf-8-sig").splitlines()) == 9
