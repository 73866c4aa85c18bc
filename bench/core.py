"""Core benchmark: sending, sync catch-up, history, search and the chat list,
against a real ``parta serve`` process on SQLite and/or PostgreSQL.

    .venv/bin/python -m bench.core [--backend sqlite|postgresql|both] [--messages N] [--concurrency C]

Prints one JSON document to stdout; progress goes to stderr. Every figure is
measured on the client with ``time.perf_counter`` around a full HTTP round trip
(so it includes the client's own overhead, see ``baseline.health``), after a
warm-up that is not counted, and carries its sample count ``n``.
docs/performance.md describes the method and a run's results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench.client import Json, Person, sign_in, timed
from bench.server import ROOT, CpuMeter, Server, postgres_database, running_server

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"

# School chat vocabulary. Several forms of one word ("учебник", "учебники",
# "учебника") check that search finds word forms, not just exact strings.
WORDS = (
    "учебник учебники учебника учебником контрольная контрольной контрольную собрание собрания "
    "родительское домашнее задание урок уроки математика литература физкультура расписание "
    "четверть оценка оценки дневник класс экскурсия олимпиада каникулы учитель ученики перемена "
    "тетрадь тетради сочинение диктант завтра сегодня принести сдать проверить повторить параграф "
    "страница упражнение кабинет библиотека форма справка кружок столовая звонок"
).split()
COMMON_QUERIES = ("учебник", "контрольная", "собрание")
RARE_WORD = "педсовет"  # planted in every RARE_EVERY-th message
RARE_EVERY = 250
SYNC_RUNS = 5
FIRST_NAMES = ("Анна", "Иван", "Мария", "Пётр", "Ольга", "Сергей", "Елена", "Дмитрий")
LAST_NAMES = ("Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов", "Орлова")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Config:
    messages: int
    concurrency: int
    sequential: int
    retries: int
    users: int
    chats: int
    samples: int
    warmup: int
    seed: int


# --- statistics --------------------------------------------------------------


def percentile(ordered: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * p / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(samples: list[float]) -> Json:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 50), 2),
        "p95_ms": round(percentile(ordered, 95), 2),
        "p99_ms": round(percentile(ordered, 99), 2),
        "mean_ms": round(sum(ordered) / len(ordered), 2),
        "max_ms": round(ordered[-1], 2),
    }


# --- data --------------------------------------------------------------------


class Texts:
    """Deterministic varied Russian sentences; every RARE_EVERY-th one has RARE_WORD."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._count = 0

    def next(self) -> str:
        self._count += 1
        words = [self._rng.choice(WORDS) for _ in range(self._rng.randint(5, 12))]
        if self._count % RARE_EVERY == 0:
            words.insert(self._rng.randint(0, len(words)), RARE_WORD)
        sentence = " ".join(words)
        return f"{sentence[0].upper()}{sentence[1:]}, стр. {self._rng.randint(1, 250)}."


@dataclass
class World:
    people: list[Person]
    group_id: int
    texts: Texts

    @property
    def owner(self) -> Person:  # created every chat; ~50 chats in the chat list
        return self.people[0]

    @property
    def writer(self) -> Person:  # sequential sends and retries
        return self.people[1]

    @property
    def reader(self) -> Person:  # never sends: catches up with sync, reads history
        return self.people[-1]


async def _sign_in_all(client: httpx.AsyncClient, server: Server, count: int) -> list[Person]:
    people = []
    for i in range(count):
        name = (FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[i % len(LAST_NAMES)])
        people.append(await sign_in(client, server.data_dir, f"+7912700{i:04d}", name))
    return people


