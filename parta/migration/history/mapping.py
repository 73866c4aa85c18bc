"""The mapping file: who a legacy author is in Parta, by phone.

A CSV file (UTF-8 or Windows-1251, ``;`` or ``,``), one author a line:
``legacy author id or name;phone``. The id is what the export calls the
author (``user123456`` in Telegram, ``id123456`` in VK, ``author.legacy_id``
in the JSON format); the name is matched when the id is not, ignoring case
and ``ё``. "Вы" stands for the owner of a VK archive. A header line, empty
lines and lines whose phone cannot be read are skipped and reported.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field

from parta.errors import ErrorCode, InvalidInput, PartaError
from parta.migration.history import vk
from parta.migration.history.model import LegacyAuthor
from parta.phones import normalize_phone

MAX_MAPPING_BYTES = 1024 * 1024


def key_of(value: str) -> str:
    return " ".join(value.casefold().replace("ё", "е").split())


@dataclass
class Mapping:
    phones: dict[str, str] = field(default_factory=dict)  # key_of(id or name) -> phone
    problems: list[str] = field(default_factory=list)

    def phone_for(self, author: LegacyAuthor) -> str | None:
        """The author's phone: from the mapping (by id, then by name), else the export's own."""
        for key in (author.key, author.name):
            if key and key_of(key) in self.phones:
                return self.phones[key_of(key)]
        return author.phone


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for encoding in ("utf-8", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        "Файл соответствия не в кодировке UTF-8 или Windows-1251.",
        code=ErrorCode.history_encoding_invalid,
        field="mapping",
    )


def read_mapping(data: bytes | None) -> Mapping:
    """The mapping file's authors; an empty mapping without a file.

    Raises ``invalid_request`` (field ``mapping``: too large) and
    ``history_encoding_invalid``.
    """
    mapping = Mapping()
    if not data:
        return mapping
    if len(data) > MAX_MAPPING_BYTES:
        raise InvalidInput("Файл соответствия больше 1 МБ.", field="mapping")
    text = _decode(data)
    first = text.lstrip().split("\n", 1)[0]
    delimiter = ";" if ";" in first or "," not in first else ","
    for line, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
        cells = [c.strip() for c in row]
        if len(cells) < 2 or not cells[0] or not cells[1]:
            continue
        try:
            phone = normalize_phone(cells[1])
        except PartaError:
            if line > 1:  # the first line may be a header
                mapping.problems.append(f"Файл соответствия, строка {line}: неверный телефон «{cells[1]}».")
            continue
        key = vk.OWNER_KEY if key_of(cells[0]) == "вы" else cells[0]
        mapping.phones[key_of(key)] = phone
    return mapping
