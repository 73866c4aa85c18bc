"""History import from legacy messengers: Telegram Desktop, the VK archive, Parta's JSON.

``load_export`` finds what an export is and parses it (``telegram``, ``vk``,
``generic``) into plain ``LegacyMessage`` values; ``core.import_history``
writes them into a chat of an organization. See docs/ru/migration-guide.md.
"""

from __future__ import annotations

import posixpath
from datetime import timedelta, timezone, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parta.config import Settings
from parta.migration.history import generic, telegram, vk
from parta.migration.history.archive import DirTree, ExportTree, SingleFileTree, is_zip, open_zip
from parta.migration.history.core import Loader
from parta.migration.history.model import LegacyChat, format_invalid

# Where a name is given with an upload: (file name, seekable file).
Source = Path | tuple[str, IO[bytes]]


class ExportFormat(StrEnum):
    telegram = "telegram"
    vk = "vk"
    json = "json"


def _json(tree: ExportTree, zone: tzinfo, fmt: ExportFormat | None) -> LegacyChat:
    name = telegram.find_result(tree) or generic.find_json(tree)
    if name is None:
        raise format_invalid("В выгрузке нет файла JSON.")
    data = telegram.load_json(tree, name)
    if fmt is ExportFormat.json or (fmt is None and generic.looks_like(data)):
        return generic.parse(tree, name, data)
    if fmt is ExportFormat.telegram or telegram.looks_like(data):
        return telegram.from_data(name, data, zone)
    raise format_invalid("Не удалось определить формат JSON: это не выгрузка Telegram и не формат Парты.")


def load_export(tree: ExportTree, zone: tzinfo, fmt: ExportFormat | None = None) -> LegacyChat:
    """The export in ``tree`` as a chat: of the given format, or the one recognised.

    Raises ``history_format_invalid`` and ``history_encoding_invalid`` (field ``file``).
    """
    names = tree.names()
    has_json = any(n.lower().endswith(".json") for n in names)
    has_pages = any(vk.PAGE.search(n) for n in names)
    if fmt is ExportFormat.vk or (fmt is None and has_pages and not has_json):
        return vk.parse(tree, zone)
    if fmt is not None or has_json:
        return _json(tree, zone, fmt)
    single = names[0] if len(names) == 1 else ""
    if posixpath.splitext(single)[1].lower() in (".html", ".htm"):
        raise format_invalid("Страница ВКонтакте должна называться messages<число>.html.")
    raise format_invalid("Не удалось определить формат выгрузки: нужен Telegram, архив ВКонтакте или JSON.")


def export_zone(settings: Settings) -> tzinfo:
    """The zone of exports that write local times without one (VK, old Telegram)."""
    try:
        return ZoneInfo(settings.history_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=3))  # Moscow time, the usual case


def open_tree(source: Source, settings: Settings) -> ExportTree:
    """A folder, a zip archive (checked) or a single file, as an export tree."""
    if isinstance(source, Path) and source.is_dir():
        return DirTree(source)
    name, file = (source.name, source.open("rb")) if isinstance(source, Path) else source
    if is_zip(file):
        return open_zip(
            file,
            max_entries=settings.history_max_archive_entries,
            max_unpacked=settings.history_max_unpacked_bytes,
        )
    return SingleFileTree(name, file)


def loader(source: Source, settings: Settings, fmt: ExportFormat | None = None) -> Loader:
    """Opens and parses the export when called (after the import's access check)."""

    def load() -> tuple[ExportTree, LegacyChat]:
        tree = open_tree(source, settings)
        return tree, load_export(tree, export_zone(settings), fmt)

    return load


__all__ = ["ExportFormat", "LegacyChat", "Source", "load_export", "loader", "open_tree"]
