"""Every route of the API, called by every kind of wrong user (issue 10, authorization sweep).

``ROUTES`` classifies each HTTP route and WebSocket of ``app.routes`` under /api/v1
(the OpenAPI document omits WebSockets); a route missing from it, or an entry without
a route, fails ``test_every_route_is_classified``, so a new route cannot ship without
its wrong users. An entry gives the route's ``scope`` (public, anyone signed in, one's
own things, a chat, a file, an organization, a child's parental controls, the
operators' tools, the live connection), a sample request that passes validation, and
the lower roles it refuses. ``SCOPES`` and ``CONTEXTS`` say which things of the world
each scope's routes are called on and who plays each wrong user there:

- anonymous (no token, a garbage token, a signed-out session): 401 ``not_authenticated``
  on every route but the public ones, whatever the path, query and body (a broken JSON
  body included: no 400 before the 401);
- a stranger, an admin of another school, a removed member (of the chat, of the school),
  a parent on the class's chat, anyone but a child's parent on the child's controls,
  another member on an unsent upload: exactly what a missing id gets (404, same code,
  same message), so ids cannot be probed; ``CONTROLS`` show the rightful people do reach
  those things;
- an admin of another school in their own school's routes naming the first school's
  classes, members, invites, requests, reports, rollovers, transfers and chats, and a
  group's owner in the group's routes naming another chat's message, member or invite:
  the same 404 as for missing ones;
- lower roles (a plain member on managers' and authors' chat routes, a teacher, student
  or parent on admin routes, the school's admin and anyone else who is no operator on
  operators' routes): 403 ``forbidden``;
- ``REFERENCES``: hidden things named in bodies and queries (forwarding, replying,
  attaching, reporting, searching, adding, approving) answer like missing ones;
- removed members hear nothing more of their old chat and school (sync, search and the
  WebSocket), and the WebSocket refuses callers without a valid token.

One world per backend (``PEOPLE``, built once for the module) serves every test, and
every sweep checks that nothing stored changed: no row of any table, the event log
included, was added, changed or removed by the wrong users' calls.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from parta.app import create_app
from parta.config import Settings
from parta.db.tables import Base
from tests.authz_world import API, LIFE_GOES_ON, PNG, World, build_world
from tests.client import Api, Factory, TestUser, error_code
from tests.conftest import BACKENDS, _postgres_database, _sqlite_database
from tests.live import live_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

MISSING = 10**12  # an id nothing has
WAIT = 15.0  # a guard against hangs, never an assertion about speed


# The 404 code a missing id of each kind answers with.
NOT_FOUND = {
    "chat_id": "chat_not_found",
    "message_id": "message_not_found",
    "user_id": "user_not_found",
    "child_id": "user_not_found",
    "file_id": "file_not_found",
    "session_id": "session_not_found",
    "org_id": "org_not_found",
    "class_id": "class_not_found",
    "member_id": "member_not_found",
    "invite_id": "invite_not_found",
    "request_id": "join_request_not_found",
    "report_id": "report_not_found",
    "rollover_id": "rollover_not_found",
    "transfer_id": "transfer_not_found",
    "wave_id": "wave_not_found",
}


# -- The table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """A set of ids of the world that routes are called with (``World.ids``), and who
    plays each wrong user there (people of ``PEOPLE``)."""

    hidden_from: tuple[str, ...]  # must get exactly the 404 a missing id gets
    lower: dict[str, str]  # role word of ``Rule.below`` -> who plays it (refused with 403)


CONTEXTS: dict[str, Context] = {
    # A group a person made (no organization).
    "plain_chat": Context(("stranger", "removed_chat_member"), {"member": "chat_member"}),
    # 5А's class chat: school 1's, so an admin of school 2 finds nothing; a parent of the
    # class is in the parents' chat, not in this one.
    "class_chat": Context(("stranger", "other_admin", "removed_member", "parent"), {"member": "student"}),
    "file": Context(("stranger", "removed_chat_member"), {}),  # an image in the group
    # An image ``owner`` uploaded to the group and never sent: nobody else's to see.
    "unsent_file": Context(("chat_member", "stranger"), {}),
    "org": Context(
        ("stranger", "other_admin", "removed_member"),
        {role: role for role in ("admin", "teacher", "student", "parent")},
    ),
    # ``student``'s controls: anyone but ``parent`` (the child included) finds no such child.
    "child": Context(("stranger", "other_parent", "student", "teacher", "admin"), {}),
    # ``owner``'s session, ``asker``'s join request, ``kid``.
    "own": Context(("stranger", "other_admin", "admin"), {}),
    "operator": Context((), {who: who for who in ("stranger", "admin", "teacher")}),
    "anyone": Context((), {}),
}


@dataclass(frozen=True)
class Scope:
    contexts: tuple[str, ...]
    hides: str | None  # the path id that must answer like a missing one
    why: str


SCOPES: dict[str, Scope] = {
    "public": Scope(("anyone",), None, "no account needed"),
    "anyone": Scope(("anyone",), None, "any signed-in person, about themself or what they name"),
    "chat": Scope(("plain_chat", "class_chat"), "chat_id", "a chat: only its current members see it"),
    "file": Scope(("file", "unsent_file"), "file_id", "a file: the chat's members once it is sent"),
    "org": Scope(("org",), "org_id", "an organization: its members (and operators) only"),
    "child": Scope(("child",), "child_id", "a child's parental controls: only a linked parent"),
    "own": Scope(("own",), None, "one's own sessions and join requests; people one may name"),
    "operator": Scope(("operator",), None, "operators' tools: everyone else is refused"),
    "live": Scope(("anyone",), None, "the live connection: the token comes in its first frame"),
}


@dataclass(frozen=True)
class Rule:
    scope: str
    sample: dict[str, Any] = field(default_factory=dict)  # "{name}" strings: ids of the context
    below: tuple[str, ...] = ()  # role words refused with 403 forbidden
    hides: str | None = None  # own and operator routes: the id whose answers must not tell
    expect: int | None = None  # public routes: the status an anonymous sample gets


def public(expect: int, sample: dict[str, Any] | None = None) -> Rule:
    return Rule("public", sample or {}, expect=expect)


def anyone(sample: dict[str, Any] | None = None) -> Rule:
    return Rule("anyone", sample or {})


def chat(sample: dict[str, Any] | None = None, *, managers: bool = False) -> Rule:
    """A chat route; ``managers``: for owners and admins (or the author) only."""
    return Rule("chat", sample or {}, below=("member",) if managers else ())


ADMINS_ONLY = ("teacher", "student", "parent")


def org(sample: dict[str, Any] | None = None, *, below: tuple[str, ...] = ADMINS_ONLY) -> Rule:
    """An organization route; ``below``: the roles it refuses (admin-only by default)."""
    return Rule("org", sample or {}, below=below)


def own(hides: str, sample: dict[str, Any] | None = None) -> Rule:
    return Rule("own", sample or {}, hides=hides)


def operator(sample: dict[str, Any] | None = None, hides: str | None = None) -> Rule:
    return Rule("operator", sample or {}, below=("stranger", "admin", "teacher"), hides=hides)


def child(sample: dict[str, Any] | None = None) -> Rule:
    return Rule("child", sample or {})


def _json(**body: Any) -> dict[str, Any]:
    return {"json": body}


LINK = {"parent_member_id": "{parent_member_id}", "child_member_id": "{child_member_id}"}
CSV_ROSTER = "ФИО;роль;телефон\nИван Петров;ученик;+79990001133\n".encode()
CSV_MANIFEST = "Чат;Телефон\nРодители 5А;+79990001144\n".encode()
HISTORY = b'{"format": "parta.history.v1", "messages": []}'

# Every route under /api/v1: "METHOD /path" (WebSocket: "WS /path") -> its rule.
ROUTES: dict[str, Rule] = {
    # -- public: nothing of anyone's, and needed before there is an account ------------------------
    "GET /health": public(200),  # load balancers and monitoring
    "GET /openapi.json": public(200),  # the contract: routes and codes, no data
    "GET /docs": public(200),  # the same, as a page
    "POST /auth/code": public(400, _json(phone="не телефон")),  # signing in (own rate limits)
    "POST /auth/token": public(400, _json(phone="не телефон", code="000000")),
    # -- anyone signed in: about themself, or naming people and links they hold. Invite previews
    # and joins need an account too: whoever holds a link may use it, by design. -----------------
    "GET /me": anyone(),
    "PATCH /me": anyone(_json(first_name="Захват")),
    "PUT /me/avatar": anyone({"files": {"file": ("a.png", PNG, "image/png")}}),
    "PUT /me/safe-mode": anyone(_json(enabled=True)),
    "GET /me/children": anyone(),
    "GET /me/join-requests": anyone(),
    "GET /me/blocks": anyone(),
    "GET /sessions": anyone(),
    "DELETE /sessions": anyone(),
    "POST /users/lookup": anyone(_json(phone="+79990001155")),
    "POST /chats": anyone(_json(kind="group", title="Захват")),
    "POST /chats/direct": anyone(_json(user_id="{user_id}")),
    "GET /chats": anyone(),
    "GET /sync": anyone({"params": {"since": 0}}),
    "GET /search": anyone({"params": {"q": "контрольная"}}),
    "GET /invites/{token}": anyone(),
    "POST /invites/{token}/join": anyone(),
    "GET /org-invites/{token}": anyone(),
    "POST /org-invites/{token}/join": anyone(),
    "POST /orgs": anyone(_json(kind="school", full_name="Школа", short_name="Школа", region="77")),
    "GET /orgs": anyone(),
    "GET /org-directory": anyone({"params": {"q": "Школа"}}),
    "POST /reports": anyone(_json(user_id="{user_id}", reason="spam")),
    # -- one's own things, by id --------------------------------------------------------------------
    "DELETE /sessions/{session_id}": own("session_id"),
    "DELETE /me/join-requests/{request_id}": own("request_id"),
    "GET /users/{user_id}": own("user_id"),
    "PUT /me/blocks/{user_id}": own("user_id"),
    "DELETE /me/blocks/{user_id}": own("user_id"),
    # -- chats ----------------------------------------------------------------------------------------
    "GET /chats/{chat_id}": chat(),
    "PATCH /chats/{chat_id}": chat(_json(description="Захват"), managers=True),
    "GET /chats/{chat_id}/members": chat(),
    "POST /chats/{chat_id}/members": chat(_json(user_ids=["{stranger_id}"]), managers=True),
    "DELETE /chats/{chat_id}/members/{user_id}": chat(managers=True),
    "PATCH /chats/{chat_id}/members/{user_id}": chat(_json(role="admin"), managers=True),
    "POST /chats/{chat_id}/messages": chat(_json(text="x", client_msg_id="sweep")),
    "GET /chats/{chat_id}/messages": chat(),
    "GET /chats/{chat_id}/messages/{message_id}": chat(),
    "PATCH /chats/{chat_id}/messages/{message_id}": chat(_json(text="взлом"), managers=True),
    "DELETE /chats/{chat_id}/messages/{message_id}": chat(managers=True),
    "POST /chats/{chat_id}/messages/{message_id}/reactions": chat(_json(emoji="👍")),
    "DELETE /chats/{chat_id}/messages/{message_id}/reactions": chat({"params": {"emoji": "👍"}}),
    "GET /chats/{chat_id}/reactions": chat(),
    "POST /chats/{chat_id}/messages/{message_id}/pin": chat(managers=True),
    "DELETE /chats/{chat_id}/messages/{message_id}/pin": chat(managers=True),
    "GET /chats/{chat_id}/messages/{message_id}/readers": chat(managers=True),
    "GET /chats/{chat_id}/pins": chat(),
    "POST /chats/{chat_id}/read": chat(_json(message_id="{message_id}")),
    "POST /chats/{chat_id}/files": chat({"files": {"file": ("a.png", PNG, "image/png")}}),
    "POST /chats/{chat_id}/invites": chat(_json(), managers=True),
    "GET /chats/{chat_id}/invites": chat(managers=True),
    "DELETE /chats/{chat_id}/invites/{invite_id}": chat(managers=True),
    "PUT /chats/{chat_id}/archive": chat(_json(), managers=True),
    "DELETE /chats/{chat_id}/archive": chat(managers=True),
    # -- files ----------------------------------------------------------------------------------------
    "GET /files/{file_id}": Rule("file"),
    "GET /files/{file_id}/thumbnail": Rule("file"),
    # -- organizations ----------------------------------------------------------------------------
    "GET /orgs/{org_id}": org(below=()),
    "PATCH /orgs/{org_id}": org(_json(short_name="Захват")),
    "PUT /orgs/{org_id}/logo": org({"files": {"file": ("logo.png", PNG, "image/png")}}),
    "GET /orgs/{org_id}/children": org(),
    "POST /orgs/{org_id}/verification": org(below=("admin", *ADMINS_ONLY)),
    "DELETE /orgs/{org_id}/verification": org(below=("admin", *ADMINS_ONLY)),
    "GET /orgs/{org_id}/audit": org(),
    "GET /orgs/{org_id}/members": org(below=()),
    "POST /orgs/{org_id}/members": org(_json(phone="+79990001122", role="student")),
    "PATCH /orgs/{org_id}/members/{member_id}": org(_json(role="parent")),
    "DELETE /orgs/{org_id}/members/{member_id}": org(),
    "POST /orgs/{org_id}/leave": org(below=()),
    # A teacher may ask to be linked as a parent themself, never link someone else.
    "POST /orgs/{org_id}/parent-links": org(_json(**LINK), below=("teacher", "student")),
    "POST /orgs/{org_id}/parent-links/confirm": org(_json(**LINK)),
    "DELETE /orgs/{org_id}/parent-links": org({"params": LINK}, below=("teacher", "student")),
    "GET /orgs/{org_id}/parent-links": org(below=()),
    "PUT /orgs/{org_id}/members/{member_id}/safe-mode": org(_json(enabled=True)),
    "POST /orgs/{org_id}/classes": org(_json(kind="class", name="9Б")),
    "GET /orgs/{org_id}/classes": org(below=()),
    "GET /orgs/{org_id}/classes/{class_id}": org(below=()),
    "PATCH /orgs/{org_id}/classes/{class_id}": org(_json(name="6А")),
    "DELETE /orgs/{org_id}/classes/{class_id}": org(),
    "PUT /orgs/{org_id}/classes/{class_id}/teachers/{member_id}": org(),
    "DELETE /orgs/{org_id}/classes/{class_id}/teachers/{member_id}": org(),
    "PUT /orgs/{org_id}/classes/{class_id}/members/{member_id}": org(),  # class_id: the group
    "DELETE /orgs/{org_id}/classes/{class_id}/members/{member_id}": org(),
    "POST /orgs/{org_id}/invites": org(_json(role="student")),
    "GET /orgs/{org_id}/invites": org(),
    "DELETE /orgs/{org_id}/invites/{invite_id}": org(),
    # Anyone may ask a verified organization (the directory lists them) to let them in; an
    # unverified one answers a stranger like a missing one (REFERENCES).
    "POST /orgs/{org_id}/join-requests": anyone(_json(role="parent")),
    "GET /orgs/{org_id}/join-requests": org(),
    "POST /orgs/{org_id}/join-requests/{request_id}/approve": org(_json()),
    "POST /orgs/{org_id}/join-requests/{request_id}/decline": org(_json(reason="Нет")),
    "GET /orgs/{org_id}/reports": org(),
    "POST /orgs/{org_id}/reports/{report_id}/resolve": org(_json(action="dismiss")),
    "POST /orgs/{org_id}/roster": org({"files": {"file": ("roster.csv", CSV_ROSTER, "text/csv")}}),
    "GET /orgs/{org_id}/archive-schedule": org(),
    "GET /orgs/{org_id}/school-years": org(),
    "PATCH /orgs/{org_id}/school-year-settings": org(_json(last_grade=9)),
    "POST /orgs/{org_id}/rollovers": org(_json()),
    "POST /orgs/{org_id}/rollovers/preview": org(_json()),
    "GET /orgs/{org_id}/rollovers": org(),
    "GET /orgs/{org_id}/rollovers/{rollover_id}": org(),
    "GET /orgs/{org_id}/rollovers/{rollover_id}/preview": org(),
    "POST /orgs/{org_id}/rollovers/{rollover_id}/run": org(),
    "POST /orgs/{org_id}/rollovers/{rollover_id}/undo": org(),
    "DELETE /orgs/{org_id}/rollovers/{rollover_id}": org(),
    "POST /orgs/{org_id}/members/{member_id}/transfer": org(_json(class_id="{class_id}")),
    "GET /orgs/{org_id}/transfers": org(),
    "POST /orgs/{org_id}/transfers/{transfer_id}/accept": org(_json(class_id="{class_id}")),
    "POST /orgs/{org_id}/transfers/{transfer_id}/decline": org(),
    "POST /orgs/{org_id}/chat-manifests": org({"files": {"file": ("chats.csv", CSV_MANIFEST, "text/csv")}}),
    "GET /orgs/{org_id}/migrated-chats": org(),
    "POST /orgs/{org_id}/migrated-chats/{chat_id}/invite": org(),
    "GET /orgs/{org_id}/migration/report": org(),
    "GET /orgs/{org_id}/migration/report/chats/{chat_id}": org(),
    "POST /orgs/{org_id}/history-imports": org(
        {"files": {"file": ("history.json", HISTORY, "text/json")}, "data": {"new_chat_title": "Архив"}}
    ),
    # -- parental controls ------------------------------------------------------------------------
    "GET /children/{child_id}/contacts": child(),
    "GET /children/{child_id}/chats": child(),
    "POST /children/{child_id}/approved-contacts": child(_json(phone="{stranger_phone}")),
    "DELETE /children/{child_id}/approved-contacts/{user_id}": child(),
    "PUT /children/{child_id}/safe-mode": child(_json(enabled=False)),
    # -- operators ----------------------------------------------------------------------------------
    "GET /operator/orgs": operator(),
    "GET /operator/reports": operator(),
    "POST /operator/reports/{report_id}/resolve": operator(_json(action="dismiss"), hides="report_id"),
    "POST /operator/waves": operator(_json(name="Захват", org_kinds=["school"], starts_at="2030-09-01")),
    "GET /operator/waves": operator(),
    "GET /operator/waves/{wave_id}": operator(hides="wave_id"),
    "PATCH /operator/waves/{wave_id}": operator(_json(name="Захват"), hides="wave_id"),
    "DELETE /operator/waves/{wave_id}": operator(hides="wave_id"),
    "GET /operator/waves/{wave_id}/progress": operator(hides="wave_id"),
    "POST /operator/waves/{wave_id}/reminders": operator(_json(), hides="wave_id"),
    # -- the live connection (test_websocket_refuses_anonymous_and_tells_removed_members_nothing) --
    "WS /ws": Rule("live"),
}


@pytest.fixture(scope="module", params=BACKENDS)
def world_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per backend for the whole module (a world costs more than a sweep)."""
    if request.param == "sqlite":
        yield _sqlite_database(request, tmp_path_factory.mktemp("authz"))
        return
    with _postgres_database(request) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(world_database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("authz-data") / "data"
    async with Api.start(database_url=world_database, data_dir=data_dir) as api:
        built = await build_world(api)
        built.database_url = world_database
        yield built


# -- Calling routes ------------------------------------------------------------------------------------

# Status, error code, and the rest: the error (message, field, reason) or the body of a
# success, so that an answer that tells more than a missing id's is caught too.
Answer = tuple[int, str, Any]
UNAUTHENTICATED = (401, "not_authenticated")
FORBIDDEN = (403, "forbidden")


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _path(template: str, ids: dict[str, Any]) -> str:
    if "/classes/{class_id}/members/" in template:  # group routes: the group is the class
        ids = ids | {"class_id": ids["group_id"]}
    return API + template.format(**ids)


def _split(key: str) -> tuple[str, str]:
    method, template = key.split(" ", 1)
    return method, template


@dataclass
class Sweep:
    """Calls routes and collects every wrong answer, so one run lists all of them."""

    api: Api
    failures: list[str] = field(default_factory=list)

    async def answer(self, token: str | None, key: str, ids: dict[str, Any], **request: Any) -> Answer:
        """Status, error code and, for a success, the body (which must leak nothing either)."""
        method, template = _split(key)
        headers = dict(request.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = await self.api.request(method, _path(template, ids), headers=headers, **request)
        except AssertionError as exc:  # the test client's check: every error code is documented
            self.failures.append(f"{key}: {exc}")
            return 0, "undocumented", None
        if response.status_code >= 400:
            return response.status_code, error_code(response), response.json()["error"]
        is_json = response.headers.get("content-type", "").startswith("application/json")
        return response.status_code, "", response.json() if is_json else response.content

    async def call(self, user: TestUser, key: str, ids: dict[str, Any]) -> Answer:
        """The route with its sample request, as ``user``."""
        return await self.answer(user.token, key, ids, **_fill(ROUTES[key].sample, ids))

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)

    def assert_clean(self) -> None:
        assert not self.failures, f"{len(self.failures)} wrong answers:\n" + "\n".join(self.failures)


async def _stored(w: World) -> dict[str, set[str]]:
    """Every row of every table, but when sessions were last seen (a read moves it)."""
    stored: dict[str, set[str]] = {}
    async with w.api.app.state.services.database.session() as db:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) != ("sessions", "last_seen_at")]
            rows = await db.execute(select(*columns))
            stored[table.name] = {json.dumps(list(row), default=str, sort_keys=True) for row in rows}
    return stored


