"""Private PostgreSQL and Redis servers, and a small tmpfs, that a test may break.

The shared PostgreSQL and Redis on their usual ports serve every other test run on
the machine, so a test that restarts, kills or fills something gets its own:

- ``PrivatePostgres``: a cluster made by ``initdb`` in a temporary directory, run as
  the ``postgres`` OS user (``initdb`` refuses root), listening on 127.0.0.1 on a free
  port with trust authentication; ``restart("fast")``, ``stop("immediate")``, ``start()``.
- ``PrivateRedis``: ``redis-server`` on a free port without persistence, so a restart
  loses all its state, as a real crash of a cache-only Redis does.
- ``tmpfs(path, size)``: a small tmpfs mounted on ``path`` (always unmounted after).

Each is used through a fixture-friendly ``unavailable()`` reason: outside CI a test
skips with it; with ``CI=true`` it fails (``require``).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg

from tests.conftest import require_service as require
from tests.servers import free_port

# Guards against hangs only.
COMMAND_TIMEOUT = 60.0


async def _run(*argv: str) -> str:
    """Run a command to its end; its output, or AssertionError with the output."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=COMMAND_TIMEOUT)
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited with {process.returncode}:\n{text}")
    return text


# --- PostgreSQL ----------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    """The newest installed server's bin directory (Debian's layout)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of one test: made, started, restarted and removed by it."""

    OS_USER = "postgres"

    def __init__(self) -> None:
        self.port = free_port()
        self.bin = _postgres_bin()
        self.root: Path | None = None

    @classmethod
    def unavailable(cls) -> str | None:
        """Why a private cluster cannot be made here, or None."""
        if _postgres_bin() is None:
            return "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) for a private cluster"
        if shutil.which("runuser") is None:
            return "no `runuser` to run initdb as the postgres OS user"
        if os.geteuid() != 0:
            return "a private PostgreSQL cluster needs root (to run initdb as the postgres OS user)"
        try:
            import pwd

            pwd.getpwnam(cls.OS_USER)
        except KeyError:
            return "no `postgres` OS user to run a private PostgreSQL cluster"
        return None

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def url(self, database: str = "parta") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def _as_postgres(self, program: str, *args: str) -> str:
        assert self.bin is not None
        return await _run("runuser", "-u", self.OS_USER, "--", str(self.bin / program), *args)

    async def create(self) -> None:
        """initdb (trust auth), start, and an empty database ``parta``."""
        self.root = Path(tempfile.mkdtemp(prefix="parta-pg-"))
        shutil.chown(self.root, self.OS_USER, self.OS_USER)
        await self._as_postgres(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        await self.start()
        conn = await asyncpg.connect(self.url("postgres"), timeout=10)
        try:
            await conn.execute('CREATE DATABASE "parta"')
        finally:
            await conn.close()

    async def start(self) -> None:
        # fsync off: the cluster lives for one test; a crash of the server process
        # (immediate shutdown) loses nothing the OS already has.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        log = str(self.root / "postgres.log") if self.root else "/dev/null"
        await self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "30", "-o", options, "start"
        )

    async def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions are ended, then a clean shutdown; ``immediate``: as a crash."""
        await self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    async def restart(self, mode: str = "fast") -> None:
        await self.stop(mode)
        await self.start()

    async def remove(self) -> None:
        if self.root is None:
            return
        with contextlib.suppress(AssertionError, TimeoutError):
            await self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A running private cluster with an empty database ``parta``; skips (fails in CI) without one."""
    require(PrivatePostgres.unavailable())
    cluster = PrivatePostgres()
    try:
        await cluster.create()
        yield cluster
    finally:
        await cluster.remove()


# --- Redis ---------------------------------------------------------------------------


class PrivateRedis:
    """``redis-server`` without persistence on a free port: killing it loses everything."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @staticmethod
    def unavailable() -> str | None:
        if shutil.which("redis-server") is None:
            return "no `redis-server` binary for a private Redis"
        return None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        import redis.asyncio as redis

        loop = asyncio.get_running_loop()
        deadline = loop.time() + COMMAND_TIMEOUT
        client = redis.from_url(self.url, socket_connect_timeout=1)
        try:
            while True:
                assert self.process is not None and self.process.returncode is None, "redis-server exited"
                try:
                    await client.ping()
                    return
                except Exception:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def kill(self) -> None:
        """SIGKILL: no goodbye to the subscribers, every key and subscription gone."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), timeout=COMMAND_TIMEOUT)

    async def subscribers(self, channel: str) -> int:
        """How many connections are subscribed to ``channel`` right now."""
        import redis.asyncio as redis

        client = redis.from_url(self.url, socket_connect_timeout=1)
        try:
            counts = await client.pubsub_numsub(channel)
            return int(counts[0][1])
        finally:
            await client.aclose()


@asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    require(PrivateRedis.unavailable())
    server = PrivateRedis()
    try:
        await server.start()
        yield server
    finally:
        await server.kill()


# --- A small disk --------------------------------------------------------------------


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (``2m``) mounted on ``path``; skips (fails in CI) where mounting
    is not permitted. Always unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        require("no `mount` command to make a small tmpfs")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        require(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield path
    finally:
        # Lazy: a file still open in a server being killed must not keep the mount.
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=COMMAND_TIMEOUT, check=False)


def resize_tmpfs(path: Path, size: str) -> None:
    """Grow (or shrink) a mounted tmpfs, as an administrator freeing space would."""
    subprocess.run(
        ["mount", "-o", f"remount,size={size}", str(path)],
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
        check=True,
    )
