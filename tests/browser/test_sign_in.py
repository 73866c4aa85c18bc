"""Signing in through the web client: the phone typed and formatted, the code from
the dev sender's log, the profile of a new account; a wrong code; the devices list
and signing out the other devices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import WebServer

NEWCOMER, TWICE, WRONG = "+79005550201", "+79005550202", "+79005550203"
AVATAR = "+79005550204"


def request_code(page: Any, phone: str) -> None:
    """Types the ten digits after +7 on the sign-in screen and asks for a code."""
    field = page.get_by_label("Номер телефона")
    field.press_sequentially("8" + phone[2:])
    expect(field).to_have_value(f"+7 ({phone[2:5]}) {phone[5:8]}-{phone[8:10]}-{phone[10:12]}")
    page.get_by_role("button", name="Получить код").click()
    expect(page.get_by_label("Код из СМС")).to_be_visible()


def sign_in(page: Any, web_server: WebServer, phone: str) -> None:
    request_code(page, phone)
    # A complete code is sent by itself, as when the phone fills it in from the SMS.
    page.get_by_label("Код из СМС").fill(web_server.code_for(phone))


def test_new_person_signs_in_and_completes_the_profile(open_as: Any, web_server: WebServer) -> None:
    page = open_as(None, "/")
    expect(page.get_by_role("heading", name="Вход")).to_be_visible()
    sign_in(page, web_server, NEWCOMER)

    expect(page.get_by_role("heading", name="Как вас зовут?")).to_be_visible()
    expect(page.get_by_text("безопасности детей", exact=False)).to_be_visible()
    page.get_by_label("Имя", exact=True).fill("Полина")
    page.get_by_label("Фамилия").fill("Новикова")
    page.get_by_role("button", name="Готово").click()

    expect(page.get_by_role("link", name="Настройки")).to_be_visible()
    page.get_by_role("link", name="Настройки").click()
    expect(page.get_by_label("Имя", exact=True)).to_have_value("Полина")
    expect(page.get_by_text("+79005550201", exact=False)).to_be_visible()


def test_wrong_code_shows_the_servers_error(open_as: Any, web_server: WebServer) -> None:
    page = open_as(None, "/")
    request_code(page, WRONG)
    wrong = "111111" if web_server.code_for(WRONG) != "111111" else "222222"
    page.get_by_label("Код из СМС").fill(wrong)
    expect(page.get_by_role("alert")).to_be_visible()
    # Still on the code step, the field ready for another try.
    expect(page.get_by_label("Код из СМС")).to_be_visible()
    page.get_by_label("Код из СМС").fill(web_server.code_for(WRONG))
    expect(page.get_by_role("heading", name="Как вас зовут?")).to_be_visible()


def test_two_devices_and_signing_out_the_other(open_as: Any, web_server: WebServer) -> None:
    first = open_as(None, "/")
    sign_in(first, web_server, TWICE)
    first.get_by_label("Имя", exact=True).fill("Вера")
    first.get_by_role("button", name="Готово").click()
    expect(first.get_by_role("link", name="Настройки")).to_be_visible()

    second = open_as(None, "/")
    sign_in(second, web_server, TWICE)
    expect(second.get_by_role("link", name="Настройки")).to_be_visible()

    first.get_by_role("link", name="Настройки").click()
    devices = first.get_by_role("list", name="Устройства").get_by_role("listitem")
    expect(devices).to_have_count(2)
    expect(first.get_by_text("Это устройство")).to_have_count(1)

    first.get_by_role("button", name="Выйти на других устройствах").click()
    expect(devices).to_have_count(1)

    # The other device learns it at once over its live connection, or at the latest
    # on its next request (opening the app again): either way the sign-in screen.
    second.reload()
    expect(second.get_by_role("heading", name="Вход")).to_be_visible()
    expect(second.get_by_label("Номер телефона")).to_be_visible()


def test_avatar_upload_shows_the_new_photo(open_as: Any, web_server: WebServer, tmp_path: Path) -> None:
    from PIL import Image

    web_server.sign_up(AVATAR, "Фото", "Аватаркина")
    picture = tmp_path / "me.png"
    Image.new("RGB", (64, 64), (200, 60, 40)).save(picture)
    page = open_as(AVATAR, "/settings")
    with page.expect_file_chooser() as chooser:
        page.get_by_text("Сменить фото").click()
    chooser.value.set_files(picture)
    # The profile now has an avatar, and the settings show it as an image.
    expect(page.locator(".settings__avatar img")).to_be_visible()
    assert web_server.api("GET", "/me", AVATAR)["avatar_file_id"]