class Unchanged:
    """Afterwards nothing stored has changed: no row of any table (the event log included)
    was added, changed or removed by the wrong users' calls."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def __aenter__(self) -> Sweep:
        self.before = await _stored(self.world)
        self.sweep = Sweep(self.world.api)
        return self.sweep

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return
        after = await _stored(self.world)
        for table, rows in self.before.items():
            added, removed = sorted(after[table] - rows), sorted(rows - after[table])
            self.sweep.check(not added and not removed, f"{table} changed: added {added}, removed {removed}")
        self.sweep.assert_clean()


# -- The tests -----------------------------------------------------------------------------------------


def _app_routes(tmp_path: Path) -> dict[str, Any]:
    """Every route the app serves under /api/v1, WebSockets included (the OpenAPI
    document omits them), as "METHOD /path" -> the route."""
    app = create_app(Settings(data_dir=tmp_path, secret_key="test-secret", gc_tuning=False))
    found: dict[str, Any] = {}
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if not path.startswith(API + "/"):
            continue
        route = context.original_route
        if isinstance(route, APIWebSocketRoute):
            found[f"WS {path.removeprefix(API)}"] = route
            continue
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                found[f"{method} {path.removeprefix(API)}"] = route
    return found


def _takes_body(route: APIRoute) -> bool:
    declared = (route.openapi_extra or {}).get("requestBody", {}).get("required", False)
    return bool(declared) or (route.body_field is not None and route.body_field.field_info.is_required())


async def test_every_route_is_classified(tmp_path: Path) -> None:
    """A new route fails here until ROUTES says who its wrong users are; a route that
    takes a body must come with a sample, or the sweeps would stop at validation."""
    routes = _app_routes(tmp_path)
    assert sorted(set(routes) - set(ROUTES)) == [], "routes nobody classified"
    assert sorted(set(ROUTES) - set(routes)) == [], "classified routes that do not exist"
    assert any(key.startswith("WS ") for key in routes)
    for key, route in routes.items():
        if isinstance(route, APIRoute) and _takes_body(route):
            assert ROUTES[key].sample, f"{key} takes a body: give ROUTES a valid sample"
    for key, rule in ROUTES.items():
        contexts = SCOPES[rule.scope].contexts
        assert all(word in CONTEXTS[c].lower for c in contexts for word in rule.below), key
        assert (rule.scope == "public") == (rule.expect is not None), key
        assert (rule.scope == "own") <= (rule.hides is not None), key
        hides = _hides(rule)
        assert hides is None or (hides in NOT_FOUND and f"{{{hides}}}" in key), key
    assert {ref.key for ref in REFERENCES} <= set(ROUTES)


def _ids_of(w: World, rule: Rule) -> dict[str, Any]:
    return w.ids[SCOPES[rule.scope].contexts[0]]


GARBAGE_PARAMS = {
    "limit": "x",
    "before": "x",
    "after": "x",
    "cursor": "x",
    "since": "-1",
    "q": "",
    "emoji": "",
}


def _malformed(sample: dict[str, Any]) -> dict[str, Any]:
    """A body that cannot be parsed: broken JSON, or a form Starlette refuses (a part
    header over its 4 KB limit)."""
    if "files" in sample:
        part = b'--zz\r\nContent-Disposition: form-data; name="file"; filename="' + b"a" * 5000 + b'"\r\n\r\n'
        return {
            "content": part + b"x\r\n--zz--\r\n",
            "headers": {"Content-Type": "multipart/form-data; boundary=zz"},
        }
    return {"content": b'{"broken', "headers": {"Content-Type": "application/json"}}


async def test_anonymous_callers_are_refused_before_any_validation(world: World) -> None:
    """No token, a garbage token, a signed-out session: 401 `not_authenticated` on every
    route that needs an account, whatever the path, query and body; public routes answer."""
    async with Unchanged(world) as sweep:
        for index, (key, rule) in enumerate(ROUTES.items()):
            _, template = _split(key)
            if rule.scope == "live":
                continue  # test_websocket_refuses_anonymous_and_tells_removed_members_nothing
            ids = _ids_of(world, rule)
            sample = _fill(rule.sample, ids)
            if rule.scope == "public":
                got = await sweep.answer(None, key, ids, **sample)
                sweep.check(got[0] == rule.expect, f"{key} public: {got[:2]}, expected {rule.expect}")
                continue
            # Nothing of the request is valid but the route; the token alternates between
            # garbage and a signed-out session's (one code path, both kinds of stale token).
            bad_token = "garbage" if index % 2 else world.revoked_token
            nonsense = dict.fromkeys(re.findall(r"\{(\w+)\}", template), "x") | {"group_id": "x"}
            malformed = _malformed(sample) if sample.keys() & {"json", "files"} else {}
            answers = {
                "no token": await sweep.answer(None, key, ids, **sample),
                "bad token, bad ids, query and body": await sweep.answer(
                    bad_token, key, nonsense, params=GARBAGE_PARAMS, **malformed
                ),
            }
            if malformed:  # JSON and File() forms are parsed before the route's dependencies run
                answers["no token, bad body"] = await sweep.answer(None, key, ids, **malformed)
            for variant, got in answers.items():
                sweep.check(got[:2] == UNAUTHENTICATED, f"{key} {variant}: {got}")


def _hides(rule: Rule) -> str | None:
    return rule.hides or SCOPES[rule.scope].hides


# The rightful people reach each context's things: the refusals are about the caller.
CONTROLS = (
    ("chat_member", "GET /chats/{chat_id}", "plain_chat"),
    ("student", "GET /chats/{chat_id}/messages/{message_id}", "class_chat"),
    ("chat_member", "GET /files/{file_id}", "file"),
    ("owner", "GET /files/{file_id}/thumbnail", "unsent_file"),
    ("parent", "GET /orgs/{org_id}/classes/{class_id}", "org"),
    ("parent", "GET /children/{child_id}/contacts", "child"),
    ("chat_member", "GET /users/{user_id}", "plain_chat"),
    ("operator", "GET /operator/waves/{wave_id}/progress", "operator"),
    ("owner", "GET /chats/{chat_id}/invites", "plain_chat"),
    ("admin", "GET /orgs/{org_id}/audit", "org"),
)


async def test_hidden_things_answer_exactly_like_missing_ones(world: World) -> None:
    """A stranger, an admin of another school, a removed member (of the chat or of the
    school), a parent on the class's chat, anyone but a child's parent on the child's
    controls, another member on an unsent upload: the same 404 and code as for an id
    that does not exist (while the rightful people reach them: ``CONTROLS``)."""
    async with Unchanged(world) as sweep:
        for who, key, context in CONTROLS:
            got = await sweep.answer(world.user(who).token, key, world.ids[context])
            sweep.check(got[0] == 200, f"control {key} [{context}] as {who}: {got}")
        for key, rule in ROUTES.items():
            hides = _hides(rule)
            for context in SCOPES[rule.scope].contexts:
                if hides is None or not CONTEXTS[context].hidden_from:
                    continue
                ids, expected = world.ids[context], (404, NOT_FOUND[hides])
                # Nobody is a member of what does not exist: one caller's answer stands for all.
                absent = await sweep.call(world.user("stranger"), key, ids | {hides: MISSING})
                sweep.check(absent[:2] == expected, f"{key} [{context}] missing: {absent}")
                for who in CONTEXTS[context].hidden_from:
                    real = await sweep.call(world.user(who), key, ids)
                    sweep.check(real == absent, f"{key} [{context}] as {who}: {real}, missing: {absent}")


async def test_lower_roles_are_refused_with_forbidden(world: World) -> None:
    """A plain chat member on managers' and authors' routes, a teacher, student or parent on
    admin routes, the school's admin on operators' routes (verification, queues, waves):
    403 `forbidden`; operators' routes answer non-operators the same for missing ids."""
    async with Unchanged(world) as sweep:
        for key, rule in ROUTES.items():
            for context in SCOPES[rule.scope].contexts:
                ids = world.ids[context]
                for who in (CONTEXTS[context].lower[word] for word in rule.below):
                    got = await sweep.call(world.user(who), key, ids)
                    sweep.check(got[:2] == FORBIDDEN, f"{key} [{context}] as {who}: {got}")
                    if rule.scope == "operator" and rule.hides is not None:
                        absent = await sweep.call(world.user(who), key, ids | {rule.hides: MISSING})
                        sweep.check(absent == got, f"{key} as {who}: {got}, missing: {absent}")


