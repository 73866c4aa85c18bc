"""The safe-mode attack matrix, through the HTTP API.

Rows are (attacker, situation), columns the actions an attacker tries on the
child; every cell holds the expected decision, ``A`` (allowed) or ``D``
(denied). One test per situation builds one world (``tests/safety_world.py``)
with every attacker of that situation in it, and tries every cell of every
row; a failing row reports each of its cells that differs, and why.

What each column tries, and what "allowed" means there:
- search: the directory of the child's school and of every organization the
  attacker belongs to (there is no search by name elsewhere): A = the child is listed.
- phone: ``POST /users/lookup`` with the child's phone (two spellings): A = found.
- profile: ``GET /users/{id}`` (the two share the host's club chat): A = the
  name; D = "a student of <school>" (masked).
- direct: ``POST /chats/direct``, then a message: A = delivered; D = no chat, or
  (the ex-teacher's chat from before) the chat refuses new messages.
- group: ``POST /chats`` with the child as a member: A = created with the child.
- add: ``POST /chats/{id}/members`` to a group the attacker manages: A = added.
- mention: a message in the shared club chat mentioning the child: A = kept.
- forward: a classmate forwards the child's class-chat message into a chat
  with the attacker: A = ``forward_from_user_id`` names the child. A child's
  forwards never name them, for anyone, so D whenever the child is protected.
- invite: the attacker makes an invite link to their group, the child joins:
  A = the attacker's member list names the child; D = masked.
- call: there is no call API yet: the pure ``policy.can_call`` on the facts
  ``safety.reach`` gathers from this world's database.
- members: ``GET /chats/{id}/members`` of the shared club chat: A = named; D = masked.
- sync: ``GET /sync`` as the attacker (from their first event; in ``safe_forced``
  from just before safe mode was turned on): A = the child's first or last
  name appears in some event. Chat events go to everyone in a chat, so a
  protected child is masked in them for the circle too: the circle has the
  name from the per-viewer routes above.

Every "D" reached by an error must be the very answer (status and body) the
same call gets for a user id, phone, organization or chat that does not
exist; no "D" answer may contain the child's name or phone.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from parta import policy, safety
from parta.db.tables import User
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School
from tests.safety_world import (
    API,
    ATTACKERS,
    CHILD_FIRST,
    CHILD_LAST,
    CIRCLE,
    CLASS_MESSAGE,
    MASKED_NAME,
    NO_ORG_ID,
    NO_USER_ID,
    SCHOOL_NAME,
    SITUATIONS,
    UNUSED_PHONE,
    Attack,
    build_world,
    ok,
    years_ago,
)

ALLOW, DENY = "A", "D"
COLUMNS = tuple("search phone profile direct group add mention forward invite call members sync".split())

# fmt: off
EXPECTED: dict[tuple[str, str], str] = {
    # columns: search phone profile direct group add mention forward invite call members sync
    ("stranger", "safe_age"):               "D D D D D D D D D D D D",
    ("stranger", "safe_forced"):            "D D D D D D D D D D D D",
    ("stranger", "safe_off"):               "D A A A A A A A A A A A",
    ("stranger", "approved"):               "D A A A A A A D A A A D",
    ("other_school_parent", "safe_age"):    "D D D D D D D D D D D D",
    ("other_school_parent", "safe_forced"): "D D D D D D D D D D D D",
    ("other_school_parent", "safe_off"):    "D A A A A A A A A A A A",
    ("other_school_parent", "approved"):    "D A A A A A A D A A A D",
    ("other_class_parent", "safe_age"):     "D D D D D D D D D D D D",
    ("other_class_parent", "safe_forced"):  "D D D D D D D D D D D D",
    ("other_class_parent", "safe_off"):     "D A A A A A A A A A A A",
    ("other_class_parent", "approved"):     "D A A A A A A D A A A D",
    ("ex_classmate", "safe_age"):           "D D D D D D D D D D D D",
    ("ex_classmate", "safe_forced"):        "D D D D D D D D D D D D",
    ("ex_classmate", "safe_off"):           "D A A A A A A A A A A A",
    ("ex_classmate", "approved"):           "D A A A A A A D A A A D",
    # "Left the school": the teacher's old direct chat stays but refuses new messages.
    ("ex_teacher", "safe_age"):             "D D D D D D D D D D D D",
    ("ex_teacher", "safe_forced"):          "D D D D D D D D D D D D",
    ("ex_teacher", "safe_off"):             "D A A A A A A A A A A A",
    ("ex_teacher", "approved"):             "D A A A A A A D A A A D",
    # A block stops contact both ways, whatever the circle or a parent says; it does
    # not hide a classmate's name from the class (directory, member lists, profile).
    ("blocked", "safe_age"):                "A D A D D D D D A D A D",
    ("blocked", "safe_forced"):             "A D A D D D D D A D A D",
    ("blocked", "safe_off"):                "A D A D D D D A A D A A",
    ("blocked", "approved"):                "A D A D D D D D A D A D",
    # Without a name the bot cannot write or create chats at all (direct, group,
    # mention); as an admin of someone else's group it can add people and make links.
    ("bot", "safe_age"):                    "D D D D D D D D D D D D",
    ("bot", "safe_forced"):                 "D D D D D D D D D D D D",
    ("bot", "safe_off"):                    "D A A D D A D A A A A A",
    ("bot", "approved"):                    "D A A D D A D D A A A D",
    ("unverified_teacher", "safe_age"):     "D D D D D D D D D D D D",
    ("unverified_teacher", "safe_forced"):  "D D D D D D D D D D D D",
    ("unverified_teacher", "safe_off"):     "D A A A A A A A A A A A",
    ("unverified_teacher", "approved"):     "D A A A A A A D A A A D",
    ("org_hijacker", "safe_age"):           "D D D D D D D D D D D D",
    ("org_hijacker", "safe_forced"):        "D D D D D D D D D D D D",
    # Controls: the child's circle reaches them in every situation.
    ("classmate", "safe_age"):              "A A A A A A A D A A A D",
    ("classmate", "safe_forced"):           "A A A A A A A D A A A D",
    ("classmate", "safe_off"):              "A A A A A A A A A A A A",
    ("teacher", "safe_age"):                "A A A A A A A D A A A D",
    ("teacher", "safe_forced"):             "A A A A A A A D A A A D",
    ("teacher", "safe_off"):                "A A A A A A A A A A A A",
    ("parent", "safe_age"):                 "A A A A A A A D A A A D",
    ("parent", "safe_forced"):              "A A A A A A A D A A A D",
    ("parent", "safe_off"):                 "A A A A A A A A A A A A",
}
# fmt: on


def _groups() -> list[Any]:
    """One test per situation, with all its rows in one world."""
    return [
        pytest.param(situation, [a for a, s in EXPECTED if s == situation], id=situation)
        for situation in SITUATIONS
    ]


def test_the_matrix_covers_every_attacker_and_situation() -> None:
    assert set(COLUMNS) == set(CELLS)
    assert {a for a, _ in EXPECTED} == set(ATTACKERS) | set(CIRCLE)
    assert {s for _, s in EXPECTED} == set(SITUATIONS)
    assert all(len(row.split()) == len(COLUMNS) for row in EXPECTED.values())
    for attacker in ATTACKERS:
        assert {s for a, s in EXPECTED if a == attacker} >= {"safe_age", "safe_forced"}, attacker


# --- What "cannot be told apart" means ---------------------------------------------


def _secrets(a: Attack) -> tuple[str, ...]:
    return (CHILD_FIRST, CHILD_LAST) if a.knows_phone else (CHILD_FIRST, CHILD_LAST, a.child.phone)


def _leak_free(a: Attack, response: httpx.Response) -> None:
    for secret in _secrets(a):
        assert secret not in response.text, f"{secret!r} leaks: {response.text}"


def _same_as_nobody(a: Attack, real: httpx.Response, ghost: httpx.Response) -> str:
    """A denial by error: the same status and body as for someone who does not exist."""
    _leak_free(a, real)
    assert real.status_code >= 400, real.text
    assert (real.status_code, real.json()) == (ghost.status_code, ghost.json()), (
        f"tells apart: {real.status_code} {real.text} vs no such: {ghost.status_code} {ghost.text}"
    )
    return DENY


def _masked(a: Attack, card: dict[str, Any], response: httpx.Response) -> str:
    shown = {k: v for k, v in card.items() if k not in ("role", "badge")}
    expected = {"id": a.child.id, "first_name": MASKED_NAME, "is_masked": True, "school": SCHOOL_NAME}
    assert shown == expected, f"masked card: {card}"
    _leak_free(a, response)
    return DENY


def _named(a: Attack, card: dict[str, Any], response: httpx.Response) -> str:
    if card.get("is_masked"):
        return _masked(a, card, response)
    assert (card.get("first_name"), card.get("last_name")) == (CHILD_FIRST, CHILD_LAST), card
    return ALLOW


# --- The cells -------------------------------------------------------------------


async def search(a: Attack) -> str:
    mine = ok(await a.as_attacker.get(f"{API}/orgs"))["orgs"]
    found = False
    for org_id in sorted({a.world.school.id, *(o["id"] for o in mine)}):
        listing = await a.as_attacker.get(f"{API}/orgs/{org_id}/members", params={"limit": 500})
        if listing.status_code != 200:
            _same_as_nobody(a, listing, await a.as_attacker.get(f"{API}/orgs/{NO_ORG_ID}/members"))
        elif a.child.id in {m.get("user_id") for m in listing.json()["members"]}:
            found = True
        else:
            _leak_free(a, listing)
    return ALLOW if found else DENY


async def phone(a: Attack) -> str:
    national = "8" + a.child.phone.removeprefix("+7")
    results = set()
    for spelled, unused in ((a.child.phone, UNUSED_PHONE), (national, "8" + UNUSED_PHONE.removeprefix("+7"))):
        found = await a.as_attacker.post(f"{API}/users/lookup", json={"phone": spelled})
        if found.status_code == 200:
            assert found.json()["id"] == a.child.id, found.text
            results.add(ALLOW)
        else:
            ghost = await a.as_attacker.post(f"{API}/users/lookup", json={"phone": unused})
            results.add(_same_as_nobody(a, found, ghost))
    assert len(results) == 1, "the two spellings of the phone answer differently"
    return results.pop()


async def profile(a: Attack) -> str:
    card = await a.as_attacker.get(f"{API}/users/{a.child.id}")
    if card.status_code != 200:
        return _same_as_nobody(a, card, await a.as_attacker.get(f"{API}/users/{NO_USER_ID}"))
    return _named(a, card.json(), card)


async def direct(a: Attack) -> str:
    opened = await a.as_attacker.post(f"{API}/chats/direct", json={"user_id": a.child.id})
    if opened.status_code not in (200, 201):
        ghost = await a.as_attacker.post(f"{API}/chats/direct", json={"user_id": NO_USER_ID})
        return _same_as_nobody(a, opened, ghost)
    chat_id = opened.json()["id"]
    sent = await a.as_attacker.post(f"{API}/chats/{chat_id}/messages", json=a.send_body())
    if sent.status_code == 201:
        return ALLOW
    # Only a chat from before (the ex-teacher's) may exist and refuse: a new one must not be opened.
    assert opened.status_code == 200, f"opened a direct chat that refuses messages: {sent.text}"
    assert (sent.status_code, error_code(sent)) == (403, "forbidden"), sent.text
    _leak_free(a, opened)
    return DENY


async def group(a: Attack) -> str:
    def body(member: int) -> dict[str, Any]:
        return {"kind": "group", "title": "Секретный клуб", "member_ids": [member]}

    created = await a.as_attacker.post(f"{API}/chats", json=body(a.child.id))
    if created.status_code == 201:
        assert created.json()["member_count"] == 2, created.text
        return ALLOW
    return _same_as_nobody(a, created, await a.as_attacker.post(f"{API}/chats", json=body(NO_USER_ID)))


async def add(a: Attack) -> str:
    url = f"{API}/chats/{await a.own_chat('Моя группа')}/members"
    added = await a.as_attacker.post(url, json={"user_ids": [a.child.id]})
    if added.status_code == 200:
        assert added.json() == {"added": [a.child.id]}, added.text
        return ALLOW
    return _same_as_nobody(a, added, await a.as_attacker.post(url, json={"user_ids": [NO_USER_ID]}))


async def mention(a: Attack) -> str:
    url = f"{API}/chats/{a.world.club_id}/messages"
    sent = await a.as_attacker.post(url, json=a.send_body(text="Посмотри!", mention_ids=[a.child.id]))
    ghost = await a.as_attacker.post(url, json=a.send_body(text="Посмотри!", mention_ids=[NO_USER_ID]))
    if sent.status_code != 201:
        return _same_as_nobody(a, sent, ghost)
    if a.child.id in sent.json().get("mention_ids", []):
        return ALLOW
    # A dropped mention looks like a mention of nobody: the message, without mention_ids.
    assert ghost.status_code == 201 and "mention_ids" not in ghost.json(), ghost.text
    assert "mention_ids" not in sent.json(), sent.text
    return DENY


async def forward(a: Attack) -> str:
    target = ok(
        await a.api.as_(a.world.forwarder).post(
            f"{API}/chats", json={"kind": "group", "title": "Смешное", "member_ids": [a.attacker.id]}
        ),
        201,
    )["id"]
    source = {"chat_id": a.world.klass["chat_id"], "message_id": a.world.class_message_id}
    sent = ok(
        await a.api.as_(a.world.forwarder).post(
            f"{API}/chats/{target}/messages", json=a.send_body(forward_from=source)
        ),
        201,
    )
    history = await a.as_attacker.get(f"{API}/chats/{target}/messages")
    message = next(m for m in ok(history)["messages"] if m["id"] == sent["id"])
    assert message.get("is_forwarded") and message.get("text") == CLASS_MESSAGE, message
    if message.get("forward_from_user_id") == a.child.id:
        return ALLOW
    assert "forward_from_user_id" not in message, message
    _leak_free(a, history)
    return DENY


async def _child_in_members(a: Attack, chat_id: int) -> str:
    listing = await a.as_attacker.get(f"{API}/chats/{chat_id}/members")
    card = next(m for m in ok(listing)["members"] if m["id"] == a.child.id)
    return _named(a, card, listing)


async def invite(a: Attack) -> str:
    chat_id = await a.own_chat("Клуб друзей")
    token = ok(await a.as_attacker.post(f"{API}/chats/{chat_id}/invites"), 201)["token"]
    ok(await a.api.as_(a.child).post(f"{API}/invites/{token}/join"))
    return await _child_in_members(a, chat_id)


async def call(a: Attack) -> str:
    # No call API yet: the decision a call would get, on this world's real facts.
    async with a.api.app.state.services.database.session() as db:
        facts = await safety.reach(db, a.attacker.id, await db.get(User, a.child.id))
    decision = policy.can_call(actor_id=a.attacker.id, target_id=a.child.id, reach=facts)
    return ALLOW if decision.allowed else DENY


async def members(a: Attack) -> str:
    return await _child_in_members(a, a.world.club_id)


async def sync(a: Attack) -> str:
    text = json.dumps(await a.as_attacker.sync(a.sync_since), ensure_ascii=False)
    assert a.knows_phone or a.child.phone not in text, "the child's phone is in an event"
    return ALLOW if CHILD_FIRST in text or CHILD_LAST in text else DENY


CELLS: dict[str, Callable[[Attack], Awaitable[str]]] = {
    "search": search,
    "phone": phone,
    "profile": profile,
    "direct": direct,
    "group": group,
    "add": add,
    "mention": mention,
    "forward": forward,
    "invite": invite,
    "call": call,
    "members": members,
    "sync": sync,
}


def _report(row: str, expected: dict[str, str], observed: dict[str, str], problems: dict[str, str]) -> str:
    lines = [f"{row}: expected {' '.join(expected.values())}, observed {' '.join(observed.values())}"]
    for column in COLUMNS:
        if expected[column] != observed[column] or column in problems:
            why = problems.get(column, "")
            lines.append(f"  {column}: expected {expected[column]}, got {observed[column]} {why}")
    return "\n".join(lines)


_openapi: dict[str, Any] = {}


def _share_openapi(api: Api) -> None:
    """Every error answer is checked against the app's OpenAPI document, which
    FastAPI builds once per app: most of a row's time. Every app of this process
    has the same routes, so the first one's document serves the rest."""
    if "schema" in _openapi:
        api.app.openapi_schema = _openapi["schema"]
    else:
        _openapi["schema"] = api.app.openapi()


