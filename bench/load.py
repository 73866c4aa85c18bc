"""School morning: a school of 1,000 people (60 teachers, 30 classes of students and
their parents) signs in and reads and writes its chats, against real ``parta serve``
processes.

    .venv/bin/python -m bench.load [--backend postgresql|sqlite] [--processes 1|2] [--users 1000]
        [--classes 30] [--teachers 60] [--ramp 180] [--ws-fraction 0.3] [--returning]

Prints one JSON document to stdout; progress goes to stderr. docs/performance.md
("School morning load") describes the scenario and a run's results.

Seeding (not measured): the admin creates the school, uploads its roster (teachers,
students in their classes, parents linked to their children), which makes the class
chats and the parents' chats; the teachers sign in and are assigned to classes; the
chats get a little history. Students and parents have no account yet: the morning is
the school's first on Parta, the morning's sign-in is their first and activates their
membership (they enter their class chats then). With ``--returning`` they sign in
once during the seeding too, and the morning is an ordinary one on a new device.

The morning: each person arrives at a random moment of the ramp (triangular, busiest
at ``--peak-at``) from their own address (``X-Forwarded-For``: 1,000 phones), with
their own HTTP connection, and requests a code, signs in, opens the chat list, opens
1-3 chats (a page of messages, marks it read, sometimes reacts) and sometimes writes:
teachers post announcements to their class and parents' chats, parents reply in the
parents' chat, students write in the class chat. ``--ws-fraction`` of them also open
the WebSocket right after the chat list and stay connected to the end, checking that
every message sent in their chats after they connected arrives exactly once. Every
request is timed on the client; failures are counted by status and error code and
never retried (a 429 is an error here: a morning must not trip the rate limits).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import ssl
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from bench.client import API, ApiFailed, Json
from bench.core import FIRST_NAMES, LAST_NAMES, Texts, add_common_arguments, log, machine, positive
from bench.delivery import Meter, machine_busy_percent, start_profilers, stop_profilers, summary, wait_until
from bench.server import Cluster, Server, process_memory_mb, running_servers

GRADES_LETTERS = "АБВГДЕ"
PING_EVERY = 20.0  # app-level pings; the server closes a connection silent for 60 s
REACTIONS = ("👍", "❤️", "🙏", "👏", "✅")
SEED_CONCURRENCY = 16
TIMELINE_BUCKET_S = 10.0


@dataclass(frozen=True)
class Config:
    backend: str
    processes: int
    users: int
    classes: int
    teachers: int
    first_sign_in: bool
    history: int  # messages per class chat and parents' chat before the morning
    ramp: float  # seconds over which people arrive
    peak_at: float  # fraction of the ramp where arrivals are densest
    think: float  # mean pause between a person's steps, seconds
    ws_fraction: float
    chats_max: int
    teacher_post: float  # chance that a teacher posts in a chat they open
    parent_reply: float
    student_post: float
    reaction: float
    timeout: float
    drain_timeout: float
    code_resend_seconds: int  # the server's PARTA_CODE_RESEND_SECONDS (its default is 60)
    cost_samples: int  # after the morning: requests of each kind, one at a time
    seed: int

    @property
    def students(self) -> int:
        return (self.users - self.teachers + 1) // 2

    @property
    def parents(self) -> int:
        return self.users - self.teachers - self.students


# --- the school --------------------------------------------------------------------


@dataclass
class Person:
    index: int
    role: str  # teacher | student | parent | admin
    phone: str
    name: tuple[str, str]
    ip: str
    class_index: int | None = None  # a student's class, a parent's child's class
    child: int | None = None  # a parent's child (index)
    user_id: int | None = None
    live: bool = False  # opens the WebSocket in the morning
    code_at: float = 0.0  # monotonic time of the person's last code request

    @property
    def full_name(self) -> str:
        return f"{self.name[1]} {self.name[0]}"


@dataclass
class Klass:
    name: str
    id: int = 0
    chat_id: int = 0
    parents_chat_id: int = 0
    teachers: list[int] = field(default_factory=list)  # person indexes


@dataclass
class School:
    admin: Person
    people: list[Person]
    classes: list[Klass]
    org_id: int = 0

    def by_role(self, role: str) -> list[Person]:
        return [p for p in self.people if p.role == role]


def class_names(count: int) -> list[str]:
    """1А, 1Б, 1В, 2А, ... (three letters a grade, more if 11 grades are not enough)."""
    letters = max(3, math.ceil(count / 11))
    if letters > len(GRADES_LETTERS):
        raise ValueError(f"at most {11 * len(GRADES_LETTERS)} classes")
    return [f"{grade}{letter}" for grade in range(1, 12) for letter in GRADES_LETTERS[:letters]][:count]


def address(index: int) -> str:
    """A distinct client address per person: 10.0.0.1, 10.0.0.2, ..."""
    n = index + 1
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def plan_school(cfg: Config) -> School:
    """Who is who: teachers first, then students (round robin over the classes), then
    one parent per student while there are parents; people take part by index."""
    rng = random.Random(cfg.seed)
    names = class_names(cfg.classes)
    people: list[Person] = []

    def person(role: str, **extra: Any) -> Person:
        index = len(people)
        name = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
        p = Person(index, role, f"+7913{index + 1:07d}", name, address(index), **extra)
        people.append(p)
        return p

    classes = [Klass(name) for name in names]
    for t in range(cfg.teachers):
        teacher = person("teacher")
        classes[t % cfg.classes].teachers.append(teacher.index)
    students = [person("student", class_index=s % cfg.classes) for s in range(cfg.students)]
    for p in range(cfg.parents):
        child = students[p % len(students)]
        person("parent", class_index=child.class_index, child=child.index)
    live = rng.sample(range(len(people)), round(cfg.ws_fraction * len(people)))
    for index in live:
        people[index].live = True
    admin = Person(-1, "admin", "+79120000000", ("Анна", "Директорова"), "10.255.255.254")
    return School(admin, people, classes)


def roster_csv(school: School) -> bytes:
    rows = ["ФИО;Роль;Класс;Телефон;Ребёнок"]
    role_names = {"teacher": "учитель", "student": "ученик", "parent": "родитель"}
    for p in school.people:
        klass = (
            school.classes[p.class_index].name if p.role == "student" and p.class_index is not None else ""
        )
        child = school.people[p.child].phone if p.child is not None else ""
        rows.append(f"{p.full_name};{role_names[p.role]};{klass};{p.phone};{child}")
    return ("\r\n".join(rows) + "\r\n").encode()


# --- sign-in codes ------------------------------------------------------------------


class CodeBook:
    """Follows ``<data dir>/otp.log`` (the development code sender's file; processes
    that share the data dir append to the same file) and remembers each phone's
    newest code."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self._codes: dict[str, str] = {}

    def _read(self) -> None:
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                entry = json.loads(line)
                self._codes[str(entry["phone"])] = str(entry["code"])

    def take(self, phone: str) -> str:
        """The newest code for ``phone`` (written before the server answered)."""
        self._read()
        code = self._codes.pop(phone, None)
        if code is None:
            raise ApiFailed(f"no sign-in code for {phone} in {self.path}")
        return code


