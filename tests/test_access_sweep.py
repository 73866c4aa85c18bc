"""Every route that names a chat, message or file, called by someone who must not see it.

The routes are read from the OpenAPI document, so a new route is swept automatically
(and fails here until it is given a sample body). An outsider must get exactly what
they would get for an id that does not exist: the same 404 code, so ids cannot be probed.
"""

from __future__ import annotations

import re
from typing import Any

from tests.client import Api, Factory, error_code

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)

# A valid body per route, so that the request reaches the access check.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("patch", "/api/v1/chats/{chat_id}"): {"json": {"title": "Захват"}},
    ("post", "/api/v1/chats/{chat_id}/members"): {"json": {"user_ids": ["{outsider}"]}},
    ("patch", "/api/v1/chats/{chat_id}/members/{user_id}"): {"json": {"role": "admin"}},
    ("post", "/api/v1/chats/{chat_id}/messages"): {"json": {"text": "x", "client_msg_id": "sweep"}},
    ("patch", "/api/v1/chats/{chat_id}/messages/{message_id}"): {"json": {"text": "взлом"}},
    ("post", "/api/v1/chats/{chat_id}/messages/{message_id}/reactions"): {"json": {"emoji": "👍"}},
    ("delete", "/api/v1/chats/{chat_id}/messages/{message_id}/reactions"): {"params": {"emoji": "👍"}},
    ("post", "/api/v1/chats/{chat_id}/read"): {"json": {"message_id": "{message_id}"}},
    ("post", "/api/v1/chats/{chat_id}/files"): {"files": {"file": ("a.png", PNG, "image/png")}},
    ("post", "/api/v1/chats/{chat_id}/invites"): {"json": {}},
    ("put", "/api/v1/chats/{chat_id}/archive"): {"json": {}},
}
NOT_FOUND = {"chat_not_found", "message_not_found", "file_not_found", "invite_not_found", "user_not_found"}


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def test_outsider_gets_the_same_404_as_for_a_missing_id(api: Api, make: Factory) -> None:
    teacher, parent, outsider = await make.users(3)
    chat = await make.chat(teacher, [parent])
    msg = await make.message(teacher, chat["id"], "Только для класса")
    real = {
        "chat_id": chat["id"],
        "message_id": msg["id"],
        "user_id": parent.id,
        "outsider": outsider.id,
        "invite_id": 1,
    }
    missing = real | {"chat_id": 10**9, "message_id": 10**9 + 1}
    paths = (await api.get("/api/v1/openapi.json")).json()["paths"]
    swept = 0
    for template, operations in paths.items():
        if "{chat_id}" not in template or "{org_id}" in template:
            continue  # org routes (migrated chats) are swept by test_org_access_sweep
        for method in operations:
            sample = BODIES.get((method, template), {})
            answers = []
            for ids in (real, missing):
                url = template.format(**ids)
                response = await api.as_(outsider).request(method.upper(), url, **_fill(sample, ids))
                answers.append((response.status_code, error_code(response)))
            assert answers[0] == answers[1], (method, template, answers)
            assert answers[0][0] == 404 and answers[0][1] in NOT_FOUND, (method, template, answers)
            swept += 1
    assert swept >= 15
    # Nothing the outsider tried changed anything.
    seen = (await api.as_(parent).get(f"/api/v1/chats/{chat['id']}/messages")).json()["messages"]
    assert [(m["id"], m["text"]) for m in seen] == [(msg["id"], "Только для класса")]
    assert "reactions" not in seen[0] and "is_pinned" not in seen[0]
    chat_now = (await api.as_(teacher).get(f"/api/v1/chats/{chat['id']}")).json()
    assert chat_now["title"] == chat["title"] and chat_now["member_count"] == 2