async def _row(a: Attack) -> str | None:
    """Every cell of one row; the row's report when a cell differs from the table."""
    expected = dict(zip(COLUMNS, EXPECTED[(a.kind, a.world.situation)].split(), strict=True))
    observed: dict[str, str] = {}
    problems: dict[str, str] = {}
    for column in COLUMNS:  # in this order: sync, last, sees what the others caused
        try:
            observed[column] = await CELLS[column](a)
        except AssertionError as exc:
            observed[column], problems[column] = "!", str(exc).splitlines()[0]
    print(f"MATRIX {a.world.situation:<12} {a.kind:<20} {' '.join(observed.values())}")
    if observed == expected and not problems:
        return None
    return _report(f"{a.kind}/{a.world.situation}", expected, observed, problems)


@pytest.mark.parametrize(("situation", "attackers"), _groups())
async def test_attack_matrix(
    api: Api, make: Factory, orgs: OrgFactory, situation: str, attackers: list[str]
) -> None:
    _share_openapi(api)
    world = await build_world(api, make, orgs, situation, attackers)
    reports = [report for kind in attackers if (report := await _row(world.attack(kind)))]
    assert not reports, "\n".join(reports)


# --- A self-made organization (the org_hijacker row, one step further) ------------
#
# Anyone may create an organization, call it a school and add people to it by
# phone. Only an operator's verification makes it trusted; until then it must
# not give reach to a child in safe mode, nor parental rights, nor a way to
# switch safe mode off.