# --- requests --------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    start: float  # seconds since the morning began
    ms: float
    error: str  # "" when the answer was the expected one


@dataclass
class Stats:
    """Every timed request of the morning."""

    t0: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    error_examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, started: float, ms: float, error: str = "", example: str = "") -> None:
        self.samples.append(Sample(kind, started - self.t0, ms, error))
        if error and f"{kind} {error}" not in self.error_examples:
            self.error_examples[f"{kind} {error}"] = example[:300]


def error_key(response: httpx.Response) -> str:
    try:
        code = str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        code = "no_error_code"
    return f"{response.status_code} {code}"


async def call(
    http: httpx.AsyncClient,
    stats: Stats,
    kind: str,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    expect: tuple[int, ...] = (200, 201),
    **kwargs: Any,
) -> Json | None:
    """One timed request of the morning; the parsed body, or None after an error
    (counted, never retried)."""
    started = time.monotonic()
    try:
        response = await http.request(method, API + url, headers=headers, **kwargs)
    except httpx.TimeoutException as exc:
        stats.add(kind, started, (time.monotonic() - started) * 1000, "timeout", repr(exc))
        return None
    except httpx.HTTPError as exc:
        stats.add(kind, started, (time.monotonic() - started) * 1000, type(exc).__name__, repr(exc))
        return None
    ms = (time.monotonic() - started) * 1000
    if response.status_code not in expect:
        stats.add(kind, started, ms, error_key(response), response.text)
        return None
    stats.add(kind, started, ms)
    data: Json = response.json() if response.content else {}
    return data


async def seed_call(
    http: httpx.AsyncClient, method: str, url: str, *, counter: Counter[str], **kwargs: Any
) -> Json:
    """A seeding request: 429 waits ``Retry-After`` and tries again (an admin setting up
    a school takes longer than a script); anything else unexpected stops the run."""
    for _ in range(20):
        response = await http.request(method, API + url, **kwargs)
        if response.status_code == 429:
            counter[f"{method} {url.split('?')[0]}"] += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            continue
        if response.status_code not in (200, 201):
            raise ApiFailed(f"{method} {url} -> {response.status_code}: {response.text[:300]}")
        data: Json = response.json() if response.content else {}
        return data
    raise ApiFailed(f"{method} {url}: still rate limited after 20 tries")


# --- seeding ---------------------------------------------------------------------------


@dataclass
class Seeded:
    school: School
    tokens: dict[int, str]  # person index -> a seeding session's token (teachers; everyone with --returning)
    admin_token: str
    info: Json


async def seed_sign_in(
    http: httpx.AsyncClient, codes: CodeBook, person: Person, counter: Counter[str]
) -> str:
    headers = {"X-Forwarded-For": person.ip}
    await seed_call(
        http, "POST", "/auth/code", json={"phone": person.phone}, headers=headers, counter=counter
    )
    person.code_at = time.monotonic()
    body = {"phone": person.phone, "code": codes.take(person.phone), "device_name": "вчера"}
    token = await seed_call(http, "POST", "/auth/token", json=body, headers=headers, counter=counter)
    person.user_id = int(token["user"]["id"])
    auth = headers | {"Authorization": f"Bearer {token['token']}"}
    profile = {"first_name": person.name[0], "last_name": person.name[1]}
    await seed_call(http, "PATCH", "/me", json=profile, headers=auth, counter=counter)
    return str(token["token"])


async def gathered(jobs: Sequence[Callable[[], Awaitable[Any]]], concurrency: int) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def seed(cfg: Config, cluster: Cluster, school: School, codes: CodeBook) -> Seeded:
    base = cluster.servers[0].base_url
    limited: Counter[str] = Counter()
    times: Json = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[name] = round(now - clock, 1)
        clock = now

    async with httpx.AsyncClient(base_url=base, timeout=300) as http:
        admin_token = await seed_sign_in(http, codes, school.admin, limited)
        admin = {"Authorization": f"Bearer {admin_token}", "X-Forwarded-For": school.admin.ip}
        org_body = {
            "kind": "school",
            "full_name": "МБОУ «Средняя общеобразовательная школа № 7»",
            "short_name": "Школа № 7",
            "region": "77",
        }
        org = await seed_call(http, "POST", "/orgs", json=org_body, headers=admin, counter=limited)
        school.org_id = org_id = int(org["id"])
        files = {"file": ("roster.csv", roster_csv(school), "text/csv")}
        roster = await seed_call(
            http, "POST", f"/orgs/{org_id}/roster", files=files, headers=admin, counter=limited
        )
        if roster["summary"]["rejected"]:
            raise ApiFailed(f"roster rows rejected: {roster['rejected'][:5]}")
        lap("org_and_roster_s")
        tokens: dict[int, str] = {}

        async def sign_in_person(p: Person) -> None:
            tokens[p.index] = await seed_sign_in(http, codes, p, limited)

        teachers = school.by_role("teacher")
        await gathered([partial(sign_in_person, p) for p in teachers], SEED_CONCURRENCY)
        lap("teachers_sign_in_s")
        member_ids = await _member_ids(http, org_id, admin, limited)
        listed = await seed_call(http, "GET", f"/orgs/{org_id}/classes", headers=admin, counter=limited)
        by_name = {c["name"]: c for c in listed["classes"]}
        for klass in school.classes:
            row = by_name[klass.name]
            klass.id, klass.chat_id, klass.parents_chat_id = row["id"], row["chat_id"], row["parents_chat_id"]
        for klass in school.classes:  # one admin, one assignment after another
            for t in klass.teachers:
                member = member_ids[school.people[t].phone]
                url = f"/orgs/{org_id}/classes/{klass.id}/teachers/{member}"
                await seed_call(http, "PUT", url, headers=admin, counter=limited)
        lap("teachers_assigned_s")
        if not cfg.first_sign_in:
            others = [p for p in school.people if p.role != "teacher"]
            await gathered([partial(sign_in_person, p) for p in others], SEED_CONCURRENCY)
            lap("students_and_parents_sign_in_s")
        history = await _history(cfg, http, school, tokens, limited)
        lap("history_s")
    info: Json = {
        "people": len(school.people),
        "teachers": len(school.by_role("teacher")),
        "students": len(school.by_role("student")),
        "parents": len(school.by_role("parent")),
        "classes": len(school.classes),
        "chats": 2 * len(school.classes) + 1,  # class + parents' chat each, the staff chat
        "roster": roster["summary"],
        "history_messages": history,
        "accounts_before_morning": len(tokens),
        "seconds": times,
        "rate_limited_and_retried": dict(limited),
    }
    return Seeded(school, tokens, admin_token, info)


