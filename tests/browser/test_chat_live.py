"""Two people in two browsers: a group made through the UI, messages arriving live
(no reload) and the unread count in the other person's list."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

ANNA = "+79001110001"
BORIS = "+79001110002"


def _composer(page: Any) -> Any:
    return page.get_by_role("textbox", name="Сообщение", exact=True)


def test_group_message_arrives_live_with_unread_count(web_server: Any, open_as: Any) -> None:
    web_server.sign_up(ANNA, "Анна", "Учителева")
    web_server.sign_up(BORIS, "Борис", "Ученков")
    anna = open_as(ANNA, "/")
    boris = open_as(BORIS, "/")
    expect(boris.get_by_text("Чатов пока нет", exact=False)).to_be_visible()

    anna.get_by_role("button", name="Новый чат").click()
    anna.get_by_role("tab", name="Группа").click()
    panel = anna.get_by_role("tabpanel", name="Группа")
    panel.get_by_label("Название").fill("Кружок робототехники")
    panel.get_by_label("Добавить по номеру телефона").fill(BORIS)
    panel.get_by_role("button", name="Добавить", exact=True).click()
    expect(panel.get_by_role("checkbox", name=re.compile("Борис"))).to_be_checked()
    panel.get_by_role("button", name="Создать группу").click()
    expect(anna).to_have_url(re.compile(r"/chats/\d+$"))
    expect(anna.get_by_role("heading", name="Кружок робототехники")).to_be_visible()

    # The new chat appears in Boris's list by itself (chat.created over the socket).
    row = boris.get_by_role("link", name=re.compile("Кружок робототехники"))
    expect(row).to_be_visible()

    _composer(anna).fill("Завтра занятие в 15:00")
    _composer(anna).press("Enter")
    expect(anna.get_by_role("log").get_by_text("Завтра занятие в 15:00")).to_be_visible()

    expect(row).to_contain_text("Завтра занятие в 15:00")
    expect(row.get_by_label("1 непрочитанное")).to_be_visible()

    row.click()
    expect(boris.get_by_role("log").get_by_text("Завтра занятие в 15:00")).to_be_visible()
    expect(boris.get_by_role("log").get_by_text("Анна Учителева")).to_be_visible()
    # Seen, so no longer unread.
    expect(row.get_by_label("1 непрочитанное")).to_have_count(0)

    _composer(boris).fill("Буду!")
    _composer(boris).press("Enter")
    expect(anna.get_by_role("log").get_by_text("Буду!")).to_be_visible()
    chat_id = int(anna.url.rsplit("/", 1)[1])
    history = web_server.api("GET", f"/chats/{chat_id}/messages", ANNA)["messages"]
    assert [m["text"] for m in history] == ["Завтра занятие в 15:00", "Буду!"]
