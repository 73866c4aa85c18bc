"""Files and images: content-addressed storage, type checks, thumbnails, read access.

An upload is judged by its content, never by its name or the content type the
client claims. Its bytes are stored once per distinct content under
``media/ab/cd/<sha256>``; a ``files`` row describes it and belongs to a chat
(or to no chat: avatars). Who may read a file follows that row, see
``policy.can_read_file``.
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import hashlib
import io
import logging
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import filetype
from PIL import ExifTags, Image
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import accounts, policy
from parta.chats import load_member_chat, require, require_can_chat
from parta.clock import utcnow
from parta.config import Settings
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import Chat, Organization, StoredFile, User
from parta.errors import (
    ErrorCode,
    InvalidInput,
    PartaError,
    PayloadTooLarge,
    StorageFull,
    UnsupportedMedia,
    file_not_found,
)
from parta.orgs.core import OrgAccess
from parta.policy import ChatKind, ChatRole

log = logging.getLogger("parta.media")

CHUNK: Final = 1024 * 1024
SNIFF_BYTES: Final = 8192  # what `filetype` looks at
# 50 megapixels covers 48 MP phone cameras; decoded, that is about 200 MB (Pillow keeps
# four bytes a pixel), though a JPEG is decoded at a reduced scale for its thumbnail.
# Anything larger is far more likely a decompression bomb than a photo of homework.
MAX_IMAGE_PIXELS: Final = 50_000_000
# Pillow's WebP decoder holds about three copies of the picture (libwebp's canvases and
# its own): 750 MB at 50 megapixels. WebP comes from the web and from screenshots, far
# below this; at the limit a decode takes about what a 50-megapixel PNG does.
MAX_WEBP_PIXELS: Final = 16_000_000
# Every frame of an animation is a picture the viewer's device decodes: a GIF of
# thousands of frames is a bomb for phones even when each frame is small.
MAX_FRAMES: Final = 1000
MAX_ANIMATION_PIXELS: Final = 10 * MAX_IMAGE_PIXELS  # width x height x frames
THUMBNAIL_SIZE: Final = 320
MAX_NAME: Final = 255
# Pillow is only allowed to run these decoders on uploads: fewer parsers, less attack surface.
PILLOW_FORMATS: Final = ("JPEG", "PNG", "GIF", "WEBP")


# -- storage ---------------------------------------------------------------------------------------

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class LocalMediaStore:
    """Blobs on the local disk, named by the SHA-256 of their content.

    A blob is written to a temporary file and renamed into place, so a reader
    never sees half a blob and a crash leaves at most a stray file in ``tmp/``.
    Identical content is stored once. An S3-compatible store can offer the same
    methods later.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not _SHA256_HEX.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> IO[bytes]:
        return self.path(sha256).open("rb")

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256."""
        return self.put_file(io.BytesIO(data))

    def put_file(self, source: IO[bytes]) -> str:
        """Store the whole of a seekable file, read in chunks; returns its SHA-256.

        Raises ``storage_full`` (507) when the disk or the quota is full; the partial
        temporary file is removed, so nothing of the upload stays.
        """
        tmp: Path | None = None
        try:
            tmp_dir = self.root / "tmp"
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
            tmp = Path(tmp_name)
            digest = hashlib.sha256()
            source.seek(0)
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                # The database row that names this blob commits after we return:
                # it must never outlive the blob in a crash.
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            self._place(tmp, self.path(sha256))
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            log.error("no space left for files in %s: %s", self.root, exc)
            raise StorageFull() from exc
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        return sha256

    @staticmethod
    def _place(tmp: Path, target: Path) -> None:
        if target.exists():
            return  # same name, same content: stored before
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
        if os.name == "posix":
            fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def store_for(settings: Settings) -> LocalMediaStore:
    return LocalMediaStore(settings.media_dir)


# -- what may be uploaded --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileKind:
    mime_type: str
    # Names must end in one of these; the first is added to names that do not, so a
    # download never opens in the wrong program (a text file named "run.bat" runs).
    extensions: tuple[str, ...]

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


def _kind(mime_type: str, *extensions: str) -> FileKind:
    return FileKind(mime_type, extensions)


_OFFICE_EXTENSIONS = ("docx", "xlsx", "pptx", "odt", "ods", "odp")
TEXT: Final = _kind("text/plain", "txt", "csv", "md", "log")

# Keyed by the type `filetype` detects. What a school sends: photos, documents,
# worksheets in a zip, voice notes and short videos. Executables, scripts, disk
# images, fonts and the like are not here and answer `file_type_not_allowed`.
ALLOWED: Final[Mapping[str, FileKind]] = {
    "image/jpeg": _kind("image/jpeg", "jpg", "jpeg", "jfif"),
    "image/png": _kind("image/png", "png"),
    "image/apng": _kind("image/png", "png", "apng"),
    "image/gif": _kind("image/gif", "gif"),
    "image/webp": _kind("image/webp", "webp"),
    "application/pdf": _kind("application/pdf", "pdf"),
    "application/rtf": _kind("application/rtf", "rtf"),
    "application/msword": _kind("application/msword", "doc"),
    "application/vnd.ms-excel": _kind("application/vnd.ms-excel", "xls"),
    "application/vnd.ms-powerpoint": _kind("application/vnd.ms-powerpoint", "ppt"),
    **{
        mime: _kind(mime, ext)
        for mime, ext in (
            ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
            ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
            ("application/vnd.oasis.opendocument.text", "odt"),
            ("application/vnd.oasis.opendocument.spreadsheet", "ods"),
            ("application/vnd.oasis.opendocument.presentation", "odp"),
        )
    },
    # Office files are zips; one `filetype` cannot place keeps its name.
    "application/zip": _kind("application/zip", "zip", *_OFFICE_EXTENSIONS),
    "audio/mpeg": _kind("audio/mpeg", "mp3"),
    "audio/ogg": _kind("audio/ogg", "ogg", "oga", "opus"),
    "audio/mp4": _kind("audio/mp4", "m4a"),
    "audio/x-wav": _kind("audio/wav", "wav"),
    "video/mp4": _kind("video/mp4", "mp4", "m4v"),
    "video/webm": _kind("video/webm", "webm"),
    "video/quicktime": _kind("video/quicktime", "mov"),  # iPhone videos
    TEXT.mime_type: TEXT,
}


@dataclass(frozen=True)
class Accepted:
    """What one sort of upload may be, and what to tell someone whose file is none of it."""

    kinds: Mapping[str, FileKind]
    refusal: str


ANY_FILE: Final = Accepted(
    ALLOWED,
    "Такой тип файла нельзя отправить. Можно: изображения, PDF, документы Office, "
    "архивы ZIP, аудио, видео и текст в UTF-8.",
)
IMAGE_FILE: Final = Accepted(
    {m: k for m, k in ALLOWED.items() if k.is_image}, "Нужно изображение: JPEG, PNG, GIF или WebP."
)


def detect_kind(file: IO[bytes], accepted: Accepted) -> FileKind:
    """The kind of a file by its content; ``file_type_not_allowed`` unless accepted."""
    file.seek(0)
    guess = filetype.guess(file.read(SNIFF_BYTES))
    if guess is not None and guess.mime in accepted.kinds:
        return accepted.kinds[guess.mime]
    # Text has no magic number, and some text starts like one ("BM..." looks like
    # a bitmap to `filetype`): valid UTF-8 without NUL bytes is text.
    if TEXT.mime_type in accepted.kinds and _is_utf8_text(file):
        return TEXT
    raise UnsupportedMedia(accepted.refusal)


def _is_utf8_text(file: IO[bytes]) -> bool:
    file.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := file.read(CHUNK):
            if b"\0" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# -- images ----------------------------------------------------------------------------------------

# EXIF orientation -> the turn that shows the picture upright. Those of 90 degrees
# (5 to 8) swap width and height.
_UPRIGHT: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_TURNED: Final = frozenset({5, 6, 7, 8})
# Decoding takes memory in proportion to the pixels (at the limits about 200 MB for a
# PNG, 250 MB for a WebP) and CPU, of which a school's server has a core or two. More
# decodes at once would finish no sooner, so at most two run at a time and a burst of
# uploads cannot multiply the memory.
_DECODING: Final = threading.BoundedSemaphore(2)


@dataclass(frozen=True)
class ImageFacts:
    width: int  # as displayed, after the EXIF orientation
    height: int
    thumbnail: bytes  # JPEG


def image_invalid() -> InvalidInput:
    return InvalidInput("Изображение повреждено или не читается.", code=ErrorCode.image_invalid, field="file")


def image_too_large(limit: int = MAX_IMAGE_PIXELS) -> InvalidInput:
    return InvalidInput(
        f"Изображение больше {limit // 1_000_000} мегапикселей.",
        code=ErrorCode.image_too_large,
        field="file",
    )


def animation_too_large() -> InvalidInput:
    return InvalidInput(
        f"Анимация слишком большая: можно не больше {MAX_FRAMES} кадров "
        f"и {MAX_ANIMATION_PIXELS // 1_000_000} мегапикселей во всех кадрах вместе.",
        code=ErrorCode.image_too_large,
        field="file",
    )


def describe_image(file: IO[bytes]) -> ImageFacts:
    """Size and thumbnail of an image; ``image_invalid`` or ``image_too_large`` otherwise."""
    file.seek(0)
    try:
        with Image.open(file, formats=PILLOW_FORMATS) as img:
            _check_pixels(img, file)
            size = img.size  # the thumbnail is made in place
            with _DECODING:
                # Reading a PNG's EXIF decodes the whole picture (it may follow the pixels).
                orientation = img.getexif().get(ExifTags.Base.Orientation)
                if not isinstance(orientation, int):
                    orientation = None  # a damaged tag: show the picture as stored
                thumbnail = _thumbnail(img, orientation)
            width, height = size[::-1] if orientation in _TURNED else size
            return ImageFacts(width=width, height=height, thumbnail=thumbnail)
    except PartaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow refuses pictures over about 179 megapixels itself, while opening them and
        # so before our check (over 89 if its warning is made an error): same words.
        raise image_too_large() from exc
    except Exception as exc:
        # Decoders fail on broken or hostile input in many ways (OSError, SyntaxError,
        # ValueError, struct.error...); to the user they all mean the same.
        raise image_invalid() from exc


def _check_pixels(img: Image.Image, file: IO[bytes]) -> None:
    """Refuse a picture too big to decode, from its header alone: nothing is decoded yet."""
    pixels = img.width * img.height
    limit = MAX_WEBP_PIXELS if img.format == "WEBP" else MAX_IMAGE_PIXELS
    if pixels > limit:
        raise image_too_large(limit)
    frames = _gif_frames(file) if img.format == "GIF" else int(getattr(img, "n_frames", 1))
    if frames > MAX_FRAMES or frames * pixels > MAX_ANIMATION_PIXELS:
        raise animation_too_large()


def _gif_frames(file: IO[bytes]) -> int:
    """The frames of a GIF, counted from its block structure (no decoding), stopping
    past ``MAX_FRAMES``: Pillow's ``n_frames`` walks every frame, and a GIF of
    minimal frames can have a million."""
    position = file.tell()
    try:
        file.seek(10)  # "GIF89a", the screen's width and height
        flags = file.read(3)[:1]
        if flags and flags[0] & 0x80:
            file.seek(3 << ((flags[0] & 7) + 1), os.SEEK_CUR)  # global colour table
        frames = 0
        while frames <= MAX_FRAMES:
            block = file.read(1)
            if block == b"\x2c":  # an image: descriptor, local colour table, LZW code size, data
                frames += 1
                descriptor = file.read(9)
                if len(descriptor) == 9 and descriptor[8] & 0x80:
                    file.seek(3 << ((descriptor[8] & 7) + 1), os.SEEK_CUR)
                file.seek(1, os.SEEK_CUR)
                _skip_sub_blocks(file)
            elif block == b"\x21":  # an extension: its label, then data
                file.seek(1, os.SEEK_CUR)
                _skip_sub_blocks(file)
            else:  # the trailer, the end of the data, or damage the decoder will find
                break
        return frames
    finally:
        file.seek(position)


def _skip_sub_blocks(file: IO[bytes]) -> None:
    while (size := file.read(1)) and size[0]:
        file.seek(size[0], os.SEEK_CUR)


def _thumbnail(img: Image.Image, orientation: int | None) -> bytes:
    # JPEG only: decode at 1/2 to 1/8 scale, which makes big photos cheap.
    img.draft("RGB", (THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    img.load()  # decodes; truncated data fails here
    # Shrunk in place: a copy of a 50-megapixel picture would cost up to 200 MB more.
    if img.mode not in ("RGB", "L"):
        # Pillow resizes a palette image only by nearest neighbour, and one with alpha
        # through a premultiplied full-size copy: pick pixels down to a few times the
        # thumbnail's size first, then smooth in RGBA.
        img.thumbnail((4 * THUMBNAIL_SIZE, 4 * THUMBNAIL_SIZE), Image.Resampling.NEAREST)
        if img.mode != "RGBA":
            img = img.convert("RGBA")
    img.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    # The box is square, so turning the thumbnail gives what turning the picture would.
    if (turn := _UPRIGHT.get(orientation or 1)) is not None:
        img = img.transpose(turn)
    if img.mode == "RGBA":
        flat = Image.new("RGB", img.size, "white")
        flat.paste(img, mask=img.getchannel("A"))
        img = flat
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()


# -- names -----------------------------------------------------------------------------------------

# Control and format characters (Cf includes the right-to-left override behind
# "photo\u202egpj.exe" tricks), separators and unassigned code points.
_DROPPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# The zero-width joiner is a format character too, but it only joins emoji into one
# ("👩\u200d🏫", a teacher): dropping it would split them.
_KEPT: Final = frozenset({"\u200d"})
_TRIMMED: Final = " .\u200d"  # never at the ends of a name
_RESERVED = str.maketrans({ch: "_" for ch in '<>:"|?*'})  # not allowed in Windows names


def clean_name(raw: str, kind: FileKind) -> str:
    """A safe display and download name: no path, no control characters, at most
    255 characters, ending in an extension that fits the content."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch in _KEPT or unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = " ".join(name.translate(_RESERVED).split()).strip(_TRIMMED)
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or extension.lower() not in kind.extensions:
        stem, extension = name, kind.extensions[0]
    stem = stem[: MAX_NAME - len(extension) - 1].rstrip(_TRIMMED)
    return f"{stem or 'файл'}.{extension}"


