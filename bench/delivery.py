"""Real-time delivery benchmark: one group chat, R receivers on WebSockets, S senders
at a fixed total rate, against real ``parta serve`` processes.

    .venv/bin/python -m bench.delivery [--backend sqlite|postgresql] [--processes 1|2] [--users N]
        [--receivers R] [--senders S] [--rate MSG_PER_S] [--duration SECONDS] [--missed 1000]

Prints one JSON document to stdout; progress goes to stderr. docs/performance.md
("Real-time delivery") describes the method and a run's results.

Senders use ``parta.client.PartaClient`` (its ``send_message``: a fresh ``client_msg_id``
and retries). Sends are an open loop: message k is due at ``t0 + k / rate`` and starts
then whether or not earlier ones were answered (up to ``--max-in-flight`` per sender).
Each message's text ends with its due time and send start on the machine-wide
monotonic clock, so receivers in other processes compute end-to-end latency.
Receivers are lean ``websockets`` connections in one or more worker processes (see
``CountingConnection``): they stamp each frame when its bytes come off the socket,
count those bytes, and check that every receiver got every message exactly once and
in log order. The catch-up of a client that missed ``--missed`` messages is measured
both with ``PartaClient.events(since)`` and with the lean connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import secrets
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from array import array
from collections import Counter, deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any, cast

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

from bench.client import Json, Person, sign_in, timed
from bench.core import (
    FIRST_NAMES,
    LAST_NAMES,
    Texts,
    add_common_arguments,
    log,
    machine,
    percentile,
    positive,
)
from bench.core import summary as core_summary
from bench.server import Server, postgres_database, process_cpu_seconds, process_memory_mb, running_server
from parta.client import PartaClient

REDIS_URL = "redis://127.0.0.1:6379/0"
MARK = " ~"  # message text ends with " ~<tag><number>.<due>.<send start>" (monotonic ns)
WARM, MEASURED, MISSED = "w", "m", "x"
PING_EVERY = 20.0  # app-level pings; the server closes a connection silent for 60 s
SEND_LIMIT_S = 120.0
QUIET_S = 0.5  # before measuring, no frame for this long (connect-time presence drained)
TARGET_P99_MS = 100.0
TARGET_CATCH_UP_S = 0.5
TARGET_CATCH_UP_BYTES = 150_000
DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


@dataclass(frozen=True)
class Config:
    backend: str
    processes: int
    users: int
    receivers: int
    senders: int
    rate: float
    duration: float
    missed: int
    warmup: int
    catch_up_runs: int
    max_in_flight: int
    receiver_procs: int
    connect_concurrency: int
    drain_timeout: float
    seed: int

    @property
    def messages(self) -> int:
        return max(1, round(self.rate * self.duration))


# --- statistics ------------------------------------------------------------------


def summary(samples: Sequence[float]) -> Json:
    """bench.core's percentiles (n, p50/p95/p99, mean, max in ms); ``{"n": 0}`` if empty."""
    return core_summary(list(samples)) if samples else {"n": 0}


