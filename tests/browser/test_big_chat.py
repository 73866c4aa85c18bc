"""A chat with 10,000 messages opens at the newest, keeps only a window of rows in
the DOM, and loads older pages as the reader scrolls up."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import create_engine, insert, update

from parta.db.tables import Chat, Message

OWNER = "+79001130001"
COUNT = 10_000


def _insert_history(web_server: Any, chat_id: int, sender_id: int) -> None:
    """Write the messages straight into the server's SQLite file: 10,000 API calls
    would take minutes. No events are written, so the chat is opened after this."""
    engine = create_engine(f"sqlite:///{web_server.data_dir / 'parta.db'}")
    start = datetime.now(UTC) - timedelta(days=30)
    rows = [
        {
            "chat_id": chat_id,
            "sender_id": sender_id,
            "client_msg_id": f"bulk-{n}",
            "text": f"Сообщение номер {n}",
            "created_at": start + timedelta(minutes=4 * n),
        }
        for n in range(1, COUNT + 1)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Message), rows)
        last_id = conn.execute(
            Message.__table__.select().with_only_columns(Message.id).order_by(Message.id.desc()).limit(1)
        ).scalar_one()
        conn.execute(
            update(Chat)
            .where(Chat.id == chat_id)
            .values(last_message_id=last_id, last_activity_at=rows[-1]["created_at"])
        )
    engine.dispose()


def test_big_chat_opens_windowed_and_pages_up(web_server: Any, open_as: Any) -> None:
    owner = web_server.sign_up(OWNER, "Вера", "Историкова")
    chat = web_server.api("POST", "/chats", OWNER, json={"kind": "group", "title": "Архив 11А"})
    _insert_history(web_server, chat["id"], owner["id"])

    page = open_as(OWNER, f"/chats/{chat['id']}")
    log = page.get_by_role("log")
    expect(log.get_by_text(f"Сообщение номер {COUNT}", exact=True)).to_be_visible()
    rows = page.locator("[data-row]")
    assert rows.count() < 200

    # Scroll up until a message from the second page (older than the first 50) is shown.
    older = log.get_by_text(f"Сообщение номер {COUNT - 120}", exact=True)
    scroller = page.locator(".msg-list")
    for _ in range(80):
        scroller.evaluate("el => { el.scrollTop = Math.max(0, el.scrollTop - el.clientHeight * 2); }")
        try:
            expect(older).to_be_attached(timeout=250)
            break
        except AssertionError:
            continue
    older.scroll_into_view_if_needed()
    expect(older).to_be_visible()
    assert rows.count() < 200
    # The newest is no longer rendered: the window moved with the reader.
    expect(log.get_by_text(f"Сообщение номер {COUNT}", exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile("Архив 11А"))).to_be_visible()
