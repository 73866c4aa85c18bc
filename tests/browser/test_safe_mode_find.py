"""Safe mode in the new-chat dialog: a stranger looking a child up by phone is told
"not found", word for word what a number nobody has gets; the child's classmate and
teacher at a verified school find the child."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WebServer
from tests.servers import ROOT

CHILD = "+79990001001"
STRANGER = "+79990001002"
CLASSMATE = "+79990001003"
TEACHER = "+79990001004"
DIRECTOR = "+79990001005"
OPERATOR = "+79990001006"
NOBODY = "+79990001099"


def ten_years_ago() -> str:
    today = date.today()
    return today.replace(year=today.year - 10, day=min(today.day, 28)).isoformat()


def make_operator(server: WebServer, phone: str) -> None:
    env = os.environ | {
        "PARTA_DATA_DIR": str(server.data_dir),
        "PARTA_DATABASE_URL": f"sqlite:///{server.data_dir / 'parta.db'}",
    }
    subprocess.run(
        [sys.executable, "-m", "parta", "admin", "create-operator", phone],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def school(web_server: WebServer) -> dict[str, Any]:
    """A verified school with class 5А: the child (10 years old), a classmate, a teacher."""
    server = web_server
    child = server.sign_up(CHILD, "Василиса", "Тайнова", birth_date=ten_years_ago())
    server.sign_up(STRANGER, "Игорь", "Чужов")
    server.sign_up(CLASSMATE, "Петя", "Однокласснов", birth_date=ten_years_ago())
    server.sign_up(TEACHER, "Ольга", "Учителева")
    server.sign_up(DIRECTOR, "Анна", "Директорова")
    server.sign_up(OPERATOR, "Олег", "Операторов")
    make_operator(server, OPERATOR)
    org = server.api(
        "POST",
        "/orgs",
        DIRECTOR,
        json={"kind": "school", "full_name": "МБОУ «Школа № 7»", "short_name": "Школа № 7", "region": "77"},
    )
    server.api("POST", f"/orgs/{org['id']}/verification", OPERATOR)
    klass = server.api("POST", f"/orgs/{org['id']}/classes", DIRECTOR, json={"kind": "class", "name": "5А"})
    for phone, role in ((CHILD, "student"), (CLASSMATE, "student")):
        body = {"phone": phone, "role": role, "class_id": klass["id"]}
        server.api("POST", f"/orgs/{org['id']}/members", DIRECTOR, json=body)
    teacher = server.api(
        "POST", f"/orgs/{org['id']}/members", DIRECTOR, json={"phone": TEACHER, "role": "teacher"}
    )
    server.api("PUT", f"/orgs/{org['id']}/classes/{klass['id']}/teachers/{teacher['member_id']}", DIRECTOR)
    return {"child": child, "org": org}


def find_by_phone(page: Any, phone: str) -> Any:
    page.get_by_role("button", name="Новый чат").click()
    dialog = page.get_by_role("dialog", name="Новый чат")
    expect(dialog.get_by_role("tab", name="Личный чат")).to_have_attribute("aria-selected", "true")
    field = dialog.get_by_label("Номер телефона")
    field.fill(phone)
    dialog.get_by_role("button", name="Найти").click()
    return dialog


def test_stranger_cannot_find_a_child_in_safe_mode(open_as: Any, school: dict[str, Any]) -> None:
    page = open_as(STRANGER, "/")
    dialog = find_by_phone(page, CHILD)
    child_answer = dialog.get_by_role("alert")
    expect(child_answer).to_have_text("Пользователь не найден")
    expect(dialog.get_by_text("Василиса")).to_have_count(0)
    expect(dialog.get_by_role("button", name="Написать")).to_have_count(0)

    # A number nobody has reads exactly the same.
    field = dialog.get_by_label("Номер телефона")
    field.fill(NOBODY)
    dialog.get_by_role("button", name="Найти").click()
    expect(dialog.get_by_role("alert")).to_have_text("Пользователь не найден")


@pytest.mark.parametrize("phone", [CLASSMATE, TEACHER], ids=["classmate", "teacher"])
def test_child_circle_finds_the_child(open_as: Any, school: dict[str, Any], phone: str) -> None:
    page = open_as(phone, "/")
    dialog = find_by_phone(page, CHILD)
    expect(dialog.get_by_text("Василиса Тайнова")).to_be_visible()
    dialog.get_by_role("button", name="Написать").click()
    expect(page).to_have_url(re.compile(r"/chats/\d+$"))
    expect(page.get_by_role("heading", name=re.compile("Василиса"))).to_be_visible()
