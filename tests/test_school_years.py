"""School years: the current year of an organization, its own dates and last grade,
classes bound to a year; admins only."""

from __future__ import annotations

from datetime import date

import pytest

from parta.orgs.years import label, year_bounds
from tests.client import Api, Factory, error_code
from tests.org_factory import OrgFactory


@pytest.mark.parametrize(
    ("day", "starts", "ends", "expected"),
    [
        (date(2026, 3, 10), "09-01", "08-31", (date(2025, 9, 1), date(2026, 8, 31))),
        (date(2026, 9, 1), "09-01", "08-31", (date(2026, 9, 1), date(2027, 8, 31))),
        (date(2026, 7, 15), "09-01", "06-30", (date(2025, 9, 1), date(2026, 6, 30))),  # summer: last year
        (date(2026, 5, 5), "01-09", "12-25", (date(2026, 1, 9), date(2026, 12, 25))),
    ],
)
def test_year_bounds(day: date, starts: str, ends: str, expected: tuple[date, date]) -> None:
    assert year_bounds(day, starts, ends) == expected


def test_labels() -> None:
    assert label(date(2025, 9, 1), date(2026, 8, 31)) == "2025/26"
    assert label(date(2099, 9, 1), date(2100, 6, 30)) == "2099/00"
    assert label(date(2026, 1, 9), date(2026, 12, 25)) == "2026"


async def test_current_year_and_its_classes(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    await orgs.klass(school, "5А")
    await orgs.klass(school, "Хор", kind="group")  # groups belong to no year
    got = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/school-years")
    assert got.status_code == 200, got.text
    body = got.json()
    [year] = body["years"]
    assert year["is_current"] and year["id"] == body["current_year_id"]
    assert year["starts_on"].endswith("-09-01") and year["ends_on"].endswith("-08-31")
    assert year["class_count"] == 1
    assert body["settings"] == {
        "starts_on": "09-01",
        "ends_on": "08-31",
        "last_grade": 11,
        "is_custom_last_grade": False,
    }


async def test_settings_change_dates_and_last_grade(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    admin = api.as_(school.admin)
    url = f"/api/v1/orgs/{school.id}/school-year-settings"
    changed = await admin.patch(url, json={"ends_on": "06-30", "last_grade": 9})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "starts_on": "09-01",
        "ends_on": "06-30",
        "last_grade": 9,
        "is_custom_last_grade": True,
    }
    back = await admin.patch(url, json={"last_grade": None})
    assert back.json()["last_grade"] == 11 and back.json()["is_custom_last_grade"] is False
    audit = (await admin.get(f"/api/v1/orgs/{school.id}/audit")).json()["entries"]
    assert [e["action"] for e in audit][:2] == ["school_year.settings_updated"] * 2
    # A school with last grade 9 graduates its 9th grade.
    await admin.patch(url, json={"last_grade": 9})
    nine = await orgs.klass(school, "9А")
    dry = await admin.post(f"/api/v1/orgs/{school.id}/rollovers/preview", json={"class_ids": [nine["id"]]})
    assert [s["outcome"] for s in dry.json()["classes"]] == ["graduated"]


async def test_bad_settings(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    admin = api.as_(school.admin)
    url = f"/api/v1/orgs/{school.id}/school-year-settings"

    async def answer(body: dict[str, object]) -> tuple[int, str, str | None]:
        r = await admin.patch(url, json=body)
        return r.status_code, error_code(r), r.json()["error"].get("field")

    assert await answer({"starts_on": "13-01"}) == (400, "invalid_request", "starts_on")
    assert await answer({"ends_on": "02-30"}) == (400, "invalid_request", "ends_on")
    assert await answer({"starts_on": "1 сентября"}) == (400, "invalid_request", "starts_on")
    assert await answer({"starts_on": "08-31"}) == (400, "invalid_request", "ends_on")
    assert await answer({"last_grade": 12}) == (400, "invalid_request", "last_grade")
    garden = await orgs.school(kind="kindergarten", full_name="МБДОУ «Детский сад № 7»", short_name="Сад № 7")
    refused = await api.as_(garden.admin).patch(
        f"/api/v1/orgs/{garden.id}/school-year-settings", json={"last_grade": 3}
    )
    assert (refused.status_code, refused.json()["error"]["field"]) == (400, "last_grade")


async def test_college_graduates_after_the_fourth_course(api: Api, orgs: OrgFactory) -> None:
    college = await orgs.school(
        kind="college", full_name="ГБПОУ «Колледж связи № 54»", short_name="Колледж № 54"
    )
    first, fourth = await orgs.klass(college, "1А"), await orgs.klass(college, "4А")
    dry = await api.as_(college.admin).post(f"/api/v1/orgs/{college.id}/rollovers/preview", json={})
    assert dry.status_code == 200, dry.text
    assert [(s["class_id"], s["outcome"]) for s in dry.json()["classes"]] == [
        (first["id"], "promoted"),
        (fourth["id"], "graduated"),
    ]


async def test_only_admins_see_and_change_years(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    teacher, outsider = await orgs.add(school, "teacher"), await make.user()
    calls = [
        ("GET", f"/api/v1/orgs/{school.id}/school-years", {}),
        ("PATCH", f"/api/v1/orgs/{school.id}/school-year-settings", {"json": {"last_grade": 9}}),
    ]
    for method, target, kwargs in calls:
        refused = await api.as_(teacher).request(method, target, **kwargs)
        assert (refused.status_code, error_code(refused)) == (403, "forbidden")
        hidden = await api.as_(outsider).request(method, target, **kwargs)
        assert (hidden.status_code, error_code(hidden)) == (404, "org_not_found")
    settings = (await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/school-years")).json()["settings"]
    assert settings["last_grade"] == 11
