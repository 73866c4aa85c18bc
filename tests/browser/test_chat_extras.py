"""The chat extras in a real browser: a group made through the new-chat dialog; reply,
react, edit, pin and delete through the message menu; an image seen by the other
member; joining through an invite link from another browser."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WebServer

OWNER = "+79990002001"
FRIEND = "+79990002002"
NEWCOMER = "+79990002003"
GROUP = "Кружок робототехники"
ACTIONS = "Действия с сообщением"


@pytest.fixture(scope="module")
def people(web_server: WebServer) -> dict[str, Any]:
    owner = web_server.sign_up(OWNER, "Анна", "Кружкова")
    friend = web_server.sign_up(FRIEND, "Борис", "Друзьев")
    web_server.sign_up(NEWCOMER, "Вера", "Новикова")
    # A direct chat makes Борис one of Анна's contacts, offered in the group form.
    web_server.api("POST", "/chats/direct", OWNER, json={"user_id": friend["id"]})
    return {"owner": owner, "friend": friend}


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def bubble(page: Any, text: str) -> Any:
    return page.locator(".bubble-line").filter(has_text=text).last


def open_menu(page: Any, text: str) -> Any:
    bubble(page, text).get_by_role("button", name=ACTIONS).click()
    return page.get_by_role("dialog", name="Сообщение")


def send(web_server: WebServer, phone: str, chat_id: int, text: str) -> dict[str, Any]:
    body = {"client_msg_id": f"{phone}-{text}", "text": text}
    result: dict[str, Any] = web_server.api("POST", f"/chats/{chat_id}/messages", phone, json=body)
    return result


def create_group(page: Any) -> int:
    page.get_by_role("button", name="Новый чат").click()
    dialog = page.get_by_role("dialog", name="Новый чат")
    dialog.get_by_role("tab", name="Группа").click()
    panel = dialog.get_by_role("tabpanel", name="Группа")
    panel.get_by_label("Название").fill(GROUP)
    panel.get_by_label("Борис Друзьев").check()
    panel.get_by_role("button", name="Создать группу").click()
    expect(page).to_have_url(re.compile(r"/chats/\d+$"))
    expect(page.get_by_role("heading", name=GROUP)).to_be_visible()
    return int(page.url.rsplit("/", 1)[1])


def test_group_menu_actions(web_server: WebServer, open_as: Any, people: dict[str, Any]) -> None:
    owner = open_as(OWNER, "/")
    chat_id = create_group(owner)
    friend = open_as(FRIEND, f"/chats/{chat_id}")
    expect(friend.get_by_role("heading", name=GROUP)).to_be_visible()

    send(web_server, FRIEND, chat_id, "Привет всем")
    send(web_server, OWNER, chat_id, "Собрание в 18:00")
    expect(bubble(owner, "Привет всем")).to_be_visible()

    # React: both see the count, the owner's own reaction is highlighted.
    open_menu(owner, "Привет всем").get_by_role("button", name="Реакция 👍").click()
    mine = bubble(owner, "Привет всем").get_by_role("button", name=re.compile("^👍: 1"))
    expect(mine).to_have_attribute("aria-pressed", "true")
    expect(bubble(friend, "Привет всем").get_by_role("button", name=re.compile("^👍: 1"))).to_have_attribute(
        "aria-pressed", "false"
    )

    # Reply through the menu: the composer quotes the message.
    open_menu(owner, "Привет всем").get_by_role("menuitem", name="Ответить").click()
    expect(owner.get_by_text("Ответ на:")).to_be_visible()
    owner.get_by_role("textbox", name="Сообщение").fill("И тебе привет")
    owner.get_by_role("button", name="Отправить").click()
    expect(
        bubble(friend, "И тебе привет").get_by_role("button", name="Перейти к исходному сообщению")
    ).to_be_visible()

    # Edit the own message.
    open_menu(owner, "Собрание в 18:00").get_by_role("menuitem", name="Изменить").click()
    box = owner.get_by_role("textbox", name="Сообщение")
    expect(box).to_have_value("Собрание в 18:00")
    box.fill("Собрание в 19:00")
    owner.get_by_role("button", name="Сохранить").click()
    expect(bubble(friend, "Собрание в 19:00").get_by_text("изменено")).to_be_visible()

    # The friend has the chat open, so the owner's message becomes read (live).
    expect(bubble(owner, "Собрание в 19:00").get_by_text("✓✓")).to_be_visible()
    # Who read it: the author opens the list and sees the friend by name.
    bubble(owner, "Собрание в 19:00").get_by_text("✓✓").click()
    readers = owner.get_by_role("dialog", name="Кто прочитал")
    expect(readers).to_contain_text("Борис Друзьев")
    owner.keyboard.press("Escape")

    # Pin: the bar appears for both; clicking it jumps (the bar stays).
    open_menu(owner, "Собрание в 19:00").get_by_role("menuitem", name="Закрепить").click()
    for page in (owner, friend):
        expect(page.get_by_role("button", name=re.compile("Закреплённое сообщение"))).to_contain_text(
            "Собрание в 19:00"
        )
    # The friend is a plain member: no pin or delete of others' messages.
    menu = open_menu(friend, "Собрание в 19:00")
    expect(menu.get_by_role("menuitem", name="Ответить")).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Закрепить")).to_have_count(0)
    expect(menu.get_by_role("menuitem", name="Удалить")).to_have_count(0)
    friend.keyboard.press("Escape")
    expect(friend.get_by_role("dialog", name="Сообщение")).to_have_count(0)

    # Delete (the owner moderates the group): confirm, and it is gone for the friend.
    open_menu(owner, "Привет всем").get_by_role("menuitem", name="Удалить").click()
    confirm = owner.get_by_role("dialog", name="Удалить сообщение?")
    confirm.get_by_role("button", name="Удалить").click()
    expect(friend.locator(".bubble-line").filter(has_text="Привет всем")).to_have_count(0)


def test_image_preview_reaches_the_other_member(
    web_server: WebServer, open_as: Any, people: dict[str, Any]
) -> None:
    chat = web_server.api(
        "POST",
        "/chats",
        OWNER,
        json={"kind": "group", "title": "Фотоальбом", "member_ids": [people["friend"]["id"]]},
    )
    owner = open_as(OWNER, f"/chats/{chat['id']}")
    with owner.expect_file_chooser() as chooser:
        owner.get_by_role("button", name="Прикрепить файл").click()
    chooser.value.set_files(files=[{"name": "robot.png", "mimeType": "image/png", "buffer": png_bytes()}])
    owner.get_by_role("button", name="Отправить").click()

    friend = open_as(FRIEND, f"/chats/{chat['id']}")
    preview = friend.get_by_role("button", name="Открыть изображение «robot.png»")
    expect(preview.get_by_role("img", name="robot.png")).to_be_visible()
    preview.click()
    full = friend.get_by_role("dialog", name="robot.png")
    expect(full.get_by_role("img", name="robot.png")).to_be_visible()


def test_too_large_file_is_refused_before_upload(
    web_server: WebServer, open_as: Any, people: dict[str, Any], tmp_path: Path
) -> None:
    chat = web_server.api("POST", "/chats", OWNER, json={"kind": "group", "title": "Большие файлы"})
    owner = open_as(OWNER, f"/chats/{chat['id']}")
    with owner.expect_file_chooser() as chooser:
        owner.get_by_role("button", name="Прикрепить файл").click()
    # A sparse file on disk: the local browser reads it by path, no 20 MB over the wire.
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(20 * 1024 * 1024 + 1)
    chooser.value.set_files(big)
    expect(owner.get_by_role("alert")).to_contain_text("Файл слишком большой")


def test_join_through_an_invite_link(web_server: WebServer, open_as: Any, people: dict[str, Any]) -> None:
    chat = web_server.api("POST", "/chats", OWNER, json={"kind": "group", "title": "Шахматный клуб"})
    owner = open_as(OWNER, f"/chats/{chat['id']}")
    owner.get_by_role("button", name="О чате").click()
    info = owner.get_by_role("dialog", name="О чате")
    info.get_by_label("Сколько раз можно использовать").fill("5")
    info.get_by_role("button", name="Создать ссылку").click()
    link = info.get_by_label("Новая ссылка")
    expect(link).to_have_value(re.compile(r"/join/\S+$"))
    url = link.input_value()
    expect(info.get_by_text("использована 0 из 5")).to_be_visible()

    newcomer = open_as(NEWCOMER, url.replace(web_server.base_url, ""))
    expect(newcomer.get_by_role("heading", name="Шахматный клуб")).to_be_visible()
    expect(newcomer.get_by_text("1 участник")).to_be_visible()
    newcomer.get_by_role("button", name="Вступить").click()
    expect(newcomer).to_have_url(re.compile(rf"/chats/{chat['id']}$"))
    expect(newcomer.get_by_role("heading", name="Шахматный клуб")).to_be_visible()


def test_unknown_invite_link_says_so(open_as: Any, people: dict[str, Any]) -> None:
    page = open_as(NEWCOMER, "/join/no-such-token")
    expect(page.get_by_role("heading", name="Ссылка не работает")).to_be_visible()
    expect(page.get_by_text("Приглашение не найдено")).to_be_visible()
