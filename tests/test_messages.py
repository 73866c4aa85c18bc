"""Messages through the API: send, idempotency, replies, forwards, edits, deletes,
reactions, pins, read state and history paging."""

from __future__ import annotations

import pytest

from tests.client import Api, Factory, TestUser, error_code


async def _class(make: Factory) -> tuple[TestUser, TestUser, TestUser, dict[str, object]]:
    teacher, parent, outsider = await make.users(3)
    chat = await make.chat(teacher, [parent])
    return teacher, parent, outsider, chat


async def test_send_is_idempotent_per_client_msg_id(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    url = f"/api/v1/chats/{chat['id']}/messages"
    body = {"text": "Собрание в 18:00", "client_msg_id": "c-1"}
    first = await api.as_(teacher).post(url, json=body)
    retry = await api.as_(teacher).post(url, json=body | {"text": "другой текст"})
    assert first.status_code == 201 and retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"] and retry.json()["text"] == "Собрание в 18:00"
    # The same client id from another sender is another message.
    other = await api.as_(parent).post(url, json={"text": "Ок", "client_msg_id": "c-1"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    history = (await api.as_(parent).get(url)).json()["messages"]
    assert [m["text"] for m in history] == ["Собрание в 18:00", "Ок"]


async def test_client_msg_id_reused_in_another_chat_is_a_conflict(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    other_chat = await make.chat(teacher, [parent], title="Другой")
    await api.as_(teacher).post(
        f"/api/v1/chats/{chat['id']}/messages", json={"text": "a", "client_msg_id": "x"}
    )
    clash = await api.as_(teacher).post(
        f"/api/v1/chats/{other_chat['id']}/messages", json={"text": "b", "client_msg_id": "x"}
    )
    assert clash.status_code == 409 and error_code(clash) == "conflict"
    assert (await api.as_(teacher).get(f"/api/v1/chats/{other_chat['id']}/messages")).json()["messages"] == []


async def test_outsider_cannot_read_or_write(api: Api, make: Factory) -> None:
    teacher, _, outsider, chat = await _class(make)
    msg = await make.message(teacher, chat["id"])
    base = f"/api/v1/chats/{chat['id']}"
    attempts = [
        ("GET", f"{base}/messages", None),
        ("POST", f"{base}/messages", {"text": "hi", "client_msg_id": "o1"}),
        ("GET", f"{base}/messages/{msg['id']}", None),
        ("PATCH", f"{base}/messages/{msg['id']}", {"text": "взлом"}),
        ("DELETE", f"{base}/messages/{msg['id']}", None),
        ("POST", f"{base}/messages/{msg['id']}/reactions", {"emoji": "👍"}),
        ("POST", f"{base}/messages/{msg['id']}/pin", None),
        ("GET", f"{base}/pins", None),
        ("POST", f"{base}/read", {"message_id": msg["id"]}),
    ]
    for method, url, body in attempts:
        response = await api.as_(outsider).request(method, url, json=body)
        assert response.status_code == 404, (method, url)
        assert error_code(response) == "chat_not_found"
    stored = (await api.as_(teacher).get(f"{base}/messages/{msg['id']}")).json()
    assert stored["text"] == msg["text"] and "reactions" not in stored and "is_pinned" not in stored


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"text": "я" * 4001, "client_msg_id": "a"}, "text_too_long", "text"),
        ({"text": "   ", "client_msg_id": "a"}, "message_empty", "text"),
        ({"text": "ok"}, "invalid_request", "client_msg_id"),
        ({"text": "ok", "client_msg_id": ""}, "invalid_request", "client_msg_id"),
        ({"text": "ok", "client_msg_id": "x" * 65}, "invalid_request", "client_msg_id"),
        ({"text": ["ok"], "client_msg_id": "a"}, "invalid_request", "text"),
        ({"text": "ok", "client_msg_id": "a", "reply_to": "abc"}, "invalid_request", "reply_to"),
        ({"text": "x" * 200_000, "client_msg_id": "a"}, "invalid_request", "text"),
    ],
)
async def test_bad_messages_get_clear_errors_and_store_nothing(
    api: Api, make: Factory, body: dict[str, object], code: str, field: str
) -> None:
    teacher, _, _, chat = await _class(make)
    kept = await make.message(teacher, chat["id"], "Было до ошибки")
    url = f"/api/v1/chats/{chat['id']}/messages"
    response = await api.as_(teacher).post(url, json=body)
    assert response.status_code == 400
    assert error_code(response) == code and response.json()["error"]["field"] == field
    assert [m["id"] for m in (await api.as_(teacher).get(url)).json()["messages"]] == [kept["id"]]


