"""Faults around a real server process: its database restarting, Redis restarting, the
media disk full, an import killed halfway.

Each test breaks something of its own (tests/private_services.py: a private PostgreSQL
cluster, a private redis-server, a small tmpfs), never the shared services. What must
hold: the server answers clearly while something is down (503 ``service_unavailable``
or 507 ``storage_full``, a Russian message, never a 500 or a hang), recovers by itself
without a restart, and nothing acknowledged is lost or stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from parta import cli
from parta.client import Json, PartaClient
from parta.outage import FailureStreak
from tests.private_services import private_postgres, private_redis, resize_tmpfs, tmpfs
from tests.servers import ROOT, Receiver, ServerProcess, free_port, plain_url, running_server, wait_for
from tests.test_chaos import PERSISTENT, assert_exactly_once, group_with_members, stored_history

CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
# A request during an outage must get an answer within this; a hang fails the test.
ANSWER_TIMEOUT = 10.0


def is_clear_refusal(response: httpx.Response, status: int, code: str) -> bool:
    """The status and stable code, with a Russian message (and Retry-After for a 503)."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError):
        return False
    retry_after = response.headers.get("retry-after", "")
    return (
        response.status_code == status
        and error["code"] == code
        and bool(CYRILLIC.search(error["message"]))
        and (status != 503 or retry_after.isdigit())
    )


# --- PostgreSQL restarted under load -----------------------------------------------------


class Prober:
    """Sends messages with plain HTTP, one at a time, and keeps every answer: what a
    client sees while the database is away. Sends that were refused are retried at
    the end with the same ``client_msg_id``."""

    def __init__(self, server: ServerProcess, token: str, chat_id: int) -> None:
        self.server = server
        self.token = token
        self.chat_id = chat_id
        self.acked: list[int] = []
        self.refused: list[str] = []  # client_msg_ids answered 503
        self.wrong: list[str] = []  # anything but 2xx or a clear 503
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(base_url=self.server.base_url, timeout=ANSWER_TIMEOUT) as http:
            for i in range(100_000):
                if self.stop.is_set():
                    return
                client_msg_id = f"probe-{i}"
                body = {"text": f"проба {i}", "client_msg_id": client_msg_id}
                try:
                    response = await http.post(
                        f"/api/v1/chats/{self.chat_id}/messages", json=body, headers=headers
                    )
                except httpx.TransportError as exc:  # a hang (timeout) or a dropped connection
                    self.wrong.append(f"{client_msg_id}: {exc!r}")
                    self.refused.append(client_msg_id)
                    continue
                if response.status_code in (200, 201):
                    self.acked.append(int(response.json()["id"]))
                elif is_clear_refusal(response, 503, "service_unavailable"):
                    self.refused.append(client_msg_id)
                else:
                    self.wrong.append(f"{client_msg_id}: {response.status_code} {response.text[:300]}")
                    self.refused.append(client_msg_id)
                await asyncio.sleep(0.02)

    async def finish(self) -> None:
        """Stop, then retry every refused send until it is acknowledged."""
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=60)
        async with PartaClient(self.server.base_url, token=self.token, backoff=PERSISTENT) as client:
            for client_msg_id in self.refused:
                sent = await client.send_message(self.chat_id, "повтор", client_msg_id=client_msg_id)
                self.acked.append(int(sent["id"]))


async def keep_sending(
    client: PartaClient, chat_id: int, prefix: str, acked: list[int], stop: asyncio.Event
) -> None:
    """One message after another, each retried (same client_msg_id) until acknowledged."""
    i = 0
    while not stop.is_set():
        sent = await client.send_message(chat_id, f"{prefix} {i}", client_msg_id=f"{prefix}-{i}")
        acked.append(int(sent["id"]))
        i += 1


