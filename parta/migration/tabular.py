"""Reading the tables schools send us: CSV (UTF-8 or Windows-1251, ``;`` or ``,``) and XLSX.

Shared by every import (roster, chat manifests, region files). A table's first
non-empty row is its header; columns are found by name (any order, extra
columns ignored), so each import passes its own spellings. ``read_table``
takes a whole upload in memory (bounded by ``MAX_FILE_BYTES``);
``stream_csv`` reads a file from disk row by row for region files far larger
than any upload.

An XLSX file is a zip of XML parts, and a hostile one is cheap to make: a few
hundred kilobytes that unpack to gigabytes, a row of millions of empty cells,
millions of shared strings, entity bombs. A general reader (openpyxl) builds
every cell of a row and every shared string before we see any, which took
5 GB and four minutes for a 200 KB file. So the zip is checked first (parts,
unpacked size, compression ratio, paths), and then read here, streaming,
keeping only what an import uses: the first ``MAX_COLUMNS`` cells of the rows
of the first sheet and the shared strings those cells name. The XML parser
refuses any DTD, so no entity is ever expanded, and every element counts
against ``MAX_XML_ELEMENTS``.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import math
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar
from xml.parsers import expat

from parta.errors import ErrorCode, InvalidInput, PartaError, PayloadTooLarge

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from parta.db.tables import User

T = TypeVar("T")


async def read_as_admin(
    db: AsyncSession,
    actor: User,
    org_id: int,
    read: Callable[[], T],
    check: Callable[[], None] = lambda: None,
) -> T:
    """The organization's admin rights (and ``check``) first, so that someone who may not
    import learns nothing from the file's errors; then ``read``. A hostile workbook
    within the limits takes over a second of CPU to read: in a thread, so the event loop
    keeps serving everyone else, and outside any transaction, so SQLite's single writer
    is not held meanwhile. The caller checks the rights again in its own transaction."""
    from parta.orgs import core

    await core.load_org_for_admin(db, actor, org_id)
    check()
    await db.commit()  # ends the read
    return await asyncio.to_thread(read)


MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 32  # a sheet may be wide with notes; the wanted columns come first in practice
SNIFF_BYTES = 64 * 1024  # enough of a streamed file to tell its encoding
# XLSX: a roster of 5,000 rows unpacks to a few megabytes at a ratio of about 12.
XLSX_MAX_PARTS: Final = 1000
XLSX_MAX_UNPACKED: Final = 32 * 1024 * 1024
XLSX_MAX_RATIO: Final = 100  # unpacked / packed, for parts of XLSX_RATIO_FROM bytes or more
XLSX_RATIO_FROM: Final = 1024 * 1024
# Elements read in all the XML parts, empty rows and cells included (each costs a
# few microseconds): a roster of 5,000 rows of 10 filled cells has about 110,000,
# one of 32 columns with every text different about 500,000. A sheet "formatted"
# down to row 1,048,576 is refused in a second instead of read for minutes.
MAX_XML_ELEMENTS: Final = 500_000
MAX_CELL_CHARS: Final = 32_767  # Excel's own limit
OLE2_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # XLS, and XLSX with a password

Row = tuple[int, dict[str, str]]  # (line of the file, column key -> text)


def bad_file(message: str) -> InvalidInput:
    return InvalidInput(message, field="file")


def file_empty() -> InvalidInput:
    return InvalidInput("Файл пустой.", code=ErrorCode.file_empty, field="file")


def header_key(cell: str) -> str:
    """A header or keyword as compared: lowercased, ё as е, whitespace collapsed."""
    return " ".join(cell.lower().replace("ё", "е").split())


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else Windows-1251, which Excel writes in Russia."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise bad_file("Файл не в кодировке UTF-8 или Windows-1251.") from None


def _delimiter(first_line: str) -> str:
    # The header decides: names of columns contain neither separator.
    return ";" if first_line.count(";") >= first_line.count(",") and ";" in first_line else ","


def _csv_rows(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        for values in reader:
            yield reader.line_num, [v.strip() for v in values[:MAX_COLUMNS]]
    except csv.Error:
        raise bad_file(f"Не удалось прочитать CSV (строка {reader.line_num}).") from None


def _csv_table(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = decode(data)
    first = text.lstrip("\r\n").split("\n", 1)[0]
    return _csv_rows(io.StringIO(text, newline=""), _delimiter(first))


# -- XLSX ------------------------------------------------------------------------


def unreadable_xlsx(detail: str = "") -> InvalidInput:
    return bad_file("Не удалось прочитать файл XLSX." + (f" {detail}" if detail else ""))


def too_many_rows() -> InvalidInput:
    return bad_file(f"Не больше {MAX_ROWS} строк в одном файле.")


def _archive_error(message: str, code: ErrorCode) -> InvalidInput:
    return InvalidInput(message, code=code, field="file")


_DRIVE = re.compile(r"[A-Za-z]:")


def _is_unsafe(name: str) -> bool:
    parts = re.split(r"[\\/]", name)
    return name.startswith(("/", "\\")) or bool(_DRIVE.match(name)) or ".." in parts


def _check_archive(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook whose zip is hostile, from its directory alone (nothing unpacked).

    zipfile never unpacks more than a part's declared size (and then fails its
    CRC), so the declared sizes bound what reading can cost.
    """
    infos = archive.infolist()
    if len(infos) > XLSX_MAX_PARTS:
        message = f"В файле XLSX больше {XLSX_MAX_PARTS} частей: сохраните таблицу заново или как CSV."
        raise _archive_error(message, ErrorCode.archive_too_many_files)
    for info in infos:
        if _is_unsafe(info.filename):
            message = f"Файл XLSX повреждён или подделан: недопустимый путь {info.filename!r}."
            raise _archive_error(message, ErrorCode.archive_unsafe_path)
        if info.flag_bits & 0x1:
            raise unreadable_xlsx("Он защищён паролем: снимите защиту и сохраните его снова.")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= XLSX_RATIO_FROM and ratio > XLSX_MAX_RATIO:
            message = (
                "Файл XLSX сжат подозрительно сильно (как zip-бомба): сохраните таблицу заново или как CSV."
            )
            raise _archive_error(message, ErrorCode.archive_bomb)
    if sum(info.file_size for info in infos) > XLSX_MAX_UNPACKED:
        raise PayloadTooLarge(
            f"Распакованный файл XLSX больше {XLSX_MAX_UNPACKED // (1024 * 1024)} МБ: "
            "оставьте в нём один лист с нужными столбцами или сохраните его как CSV.",
            code=ErrorCode.archive_too_large,
        )


