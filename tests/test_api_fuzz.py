"""API fuzzing: schemathesis generates requests for every operation in the OpenAPI
document and sends them as three identities (anonymous, an ordinary user with a chat
and a message, the admin of a school with a class).

Every response must: not be a server error (5xx), use a documented status code and
content type, match the documented response schema, and (for errors) carry an error
code the operation's OpenAPI responses list. Requests go through the same in-process
httpx client as every other test; hypothesis runs in a worker thread (it cannot drive
coroutines) and hands each request to the test's event loop.

The run here is small and deterministic (``derandomize``); ``bench/fuzz.py`` runs the
same with many more examples.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.client import Api, Factory, TestUser, check_documented_error, error_code
from tests.org_factory import OrgFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Operations that end the caller's own session or membership: with real ids they would
# sign the shared identities out halfway through the run. They are still fuzzed
# anonymously and with generated (non-existent) ids.
SELF_DESTRUCTIVE = {
    ("DELETE", "/api/v1/sessions"),
    ("DELETE", "/api/v1/sessions/{session_id}"),
    ("POST", "/api/v1/orgs/{org_id}/leave"),
    ("DELETE", "/api/v1/orgs/{org_id}/members/{member_id}"),
}


@dataclass
class World:
    """The data the identities own, so that generated requests can name real ids."""

    tokens: dict[str, str | None]
    ids: dict[str, int]
    invite_tokens: dict[str, str] = field(default_factory=dict)  # path prefix -> token

    def fill(self, path: str, parameters: dict[str, Any]) -> None:
        """Replace generated path parameters by ids that exist."""
        for name in parameters:
            if name in self.ids:
                parameters[name] = self.ids[name]
            elif name == "token":
                for prefix, token in self.invite_tokens.items():
                    if path.startswith(prefix):
                        parameters[name] = token


@dataclass
class Finding:
    identity: str
    method: str
    path: str
    status: int
    check: str
    detail: str
    request: str

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.method, self.path, self.check, self.status)


@dataclass
class Report:
    requests: int = 0
    operations: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    findings: dict[tuple[str, str, str, int], Finding] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        self.findings.setdefault(finding.key, finding)

    def summary(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "requests": self.requests,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "findings": [vars(f) for f in self.findings.values()],
        }


async def build_world(api: Api) -> World:
    """Anonymous; a user in a chat with a message, a file and an invite; an admin of a
    school with a class, a teacher and an org invite."""
    make = Factory(api)
    orgs = OrgFactory(api, make)
    user, friend = await make.user("Мария", "Фаззерова"), await make.user("Олег", "Тестов")
    chat = await make.chat(user, [friend])
    message = await make.message(user, chat["id"], "Сообщение для фаззинга")
    school = await orgs.school()
    klass = await orgs.klass(school, "7Б")
    teacher = await orgs.add(school, "teacher", friend)
    ids = {
        "chat_id": chat["id"],
        "message_id": message["id"],
        "user_id": friend.id,
        "child_id": friend.id,
        "org_id": school.id,
        "class_id": klass["id"],
        "member_id": school.member_id(teacher),
    }
    world = World(tokens={"anonymous": None, "user": user.token, "admin": school.admin.token}, ids=ids)
    await _add_invites(api, world, user, school.admin)
    return world


async def _add_invites(api: Api, world: World, user: TestUser, admin: TestUser) -> None:
    response = await api.as_(user).post(f"/api/v1/chats/{world.ids['chat_id']}/invites", json={})
    if response.status_code == 201:
        body = response.json()
        world.ids["invite_id"] = body["id"]
        world.invite_tokens["/api/v1/invites/"] = body["token"]
    response = await api.as_(admin).post(
        f"/api/v1/orgs/{world.ids['org_id']}/invites", json={"role": "parent"}
    )
    if response.status_code == 201:
        world.invite_tokens["/api/v1/org-invites/"] = response.json()["token"]


def _as_httpx(case: schemathesis.Case[Any], token: str | None) -> dict[str, Any]:
    """The generated request, serialised exactly as schemathesis would send it."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("auth", None)
    kwargs.pop("timeout", None)
    kwargs.pop("allow_redirects", None)
    headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items() if k.lower() != "authorization"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    prepared = requests.Request(headers=headers, **kwargs).prepare()
    return {
        "method": prepared.method,
        "url": prepared.url,
        "headers": dict(prepared.headers),
        "content": prepared.body.encode() if isinstance(prepared.body, str) else prepared.body,
    }