async def test_postgres_restarts_under_load_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    """PostgreSQL restarted (fast, then immediate shutdown) while two senders and a prober
    keep sending: clear 503s meanwhile, the same server process afterwards, every
    acknowledged or retried message stored once, receivers with exactly that history,
    live delivery and the scheduler working again."""
    async with (
        private_postgres() as pg,
        running_server(
            pg.url(), tmp_path / "server", PARTA_TAIL_POLL_SECONDS="0.5", PARTA_SCHEDULER_POLL_SECONDS="0.5"
        ) as server,
    ):
        assert server.process is not None
        pid = server.process.pid
        chat_id, (owner, sender2, *receiver_tokens) = await group_with_members(server, 4)
        async with PartaClient(server.base_url, token=owner) as client:
            closing = await client.create_chat("group", "Закрывается", [])
        receivers = [Receiver(PartaClient(server.base_url, token=t), since=0) for t in receiver_tokens]

        acked: list[int] = []
        stop = asyncio.Event()
        senders = [PartaClient(server.base_url, token=t, backoff=PERSISTENT) for t in (owner, sender2)]
        sending = [
            asyncio.create_task(keep_sending(c, chat_id, f"s{k}", acked, stop)) for k, c in enumerate(senders)
        ]
        prober = Prober(server, sender2, chat_id)

        async def acked_more(count: int, what: str) -> None:
            mark = len(acked) + count
            await wait_for(lambda: len(acked) >= mark, what=what, guard=90)

        await acked_more(10, "sends before any restart")
        await pg.restart("fast")  # sessions terminated, a clean shutdown, started again
        await acked_more(10, "sends after a fast restart")

        # A chat set to close during the coming outage: the scheduler must still close it.
        async with httpx.AsyncClient(base_url=server.base_url, timeout=ANSWER_TIMEOUT) as http:
            moment = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
            response = await http.put(
                f"/api/v1/chats/{closing['id']}/archive",
                json={"at": moment},
                headers={"Authorization": f"Bearer {owner}"},
            )
            assert response.status_code == 200, response.text

        await pg.stop("immediate")  # as a crash: no checkpoint, crash recovery at start
        refused_before = len(prober.refused)
        await wait_for(lambda: len(prober.refused) >= refused_before + 3, what="refusals during the outage")
        assert await socket_refusal(server, receiver_tokens[0]) == (1013, "service_unavailable")
        await pg.start()
        await acked_more(10, "sends after the crash")

        stop.set()
        await asyncio.wait_for(asyncio.gather(*sending), timeout=90)
        for client in senders:
            await client.aclose()
        await prober.finish()

        assert prober.wrong == [], "during the outage every answer must be a clear 503"
        assert server.process.returncode is None and server.process.pid == pid, "the server was restarted"
        async with httpx.AsyncClient(base_url=server.base_url, timeout=ANSWER_TIMEOUT) as http:
            assert (await http.get("/api/v1/health")).status_code == 200

        # Live delivery works again: a socket opened now hears a message sent now
        # (it comes through the log tailer, not a catch-up).
        async with PartaClient(server.base_url, token=owner) as client:
            fresh = Receiver(PartaClient(server.base_url, token=receiver_tokens[0]), since=None)
            await wait_for(lambda: fresh.client.is_connected, what="a fresh socket")
            late = await client.send_message(chat_id, "после всех перезапусков")
            acked.append(int(late["id"]))
            await fresh.wait_for(lambda r: int(late["id"]) in r.message_ids(chat_id), "live delivery")
            await fresh.stop()

        all_acked = acked + prober.acked
        for receiver in receivers:
            await receiver.wait_for(lambda r: len(r.message_ids(chat_id)) >= len(all_acked), "every message")
            await receiver.stop()
        await closed_by_scheduler(server, owner, closing["id"])
        history = await stored_history(server, owner, chat_id)
        assert_exactly_once(all_acked, history, *(r.message_ids(chat_id) for r in receivers))


async def socket_refusal(server: ServerProcess, token: str) -> tuple[int | None, str]:
    """How the server turns away a WebSocket it cannot authenticate: close code and error code."""
    url = server.base_url.replace("http://", "ws://") + "/api/v1/ws"
    frames: list[Json] = []
    async with connect(url, open_timeout=ANSWER_TIMEOUT) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        with contextlib.suppress(ConnectionClosed):
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=ANSWER_TIMEOUT)))
    errors = [f["error"]["code"] for f in frames if f.get("type") == "error"]
    return ws.close_code, errors[-1] if errors else ""