async def _member_ids(
    http: httpx.AsyncClient, org_id: int, admin: dict[str, str], limited: Counter[str]
) -> dict[str, int]:
    """phone -> member id of every teacher (the admin sees phones)."""
    result: dict[str, int] = {}
    cursor: int | None = None
    while True:
        params: dict[str, Any] = {"role": "teacher", "limit": 500} | ({"cursor": cursor} if cursor else {})
        page = await seed_call(
            http, "GET", f"/orgs/{org_id}/members", params=params, headers=admin, counter=limited
        )
        result |= {m["phone"]: int(m["member_id"]) for m in page["members"] if m.get("phone")}
        cursor = page.get("next_cursor")
        if not cursor:
            return result


async def _history(
    cfg: Config, http: httpx.AsyncClient, school: School, tokens: dict[int, str], limited: Counter[str]
) -> int:
    """``cfg.history`` messages in each class chat and parents' chat, by its teachers
    (yesterday's homework and reminders), so that opening a chat reads a real page."""
    texts = Texts(cfg.seed + 1)
    jobs = []
    for klass in school.classes:
        if not klass.teachers:
            continue
        for chat_id in (klass.chat_id, klass.parents_chat_id):
            authors = [tokens[t] for t in klass.teachers]

            async def post(chat_id: int = chat_id, authors: list[str] = authors) -> None:
                for k in range(cfg.history):
                    headers = {"Authorization": f"Bearer {authors[k % len(authors)]}"}
                    body = {"text": texts.next(), "client_msg_id": uuid.uuid4().hex}
                    await seed_call(
                        http,
                        "POST",
                        f"/chats/{chat_id}/messages",
                        json=body,
                        headers=headers,
                        counter=limited,
                    )

            jobs.append(post)
    await gathered(jobs, SEED_CONCURRENCY)
    return len(jobs) * cfg.history


# --- live connections ----------------------------------------------------------------


@dataclass
class SentMessage:
    id: int
    chat_id: int
    sender: int  # person index
    start_ns: int  # the POST began (monotonic)
    answer_ns: int  # its answer arrived


@dataclass
class Deliveries:
    """What the live people received, and what they should have."""

    chats: dict[int, set[int]] = field(default_factory=dict)  # person -> chats in their list
    ready_ns: dict[int, int] = field(default_factory=dict)  # person -> first "ready"
    received: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # message -> people
    arrivals: list[tuple[int, int]] = field(default_factory=list)  # (message id, monotonic ns)
    duplicates: int = 0
    sent: list[SentMessage] = field(default_factory=list)

    def expected(self) -> dict[int, set[int]]:
        """message -> the live people who had it in their chats and were connected
        before it was sent (they must receive it, whatever happens to the socket)."""
        members: dict[int, list[int]] = defaultdict(list)
        for person, chats in self.chats.items():
            for chat_id in chats:
                members[chat_id].append(person)
        return {
            m.id: {p for p in members[m.chat_id] if self.ready_ns.get(p, m.start_ns) < m.start_ns}
            for m in self.sent
        }

    def missing(self) -> int:
        return sum(len(people - self.received[mid]) for mid, people in self.expected().items())


class Live:
    """One person's WebSocket: connects after their chat list, stays to the end,
    reconnects with ``since`` after a drop."""

    def __init__(self, person: Person, url: str, token: str, deliveries: Deliveries, stats: Stats) -> None:
        self.person = person
        self.url = url
        self.token = token
        self.deliveries = deliveries
        self.stats = stats
        self.ws: ClientConnection | None = None
        self.authenticated = False
        self.stopping = False
        self.last_id: int | None = None
        self.seen: set[int] = set()
        self.events: Counter[str] = Counter()
        self.frames: Counter[str] = Counter()
        self.connects = 0
        self.close_codes: list[int | None] = []
        self.errors: list[str] = []

    async def run(self) -> None:
        while not self.stopping:
            started = time.monotonic()
            try:
                ws = await connect(self.url, open_timeout=30, ping_interval=None, close_timeout=2)
            except (OSError, TimeoutError, WebSocketException) as exc:
                self.stats.add("ws.connect", started, (time.monotonic() - started) * 1000, type(exc).__name__)
                self.errors.append(repr(exc)[:200])
                await asyncio.sleep(0.5)
                continue
            self.ws, self.connects = ws, self.connects + 1
            try:
                await self._serve(ws, started)
            finally:
                self.authenticated = False
                self.close_codes.append(ws.close_code)
                await ws.close()
                self.ws = None
            if not self.stopping:
                await asyncio.sleep(0.5)

    async def _serve(self, ws: ClientConnection, started: float) -> None:
        auth: Json = {"type": "auth", "token": self.token}
        if self.last_id is not None:
            auth["since"] = self.last_id
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps(auth))
            while True:
                raw = await ws.recv()
                now = time.monotonic_ns()
                frame = json.loads(raw)
                kind = str(frame.get("type"))
                self.frames[kind] += 1
                if kind == "ready":
                    self.authenticated = True
                    self.stats.add("ws.connect", started, (time.monotonic() - started) * 1000)
                    self.deliveries.ready_ns.setdefault(self.person.index, now)
                    if self.last_id is None:
                        self.last_id = int(frame["head"])
                elif kind == "events":
                    for event in frame["events"]:
                        self._on_event(event, now)
                elif kind == "reset":
                    self.last_id = int(frame["next"])
                elif kind == "error" and not self.authenticated:
                    self.stats.add("ws.connect", started, (time.monotonic() - started) * 1000, "error frame")
                    self.errors.append(str(frame)[:200])

    def _on_event(self, event: Json, now: int) -> None:
        self.last_id = max(self.last_id or 0, int(event["id"]))
        self.events[str(event["type"])] += 1
        if event["type"] != "message.created":
            return
        message = event["data"]["message"]
        message_id = int(message["id"])
        if message_id in self.seen:
            self.deliveries.duplicates += 1
            return
        self.seen.add(message_id)
        self.deliveries.received[message_id].add(self.person.index)
        self.deliveries.arrivals.append((message_id, now))

    async def ping(self) -> None:
        if self.ws is not None and self.authenticated:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send('{"type":"ping"}')

    async def stop(self) -> None:
        self.stopping = True
        if self.ws is not None:
            await self.ws.close()