def median(values: Sequence[float]) -> float:
    return sorted(values)[len(values) // 2]


def marked(text: str, tag: str, seq: int, due_ns: int, start_ns: int) -> str:
    return f"{text}{MARK}{tag}{seq}.{due_ns}.{start_ns}"


def parse_mark(text: str) -> tuple[str, int, int, int] | None:
    """(tag, number, scheduled time, send start) of a benchmark message (times in
    monotonic ns), else None."""
    at = text.rfind(MARK)
    if at < 0:
        return None
    tag = text[at + len(MARK)]
    seq, due, start = text[at + len(MARK) + 1 :].split(".")
    return tag, int(seq), int(due), int(start)


# --- /proc meters ------------------------------------------------------------------


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL backends serving ``database``: their process title names it."""
    needle = f" {database} "
    return [pid for pid in _pids() if _cmdline(pid).startswith("postgres:") and needle in _cmdline(pid)]


def redis_server_pids() -> list[int]:
    return [pid for pid in _pids() if _cmdline(pid).split(" ", 1)[0].endswith("redis-server")]


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@dataclass
class Snapshot:
    wall: float
    server_cpu: list[float]
    pg_cpu: dict[int, float]
    redis_cpu: dict[int, float]
    machine: tuple[int, int]
    client_cpu: float


class Meter:
    """CPU of the server processes, of this database's PostgreSQL backends, of Redis,
    of the whole machine and of this (sender) process, between two snapshots."""

    def __init__(self, servers: Sequence[Server], pg_database: str | None, redis: bool) -> None:
        self.servers = servers
        self.pg_database = pg_database
        self.redis = redis

    def snapshot(self) -> Snapshot:
        pg = postgres_backends(self.pg_database) if self.pg_database else []
        redis = redis_server_pids() if self.redis else []
        return Snapshot(
            wall=time.monotonic(),
            server_cpu=[process_cpu_seconds(s.pid) for s in self.servers],
            pg_cpu={pid: process_cpu_seconds(pid) for pid in pg},
            redis_cpu={pid: process_cpu_seconds(pid) for pid in redis},
            machine=machine_jiffies(),
            client_cpu=time.process_time(),
        )

    def between(self, a: Snapshot, b: Snapshot) -> Json:
        wall = b.wall - a.wall

        def percent(seconds: float) -> float:
            return round(100 * seconds / wall, 1)

        def group(before: dict[int, float], after: dict[int, float]) -> float:
            # A backend that started during the phase counts from its start.
            return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items() if cpu == cpu)

        busy, total = b.machine[0] - a.machine[0], b.machine[1] - a.machine[1]
        result: Json = {
            "wall_s": round(wall, 2),
            # Every CPU figure is a percentage of one core, as in top; the machine has
            # os.cpu_count() of them, so "machine_busy_percent" goes up to 200 here.
            "machine_busy_percent": round(100 * (os.cpu_count() or 1) * busy / total, 1) if total else None,
            "server_cpu_percent": [percent(y - x) for x, y in zip(a.server_cpu, b.server_cpu, strict=True)],
            "sender_process_cpu_percent": percent(b.client_cpu - a.client_cpu),
        }
        if self.pg_database:
            result["postgres_backends_cpu_percent"] = percent(group(a.pg_cpu, b.pg_cpu))
        if self.redis:
            result["redis_cpu_percent"] = percent(group(a.redis_cpu, b.redis_cpu))
        return result

    def memory(self) -> list[dict[str, float]]:
        return [process_memory_mb(s.pid) for s in self.servers]


# --- the receivers' side (worker processes) ----------------------------------------


class CountingConnection(ClientConnection):
    """A ``websockets`` client connection that counts every byte its socket delivered
    (the HTTP handshake answer, then WebSocket frames exactly as sent: compressed by
    permessage-deflate, with frame headers, control frames included) and stamps each
    complete data frame with the monotonic time its last bytes came off the socket,
    before the receiving coroutine gets to run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received_bytes = 0
        self.arrivals: deque[int] = deque()
        self._now_ns = 0

    def data_received(self, data: bytes) -> None:
        self.received_bytes += len(data)
        self._now_ns = time.monotonic_ns()
        super().data_received(data)

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.fin and event.opcode in DATA_OPCODES:
            self.arrivals.append(self._now_ns)
        super().process_event(event)


def tcp_bytes_received(ws: ClientConnection) -> int | None:
    """``tcpi_bytes_received`` of the connection's socket (Linux ``TCP_INFO``): every
    byte the kernel received on it, whether or not the application read it yet."""
    sock = ws.transport.get_extra_info("socket")
    if sock is None or not hasattr(socket, "TCP_INFO"):
        return None
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return int(struct.unpack_from("Q", info, 128)[0]) if len(info) >= 136 else None


async def open_counting(url: str) -> CountingConnection:
    ws = await connect(
        url,
        create_connection=CountingConnection,
        open_timeout=30,
        ping_interval=None,  # the server pings every 20 s; answering is automatic
        max_size=64 * 2**20,
        close_timeout=2,
    )
    return cast(CountingConnection, ws)


@dataclass(frozen=True)
class ReceiverSpec:
    user_id: int
    token: str
    url: str


@dataclass
class Recorder:
    """Latencies of one worker's deliveries (ms) and the span they cover."""

    socket_ms: array[float] = field(default_factory=lambda: array("d"))
    app_ms: array[float] = field(default_factory=lambda: array("d"))
    schedule_ms: array[float] = field(default_factory=lambda: array("d"))
    seq: array[int] = field(default_factory=lambda: array("i"))  # message number of each delivery
    first_ns: int = 0
    last_ns: int = 0
    last_frame_ns: int = 0


class Receiver:
    """One receiving user's connection; reconnects with ``since`` if it is closed."""

    def __init__(self, spec: ReceiverSpec, chat_id: int, recorder: Recorder) -> None:
        self.spec = spec
        self.chat_id = chat_id
        self.recorder = recorder
        self.ws: CountingConnection | None = None
        self.authenticated = False  # the current connection answered "ready"
        self.ready = asyncio.Event()  # the first connection did
        self.stopping = False
        self.last_id: int | None = None
        self.ids: list[int] = []  # measured messages in arrival order
        self.seen: set[int] = set()
        self.duplicates = 0
        self.out_of_order = 0
        self.warm = 0
        self.resets = 0
        self.connects = 0
        self.close_codes: list[int | None] = []
        self.errors: list[str] = []
        self.bytes_before = 0  # bytes of earlier connections
        self.json_bytes = 0  # decompressed frame payloads
        self.frames = 0  # "events" frames

    @property
    def received_bytes(self) -> int:
        return self.bytes_before + (self.ws.received_bytes if self.ws is not None else 0)

    async def run(self, gate: asyncio.Semaphore) -> None:
        while not self.stopping:
            try:
                # The gate bounds the handshakes in progress during the first connect.
                async with gate if not self.ready.is_set() else contextlib.nullcontext():
                    ws = await open_counting(self.spec.url)
                self.ws, self.connects = ws, self.connects + 1
                try:
                    await self._serve(ws)
                finally:
                    self.authenticated = False
                    self.close_codes.append(ws.close_code)
                    await ws.close()
                    self.bytes_before += ws.received_bytes
                    self.ws = None
            except (OSError, TimeoutError, WebSocketException) as exc:
                self.errors.append(repr(exc)[:200])
            if not self.stopping:
                await asyncio.sleep(0.5)

    async def _serve(self, ws: CountingConnection) -> None:
        auth: Json = {"type": "auth", "token": self.spec.token}
        if self.last_id is not None:
            auth["since"] = self.last_id
        await ws.send(json.dumps(auth))
        with contextlib.suppress(ConnectionClosed):
            while True:
                raw = await ws.recv(decode=False)
                now = time.monotonic_ns()
                arrived = ws.arrivals.popleft() if ws.arrivals else now
                self.json_bytes += len(raw)
                self.recorder.last_frame_ns = now
                self._on_frame(json.loads(raw), arrived, now)

    def _on_frame(self, frame: Json, arrived: int, now: int) -> None:
        kind = frame.get("type")
        if kind == "events":
            self.frames += 1
            for event in frame["events"]:
                self._on_event(event, arrived, now)
        elif kind == "ready":
            self.authenticated = True
            if self.last_id is None:
                self.last_id = int(frame["head"])
            self.ready.set()
        elif kind == "reset":
            self.resets += 1
            self.last_id = int(frame["next"])

    def _on_event(self, event: Json, arrived: int, now: int) -> None:
        event_id = int(event["id"])
        if self.last_id is not None and event_id <= self.last_id:
            self.out_of_order += 1
        else:
            self.last_id = event_id
        if event["type"] != "message.created" or event.get("chat_id") != self.chat_id:
            return
        message = event["data"]["message"]
        mark = parse_mark(message.get("text", ""))
        if mark is None:
            return
        tag, seq, due_ns, sent_ns = mark
        if tag == WARM:
            self.warm += 1
        elif tag == MEASURED:
            message_id = int(message["id"])
            if message_id in self.seen:
                self.duplicates += 1
            self.seen.add(message_id)
            self.ids.append(message_id)
            rec = self.recorder
            rec.socket_ms.append((arrived - sent_ns) / 1e6)
            rec.app_ms.append((now - sent_ns) / 1e6)
            rec.schedule_ms.append((arrived - due_ns) / 1e6)
            rec.seq.append(seq)
            rec.first_ns = min(rec.first_ns or arrived, arrived)
            rec.last_ns = max(rec.last_ns, arrived)

    def report(self, expected: set[int]) -> Json:
        return {
            "lost": len(expected - self.seen),
            "unexpected": len(self.seen - expected),
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "resets": self.resets,
            "reconnects": max(0, self.connects - 1),
            "close_codes": list(self.close_codes),
            "open": self.ws is not None and self.ws.close_code is None,
            "order": hashlib.blake2b(array("q", self.ids).tobytes(), digest_size=8).hexdigest(),
            "errors": self.errors[:3],
        }


async def wait_until(condition: Callable[[], bool], *, limit_s: float) -> bool:
    """Poll ``condition`` every 10 ms; False if it still fails after ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


class ReceiverProcess:
    """One worker process's receivers, driven by commands from the main process."""

    def __init__(self, pipe: Pipe, specs: list[ReceiverSpec], chat_id: int) -> None:
        self.pipe = pipe
        self.recorder = Recorder()
        self.receivers = [Receiver(spec, chat_id, self.recorder) for spec in specs]
        self.base: dict[str, Any] = {}
        self.warm_needed = 0
        self.expected: set[int] = set()

    async def run(self, connect_concurrency: int) -> None:
        gate = asyncio.Semaphore(connect_concurrency)
        started = time.monotonic()
        tasks = [asyncio.create_task(r.run(gate)) for r in self.receivers]
        pinger = asyncio.create_task(self._keepalive())  # from the start: connecting 1,000 takes a while
        ok = await wait_until(lambda: all(r.ready.is_set() for r in self.receivers), limit_s=600)
        self.pipe.send(("connected", {"ok": ok, "seconds": round(time.monotonic() - started, 2)}))
        loop = asyncio.get_running_loop()
        while True:
            command, argument = await loop.run_in_executor(None, self.pipe.recv)
            if command == "close":
                break
            self.pipe.send(await self._command(command, argument))
        pinger.cancel()
        for r in self.receivers:
            r.stopping = True
            if r.ws is not None:
                await r.ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.pipe.send(("closed", None))

    async def _command(self, command: str, argument: Any) -> tuple[str, Any]:
        if command == "warm":
            self.warm_needed = int(argument)
            got = await wait_until(self._warmed, limit_s=120)
            await wait_until(self._quiet, limit_s=120)
            return "warm", {"ok": got}
        if command == "start":
            self.base = {
                "bytes": sum(r.received_bytes for r in self.receivers),
                "json_bytes": sum(r.json_bytes for r in self.receivers),
                "frames": sum(r.frames for r in self.receivers),
                "cpu": time.process_time(),
            }
            return "started", None
        if command == "finish":
            self.expected = set(argument["ids"])
            done = await wait_until(self._complete, limit_s=float(argument["timeout"]))
            return "result", self._result(done)
        raise ValueError(f"unknown command {command!r}")

    def _warmed(self) -> bool:
        return all(r.warm >= self.warm_needed for r in self.receivers)

    def _quiet(self) -> bool:
        return time.monotonic_ns() - self.recorder.last_frame_ns > QUIET_S * 1e9

    def _complete(self) -> bool:
        # The cheap count first; the set comparison only once every count suffices.
        n = len(self.expected)
        return all(len(r.seen) >= n for r in self.receivers) and all(
            self.expected <= r.seen for r in self.receivers
        )

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(PING_EVERY)
            for r in self.receivers:
                if r.ws is not None and r.authenticated:
                    with contextlib.suppress(ConnectionClosed):
                        await r.ws.send('{"type":"ping"}')

    def _result(self, done: bool) -> Json:
        rec = self.recorder
        return {
            "complete": done,
            "receivers": [r.report(self.expected) for r in self.receivers],
            "bytes": sum(r.received_bytes for r in self.receivers) - self.base["bytes"],
            "json_bytes": sum(r.json_bytes for r in self.receivers) - self.base["json_bytes"],
            "frames": sum(r.frames for r in self.receivers) - self.base["frames"],
            "cpu_s": time.process_time() - self.base["cpu"],
            "socket_ms": rec.socket_ms.tobytes(),
            "app_ms": rec.app_ms.tobytes(),
            "schedule_ms": rec.schedule_ms.tobytes(),
            "seq": rec.seq.tobytes(),
            "first_ns": rec.first_ns,
            "last_ns": rec.last_ns,
            "last_event_id": max((r.last_id or 0) for r in self.receivers),
        }


def worker_main(pipe: Pipe, specs: list[ReceiverSpec], chat_id: int, connect_concurrency: int) -> None:
    """Entry point of a receiver process (multiprocessing, spawn)."""
    try:
        import uvloop  # in requirements.lock, as the server uses it through uvicorn

    except ImportError:
        asyncio.run(ReceiverProcess(pipe, specs, chat_id).run(connect_concurrency))
    else:
        uvloop.run(ReceiverProcess(pipe, specs, chat_id).run(connect_concurrency))


class Workers:
    """The receiver processes, driven over pipes."""

    def __init__(self, specs: list[ReceiverSpec], chat_id: int, procs: int, connect_concurrency: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Pipe] = []
        self.processes: list[Any] = []
        share = max(1, connect_concurrency // procs)
        for index in range(procs):
            mine, theirs = context.Pipe()
            part = specs[index::procs]
            process = context.Process(
                target=worker_main, args=(theirs, part, chat_id, share), name=f"receivers-{index}"
            )
            process.start()
            theirs.close()
            self.pipes.append(mine)
            self.processes.append(process)

    async def _recv(self, pipe: Pipe, expect: str, limit_s: float) -> Any:
        ready = await asyncio.to_thread(pipe.poll, limit_s)
        if not ready:
            raise TimeoutError(f"receiver process did not answer {expect!r} within {limit_s:.0f} s")
        kind, payload = pipe.recv()
        if kind != expect:
            raise RuntimeError(f"receiver process answered {kind!r}, expected {expect!r}")
        return payload

    async def ask(self, command: str, argument: Any, expect: str, *, limit_s: float) -> list[Any]:
        """Send ``command`` to every receiver process (none if empty) and collect the answers."""
        if command:
            for pipe in self.pipes:
                pipe.send((command, argument))
        return list(await asyncio.gather(*(self._recv(p, expect, limit_s) for p in self.pipes)))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ask("close", None, "closed", limit_s=60)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=10)


# --- the senders' side ---------------------------------------------------------------


@dataclass
class Sent:
    ids: list[int] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)  # started after its scheduled time by
    errors: Counter[str] = field(default_factory=Counter)  # exception type -> count
    error_example: str = ""
    first_start_ns: int = 0
    last_ack_ns: int = 0


