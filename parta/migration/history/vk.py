"""VK's personal data archive: ``messages/<peer_id>/messages0.html``, ``messages50.html``...

Requested at vk.com/data_protection ("Запросить архив"). Each conversation is a
folder of HTML pages in Windows-1251, 50 messages a page. A message is a
``div.message`` with ``data-id``; its ``div.message__header`` holds the author
(a link to their page, or "Вы" for the archive's owner) and the local date,
"12 мар 2024 в 18:05:11", followed by "(ред.)" when edited; the next ``div``
holds the text (``<br>`` for line breaks) and ``div.kludges`` with the
attachments, each a ``div.attachment`` with ``div.attachment__description``
("Фотография", "Документ"...) and an ``a.attachment__link``.

The archive carries no media, only links to VK's servers: such attachments are
kept as notes with their link. A link to a file inside the archive (someone
downloaded them next to the pages) is imported as a file. The archive has no
edit dates and no reply references: an edited message is marked edited at its
own date; replies are not linked.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from html.parser import HTMLParser

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

PAGE = re.compile(r"(?:^|/)messages(\d+)\.html$")
MONTHS = {
    "янв": 1, "фев": 2, "мар": 3, "апр": 4, "мая": 5, "май": 5, "июн": 6,
    "июл": 7, "авг": 8, "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
}  # fmt: skip
DATE = re.compile(r"(\d{1,2})\s+([а-я]{3})\s+(\d{4})\s+в\s+(\d{1,2}):(\d{2}):(\d{2})")
EDITED = "(ред.)"
OWNER_KEY = "self"
OWNER_NAME = "Владелец архива ВКонтакте"
MAX_PAGE_BYTES = 20 * 1024 * 1024


@dataclass
class _Attachment:
    description: list[str] = field(default_factory=list)
    href: str = ""


@dataclass
class _Raw:
    """A message as found on a page, before its header is understood."""

    data_id: str
    header: list[str] = field(default_factory=list)
    author_href: str = ""
    author_name: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    attachments: list[_Attachment] = field(default_factory=list)


class _PageParser(HTMLParser):
    """Collects the ``div.message`` blocks of one page (and the chat's name from the crumbs).

    Each ``div`` opens a part of the page (the header, the body, the kludges, an
    attachment's description...); its end restores the part around it.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.messages: list[_Raw] = []
        self.crumbs: list[str] = []
        self._part = ""
        self._outer: list[str] = []
        self._in_author = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag == "br" and self._part == "body":
            self.messages[-1].body.append("\n")
        elif tag == "a":
            self._link(values.get("href") or "", classes)
        elif tag == "div":
            self._outer.append(self._part)
            self._part = self._div_part(classes, values.get("data-id") or "")

    def _div_part(self, classes: list[str], data_id: str) -> str:
        if "message" in classes:
            self.messages.append(_Raw(data_id=data_id))
            return "message"
        if "ui_crumb" in classes:
            self.crumbs.append("")
            return "crumb"
        if self._part not in ("message", "body", "kludges", "attachment"):
            return self._part
        if "message__header" in classes:
            return "header"
        if "kludges" in classes:
            return "kludges"
        if "attachment" in classes:
            self.messages[-1].attachments.append(_Attachment())
            return "attachment"
        if "attachment__description" in classes:
            return "description"
        return "body" if self._part == "message" else self._part

    def _link(self, href: str, classes: list[str]) -> None:
        if self._part == "header" and not self.messages[-1].author_href:
            self.messages[-1].author_href, self._in_author = href, True
        elif "attachment__link" in classes and self._part == "attachment":
            self.messages[-1].attachments[-1].href = href

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_author = False
        elif tag == "div" and self._outer:
            self._part = self._outer.pop()

    def handle_data(self, data: str) -> None:
        if self._part == "crumb":
            self.crumbs[-1] += data
        elif self._part == "header":
            raw = self.messages[-1]
            (raw.author_name if self._in_author else raw.header).append(data)
        elif self._part == "body":
            self.messages[-1].body.append(data)
        elif self._part == "description":
            self.messages[-1].attachments[-1].description.append(data)


def find_pages(tree: ExportTree) -> list[str]:
    """The pages of the one conversation in the tree, in any order.

    Raises ``history_format_invalid`` when there are none or several conversations.
    """
    pages = [n for n in tree.names() if PAGE.search(n)]
    folders = sorted({posixpath.dirname(n) for n in pages})
    if not folders:
        raise format_invalid("В архиве ВКонтакте нет страниц messages*.html.")
    if len(folders) > 1:
        peers = ", ".join(posixpath.basename(f) or "/" for f in folders[:10])
        raise format_invalid(
            f"В архиве несколько переписок ({peers}). Выберите папку одной: messages/<номер>."
        )
    return pages


def _decode(data: bytes, name: str) -> str:
    # Real Windows-1251 Russian text is practically never valid UTF-8, so an archive
    # re-saved in UTF-8 by an editor is read right too.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise encoding_invalid(f"{name}: страница не в кодировке Windows-1251.") from None


def _read_page(tree: ExportTree, name: str) -> _PageParser:
    size = tree.size(name) or 0
    if size > MAX_PAGE_BYTES:
        raise format_invalid(f"{name}: страница больше {MAX_PAGE_BYTES // (1024 * 1024)} МБ.")
    with tree.open(name) as page:
        text = _decode(page.read(), name)
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return parser


def parse(tree: ExportTree, zone: tzinfo) -> LegacyChat:
    """The conversation in ``tree``: every page read (text only), sorted by date.

    VK lists the newest messages first; sorting by (date, id) puts them in the
    order they were written whatever the page order.
    """
    pages = find_pages(tree)
    folder = posixpath.dirname(pages[0])
    entries: list[tuple[datetime, int, Entry]] = []
    title = ""
    for name in pages:
        parser = _read_page(tree, name)
        title = title or (parser.crumbs[-1].strip() if parser.crumbs else "")
        for raw in parser.messages:
            entry = _entry(raw, tree, folder, zone)
            moment = entry.sent_at if isinstance(entry, LegacyMessage) else datetime.min.replace(tzinfo=zone)
            entries.append((moment, int(raw.data_id) if raw.data_id.isdigit() else 0, entry))
    if not entries:
        raise format_invalid("На страницах архива ВКонтакте нет сообщений.")
    entries.sort(key=lambda item: (item[0], item[1]))
    ordered = [entry for _, _, entry in entries]

    def iterate() -> Iterator[Entry]:
        return iter(ordered)

    # The conversation folder is named by the peer id; given as the tree itself, by its own name.
    peer = posixpath.basename(folder) or getattr(tree, "root_name", "") or "peer"
    return LegacyChat(
        source="vk", key_prefix=f"vk:{peer}", title=title or "Переписка ВКонтакте", entries=iterate
    )


def _entry(raw: _Raw, tree: ExportTree, folder: str, zone: tzinfo) -> Entry:
    header = " ".join("".join(raw.header).split())
    legacy_id = raw.data_id or "h" + hashlib.sha256((header + "".join(raw.body)).encode()).hexdigest()[:24]
    sent_at = _date(header, zone)
    if sent_at is None:
        return Skipped(legacy_id, "Не читается дата сообщения.")
    attachments: list[str] = []
    notes: list[str] = []
    for attachment in raw.attachments:
        description = " ".join("".join(attachment.description).split()) or "Вложение"
        inside = join(folder, attachment.href) if attachment.href and "://" not in attachment.href else None
        if inside is not None and tree.size(inside) is not None:
            attachments.append(inside)
        else:
            notes.append(f"[{description}: {attachment.href}]" if attachment.href else f"[{description}]")
    return LegacyMessage(
        legacy_id=legacy_id,
        author=_author(raw),
        sent_at=sent_at,
        text=_body(raw.body),
        edited_at=sent_at if EDITED in header else None,
        attachments=tuple(attachments),
        notes=tuple(notes),
    )


def _author(raw: _Raw) -> LegacyAuthor:
    name = " ".join("".join(raw.author_name).split())
    if not raw.author_href:
        return LegacyAuthor(key=OWNER_KEY, name=OWNER_NAME)
    key = raw.author_href.rstrip("/").rsplit("/", 1)[-1]
    return LegacyAuthor(key=key, name=name or key)


def _date(header: str, zone: tzinfo) -> datetime | None:
    match = DATE.search(header.lower())
    if match is None or match.group(2) not in MONTHS:
        return None
    day, _, year, hour, minute, second = match.groups()
    try:
        return datetime(
            int(year), MONTHS[match.group(2)], int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError:
        return None


def _body(parts: list[str]) -> str:
    lines = "".join(parts).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip()