# -- uploads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A received file, not yet checked: the client's name for it and its bytes."""

    name: str
    file: IO[bytes]  # seekable
    size: int


@dataclass(frozen=True)
class Stored:
    kind: FileKind
    name: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    thumbnail_sha256: str | None = None


def file_too_large(limit: int) -> PayloadTooLarge:
    size = f"{limit // CHUNK} МБ" if limit >= CHUNK else f"{max(1, limit // 1024)} КБ"
    return PayloadTooLarge(f"Файл больше {size}. Отправьте файл поменьше.")


def _check_size(settings: Settings, upload: Upload) -> None:
    if upload.size > settings.max_upload_bytes:
        raise file_too_large(settings.max_upload_bytes)
    if upload.size == 0:
        raise InvalidInput("Файл пустой.", code=ErrorCode.file_empty, field="file")


def _store_upload(store: LocalMediaStore, upload: Upload, accepted: Accepted) -> Stored:
    """Check the content, then store it (and a thumbnail of an image).

    Blocking: runs in a worker thread. Every check comes before the first
    write, so a rejected upload stores nothing.
    """
    kind = detect_kind(upload.file, accepted)
    facts = describe_image(upload.file) if kind.is_image else None
    sha256 = store.put_file(upload.file)
    name = clean_name(upload.name, kind)
    if facts is None:
        return Stored(kind=kind, name=name, size=upload.size, sha256=sha256)
    return Stored(
        kind=kind,
        name=name,
        size=upload.size,
        sha256=sha256,
        width=facts.width,
        height=facts.height,
        thumbnail_sha256=store.put(facts.thumbnail),
    )