async def closed_by_scheduler(server: ServerProcess, token: str, chat_id: int) -> None:
    """Wait until the chat's planned closing was applied (``chat.archived`` in the log)."""
    async with PartaClient(server.base_url, token=token) as client:
        for _ in range(600):
            events, _ = await client.sync(0)
            if any(e["type"] == "chat.archived" and e.get("chat_id") == chat_id for e in events):
                return
            await asyncio.sleep(0.1)
    raise AssertionError("the scheduler never closed the chat")


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["serve", "--no-upgrade"],
        ["db", "upgrade"],
        ["demo"],
        ["migration", "report", "--org", "1"],
    ],
    ids=" ".join,
)
def test_serve_without_its_database_exits_with_a_clear_message(tmp_path: Path, command: list[str]) -> None:
    """``parta serve`` (with or without applying migrations first), ``parta db upgrade``
    or another command that migrates first cannot reach PostgreSQL: one clear line and
    exit code 1 (a supervisor restarts it), not a hang or pages of traceback."""
    env = {
        "PARTA_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/parta",
        "PARTA_DATA_DIR": str(tmp_path / "server"),
    }
    port = ["--port", str(free_port())] if command[0] == "serve" else []
    result = CliRunner().invoke(cli.app, [*command, *port], env=env)
    assert result.exit_code == 1, result.output
    assert "is unreachable" in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


# --- Redis restarted (its state lost) -----------------------------------------------------

# No tailer polls on its own within a test: a message that crosses processes in time
# was carried by a Redis notice, or by the polling the bus does while Redis is away.
NO_POLLING = "300"
CROSSING = 30.0  # guard for one message to cross processes; far below NO_POLLING


async def test_redis_restart_loses_no_message_and_wakeups_come_back(
    pg_database_url: str, tmp_path: Path
) -> None:
    """Redis killed and started again empty, between two server processes: messages keep
    crossing (each process polls while its subscription is down), wake-ups are instant
    again afterwards, nothing is lost or repeated, an offline device syncs the same."""
    async with private_redis() as redis_server:
        prefix = f"faults-{uuid.uuid4().hex[:8]}:"
        env = {
            "PARTA_REDIS_URL": redis_server.url,
            "PARTA_REDIS_PREFIX": prefix,
            "PARTA_TAIL_POLL_SECONDS": NO_POLLING,
            "PARTA_SECRET_KEY": "faults-redis-test",
        }
        data_dir = tmp_path / "shared"
        async with (
            running_server(pg_database_url, data_dir, **env) as a,
            running_server(pg_database_url, data_dir, **env) as b,
        ):
            log_channel = prefix + "parta:log"

            async def both_subscribed() -> None:
                for _ in range(int(CROSSING / 0.05)):
                    if await redis_server.subscribers(log_channel) == 2:
                        return
                    await asyncio.sleep(0.05)
                raise AssertionError("the server processes did not subscribe to Redis")

            await both_subscribed()
            # Two people, each on one process: each sends there and listens there.
            chat_id, (on_a, on_b) = await group_with_members(a, 2)
            receivers = [
                Receiver(PartaClient(a.base_url, token=on_a), since=0),
                Receiver(PartaClient(b.base_url, token=on_b), since=0),
            ]
            senders = {
                "a": PartaClient(a.base_url, token=on_a, backoff=PERSISTENT),
                "b": PartaClient(b.base_url, token=on_b, backoff=PERSISTENT),
            }
            acked: list[int] = []

            async def cross(phase: str) -> None:
                """One message through each process, each awaited on the other process's socket."""
                for name, sender in senders.items():
                    sent = await sender.send_message(chat_id, f"{phase} через {name}")
                    acked.append(int(sent["id"]))
                    other = receivers[1] if name == "a" else receivers[0]
                    await wait_for(
                        lambda: int(sent["id"]) in other.message_ids(chat_id),  # noqa: B023
                        what=f"{phase}: the message through {name} on the other process",
                        guard=CROSSING,
                    )

            await cross("с Redis")
            await redis_server.kill()
            await cross("без Redis")  # each process polls while its subscription is down
            await redis_server.start()  # same port, nothing remembered
            await both_subscribed()
            await cross("Redis вернулся")  # instant again: only a notice can carry it now

            for sender in senders.values():
                await sender.aclose()
            for receiver in receivers:
                await receiver.wait_for(lambda r: len(r.message_ids(chat_id)) >= len(acked), "every message")
                await receiver.stop()
            async with PartaClient(b.base_url, token=on_b) as late:
                events, _ = await late.sync(0)  # a device that was offline all along
            late_ids = [e["data"]["message"]["id"] for e in events if e["type"] == "message.created"]
            history = await stored_history(a, on_a, chat_id)
            assert_exactly_once(acked, history, *(r.message_ids(chat_id) for r in receivers), late_ids)


