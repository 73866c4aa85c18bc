"""The world of the safe-mode attack matrix (``test_safe_mode_matrix.py``), built
through the HTTP API the way the people in it would build it.

A verified school, «Школа № 1», with class 5А: the child, the class's teacher,
the child's parent (linked by the school), a classmate who will forward one of
the child's class-chat messages, and a club chat of a neutral adult (``host``)
that the child and then every attacker joined by an invite link. Attackers
(``ATTACKERS``, and members of the child's circle in ``CIRCLE`` as controls)
are built into the same world; then the situation (``SITUATIONS``) is applied
last, so that safe mode, approvals and blocks also act on chats already shared.

One world serves several attackers (a fresh PostgreSQL database per test costs
more than a whole row): each attacker acts only in chats of their own or in
the shared club, so one attacker's cells cannot change another's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from parta.clock import utcnow
from tests.client import Api, Factory, TestUser
from tests.org_factory import OrgFactory, School

API = "/api/v1"

ATTACKERS: dict[str, str] = {
    "stranger": "an adult with an account and no organization",
    "other_school_parent": "a parent of a student of another school",
    "other_class_parent": "a parent of a student of 5Б, at the child's school",
    "ex_classmate": "a student of 5А whom the school removed",
    "ex_teacher": "5А's second teacher, who had a direct chat with the child, removed from the school",
    "blocked": "a classmate of 5А whom the child blocked",
    "bot": "no bots yet: an account in no organization with an incomplete profile (no name)",
    "unverified_teacher": "a teacher of another, unverified organization the child is not in",
    "org_hijacker": "an adult who makes an organization of their own and adds the child's phone as a student",
}
CIRCLE: dict[str, str] = {
    "classmate": "a student of 5А",
    "teacher": "the teacher of 5А",
    "parent": "the child's parent, linked by the school",
}
SITUATIONS: dict[str, str] = {
    "safe_age": "the child is 10: safe mode by birth date",
    "safe_forced": "the child is 15; the school admin turned safe mode on (after the club chat was shared)",
    "safe_off": "the child is 15, safe mode off: strangers may reach them",
    "approved": "the child is 10; the parent approved the attacker's phone",
}
CHILD_AGE = {"safe_age": 10, "safe_forced": 15, "safe_off": 15, "approved": 10}

CHILD_FIRST, CHILD_LAST = "Василиса", "Тайнова"
SCHOOL_NAME = "Школа № 1"
MASKED_NAME = "Ученик"
CLASS_MESSAGE = "Мой рисунок к уроку"
# Ids and a phone nobody has: a "deny" must answer exactly like these.
NO_USER_ID = 987_654_321
NO_ORG_ID = 987_654_321
UNUSED_PHONE = "+79990000000"


def years_ago(years: int) -> date:
    """A birth date ``years`` before today by the app's clock (February 29 -> 28)."""
    today = utcnow().date()
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return date(today.year - years, 2, 28)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@dataclass
class World:
    api: Api
    make: Factory
    orgs: OrgFactory
    situation: str
    school: School
    klass: dict[str, Any]
    teacher: TestUser
    child: TestUser
    parent: TestUser
    forwarder: TestUser
    host: TestUser
    class_message_id: int = 0
    club_id: int = 0
    club_token: str = ""
    attackers: dict[str, TestUser] = field(default_factory=dict)
    sync_since: dict[str, int] = field(default_factory=dict)

    def attack(self, kind: str) -> Attack:
        return Attack(self, kind, self.attackers[kind], self.sync_since.get(kind, 0))