def _placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(re.findall(r"^\{(\w+)\}$", value))
    if isinstance(value, dict):
        return set().union(*(_placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_placeholders(v) for v in value)) if value else set()
    return set()


def _objects_of(key: str, foreign: dict[str, Any]) -> set[str]:
    """The ids a route names (in its path and its sample) that ``foreign`` replaces."""
    _, template = _split(key)
    names = set(re.findall(r"\{(\w+)\}", template)) | _placeholders(ROUTES[key].sample)
    if "/classes/{class_id}/members/" in template:
        names = (names - {"class_id"}) | {"group_id"}
    return names & set(foreign)


async def test_foreign_things_named_through_ones_own_answer_like_missing_ones(world: World) -> None:
    """An admin of school 2, in school 2's routes, naming school 1's classes, members,
    invites, join requests, reports, rollovers, transfers, migrated chats; the owner of a
    group, in the group's routes, naming a message of another chat, a person not in the
    group, another chat's invite: exactly what missing ones get (every action checks that
    the thing belongs to the organization or chat of the route)."""
    org = world.ids["org"]
    cases = {
        "org": (
            "other_admin",
            {"org_id": world.other_school.id},
            {k: v for k, v in org.items() if k != "org_id"},
        ),
        "plain_chat": ("owner", {}, world.ids["foreign"]),
    }
    async with Unchanged(world) as sweep:
        swept = 0
        for key, rule in ROUTES.items():
            for context, (who, own, foreign) in cases.items():
                objects = _objects_of(key, foreign)
                if context not in SCOPES[rule.scope].contexts or not objects:
                    continue
                ids = world.ids[context] | own | {name: foreign[name] for name in objects}
                missing = ids | {name: MISSING + i for i, name in enumerate(sorted(objects))}
                user = world.user(who)
                real, absent = await sweep.call(user, key, ids), await sweep.call(user, key, missing)
                sweep.check(
                    real == absent and real[0] == 404, f"{key} [{context}]: {real}, missing: {absent}"
                )
                swept += 1
        assert swept >= 35