class _Enough(Exception):
    """Raised by a reader when the rest of a part is not needed."""


class _Reader:
    """Callbacks of the XML parser for one part. Every element costs one unit of
    the workbook's ``budget``; text is gathered only while ``collecting``."""

    def __init__(self, budget: list[int]) -> None:
        self.budget = budget  # one counter shared by the parts of a workbook
        self.parts: list[str] | None = None  # text of the value being kept
        self.collecting = False
        self.chars = 0
        self.phonetic = 0  # depth in <rPh>: reading hints for Japanese, not the text

    def spend(self) -> None:
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise too_many_elements()

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.spend()

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        if self.collecting and self.parts is not None:
            self.chars += len(data)
            if self.chars > MAX_CELL_CHARS:
                raise bad_file(f"В ячейке таблицы больше {MAX_CELL_CHARS} символов.")
            self.parts.append(data)

    def take(self) -> str:
        text = "".join(self.parts or ())
        self.parts, self.chars = None, 0
        return text.strip()


def too_many_elements() -> InvalidInput:
    return bad_file(
        "В таблице слишком много строк или ячеек, в том числе пустых: оставьте "
        "один лист с нужными столбцами или сохраните его как CSV."
    )


def _local(name: str) -> str:
    return name[name.rfind(" ") + 1 :]  # "namespace local", as the parser gives it


def _no_dtd(*_: object) -> None:
    # Excel never writes one; a DTD is only good for entity bombs and external entities.
    raise unreadable_xlsx("В нём объявлен DTD.")


