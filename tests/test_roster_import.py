"""Roster import: a school's list of people from CSV or XLSX, through the API and the CLI."""

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

FIXTURES = Path(__file__).parent / "fixtures" / "roster"
HEADER = ["ФИО", "Роль", "Класс", "Телефон", "Ребёнок"]


def _url(school: School | int) -> str:
    return f"/api/v1/orgs/{school if isinstance(school, int) else school.id}/roster"


async def _upload(
    api: Api,
    user: TestUser,
    school: School | int,
    data: bytes,
    *,
    name: str = "roster.csv",
    dry_run: bool = False,
) -> Any:
    params = {"dry_run": "true"} if dry_run else {}
    return await api.as_(user).post(_url(school), files={"file": (name, data)}, params=params)


async def _import(api: Api, school: School, data: bytes, **kwargs: Any) -> dict[str, Any]:
    response = await _upload(api, school.admin, school, data, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _csv(rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8") -> bytes:
    lines = [delimiter.join(HEADER)] + [delimiter.join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Full name", "Role", "Class", "Phone", "Child"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _members(api: Api, school: School) -> dict[str, dict[str, Any]]:
    response = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/members")
    assert response.status_code == 200, response.text
    return {m["name"]: m for m in response.json()["members"]}


async def _classes(api: Api, school: School) -> dict[str, dict[str, Any]]:
    response = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/classes")
    assert response.status_code == 200, response.text
    return {c["name"]: c for c in response.json()["classes"]}


def _summary(**counts: int) -> dict[str, int]:
    zero = dict.fromkeys(
        ("created", "pending", "existing", "rejected", "classes_created", "parents_linked"), 0
    )
    return zero | counts


# --- Formats -----------------------------------------------------------------------


async def test_admin_imports_a_utf8_bom_semicolon_file_and_a_second_run_changes_nothing(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await make.user("Вера", "Ёлкина", phone="+79165550101")
    data = (FIXTURES / "school_utf8_bom.csv").read_bytes()

    body = await _import(api, school, data)

    assert body == {
        "summary": _summary(created=1, pending=5, classes_created=1, parents_linked=2),
        "rejected": [],
        "rows": 6,
    }
    people = await _members(api, school)
    assert people["Вера Ёлкина"]["user_id"] == teacher.id  # an account shows its own name
    assert people["Иванов Пётр"]["status"] == "pending" and people["Кузнецова Нина"]["role"] == "staff"
    klass = (await _classes(api, school))["5А"]
    assert people["Иванов Пётр"]["class_id"] == people["Смирнова Алиса"]["class_id"] == klass["id"]
    assert people["Иванова Ольга"]["children"] == [people["Иванов Пётр"]["member_id"]]
    assert people["Смирнов Игорь"]["children"] == [people["Смирнова Алиса"]["member_id"]]

    again = await _import(api, school, data)
    assert again["summary"] == _summary(existing=6)
    assert await _members(api, school) == people


async def test_admin_imports_a_cp1251_comma_file(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    data = _csv(
        [["Сидоров Илья", "Ученик", "7б", "+7 916 555-02-01", ""], ["Сидорова Ёлка", "Родитель", "", "", ""]],
        delimiter=",",
        encoding="cp1251",
    )

    body = await _import(api, school, data)

    assert body["summary"] == _summary(pending=1, rejected=1, classes_created=1)
    assert body["rejected"] == [{"line": 3, "reason": body["rejected"][0]["reason"]}]
    assert "телефон" in body["rejected"][0]["reason"]
    assert "7Б" in await _classes(api, school)


async def test_admin_imports_an_xlsx_sheet_with_numeric_phones(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    data = _xlsx(
        [
            ["Петров Олег", "student", "10 В", 79165550301, None],
            ["Петрова Анна", "parent", None, "+7 916 555-03-02", "Петров Олег"],
            ["Орлов Максим", "teacher", None, "89165550303", None],
        ]
    )

    body = await _import(api, school, data, name="roster.xlsx")

    assert body == {
        "summary": _summary(pending=3, classes_created=1, parents_linked=1),
        "rejected": [],
        "rows": 3,
    }
    people = await _members(api, school)
    assert people["Петрова Анна"]["children"] == [people["Петров Олег"]["member_id"]]
    assert people["Петров Олег"]["class_id"] == (await _classes(api, school))["10В"]["id"]


# --- Bad rows ------------------------------------------------------------------------


async def test_bad_rows_are_listed_with_their_lines_and_the_rest_imported(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    data = _csv(
        [
            ["Хорошая Мария", "ученик", "5А", "+79165550401", ""],  # line 2
            ["Плохой Телефон", "ученик", "5А", "12345", ""],  # 3
            ["Неизвестная Роль", "директор", "", "+79165550403", ""],  # 4
            ["Плохой Класс", "ученик", "13Я", "+79165550404", ""],  # 5
            ["", "учитель", "", "+79165550405", ""],  # 6: no name
            ["Чужой Родитель", "родитель", "", "+79165550406", "Никто Никтов"],  # 7
            ["Хорошая Мария", "ученик", "5А", "+7 916 555-04-01", ""],  # 8: duplicate of 2
            ["Родитель Номера", "родитель", "", "+79165550408", "+79165559999"],  # 9: child not a student
        ]
    )

    body = await _import(api, school, data)

    assert body["summary"] == _summary(pending=1, rejected=7, classes_created=1)
    assert [r["line"] for r in body["rejected"]] == [3, 4, 5, 6, 7, 8, 9]
    reasons = {r["line"]: r["reason"] for r in body["rejected"]}
    assert "телефон" in reasons[3] and "директор" in reasons[4] and "13Я" in reasons[5]
    assert "ФИО" in reasons[6] and "Никто Никтов" in reasons[7] and "строке 2" in reasons[8]
    assert set(await _members(api, school)) == {"Анна Директорова", "Хорошая Мария"}


async def test_a_file_without_the_needed_columns_is_refused(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    response = await _upload(api, school.admin, school, "Имя;Возраст\nВася;10\n".encode())
    assert response.status_code == 400 and response.json()["error"]["field"] == "file"
    assert error_code(await _upload(api, school.admin, school, b"")) == "file_empty"
    too_big = b"x" * (5 * 1024 * 1024 + 1)
    assert error_code(await _upload(api, school.admin, school, too_big)) == "file_too_large"


# --- Dry run, sign-in, rights ------------------------------------------------------------


async def test_dry_run_reports_the_plan_and_writes_nothing(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    await make.user("Вера", "Ёлкина", phone="+79165550101")
    data = (FIXTURES / "school_utf8_bom.csv").read_bytes()
    since = await api.as_(school.admin).last_event_id()

    body = await _import(api, school, data, dry_run=True)

    assert body["summary"] == _summary(created=1, pending=5, classes_created=1, parents_linked=2)
    assert set(await _members(api, school)) == {"Анна Директорова"}
    assert await _classes(api, school) == {}
    assert await api.as_(school.admin).sync(since) == []


async def test_a_pending_student_signing_in_lands_in_the_class_chat(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    await _import(api, school, _csv([["Новиков Лев", "ученик", "3В", "+79165550601", ""]]))

    student = await make.user("Лев", "Новиков", phone="+79165550601")

    chat_id = (await _classes(api, school))["3В"]["chat_id"]
    assert student.id in await orgs.chat_member_ids(student, chat_id)


async def test_a_teacher_may_not_import_and_an_outsider_does_not_see_the_org(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    outsider = await make.user()
    data = _csv([["Тихий Иван", "ученик", "5А", "+79165550701", ""]])

    assert error_code(await _upload(api, teacher, school, data)) == "forbidden"
    assert error_code(await _upload(api, outsider, school, data)) == "org_not_found"
    assert error_code(await _upload(api, outsider, school, data, dry_run=True)) == "org_not_found"
    assert set(await _members(api, school)) == {
        "Анна Директорова",
        f"{teacher.first_name} {teacher.last_name}",
    }


# --- Command line -------------------------------------------------------------------------


async def test_cli_imports_a_roster_with_dry_run_first(api: Api, orgs: OrgFactory, tmp_path: Path) -> None:
    school = await orgs.school()
    path = tmp_path / "roster.csv"
    path.write_bytes(
        _csv([["Белов Кирилл", "ученик", "6А", "+79165550801", ""], ["Без Телефона", "учитель", "", "", ""]])
    )

    dry = await _cli(api, "import", "roster", str(path), "--org", str(school.id), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "line 3" in dry.output and set(await _members(api, school)) == {"Анна Директорова"}

    done = await _cli(
        api, "import", "roster", str(path), "--org", str(school.id), "--as-phone", school.admin.phone
    )
    assert done.exit_code == 0, done.output
    assert "Белов Кирилл" in await _members(api, school)

    again = await _cli(api, "import", "roster", str(path), "--org", str(school.id))
    assert again.exit_code == 0 and "already there" in again.output
    missing = await _cli(api, "import", "roster", str(path), "--org", "999999")
    assert missing.exit_code == 1


async def _cli(api: Api, *args: str) -> Result:
    env = {"PARTA_DATABASE_URL": api.settings.database_url, "PARTA_DATA_DIR": str(api.data_dir)}
    return await asyncio.to_thread(CliRunner().invoke, cli.app, list(args), env=env)
