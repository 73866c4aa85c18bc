"""Who read my message: the list behind "прочитали 2 из 3", for the author only."""

from __future__ import annotations

from tests.client import Api, Factory, error_code


async def test_author_sees_who_read_their_message(api: Api, make: Factory) -> None:
    teacher, parent, other_parent, outsider = await make.users(4)
    chat = await make.chat(teacher, [parent, other_parent])
    first = await make.message(teacher, chat["id"], "Собрание в четверг")
    second = await make.message(teacher, chat["id"], "Не забудьте сменную обувь")
    await api.as_(parent).post(f"/api/v1/chats/{chat['id']}/read", json={"message_id": second["id"]})
    await api.as_(other_parent).post(f"/api/v1/chats/{chat['id']}/read", json={"message_id": first["id"]})

    def url(message: dict[str, object]) -> str:
        return f"/api/v1/chats/{chat['id']}/messages/{message['id']}/readers"

    read_first = (await api.as_(teacher).get(url(first))).json()["readers"]
    assert sorted(r["id"] for r in read_first) == sorted([parent.id, other_parent.id])
    assert "phone" not in read_first[0]
    assert [r["id"] for r in (await api.as_(teacher).get(url(second))).json()["readers"]] == [parent.id]

    # Not the author: a member learns nothing about who reads whom.
    refused = await api.as_(parent).get(url(first))
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    # Outside the chat, or a message that is not there: as if nothing existed.
    hidden = await api.as_(outsider).get(url(first))
    assert hidden.status_code == 404 and error_code(hidden) == "chat_not_found"
    missing = await api.as_(teacher).get(f"/api/v1/chats/{chat['id']}/messages/999999/readers")
    assert missing.status_code == 404 and error_code(missing) == "message_not_found"
