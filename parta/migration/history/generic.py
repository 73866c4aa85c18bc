"""Parta's own history format (JSON), for exports from any other system.

Documented in docs/migration-formats.md. One JSON object:
``{"format": "parta.history.v1", "chat": {"title", "legacy_id"?}, "messages": [...]}``;
each message ``{"id", "author": {"name", "phone"?, "legacy_id"?}, "sent_at"
(ISO 8601 with a time zone), "text"?, "reply_to"?, "edited_at"?,
"attachments"?: [relative paths]}``. Messages are imported by ``sent_at``
(then in file order), whatever their order in the file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from parta.migration.history.archive import ExportTree, join
from parta.migration.history.model import (
    Entry,
    LegacyAuthor,
    LegacyChat,
    LegacyMessage,
    Skipped,
    format_invalid,
)

FORMAT = "parta.history.v1"


def find_json(tree: ExportTree) -> str | None:
    """The shallowest ``.json`` file of the tree."""
    found = [n for n in tree.names() if n.lower().endswith(".json")]
    return min(found, key=lambda n: (n.count("/"), n)) if found else None


def looks_like(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == FORMAT


def parse(tree: ExportTree, name: str, data: Any) -> LegacyChat:
    """The history in ``data`` (read from ``name`` in ``tree``)."""
    if not looks_like(data) or not isinstance(data.get("messages"), list):
        raise format_invalid(f'Нужен объект JSON с "format": "{FORMAT}" и списком "messages".')
    chat = data.get("chat") if isinstance(data.get("chat"), dict) else {}
    base = posixpath.dirname(name)
    parsed = [_entry(raw, base) for raw in data["messages"]]
    # Chronological order; unreadable entries first (they are only reported).
    order = sorted(
        range(len(parsed)),
        key=lambda i: (
            parsed[i].sent_at if isinstance(parsed[i], LegacyMessage) else datetime.min.replace(tzinfo=UTC),  # type: ignore[union-attr]
            i,
        ),
    )
    ordered = [parsed[i] for i in order]

    def entries() -> Iterator[Entry]:
        return iter(ordered)

    legacy_chat = str(chat.get("legacy_id") or "")
    return LegacyChat(
        source="json",
        key_prefix=f"json:{legacy_chat}",
        title=str(chat.get("title") or "Архив переписки"),
        entries=entries,
    )


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _entry(raw: Any, base: str) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str | int) or raw.get("id") == "":
        return Skipped("?", "Сообщение без id.")
    legacy_id = str(raw["id"])
    author = raw.get("author")
    if not isinstance(author, dict) or not isinstance(author.get("name"), str) or not author["name"].strip():
        return Skipped(legacy_id, "Не указан автор (author.name).")
    sent_at = _moment(raw.get("sent_at"))
    if sent_at is None:
        return Skipped(legacy_id, "sent_at: нужна дата ISO 8601 с часовым поясом.")
    attachments = raw.get("attachments") or []
    text = raw.get("text") or ""
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        return Skipped(legacy_id, "attachments: нужен список путей.")
    if not isinstance(text, str):
        return Skipped(legacy_id, "text: нужна строка.")
    phone = author.get("phone")
    reply_to = raw.get("reply_to")
    return LegacyMessage(
        legacy_id=legacy_id,
        author=LegacyAuthor(
            key=str(author.get("legacy_id") or author["name"]),
            name=author["name"].strip(),
            phone=phone if isinstance(phone, str) and phone else None,
        ),
        sent_at=sent_at,
        text=text,
        reply_to=str(reply_to) if isinstance(reply_to, str | int) and reply_to != "" else None,
        edited_at=_moment(raw.get("edited_at")),
        attachments=tuple(join(base, a) or a for a in attachments),
    )