# --- the morning ------------------------------------------------------------------------


@dataclass
class Morning:
    cfg: Config
    seeded: Seeded
    servers: list[Server]
    codes: CodeBook
    stats: Stats = field(default_factory=Stats)
    deliveries: Deliveries = field(default_factory=Deliveries)
    lives: list[Live] = field(default_factory=list)
    live_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    texts: Texts = field(default_factory=lambda: Texts(0))
    signed_in: int = 0
    new_accounts: int = 0
    posts: Counter[str] = field(default_factory=Counter)
    # One for every person's client: httpx builds a TLS context per client otherwise
    # (about 50 ms of CPU each, although nothing here uses TLS).
    tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)

    @property
    def school(self) -> School:
        return self.seeded.school

    def start_offsets(self) -> list[float]:
        rng = random.Random(self.cfg.seed + 2)
        ramp = self.cfg.ramp
        return [rng.triangular(0, ramp, self.cfg.peak_at * ramp) for _ in self.school.people]

    async def person(self, p: Person, start_at: float) -> None:
        rng = random.Random(self.cfg.seed * 100_003 + p.index)
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        server = self.servers[p.index % len(self.servers)]
        headers = {"X-Forwarded-For": p.ip}
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=self.cfg.timeout, headers=headers, verify=self.tls
        ) as http:
            token = await self._sign_in(http, p)
            if token is None:
                return
            auth = {"Authorization": f"Bearer {token}"}
            await self._think(rng)
            listed = await call(http, self.stats, "chats.list", "GET", "/chats", headers=auth)
            if listed is None:
                return
            chats: list[Json] = listed["chats"]
            if p.live:
                self._connect(p, server, token, {int(c["id"]) for c in chats})
            # The chats with news first, as a person would open them.
            chats.sort(key=lambda c: (-int(c["unread_count"]), -int(c["id"])))
            for chat in chats[: rng.randint(1, self.cfg.chats_max)]:
                await self._think(rng)
                await self._open_chat(http, auth, p, chat, rng)

    async def _sign_in(self, http: httpx.AsyncClient, p: Person) -> str | None:
        answer = await call(http, self.stats, "auth.code", "POST", "/auth/code", json={"phone": p.phone})
        p.code_at = time.monotonic()
        if answer is None:
            return None
        try:
            code = self.codes.take(p.phone)
        except ApiFailed as exc:
            self.stats.add("auth.code", time.monotonic(), 0.0, "no code in otp.log", str(exc))
            return None
        body = {"phone": p.phone, "code": code, "device_name": "телефон"}
        signed = await call(http, self.stats, "auth.token", "POST", "/auth/token", json=body)
        if signed is None:
            return None
        self.signed_in += 1
        token = str(signed["token"])
        p.user_id = int(signed["user"]["id"])
        if signed.get("is_new_user"):  # the app asks a new person for their name
            self.new_accounts += 1
            profile = {"first_name": p.name[0], "last_name": p.name[1]}
            auth = {"Authorization": f"Bearer {token}"}
            # Without a name the app goes no further (the server refuses to post).
            if await call(http, self.stats, "me.update", "PATCH", "/me", json=profile, headers=auth) is None:
                return None
        return token

    def _connect(self, p: Person, server: Server, token: str, chats: set[int]) -> None:
        self.deliveries.chats[p.index] = chats
        url = server.base_url.replace("http://", "ws://") + API + "/ws"
        live = Live(p, url, token, self.deliveries, self.stats)
        self.lives.append(live)
        self.live_tasks.append(asyncio.create_task(live.run()))

    async def _think(self, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * self.cfg.think)

    async def _open_chat(
        self, http: httpx.AsyncClient, auth: dict[str, str], p: Person, chat: Json, rng: random.Random
    ) -> None:
        chat_id = int(chat["id"])
        page = await call(
            http, self.stats, "messages.page", "GET", f"/chats/{chat_id}/messages?limit=50", headers=auth
        )
        if page is None:
            return
        messages: list[Json] = page["messages"]
        if messages:
            read = {"message_id": int(messages[-1]["id"])}
            await call(
                http, self.stats, "chats.read", "POST", f"/chats/{chat_id}/read", json=read, headers=auth
            )
        if messages and rng.random() < self.cfg.reaction:
            target = rng.choice(messages[-10:])
            url = f"/chats/{chat_id}/messages/{target['id']}/reactions"
            if await call(
                http,
                self.stats,
                "reactions.add",
                "POST",
                url,
                json={"emoji": rng.choice(REACTIONS)},
                headers=auth,
            ):
                self.posts["reactions"] += 1
        reply_to = self._writes(p, chat, messages, rng)
        if reply_to is None:
            return
        await self._think(rng)  # typing
        body: Json = {"text": self.texts.next(), "client_msg_id": uuid.uuid4().hex}
        if reply_to:
            body["reply_to"] = reply_to
        start_ns = time.monotonic_ns()
        sent = await call(
            http, self.stats, "messages.send", "POST", f"/chats/{chat_id}/messages", json=body, headers=auth
        )
        if sent is not None:
            self.posts[f"{p.role}_messages"] += 1
            message = SentMessage(int(sent["id"]), chat_id, p.index, start_ns, time.monotonic_ns())
            self.deliveries.sent.append(message)

    def _writes(self, p: Person, chat: Json, messages: list[Json], rng: random.Random) -> int | None:
        """Whether ``p`` writes in ``chat`` now: None for no, else the message replied
        to (0 for none). Teachers announce in their class and parents' chats, parents
        answer a teacher in the parents' chat, students write in the class chat."""
        purpose = chat.get("purpose")
        if p.role == "teacher" and purpose in ("class", "parents"):
            return 0 if rng.random() < self.cfg.teacher_post else None
        if p.role == "parent" and purpose == "parents" and rng.random() < self.cfg.parent_reply:
            teachers = {self.school.people[t].user_id for k in self.school.classes for t in k.teachers}
            answered = [int(m["id"]) for m in messages if m.get("sender_id") in teachers]
            return answered[-1] if answered else 0
        if p.role == "student" and purpose == "class" and rng.random() < self.cfg.student_post:
            return 0
        return None

    async def keepalive(self) -> None:
        while True:
            await asyncio.sleep(PING_EVERY)
            await asyncio.gather(*(live.ping() for live in self.lives))