@dataclass(frozen=True)
class Reference:
    """A hidden thing named inside a request (body or query) rather than by the route."""

    who: str
    key: str
    path: dict[str, str]  # path parameter -> the world's name for it (``ids["refs"]``)
    sample: dict[str, Any]
    hidden: tuple[str, ...]  # the names that point at things ``who`` must not learn of


def _ref(who: str, key: str, sample: dict[str, Any], *hidden: str, **path: str) -> Reference:
    return Reference(who, key, path, sample, hidden)


def _history_dry_run(chat_ref: str) -> dict[str, Any]:
    """A history import checked without writing, into the chat ``chat_ref`` names."""
    return {
        "files": {"file": ("history.json", HISTORY, "text/json")},
        "data": {"chat_id": chat_ref},
        "params": {"dry_run": "true"},
    }


def _message(**fields: Any) -> dict[str, Any]:
    return _json(text="Ссылка", client_msg_id="sweep-ref", **fields)


REFERENCES: tuple[Reference, ...] = (
    # A stranger naming a chat, message, file or person they may not see.
    _ref("stranger", "GET /search", {"params": {"q": "кружка", "chat_id": "{chat}"}}, "chat"),
    _ref("removed_chat_member", "GET /search", {"params": {"q": "удаления", "chat_id": "{chat}"}}, "chat"),
    _ref("stranger", "POST /reports", _json(message_id="{message}", reason="spam"), "message"),
    _ref("stranger", "POST /reports", _json(user_id="{kid}", reason="spam"), "kid"),
    _ref("stranger", "POST /users/lookup", _json(phone="{kid_phone}"), "kid_phone"),
    _ref("stranger", "GET /users/{user_id}", {}, "owner", user_id="owner"),
    _ref("stranger", "POST /chats/direct", _json(user_id="{kid}"), "kid"),
    _ref("stranger", "POST /chats", _json(kind="group", title="Захват", member_ids=["{kid}"]), "kid"),
    _ref("stranger", "POST /chats/{chat_id}/members", _json(user_ids=["{kid}"]), "kid", chat_id="own_chat"),
    _ref(
        "stranger",
        "POST /chats/{chat_id}/messages",
        _message(forward_from={"chat_id": "{chat}", "message_id": "{message}"}),
        "chat",
        "message",
        chat_id="own_chat",
    ),
    _ref(
        "stranger",
        "POST /chats/{chat_id}/messages",
        _message(reply_to="{message}"),
        "message",
        chat_id="own_chat",
    ),
    _ref(
        "stranger", "POST /chats/{chat_id}/messages", _message(file_id="{file}"), "file", chat_id="own_chat"
    ),
    _ref(
        "stranger", "POST /chats/{chat_id}/read", _json(message_id="{message}"), "message", chat_id="own_chat"
    ),
    _ref("stranger", "PATCH /chats/{chat_id}", _json(avatar_file_id="{file}"), "file", chat_id="own_chat"),
    _ref(
        "stranger",
        "PUT /chats/{chat_id}/archive",
        _json(at="2099-01-01T09:00", successor_chat_id="{chat}"),
        "chat",
        chat_id="own_chat",
    ),
    _ref(
        "stranger",
        "POST /orgs",
        _json(
            kind="school", full_name="Школа № 9", short_name="Школа № 9", region="77", parent_id="{school}"
        ),
        "school",
    ),
    # An admin of school 2 naming school 1's things in school 2's requests.
    _ref("other_admin", "PATCH /orgs/{org_id}", _json(logo_file_id="{file}"), "file", org_id="other_org"),
    _ref(
        "other_admin",
        "POST /orgs/{org_id}/invites",
        _json(role="student", class_id="{class}"),
        "class",
        org_id="other_org",
    ),
    _ref(
        "other_admin",
        "POST /orgs/{org_id}/members",
        _json(phone="+79990001177", role="student", class_id="{class}"),
        "class",
        org_id="other_org",
    ),
    _ref(
        "other_admin",
        "GET /orgs/{org_id}/members",
        {"params": {"class_id": "{class}"}},
        "class",
        org_id="other_org",
    ),
    _ref(
        "other_admin",
        "PATCH /orgs/{org_id}/classes/{class_id}",
        _json(homeroom_member_id="{teacher}"),
        "teacher",
        org_id="other_org",
        class_id="other_class",
    ),
    _ref(
        "other_admin",
        "POST /orgs/{org_id}/rollovers/preview",
        _json(class_ids=["{class}"]),
        "class",
        org_id="other_org",
    ),
    _ref(
        "other_admin",
        "POST /orgs/{org_id}/rollovers/preview",
        _json(leaving_member_ids=["{member}"]),
        "member",
        org_id="other_org",
    ),
    _ref(
        "other_admin",
        "POST /orgs/{org_id}/history-imports",
        _history_dry_run("{class_chat}"),
        "class_chat",
        org_id="other_org",
    ),
    _ref(
        "stranger", "POST /orgs/{org_id}/join-requests", _json(role="parent"), "other_org", org_id="other_org"
    ),
    # A member of the group sending the owner's unsent upload.
    _ref(
        "chat_member",
        "POST /chats/{chat_id}/messages",
        _message(file_id="{unsent_file}"),
        "unsent_file",
        chat_id="chat",
    ),
    # School 1's admin and teacher naming what is not the school's, or not theirs to see.
    _ref(
        "admin",
        "POST /orgs/{org_id}/reports/{report_id}/resolve",
        _json(action="dismiss"),
        "operator_report",
        org_id="school",
        report_id="operator_report",
    ),
    _ref(
        "admin",
        "GET /orgs/{org_id}/migration/report/chats/{chat_id}",
        {},
        "chat",
        org_id="school",
        chat_id="chat",
    ),
    _ref(
        "admin",
        "POST /orgs/{org_id}/migrated-chats/{chat_id}/invite",
        {},
        "chat",
        org_id="school",
        chat_id="chat",
    ),
    _ref(
        "admin",
        "POST /orgs/{org_id}/history-imports",
        _history_dry_run("{chat}"),
        "chat",
        org_id="school",
    ),
    _ref(
        "teacher",
        "PUT /chats/{chat_id}/archive",
        _json(at="2099-01-01T09:00", successor_chat_id="{chat}"),
        "chat",
        chat_id="class_chat",
    ),
    _ref(
        "owner",
        "POST /chats/{chat_id}/messages",
        _message(forward_from={"chat_id": "{class_chat}", "message_id": "{class_message}"}),
        "class_chat",
        "class_message",
        chat_id="chat",
    ),
    # A parent approving, for their child, a person they could not find by phone.
    _ref(
        "parent",
        "POST /children/{child_id}/approved-contacts",
        _json(phone="{kid_phone}"),
        "kid_phone",
        child_id="student",
    ),
)
UNUSED_PHONE = "+79990009999"


