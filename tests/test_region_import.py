"""Region import: many schools' people in one streamed CSV, from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from parta import cli
from parta.orgs.validation import inn_is_valid
from tests.client import Api, Factory, TestUser


def valid_inn(prefix: str) -> str:
    """A 10-digit organization INN with a correct control digit."""
    return next(inn for d in "0123456789" if inn_is_valid(inn := prefix + d))


async def _region(api: Api, path: Path, operator: TestUser, *extra: str) -> Result:
    args = ["import", "region", str(path), "--as-phone", operator.phone, "--region", "77", *extra]
    env = {"PARTA_DATABASE_URL": api.settings.database_url, "PARTA_DATA_DIR": str(api.data_dir)}
    return await asyncio.to_thread(CliRunner().invoke, cli.app, args, env=env)


async def _orgs(api: Api, user: TestUser) -> dict[str, dict[str, Any]]:
    response = await api.as_(user).get("/api/v1/orgs")
    assert response.status_code == 200, response.text
    return {o["short_name"]: o for o in response.json()["orgs"]}


async def _members(api: Api, user: TestUser, org_id: int) -> dict[str, dict[str, Any]]:
    response = await api.as_(user).get(f"/api/v1/orgs/{org_id}/members")
    assert response.status_code == 200, response.text
    return {m["name"]: m for m in response.json()["members"]}


async def test_a_region_file_makes_schools_with_their_people_and_runs_again_safely(
    api: Api, make: Factory, tmp_path: Path
) -> None:
    coordinator = await make.user("Ирина", "Координаторова")
    inn = valid_inn("770100001")
    path = tmp_path / "region.csv"
    path.write_text(
        "Организация;ИНН;ФИО;Роль;Класс;Телефон\n"
        f"Школа № 5;{inn};Антон Первый;ученик;5А;+79165553001\n"
        f"Школа № 5;{inn};Белла Вторая;учитель;;+79165553002\n"
        "Лицей № 7;;Вадим Третий;ученик;8Б;+79165553003\n"
        "Лицей № 7;;Галя Плохая;ученик;8Б;123\n"
        ";;Дмитрий Ничей;ученик;;+79165553005\n"
        f"Школа № 5;{inn};Ева Поздняя;родитель;;+79165553006\n",  # the school's rows again, later
        encoding="cp1251",
    )

    first = await _region(api, path, coordinator)

    assert first.exit_code == 0, first.output
    schools = await _orgs(api, coordinator)
    assert set(schools) == {"Школа № 5", "Лицей № 7"}
    school = await _members(api, coordinator, schools["Школа № 5"]["id"])
    assert {"Антон Первый", "Белла Вторая", "Ева Поздняя"} <= set(school)
    assert school["Антон Первый"]["status"] == "pending"
    assert "Вадим Третий" in await _members(api, coordinator, schools["Лицей № 7"]["id"])
    assert "line 5" in first.output and "line 6" in first.output  # a bad phone, no organization

    again = await _region(api, path, coordinator)

    assert again.exit_code == 0, again.output
    assert await _orgs(api, coordinator) == schools
    assert await _members(api, coordinator, schools["Школа № 5"]["id"]) == school


async def test_a_file_without_an_organization_column_is_refused(
    api: Api, make: Factory, tmp_path: Path
) -> None:
    coordinator = await make.user("Ирина", "Координаторова")
    path = tmp_path / "region.csv"
    path.write_text("ФИО;Роль;Телефон\nАнтон Первый;ученик;+79165553101\n", encoding="utf-8")

    result = await _region(api, path, coordinator)

    assert result.exit_code == 1
    assert await _orgs(api, coordinator) == {}