@dataclass
class Sender:
    """One sending user: a PartaClient and a cap on its sends in flight (a person's
    phone sends one message after another; the cap keeps an overloaded run from
    piling up thousands of requests in one client's connection pool)."""

    client: PartaClient
    gate: asyncio.Semaphore


async def send_marked(
    sender: Sender, chat_id: int, text: str, tag: str, seq: int, sent: Sent, due_ns: int
) -> None:
    async with sender.gate:
        start = time.monotonic_ns()
        sent.lag_ms.append(max(0.0, (start - due_ns) / 1e6))
        sent.first_start_ns = min(sent.first_start_ns or start, start)
        try:
            # PartaClient retries (same client_msg_id) until its own deadline; the outer
            # limit only guarantees that an overloaded run ends.
            body = marked(text, tag, seq, due_ns, start)
            message = await asyncio.wait_for(sender.client.send_message(chat_id, body), SEND_LIMIT_S)
        except Exception as exc:  # reported, not fatal: a failed send is expected nowhere
            sent.errors[type(exc).__name__] += 1
            sent.error_example = sent.error_example or repr(exc)[:200]
            return
    end = time.monotonic_ns()
    sent.ids.append(int(message["id"]))
    sent.latency_ms.append((end - start) / 1e6)
    sent.last_ack_ns = max(sent.last_ack_ns, end)


