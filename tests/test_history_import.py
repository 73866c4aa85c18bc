"""History import from legacy messengers: Telegram Desktop, the VK archive, Parta's JSON.

Through the API (a zip or a JSON upload) and the command line (a folder), on both
databases. The fixtures under tests/fixtures/history follow the real export
formats; every person in them is invented.
"""

from __future__ import annotations

import asyncio
import io
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from parta import cli
from parta.errors import PartaError
from parta.migration.history import core as history_core
from parta.migration.history.archive import open_zip
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School

FIXTURES = Path(__file__).parent / "fixtures" / "history"
LIMITS = {"max_entries": 50_000, "max_unpacked": 2 * 1024**3}


def zip_of(entries: dict[str, bytes]) -> bytes:
    """A zip archive of these files (name -> content), deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _folder_zip(folder: Path, prefix: str = "") -> bytes:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return zip_of({prefix + p.relative_to(folder).as_posix(): p.read_bytes() for p in files})


async def _upload(
    api: Api,
    user: TestUser,
    org_id: int,
    data: bytes,
    *,
    name: str = "export.zip",
    mapping: bytes | None = None,
    dry_run: bool = False,
    **fields: Any,
) -> httpx.Response:
    files: dict[str, Any] = {"file": (name, data, "application/octet-stream")}
    if mapping is not None:
        files["mapping"] = ("mapping.csv", mapping, "text/csv")
    params = {"dry_run": "true"} if dry_run else {}
    url = f"/api/v1/orgs/{org_id}/history-imports"
    return await api.as_(user).post(url, files=files, data=fields, params=params)


async def _import(api: Api, school: School, data: bytes, **kwargs: Any) -> dict[str, Any]:
    response = await _upload(api, school.admin, school.id, data, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _history(api: Api, user: TestUser, chat_id: int) -> list[dict[str, Any]]:
    response = await api.as_(user).get(f"/api/v1/chats/{chat_id}/messages", params={"limit": 100})
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def _chats(api: Api, user: TestUser) -> dict[int, dict[str, Any]]:
    response = await api.as_(user).get("/api/v1/chats")
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json()["chats"]}


def _summary(**counts: int) -> dict[str, int]:
    keys = (
        "imported", "existing", "service_skipped", "rejected", "authors_matched", "authors_legacy",
        "attachments_stored", "attachments_missing", "attachments_skipped",
    )  # fmt: skip
    return dict.fromkeys(keys, 0) | counts


async def _cli(api: Api, *args: str) -> Result:
    env = {"PARTA_DATABASE_URL": api.settings.database_url, "PARTA_DATA_DIR": str(api.data_dir)}
    return await asyncio.to_thread(CliRunner().invoke, cli.app, list(args), env=env)


# --- Telegram ------------------------------------------------------------------------------


async def test_telegram_export_keeps_authors_replies_edits_dates_and_files(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    irina = await orgs.add(school, "parent", await make.user("Ирина", "Соколова"))
    oleg = await orgs.add(school, "parent", await make.user("Олег", "Мартынов"))
    mapping = f"Автор;Телефон\nuser5550001;{irina.phone}\nолег мартынов;{oleg.phone}\n".encode()
    since = await api.as_(irina).last_event_id()
    export = _folder_zip(FIXTURES / "telegram", prefix="ChatExport_2024-03-12/")

    body = await _import(api, school, export, mapping=mapping, new_chat_title="5А родители (архив)")

    assert body["summary"] == _summary(
        imported=7, service_skipped=2, authors_matched=2, authors_legacy=1,
        attachments_stored=2, attachments_missing=1,
    )  # fmt: skip
    assert (body["source"], body["title"], body["messages"]) == ("telegram", "5А Родители", 9)
    assert body["rejected"] == []
    chat_id = body["chat_id"]
    m2, m3, m4, m5, m6, m7, m9 = await _history(api, irina, chat_id)
    assert m2["sender_id"] == irina.id and m2["created_at"] == "2024-03-12T15:05:11Z"
    assert m2["is_imported"] is True and "legacy_author" not in m2
    assert (m3["sender_id"], m3["text"], m3["reply_to"]) == (oleg.id, "Во сколько сбор?", m2["id"])
    assert m3["is_edited"] and m3["edited_at"] == "2024-03-12T15:09:02Z"
    assert m4["reply_to"] == m3["id"] and m4["file"]["mime_type"] == "image/jpeg"
    assert m4["file"]["has_thumbnail"] and (m4["file"]["width"], m4["file"]["height"]) == (24, 16)
    assert "sender_id" not in m5 and m5["legacy_author"] == {"name": "Светлана Ким"}
    assert m5["file"]["name"] == "Домашнее задание.pdf"
    assert m6["text"] == "И памятка\n[Файл не найден в выгрузке: Памятка.pdf]"
    assert "Стикер" in m7["text"] and m7["sender_id"] == oleg.id
    assert m9["text"] == "Подробности на сайте (https://school.example/news)\n[Переслано от: Школа № 1]"
    pdf = await api.as_(irina).get(f"/api/v1/files/{m5['file']['id']}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # Nobody was notified message by message, and nothing counts as unread.
    events = await api.as_(irina).sync(since)
    assert [e["type"] for e in events] == ["chat.created", "chat.history_imported"]
    assert events[1]["data"] == {"chat_id": chat_id, "imported": 7, "by": school.admin.id}
    assert (await _chats(api, irina))[chat_id]["unread_count"] == 0
    assert (await _chats(api, oleg))[chat_id]["unread_count"] == 0

    # The same export again (the same command): the same chat, nothing added.
    again = await _import(api, school, export, mapping=mapping, new_chat_title="5А родители (архив)")
    assert again["chat_id"] == chat_id
    assert again["summary"] == _summary(existing=7, service_skipped=2, authors_matched=2, authors_legacy=1)
    assert len(await _history(api, irina, chat_id)) == 7
    assert [e["type"] for e in await api.as_(irina).sync(since)] == ["chat.created", "chat.history_imported"]


async def test_an_import_stopped_before_its_first_batch_leaves_no_chat_and_its_rerun_makes_one(
    api: Api, orgs: OrgFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server dies while writing the first batch into a new chat. Before, the new
    chat had already committed on its own: the rerun did not recognise it (it holds
    none of the export's messages) and made a second, while the first stayed empty."""
    school = await orgs.school()
    export = _folder_zip(FIXTURES / "telegram", prefix="ChatExport_2024-03-12/")
    title = "5А родители (архив)"

    async def killed(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the server was killed here")

    with monkeypatch.context() as patch, pytest.raises(RuntimeError, match="killed"):
        patch.setattr(history_core, "_insert", killed)
        await _upload(api, school.admin, school.id, export, new_chat_title=title)
    titled = [c for c in (await _chats(api, school.admin)).values() if c["title"] == "5А родители (архив)"]
    assert titled == []  # nothing half-made

    body = await _import(api, school, export, new_chat_title=title)
    assert body["summary"]["imported"] == 7
    again = await _import(api, school, export, new_chat_title=title)
    assert again["chat_id"] == body["chat_id"] and again["summary"]["existing"] == 7
    titled = [c["id"] for c in (await _chats(api, school.admin)).values() if c["title"] == title]
    assert titled == [body["chat_id"]]


# --- VK, from the command line -------------------------------------------------------------


async def _class_chat(api: Api, orgs: OrgFactory, school: School, teacher: TestUser) -> int:
    klass = await orgs.klass(school, "7Б")
    await orgs.teach(school, klass["id"], teacher)
    chats = await _chats(api, teacher)
    found = [c["id"] for c in chats.values() if c.get("class_id") == klass["id"] and c["purpose"] == "class"]
    return int(found[0])


async def test_vk_archive_imports_from_the_command_line_in_order_with_a_dry_run_first(
    api: Api, make: Factory, orgs: OrgFactory, tmp_path: Path
) -> None:
    school = await orgs.school()
    natalia = await orgs.add(school, "teacher", await make.user("Наталья", "Белова"))
    chat_id = await _class_chat(api, orgs, school, natalia)
    mapping = tmp_path / "authors.csv"
    mapping.write_bytes(f"id700001;{natalia.phone}\n".encode("cp1251"))
    args = ["import", "history", str(FIXTURES / "vk"), "--org", str(school.id), "--chat", str(chat_id)]
    args += ["--mapping", str(mapping)]

    dry = await _cli(api, *args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.output and await _history(api, natalia, chat_id) == []

    done = await _cli(api, *args, "--as-phone", school.admin.phone)
    assert done.exit_code == 0, done.output
    assert "History imported" in done.output
    messages = await _history(api, natalia, chat_id)
    assert [m["text"].split()[0] for m in messages] == [
        "Здравствуйте!", "Во", "[Фотография:", "Родительское", "Спасибо,",
    ]  # fmt: skip
    first, second, photo, meeting, _ = messages
    assert first["sender_id"] == natalia.id and first["created_at"] == "2024-03-11T16:45:00Z"
    assert second["legacy_author"] == {"name": "Геннадий Лебедев"} and "sender_id" not in second
    assert photo["text"] == "[Фотография: https://sun9-10.userapi.example/impg/abc.jpg]"
    assert meeting["text"] == "Родительское собрание в пятницу в 18:00.\nЯвка обязательна & важна."
    assert meeting["is_edited"] and meeting["legacy_author"] == {"name": "Владелец архива ВКонтакте"}

    again = await _cli(api, *args)
    assert again.exit_code == 0 and "already there" in again.output
    assert len(await _history(api, natalia, chat_id)) == 5
    missing = await _cli(api, "import", "history", str(FIXTURES / "vk"), "--org", "999999", "--chat", "1")
    assert missing.exit_code == 1


# --- Parta's JSON format -----------------------------------------------------------------


async def test_generic_json_matches_authors_by_phone_and_an_interrupted_import_resumes(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    pavel = await orgs.add(school, "teacher", await make.user("Павел", "Орлов", phone="+79165557701"))
    chat_id = await _class_chat(api, orgs, school, pavel)
    full = (FIXTURES / "generic.json").read_bytes()
    document = json.loads(full)
    document["messages"] = [m for m in document["messages"] if m["id"] == "m1"]
    first_part = json.dumps(document, ensure_ascii=False).encode()

    part = await _import(api, school, first_part, name="history.json", chat_id=str(chat_id))
    assert part["summary"] == _summary(imported=1, authors_matched=1, attachments_missing=1)

    check = await _import(api, school, full, name="history.json", chat_id=str(chat_id), dry_run=True)
    expected = _summary(imported=2, existing=1, rejected=1, authors_matched=1, authors_legacy=1)
    assert check["summary"] == expected
    assert [r["legacy_id"] for r in check["rejected"]] == ["m4"]
    assert len(await _history(api, pavel, chat_id)) == 1

    rest = await _import(api, school, full, name="history.json", chat_id=str(chat_id))
    assert rest["summary"] == expected
    m1, m2, m3 = await _history(api, pavel, chat_id)
    assert m1["sender_id"] == pavel.id and "[Файл не найден в выгрузке: расписание.pdf]" in m1["text"]
    assert m2["legacy_author"] == {"name": "Мария Зайцева"}
    assert m3["reply_to"] == m2["id"] and m3["edited_at"] == "2023-10-02T13:05:00Z"
    assert m1["id"] < m2["id"] < m3["id"]  # history order is id order: chronological


# --- Rights and bad input ----------------------------------------------------------------


async def test_only_the_orgs_admins_import_and_only_into_the_orgs_chats(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    chat_id = await _class_chat(api, orgs, school, teacher)
    other = await orgs.school(full_name="МБОУ «Гимназия № 2»", short_name="Гимназия № 2")
    outsider = await make.user()
    data = (FIXTURES / "generic.json").read_bytes()

    denied = await _upload(api, teacher, school.id, data, name="h.json", chat_id=str(chat_id))
    assert (denied.status_code, error_code(denied)) == (403, "forbidden")
    hidden = await _upload(api, outsider, school.id, data, name="h.json", chat_id=str(chat_id))
    assert (hidden.status_code, error_code(hidden)) == (404, "org_not_found")
    foreign = await _upload(api, other.admin, other.id, data, name="h.json", chat_id=str(chat_id))
    assert (foreign.status_code, error_code(foreign)) == (404, "chat_not_found")
    neither = await _upload(api, school.admin, school.id, data, name="h.json")
    assert error_code(neither) == "invalid_request" and neither.json()["error"]["field"] == "chat_id"
    assert await _history(api, teacher, chat_id) == []


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("result.json", b" " * (8 * 1024 * 1024))
    return out.getvalue()


async def test_bad_exports_get_clear_codes_and_store_nothing(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    before = await _chats(api, school.admin)
    message = {"id": 1, "type": "message", "date": "2024-01-01T10:00:00"}
    cp1251 = json.dumps({"name": "Чат", "id": 1, "messages": [message]}, ensure_ascii=False).encode("cp1251")
    two_peers = zip_of({"messages/1/messages0.html": b"<html></html>", "messages/2/messages0.html": b""})
    cases = [
        ("broken.json", b'{"messages": [', "history_format_invalid"),
        ("result.json", cp1251, "history_encoding_invalid"),
        ("export.zip", zip_of({"ChatExport/result.json": b"{}", "../evil.txt": b"x"}), "archive_unsafe_path"),
        ("export.zip", zip_of({"/etc/result.json": b"{}"}), "archive_unsafe_path"),
        ("export.zip", _bomb(), "archive_bomb"),
        ("export.zip", b"PK\x03\x04 this is no archive", "archive_invalid"),
        ("photo.bin", b"\x00\x01binary", "history_format_invalid"),
        ("export.zip", two_peers, "history_format_invalid"),
    ]  # fmt: skip
    for name, data, code in cases:
        response = await _upload(api, school.admin, school.id, data, name=name, new_chat_title="Архив")
        assert (response.status_code, error_code(response)) == (400, code), (name, response.text)
    assert await _chats(api, school.admin) == before


# --- Archive checks (no database) -----------------------------------------------------------


def _error(data: bytes, **limits: int) -> str:
    with pytest.raises(PartaError) as caught:
        open_zip(io.BytesIO(data), **(LIMITS | limits))
    return str(caught.value.instance_code)


def test_zip_symlinks_and_oversized_archives_are_refused() -> None:
    link = zipfile.ZipInfo("ChatExport/photos/link.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(link, "/etc/passwd")
    assert _error(out.getvalue()) == "archive_unsafe_path"
    many = zip_of({f"files/{i}.txt": b"x" for i in range(20)})
    assert _error(many, max_entries=10) == "archive_too_many_files"
    assert _error(many, max_unpacked=10) == "archive_too_large"
    assert _error(zip_of({"C:/Users/result.json": b"{}"})) == "archive_unsafe_path"
    tree = open_zip(io.BytesIO(zip_of({"a/result.json": b"{}", "a/files/": b""})), **LIMITS)
    assert tree.names() == ["a/result.json"] and tree.size("a/../a/result.json") is None


def test_a_full_media_disk_stops_the_import_instead_of_dropping_attachments(tmp_path: Path) -> None:
    """A file that does not fit must not become a "not transferred" note: that import
    would never bring it. The import stops (507), and a rerun once there is room
    brings every file (imports are idempotent by legacy id)."""
    from parta.errors import StorageFull
    from parta.media import LocalMediaStore
    from parta.migration.history.archive import DirTree
    from parta.migration.history.compose import store_file
    from tests.private_services import tmpfs

    export = tmp_path / "export"
    (export / "files").mkdir(parents=True)
    (export / "files" / "notes.txt").write_text("Домашнее задание на неделю\n" * 100_000, encoding="utf-8")
    with tmpfs(tmp_path / "media", "1m") as media_root:
        store = LocalMediaStore(media_root)
        with pytest.raises(StorageFull):
            store_file(store, DirTree(export), "files/notes.txt", limit=20 * 1024 * 1024)
        assert [p for p in media_root.rglob("*") if p.is_file()] == []
