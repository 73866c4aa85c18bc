"""From legacy messages to Parta messages: keys, attachments, texts cut to size.

Blocking helpers (``store_file``) run in worker threads; nothing here touches
the database.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable
from dataclasses import dataclass

from parta import media
from parta.errors import InvalidInput, PartaError, StorageFull
from parta.migration.history.archive import ExportTree
from parta.migration.history.model import LegacyAuthor, LegacyChat, LegacyMessage

MAX_AUTHOR_NAME = 128
MAX_KEY = 128
# C0 controls but tab, newline and carriage return, and DEL: legacy texts have them,
# PostgreSQL refuses NUL and the rest only garble what people see.
_CONTROL = {c: None for c in [*range(0, 9), 11, 12, *range(14, 32), 127]}


# --- Keys -----------------------------------------------------------------------------


def message_key(export: LegacyChat, legacy_id: str, part: int = 0) -> str:
    key = f"{export.key_prefix}:{legacy_id}" + (f"#{part}" if part else "")
    if len(key) <= MAX_KEY:
        return key
    return f"{export.key_prefix[:40]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def client_msg_id(chat_id: int, key: str) -> str:
    # Unique per (sender, client_msg_id) like every message; the chat is part of it
    # because the same export may be imported into two chats.
    return f"import-{chat_id}-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


# --- Attachments ----------------------------------------------------------------------


@dataclass(frozen=True)
class FileOutcome:
    stored: media.Stored | None
    note: str = ""  # what the text says instead, when the file is not stored
    problem: str = ""  # a report line, when the file was refused
    missing: bool = False


def store_file(store: media.LocalMediaStore, tree: ExportTree, path: str, limit: int) -> FileOutcome:
    """Check and store one attachment (blocking: runs in a worker thread)."""
    name = posixpath.basename(path)
    size = tree.size(path)
    if size is None:
        return FileOutcome(None, note=f"[Файл не найден в выгрузке: {name}]", missing=True)
    if size > limit:
        note = f"[Файл {name} не перенесён: слишком большой]"
        return FileOutcome(None, note=note, problem=_too_large(name, limit))
    try:
        with tree.open(path) as file:
            if size == 0:
                raise InvalidInput("Файл пустой.")
            kind = media.detect_kind(file, media.ANY_FILE)
            facts = media.describe_image(file) if kind.is_image else None
            sha256 = store.put_file(file)
    except StorageFull:
        raise  # the whole import stops: a rerun once there is room brings every file
    except PartaError as exc:
        return FileOutcome(
            None, note=f"[Файл {name} не перенесён]", problem=f"Вложение {name}: {exc.message}"
        )
    thumbnail = store.put(facts.thumbnail) if facts is not None else None
    return FileOutcome(
        media.Stored(
            kind=kind,
            name=media.clean_name(name, kind),
            size=size,
            sha256=sha256,
            width=facts.width if facts else None,
            height=facts.height if facts else None,
            thumbnail_sha256=thumbnail,
        )
    )


def check_file(tree: ExportTree, path: str, limit: int) -> FileOutcome:
    """What ``store_file`` would find, by size alone (dry runs)."""
    size = tree.size(path)
    if size is None:
        return FileOutcome(None, missing=True)
    if size > limit:
        return FileOutcome(None, problem=_too_large(posixpath.basename(path), limit))
    return FileOutcome(None)


def _too_large(name: str, limit: int) -> str:
    size = f"{limit // media.CHUNK} МБ" if limit >= media.CHUNK else f"{max(1, limit // 1024)} КБ"
    return f"Вложение {name} больше {size}: не перенесено."


# --- Composing messages ---------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One Parta message made from a legacy message (long texts and extra files make more)."""

    key: str
    text: str
    file: FileOutcome | None


def compose(
    message: LegacyMessage, files: dict[str, FileOutcome], *, max_length: int, key: Callable[[int], str]
) -> list[Unit]:
    """The legacy message as Parta messages: the text with its notes (cut into parts
    of the allowed length), the first file on the first part, other files after it."""
    notes = [*message.notes]
    kept: list[FileOutcome] = []
    for path in message.attachments:
        found = files[path]
        if found.stored is not None:
            kept.append(found)
        else:
            notes.append(found.note)
    text = "\n".join(part for part in (message.text.strip(), *filter(None, notes)) if part)
    text = text.translate(_CONTROL)
    pieces = [text[i : i + max_length] for i in range(0, len(text), max_length)] or [""]
    units = [Unit(key(n), piece, None) for n, piece in enumerate(pieces)]
    if kept:
        units[0] = Unit(units[0].key, units[0].text, kept[0])
    units += [Unit(key(len(pieces) + n), "", f) for n, f in enumerate(kept[1:])]
    return [u for u in units if u.text.strip() or u.file is not None]


def author_name(author: LegacyAuthor) -> str:
    return " ".join(author.name.translate(_CONTROL).split())[:MAX_AUTHOR_NAME] or "Без имени"