async def test_hidden_things_named_in_bodies_and_queries_answer_like_missing_ones(world: World) -> None:
    """Forwarding, replying to, attaching, reporting, searching, adding, approving: naming
    something the caller may not see answers exactly like naming something that does not exist."""
    refs = world.ids["refs"]
    async with Unchanged(world) as sweep:
        for ref in REFERENCES:
            user = world.user(ref.who)
            real_ids = refs | {param: refs[name] for param, name in ref.path.items()}
            swapped = {
                name: UNUSED_PHONE if name.endswith("_phone") else MISSING + i
                for i, name in enumerate(ref.hidden)
            }
            missing_refs = refs | swapped
            missing_ids = missing_refs | {param: missing_refs[name] for param, name in ref.path.items()}
            real = await sweep.answer(user.token, ref.key, real_ids, **_fill(ref.sample, real_ids))
            absent = await sweep.answer(user.token, ref.key, missing_ids, **_fill(ref.sample, missing_ids))
            sweep.check(
                real == absent, f"{ref.key} as {ref.who} naming {ref.hidden}: {real}, missing: {absent}"
            )


async def test_removed_members_and_strangers_hear_and_find_nothing(world: World) -> None:
    """After their removal a removed member's sync holds only the notices of it (the chats
    they left, the school they left), none of what was said or changed there since; a
    stranger's whole sync holds nothing of the world; search finds them nothing of it."""
    for who, since in world.removed_since.items():
        events = await world.api.as_(world.user(who)).sync(since)
        assert {e["type"] for e in events} <= {"chat.removed", "org.left"}, (who, events)
        removed_from = {e["data"]["chat_id"] for e in events if e["type"] == "chat.removed"}
        assert world.lost_chats[who] <= removed_from, (who, events)
        for said in LIFE_GOES_ON:
            assert said not in json.dumps(events, ensure_ascii=False), (who, said)
    stranger = world.api.as_(world.user("stranger"))
    events = await stranger.sync(0)
    assert {e.get("chat_id") for e in events} <= {None, world.ids["refs"]["own_chat"]}, events
    assert not any(
        str(world.school.id) in json.dumps(e["data"]) for e in events if e["type"].startswith("org.")
    )
    for words, member in (
        ("кружка", "owner"),
        ("удаления", "owner"),
        ("контрольная", "teacher"),
        ("задание", "teacher"),
    ):
        for who in (member, "stranger", *world.removed_since):
            found = await world.api.as_(world.user(who)).get(f"{API}/search", params={"q": words})
            assert found.status_code == 200, found.text
            assert bool(found.json()["messages"]) == (who == member), (who, words, found.json())


