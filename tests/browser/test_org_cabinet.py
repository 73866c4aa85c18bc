"""The organization cabinet in the browser: an admin makes a class and a student,
creates a parents' invite link for the class and copies it; a parent joins with it in
another browser; the admin links the parent to the student, and the parents' chat of
the class appears in the parent's chat list while it is open."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WebServer

ADMIN, STUDENT, PARENT = "+79005550301", "+79005550302", "+79005550303"


@pytest.fixture(scope="module")
def school(web_server: WebServer) -> dict[str, Any]:
    web_server.sign_up(ADMIN, "Анна", "Директорова")
    web_server.sign_up(STUDENT, "Петя", "Васильков")
    web_server.sign_up(PARENT, "Ольга", "Василькова")
    body = {"kind": "school", "full_name": "МБОУ «Школа № 5»", "short_name": "Школа № 5", "region": "77"}
    org: dict[str, Any] = web_server.api("POST", "/orgs", ADMIN, json=body)
    return org


def row(page: Any, name: str) -> Any:
    return page.get_by_role("listitem").filter(has_text=name)


def test_admin_builds_a_class_and_a_parent_joins_it(open_as: Any, school: dict[str, Any]) -> None:
    admin = open_as(ADMIN, f"/orgs/{school['id']}")
    expect(admin.get_by_role("heading", name="Школа № 5")).to_be_visible()

    admin.get_by_role("link", name="Классы и группы").click()
    admin.get_by_label("Название").fill("5А")
    admin.get_by_role("button", name="Создать").click()
    expect(row(admin, "5А")).to_be_visible()

    admin.get_by_role("link", name="Участники").click()
    admin.get_by_role("button", name="Добавить участника").click()
    dialog = admin.get_by_role("dialog")
    dialog.get_by_label("Телефон").press_sequentially(STUDENT[2:])
    dialog.get_by_label("Роль").select_option(label="Ученик")
    dialog.get_by_label("Класс").select_option(label="5А")
    dialog.get_by_role("button", name="Добавить").click()
    expect(row(admin, "Петя Васильков")).to_contain_text("Ученик · 5А")

    admin.context.grant_permissions(["clipboard-read", "clipboard-write"])
    admin.get_by_role("link", name="Приглашения").click()
    admin.get_by_label("Роль").select_option(label="Родитель")
    admin.get_by_label("Класс").select_option(label="5А")
    admin.get_by_role("button", name="Создать ссылку").click()
    link = admin.get_by_label("Ссылка", exact=True).input_value()
    assert "/org-join/" in link
    admin.get_by_role("button", name="Копировать").click()
    expect(admin.get_by_text("Скопировано")).to_be_visible()
    assert admin.evaluate("navigator.clipboard.readText()") == link

    parent = open_as(PARENT, "/" + link.split("://", 1)[1].split("/", 1)[1])
    expect(parent.get_by_role("heading", name="Школа № 5")).to_be_visible()
    expect(parent.get_by_text("Приглашение: Родитель в класс 5А")).to_be_visible()
    parent.get_by_role("button", name="Вступить").click()
    expect(parent.get_by_text("Вы вступили в Школа № 5")).to_be_visible()
    parent.get_by_role("link", name="К чатам").click()

    admin.get_by_role("link", name="Участники").click()
    row(admin, "Ольга Василькова").get_by_role("button", name="Привязать к ребёнку").click()
    admin.get_by_role("dialog").get_by_label("Ребёнок").select_option(label="Петя Васильков (5А)")
    admin.get_by_role("dialog").get_by_role("button", name="Привязать").click()
    expect(row(admin, "Ольга Василькова")).to_contain_text("дети: Петя Васильков")

    # The parent's chat list was open all along: the chat arrives live.
    chat = parent.get_by_text("5А — родители")
    expect(chat).to_be_visible()
    chat.click()
    expect(parent.get_by_role("heading", name="5А — родители")).to_be_visible()