@dataclass
class Hijack:
    school: School  # the child's real, verified school
    child: TestUser  # 15 years old
    hijacker: TestUser
    org: School  # the hijacker's own, unverified organization


async def _hijack(api: Api, make: Factory, orgs: OrgFactory) -> Hijack:
    _share_openapi(api)
    school = await orgs.school(short_name=SCHOOL_NAME)
    await orgs.verify(school)
    child = await make.user(CHILD_FIRST, CHILD_LAST)
    ok(await api.as_(child).patch(f"{API}/me", json={"birth_date": years_ago(15).isoformat()}))
    await orgs.add(school, "student", child)
    hijacker = await make.user("Аркадий", "Захватов")
    org = await orgs.school(hijacker, kind="extracurricular", short_name="Кружок «Юный программист»")
    return Hijack(school, child, hijacker, org)


async def _safe_mode_on(api: Api, hijack: Hijack) -> None:
    url = f"{API}/orgs/{hijack.school.id}/members/{hijack.school.member_id(hijack.child)}/safe-mode"
    assert ok(await api.as_(hijack.school.admin).put(url, json={"enabled": True}))["on"] is True


async def _enroll(api: Api, hijack: Hijack, phone: str) -> httpx.Response:
    members = f"{API}/orgs/{hijack.org.id}/members"
    return await api.as_(hijack.hijacker).post(members, json={"phone": phone, "role": "student"})