def file_row(stored: Stored, *, chat_id: int | None, uploader_id: int | None) -> StoredFile:
    """The row of a stored file (an upload, an avatar, an imported attachment)."""
    return StoredFile(
        chat_id=chat_id,
        uploader_id=uploader_id,
        sha256=stored.sha256,
        size=stored.size,
        mime_type=stored.kind.mime_type,
        name=stored.name,
        width=stored.width,
        height=stored.height,
        thumbnail_sha256=stored.thumbnail_sha256,
        created_at=utcnow(),
    )


async def _chat_for_upload(db: AsyncSession, actor: User, chat_id: int) -> Chat:
    chat, me = await load_member_chat(db, actor, chat_id)
    require_can_chat(actor)
    require(
        policy.can_post(ChatKind(chat.kind), ChatRole(me.role), is_archived=chat.archived_at is not None),
        "В этом чате вы не можете отправлять файлы.",
    )
    return chat


async def _end_reads(db: AsyncSession) -> None:
    # Checking and thumbnailing take a while, and on SQLite any open transaction
    # holds the one write lock (BEGIN IMMEDIATE): never keep one open meanwhile.
    if db.in_transaction():
        await db.commit()


async def upload_file(
    db: AsyncSession, settings: Settings, store: LocalMediaStore, actor: User, chat_id: int, upload: Upload
) -> StoredFile:
    """Store a file in a chat, for a message to carry (``file_id`` of a send).

    Emits no event: others learn of the file with the message that carries it.
    Raises ``chat_not_found``, ``forbidden`` (read-only channel, profile
    incomplete), ``file_too_large``, ``file_empty``, ``file_type_not_allowed``,
    ``image_invalid``, ``image_too_large``.
    """
    await _chat_for_upload(db, actor, chat_id)
    _check_size(settings, upload)
    await _end_reads(db)
    stored = await asyncio.to_thread(_store_upload, store, upload, ANY_FILE)
    async with transaction(db):
        # Asked again: the actor may have left the chat while the file was processed.
        chat = await _chat_for_upload(db, actor, chat_id)
        row = file_row(stored, chat_id=chat.id, uploader_id=actor.id)
        db.add(row)
        await db.flush()
    return row