async def _ws(live: Api, frame: dict[str, Any] | None) -> ClientConnection:
    ws = await connect(live.ws_url, open_timeout=WAIT)
    if frame is not None:
        await ws.send(json.dumps(frame))
    return ws


async def _recv(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT)))


async def _refused(ws: ClientConnection) -> tuple[str, int]:
    """The error frame's code and the close code of a refused connection."""
    error = await _recv(ws)
    assert error["type"] == "error", error
    with pytest.raises(ConnectionClosed) as closed:
        await _recv(ws)
    assert closed.value.rcvd is not None
    return str(error["error"]["code"]), closed.value.rcvd.code


async def _signed_in(live: Api, user: TestUser) -> ClientConnection:
    ws = await _ws(live, {"type": "auth", "token": user.token})
    assert (await _recv(ws))["type"] == "ready"
    return ws


async def _next_of(ws: ClientConnection, frame_type: str) -> dict[str, Any]:
    while (frame := await _recv(ws))["type"] != frame_type:
        pass
    return frame


async def _events_until(ws: ClientConnection, last_type: str) -> list[dict[str, Any]]:
    """Every log event up to the first of ``last_type`` (ephemeral frames skipped)."""
    got: list[dict[str, Any]] = []
    while not got or got[-1]["type"] != last_type:
        frame = await _recv(ws)
        if frame["type"] == "events":
            got.extend(frame["events"])
    return got