async def setup(client: httpx.AsyncClient, server: Server, cfg: Config) -> tuple[World, Json]:
    """Users, the class group with everyone, and the owner's other chats (not timed as results)."""
    started = time.perf_counter()
    people = await _sign_in_all(client, server, cfg.users)
    signed_in = time.perf_counter()
    owner = people[0]
    body = {"kind": "group", "title": "5А класс", "member_ids": [p.id for p in people[1:]]}
    _, group = await timed(client, "POST", "/chats", person=owner, json=body)
    world = World(people=people, group_id=int(group["id"]), texts=Texts(cfg.seed))
    create_ms = []
    for i in range(cfg.chats - 1):  # the group above is the owner's first chat
        members = [people[1 + i % (len(people) - 2)].id]  # never the reader
        body = {"kind": "group", "title": f"Кружок {i + 1}", "member_ids": members}
        ms, chat = await timed(client, "POST", "/chats", person=owner, json=body)
        create_ms.append(ms)
        await send(client, world, owner, int(chat["id"]), f"setup-{i}")
    info = {
        "users": len(people),
        "sign_in_s": round(signed_in - started, 2),
        "owner_chats": cfg.chats,
        "create_chat": summary(create_ms) if create_ms else None,
        "setup_s": round(time.perf_counter() - started, 2),
    }
    return world, info


async def send(client: httpx.AsyncClient, world: World, person: Person, chat_id: int, key: str) -> float:
    return (await send_returning_id(client, world, person, chat_id, key))[0]


async def send_returning_id(
    client: httpx.AsyncClient, world: World, person: Person, chat_id: int, key: str
) -> tuple[float, int]:
    body = {"text": world.texts.next(), "client_msg_id": key}
    ms, msg = await timed(
        client, "POST", f"/chats/{chat_id}/messages", person=person, json=body, expect=(201,)
    )
    return ms, int(msg["id"])


# --- phases ------------------------------------------------------------------


async def warm_up(client: httpx.AsyncClient, world: World, cfg: Config) -> None:
    """Exercise every code path and connection before measuring; nothing here is reported."""
    for person in world.people[:-1]:
        for i in range(3):
            await send(client, world, person, world.group_id, f"warm-{person.id}-{i}")
    reader = world.reader
    for _ in range(cfg.warmup):
        await timed(client, "GET", "/health")
        await timed(client, "GET", "/me", person=reader)
        await timed(client, "GET", f"/chats/{world.group_id}/messages?limit=50", person=reader)
        await timed(client, "GET", "/search", person=reader, params={"q": COMMON_QUERIES[0]})
        await timed(client, "GET", "/chats", person=world.owner)
        await timed(client, "GET", "/sync?since=0&limit=50", person=reader)


async def repeat(client: httpx.AsyncClient, n: int, method: str, url: str, **kwargs: Any) -> Json:
    samples = [(await timed(client, method, url, **kwargs))[0] for _ in range(n)]
    return summary(samples)


async def baseline(client: httpx.AsyncClient, world: World, cfg: Config) -> Json:
    """The floor under every figure: a route with no database, and auth plus one query."""
    return {
        "health": await repeat(client, cfg.samples, "GET", "/health"),
        "me": await repeat(client, cfg.samples, "GET", "/me", person=world.reader),
    }


async def sequential_sends(
    client: httpx.AsyncClient, world: World, cfg: Config
) -> tuple[Json, dict[str, int]]:
    """One user sends one message after another; returns figures and client_msg_id -> message id."""
    samples, sent = [], {}
    for i in range(cfg.sequential):
        key = f"seq-{i}"
        ms, sent[key] = await send_returning_id(client, world, world.writer, world.group_id, key)
        samples.append(ms)
    return summary(samples), sent