async def set_avatar(
    db: AsyncSession, settings: Settings, store: LocalMediaStore, actor: User, upload: Upload
) -> User:
    """Make an uploaded image the actor's avatar, which every signed-in user may read.

    Emits ``user.updated`` (through ``accounts.update_profile``). Raises
    ``file_too_large``, ``file_empty``, ``file_type_not_allowed`` (not an
    image), ``image_invalid``, ``image_too_large``.
    """
    _check_size(settings, upload)
    await _end_reads(db)
    stored = await asyncio.to_thread(_store_upload, store, upload, IMAGE_FILE)
    async with transaction(db):
        row = file_row(stored, chat_id=None, uploader_id=actor.id)
        db.add(row)
        await db.flush()
    # update_profile is the one way to change a profile (it announces the change)
    # and runs its own transaction; should it fail, an unused file row is all that stays.
    return await accounts.update_profile(db, actor, accounts.ProfileChange(avatar_file_id=row.id))


async def set_org_logo(
    db: AsyncSession, settings: Settings, store: LocalMediaStore, actor: User, org_id: int, upload: Upload
) -> OrgAccess:
    """Make an uploaded image the organization's logo (admins), readable by every signed-in user.

    Emits ``org.updated`` (through ``organizations.update_org``). Raises
    ``org_not_found``, ``forbidden`` (before anything is stored) and the image
    errors of ``set_avatar``.
    """
    from parta.orgs import core, organizations  # they import chats, which media imports too

    async with transaction(db):
        # Refuse non-admins before their bytes reach the disk.
        await core.load_org_for_admin(db, actor, org_id)
    _check_size(settings, upload)
    await _end_reads(db)
    stored = await asyncio.to_thread(_store_upload, store, upload, IMAGE_FILE)
    async with transaction(db):
        row = file_row(stored, chat_id=None, uploader_id=actor.id)
        db.add(row)
        await db.flush()
    return await organizations.update_org(db, actor, org_id, {"logo_file_id": row.id})


