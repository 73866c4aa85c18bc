"""The files of an export: a folder on the server, a checked zip archive, or one file.

Paths inside an export are relative and use ``/``. A path that is absolute or
climbs out with ``..`` names nothing, whichever the source, so an export cannot
make the import read a file outside itself. A zip is checked in full before any
of it is read (``open_zip``): unsafe names and symlinks, too many entries, too
much unpacked data and suspicious compression ratios are refused with their
own codes.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Final, Protocol, cast

from parta.errors import ErrorCode, InvalidInput, PayloadTooLarge

# A ratio deflate never reaches on real photos or documents; text compresses
# 5-20 times. Small entries are let through: they cannot hurt.
MAX_RATIO: Final = 100
RATIO_CHECKED_FROM: Final = 1024 * 1024
SPOOL_BYTES: Final = 8 * 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


class ExportTree(Protocol):
    def names(self) -> list[str]:
        """Every file's path, relative, with ``/``."""
        ...

    def size(self, name: str) -> int | None:
        """The file's size, None if there is no such file."""
        ...

    def open(self, name: str) -> IO[bytes]:
        """A seekable binary file; ``KeyError`` if there is no such file."""
        ...


def normalize(path: str) -> str | None:
    """A relative export path in one spelling; None if absolute or climbing out."""
    path = path.replace("\\", "/")
    if not path or path.startswith("/") or _DRIVE.match(path):
        return None
    if ".." in path.split("/"):
        return None
    cleaned = posixpath.normpath(path)
    return None if cleaned in (".", "") else cleaned


def join(base: str, relative: str) -> str | None:
    """``relative`` (as written in an export file) inside the folder ``base``."""
    rel = normalize(relative)
    if rel is None:
        return None
    return rel if not base else normalize(f"{base}/{rel}")


class DirTree:
    """An export unpacked in a folder on the server (the command line)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root_name = self.root.name

    def _path(self, name: str) -> Path | None:
        rel = normalize(name)
        if rel is None:
            return None
        path = (self.root / rel).resolve()
        # resolve() follows symlinks: one pointing out of the export is refused here.
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    def names(self) -> list[str]:
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and not p.is_symlink()
        )

    def size(self, name: str) -> int | None:
        path = self._path(name)
        return path.stat().st_size if path is not None else None

    def open(self, name: str) -> IO[bytes]:
        path = self._path(name)
        if path is None:
            raise KeyError(name)
        return path.open("rb")


class SingleFileTree:
    """One uploaded or given file (a JSON export without media, one VK page)."""

    def __init__(self, name: str, file: IO[bytes]) -> None:
        self.name = normalize(Path(name.replace("\\", "/")).name) or "export"
        self.file = file

    def names(self) -> list[str]:
        return [self.name]

    def size(self, name: str) -> int | None:
        if normalize(name) != self.name:
            return None
        self.file.seek(0, 2)
        return self.file.tell()

    def open(self, name: str) -> IO[bytes]:
        if normalize(name) != self.name:
            raise KeyError(name)
        self.file.seek(0)
        return cast(IO[bytes], _Unclosed(self.file))


class _Unclosed:
    """The shared upload as a file whose ``close`` leaves it open for the next reader."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def __getattr__(self, name: str) -> object:
        return getattr(self._file, name)

    def __enter__(self) -> _Unclosed:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def close(self) -> None:
        return None


class ZipTree:
    """A zip archive that passed ``open_zip``'s checks."""

    def __init__(self, archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> None:
        self.archive = archive
        self.entries = entries

    def names(self) -> list[str]:
        return sorted(self.entries)

    def size(self, name: str) -> int | None:
        rel = normalize(name)
        info = self.entries.get(rel) if rel is not None else None
        return info.file_size if info is not None else None

    def open(self, name: str) -> IO[bytes]:
        rel = normalize(name)
        info = self.entries.get(rel) if rel is not None else None
        if info is None:
            raise KeyError(name)
        # Entries are read once into a spooled copy: readers seek (type
        # detection, thumbnails), which a compressed stream does badly, and a big
        # video goes to a temporary file instead of memory.
        copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        with self.archive.open(info) as source:
            shutil.copyfileobj(source, copy)
        copy.seek(0)
        return copy

    def close(self) -> None:
        self.archive.close()


def _archive_error(message: str, code: ErrorCode) -> InvalidInput:
    return InvalidInput(message, code=code, field="file")


def _check_entry(info: zipfile.ZipInfo) -> str | None:
    """The entry's clean name (None for a folder); raises for an unsafe or encrypted entry."""
    if (info.external_attr >> 16) and stat.S_ISLNK(info.external_attr >> 16):
        raise _archive_error(f"В архиве ссылка вместо файла: {info.filename}", ErrorCode.archive_unsafe_path)
    name = normalize(info.filename)
    if name is None:
        raise _archive_error(f"Недопустимый путь в архиве: {info.filename}", ErrorCode.archive_unsafe_path)
    if info.flag_bits & 0x1:
        raise _archive_error("Архив защищён паролем: распакуйте его без пароля.", ErrorCode.archive_invalid)
    if info.is_dir():
        return None
    compressed = max(info.compress_size, 1)
    if info.file_size >= RATIO_CHECKED_FROM and info.file_size / compressed > MAX_RATIO:
        raise _archive_error(
            f"Файл {info.filename} сжат подозрительно сильно: архив отклонён.", ErrorCode.archive_bomb
        )
    return name


def open_zip(file: IO[bytes], *, max_entries: int, max_unpacked: int) -> ZipTree:
    """The archive as a tree, after checking every entry; nothing is unpacked yet.

    Raises ``archive_invalid`` (not a zip, encrypted), ``archive_unsafe_path``
    (absolute names, ``..``, symlinks), ``archive_too_many_files``,
    ``archive_too_large`` (unpacked size over ``max_unpacked``), ``archive_bomb``.
    """
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise _archive_error("Файл не является архивом ZIP.", ErrorCode.archive_invalid) from None
    try:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise _archive_error(f"В архиве больше {max_entries} файлов.", ErrorCode.archive_too_many_files)
        entries: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = _check_entry(info)
            total += info.file_size
            if total > max_unpacked:
                raise PayloadTooLarge(
                    f"Распакованный архив больше {max_unpacked // (1024 * 1024)} МБ.",
                    code=ErrorCode.archive_too_large,
                )
            if name is not None:
                entries[name] = info
    except Exception:
        archive.close()
        raise
    return ZipTree(archive, entries)


def is_zip(file: IO[bytes]) -> bool:
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    return head in (b"PK\x03\x04", b"PK\x05\x06")