def _check(
    api: Api, case: schemathesis.Case[Any], request: dict[str, Any], response: httpx.Response
) -> list[str]:
    problems: list[str] = []
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as exc:
        problems.append(f"schemathesis: {exc}")
    try:
        check_documented_error(api.app, request["method"], request["url"], response)
    except (AssertionError, ValueError, KeyError) as exc:
        problems.append(f"documented_error: {exc}")
    return problems


def fuzz(
    api: Api,
    loop: asyncio.AbstractEventLoop,
    world: World,
    *,
    max_examples: int,
    negative: bool = True,
    only: Callable[[str, str], bool] | None = None,
) -> Report:
    """Fuzz every operation (blocking; call from a worker thread). Findings are
    collected, not raised, so one run reports everything at once."""
    document = asyncio.run_coroutine_threadsafe(api.get("/api/v1/openapi.json"), loop).result().json()
    schema = schemathesis.openapi.from_dict(document)
    report = Report()
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negative else [])
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # FastAPI's own document is always valid
        operation = result.ok()
        if only is not None and not only(operation.method.upper(), operation.path):
            continue
        report.operations += 1
        for mode in modes:
            _fuzz_operation(api, loop, world, operation, mode, max_examples, report)
    return report


def _fuzz_operation(
    api: Api,
    loop: asyncio.AbstractEventLoop,
    world: World,
    operation: Any,
    mode: GenerationMode,
    max_examples: int,
    report: Report,
) -> None:
    method, path = operation.method.upper(), operation.path
    identities = sorted(world.tokens)

    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        identity=st.sampled_from(identities),
        real=st.booleans(),
    )
    def run(case: schemathesis.Case[Any], identity: str, real: bool) -> None:
        destructive = (method, path) in SELF_DESTRUCTIVE and identity != "anonymous"
        if real and case.path_parameters and not destructive:
            world.fill(path, case.path_parameters)
        request = _as_httpx(case, world.tokens[identity])
        report.requests += 1
        try:
            response = asyncio.run_coroutine_threadsafe(api.client.request(**request), loop).result()
        except Exception as exc:  # the in-process transport re-raises what the app did not handle (a 500)
            status, problems = 500, [f"unhandled: {type(exc).__name__}: {exc}"]
        else:
            status, problems = response.status_code, _check(api, case, request, response)
        report.statuses[status] = report.statuses.get(status, 0) + 1
        for problem in problems:
            report.add(
                Finding(
                    identity=identity,
                    method=method,
                    path=path,
                    status=status,
                    check=_first_line(problem),
                    detail=problem[:1500],
                    request=f"{request['method']} {request['url']} {(request['content'] or b'')[:300]!r}",
                )
            )

    try:
        run()
    except Unsatisfiable:  # nothing to negate in this operation (no parameters, no body)
        pass


def _first_line(problem: str) -> str:
    kind = problem.split(":", 1)[0]
    titles = re.findall(r"^- (.+)$", problem, flags=re.MULTILINE)
    return f"{kind}: {titles[0]}" if titles else kind


async def run_fuzz(api: Api, *, max_examples: int, negative: bool = True) -> Report:
    world = await build_world(api)
    loop = asyncio.get_running_loop()
    return await asyncio.to_thread(fuzz, api, loop, world, max_examples=max_examples, negative=negative)


def _describe(report: Report) -> str:
    return "\n\n".join(
        f"[{f.identity}] {f.method} {f.path} -> {f.status}: {f.check}\n  {f.request}\n  {f.detail}"
        for f in report.findings.values()
    )


