from tests.client import Api, Factory


async def test_two_users_chat_and_sync(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    since = await api.as_(boris).last_event_id()
    chat = await make.chat(anna, [boris])
    msg = await make.message(anna, chat["id"], "Учебники принесите завтра")
    events = await api.as_(boris).sync(since)
    assert [e["type"] for e in events] == ["chat.created", "message.created"]
    assert events[1]["data"]["message"]["text"] == "Учебники принесите завтра"
    found = await api.as_(boris).get("/api/v1/search", params={"q": "учебник"})
    assert [m["id"] for m in found.json()["messages"]] == [msg["id"]]