PG_ACTIVITY = """
SELECT state, wait_event_type, wait_event, count(*) AS n FROM pg_stat_activity
WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
GROUP BY 1, 2, 3
"""

# Who holds the event log's advisory lock (parta/events/log.py, key 7270001), and the
# last statement its connection ran: what the writers queued behind it wait for.
PG_LOG_LOCK_HOLDER = """
SELECT a.state, left(regexp_replace(a.query, '\\s+', ' ', 'g'), 90) AS query
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = 7270001
  AND a.datname = $1
"""


class PgActivity:
    """Once a second, what the server processes' PostgreSQL connections are doing:
    running a statement, waiting for a lock (the event log's advisory lock, a row),
    idle inside a transaction (the server process has not sent the next statement
    yet: busy with other work while it holds the transaction's locks), or idle in the
    pool."""

    def __init__(self, url: str, t0: float) -> None:
        self.url = url
        self.database = url.rsplit("/", 1)[1]
        self.t0 = t0
        self.samples: list[tuple[float, Counter[str]]] = []
        self.holders: Counter[str] = Counter()

    @staticmethod
    def key(state: str | None, wait_type: str | None, wait: str | None) -> str:
        if state == "idle in transaction":
            return "idle_in_transaction"
        if state != "active":
            return "idle"
        if wait_type == "Lock":
            return f"waiting_for_lock_{wait}"
        return "running"

    async def run(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            while not stop.is_set():
                rows = await conn.fetch(PG_ACTIVITY, self.database)
                counts: Counter[str] = Counter()
                for row in rows:
                    counts[self.key(row["state"], row["wait_event_type"], row["wait_event"])] += row["n"]
                self.samples.append((time.monotonic() - self.t0, counts))
                for holder in await conn.fetch(PG_LOG_LOCK_HOLDER, self.database):
                    self.holders[f"{holder['state']}: {holder['query']}"] += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            await conn.close()

    def report(self) -> Json:
        keys = sorted({k for _, counts in self.samples for k in counts})
        n = max(1, len(self.samples))
        timeline = []
        buckets = math.ceil(max((t for t, _ in self.samples), default=0) / TIMELINE_BUCKET_S) or 1
        for b in range(buckets):
            group = [c for t, c in self.samples if b * TIMELINE_BUCKET_S <= t < (b + 1) * TIMELINE_BUCKET_S]
            if group:
                mean = {k: round(sum(c[k] for c in group) / len(group), 1) for k in keys}
                timeline.append(
                    {"from_s": round(b * TIMELINE_BUCKET_S)} | {k: v for k, v in mean.items() if v}
                )
        return {
            "samples": len(self.samples),
            "mean_connections": {k: round(sum(c[k] for _, c in self.samples) / n, 2) for k in keys},
            "max_connections": {k: max(c[k] for _, c in self.samples) for k in keys},
            "timeline": timeline,
            # In how many samples the log lock's holder was in this state after this
            # statement (a bigint lock key is split: classid 0, objid the key).
            "log_lock_holder_last_statement": dict(self.holders.most_common(12)),
        }


async def loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late this process's event loop wakes up (a sleep of 50 ms, minus 50 ms): the
    load generator's own delay, part of every latency it measures."""
    while not stop.is_set():
        started = time.monotonic()
        await asyncio.sleep(0.05)
        samples.append((time.monotonic() - started - 0.05) * 1000)


def morning_report(m: Morning, wall: float) -> Json:
    samples = m.stats.samples
    kinds: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        kinds[s.kind].append(s)
    per_kind: Json = {}
    for kind in sorted(kinds):
        ok = [s.ms for s in kinds[kind] if not s.error]
        errors = Counter(s.error for s in kinds[kind] if s.error)
        per_kind[kind] = {"requests": len(kinds[kind]), "errors": dict(errors)} | summary(ok)
    errors_total = Counter(f"{s.kind} {s.error}" for s in samples if s.error)
    http = [s for s in samples if s.kind != "ws.connect"]
    timeline: list[Json] = []
    buckets = math.ceil(max((s.start for s in samples), default=0) / TIMELINE_BUCKET_S) or 1
    for b in range(buckets):
        group = [s for s in http if b * TIMELINE_BUCKET_S <= s.start < (b + 1) * TIMELINE_BUCKET_S]
        ok = sorted(s.ms for s in group if not s.error)
        timeline.append(
            {
                "from_s": round(b * TIMELINE_BUCKET_S),
                "requests_per_s": round(len(group) / TIMELINE_BUCKET_S, 1),
                "errors": sum(1 for s in group if s.error),
                "p50_ms": round(ok[len(ok) // 2], 1) if ok else None,
                "p95_ms": round(ok[min(len(ok) - 1, int(0.95 * len(ok)))], 1) if ok else None,
            }
        )
    d = m.deliveries
    expected = d.expected()
    by_id = {sent.id: sent for sent in d.sent}
    return {
        "wall_s": round(wall, 1),
        "people": len(m.school.people),
        "signed_in": m.signed_in,
        "new_accounts": m.new_accounts,
        "http_requests": len(http),
        "http_requests_per_s": round(len(http) / wall, 1),
        "peak_requests_per_s_10s": max((t["requests_per_s"] for t in timeline), default=0),
        "errors": sum(errors_total.values()),
        "errors_by_kind": dict(errors_total),
        "error_examples": m.stats.error_examples,
        "kinds": per_kind,
        "writes": dict(m.posts),
        "timeline": timeline,
        "websocket": {
            "people": len(m.lives),
            "connects": sum(live.connects for live in m.lives),
            "reconnects": sum(max(0, live.connects - 1) for live in m.lives),
            "close_codes": dict(Counter(str(c) for live in m.lives for c in live.close_codes)),
            "frames": dict(sum((live.frames for live in m.lives), Counter())),
            "events": dict(sum((live.events for live in m.lives), Counter())),
            "messages_sent": len(d.sent),
            "expected_deliveries": sum(len(v) for v in expected.values()),
            "delivered": sum(len(d.received[mid] & people) for mid, people in expected.items()),
            "lost": d.missing(),
            "duplicates": d.duplicates,
            # From the moment the sender's POST began (what a reader waits for after
            # someone pressed send), and from its answer (negative: the event came first).
            "delivery_latency_from_send_start": summary(
                [(at - by_id[mid].start_ns) / 1e6 for mid, at in d.arrivals if mid in by_id]
            ),
            "delivery_latency_after_send_answer": summary(
                [(at - by_id[mid].answer_ns) / 1e6 for mid, at in d.arrivals if mid in by_id]
            ),
            "error_examples": [e for live in m.lives for e in live.errors][:3],
        },
    }


def server_log_errors(servers: Sequence[Server]) -> Json:
    """Tracebacks and ERROR lines in the servers' logs, with a few distinct examples."""
    count = 0
    examples: Counter[str] = Counter()
    for server in servers:
        if server.log_path is None:
            continue
        try:
            lines = server.log_path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                count += 1
                end = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith((" ", "\t"))), i)
                examples[lines[end][:200]] += 1
            elif "ERROR" in line or " 500 " in line:
                examples[line[:200]] += 1
    return {"tracebacks": count, "examples": dict(examples.most_common(8))}


async def run_morning(
    cfg: Config, seeded: Seeded, cluster: Cluster, codes: CodeBook, profile_dir: Path | None = None
) -> Json:
    servers = cluster.servers
    m = Morning(cfg, seeded, servers, codes, texts=Texts(cfg.seed + 3))
    # The server refuses a second code within code_resend_seconds of the first: start
    # the morning late enough that no one's slot falls inside their own interval.
    offsets = m.start_offsets()
    resend = cfg.code_resend_seconds + 1
    pairs = zip(m.school.people, offsets, strict=True)
    earliest = max((p.code_at + resend - offset for p, offset in pairs if p.code_at), default=0.0)
    t0 = max(time.monotonic() + 1.0, earliest)
    if t0 > time.monotonic() + 1.5:
        log(f"[load] waiting {t0 - time.monotonic():.0f} s: a new code only {resend - 1} s after the last")
        await asyncio.sleep(t0 - time.monotonic() - 1.0)
    meter = Meter(servers, cluster.pg_database or None, redis=len(servers) > 1)
    memory_before = [process_memory_mb(s.pid) for s in servers]
    lag: list[float] = []
    stop = asyncio.Event()
    lag_task = asyncio.create_task(loop_lag(lag, stop))
    activity = PgActivity(servers[0].database_url, t0) if cluster.pg_database else None
    activity_task = asyncio.create_task(activity.run(stop)) if activity else None
    pinger = asyncio.create_task(m.keepalive())
    m.stats.t0 = t0
    sockets = sum(p.live for p in m.school.people)
    log(f"[load] morning: {len(m.school.people)} people over {cfg.ramp:.0f} s, {sockets} with a WebSocket")
    before = meter.snapshot()
    profilers = start_profilers(profile_dir, servers, "morning")
    await asyncio.gather(
        *(m.person(p, t0 + offset) for p, offset in zip(m.school.people, offsets, strict=True))
    )
    sessions_end = time.monotonic()
    log(f"[load] everyone done after {sessions_end - t0:.0f} s; waiting for deliveries")
    await wait_until(lambda: not m.deliveries.missing(), limit_s=cfg.drain_timeout)
    after = meter.snapshot()
    profiles = await stop_profilers(profilers)
    stop.set()
    pinger.cancel()
    for live in m.lives:
        await live.stop()
    await asyncio.gather(*m.live_tasks, lag_task, return_exceptions=True)
    if activity_task is not None:
        await activity_task
    with contextlib.suppress(asyncio.CancelledError):
        await pinger
    result = morning_report(m, sessions_end - t0)
    cpu = meter.between(before, after)
    cpu["load_generator_cpu_percent"] = cpu.pop("sender_process_cpu_percent")
    ours = (
        sum(cpu["server_cpu_percent"])
        + cpu.get("postgres_backends_cpu_percent", 0.0)
        + cpu.get("redis_cpu_percent", 0.0)
        + cpu["load_generator_cpu_percent"]
    )
    # What other sessions on this shared machine took meanwhile (near 0 on a quiet one).
    cpu["other_processes_cpu_percent"] = round(cpu["machine_busy_percent"] - ours, 1)
    server_cpu_s = sum(cpu["server_cpu_percent"]) * cpu["wall_s"] / 100
    requests = result["http_requests"]
    result["cpu"] = cpu | {
        "server_cpu_ms_per_http_request": round(server_cpu_s * 1000 / max(1, requests), 2),
        "load_generator_cpu_ms_per_http_request": round(
            cpu["load_generator_cpu_percent"] * cpu["wall_s"] * 10 / max(1, requests), 2
        ),
    }
    result["drain_s"] = round(after.wall - sessions_end, 2)
    result["load_generator_loop_lag"] = summary(lag)
    if profiles:
        result["profiles"] = profiles
    if activity is not None:
        result["postgres_connections"] = activity.report()
    result["server_memory_mb"] = {
        "before": memory_before,
        "after": [process_memory_mb(s.pid) for s in servers],
    }
    return result


# --- what each kind of request costs -------------------------------------------------------


async def unit_costs(cfg: Config, school: School, cluster: Cluster, codes: CodeBook) -> Json:
    """After the morning, with the server otherwise idle: ``cfg.cost_samples`` requests
    of each kind one after another (people whose last code is old enough to ask
    again), and the CPU the server processes and PostgreSQL spent on them. Nobody is
    connected any more, so a send here costs no WebSocket fan-out."""
    servers = cluster.servers
    now = time.monotonic()
    ready = [p for p in school.people if p.code_at and now - p.code_at > cfg.code_resend_seconds + 1]
    people = ready[: cfg.cost_samples]
    if not people:
        return {"skipped": "nobody may request a new code yet"}
    meter = Meter(servers, cluster.pg_database or None, redis=False)
    tls = ssl.create_default_context()
    stats = Stats(t0=time.monotonic())
    http = {
        p.index: httpx.AsyncClient(
            base_url=servers[p.index % len(servers)].base_url,
            timeout=60,
            verify=tls,
            headers={"X-Forwarded-For": p.ip},
        )
        for p in people
    }
    tokens: dict[int, dict[str, str]] = {}
    chats: dict[int, list[Json]] = {}
    pages: dict[int, tuple[int, int]] = {}  # person -> (chat, last message)
    sent: dict[int, tuple[int, int]] = {}  # person -> (chat, message)
    result: Json = {"people": len(people)}

    async def code(p: Person) -> None:
        await call(http[p.index], stats, "auth.code", "POST", "/auth/code", json={"phone": p.phone})

    async def token(p: Person) -> None:
        body = {"phone": p.phone, "code": codes.take(p.phone), "device_name": "планшет"}
        signed = await call(http[p.index], stats, "auth.token", "POST", "/auth/token", json=body)
        if signed is not None:
            tokens[p.index] = {"Authorization": f"Bearer {signed['token']}"}

    async def chat_list(p: Person) -> None:
        listed = await call(http[p.index], stats, "chats.list", "GET", "/chats", headers=tokens.get(p.index))
        chats[p.index] = [] if listed is None else listed["chats"]

    def writable(p: Person) -> int | None:
        return next(
            (int(c["id"]) for c in chats.get(p.index, []) if c.get("purpose") in ("class", "parents")), None
        )

    async def page(p: Person) -> None:
        chat_id = writable(p)
        if chat_id is None:
            return
        url = f"/chats/{chat_id}/messages?limit=50"
        got = await call(http[p.index], stats, "messages.page", "GET", url, headers=tokens.get(p.index))
        if got and got["messages"]:
            pages[p.index] = (chat_id, int(got["messages"][-1]["id"]))

    async def read(p: Person) -> None:
        if p.index in pages:
            chat_id, message_id = pages[p.index]
            url, body = f"/chats/{chat_id}/read", {"message_id": message_id}
            await call(
                http[p.index], stats, "chats.read", "POST", url, json=body, headers=tokens.get(p.index)
            )

    async def send(p: Person) -> None:
        chat_id = writable(p)
        if chat_id is None:
            return
        body = {"text": "Спасибо, поняли.", "client_msg_id": uuid.uuid4().hex}
        url = f"/chats/{chat_id}/messages"
        message = await call(
            http[p.index], stats, "messages.send", "POST", url, json=body, headers=tokens.get(p.index)
        )
        if message is not None:
            sent[p.index] = (chat_id, int(message["id"]))

    async def react(p: Person) -> None:
        if p.index in sent:
            chat_id, message_id = sent[p.index]
            url = f"/chats/{chat_id}/messages/{message_id}/reactions"
            await call(
                http[p.index],
                stats,
                "reactions.add",
                "POST",
                url,
                json={"emoji": "👍"},
                headers=tokens.get(p.index),
            )

    async def socket(p: Person) -> None:
        if p.index not in tokens:
            return
        server = servers[p.index % len(servers)]
        started = time.monotonic()
        url = server.base_url.replace("http://", "ws://") + API + "/ws"
        async with connect(url, open_timeout=30, ping_interval=None, close_timeout=2) as ws:
            token = tokens[p.index]["Authorization"].removeprefix("Bearer ")
            await ws.send(json.dumps({"type": "auth", "token": token}))
            while json.loads(await ws.recv()).get("type") != "ready":
                pass
            stats.add("ws.connect", started, (time.monotonic() - started) * 1000)

    steps = [code, token, chat_list, page, read, send, react, socket]
    try:
        for step in steps:
            before = meter.snapshot()
            count = len(stats.samples)
            for p in people:
                await step(p)
            after = meter.snapshot()
            mine = stats.samples[count:]
            if not mine:
                continue
            kind = mine[0].kind
            cpu = meter.between(before, after)
            server_s = sum(cpu["server_cpu_percent"]) * cpu["wall_s"] / 100
            pg_s = cpu.get("postgres_backends_cpu_percent", 0.0) * cpu["wall_s"] / 100
            ok = [s.ms for s in mine if not s.error]
            result[kind] = {
                "n": len(mine),
                "errors": sum(1 for s in mine if s.error),
                "p50_ms": round(sorted(ok)[len(ok) // 2], 1) if ok else None,
                "server_cpu_ms": round(server_s * 1000 / len(mine), 2),
                "postgres_cpu_ms": round(pg_s * 1000 / len(mine), 2) if cluster.pg_database else None,
            }
    finally:
        for client in http.values():
            await client.aclose()
    return result


# --- one run ---------------------------------------------------------------------------


def cpu_probe_ms() -> float:
    """CPU time of a fixed pure-Python loop (2 million additions), the median of three:
    how fast a core of this shared machine runs Python right now. Other sessions slow
    it (shared caches and cores), and every CPU figure here grows with it."""
    times = []
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(2_000_000):
            total += i
        times.append((time.process_time() - started) * 1000)
    return round(sorted(times)[1], 1)


def server_env(cfg: Config) -> dict[str, str]:
    """The servers' settings: their defaults, rate limits included, but the interval
    before a code may be resent, when the benchmark asks for a shorter one."""
    return {"PARTA_CODE_RESEND_SECONDS": str(cfg.code_resend_seconds)}


async def run(
    cfg: Config,
    pg_admin_url: str,
    keep: bool,
    *,
    busy_probe_s: float = 2.0,
    cluster: Cluster | None = None,
    profile_dir: Path | None = None,
) -> Json:
    """Start the servers (unless ``cluster`` is already running, started with
    ``server_env(cfg)``), seed the school, run the morning; the result document."""
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    busy_before = await machine_busy_percent(busy_probe_s) if busy_probe_s > 0 else None
    probe_before = cpu_probe_ms()
    log(f"[load] machine busy before the run: {busy_before} % of one core (loadavg {load_before})")
    async with AsyncExitStack() as stack:
        if cluster is None:
            cluster = await stack.enter_async_context(
                running_servers(
                    cfg.backend,
                    cfg.processes,
                    pg_admin_url=pg_admin_url,
                    env_extra=server_env(cfg),
                    keep=keep,
                )
            )
        servers = cluster.servers
        codes = CodeBook(servers[0].data_dir / "otp.log")
        school = plan_school(cfg)
        log(f"[load] seeding a school of {len(school.people)} people")
        seeded = await seed(cfg, cluster, school, codes)
        log(f"[load] seeded in {sum(seeded.info['seconds'].values()):.0f} s: {seeded.info['seconds']}")
        morning = await run_morning(cfg, seeded, cluster, codes, profile_dir)
        if cfg.cost_samples > 0:
            log(f"[load] cost of each kind of request, {cfg.cost_samples} at a time (after the morning)")
            morning["cost_per_request_alone"] = await unit_costs(cfg, school, cluster, codes)
        result: Json = {
            "backend_version": servers[0].version,
            "processes": len(servers),
            "server_pids": [s.pid for s in servers],
            "setup": seeded.info,
            "morning": morning,
            "server_log": server_log_errors(servers),
        }
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    result["loadavg"] = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}
    result["machine_busy_before_percent"] = busy_before
    result["cpu_probe_ms"] = {"before": probe_before, "after": cpu_probe_ms()}
    return result


# --- command line ------------------------------------------------------------------------


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return number


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Config]:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=1, help="server processes")
    parser.add_argument("--users", type=positive, default=1000, help="people in the school, all taking part")
    parser.add_argument("--classes", type=positive, default=30)
    parser.add_argument("--teachers", type=positive, default=60)
    parser.add_argument(
        "--returning", action="store_true", help="students and parents have an account before the morning"
    )
    parser.add_argument("--history", type=int, default=10, help="messages in each class chat beforehand")
    parser.add_argument("--ramp", type=float, default=180.0, help="seconds over which people arrive")
    parser.add_argument(
        "--peak-at", type=_fraction, default=0.75, help="busiest moment, fraction of the ramp"
    )
    parser.add_argument("--think", type=float, default=2.0, help="mean pause between steps, seconds")
    parser.add_argument("--ws-fraction", type=_fraction, default=0.3, help="people who open the WebSocket")
    parser.add_argument("--chats-max", type=positive, default=3, help="chats a person opens, at most")
    parser.add_argument("--teacher-post", type=_fraction, default=0.6)
    parser.add_argument("--parent-reply", type=_fraction, default=0.3)
    parser.add_argument("--student-post", type=_fraction, default=0.2)
    parser.add_argument("--reaction", type=_fraction, default=0.2)
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--drain-timeout", type=float, default=30.0, help="seconds to wait for deliveries")
    parser.add_argument("--code-resend-seconds", type=positive, default=60, help=argparse.SUPPRESS)
    parser.add_argument(
        "--cost-samples", type=int, default=20, help="after the morning, requests of each kind timed alone"
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="profile each server process with py-spy during the morning (collapsed stacks in DIR)",
    )
    args = parser.parse_args(argv)
    if args.backend == "sqlite" and args.processes > 1:
        parser.error("--processes 2 needs --backend postgresql (SQLite is the one-process embedded run)")
    if args.users < args.teachers + 2:
        parser.error("--users must leave room for a student and a parent besides the teachers")
    cfg = Config(
        backend=args.backend,
        processes=args.processes,
        users=args.users,
        classes=args.classes,
        teachers=args.teachers,
        first_sign_in=not args.returning,
        history=args.history,
        ramp=args.ramp,
        peak_at=args.peak_at,
        think=args.think,
        ws_fraction=args.ws_fraction,
        chats_max=args.chats_max,
        teacher_post=args.teacher_post,
        parent_reply=args.parent_reply,
        student_post=args.student_post,
        reaction=args.reaction,
        timeout=args.timeout,
        drain_timeout=args.drain_timeout,
        code_resend_seconds=args.code_resend_seconds,
        cost_samples=args.cost_samples,
        seed=args.seed,
    )
    return args, cfg


async def main(argv: list[str] | None = None) -> int:
    args, cfg = parse_args(argv)
    document: Json = {
        "benchmark": "bench.load",
        "command": " ".join(["python -m bench.load", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine() | {"note": "the load generator, the servers and the database share the CPUs"},
        "config": asdict(cfg),
    }
    failed = False
    try:
        document["result"] = await run(cfg, args.pg_admin_url, args.keep_data, profile_dir=args.py_spy)
        log(f"[load] done in {document['result']['elapsed_s']} s")
    except Exception as exc:
        failed = True
        log(f"[load] FAILED: {exc!r}")
        document["result"] = {"error": repr(exc)}
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        import uvloop  # in requirements.lock (uvicorn uses it): less CPU for the load generator
    except ImportError:
        sys.exit(asyncio.run(main()))
    else:
        sys.exit(uvloop.run(main()))