def _parse(archive: zipfile.ZipFile, name: str, reader: _Reader) -> bool:
    """Feed one part to the reader; False if the reader stopped early."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    try:
        with archive.open(name) as part:
            parser.ParseFile(part)
    except _Enough:
        return False
    return True


class _Relationships(_Reader):
    """A ``.rels`` part: relationship id -> (type, target)."""

    def __init__(self, budget: list[int]) -> None:
        super().__init__(budget)
        self.found: dict[str, tuple[str, str]] = {}

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.spend()
        if _local(name) == "Relationship":
            self.found[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))

    def target(self, type_suffix: str) -> str | None:
        return next((t for kind, t in self.found.values() if kind.endswith(type_suffix)), None)


class _FirstSheet(_Reader):
    """``workbook.xml``: the relationship id of the first sheet."""

    def __init__(self, budget: list[int]) -> None:
        super().__init__(budget)
        self.rel_id: str | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.spend()
        if _local(name) == "sheet":
            # r:id, namespaced: "http://.../relationships id"
            self.rel_id = next((v for k, v in attrs.items() if " " in k and _local(k) == "id"), None)
            raise _Enough


_CELL_REF = re.compile(r"([A-Z]{1,3})[0-9]{1,7}")
_SHARED_INDEX = re.compile(r"[0-9]{1,9}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
Cells = dict[int, str | int]  # column -> text, or the index of a shared string


def _column(ref: str | None, default: int) -> int:
    match = _CELL_REF.fullmatch(ref or "")
    if match is None:
        return default  # no reference: the cell after the previous one
    column = 0
    for letter in match.group(1):
        column = column * 26 + ord(letter) - ord("A") + 1
    return column - 1


def _number(text: str) -> str:
    """A numeric cell as people typed it: a phone in a number cell is 79165550101, not 7.9E10."""
    if _INTEGER.fullmatch(text):
        return str(int(text))
    if not _DECIMAL.fullmatch(text):
        return text
    number = float(text)
    if not math.isfinite(number):
        return text
    return str(int(number)) if number.is_integer() else str(number)


def _value(kind: str, text: str) -> str | int:
    if kind == "s":  # the index of a shared string
        return int(text) if _SHARED_INDEX.fullmatch(text) else ""
    if kind == "n":
        return _number(text)
    return text  # inline and formula strings, booleans (1/0), errors (#N/A), ISO dates


class _SheetRows(_Reader):
    """A worksheet: its rows with content, each the first ``MAX_COLUMNS`` cells."""

    def __init__(self, budget: list[int]) -> None:
        super().__init__(budget)
        self.rows: list[tuple[int, Cells]] = []
        self.shared: set[int] = set()  # indexes of the shared strings the cells name
        self.line = 0
        self.cells: Cells = {}
        self.column = -1
        self.kind = "n"

    # The two handlers below run for every element of the sheet: spend() and
    # _local() are written out, which makes them a third faster.
    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise too_many_elements()
        tag = name[name.rfind(" ") + 1 :]
        if tag == "c":
            self.column = _column(attrs.get("r"), self.column + 1)
            self.kind = attrs.get("t", "n")
            self.parts = [] if self.column < MAX_COLUMNS else None
        elif tag == "row":
            ref = attrs.get("r", "")  # without a number: the row after the previous one
            self.line = int(ref) if 0 < len(ref) <= 7 and ref.isdecimal() else self.line + 1
            self.cells, self.column = {}, -1
        elif tag in ("v", "t"):  # the value, or the text of an inline string
            self.collecting = not self.phonetic
        elif tag == "rPh":
            self.phonetic += 1

    def end(self, name: str) -> None:
        tag = name[name.rfind(" ") + 1 :]
        if tag in ("v", "t"):
            self.collecting = False
        elif tag == "rPh":
            self.phonetic -= 1
        elif tag == "c" and self.parts is not None:
            value = _value(self.kind, self.take())
            if value != "":
                self.cells[self.column] = value
                if isinstance(value, int):
                    self.shared.add(value)
        elif tag == "row" and self.cells:
            self.rows.append((self.line, self.cells))
            if len(self.rows) > MAX_ROWS + 1:  # the header and more rows than allowed
                raise _Enough


class _SharedStrings(_Reader):
    """``sharedStrings.xml``: the strings of ``wanted`` indexes, read no further than the last."""

    def __init__(self, budget: list[int], wanted: set[int]) -> None:
        super().__init__(budget)
        self.wanted = wanted
        self.last = max(wanted)
        self.found: dict[int, str] = {}
        self.index = -1

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.spend()
        tag = _local(name)
        if tag == "si":
            self.index += 1
            if self.index > self.last:
                raise _Enough
            self.parts = [] if self.index in self.wanted else None
        elif tag == "t":
            self.collecting = not self.phonetic
        elif tag == "rPh":
            self.phonetic += 1

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag == "t":
            self.collecting = False
        elif tag == "rPh":
            self.phonetic -= 1
        elif tag == "si" and self.parts is not None:
            self.found[self.index] = self.take()


def _resolve(base: str, target: str) -> str:
    """A relationship's target as a name in the archive (targets are relative to their part)."""
    return posixpath.normpath(target[1:] if target.startswith("/") else posixpath.join(base, target))


def _relationships(archive: zipfile.ZipFile, part: str, budget: list[int]) -> _Relationships:
    folder, name = posixpath.split(part)
    rels = _Relationships(budget)
    _parse(archive, posixpath.join(folder, "_rels", f"{name}.rels"), rels)
    return rels


def _locate(archive: zipfile.ZipFile, budget: list[int]) -> tuple[str, str | None]:
    """The first sheet's part and the shared strings' part (None if there are none)."""
    workbook = _resolve("", _relationships(archive, "", budget).target("/officeDocument") or "")
    first = _FirstSheet(budget)
    _parse(archive, workbook, first)
    rels = _relationships(archive, workbook, budget)
    folder = posixpath.dirname(workbook)
    sheet = rels.found.get(first.rel_id or "", ("", ""))[1]
    if not sheet:
        raise unreadable_xlsx("В нём нет листов.")
    strings = rels.target("/sharedStrings")
    return _resolve(folder, sheet), _resolve(folder, strings) if strings else None


