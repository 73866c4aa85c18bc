"""Files and images: upload, type checks, thumbnails, downloads, avatars, access."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from PIL import ExifTags, Image

from parta import policy
from parta.policy import ChatRole
from tests.client import Api, Factory, TestUser, error_code

PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
# The start of a Windows executable: "MZ", a DOS header full of NUL bytes.
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"This program cannot be run"
)
TEXT = "Домашнее задание: упражнения 1–5, стр. 42.\n".encode()


def image_bytes(
    width: int, height: int, fmt: str = "PNG", *, orientation: int | None = None, noisy: bool = False
) -> bytes:
    """A small generated image: left half red, right half blue (so turns are visible)."""
    if noisy:
        img = Image.effect_noise((width, height), 80).convert("RGB")
    else:
        img = Image.new("RGB", (width, height), (220, 20, 20))
        img.paste((20, 20, 220), (width // 2, 0, width, height))
    options: dict[str, Any] = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = orientation
        options["exif"] = exif
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A few hundred bytes that claim to be a huge PNG: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))


async def upload(
    api: Api, user: TestUser, chat_id: int, content: bytes, name: str = "file", content_type: str = ""
) -> httpx.Response:
    files = {"file": (name, content, content_type or "application/octet-stream")}
    return await api.as_(user).post(f"/api/v1/chats/{chat_id}/files", files=files)


async def uploaded(
    api: Api, user: TestUser, chat_id: int, content: bytes, name: str = "file"
) -> dict[str, Any]:
    response = await upload(api, user, chat_id, content, name)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


BOUNDARY = "parta-test-boundary"


async def chunked_form(name: str, chunk: bytes, count: int) -> AsyncIterator[bytes]:
    """A multipart body sent piece by piece, as a client streaming a big file would."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for _ in range(count):
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def stored_blobs(api: Api) -> list[Path]:
    root = api.settings.media_dir
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]


async def test_upload_and_download_roundtrip(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    chat = await make.chat(anna, [boris])
    info = await uploaded(api, anna, chat["id"], TEXT, "задание.txt")
    assert info == {"id": info["id"], "name": "задание.txt", "mime_type": "text/plain", "size": len(TEXT)}

    response = await api.as_(anna).get(f"/api/v1/files/{info['id']}")
    assert response.status_code == 200
    assert response.content == TEXT
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "private" in response.headers["cache-control"]

    pdf = await uploaded(api, anna, chat["id"], PDF, "план.pdf")
    response = await api.as_(anna).get(f"/api/v1/files/{pdf['id']}")
    assert (response.content, response.headers["content-type"]) == (PDF, "application/pdf")
    assert pdf["mime_type"] == "application/pdf" and "has_thumbnail" not in pdf


async def test_image_gets_size_and_thumbnail(api: Api, make: Factory) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    content = image_bytes(1000, 500)
    info = await uploaded(api, anna, chat["id"], content, "доска.png")
    assert (info["mime_type"], info["width"], info["height"], info["has_thumbnail"]) == (
        "image/png",
        1000,
        500,
        True,
    )

    original = await api.as_(anna).get(f"/api/v1/files/{info['id']}")
    assert original.content == content
    assert original.headers["content-disposition"].startswith("inline;")

    response = await api.as_(anna).get(f"/api/v1/files/{info['id']}/thumbnail")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    thumb = Image.open(io.BytesIO(response.content))
    assert thumb.format == "JPEG"
    assert thumb.size == (320, 160)


async def test_thumbnail_and_size_follow_exif_orientation(api: Api, make: Factory) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    # Orientation 6: stored landscape, shown turned clockwise, so the red left half is on top.
    info = await uploaded(api, anna, chat["id"], image_bytes(400, 200, "JPEG", orientation=6), "фото.jpg")
    assert (info["width"], info["height"]) == (200, 400)

    response = await api.as_(anna).get(f"/api/v1/files/{info['id']}/thumbnail")
    thumb = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert thumb.size == (160, 320)
    top, bottom = thumb.getpixel((80, 40)), thumb.getpixel((80, 280))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]


async def test_thumbnail_of_a_file_without_one_is_not_found(api: Api, make: Factory) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    info = await uploaded(api, anna, chat["id"], PDF, "план.pdf")
    response = await api.as_(anna).get(f"/api/v1/files/{info['id']}/thumbnail")
    assert (response.status_code, error_code(response)) == (404, "file_not_found")