@dataclass
class Attack:
    """The world as one attacker tries it: one row of the matrix."""

    world: World
    kind: str
    attacker: TestUser
    sync_since: int  # events from here on must not name a protected child

    @property
    def api(self) -> Api:
        return self.world.api

    @property
    def child(self) -> TestUser:
        return self.world.child

    @property
    def as_attacker(self) -> Api:
        return self.world.api.as_(self.attacker)

    @property
    def knows_phone(self) -> bool:
        """The hijacker typed the child's phone: seeing it again (on a pending
        member of their own org) tells them nothing."""
        return self.kind == "org_hijacker"

    @property
    def can_chat(self) -> bool:
        """The bot has no name, so it may not write or create chats (``profile_incomplete``)."""
        return bool(self.attacker.first_name)

    @staticmethod
    def send_body(**extra: Any) -> dict[str, Any]:
        return {"text": "Привет!", "client_msg_id": uuid.uuid4().hex} | extra

    async def own_chat(self, title: str) -> int:
        """A group the attacker manages: their own, or for the bot (who cannot create
        chats) the host's, where the host made the bot an admin."""
        if self.can_chat:
            return int((await self.world.make.chat(self.attacker, title=title))["id"])
        host = self.world.host
        chat_id = int((await self.world.make.chat(host, [self.attacker], title=title))["id"])
        role = await self.api.as_(host).patch(
            f"{API}/chats/{chat_id}/members/{self.attacker.id}", json={"role": "admin"}
        )
        assert role.status_code == 204, role.text
        return chat_id


async def build_world(
    api: Api, make: Factory, orgs: OrgFactory, situation: str, attackers: list[str]
) -> World:
    """The school and the child, every attacker, the club chat, then the situation."""
    school = await orgs.school(await make.user("Анна", "Директорова"), short_name=SCHOOL_NAME)
    await orgs.verify(school)
    klass = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher", await make.user("Мария", "Учителева"))
    await orgs.teach(school, klass["id"], teacher)
    child = await make.user(CHILD_FIRST, CHILD_LAST)
    birth = years_ago(CHILD_AGE[situation]).isoformat()
    ok(await api.as_(child).patch(f"{API}/me", json={"birth_date": birth}))
    await orgs.add(school, "student", child, class_id=klass["id"])
    parent = await orgs.add(school, "parent", await make.user("Ольга", "Родителева"))
    await orgs.link(school, parent, child)
    forwarder = await make.user("Коля", "Одноклассников")
    await orgs.add(school, "student", forwarder, class_id=klass["id"])
    host = await make.user("Геннадий", "Кружков")
    world = World(api, make, orgs, situation, school, klass, teacher, child, parent, forwarder, host)
    world.class_message_id = int((await make.message(child, klass["chat_id"], CLASS_MESSAGE))["id"])
    await _open_club(world)
    for kind in attackers:
        world.attackers[kind] = await _attacker(world, kind)
        await _join_club(world, world.attackers[kind])
    await _apply_situation(world)
    return world


async def _attacker(w: World, kind: str) -> TestUser:
    make, orgs, school = w.make, w.orgs, w.school
    if kind in ("teacher", "parent"):
        return w.teacher if kind == "teacher" else w.parent
    if kind in ("classmate", "blocked"):
        first, last = ("Дима", "Соседов") if kind == "classmate" else ("Стас", "Обидчиков")
        return await orgs.add(school, "student", await make.user(first, last), class_id=w.klass["id"])
    if kind == "stranger":
        return await make.user("Сергей", "Незнакомов")
    if kind == "bot":
        return await make.user("")
    if kind in ("other_school_parent", "other_class_parent"):
        return await _other_parent(w, kind)
    if kind == "unverified_teacher":
        return await _unverified_teacher(w)
    if kind == "org_hijacker":
        return await _hijacker(w)
    return await _ex_member(w, kind)


async def _other_parent(w: World, kind: str) -> TestUser:
    """A parent linked to a student of 5Б here, or of a class at another school."""
    if kind == "other_class_parent":
        school, klass = w.school, await w.orgs.klass(w.school, "5Б")
    else:
        school = await w.orgs.school(await w.make.user("Борис", "Завучев"), short_name="Школа № 2")
        klass = await w.orgs.klass(school, "6В")
    kid = await w.orgs.add(school, "student", class_id=klass["id"])
    parent = await w.orgs.add(school, "parent", await w.make.user("Виктор", "Чужойпапа"))
    await w.orgs.link(school, parent, kid)
    return parent