# -- downloads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blob:
    """Stored bytes ready to send: where they are and how to present them."""

    path: Path
    sha256: str
    mime_type: str
    name: str
    size: int

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


async def _is_user_avatar(db: AsyncSession, file_id: int) -> bool:
    return bool((await db.execute(select(exists().where(User.avatar_file_id == file_id)))).scalar())


async def _is_org_logo(db: AsyncSession, file_id: int) -> bool:
    return bool((await db.execute(select(exists().where(Organization.logo_file_id == file_id)))).scalar())


async def readable_file(db: AsyncSession, actor: User, file_id: int) -> StoredFile:
    """The file row if the actor may read it; for anyone else ``file_not_found``."""
    f = await db.get(StoredFile, file_id)
    if f is None:
        raise file_not_found()
    role = None
    if f.chat_id is not None:
        member = await q.membership(db, f.chat_id, actor.id)
        role = ChatRole(member.role) if member is not None else None
    is_uploader = f.uploader_id == actor.id
    decision = policy.can_read_file(
        in_chat=f.chat_id is not None,
        chat_role=role,
        # Asked only where it decides: another member of the file's chat.
        is_sent=f.chat_id is not None
        and role is not None
        and not is_uploader
        and await q.file_is_sent(db, f.chat_id, f.id),
        is_user_avatar=f.chat_id is None and await _is_user_avatar(db, f.id),
        is_org_logo=f.chat_id is None and await _is_org_logo(db, f.id),
        is_uploader=is_uploader,
    )
    if not decision.allowed:
        raise file_not_found()
    await _end_reads(db)  # the session stays open while the bytes go out, maybe slowly
    return f


def _blob(store: LocalMediaStore, sha256: str, *, mime_type: str, name: str) -> Blob:
    path = store.path(sha256)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        # The row exists but its bytes do not: the media directory was damaged or
        # restored apart from the database. The user can do nothing about it.
        log.error("blob %s is missing from %s", sha256, store.root)
        raise file_not_found() from None
    return Blob(path=path, sha256=sha256, mime_type=mime_type, name=name, size=size)


async def file_content(db: AsyncSession, store: LocalMediaStore, actor: User, file_id: int) -> Blob:
    """A file's bytes for a reader (``policy.can_read_file``); others get ``file_not_found``."""
    f = await readable_file(db, actor, file_id)
    return _blob(store, f.sha256, mime_type=f.mime_type, name=f.name)


async def thumbnail_content(db: AsyncSession, store: LocalMediaStore, actor: User, file_id: int) -> Blob:
    """An image's thumbnail (JPEG); ``file_not_found`` for other files and non-readers."""
    f = await readable_file(db, actor, file_id)
    if f.thumbnail_sha256 is None:
        raise file_not_found()
    name = f"{f.name.rpartition('.')[0] or f.name}.jpg"
    return _blob(store, f.thumbnail_sha256, mime_type="image/jpeg", name=name)
