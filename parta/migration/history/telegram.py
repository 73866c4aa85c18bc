"""Telegram Desktop's chat export: ``result.json`` beside ``photos/``, ``files/``...

Made by Telegram Desktop: a chat's menu, "Export chat history", format
"Machine-readable JSON". The single-chat shape is an object with ``name``,
``type``, ``id`` and ``messages``; each message has ``id``, ``type``
(``message`` or ``service``), ``date`` (local time of the exporting computer)
and ``date_unixtime`` (seconds, UTC: preferred), ``from``/``from_id``
(``user123``), ``text`` (a string, or a list of strings and ``{type, text}``
pieces), ``reply_to_message_id``, ``edited``/``edited_unixtime``, ``photo`` or
``file`` (paths relative to the export; a placeholder in parentheses when the
file was not exported), ``media_type``, ``forwarded_from``.

Service messages (joins, pins, title changes) are not imported: they describe
the old chat's membership, not its conversation.
"""

from __future__ import annotations

import io
import json
import posixpath
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

from parta.migration.history.archive import ExportTree, join
from parta.migration.history.model import (
    Entry,
    LegacyAuthor,
    LegacyChat,
    LegacyMessage,
    Skipped,
    encoding_invalid,
    format_invalid,
)

RESULT = "result.json"
MEDIA_NAMES = {
    "sticker": "Стикер",
    "voice_message": "Голосовое сообщение",
    "video_message": "Видеосообщение",
    "video_file": "Видео",
    "audio_file": "Аудио",
    "animation": "GIF-анимация",
}
DELETED_ACCOUNT = "Удалённый аккаунт"


def find_result(tree: ExportTree) -> str | None:
    """The shallowest ``result.json`` of the tree (an export folder may be zipped with its folder)."""
    found = [n for n in tree.names() if posixpath.basename(n) == RESULT]
    return min(found, key=lambda n: n.count("/")) if found else None


def looks_like(data: Any) -> bool:
    """A Telegram export: messages with ``date`` and a ``type`` of message/service."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return "chats" in data if isinstance(data, dict) else False
    first = next((m for m in data["messages"] if isinstance(m, dict)), None)
    return first is None or ("date" in first and first.get("type") in ("message", "service"))


def load_json(tree: ExportTree, name: str) -> Any:
    """A JSON file of the export; UTF-8 (with or without a BOM) only."""
    try:
        with tree.open(name) as raw:
            return json.load(io.TextIOWrapper(raw, encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise encoding_invalid(f"{name}: файл не в кодировке UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise format_invalid(f"{name}: повреждённый JSON (строка {exc.lineno}).") from None


def parse(tree: ExportTree, zone: tzinfo) -> LegacyChat:
    """The export in ``tree``; ``history_format_invalid`` when it is not a one-chat export."""
    name = find_result(tree)
    if name is None:
        raise format_invalid("В выгрузке Telegram нет файла result.json.")
    return from_data(name, load_json(tree, name), zone)


def from_data(name: str, data: Any, zone: tzinfo) -> LegacyChat:
    """The export read from ``name`` (the path of result.json inside the tree)."""
    if isinstance(data, dict) and "chats" in data and "messages" not in data:
        raise format_invalid(
            "Это выгрузка всего аккаунта Telegram. Выгрузите один чат: меню чата → «Экспорт истории чата»."
        )
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise format_invalid("В result.json нет списка сообщений.")
    base = posixpath.dirname(name)
    messages: list[Any] = data["messages"]

    def entries() -> Iterator[Entry]:
        for raw in messages:
            yield _entry(raw, base, zone)

    return LegacyChat(
        source="telegram",
        key_prefix=f"tg:{data.get('id', '')}",
        title=str(data.get("name") or "Чат из Telegram"),
        entries=entries,
    )


def _entry(raw: Any, base: str, zone: tzinfo) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
        return Skipped("?", "Запись без номера сообщения.")
    legacy_id = str(raw["id"])
    if raw.get("type") == "service":
        return Skipped(legacy_id, f"Служебное сообщение ({raw.get('action', '')}).", is_service=True)
    sent_at = _moment(raw.get("date_unixtime"), raw.get("date"), zone)
    if sent_at is None:
        return Skipped(legacy_id, "Не читается дата сообщения.")
    attachments, notes = _media(raw, base)
    edited = raw.get("edited_unixtime") or raw.get("edited")
    return LegacyMessage(
        legacy_id=legacy_id,
        author=_author(raw),
        sent_at=sent_at,
        text=text_of(raw.get("text", "")),
        reply_to=str(raw["reply_to_message_id"]) if raw.get("reply_to_message_id") else None,
        edited_at=_moment(raw.get("edited_unixtime"), raw.get("edited"), zone) if edited else None,
        attachments=attachments,
        notes=notes,
    )


def _author(raw: dict[str, Any]) -> LegacyAuthor:
    name = raw.get("from")
    key = str(raw.get("from_id") or "")
    return LegacyAuthor(key=key, name=str(name) if name else DELETED_ACCOUNT)


def _moment(unixtime: Any, local: Any, zone: tzinfo) -> datetime | None:
    try:
        if unixtime not in (None, ""):
            return datetime.fromtimestamp(int(unixtime), UTC)
        if isinstance(local, str):
            parsed = datetime.fromisoformat(local)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def text_of(value: Any) -> str:
    """The plain text of a message: a string, or pieces (strings and entities) joined."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return ""
    parts: list[str] = []
    for piece in value:
        if isinstance(piece, str):
            parts.append(piece)
        elif isinstance(piece, dict):
            text = str(piece.get("text", ""))
            href = piece.get("href")
            parts.append(f"{text} ({href})" if isinstance(href, str) and href != text else text)
    return "".join(parts)


def _media(raw: dict[str, Any], base: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    attachments: list[str] = []
    notes: list[str] = []
    kind = MEDIA_NAMES.get(str(raw.get("media_type", "")), "Файл")
    for field, label in (("photo", "Фото"), ("file", kind)):
        value = raw.get(field)
        if not isinstance(value, str) or not value:
            continue
        if value.startswith("("):  # "(File not included. Change data exporting settings to download.)"
            notes.append(f"[{label}: не вошло в выгрузку]")
        else:
            attachments.append(join(base, value) or value)
    if raw.get("media_type") == "sticker" and not attachments and not notes:
        notes.append(f"[Стикер {raw.get('sticker_emoji', '')}]".replace(" ]", "]"))
    if isinstance(raw.get("poll"), dict):
        notes.append(f"[Опрос: {raw['poll'].get('question', '')}]")
    if raw.get("forwarded_from"):
        notes.insert(0, f"[Переслано от: {raw['forwarded_from']}]")
    return tuple(attachments), tuple(notes)