# SQLite only: the run takes ~30 s per backend on two cores; the database is not what
# is fuzzed here (both backends run every regression test below).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_fuzz_every_operation(api: Api) -> None:
    report = await run_fuzz(api, max_examples=10)
    assert report.operations > 90, report.summary()
    assert not report.findings, f"{len(report.findings)} findings:\n" + _describe(report)


# Regressions for what the fuzzer found (see the module docstring of bench/fuzz.py).


async def test_ids_beyond_the_database_range_are_invalid_requests(api: Api, make: Factory) -> None:
    """Found: an id over 2**63 in these paths and queries reached the database and
    crashed (500) on both backends."""
    user = await make.user()
    huge = 2**70
    png = {"file": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")}
    for method, url, extra in [
        ("DELETE", f"/api/v1/sessions/{huge}", {}),
        ("POST", f"/api/v1/chats/{huge}/files", {"files": png}),
        ("PUT", f"/api/v1/orgs/{huge}/logo", {"files": png}),
        ("GET", f"/api/v1/users/{huge}", {}),
        ("GET", f"/api/v1/chats/{huge}", {}),
        ("DELETE", f"/api/v1/chats/{huge}/members/1", {}),
        ("GET", f"/api/v1/chats/1/messages/{huge}", {}),
        ("DELETE", f"/api/v1/chats/{huge}/messages/1/pin", {}),
        ("GET", f"/api/v1/chats/1/messages/{huge}/readers", {}),
        ("GET", f"/api/v1/chats/1/messages?before={huge}", {}),
        ("GET", f"/api/v1/sync?since={huge}", {}),
        ("GET", f"/api/v1/search?q=a&before={huge}", {}),
    ]:
        response = await api.as_(user).request(method, url, **extra)
        assert response.status_code == 400, (url, response.text)
        assert error_code(response) == "invalid_request"


async def test_creating_a_direct_chat_answers_a_documented_201(api: Api, make: Factory) -> None:
    """Found: POST /chats/direct answers 201 on creation, but documented only 200."""
    anna, boris = await make.users(2)
    response = await api.as_(anna).post("/api/v1/chats/direct", json={"user_id": boris.id})
    assert response.status_code == 201
    document = (await api.get("/api/v1/openapi.json")).json()
    assert "201" in document["paths"]["/api/v1/chats/direct"]["post"]["responses"]


async def test_downloads_document_the_type_they_are_sent_with(api: Api) -> None:
    """Found: a PNG was sent as image/png (thumbnails as image/jpeg), but the document
    named only application/octet-stream."""
    paths = (await api.get("/api/v1/openapi.json")).json()["paths"]
    assert set(paths["/api/v1/files/{file_id}"]["get"]["responses"]["200"]["content"]) == {"*/*"}
    assert set(paths["/api/v1/files/{file_id}/thumbnail"]["get"]["responses"]["200"]["content"]) == {
        "image/jpeg"
    }


async def test_a_retried_message_answers_a_documented_200(api: Api, make: Factory) -> None:
    """Found: a retry with the same client_msg_id answers 200, documented only 201."""
    anna, boris = await make.users(2)
    chat = await make.chat(anna, [boris])
    body = {"text": "Повтор", "client_msg_id": "retry-1"}
    first = await api.as_(anna).post(f"/api/v1/chats/{chat['id']}/messages", json=body)
    again = await api.as_(anna).post(f"/api/v1/chats/{chat['id']}/messages", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    document = (await api.get("/api/v1/openapi.json")).json()
    assert "200" in document["paths"]["/api/v1/chats/{chat_id}/messages"]["post"]["responses"]


async def test_a_repeated_report_answers_a_documented_200(api: Api, make: Factory) -> None:
    """Found (bench/fuzz.py): reporting an open report again answers 200, documented only 201."""
    anna, boris = await make.users(2)
    chat = await make.chat(anna, [boris])
    message = await make.message(boris, chat["id"], "Грубость")
    body = {"reason": "abuse", "message_id": message["id"]}
    first = await api.as_(anna).post("/api/v1/reports", json=body)
    again = await api.as_(anna).post("/api/v1/reports", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    document = (await api.get("/api/v1/openapi.json")).json()
    assert "200" in document["paths"]["/api/v1/reports"]["post"]["responses"]