async def test_websocket_refuses_anonymous_and_tells_removed_members_nothing(world: World) -> None:
    """The live connection: no token, an empty, garbage or signed-out token is refused
    (error frame, close 4001; a frame that is no auth frame 4000, silence 4002) before
    anything is sent. Removed members, connected, receive nothing of their old chat and
    school while its members do; a stranger's typing reaches nobody."""
    p, api = world.people, world.api
    # Writes go through the world's app; the live server's tailer finds them by polling the log.
    live_app = live_server(
        database_url=world.database_url, data_dir=api.data_dir, ws_auth_timeout=0.5, tail_poll_seconds=0.05
    )
    async with live_app as live:
        for frame, expected in (
            ({"type": "auth", "token": ""}, ("not_authenticated", 4001)),
            ({"type": "auth", "token": "garbage"}, ("not_authenticated", 4001)),
            ({"type": "auth", "token": world.revoked_token}, ("not_authenticated", 4001)),
            ({"type": "auth"}, ("invalid_request", 4000)),
            ({"type": "ping"}, ("invalid_request", 4000)),
            (None, ("invalid_request", 4002)),
        ):
            assert await _refused(await _ws(live, frame)) == expected, frame
        removed = {who: await _signed_in(live, p[who]) for who in world.removed_since}
        member, owner = await _signed_in(live, p["chat_member"]), await _signed_in(live, p["owner"])
        stranger = await _signed_in(live, p["stranger"])
        plain = world.ids["plain_chat"]["chat_id"]
        # A stranger's typing in the chat reaches nobody; the member's, sent after it, does.
        await stranger.send(json.dumps({"type": "typing", "chat_id": plain}))
        await stranger.send(json.dumps({"type": "ping"}))
        assert (await _recv(stranger))["type"] == "pong"  # the typing frame was handled before
        await member.send(json.dumps({"type": "typing", "chat_id": plain}))
        typing = await _next_of(owner, "typing")  # presence frames may come first
        assert typing == {"type": "typing", "chat_id": plain, "user_id": p["chat_member"].id}
        make = Factory(api)
        await make.message(p["owner"], plain, "Пока вы на связи")
        await make.message(p["teacher"], world.ids["class_chat"]["chat_id"], "Пока вы на связи")
        website = {"website": "https://school1.example"}
        assert (
            await api.as_(p["admin"]).patch(f"{API}/orgs/{world.school.id}", json=website)
        ).status_code == 200
        # The control: a member hears the message.
        assert [e["type"] for e in await _events_until(member, "message.created")] == ["message.created"]
        for who, ws in removed.items():
            # A sign of their own, committed after all that: it must be the first thing they get.
            blocked = await api.as_(p[who]).put(f"{API}/me/blocks/{p['stranger'].id}")
            assert blocked.status_code == 200, blocked.text
            got = await _events_until(ws, "user.blocked")
            assert [e["type"] for e in got] == ["user.blocked"], (who, got)
            assert (await api.as_(p[who]).delete(f"{API}/me/blocks/{p['stranger'].id}")).status_code == 204
        for ws in (*removed.values(), member, owner, stranger):
            await ws.close()