async def test_type_comes_from_content_not_name(api: Api, make: Factory) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    response = await upload(api, anna, chat["id"], EXE, "котик.jpg", "image/jpeg")
    assert (response.status_code, error_code(response)) == (415, "file_type_not_allowed")

    info = await uploaded(api, anna, chat["id"], image_bytes(40, 30), "report.pdf")
    assert (info["mime_type"], info["width"]) == ("image/png", 40)
    # The name gets an extension that fits, so the download opens in an image viewer.
    assert info["name"] == "report.pdf.png"
    # A text that happens to start like a bitmap ("BM") is still text.
    info = await uploaded(api, anna, chat["id"], "BMI учеников 5А\n".encode(), "bmi.csv")
    assert (info["mime_type"], info["name"]) == ("text/plain", "bmi.csv")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd.txt"),
        ("C:\\Users\\Аня\\заметки.txt", "заметки.txt"),
        ("run.bat", "run.bat.txt"),
        ("фото\u202etxt.exe", "фотоtxt.exe.txt"),
        ("   ", "файл.txt"),
        ("..", "файл.txt"),
        ("я" * 300 + ".txt", "я" * 251 + ".txt"),
    ],
)
async def test_file_names_are_sanitized(api: Api, make: Factory, raw: str, clean: str) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    assert (await uploaded(api, anna, chat["id"], TEXT, raw))["name"] == clean


async def test_bad_uploads_store_nothing(api: Api, make: Factory) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    cases = [
        (b"", 400, "file_empty"),
        (b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 20, 400, "image_invalid"),
        (image_bytes(800, 600, "JPEG", noisy=True)[:5000], 400, "image_invalid"),
        (png_header_only(9000, 9000), 400, "image_too_large"),
        (png_header_only(30000, 30000), 400, "image_too_large"),
        (EXE, 415, "file_type_not_allowed"),
        ("привет".encode("cp1251"), 415, "file_type_not_allowed"),
    ]
    for content, status, code in cases:
        response = await upload(api, anna, chat["id"], content, "x.png")
        assert (response.status_code, error_code(response)) == (status, code), content[:20]
    assert stored_blobs(api) == []


async def test_upload_needs_a_file_field(api: Api, make: Factory) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    url = f"/api/v1/chats/{chat['id']}/files"
    response = await api.as_(anna).post(url, files={"document": ("a.txt", TEXT)})
    assert (response.status_code, error_code(response)) == (400, "invalid_request")
    response = await api.as_(anna).post(url, json={"file": "aGVsbG8="})
    assert (response.status_code, error_code(response)) == (400, "invalid_request")


