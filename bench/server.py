"""A real ``parta serve`` subprocess on a free port, with a fresh data dir and database;
or several of them sharing one PostgreSQL database, one data dir and Redis
(``running_servers``), as a multi-process deployment runs."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 60.0
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Server:
    backend: str
    base_url: str
    data_dir: Path
    database_url: str
    version: str  # the database engine's version
    pid: int
    log_path: Path | None = None  # the process's stdout and stderr (gone after exit unless kept)


@dataclass(frozen=True)
class Cluster:
    """``running_servers``: the processes, the PostgreSQL database's name ("" on SQLite)
    and the Redis channel prefix they share ("" with one process)."""

    servers: list[Server]
    pg_database: str = ""
    redis_prefix: str = ""
    env: dict[str, str] = field(default_factory=dict)


class CpuMeter:
    """CPU time used since creation by the server process (all its threads) and by
    this client process, per request: shows where the machine's two cores went."""

    def __init__(self, server_pid: int) -> None:
        self._pid = server_pid
        self._start = self._now()

    def _now(self) -> tuple[float, float]:
        return process_cpu_seconds(self._pid), time.process_time()

    def per_request(self, requests: int) -> dict[str, float]:
        server, client = self._now()
        result = {"client_cpu_ms_per_request": round((client - self._start[1]) * 1000 / requests, 2)}
        if server == server:  # not NaN: /proc was readable
            result["server_cpu_ms_per_request"] = round((server - self._start[0]) * 1000 / requests, 2)
        return result


def process_cpu_seconds(pid: int) -> float:
    """User plus system time of a process and its threads, from /proc (Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_memory_mb(pid: int) -> dict[str, float]:
    """Resident set size now (``rss_mb``) and its peak over the process's life
    (``peak_rss_mb``, the kernel's high-water mark), from /proc (Linux)."""
    fields = {"VmRSS:": "rss_mb", "VmHWM:": "peak_rss_mb"}
    result: dict[str, float] = {}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return result
    for line in lines:
        parts = line.split()  # "VmRSS:	  123456 kB"
        if parts and parts[0] in fields:
            result[fields[parts[0]]] = round(int(parts[1]) / 1024, 1)
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[tuple[str, str]]:
    """A new, uniquely named database; dropped on exit. Yields (url, server_version)."""
    name = f"parta_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        version = str(await admin.fetchval("SHOW server_version"))
    finally:
        await admin.close()
    _log(f"[bench] created PostgreSQL database {name}")
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}", version
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _log(f"[bench] dropped PostgreSQL database {name}")
        finally:
            await admin.close()


def _start(
    data_dir: Path, log_path: Path, port: int, env_extra: dict[str, str], *, upgrade: bool = True
) -> subprocess.Popen[bytes]:
    env = os.environ | {"PARTA_DATA_DIR": str(data_dir)} | env_extra
    command = [sys.executable, "-m", "parta", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if not upgrade:  # another process already migrated this database
        command.append("--no-upgrade")
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return process


async def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{_tail(log_path)}")
            try:
                if (await client.get("/api/v1/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server not ready after {READY_TIMEOUT}s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@asynccontextmanager
async def running_server(
    backend: str,
    *,
    database_url: str,
    version: str,
    env_extra: dict[str, str],
    keep: bool,
    upgrade: bool = True,
    data_dir: Path | None = None,
) -> AsyncIterator[Server]:
    """Start ``parta serve`` (migrations included unless ``upgrade`` is false) and stop
    it on exit, even on errors. ``data_dir``: one another process uses too (files and
    ``otp.log`` shared, as on a shared volume); by default a fresh one."""
    work = Path(tempfile.mkdtemp(prefix=f"parta-bench-{backend}-"))
    data_dir = data_dir or work / "data"
    log_path = work / "server.log"
    port = _free_port()
    env = dict(env_extra)
    if database_url:
        env["PARTA_DATABASE_URL"] = database_url
    process = _start(data_dir, log_path, port, env, upgrade=upgrade)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(base_url, process, log_path)
        _log(f"[bench] {backend} server ready on {base_url} (data in {data_dir}, log {log_path})")
        yield Server(backend, base_url, data_dir, database_url, version, process.pid, log_path)
    except BaseException:
        _log(f"[bench] server log tail:\n{_tail(log_path)}")
        raise
    finally:
        _stop(process)
        if keep:
            _log(f"[bench] kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


@asynccontextmanager
async def running_servers(
    backend: str,
    processes: int,
    *,
    pg_admin_url: str,
    env_extra: dict[str, str],
    keep: bool,
    redis_url: str = REDIS_URL,
) -> AsyncIterator[Cluster]:
    """``processes`` ``parta serve`` processes on a fresh database: SQLite (one process
    only) or a new PostgreSQL database (dropped on exit). With more than one they share
    the database, one data dir and Redis under a channel prefix of their own, so other
    users of the shared Redis hear nothing of them; the first process migrates, the
    others start after it."""
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown backend {backend!r}")
    if backend == "sqlite" and processes != 1:
        raise ValueError("SQLite is the one-process embedded run")
    env = dict(env_extra)
    prefix = ""
    if processes > 1:
        prefix = f"bench-{secrets.token_hex(4)}:"
        env |= {"PARTA_REDIS_URL": redis_url, "PARTA_REDIS_PREFIX": prefix}
    if "PARTA_SECRET_KEY" not in env:  # every process must hash sign-in codes alike
        env["PARTA_SECRET_KEY"] = secrets.token_hex(32)
    async with AsyncExitStack() as stack:
        if backend == "sqlite":
            server = await stack.enter_async_context(
                running_server(
                    "sqlite", database_url="", version=sqlite3.sqlite_version, env_extra=env, keep=keep
                )
            )
            yield Cluster([server], env=env)
            return
        url, version = await stack.enter_async_context(postgres_database(pg_admin_url))
        shared = Path(tempfile.mkdtemp(prefix="parta-bench-shared-")) / "data"
        if not keep:
            stack.callback(shutil.rmtree, shared.parent, True)
        servers: list[Server] = []
        for index in range(processes):
            servers.append(
                await stack.enter_async_context(
                    running_server(
                        backend,
                        database_url=url,
                        version=version,
                        env_extra=env,
                        keep=keep,
                        upgrade=index == 0,
                        data_dir=shared,
                    )
                )
            )
        yield Cluster(servers, pg_database=url.rsplit("/", 1)[1], redis_prefix=prefix, env=env)
