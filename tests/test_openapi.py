"""The OpenAPI document is part of the contract: every route and error code is in it."""

from __future__ import annotations

from parta.errors import ErrorCode
from tests.client import Api

CONTRACT = {
    ("post", "/api/v1/auth/code"),
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/me"),
    ("patch", "/api/v1/me"),
    ("get", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions/{session_id}"),
    ("post", "/api/v1/chats"),
    ("post", "/api/v1/chats/direct"),
    ("get", "/api/v1/chats"),
    ("get", "/api/v1/chats/{chat_id}"),
    ("post", "/api/v1/chats/{chat_id}/members"),
    ("delete", "/api/v1/chats/{chat_id}/members/{user_id}"),
    ("post", "/api/v1/chats/{chat_id}/messages"),
    ("get", "/api/v1/chats/{chat_id}/messages"),
    ("patch", "/api/v1/chats/{chat_id}/messages/{message_id}"),
    ("delete", "/api/v1/chats/{chat_id}/messages/{message_id}"),
    ("post", "/api/v1/chats/{chat_id}/read"),
    ("get", "/api/v1/search"),
    ("get", "/api/v1/sync"),
}
# Not tied to one route: unknown URLs.
GENERIC = {ErrorCode.not_found}


async def test_contract_routes_are_documented_with_their_errors(api: Api) -> None:
    response = await api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    operations = {(m, p) for p, ops in paths.items() for m in ops}
    assert CONTRACT <= operations
    listed: set[str] = set()
    for path, ops in paths.items():
        for method, operation in ops.items():
            if path == "/api/v1/health":
                continue
            errors = {s: r for s, r in operation["responses"].items() if s.startswith(("4", "5"))}
            assert errors, f"{method} {path} documents no errors"
            for body in errors.values():
                assert body["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
                listed.update(c.strip("`") for c in body["description"].split(": ", 1)[1].split(", "))
    assert {c.value for c in ErrorCode} - {c.value for c in GENERIC} <= listed


async def test_unknown_route_and_method_get_error_bodies(api: Api) -> None:
    missing = await api.get("/api/v1/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = await api.request("PUT", "/api/v1/chats")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "invalid_request"
