"""A parent's pages in the browser: the children, safe mode (refused off under 14
with the server's own words), approving a contact by phone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WebServer
from tests.browser.safety_setup import School, birth_date, verified_school

ADMIN, OPERATOR = "+79005550101", "+79005550102"
PARENT, YOUNG, OLDER, COACH = "+79005550103", "+79005550104", "+79005550105", "+79005550106"


@pytest.fixture(scope="module")
def family(web_server: WebServer) -> dict[str, Any]:
    school: School = verified_school(web_server, ADMIN, OPERATOR)
    young = web_server.sign_up(YOUNG, "Миша", "Ласточкин", birth_date=birth_date(10))
    older = web_server.sign_up(OLDER, "Даша", "Ласточкина", birth_date=birth_date(15))
    web_server.sign_up(PARENT, "Ирина", "Ласточкина")
    coach = web_server.sign_up(COACH, "Пётр", "Тренеров")
    for phone in (YOUNG, OLDER):
        school.add(phone, "student", in_class=True)
    school.add(PARENT, "parent")
    school.link(PARENT, YOUNG)
    school.link(PARENT, OLDER)
    return {"young": young, "older": older, "coach": coach}


def test_parent_sees_children_with_their_safe_mode(open_as: Any, family: dict[str, Any]) -> None:
    page = open_as(PARENT, "/")
    page.get_by_role("link", name="Дети").first.click()
    expect(page.get_by_role("heading", name="Мои дети")).to_be_visible()
    young = page.get_by_role("link", name="Миша Ласточкин")
    expect(young).to_contain_text("5А, Школа № 7")
    expect(young).to_contain_text("ребёнку нет 14 лет")
    expect(page.get_by_role("link", name="Даша Ласточкина")).to_contain_text("Выключен")


def test_safe_mode_stays_on_under_14_with_the_servers_reason(
    open_as: Any, web_server: WebServer, family: dict[str, Any]
) -> None:
    child_id = family["young"]["id"]
    # What the server says to anyone trying: the page must show exactly this.
    response = httpx.put(
        f"{web_server.base_url}/api/v1/children/{child_id}/safe-mode",
        headers={"Authorization": f"Bearer {web_server.tokens[PARENT]}"},
        json={"enabled": False},
    )
    assert response.status_code == 403
    reason = response.json()["error"]["message"]

    page = open_as(PARENT, "/children")
    page.get_by_role("link", name="Миша Ласточкин").click()
    expect(page.get_by_role("heading", name="Миша Ласточкин", level=1)).to_be_visible()
    switch = page.get_by_role("switch", name="Безопасный режим")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.get_by_role("alert")).to_have_text(reason)
    expect(switch).to_have_attribute("aria-checked", "true")


def test_parent_turns_safe_mode_on_and_off_for_an_older_child(
    open_as: Any, web_server: WebServer, family: dict[str, Any]
) -> None:
    child_id = family["older"]["id"]
    page = open_as(PARENT, f"/children/{child_id}")
    switch = page.get_by_role("switch", name="Безопасный режим")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(page.get_by_text("Включён: включил родитель")).to_be_visible()
    assert web_server.api("GET", "/me", OLDER)["safe_mode"]["on"] is True

    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    assert web_server.api("GET", "/me", OLDER)["safe_mode"]["on"] is False


def test_parent_approves_a_contact_by_phone(
    open_as: Any, web_server: WebServer, family: dict[str, Any]
) -> None:
    child_id = family["young"]["id"]
    page = open_as(PARENT, f"/children/{child_id}", viewport={"width": 360, "height": 740})
    approved = page.get_by_role("region", name="Одобренные контакты")
    expect(approved.get_by_text("Вы пока никого не одобрили.")).to_be_visible()

    page.get_by_label("Номер телефона").fill("8 900 555-01-06")
    page.get_by_role("button", name="Одобрить").click()
    expect(
        page.get_by_role("status").filter(has_text="Пётр Тренеров теперь может писать ребёнку.")
    ).to_be_visible()
    expect(approved.get_by_text("Пётр Тренеров", exact=True)).to_be_visible()
    expect(approved.get_by_role("button", name="Убрать Пётр Тренеров из одобренных")).to_be_visible()
    contacts = web_server.api("GET", f"/children/{child_id}/contacts", PARENT)["contacts"]
    assert [c["user"]["id"] for c in contacts if c["is_approved"]] == [family["coach"]["id"]]


def test_an_unknown_number_is_refused_and_kept_in_the_field(open_as: Any, family: dict[str, Any]) -> None:
    page = open_as(PARENT, f"/children/{family['older']['id']}")
    field = page.get_by_label("Номер телефона")
    field.fill("+7 900 555-09-99")
    page.get_by_role("button", name="Одобрить").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(field).to_have_value("+7 900 555-09-99")


def test_someone_elses_child_is_not_found(open_as: Any, family: dict[str, Any]) -> None:
    page = open_as(COACH, f"/children/{family['young']['id']}")
    expect(page.get_by_text("Ребёнок не найден.")).to_be_visible()
