"""Reading the tables schools send us: CSV (UTF-8 or Windows-1251, ``;`` or ``,``) and XLSX.

Shared by every import (roster, chat manifests, region files). A table's first
non-empty row is its header; columns are found by name (any order, extra
columns ignored), so each import passes its own spellings. ``read_table``
takes a whole upload in memory (bounded by ``MAX_FILE_BYTES``);
``stream_csv`` reads a file from disk row by row for region files far larger
than any upload.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]

from parta.errors import ErrorCode, InvalidInput, PayloadTooLarge

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 32  # a sheet may be wide with notes; the wanted columns come first in practice
SNIFF_BYTES = 64 * 1024  # enough of a streamed file to tell its encoding

Row = tuple[int, dict[str, str]]  # (line of the file, column key -> text)


def bad_file(message: str) -> InvalidInput:
    return InvalidInput(message, field="file")


def file_empty() -> InvalidInput:
    return InvalidInput("Файл пустой.", code=ErrorCode.file_empty, field="file")


def header_key(cell: str) -> str:
    """A header or keyword as compared: lowercased, ё as е, whitespace collapsed."""
    return " ".join(cell.lower().replace("ё", "е").split())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed into a numeric cell
    return str(value).strip()


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


def _xlsx_table(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a damaged archive or XML fails in many ways, all meaning "not a workbook"
        raise bad_file("Не удалось прочитать файл XLSX.") from None
    try:
        sheet = book.worksheets[0]
        rows: list[tuple[int, list[str]]] = []
        for line, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            rows.append((line, [_cell(v) for v in values]))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except Exception:
        raise bad_file("Не удалось прочитать файл XLSX.") from None
    finally:
        book.close()


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
    ``file``: unreadable, wrong encoding, no header, too many rows).
    """
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge(f"Файл больше {MAX_FILE_BYTES // (1024 * 1024)} МБ.")
    if not data.strip():
        raise file_empty()
    is_xlsx = data.startswith(b"PK\x03\x04")
    table: Iterable[tuple[int, list[str]]] = _xlsx_table(data) if is_xlsx else _csv_table(data)
    rows: list[Row] = []
    for row in rows_of(table, names, required):
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise bad_file(f"Не больше {MAX_ROWS} строк в одном файле.")
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