async def retried_sends(client: httpx.AsyncClient, world: World, cfg: Config, sent: dict[str, int]) -> Json:
    """Resend acknowledged messages with their client_msg_id: each must answer 200 with the
    original message (checked), as after a lost response."""
    keys = list(sent)
    chosen = keys[:: max(1, len(keys) // cfg.retries)][: cfg.retries]
    samples = []
    for key in chosen:
        body = {"text": "повтор", "client_msg_id": key}
        url = f"/chats/{world.group_id}/messages"
        ms, msg = await timed(client, "POST", url, person=world.writer, json=body, expect=(200,))
        if msg["id"] != sent[key]:
            raise RuntimeError(f"retry of {key} returned message {msg['id']}, not {sent[key]}")
        samples.append(ms)
    return summary(samples) | {"all_returned_original": True}


async def _sender(client: httpx.AsyncClient, world: World, person: Person, count: int) -> list[float]:
    return [await send(client, world, person, world.group_id, f"c{person.id}-{i}") for i in range(count)]


async def concurrent_sends(client: httpx.AsyncClient, world: World, cfg: Config) -> Json:
    """C distinct users each send their share of N messages back to back, all at once."""
    senders = world.people[2 : 2 + cfg.concurrency]
    shares = [cfg.messages // len(senders) + (i < cfg.messages % len(senders)) for i in range(len(senders))]
    started = time.perf_counter()
    tasks = (_sender(client, world, p, n) for p, n in zip(senders, shares, strict=True))
    results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    samples = [ms for part in results for ms in part]
    return {
        "concurrency": len(senders),
        "messages": len(samples),
        "wall_s": round(wall, 3),
        "messages_per_s": round(len(samples) / wall, 1),
        "latency": summary(samples),
    }


async def _catch_up(client: httpx.AsyncClient, reader: Person, since: int) -> tuple[float, int, int, bool]:
    pages = events = 0
    reset = False
    started = time.perf_counter()
    while True:
        _, page = await timed(client, "GET", "/sync", person=reader, params={"since": since})
        pages += 1
        events += len(page["events"])
        reset = reset or bool(page.get("reset"))
        since = int(page["next"])
        if not page.get("has_more"):
            break
    return (time.perf_counter() - started) * 1000, pages, events, reset


async def sync_catch_up(client: httpx.AsyncClient, world: World, since: int, expected: int) -> Json:
    """A member who was offline during the concurrent sends pages through all of them."""
    measured = [await _catch_up(client, world.reader, since) for _ in range(SYNC_RUNS)]
    totals = sorted(ms for ms, *_ in measured)
    median_ms = totals[len(totals) // 2]
    _, pages, events, reset = measured[0]
    if events != expected or reset:
        log(f"[bench] WARNING: sync returned {events} events (reset={reset}), expected {expected}")
    return {
        "runs": SYNC_RUNS,
        "pages": pages,
        "events": events,
        "expected_events": expected,
        "reset": reset,
        "total_ms_median": round(median_ms, 1),
        "total_ms_runs": [round(ms, 1) for ms, *_ in measured],
        "events_per_s": round(events / (median_ms / 1000), 0),
        "ms_per_page": round(median_ms / pages, 2),
    }


async def history(client: httpx.AsyncClient, world: World, cfg: Config, newest_id: int) -> Json:
    url = f"/chats/{world.group_id}/messages"
    newest = await repeat(client, cfg.samples, "GET", url, person=world.reader, params={"limit": 50})
    rng = random.Random(cfg.seed)
    scroll = []
    for _ in range(cfg.samples):
        params = {"limit": 50, "before": rng.randint(100, newest_id)}
        scroll.append((await timed(client, "GET", url, person=world.reader, params=params))[0])
    return {"newest_page": newest, "older_page": summary(scroll)}


async def _reader_loop(client: httpx.AsyncClient, person: Person, url: str, count: int) -> list[float]:
    return [(await timed(client, "GET", url, person=person, params={"limit": 50}))[0] for _ in range(count)]


async def concurrent_history(client: httpx.AsyncClient, world: World, cfg: Config) -> Json:
    """C members read the newest page at once: do reads run side by side?"""
    readers = world.people[2 : 2 + cfg.concurrency]
    url = f"/chats/{world.group_id}/messages"
    per_reader = max(1, 2 * cfg.samples // len(readers))
    started = time.perf_counter()
    results = await asyncio.gather(*(_reader_loop(client, p, url, per_reader) for p in readers))
    wall = time.perf_counter() - started
    samples = [ms for part in results for ms in part]
    return {
        "concurrency": len(readers),
        "requests_per_s": round(len(samples) / wall, 1),
        "latency": summary(samples),
    }


async def search(client: httpx.AsyncClient, world: World, samples: int) -> Json:
    """A common word (thousands of matches, the API's default page of 30), the same with
    a page of 1 (isolates rendering), and a rare word (a handful of matches)."""
    reader = world.reader
    result: Json = {}
    for name, limit in (("common_word", 30), ("common_word_limit_1", 1)):
        timings, found = [], 0
        for i in range(samples):
            params = {"q": COMMON_QUERIES[i % len(COMMON_QUERIES)], "limit": limit}
            ms, page = await timed(client, "GET", "/search", person=reader, params=params)
            timings.append(ms)
            found = len(page["messages"])
        result[name] = summary(timings) | {"results_per_page": found}
    rare = []
    for _ in range(samples):
        ms, page = await timed(client, "GET", "/search", person=reader, params={"q": RARE_WORD})
        rare.append(ms)
    result["rare_word"] = summary(rare) | {"results_per_page": len(page["messages"])}
    return result


async def chat_list(client: httpx.AsyncClient, world: World, cfg: Config) -> Json:
    _, body = await timed(client, "GET", "/chats", person=world.owner)
    unread = sum(int(c.get("unread_count", 0)) for c in body["chats"])
    figures = await repeat(client, cfg.samples, "GET", "/chats", person=world.owner)
    return figures | {"chats": len(body["chats"]), "unread_total": unread}


# --- one backend ---------------------------------------------------------------


async def _database_size(server: Server) -> float:
    if server.backend == "sqlite":
        files = [server.data_dir / f"parta.db{suffix}" for suffix in ("", "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 2**20
    conn = await asyncpg.connect(server.database_url)
    try:
        return float(await conn.fetchval("SELECT pg_database_size(current_database())")) / 2**20
    finally:
        await conn.close()


async def measure_writes(
    client: httpx.AsyncClient, server: Server, world: World, cfg: Config
) -> tuple[Json, int]:
    """Sends; returns the figures and the reader's log position before the concurrent sends."""
    out: Json = {"baseline": await baseline(client, world, cfg)}
    out["chat_list_few_unread"] = await chat_list(client, world, cfg)
    log(f"[{server.backend}] {cfg.sequential} sequential sends")
    meter = CpuMeter(server.pid)
    out["send_sequential"], sent = await sequential_sends(client, world, cfg)
    out["send_sequential"] |= meter.per_request(cfg.sequential)
    out["send_retry"] = await retried_sends(client, world, cfg, sent)
    _, me = await timed(client, "GET", "/me", person=world.reader)
    log(f"[{server.backend}] {cfg.messages} sends by {cfg.concurrency} concurrent senders")
    meter = CpuMeter(server.pid)
    out["send_concurrent"] = await concurrent_sends(client, world, cfg)
    out["send_concurrent"] |= meter.per_request(cfg.messages)
    return out, int(me["last_event_id"])


async def analyze(server: Server) -> float:
    """PostgreSQL: refresh planner statistics, as autovacuum does within about a minute
    (autovacuum_naptime) of a bulk change; returns the seconds it took."""
    started = time.perf_counter()
    conn = await asyncpg.connect(server.database_url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return round(time.perf_counter() - started, 2)


async def measure_reads(
    client: httpx.AsyncClient, server: Server, world: World, cfg: Config, since: int
) -> Json:
    log(f"[{server.backend}] reads: sync, history, search, chat list")
    out: Json = {}
    meter = CpuMeter(server.pid)
    out["sync_catch_up"] = await sync_catch_up(client, world, since, expected=cfg.messages)
    out["sync_catch_up"] |= meter.per_request(out["sync_catch_up"]["pages"] * SYNC_RUNS)
    url = f"/chats/{world.group_id}/messages?limit=1"
    _, newest = await timed(client, "GET", url, person=world.reader)
    meter = CpuMeter(server.pid)
    out["history"] = await history(client, world, cfg, int(newest["messages"][-1]["id"]))
    out["history"] |= meter.per_request(2 * cfg.samples)
    out["history_concurrent"] = await concurrent_history(client, world, cfg)
    meter = CpuMeter(server.pid)
    out["search"] = await search(client, world, cfg.samples)
    out["search"] |= meter.per_request(3 * cfg.samples)
    out["chat_list"] = await chat_list(client, world, cfg)
    return out


async def measure(server: Server, cfg: Config) -> Json:
    limits = httpx.Limits(max_connections=cfg.concurrency + 8, max_keepalive_connections=cfg.concurrency + 8)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120, limits=limits) as client:
        log(f"[{server.backend}] setup: {cfg.users} users, {cfg.chats} chats")
        world, setup_info = await setup(client, server, cfg)
        log(f"[{server.backend}] warm-up")
        await warm_up(client, world, cfg)
        out: Json = {"backend_version": server.version, "setup": setup_info}
        writes, since = await measure_writes(client, server, world, cfg)
        out |= writes
        if server.backend == "postgresql":
            log(f"[{server.backend}] search before and after ANALYZE")
            out["search_before_analyze"] = await search(client, world, max(10, cfg.samples // 4))
            out["analyze_s"] = await analyze(server)
        out |= await measure_reads(client, server, world, cfg, since)
        out["database_mb"] = round(await _database_size(server), 1)
    return out


def _server_env(cfg: Config) -> dict[str, str]:
    # A catch-up longer than sync_reset_after is answered with `reset`; keep the
    # default unless the run itself would cross it.
    env = {"PARTA_CODE_PER_IP_PER_HOUR": "100000", "PARTA_RATE_LIMIT_SCALE": "1000"}
    if cfg.messages >= 9_000:
        env["PARTA_SYNC_RESET_AFTER"] = str(cfg.messages + 1_000)
    return env


async def run_backend(backend: str, cfg: Config, *, pg_admin_url: str, keep: bool) -> Json:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    env = _server_env(cfg)
    if backend == "sqlite":
        async with running_server(
            backend, database_url="", version=sqlite3.sqlite_version, env_extra=env, keep=keep
        ) as server:
            result = await measure(server, cfg)
    else:
        async with (
            postgres_database(pg_admin_url) as (url, version),
            running_server(backend, database_url=url, version=version, env_extra=env, keep=keep) as server,
        ):
            result = await measure(server, cfg)
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    # Other processes on the machine skew every figure. "before" shows whether any were
    # running; "after" also counts this benchmark's own client, server and database.
    result["load_avg_1m"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    log(f"[{backend}] done in {result['elapsed_s']} s")
    return result


# --- the document ------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev}{'+dirty' if dirty else ''}"


def machine() -> Json:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": _memory_gb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "parta_revision": _git_revision(),
        "note": "client and server share the machine's CPUs",
    }


def positive(value: str) -> int:
    """An argparse type: a whole number of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments every benchmark takes: seed, PostgreSQL admin URL, keeping data."""
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("PARTA_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL),
        help="PostgreSQL database to connect to for CREATE/DROP DATABASE",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the data dirs for inspection")


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Config]:
    parser = argparse.ArgumentParser(prog="python -m bench.core", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--messages", type=positive, default=2000, help="N: messages sent concurrently")
    parser.add_argument("--concurrency", type=positive, default=8, help="C: concurrent senders / readers")
    parser.add_argument("--sequential", type=positive, default=500, help="sends timed one at a time")
    parser.add_argument("--retries", type=positive, default=100, help="retried sends timed")
    parser.add_argument("--users", type=positive, default=20)
    parser.add_argument("--chats", type=positive, default=50, help="chats in the measured chat list")
    parser.add_argument("--samples", type=positive, default=100, help="requests per read figure")
    parser.add_argument("--warmup", type=positive, default=10, help="warm-up rounds of each read")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    users = max(args.users, args.concurrency + 3)  # owner, writer, C senders, reader
    cfg = Config(
        messages=args.messages,
        concurrency=args.concurrency,
        sequential=args.sequential,
        retries=min(args.retries, args.sequential),
        users=users,
        chats=args.chats,
        samples=args.samples,
        warmup=args.warmup,
        seed=args.seed,
    )
    return args, cfg


async def main(argv: list[str] | None = None) -> int:
    args, cfg = parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    document: Json = {
        "benchmark": "bench.core",
        "command": " ".join(["python -m bench.core", *sys.argv[1:]]),
        "machine": machine(),
        "config": asdict(cfg),
        "results": {},
    }
    failed = False
    for backend in backends:
        try:
            document["results"][backend] = await run_backend(
                backend, cfg, pg_admin_url=args.pg_admin_url, keep=args.keep_data
            )
        except Exception as exc:  # report the other backend's figures all the same
            failed = True
            log(f"[{backend}] FAILED: {exc!r}")
            document["results"][backend] = {"error": repr(exc)}
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
