"""Help in the browser: the guides open from the navigation, with headings and a
contents list that jumps to a section."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WebServer

READER = "+79005550301"


@pytest.fixture(scope="module")
def reader(web_server: WebServer) -> None:
    web_server.sign_up(READER, "Нина", "Читалкина")


def test_admin_guide_opens_from_the_nav(open_as: Any, reader: None) -> None:
    page = open_as(READER, "/")
    page.get_by_role("link", name="Справка").first.click()
    expect(page.get_by_role("heading", name="Справка", level=1)).to_be_visible()
    page.get_by_role("link", name="Руководство администратора").click()
    expect(
        page.get_by_role("heading", name="Парта: руководство администратора организации", level=1)
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Роли в организации", level=2)).to_be_visible()
    contents = page.get_by_role("navigation", name="Содержание")
    contents.get_by_role("link", name="Журнал действий").click()
    expect(page.get_by_role("heading", name="Журнал действий", level=2)).to_be_in_viewport()


def test_faq_opens_and_links_to_the_safety_guide(open_as: Any, reader: None) -> None:
    page = open_as(READER, "/help", viewport={"width": 360, "height": 740})
    page.get_by_role("link", name="Частые вопросы").click()
    expect(page.get_by_role("heading", name="Частые вопросы", level=1)).to_be_visible()
    for section in ("Вход", "Безопасный режим", "Номер телефона", "Кого спросить"):
        expect(page.get_by_role("heading", name=section, level=2, exact=True)).to_be_visible()
    page.get_by_role("link", name="«Безопасность детей»").click()
    expect(page.get_by_role("heading", name="Безопасность детей в Парте", level=1)).to_be_visible()
    page.get_by_role("link", name="Вся справка").click()
    expect(page.get_by_role("link", name="Переезд школы в Парту")).to_be_visible()


def test_unknown_help_page(open_as: Any, reader: None) -> None:
    page = open_as(READER, "/help/nothing-here")
    expect(page.get_by_text("Такой страницы в справке нет.")).to_be_visible()