def _xlsx_table(data: bytes) -> list[tuple[int, list[str]]]:
    budget = [MAX_XML_ELEMENTS]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_archive(archive)
            sheet_part, strings_part = _locate(archive, budget)
            sheet = _SheetRows(budget)
            if not _parse(archive, sheet_part, sheet):
                raise too_many_rows()
            strings: dict[int, str] = {}
            if sheet.shared and strings_part is not None:
                reader = _SharedStrings(budget, sheet.shared)
                _parse(archive, strings_part, reader)
                strings = reader.found
    except PartaError:
        raise
    except Exception:  # a damaged zip or XML fails in many ways, all meaning "not a workbook"
        raise unreadable_xlsx() from None
    table: list[tuple[int, list[str]]] = []
    for line, cells in sheet.rows:
        values = [""] * (max(cells) + 1)
        for column, value in cells.items():
            values[column] = strings.get(value, "") if isinstance(value, int) else value
        table.append((line, values))
    return table


def find_columns(header: list[str], names: Mapping[str, str], required: Mapping[str, str]) -> dict[str, int]:
    """Column key -> index, from the header's spellings (``names``: spelling -> key).

    Raises ``invalid_request`` (field ``file``) naming the ``required`` columns missing.
    """
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = names.get(header_key(cell))
        if key is not None and key not in found:
            found[key] = index
    missing = [title for key, title in required.items() if key not in found]
    if missing:
        raise bad_file("В первой строке нет столбцов: " + ", ".join(missing) + ".")
    return found


def rows_of(
    table: Iterable[tuple[int, list[str]]], names: Mapping[str, str], required: Mapping[str, str]
) -> Iterator[Row]:
    """The data rows under the header, empty rows skipped; ``file_empty`` without a header."""
    columns: dict[str, int] | None = None
    for line, values in table:
        if not any(values):
            continue
        if columns is None:
            columns = find_columns(values, names, required)
            continue
        yield line, {key: values[i] if i < len(values) else "" for key, i in columns.items()}
    if columns is None:
        raise file_empty()


def read_table(data: bytes, names: Mapping[str, str], required: Mapping[str, str]) -> list[Row]:
    """An uploaded CSV or XLSX file's rows (at most ``MAX_ROWS``).

    Raises ``file_empty``, ``file_too_large``, ``invalid_request`` (field
    ``file``: unreadable, not a table, wrong encoding, no header, too many
    rows), and for an XLSX whose zip is hostile ``archive_bomb``,
    ``archive_too_large``, ``archive_too_many_files``, ``archive_unsafe_path``.
    """
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge(f"Файл больше {MAX_FILE_BYTES // (1024 * 1024)} МБ.")
    if not data.strip():
        raise file_empty()
    if data.startswith(OLE2_MAGIC):
        raise bad_file(
            "Это файл Excel 97–2003 (XLS) или защищённый паролем: сохраните таблицу "
            "как XLSX без пароля или как CSV."
        )
    is_xlsx = data.startswith(b"PK\x03\x04")
    if not is_xlsx and b"\0" in data:
        # Text has no NUL bytes; Windows-1251 would "decode" a picture into garbage.
        raise bad_file("Это не таблица: нужен файл CSV или XLSX.")
    table: Iterable[tuple[int, list[str]]] = _xlsx_table(data) if is_xlsx else _csv_table(data)
    rows: list[Row] = []
    for row in rows_of(table, names, required):
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise too_many_rows()
    return rows


def _file_encoding(path: Path) -> str:
    """The encoding of a file on disk, judged by its first ``SNIFF_BYTES``."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # Not final: the sample may end in the middle of a character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def stream_csv(path: Path, names: Mapping[str, str], required: Mapping[str, str]) -> Iterator[Row]:
    """A CSV file's rows read one at a time, so memory does not grow with the file.

    No row limit: the caller limits what it keeps. Raises what ``read_table``
    raises, ``invalid_request`` also for a file whose encoding changes midway.
    """
    encoding = _file_encoding(path)
    with path.open(encoding=encoding, newline="") as f:
        first = ""
        while not first.strip():
            first = f.readline()
            if not first:
                raise file_empty()
        f.seek(0)
        try:
            yield from rows_of(_csv_rows(f, _delimiter(first)), names, required)
        except UnicodeDecodeError:
            raise bad_file(f"Файл не в кодировке {encoding}: ошибка в середине файла.") from None