async def open_loop(
    senders: Sequence[Sender], chat_id: int, texts: Texts, tag: str, count: int, rate: float
) -> Sent:
    """Message k is due at t0 + k / rate (sender k mod S) and starts then, answered or
    not, unless that sender already has its cap of sends in flight."""
    sent = Sent()
    tasks: list[asyncio.Task[None]] = []
    t0 = time.monotonic_ns() + 50_000_000
    step = 1e9 / rate
    for k in range(count):
        due = t0 + round(k * step)
        delay = (due - time.monotonic_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        sender = senders[k % len(senders)]
        tasks.append(asyncio.create_task(send_marked(sender, chat_id, texts.next(), tag, k, sent, due)))
    await asyncio.gather(*tasks)
    return sent


async def closed_loop(senders: Sequence[Sender], chat_id: int, texts: Texts, tag: str, count: int) -> Sent:
    """``count`` messages as fast as the senders get answers (each one at a time)."""
    sent = Sent()

    async def one_sender(index: int) -> None:
        for k in range(index, count, len(senders)):
            await send_marked(senders[index], chat_id, texts.next(), tag, k, sent, time.monotonic_ns())

    await asyncio.gather(*(one_sender(i) for i in range(len(senders))))
    return sent


# --- catch-up ---------------------------------------------------------------------------


async def catch_up_raw(url: str, token: str, since: int, expected: int) -> Json:
    """Connect with ``since`` and read until ``expected`` missed messages arrived."""
    started = time.perf_counter()
    ws = await open_counting(url)
    try:
        await ws.send(json.dumps({"type": "auth", "token": token, "since": since}))
        got = frames = json_bytes = 0
        while got < expected:
            raw = await ws.recv(decode=False)
            frames += 1
            json_bytes += len(raw)
            frame = json.loads(raw)
            if frame.get("type") == "reset":
                raise RuntimeError(f"catch-up answered reset after {got} messages")
            if frame.get("type") == "events":
                got += sum(1 for e in frame["events"] if e["type"] == "message.created")
        elapsed = time.perf_counter() - started
        return {
            "ms": elapsed * 1000,
            "bytes": ws.received_bytes,
            "tcp_bytes": tcp_bytes_received(ws),
            "json_bytes": json_bytes,
            "frames": frames,
        }
    finally:
        await ws.close()


async def catch_up_client(base_url: str, token: str, since: int, expected: int) -> Json:
    """The same through ``PartaClient.events(since)``; bytes from the socket's TCP_INFO."""
    async with PartaClient(base_url, token=token) as client:
        started = time.perf_counter()
        got = 0
        wire: int | None = None
        stream = cast("AsyncGenerator[Json]", client.events(since))
        async with aclosing(stream) as events:
            async for event in events:
                if event.get("type") == "reset":
                    raise RuntimeError(f"catch-up answered reset after {got} messages")
                got += event.get("type") == "message.created"
                if got >= expected:
                    ws = client._ws  # private: the client exposes no byte counter
                    wire = tcp_bytes_received(ws) if ws is not None else None
                    break
        return {"ms": (time.perf_counter() - started) * 1000, "tcp_bytes": wire}


async def measure_catch_up(
    servers: Sequence[Server], reader: Person, since: int, expected: int, runs: int
) -> Json:
    ws_url = servers[0].base_url.replace("http://", "ws://") + "/api/v1/ws"
    raw = [await catch_up_raw(ws_url, reader.token, since, expected) for _ in range(runs)]
    client = [await catch_up_client(servers[0].base_url, reader.token, since, expected) for _ in range(runs)]
    raw_ms = [r["ms"] for r in raw]
    client_ms = [r["ms"] for r in client]
    wire = median([r["bytes"] for r in raw])
    seconds = median(client_ms) / 1000
    return {
        "missed_messages": expected,
        "runs": runs,
        "parta_client_ms_median": round(median(client_ms), 1),
        "parta_client_ms_runs": [round(ms, 1) for ms in client_ms],
        "parta_client_tcp_bytes": [r["tcp_bytes"] for r in client],
        "raw_ms_median": round(median(raw_ms), 1),
        "raw_ms_runs": [round(ms, 1) for ms in raw_ms],
        "wire_bytes": wire,
        "wire_bytes_tcp_info": raw[0]["tcp_bytes"],
        "json_bytes": raw[0]["json_bytes"],
        "frames": raw[0]["frames"],
        "wire_bytes_per_message": round(wire / expected, 1),
        "target": {
            "seconds_under": TARGET_CATCH_UP_S,
            "bytes_under": TARGET_CATCH_UP_BYTES,
            "met": seconds < TARGET_CATCH_UP_S and wire < TARGET_CATCH_UP_BYTES,
        },
    }


# --- setup ------------------------------------------------------------------------------


async def sign_in_everyone(client: httpx.AsyncClient, server: Server, count: int) -> list[Person]:
    gate = asyncio.Semaphore(8)

    async def one(i: int) -> Person:
        name = (FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[i % len(LAST_NAMES)])
        async with gate:
            return await sign_in(client, server.data_dir, f"+7912700{i:04d}", name)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def group_of_everyone(client: httpx.AsyncClient, people: list[Person]) -> int:
    owner, others = people[0], [p.id for p in people[1:]]
    batch = 200  # the API's limit of members per call
    body = {"kind": "group", "title": "5А класс", "member_ids": others[:batch]}
    _, chat = await timed(client, "POST", "/chats", person=owner, json=body)
    chat_id = int(chat["id"])
    for start in range(batch, len(others), batch):
        body = {"user_ids": others[start : start + batch]}
        await timed(client, "POST", f"/chats/{chat_id}/members", person=owner, json=body)
    return chat_id


# --- one run ------------------------------------------------------------------------------


@asynccontextmanager
async def servers_for(cfg: Config, pg_admin_url: str, keep: bool) -> AsyncIterator[tuple[list[Server], str]]:
    """1 or 2 ``parta serve`` processes; yields them and the PostgreSQL database name."""
    env = {
        "PARTA_CODE_PER_IP_PER_HOUR": "100000",
        "PARTA_RATE_LIMIT_SCALE": "1000",
        "PARTA_SECRET_KEY": secrets.token_hex(32),
    }
    if cfg.processes > 1:
        env |= {"PARTA_REDIS_URL": REDIS_URL, "PARTA_REDIS_PREFIX": f"bench-{secrets.token_hex(4)}:"}
    async with AsyncExitStack() as stack:
        if cfg.backend == "sqlite":
            server = await stack.enter_async_context(
                running_server(
                    "sqlite", database_url="", version=sqlite3.sqlite_version, env_extra=env, keep=keep
                )
            )
            yield [server], ""
            return
        url, version = await stack.enter_async_context(postgres_database(pg_admin_url))
        servers = []
        for index in range(cfg.processes):
            servers.append(
                await stack.enter_async_context(
                    running_server(
                        "postgresql",
                        database_url=url,
                        version=version,
                        env_extra=env,
                        keep=keep,
                        upgrade=index == 0,  # the first process migrates, the others start after it
                    )
                )
            )
        yield servers, url.rsplit("/", 1)[1]


@dataclass
class Profiler:
    process: subprocess.Popen[bytes]
    path: Path


def start_profilers(directory: Path | None, servers: Sequence[Server], phase: str) -> list[Profiler]:
    """``py-spy record`` on each server process until ``stop_profilers`` (investigation
    only: py-spy is not a dependency; ``pip install py-spy`` into the venv to use it).
    Writes collapsed stacks, one file per process and phase."""
    if directory is None:
        return []
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        log(f"[delivery] WARNING: {py_spy} not found, not profiling (pip install py-spy)")
        return []
    directory.mkdir(parents=True, exist_ok=True)
    profilers = []
    for index, server in enumerate(servers):
        path = directory / f"{phase}-server{index}-{server.backend}.txt"
        command = [str(py_spy), "record", "--pid", str(server.pid), "--rate", "100", "--nonblocking"]
        command += ["--format", "raw", "--output", str(path)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        profilers.append(Profiler(process, path))
    return profilers


async def stop_profilers(profilers: list[Profiler]) -> list[str]:
    for profiler in profilers:
        profiler.process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        await asyncio.to_thread(profiler.process.wait, 60)
    return [str(p.path) for p in profilers]


async def measure(
    cfg: Config, servers: list[Server], pg_database: str, profile_dir: Path | None = None
) -> Json:
    meter = Meter(servers, pg_database or None, redis=cfg.processes > 1)
    out: Json = {"backend_version": servers[0].version, "server_pids": [s.pid for s in servers]}
    async with httpx.AsyncClient(base_url=servers[0].base_url, timeout=60) as http:
        started = time.perf_counter()
        log(f"[delivery] signing in {cfg.users} users")
        people = await sign_in_everyone(http, servers[0], cfg.users)
        signed_in = time.perf_counter()
        chat_id = await group_of_everyone(http, people)
        out["setup"] = {
            "users": len(people),
            "sign_in_s": round(signed_in - started, 1),
            "group_s": round(time.perf_counter() - signed_in, 1),
        }
    receivers = people[: cfg.receivers]
    ws_urls = [s.base_url.replace("http://", "ws://") + "/api/v1/ws" for s in servers]
    specs = [ReceiverSpec(p.id, p.token, ws_urls[i % len(servers)]) for i, p in enumerate(receivers)]
    texts = Texts(cfg.seed)
    sending = people[-cfg.senders :]
    async with AsyncExitStack() as stack:
        senders = [
            Sender(
                await stack.enter_async_context(
                    PartaClient(servers[i % len(servers)].base_url, token=p.token)
                ),
                asyncio.Semaphore(cfg.max_in_flight),
            )
            for i, p in enumerate(sending)
        ]
        log(f"[delivery] connecting {len(specs)} receivers in {cfg.receiver_procs} process(es)")
        memory_before = meter.memory()
        before = meter.snapshot()
        profilers = start_profilers(profile_dir, servers, "connect")
        workers = Workers(specs, chat_id, cfg.receiver_procs, cfg.connect_concurrency)
        try:
            connected = await workers.ask("", None, "connected", limit_s=900)
            after = meter.snapshot()
            profiles = await stop_profilers(profilers)
            memory_after = meter.memory()
            growth = sum(m.get("rss_mb", 0.0) for m in memory_after) - sum(
                m.get("rss_mb", 0.0) for m in memory_before
            )
            out["connect"] = {
                "receivers": len(specs),
                "all_ready": all(c["ok"] for c in connected),
                "seconds": max(c["seconds"] for c in connected),
                "cpu": meter.between(before, after),
                "server_memory_before_mb": memory_before,
                "server_memory_after_mb": memory_after,
                "server_rss_kb_per_connection": round(growth * 1024 / len(specs), 1),
            }
            log(f"[delivery] connected in {out['connect']['seconds']} s; warm-up ({cfg.warmup} messages)")
            await open_loop(senders, chat_id, texts, WARM, cfg.warmup, cfg.rate)
            await workers.ask("warm", cfg.warmup, "warm", limit_s=300)
            await workers.ask("start", None, "started", limit_s=60)
            log(f"[delivery] measuring: {cfg.messages} messages at {cfg.rate}/s to {len(specs)} receivers")
            before = meter.snapshot()
            profilers = start_profilers(profile_dir, servers, "sends")
            sent = await open_loop(senders, chat_id, texts, MEASURED, cfg.messages, cfg.rate)
            log(f"[delivery] sends done ({sent.errors.total()} errors); waiting for delivery")
            results = await workers.ask(
                "finish",
                {"ids": sent.ids, "timeout": cfg.drain_timeout},
                "result",
                limit_s=cfg.drain_timeout + 600,
            )
            after = meter.snapshot()
            out |= figures(cfg, sent, results, meter.between(before, after), len(specs))
            out["server_memory_end_mb"] = meter.memory()
            profiles += await stop_profilers(profilers)
            if profiles:
                out["profiles"] = profiles
            since = max(r["last_event_id"] for r in results)
        finally:
            await workers.close()
    log(f"[delivery] receivers closed; sending {cfg.missed} messages nobody receives live")
    async with AsyncExitStack() as stack:
        # Fresh clients: an overloaded run can leave an HTTP pool in a bad state.
        senders = [
            Sender(
                await stack.enter_async_context(PartaClient(servers[0].base_url, token=p.token)),
                asyncio.Semaphore(1),
            )
            for p in sending
        ]
        before = meter.snapshot()
        missed = await closed_loop(senders, chat_id, texts, MISSED, cfg.missed)
        cpu = meter.between(before, meter.snapshot())
        if missed.errors:
            log(f"[delivery] WARNING: {missed.errors.total()} of the missed sends failed")
    log(f"[delivery] catch-up of {cfg.missed} missed messages, {cfg.catch_up_runs} runs each way")
    out["catch_up"] = await measure_catch_up(servers, receivers[0], since, len(missed.ids), cfg.catch_up_runs)
    # The same sends with nobody connected: what a send costs the server without fan-out.
    out["sends_without_receivers"] = {
        "messages": len(missed.ids),
        "senders": len(senders),
        "per_s": round(len(missed.ids) / max(1e-9, (missed.last_ack_ns - missed.first_start_ns) / 1e9), 1),
        "latency": summary(missed.latency_ms),
        "server_cpu_ms_per_message": [
            round(pct * cpu["wall_s"] * 10 / max(1, len(missed.ids)), 2) for pct in cpu["server_cpu_percent"]
        ],
    }
    return out


def with_receivers(cpu: Json, receiver_cpu_s: list[float]) -> Json:
    """Adds the receiver processes' CPU, and what the machine spent outside this
    benchmark (other sessions on a shared machine; near 0 on a quiet one)."""
    receivers = [round(100 * s / cpu["wall_s"], 1) for s in receiver_cpu_s]
    ours = (
        sum(cpu["server_cpu_percent"])
        + cpu.get("postgres_backends_cpu_percent", 0.0)
        + cpu.get("redis_cpu_percent", 0.0)
        + cpu["sender_process_cpu_percent"]
        + sum(receivers)
    )
    others = round(cpu["machine_busy_percent"] - ours, 1) if cpu["machine_busy_percent"] is not None else None
    return cpu | {"receiver_processes_cpu_percent": receivers, "other_processes_cpu_percent": others}


def fan_out(seq: array[int], latency_ms: array[float]) -> Json:
    """Per message: latency to its first receiver, and the spread between its first
    and last receiver (how long the server took to write it to every socket)."""
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for number, ms in zip(seq, latency_ms, strict=True):
        if ms < first.get(number, math.inf):
            first[number] = ms
        if ms > last.get(number, -math.inf):
            last[number] = ms
    return {
        "first_receiver_latency": summary(list(first.values())),
        "first_to_last_receiver_spread": summary([last[n] - first[n] for n in first]),
    }


def by_send_time(cfg: Config, seq: array[int], latency_ms: array[float], buckets: int = 10) -> list[Json]:
    """Delivery latency of the messages due in each tenth of the run: flat when the
    server keeps up, growing when a backlog builds."""
    width = max(1, math.ceil(cfg.messages / buckets))
    groups: list[list[float]] = [[] for _ in range(math.ceil(cfg.messages / width))]
    for number, ms in zip(seq, latency_ms, strict=True):
        groups[min(number // width, len(groups) - 1)].append(ms)
    return [
        {
            "from_s": round(i * width / cfg.rate, 1),
            "p50_ms": round(percentile(sorted(g), 50), 1),
            "p99_ms": round(percentile(sorted(g), 99), 1),
        }
        for i, g in enumerate(groups)
        if g
    ]


def figures(cfg: Config, sent: Sent, results: list[Json], cpu: Json, receivers: int) -> Json:
    socket_ms: array[float] = array("d")
    app_ms: array[float] = array("d")
    schedule_ms: array[float] = array("d")
    seq: array[int] = array("i")
    for r in results:
        socket_ms.frombytes(r["socket_ms"])
        app_ms.frombytes(r["app_ms"])
        schedule_ms.frombytes(r["schedule_ms"])
        seq.frombytes(r["seq"])
    reports = [rec for r in results for rec in r["receivers"]]
    deliveries = len(socket_ms)
    last_ns = max(r["last_ns"] for r in results)
    window = max(1e-9, (last_ns - sent.first_start_ns) / 1e9)
    wire = sum(r["bytes"] for r in results)
    plain = sum(r["json_bytes"] for r in results)
    frames = sum(r["frames"] for r in results)
    server_cpu_s = sum(cpu["server_cpu_percent"]) * cpu["wall_s"] / 100
    close_codes = Counter(str(code) for rec in reports for code in rec["close_codes"])
    delivery = summary(socket_ms)
    send_window = (sent.last_ack_ns - sent.first_start_ns) / 1e9
    return {
        "send": {
            "messages": cfg.messages,
            "acknowledged": len(sent.ids),
            "errors": sent.errors.total(),
            "error_kinds": dict(sent.errors),
            "error_example": sent.error_example,
            "offered_per_s": cfg.rate,
            "acknowledged_per_s": round(len(sent.ids) / send_window, 1),
            "latency": summary(sent.latency_ms),
            "start_lag_behind_schedule": summary(sent.lag_ms),
        },
        "delivery": {
            "latency": delivery,
            "latency_when_read": summary(app_ms),
            "latency_from_schedule": summary(schedule_ms),
            "by_send_time": by_send_time(cfg, seq, socket_ms),
            **fan_out(seq, socket_ms),
            "deliveries": deliveries,
            "expected_deliveries": len(sent.ids) * receivers,
            "delivered_per_s": round(deliveries / window, 1),
            "offered_deliveries_per_s": round(cfg.rate * receivers, 1),
            "first_send_to_last_delivery_s": round(window, 2),
            "last_delivery_after_last_ack_s": round((last_ns - sent.last_ack_ns) / 1e9, 3),
            "complete": all(r["complete"] for r in results),
        },
        "wire": {
            "bytes_per_delivered_message": round(wire / deliveries, 1) if deliveries else None,
            "json_bytes_per_delivered_message": round(plain / deliveries, 1) if deliveries else None,
            "events_per_frame": round(deliveries / frames, 2) if frames else None,
            "total_bytes": wire,
        },
        "integrity": {
            "lost": sum(rec["lost"] for rec in reports),
            "duplicated": sum(rec["duplicates"] for rec in reports),
            "out_of_order": sum(rec["out_of_order"] for rec in reports),
            "unexpected": sum(rec["unexpected"] for rec in reports),
            "receivers_missing_messages": sum(1 for rec in reports if rec["lost"]),
            "same_order_everywhere": len({rec["order"] for rec in reports}) == 1,
            "resets": sum(rec["resets"] for rec in reports),
        },
        "connections": {
            "expected": receivers,
            "held_to_the_end": sum(1 for rec in reports if rec["open"]),
            "reconnects": sum(rec["reconnects"] for rec in reports),
            "close_codes": dict(close_codes),
            "error_examples": [e for rec in reports for e in rec["errors"]][:3],
        },
        "cpu": with_receivers(cpu, [r["cpu_s"] for r in results])
        | {
            # All server CPU in the phase, sends included, divided by messages and by deliveries.
            "server_cpu_ms_per_message": round(server_cpu_s * 1000 / max(1, len(sent.ids)), 2),
            "server_cpu_us_per_delivery": round(server_cpu_s * 1e6 / max(1, deliveries), 1),
        },
        "target": {
            "delivery_p99_ms_under": TARGET_P99_MS,
            "met": bool(deliveries) and delivery["p99_ms"] < TARGET_P99_MS,
        },
    }


async def machine_busy_percent(seconds: float) -> float:
    """How busy the machine is (percent of one core) over ``seconds``: other sessions."""
    a = machine_jiffies()
    await asyncio.sleep(seconds)
    b = machine_jiffies()
    return round(100 * (os.cpu_count() or 1) * (b[0] - a[0]) / max(1, b[1] - a[1]), 1)


async def run(cfg: Config, pg_admin_url: str, keep: bool, profile_dir: Path | None = None) -> Json:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    busy_before = await machine_busy_percent(2.0)
    log(f"[delivery] machine busy before the run: {busy_before} % of one core (load {load_before:.2f})")
    async with servers_for(cfg, pg_admin_url, keep) as (servers, pg_database):
        result = await measure(cfg, servers, pg_database, profile_dir)
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    result["load_avg_1m"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    result["machine_busy_before_percent"] = busy_before
    return result


# --- command line -------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Config]:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=1, help="server processes")
    parser.add_argument("--users", type=positive, default=200, help="N: members of the group chat")
    parser.add_argument("--receivers", type=positive, default=200, help="R: connected receivers")
    parser.add_argument("--senders", type=positive, help="S: sending users (default: max(4, rate / 5))")
    parser.add_argument(
        "--max-in-flight", type=positive, default=8, help="sends in flight per sender, at most"
    )
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second, all senders")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of sending")
    parser.add_argument("--missed", type=positive, default=1000, help="messages the catch-up client missed")
    parser.add_argument("--warmup", type=positive, default=20, help="messages sent before measuring")
    parser.add_argument("--catch-up-runs", type=positive, default=5)
    parser.add_argument("--receiver-procs", type=positive, default=1, help="client processes for receivers")
    parser.add_argument("--connect-concurrency", type=positive, default=50, help="receivers opening at once")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="seconds to wait for deliveries")
    add_common_arguments(parser)
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="profile each server process with py-spy during the sends (collapsed stacks in DIR)",
    )
    args = parser.parse_args(argv)
    if args.backend == "sqlite" and args.processes > 1:
        parser.error("--processes 2 needs --backend postgresql (SQLite is the one-process embedded run)")
    senders = args.senders or max(4, math.ceil(args.rate / 5))
    users = max(args.users, args.receivers, senders)
    if args.rate <= 0 or args.duration <= 0:
        parser.error("--rate and --duration must be positive")
    cfg = Config(
        backend=args.backend,
        processes=args.processes,
        users=users,
        receivers=args.receivers,
        senders=senders,
        max_in_flight=args.max_in_flight,
        rate=args.rate,
        duration=args.duration,
        missed=args.missed,
        warmup=args.warmup,
        catch_up_runs=args.catch_up_runs,
        receiver_procs=min(args.receiver_procs, args.receivers),
        connect_concurrency=args.connect_concurrency,
        drain_timeout=args.drain_timeout,
        seed=args.seed,
    )
    return args, cfg


async def main(argv: list[str] | None = None) -> int:
    args, cfg = parse_args(argv)
    document: Json = {
        "benchmark": "bench.delivery",
        "command": " ".join(["python -m bench.delivery", *sys.argv[1:]]),
        "machine": machine(),
        "config": asdict(cfg),
    }
    failed = False
    try:
        document["result"] = await run(cfg, args.pg_admin_url, args.keep_data, args.py_spy)
        log(f"[delivery] done in {document['result']['elapsed_s']} s")
    except Exception as exc:
        failed = True
        log(f"[delivery] FAILED: {exc!r}")
        document["result"] = {"error": repr(exc)}
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