# --- The media disk full ------------------------------------------------------------------


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "db" / "parta.db"
    path.parent.mkdir(parents=True)
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def noisy_png(side: int) -> bytes:
    """An image that hardly compresses: about 3 bytes a pixel."""
    out = io.BytesIO()
    Image.effect_noise((side, side), 100).convert("RGB").save(out, "PNG")
    return out.getvalue()


def blobs_are_whole(media_dir: Path) -> None:
    """No temporary file left behind, and every stored blob is complete (its name is its hash)."""
    tmp = media_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == [], "a partial upload was left in media/tmp"
    for path in media_dir.rglob("*"):
        if path.is_file() and path.parent != tmp:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, f"{path} is incomplete"


def file_rows(database_url: str) -> int:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        return int(db.execute("SELECT count(*) FROM files").fetchone()[0])


async def test_full_media_disk_refuses_uploads_clearly_and_keeps_what_was_stored(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A 2 MB disk under the media folder: uploads and avatars that do not fit get 507
    ``storage_full`` and leave nothing behind; stored files, messages, and (once there
    is room) new uploads keep working."""
    data_dir = tmp_path / "server"
    with tmpfs(data_dir / "media", "2m") as media_dir:
        async with running_server(sqlite_url, data_dir) as server:
            chat_id, (token,) = await group_with_members(server, 1)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                base_url=server.base_url + "/api/v1", headers=headers, timeout=30
            ) as http:

                async def upload(content: bytes, name: str) -> httpx.Response:
                    return await http.post(
                        f"/chats/{chat_id}/files", files={"file": (name, content, "text/plain")}
                    )

                async def set_avatar(content: bytes) -> httpx.Response:
                    return await http.put("/me/avatar", files={"file": ("я.png", content, "image/png")})

                stored: dict[int, bytes] = {}
                refused: bytes | None = None
                for i in range(20):  # 300 KB each: the 2 MB disk is full after a few
                    content = os.urandom(150_000).hex().encode()
                    response = await upload(content, f"задание{i}.txt")
                    if response.status_code != 201:
                        refused = content
                        break
                    stored[int(response.json()["id"])] = content
                assert refused is not None and len(stored) >= 3, "the disk never filled up"
                assert is_clear_refusal(response, 507, "storage_full"), response.text
                assert file_rows(sqlite_url) == len(stored), "the refused upload left a file row"
                blobs_are_whole(media_dir)

                avatar = noisy_png(400)
                response = await set_avatar(avatar)
                assert is_clear_refusal(response, 507, "storage_full"), response.text
                assert "avatar_file_id" not in (await http.get("/me")).json()
                assert file_rows(sqlite_url) == len(stored)
                blobs_are_whole(media_dir)

                # What was stored before reads back intact, and chatting goes on.
                for file_id, content in stored.items():
                    assert (await http.get(f"/files/{file_id}")).content == content
                body = {"text": "Диск полон, но сообщения доходят", "client_msg_id": uuid.uuid4().hex}
                assert (await http.post(f"/chats/{chat_id}/messages", json=body)).status_code == 201

                resize_tmpfs(media_dir, "8m")  # the administrator makes room
                response = await upload(refused, "ещё раз.txt")
                assert response.status_code == 201, response.text
                assert (await http.get(f"/files/{response.json()['id']}")).content == refused
                response = await set_avatar(avatar)
                assert response.status_code == 200, response.text
                assert (await http.get(f"/files/{response.json()['avatar_file_id']}")).content == avatar
                assert file_rows(sqlite_url) == len(stored) + 2
                blobs_are_whole(media_dir)


# --- An import killed halfway --------------------------------------------------------------

GRADES = [f"{grade}{letter}" for grade in range(5, 10) for letter in "АБ"]  # 10 classes
STUDENTS = 1000  # and as many parents, one per student: 2,000 rows
WITH_ACCOUNTS = 2  # the first students and their parents sign up before the import


SCHOOL = {"kind": "school", "full_name": "МБОУ «Школа № 5»", "short_name": "Школа № 5", "region": "77"}


def student_phone(i: int) -> str:
    return f"+7916{i:07d}"


def parent_phone(i: int) -> str:
    return f"+7917{i:07d}"


def roster_csv() -> bytes:
    rows = ["ФИО;Роль;Класс;Телефон;Ребёнок"]
    for i in range(STUDENTS):
        rows.append(f"Ученик{i} Тестов;ученик;{GRADES[i % len(GRADES)]};{student_phone(i)};")
        rows.append(f"Родитель{i} Тестова;родитель;;{parent_phone(i)};{student_phone(i)}")
    return ("\r\n".join(rows) + "\r\n").encode()


async def org_state(database_url: str, org_id: int) -> dict[str, Any]:
    """Members, classes, parent links, and for each class who is in its two chats, against
    who should be: the active students of the class, the active parents linked to them."""
    conn = await asyncpg.connect(plain_url(database_url), timeout=10)
    try:
        members = await conn.fetch(
            "SELECT m.id, m.role, m.status, m.class_id, m.user_id, coalesce(m.phone, u.phone) AS phone"
            " FROM org_members m LEFT JOIN users u ON u.id = m.user_id WHERE m.org_id = $1",
            org_id,
        )
        classes = await conn.fetch(
            "SELECT id, norm_key, chat_id, parents_chat_id FROM class_groups WHERE org_id = $1", org_id
        )
        links = await conn.fetch(
            "SELECT parent_member_id, child_member_id FROM parent_links"
            " WHERE org_id = $1 AND status = 'active'",
            org_id,
        )
        chats = await conn.fetch(
            "SELECT id, class_group_id, purpose FROM chats WHERE org_id = $1 AND class_group_id IS NOT NULL",
            org_id,
        )
        chat_members = await conn.fetch(
            "SELECT cm.chat_id, cm.user_id FROM chat_members cm JOIN chats c ON c.id = cm.chat_id"
            " WHERE c.org_id = $1",
            org_id,
        )
    finally:
        await conn.close()
    by_id = {m["id"]: m for m in members}
    in_chat: dict[int, set[int]] = {}
    for row in chat_members:
        in_chat.setdefault(row["chat_id"], set()).add(row["user_id"])
    wrong_chats = []
    for c in classes:
        students = {m["id"] for m in members if m["role"] == "student" and m["class_id"] == c["id"]}
        pupils = {by_id[s]["user_id"] for s in students if by_id[s]["status"] == "active"}
        parents = {
            by_id[link["parent_member_id"]]["user_id"]
            for link in links
            if link["child_member_id"] in students and by_id[link["parent_member_id"]]["status"] == "active"
        }
        own = sorted((ch["purpose"], ch["id"]) for ch in chats if ch["class_group_id"] == c["id"])
        if own != sorted([("class", c["chat_id"]), ("parents", c["parents_chat_id"])]):
            wrong_chats.append(f"class {c['norm_key']} has chats {own}")
        if in_chat.get(c["chat_id"], set()) != pupils or in_chat.get(c["parents_chat_id"], set()) != parents:
            wrong_chats.append(f"class {c['norm_key']}: chat members differ from the roster")
    return {
        "phones": [m["phone"] for m in members],
        "active": {m["phone"] for m in members if m["status"] == "active"},
        "classes": sorted(c["norm_key"] for c in classes),
        "links": {
            (by_id[x["parent_member_id"]]["phone"], by_id[x["child_member_id"]]["phone"]) for x in links
        },
        "wrong_chats": wrong_chats,
    }


async def member_count(database_url: str, org_id: int) -> int:
    conn = await asyncpg.connect(plain_url(database_url), timeout=10)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM org_members WHERE org_id = $1", org_id))
    finally:
        await conn.close()


async def test_roster_import_killed_halfway_is_finished_by_running_it_again(
    pg_database_url: str, tmp_path: Path
) -> None:
    """``parta import roster`` of 2,000 rows killed with SIGKILL after some batches; the
    same file through the API finishes it: everyone once, classes once with their chats,
    the chats' members right, the report's counts matching what was already there."""
    async with running_server(pg_database_url, tmp_path / "server") as server:
        _, admin = await server.sign_up("+79125550900", "Анна", "Директорова")
        for i in range(WITH_ACCOUNTS):
            await server.sign_up(student_phone(i), f"Ученик{i}")
            await server.sign_up(parent_phone(i), f"Родитель{i}")
        headers = {"Authorization": f"Bearer {admin}"}
        async with httpx.AsyncClient(
            base_url=server.base_url + "/api/v1", headers=headers, timeout=120
        ) as http:
            response = await http.post("/orgs", json=SCHOOL)
            assert response.status_code == 201, response.text
            org_id = int(response.json()["id"])
            path = tmp_path / "roster.csv"
            path.write_bytes(roster_csv())

            # The command-line import, killed (SIGKILL) once some batches have committed.
            output = tmp_path / "import.log"
            with output.open("wb") as log:
                importer = await asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "parta", "import", "roster", str(path), "--org", str(org_id)),
                    cwd=ROOT,
                    env=server.env,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                )
            total = 1 + 2 * STUDENTS
            try:
                for _ in range(6000):
                    if (
                        await member_count(pg_database_url, org_id) >= total // 4
                        or importer.returncode is not None
                    ):
                        break
                    await asyncio.sleep(0.02)
                assert importer.returncode is None, f"ended unkilled:\n{output.read_text()[-3000:]}"
                importer.kill()
            finally:
                if importer.returncode is None:
                    importer.kill()
                await importer.wait()
            before = await org_state(pg_database_url, org_id)
            assert total // 4 <= len(before["phones"]) < total, "not killed halfway"
            assert before["wrong_chats"] == [], "each committed batch leaves the chats consistent"

            # The same file again, through the API: it finishes the import.
            response = await http.post(
                f"/orgs/{org_id}/roster", files={"file": ("roster.csv", path.read_bytes())}
            )
            assert response.status_code == 200, response.text
            report = response.json()
        after = await org_state(pg_database_url, org_id)

    everyone = {student_phone(i) for i in range(STUDENTS)} | {parent_phone(i) for i in range(STUDENTS)}
    assert sorted(after["phones"]) == sorted(everyone | {"+79125550900"}), "someone missing or twice"
    assert after["classes"] == sorted(f"{g[:-1]}|{g[-1]}" for g in GRADES)
    assert after["links"] == {(parent_phone(i), student_phone(i)) for i in range(STUDENTS)}
    assert after["wrong_chats"] == []
    with_accounts = {phone(i) for phone in (student_phone, parent_phone) for i in range(WITH_ACCOUNTS)}
    assert after["active"] == with_accounts | {"+79125550900"}
    summary = report["summary"]
    assert report["rows"] == 2 * STUDENTS and summary["rejected"] == 0
    assert summary["existing"] == len(before["phones"]) - 1  # all but the admin were in the file
    assert summary["created"] == len(with_accounts - before["active"])
    assert summary["created"] + summary["pending"] == len(everyone) - summary["existing"]
    assert summary["classes_created"] == len(GRADES) - len(before["classes"])
    assert summary["parents_linked"] == STUDENTS - len(before["links"])


def test_a_background_loop_logs_an_outage_once_not_every_retry(caplog: pytest.LogCaptureFixture) -> None:
    """The log tailer and the scheduler retry every second while the database is away:
    one traceback when it goes, one line when it is back, not sixty tracebacks a minute."""
    streak = FailureStreak(logging.getLogger("parta.test_outage"), "reading the log")
    with caplog.at_level(logging.DEBUG, logger="parta.test_outage"):
        for _ in range(60):
            try:
                raise ConnectionRefusedError("the database is restarting")
            except ConnectionRefusedError:
                streak.failed()
        streak.succeeded()
        streak.succeeded()
    loud = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == [
        ("ERROR", "reading the log failed; retrying"),
        ("WARNING", "reading the log works again after 60 failures"),
    ]
    assert caplog.records[0].exc_info is not None  # the first failure keeps its traceback
