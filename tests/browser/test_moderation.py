"""Reports and the moderation queue in the browser: a student reports a classmate's
message, the school's admin deletes it from the queue, and the message is gone for
the chat. Also a person's card: not found, block with a confirmation, unblock."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WebServer
from tests.browser.safety_setup import School, verified_school

ADMIN, OPERATOR = "+79005550201", "+79005550202"
REPORTER, AUTHOR, OUTSIDER = "+79005550203", "+79005550204", "+79005550205"
TEXT = "Вы все глупые, сидите тихо"


@pytest.fixture(scope="module")
def classroom(web_server: WebServer) -> dict[str, Any]:
    school: School = verified_school(web_server, ADMIN, OPERATOR, class_name="7Б")
    reporter = web_server.sign_up(REPORTER, "Вера", "Правдина")
    author = web_server.sign_up(AUTHOR, "Гоша", "Грубов")
    web_server.sign_up(OUTSIDER, "Лев", "Сторонний")
    for phone in (REPORTER, AUTHOR):
        school.add(phone, "student", in_class=True)
    chats = web_server.api("GET", "/chats", AUTHOR)["chats"]
    chat = next(c for c in chats if c.get("purpose") == "class")
    message = web_server.api(
        "POST",
        f"/chats/{chat['id']}/messages",
        AUTHOR,
        json={"text": TEXT, "client_msg_id": "w3-report-test-1"},
    )
    return {
        "school": school,
        "reporter": reporter,
        "author": author,
        "chat_id": chat["id"],
        "message": message,
    }


def test_report_reaches_the_admin_who_deletes_the_message(
    open_as: Any, web_server: WebServer, classroom: dict[str, Any]
) -> None:
    author, message = classroom["author"], classroom["message"]
    page = open_as(REPORTER, f"/users/{author['id']}?report_message={message['id']}")
    expect(page.get_by_role("heading", name="Гоша Грубов")).to_be_visible()
    page.get_by_role("button", name="Пожаловаться на сообщение").click()
    dialog = page.get_by_role("dialog", name="Пожаловаться на сообщение")
    dialog.get_by_role("button", name="Отправить жалобу").click()
    expect(dialog.get_by_role("alert")).to_have_text("Выберите причину.")
    dialog.get_by_label("Оскорбления или травля").check()
    dialog.get_by_label("Комментарий").fill("Обзывает весь класс")
    dialog.get_by_role("button", name="Отправить жалобу").click()
    expect(dialog.get_by_text("Спасибо, жалоба отправлена.")).to_be_visible()

    admin = open_as(ADMIN, f"/moderation/{classroom['school'].id}")
    expect(admin.get_by_role("heading", name="Жалобы", level=1)).to_be_visible()
    report = admin.get_by_role("article").filter(has_text=TEXT)
    expect(report.get_by_role("heading", name="Оскорбления или травля")).to_be_visible()
    expect(report).to_contain_text("Вера Правдина")
    expect(report).to_contain_text("Обзывает весь класс")
    report.get_by_role("button", name="Удалить сообщение").click()
    confirm = admin.get_by_role("dialog", name="Удалить сообщение")
    confirm.get_by_label("Заметка").fill("Грубость в чате класса")
    confirm.get_by_role("button", name="Подтвердить").click()
    expect(admin.get_by_text("Новых жалоб нет.")).to_be_visible()

    admin.get_by_role("button", name="Приняты меры").click()
    decided = admin.get_by_role("article").filter(has_text="Вера Правдина")
    expect(decided.get_by_text("Сообщение удалено.")).to_be_visible()
    expect(decided).to_contain_text("Решение: Удалить сообщение")

    # The chat sees the message as deleted.
    history = web_server.api("GET", f"/chats/{classroom['chat_id']}/messages", REPORTER)["messages"]
    shown = [m for m in history if m["id"] == message["id"]]
    assert all(m.get("is_deleted") for m in shown)
    assert all(TEXT not in (m.get("text") or "") for m in history)


def test_queue_is_only_for_the_schools_admins(open_as: Any, classroom: dict[str, Any]) -> None:
    school_id = classroom["school"].id
    expect(
        open_as(OUTSIDER, f"/moderation/{school_id}").get_by_text("Организация не найдена.")
    ).to_be_visible()
    expect(
        open_as(REPORTER, f"/moderation/{school_id}").get_by_text(
            "Жалобы видят только администраторы организации."
        )
    ).to_be_visible()


def test_person_card_blocks_after_a_confirmation_and_unblocks(
    open_as: Any, web_server: WebServer, classroom: dict[str, Any]
) -> None:
    author = classroom["author"]
    page = open_as(REPORTER, f"/users/{author['id']}")
    page.get_by_role("button", name="Заблокировать").click()
    dialog = page.get_by_role("dialog", name="Заблокировать?")
    expect(dialog.get_by_text("человек не узнает о блокировке", exact=False)).to_be_visible()
    dialog.get_by_role("button", name="Заблокировать").click()
    expect(page.get_by_role("button", name="Разблокировать")).to_be_visible()
    assert [b["user"]["id"] for b in web_server.api("GET", "/me/blocks", REPORTER)["blocks"]] == [
        author["id"]
    ]

    mine = open_as(REPORTER, "/users/me")
    blocked = mine.get_by_role("region", name="Заблокированные")
    expect(blocked.get_by_role("link", name="Гоша Грубов")).to_be_visible()
    blocked.get_by_role("button", name="Разблокировать").click()
    expect(blocked.get_by_text("Вы никого не заблокировали.")).to_be_visible()
    assert web_server.api("GET", "/me/blocks", REPORTER)["blocks"] == []


def test_unknown_person_is_not_found(open_as: Any) -> None:
    page = open_as(REPORTER, "/users/987654321")
    expect(page.get_by_text("Пользователь не найден")).to_be_visible()