async def _unverified_teacher(w: World) -> TestUser:
    org = await w.orgs.school(await w.make.user("Игорь", "Основателев"), short_name="Частная школа «Восход»")
    teacher = await w.orgs.add(org, "teacher", await w.make.user("Эдуард", "Самозванцев"))
    klass = await w.orgs.klass(org, "3А")
    await w.orgs.teach(org, klass["id"], teacher)
    return teacher


async def _hijacker(w: World) -> TestUser:
    """Anyone may make an (unverified) organization and add people to it by phone."""
    hijacker = await w.make.user("Аркадий", "Захватов")
    org = await w.orgs.school(hijacker, kind="extracurricular", short_name="Кружок «Юный программист»")
    # Whatever the answer, the rest of the row shows what it gave the hijacker.
    await w.api.as_(hijacker).post(
        f"{API}/orgs/{org.id}/members", json={"phone": w.child.phone, "role": "student"}
    )
    return hijacker


async def _ex_member(w: World, kind: str) -> TestUser:
    """A classmate or a teacher of 5А, removed from the school; the teacher had
    written to the child directly before leaving."""
    if kind == "ex_classmate":
        former = await w.orgs.add(
            w.school, "student", await w.make.user("Рома", "Бывшев"), class_id=w.klass["id"]
        )
    else:
        former = await w.orgs.add(w.school, "teacher", await w.make.user("Пётр", "Уволенов"))
        await w.orgs.teach(w.school, w.klass["id"], former)
        direct = ok(await w.api.as_(former).post(f"{API}/chats/direct", json={"user_id": w.child.id}), 201)
        await w.make.message(former, direct["id"], "Завтра контрольная")
    removed = await w.api.as_(w.school.admin).delete(
        f"{API}/orgs/{w.school.id}/members/{w.school.member_id(former)}"
    )
    assert removed.status_code == 204, removed.text
    return former


async def _open_club(w: World) -> None:
    """The host's club chat and its invite link; the child joins first."""
    w.club_id = int((await w.make.chat(w.host, title="Кружок робототехники"))["id"])
    w.club_token = ok(await w.api.as_(w.host).post(f"{API}/chats/{w.club_id}/invites"), 201)["token"]
    ok(await w.api.as_(w.child).post(f"{API}/invites/{w.club_token}/join"))


async def _join_club(w: World, attacker: TestUser) -> None:
    """By the link; the bot cannot join without a name, so the host adds it."""
    if attacker.first_name:
        ok(await w.api.as_(attacker).post(f"{API}/invites/{w.club_token}/join"))
        return
    url = f"{API}/chats/{w.club_id}/members"
    assert ok(await w.api.as_(w.host).post(url, json={"user_ids": [attacker.id]})) == {"added": [attacker.id]}


async def _apply_situation(w: World) -> None:
    if w.situation == "safe_forced":
        # Whatever turning safe mode on emits must not carry the name either.
        for kind, attacker in w.attackers.items():
            w.sync_since[kind] = await w.api.as_(attacker).last_event_id()
        url = f"{API}/orgs/{w.school.id}/members/{w.school.member_id(w.child)}/safe-mode"
        ok(await w.api.as_(w.school.admin).put(url, json={"enabled": True}))
    if w.situation == "approved":
        for kind, attacker in w.attackers.items():
            if kind in ATTACKERS:
                url = f"{API}/children/{w.child.id}/approved-contacts"
                ok(await w.api.as_(w.parent).post(url, json={"phone": attacker.phone}), 201)
    if "blocked" in w.attackers:
        ok(await w.api.as_(w.child).put(f"{API}/me/blocks/{w.attackers['blocked'].id}"))