async def _enrolled_then_protected(api: Api, make: Factory, orgs: OrgFactory) -> tuple[Hijack, int]:
    """The hijacker enrolled the teen while safe mode was off (allowed: strangers may
    reach them then); the school turns it on afterwards. Returns the child's member id."""
    hijack = await _hijack(api, make, orgs)
    member = ok(await _enroll(api, hijack, hijack.child.phone), 201)
    assert member["status"] == "active", member
    await _safe_mode_on(api, hijack)
    return hijack, int(member["member_id"])


async def test_adding_a_childs_phone_to_a_self_made_org_tells_nothing(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    hijack = await _hijack(api, make, orgs)
    await _safe_mode_on(api, hijack)

    enrolled = await _enroll(api, hijack, hijack.child.phone)
    ghost = await _enroll(api, hijack, UNUSED_PHONE)

    def shape(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k not in ("member_id", "phone")}

    assert ghost.status_code == enrolled.status_code == 201
    assert (
        shape(enrolled.json()) == shape(ghost.json()) == {"name": "", "role": "student", "status": "pending"}
    )
    lookup = f"{API}/users/lookup"
    found = await api.as_(hijack.hijacker).post(lookup, json={"phone": hijack.child.phone})
    nobody = await api.as_(hijack.hijacker).post(lookup, json={"phone": UNUSED_PHONE})
    assert (found.status_code, found.json()) == (nobody.status_code, nobody.json())


async def test_a_self_made_org_cannot_turn_off_the_schools_safe_mode(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    hijack, member_id = await _enrolled_then_protected(api, make, orgs)

    off = await api.as_(hijack.hijacker).put(
        f"{API}/orgs/{hijack.org.id}/members/{member_id}/safe-mode", json={"enabled": False}
    )

    assert off.status_code == 403 and error_code(off) == "forbidden", off.text
    stranger = await make.user("Сергей", "Незнакомов")
    found = await api.as_(stranger).post(f"{API}/users/lookup", json={"phone": hijack.child.phone})
    assert (found.status_code, error_code(found)) == (404, "user_not_found")


async def test_a_parent_link_in_a_self_made_org_gives_no_parental_controls(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    hijack, member_id = await _enrolled_then_protected(api, make, orgs)
    accomplice = await orgs.add(hijack.org, "parent", await make.user("Фёдор", "Лжеотцов"))
    link = {"parent_member_id": hijack.org.member_id(accomplice), "child_member_id": member_id}
    ok(await api.as_(hijack.hijacker).post(f"{API}/orgs/{hijack.org.id}/parent-links", json=link), 201)
    as_accomplice = api.as_(accomplice)

    chats = await as_accomplice.get(f"{API}/children/{hijack.child.id}/chats")
    nobody = await as_accomplice.get(f"{API}/children/{NO_USER_ID}/chats")
    assert (chats.status_code, chats.json()) == (nobody.status_code, nobody.json())
    stranger = await make.user("Сергей", "Незнакомов")
    approve = f"{API}/children/{hijack.child.id}/approved-contacts"
    refused = await as_accomplice.post(approve, json={"phone": stranger.phone})
    assert (refused.status_code, error_code(refused)) == (404, "user_not_found")
    found = await api.as_(stranger).post(f"{API}/users/lookup", json={"phone": hijack.child.phone})
    assert (found.status_code, error_code(found)) == (404, "user_not_found")
    direct = await as_accomplice.post(f"{API}/chats/direct", json={"user_id": hijack.child.id})
    assert (direct.status_code, error_code(direct)) == (404, "user_not_found")


async def test_a_self_made_org_cannot_put_a_protected_child_into_its_class_chat(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    hijack, member_id = await _enrolled_then_protected(api, make, orgs)
    as_hijacker = api.as_(hijack.hijacker)
    klass = ok(
        await as_hijacker.post(f"{API}/orgs/{hijack.org.id}/classes", json={"kind": "class", "name": "1А"}),
        201,
    )
    teach = f"{API}/orgs/{hijack.org.id}/classes/{klass['id']}/teachers/{hijack.org.admin_member_id}"
    ok(await as_hijacker.put(teach))

    await as_hijacker.patch(f"{API}/orgs/{hijack.org.id}/members/{member_id}", json={"class_id": klass["id"]})

    listing = ok(await as_hijacker.get(f"{API}/chats/{klass['chat_id']}/members"))["members"]
    assert hijack.child.id not in {m["id"] for m in listing}
