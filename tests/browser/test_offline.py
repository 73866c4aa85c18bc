"""Offline: messages typed without a network are shown as pending at once and
delivered exactly once when it returns; a reload while offline shows the cached
chat list."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

OLGA = "+79001120001"
PAVEL = "+79001120002"


def _composer(page: Any) -> Any:
    return page.get_by_role("textbox", name="Сообщение", exact=True)


def test_offline_sends_are_kept_and_delivered_once(web_server: Any, open_as: Any) -> None:
    web_server.sign_up(OLGA, "Ольга", "Классная")
    pavel = web_server.sign_up(PAVEL, "Павел", "Родителев")
    chat = web_server.api(
        "POST", "/chats", OLGA, json={"kind": "group", "title": "Родители 3Б", "member_ids": [pavel["id"]]}
    )
    olga = open_as(OLGA, f"/chats/{chat['id']}")
    other = open_as(PAVEL, f"/chats/{chat['id']}")
    expect(olga.get_by_role("heading", name="Родители 3Б")).to_be_visible()
    expect(olga.get_by_text("Подключение…")).to_have_count(0)

    olga.context.set_offline(True)
    expect(olga.get_by_text("Нет сети", exact=False)).to_be_visible()
    for text in ("Собрание в четверг", "Возьмите сменную обувь"):
        _composer(olga).fill(text)
        _composer(olga).press("Enter")
    log = olga.get_by_role("log")
    expect(log.get_by_text("отправляется")).to_have_count(2)
    expect(log.get_by_text("Собрание в четверг")).to_be_visible()
    expect(other.get_by_role("log").get_by_text("Собрание в четверг")).to_have_count(0)

    olga.context.set_offline(False)
    expect(log.get_by_text("отправляется")).to_have_count(0)
    expect(other.get_by_role("log").get_by_text("Собрание в четверг")).to_have_count(1)
    expect(other.get_by_role("log").get_by_text("Возьмите сменную обувь")).to_have_count(1)
    expect(log.get_by_text("Собрание в четверг")).to_have_count(1)

    history = web_server.api("GET", f"/chats/{chat['id']}/messages", OLGA)["messages"]
    assert [m["text"] for m in history] == ["Собрание в четверг", "Возьмите сменную обувь"]


_SAVED = """async (title) => {
  const open = indexedDB.open("parta-cache");
  await new Promise((done) => (open.onsuccess = done));
  const read = open.result.transaction("kv").objectStore("kv").get("state");
  await new Promise((done) => (read.onsuccess = done));
  open.result.close();
  return JSON.stringify(read.result ?? {}).includes(title);
}"""


def _wait_until_saved(page: Any, title: str) -> None:
    """Poll the offline copy (written a moment after changes) until it holds `title`."""
    for _ in range(150):
        if page.evaluate(_SAVED, title):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{title!r} never reached the offline copy")


def test_reload_offline_shows_cached_chat_list(web_server: Any, open_as: Any) -> None:
    web_server.sign_up("+79001120003", "Роза", "Кэшева")
    web_server.api("POST", "/chats", "+79001120003", json={"kind": "group", "title": "Кружок шахмат"})
    page = open_as("+79001120003", "/")
    expect(page.get_by_role("link", name=re.compile("Кружок шахмат"))).to_be_visible()
    # The service worker caches the app shell; reload once online so it serves the assets too.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    expect(page.get_by_role("link", name=re.compile("Кружок шахмат"))).to_be_visible()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    # The offline copy is written shortly after changes; wait for it like a user would.
    _wait_until_saved(page, "Кружок шахмат")

    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_text("Нет сети", exact=False)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Кружок шахмат"))).to_be_visible()
