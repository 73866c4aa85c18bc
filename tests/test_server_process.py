"""The real server process: `parta serve` started as a subprocess, killed, restarted."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(database_url: str, data_dir: Path) -> Iterator[httpx.Client]:
    port = _free_port()
    env = os.environ | {"PARTA_DATABASE_URL": database_url, "PARTA_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "parta", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        _wait_ready(client, process)
        yield client
    finally:
        client.close()
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)  # no graceful shutdown: a crash
        process.wait(timeout=10)


def _wait_ready(client: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"server exited early:\n{output}")
        try:
            if client.get("/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become ready")


def _sign_in(client: httpx.Client, data_dir: Path, phone: str) -> dict[str, str]:
    assert client.post("/api/v1/auth/code", json={"phone": phone}).status_code == 200
    line = (data_dir / "otp.log").read_text().splitlines()[-1]
    code = json.loads(line)["code"]
    token = client.post("/api/v1/auth/token", json={"phone": phone, "code": code}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.patch("/api/v1/me", json={"first_name": "Ольга", "last_name": "Сергеевна"}, headers=headers)
    return headers


def test_acknowledged_data_survives_a_killed_server(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "server"
    url = database_url.replace("+asyncpg", "").replace("+aiosqlite", "")
    with server(url, data_dir) as client:
        headers = _sign_in(client, data_dir, "+79125550001")
        chat = client.post("/api/v1/chats", json={"kind": "group", "title": "5А"}, headers=headers).json()
        acked = []
        for i in range(20):
            response = client.post(
                f"/api/v1/chats/{chat['id']}/messages",
                json={"text": f"сообщение {i}", "client_msg_id": f"k{i}"},
                headers=headers,
            )
            assert response.status_code == 201
            acked.append(response.json()["id"])
    # Killed with SIGKILL above; start again on the same database and data dir.
    with server(url, data_dir) as client:
        history = client.get(
            f"/api/v1/chats/{chat['id']}/messages", params={"limit": 100}, headers=headers
        ).json()["messages"]
        assert [m["id"] for m in history] == acked
        retry = client.post(
            f"/api/v1/chats/{chat['id']}/messages",
            json={"text": "сообщение 19", "client_msg_id": "k19"},
            headers=headers,
        )
        assert retry.status_code == 200 and retry.json()["id"] == acked[-1]
        assert client.get("/api/v1/me", headers=headers).json()["first_name"] == "Ольга"


def test_demo_seed_is_idempotent_and_usable(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    url = database_url.replace("+asyncpg", "").replace("+aiosqlite", "")
    env = os.environ | {"PARTA_DATABASE_URL": url, "PARTA_DATA_DIR": str(data_dir)}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "parta", "demo"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "+79000000001" in done.stdout
    with server(url, data_dir) as client:
        # A parent of 5A: in the 5A parents' chat, the teacher's messages badged.
        headers = _sign_in(client, data_dir, "+79000000021")
        chats = client.get("/api/v1/chats", headers=headers).json()["chats"]
        assert [(c["title"], c["purpose"]) for c in chats] == [("5А — родители", "parents")]
        assert chats[0]["unread_count"] == 1  # the teacher's answer after his own question
        history = client.get(f"/api/v1/chats/{chats[0]['id']}/messages", headers=headers).json()
        assert [m.get("sender_badge") for m in history["messages"]] == ["teacher", None, "teacher"]
        [school] = client.get("/api/v1/orgs", headers=headers).json()["orgs"]
        assert school["is_verified"] and school["my_role"] == "parent"
        # The teacher of both classes sees all four class chats and the staff chat.
        headers = _sign_in(client, data_dir, "+79000000004")
        titles = {c["title"] for c in client.get("/api/v1/chats", headers=headers).json()["chats"]}
        class_chats = {"5А класс", "5А — родители", "7Б класс", "7Б — родители"}
        assert titles == class_chats | {"Сотрудники — Школа № 1 (демо)"}