async def test_too_large_file_is_refused(api: Api, make: Factory, database_url: str, tmp_path: Path) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    async with Api.start(
        database_url=database_url, data_dir=tmp_path / "data", max_upload_bytes=1000
    ) as small:
        response = await upload(small, anna, chat["id"], b"a" * 1001, "big.txt")
        assert (response.status_code, error_code(response)) == (413, "file_too_large")
        # Far past the limit: refused while the body arrives, not after.
        response = await upload(small, anna, chat["id"], b"a" * 300_000, "huge.txt")
        assert (response.status_code, error_code(response)) == (413, "file_too_large")
        # Streamed without a Content-Length: counted as it arrives all the same.
        response = await small.as_(anna).post(
            f"/api/v1/chats/{chat['id']}/files",
            content=chunked_form("huge.txt", b"a" * 65536, 10),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        assert (response.status_code, error_code(response)) == (413, "file_too_large")
        assert "content-length" not in response.request.headers
        assert stored_blobs(small) == []
        assert (await upload(small, anna, chat["id"], b"a" * 1000, "ok.txt")).status_code == 201


async def test_identical_content_is_stored_once(api: Api, make: Factory) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    first = await uploaded(api, anna, chat["id"], TEXT, "a.txt")
    second = await uploaded(api, anna, chat["id"], TEXT, "b.txt")
    assert first["id"] != second["id"]
    assert len(stored_blobs(api)) == 1
    for info in (first, second):
        assert (await api.as_(anna).get(f"/api/v1/files/{info['id']}")).content == TEXT


async def test_outsider_cannot_upload_or_download(api: Api, make: Factory) -> None:
    anna, outsider = await make.users(2)
    chat = await make.chat(anna)
    info = await uploaded(api, anna, chat["id"], image_bytes(50, 50), "a.png")

    response = await upload(api, outsider, chat["id"], TEXT, "a.txt")
    assert (response.status_code, error_code(response)) == (404, "chat_not_found")
    for url in (
        f"/api/v1/files/{info['id']}",
        f"/api/v1/files/{info['id']}/thumbnail",
        "/api/v1/files/999999",
    ):
        response = await api.as_(outsider).get(url)
        assert (response.status_code, error_code(response)) == (404, "file_not_found"), url
    response = await api.as_(None).get(f"/api/v1/files/{info['id']}")
    assert (response.status_code, error_code(response)) == (401, "not_authenticated")


async def test_only_channel_admins_upload(api: Api, make: Factory) -> None:
    teacher, pupil = await make.users(2)
    channel = await make.chat(teacher, [pupil], kind="channel")
    response = await upload(api, pupil, channel["id"], TEXT, "a.txt")
    assert (response.status_code, error_code(response)) == (403, "forbidden")
    assert stored_blobs(api) == []
    assert (await upload(api, teacher, channel["id"], TEXT, "a.txt")).status_code == 201


async def test_member_without_a_name_cannot_upload(api: Api, make: Factory) -> None:
    anna = await make.user()
    nameless = await make.user(first_name="")
    chat = await make.chat(anna, [nameless])
    response = await upload(api, nameless, chat["id"], TEXT, "a.txt")
    assert (response.status_code, error_code(response)) == (403, "forbidden")


async def test_message_with_file_shows_it_in_history_and_sync(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    chat = await make.chat(anna, [boris])
    info = await uploaded(api, anna, chat["id"], image_bytes(64, 48), "схема.png")
    since = await api.as_(boris).last_event_id()
    uploads_emit_nothing = await api.as_(boris).sync(since)
    assert uploads_emit_nothing == []

    msg = await make.message(anna, chat["id"], "Схема к уроку", file_id=info["id"])
    assert msg["file"] == info
    history = (await api.as_(boris).get(f"/api/v1/chats/{chat['id']}/messages")).json()["messages"]
    assert history[-1]["file"] == info
    events = await api.as_(boris).sync(since)
    assert [e["type"] for e in events] == ["message.created"]
    assert events[0]["data"]["message"]["file"] == info
    assert (await api.as_(boris).get(f"/api/v1/files/{info['id']}")).status_code == 200


async def test_file_of_another_chat_cannot_be_attached(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    first = await make.chat(anna, [boris])
    second = await make.chat(anna, [boris], title="5Б")
    info = await uploaded(api, anna, first["id"], TEXT, "a.txt")
    response = await api.as_(anna).post(
        f"/api/v1/chats/{second['id']}/messages", json={"client_msg_id": "m1", "file_id": info["id"]}
    )
    assert (response.status_code, error_code(response)) == (404, "file_not_found")


async def test_forwarded_image_is_readable_in_the_target_chat(api: Api, make: Factory) -> None:
    anna, boris, carl = await make.users(3)
    source = await make.chat(anna, [boris], title="Учителя")
    target = await make.chat(anna, [carl], title="5А")
    content = image_bytes(600, 400)
    info = await uploaded(api, anna, source["id"], content, "расписание.png")
    original = await make.message(anna, source["id"], "Расписание", file_id=info["id"])

    forwarded = await make.message(
        anna, target["id"], "", forward_from={"chat_id": source["id"], "message_id": original["id"]}
    )
    copy_id = forwarded["file"]["id"]
    assert copy_id != info["id"]
    assert (await api.as_(carl).get(f"/api/v1/files/{copy_id}")).content == content
    thumb = await api.as_(carl).get(f"/api/v1/files/{copy_id}/thumbnail")
    assert thumb.status_code == 200
    # The copy opens the target chat's file, not the source chat's.
    response = await api.as_(carl).get(f"/api/v1/files/{info['id']}")
    assert (response.status_code, error_code(response)) == (404, "file_not_found")


async def test_avatar_is_readable_by_any_signed_in_user(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)  # no chat in common
    since = await api.as_(boris).last_event_id()
    files = {"file": ("я.jpg", image_bytes(500, 500, "JPEG"), "image/jpeg")}
    response = await api.as_(boris).request("PUT", "/api/v1/me/avatar", files=files)
    assert response.status_code == 200, response.text
    avatar_id = response.json()["avatar_file_id"]
    found = await api.as_(anna).post("/api/v1/users/lookup", json={"phone": boris.phone})
    assert found.json()["avatar_file_id"] == avatar_id
    assert (await api.as_(anna).get(f"/api/v1/files/{avatar_id}")).status_code == 200
    assert (await api.as_(anna).get(f"/api/v1/files/{avatar_id}/thumbnail")).status_code == 200
    updates = [e for e in await api.as_(boris).sync(since) if e["type"] == "user.updated"]
    assert updates[-1]["data"]["user"]["avatar_file_id"] == avatar_id

    # A replaced avatar is nobody's avatar any more: only its owner still reads it.
    files = {"file": ("новое.png", image_bytes(300, 300), "image/png")}
    response = await api.as_(boris).request("PUT", "/api/v1/me/avatar", files=files)
    assert response.json()["avatar_file_id"] != avatar_id
    response = await api.as_(anna).get(f"/api/v1/files/{avatar_id}")
    assert (response.status_code, error_code(response)) == (404, "file_not_found")
    assert (await api.as_(boris).get(f"/api/v1/files/{avatar_id}")).status_code == 200


async def test_avatar_must_be_an_image(api: Api, make: Factory) -> None:
    anna = await make.user()
    for content, status, code in [
        (TEXT, 415, "file_type_not_allowed"),
        (PDF, 415, "file_type_not_allowed"),
        (b"", 400, "file_empty"),
    ]:
        files = {"file": ("a.png", content, "image/png")}
        response = await api.as_(anna).request("PUT", "/api/v1/me/avatar", files=files)
        assert (response.status_code, error_code(response)) == (status, code)
    assert "avatar_file_id" not in (await api.as_(anna).get("/api/v1/me")).json()
    assert stored_blobs(api) == []


async def test_etag_and_not_modified(api: Api, make: Factory) -> None:
    anna, outsider = await make.users(2)
    chat = await make.chat(anna)
    info = await uploaded(api, anna, chat["id"], image_bytes(100, 80), "a.png")
    url = f"/api/v1/files/{info['id']}"
    first = await api.as_(anna).get(url)
    etag = first.headers["etag"]
    assert etag.strip('"') == hashlib.sha256(first.content).hexdigest()

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await api.as_(anna).get(url, headers={"If-None-Match": header})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag), header
    changed = await api.as_(anna).get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.content == first.content
    # An outsider who guesses the ETag learns nothing.
    response = await api.as_(outsider).get(url, headers={"If-None-Match": etag})
    assert (response.status_code, error_code(response)) == (404, "file_not_found")

    thumb = await api.as_(anna).get(f"{url}/thumbnail")
    assert thumb.headers["etag"] != etag
    again = await api.as_(anna).get(f"{url}/thumbnail", headers={"If-None-Match": thumb.headers["etag"]})
    assert again.status_code == 304


async def test_cyrillic_file_name_in_content_disposition(api: Api, make: Factory) -> None:
    anna = await make.user()
    chat = await make.chat(anna)
    name = "Домашнее задание №5 (100%).pdf"
    info = await uploaded(api, anna, chat["id"], PDF, name)
    disposition = (await api.as_(anna).get(f"/api/v1/files/{info['id']}")).headers["content-disposition"]
    kind, fallback, extended = (part.strip() for part in disposition.split(";"))
    assert kind == "attachment"
    assert fallback.startswith('filename="') and fallback.isascii() and fallback.count('"') == 2
    assert extended.startswith("filename*=UTF-8''")
    assert unquote(extended.removeprefix("filename*=UTF-8''")) == info["name"] == name


@pytest.mark.parametrize(
    ("in_chat", "role", "is_avatar", "is_uploader", "allowed"),
    [
        (True, ChatRole.member, False, False, True),
        (True, ChatRole.owner, False, True, True),
        (True, None, False, False, False),
        (True, None, False, True, False),  # rights follow the chat, even for the uploader
        (True, None, True, False, False),
        (False, None, True, False, True),
        (False, None, False, True, True),
        (False, None, False, False, False),
    ],
)
def test_can_read_file_policy(
    in_chat: bool, role: ChatRole | None, is_avatar: bool, is_uploader: bool, allowed: bool
) -> None:
    decision = policy.can_read_file(
        in_chat=in_chat, chat_role=role, is_sent=True, is_user_avatar=is_avatar, is_uploader=is_uploader
    )
    assert decision.allowed is allowed


async def test_deleting_the_message_takes_its_file_away(api: Api, make: Factory) -> None:
    teacher, parent = await make.users(2)
    chat = await make.chat(teacher, [parent])
    upload = await api.as_(parent).post(
        f"/api/v1/chats/{chat['id']}/files",
        files={"file": ("справка.txt", "Справка о болезни".encode(), "text/plain")},
    )
    file_id = upload.json()["id"]
    msg = await make.message(parent, chat["id"], "", file_id=file_id)
    assert (await api.as_(teacher).get(f"/api/v1/files/{file_id}")).status_code == 200
    assert (
        await api.as_(parent).delete(f"/api/v1/chats/{chat['id']}/messages/{msg['id']}")
    ).status_code == 204
    gone = await api.as_(teacher).get(f"/api/v1/files/{file_id}")
    assert gone.status_code == 404 and error_code(gone) == "file_not_found"