async def test_text_of_exactly_4000_characters_is_accepted(api: Api, make: Factory) -> None:
    teacher, _, _, chat = await _class(make)
    msg = await make.message(teacher, chat["id"], "ж" * 4000)
    assert len(msg["text"]) == 4000


async def test_malformed_json_is_a_clear_error(api: Api, make: Factory) -> None:
    teacher, _, _, chat = await _class(make)
    response = await api.as_(teacher).post(
        f"/api/v1/chats/{chat['id']}/messages",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and error_code(response) == "invalid_request"


async def test_reply_must_point_into_the_same_chat(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    other = await make.chat(teacher, [], title="Учителя")
    foreign = await make.message(teacher, other["id"], "чужое")
    question = await make.message(parent, chat["id"], "Когда собрание?")
    answer = await make.message(teacher, chat["id"], "В среду", reply_to=question["id"])
    assert answer["reply_to"] == question["id"]
    url = f"/api/v1/chats/{chat['id']}/messages"
    bad = await api.as_(teacher).post(
        url, json={"text": "x", "client_msg_id": "r", "reply_to": foreign["id"]}
    )
    assert bad.status_code == 404 and error_code(bad) == "message_not_found"


async def test_forward_keeps_original_author_and_needs_access(api: Api, make: Factory) -> None:
    teacher, parent, outsider, chat = await _class(make)
    staff = await make.chat(teacher, [], title="Учительская")
    original = await make.message(parent, chat["id"], "Справка приложена")
    forward = {"client_msg_id": "f1", "forward_from": {"chat_id": chat["id"], "message_id": original["id"]}}
    sent = await api.as_(teacher).post(f"/api/v1/chats/{staff['id']}/messages", json=forward)
    assert sent.status_code == 201
    assert sent.json()["text"] == "Справка приложена"
    assert sent.json()["forward_from_user_id"] == parent.id and sent.json()["sender_id"] == teacher.id

    own = await make.chat(outsider, [], title="Мой")
    stolen = await api.as_(outsider).post(
        f"/api/v1/chats/{own['id']}/messages", json=forward | {"client_msg_id": "f2"}
    )
    assert stolen.status_code == 404 and error_code(stolen) == "chat_not_found"


async def test_edit_marks_edited_and_only_author_may(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    msg = await make.message(teacher, chat["id"], "Сбор в 8:00")
    since = await api.as_(parent).last_event_id()
    url = f"/api/v1/chats/{chat['id']}/messages/{msg['id']}"
    denied = await api.as_(parent).patch(url, json={"text": "Отмена"})
    assert denied.status_code == 403 and error_code(denied) == "forbidden"
    edited = await api.as_(teacher).patch(url, json={"text": "Сбор в 8:30"})
    assert edited.status_code == 200 and edited.json()["is_edited"] is True
    too_long = await api.as_(teacher).patch(url, json={"text": "я" * 4001})
    assert too_long.status_code == 400 and error_code(too_long) == "text_too_long"
    seen = (await api.as_(parent).get(url)).json()
    assert seen["text"] == "Сбор в 8:30" and seen["is_edited"] is True
    events = await api.as_(parent).sync(since)
    assert [e["type"] for e in events] == ["message.edited"]
    # The log never shows the old text, not even in the original message.created.
    full = await api.as_(parent).get("/api/v1/sync", params={"since": 0})
    assert "Сбор в 8:00" not in full.text


async def test_delete_erases_text_for_everyone(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    msg = await make.message(parent, chat["id"], "Мой телефон 8-912-000-00-00")
    since = await api.as_(teacher).last_event_id()
    url = f"/api/v1/chats/{chat['id']}/messages/{msg['id']}"
    assert (await api.as_(parent).delete(url)).status_code == 204
    assert (await api.as_(parent).delete(url)).status_code == 204  # idempotent
    seen = (await api.as_(teacher).get(url)).json()
    assert seen["is_deleted"] is True and "text" not in seen
    assert [e["type"] for e in await api.as_(teacher).sync(since)] == ["message.deleted"]
    everything = await api.as_(teacher).get("/api/v1/sync", params={"since": 0})
    assert "912-000" not in everything.text
    found = await api.as_(teacher).get("/api/v1/search", params={"q": "телефон"})
    assert found.json()["messages"] == []
    edit = await api.as_(parent).patch(url, json={"text": "снова"})
    assert edit.status_code == 403


async def test_admins_moderate_but_members_cannot_delete_others(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    by_teacher = await make.message(teacher, chat["id"], "Важно")
    by_parent = await make.message(parent, chat["id"], "Спам")
    denied = await api.as_(parent).delete(f"/api/v1/chats/{chat['id']}/messages/{by_teacher['id']}")
    assert denied.status_code == 403
    moderated = await api.as_(teacher).delete(f"/api/v1/chats/{chat['id']}/messages/{by_parent['id']}")
    assert moderated.status_code == 204


async def test_reactions_from_fixed_set_with_events(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    msg = await make.message(teacher, chat["id"], "Экскурсия в пятницу")
    since = await api.as_(teacher).last_event_id()
    url = f"/api/v1/chats/{chat['id']}/messages/{msg['id']}/reactions"
    assert (await api.as_(parent).post(url, json={"emoji": "👍"})).status_code == 200
    again = await api.as_(parent).post(url, json={"emoji": "👍"})
    assert again.json()["reactions"] == {"👍": [parent.id]}
    await api.as_(teacher).post(url, json={"emoji": "👍"})
    bad = await api.as_(parent).post(url, json={"emoji": "🍺"})
    assert bad.status_code == 400 and error_code(bad) == "invalid_reaction"
    removed = await api.as_(parent).delete(url, params={"emoji": "👍"})
    assert removed.json()["reactions"] == {"👍": [teacher.id]}
    events = await api.as_(teacher).sync(since)
    assert [(e["type"], e["data"]["user_id"]) for e in events] == [
        ("reaction.added", parent.id),
        ("reaction.added", teacher.id),
        ("reaction.removed", parent.id),
    ]
    assert events[-1]["data"]["message"]["reactions"] == {"👍": [teacher.id]}


async def test_pins_by_admins_in_groups(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    msg = await make.message(teacher, chat["id"], "Расписание на четверть")
    url = f"/api/v1/chats/{chat['id']}/messages/{msg['id']}/pin"
    denied = await api.as_(parent).post(url)
    assert denied.status_code == 403
    assert (await api.as_(teacher).post(url)).json()["is_pinned"] is True
    pins = (await api.as_(parent).get(f"/api/v1/chats/{chat['id']}/pins")).json()["messages"]
    assert [m["id"] for m in pins] == [msg["id"]]
    await api.as_(teacher).delete(url)
    assert (await api.as_(parent).get(f"/api/v1/chats/{chat['id']}/pins")).json()["messages"] == []


async def test_read_state_unread_counts_and_read_by(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    second_parent = await make.user()
    await api.as_(teacher).post(f"/api/v1/chats/{chat['id']}/members", json={"user_ids": [second_parent.id]})
    m1 = await make.message(teacher, chat["id"], "Первое")
    m2 = await make.message(teacher, chat["id"], "Второе")
    chats = (await api.as_(parent).get("/api/v1/chats")).json()["chats"]
    assert chats[0]["unread_count"] == 2

    read_url = f"/api/v1/chats/{chat['id']}/read"
    since = await api.as_(teacher).last_event_id()
    assert (await api.as_(parent).post(read_url, json={"message_id": m2["id"]})).json() == {
        "last_read_message_id": m2["id"]
    }
    # A late marker from another device does not move the pointer back.
    assert (await api.as_(parent).post(read_url, json={"message_id": m1["id"]})).json()[
        "last_read_message_id"
    ] == m2["id"]
    assert (await api.as_(parent).get("/api/v1/chats")).json()["chats"][0]["unread_count"] == 0

    history = (await api.as_(teacher).get(f"/api/v1/chats/{chat['id']}/messages")).json()["messages"]
    assert [(m["id"], m["read_by"]) for m in history] == [(m1["id"], 1), (m2["id"], 1)]
    assert (await api.as_(teacher).get(f"/api/v1/chats/{chat['id']}")).json()["member_count"] == 3
    events = await api.as_(teacher).sync(since)
    assert [(e["type"], e["data"]["user_id"], e["data"]["message_id"]) for e in events] == [
        ("chat.read", parent.id, m2["id"])
    ]
    bad = await api.as_(parent).post(read_url, json={"message_id": 999999})
    assert bad.status_code == 404 and error_code(bad) == "message_not_found"


async def test_history_pages_by_cursor(api: Api, make: Factory) -> None:
    teacher, parent, _, chat = await _class(make)
    ids = [(await make.message(teacher, chat["id"], f"m{i}"))["id"] for i in range(7)]
    url = f"/api/v1/chats/{chat['id']}/messages"
    newest = (await api.as_(parent).get(url, params={"limit": 3})).json()
    assert [m["id"] for m in newest["messages"]] == ids[4:] and newest["has_more"] is True
    older = (await api.as_(parent).get(url, params={"limit": 3, "before": ids[4]})).json()
    assert [m["id"] for m in older["messages"]] == ids[1:4] and older["has_more"] is True
    oldest = (await api.as_(parent).get(url, params={"limit": 3, "before": ids[1]})).json()
    assert [m["id"] for m in oldest["messages"]] == ids[:1] and oldest["has_more"] is False
    after = (await api.as_(parent).get(url, params={"limit": 4, "after": ids[1]})).json()
    assert [m["id"] for m in after["messages"]] == ids[2:6] and after["has_more"] is True
    for bad in ({"limit": 0}, {"limit": 201}, {"before": "x"}, {"after": -1}):
        response = await api.as_(parent).get(url, params=bad)
        assert response.status_code == 400 and error_code(response) == "invalid_request"


async def test_mentions_keep_only_chat_members(api: Api, make: Factory) -> None:
    teacher, parent, outsider, chat = await _class(make)
    msg = await make.message(teacher, chat["id"], "@Анна посмотрите", mention_ids=[parent.id, outsider.id])
    assert msg["mention_ids"] == [parent.id]


@pytest.mark.parametrize("text", ["null\x00byte", "bell\x07"])
async def test_control_characters_are_refused_not_stored(api: Api, make: Factory, text: str) -> None:
    teacher, _, _, chat = await _class(make)
    url = f"/api/v1/chats/{chat['id']}/messages"
    response = await api.as_(teacher).post(url, json={"text": text, "client_msg_id": "ctl"})
    assert response.status_code == 400 and response.json()["error"]["field"] == "text"
    ok = await api.as_(teacher).post(url, json={"text": "строка 1\nстрока 2\tтаб", "client_msg_id": "ok"})
    assert ok.status_code == 201 and ok.json()["text"] == "строка 1\nстрока 2\tтаб"
    title = await api.as_(teacher).patch(f"/api/v1/chats/{chat['id']}", json={"title": "5\x00А"})
    assert title.status_code == 400 and title.json()["error"]["field"] == "title"
