"""The event log as clients see it through GET /api/v1/sync."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from parta import clock
from tests.client import Api, Factory, TestUser


async def test_sync_pages_in_order_without_gaps(api: Api, make: Factory) -> None:
    teacher, parent = await make.users(2)
    chat = await make.chat(teacher, [parent])
    since = await api.as_(parent).last_event_id()
    sent = [(await make.message(teacher, chat["id"], f"n{i}"))["id"] for i in range(7)]
    seen: list[int] = []
    cursor, pages = since, 0
    while True:
        body = (await api.as_(parent).get("/api/v1/sync", params={"since": cursor, "limit": 3})).json()
        seen.extend(e["data"]["message"]["id"] for e in body["events"])
        ids = [e["id"] for e in body["events"]]
        assert ids == sorted(ids) and all(i > cursor for i in ids)
        cursor, pages = body["next"], pages + 1
        if not body["has_more"]:
            break
    assert seen == sent and pages == 3
    again = (await api.as_(parent).get("/api/v1/sync", params={"since": cursor})).json()
    assert again["events"] == [] and again["next"] == cursor


async def test_private_events_reach_only_their_user(api: Api, make: Factory) -> None:
    anna, boris = await make.users(2)
    await make.chat(anna, [boris])
    since = await api.as_(boris).last_event_id()
    await api.as_(anna).patch("/api/v1/me", json={"first_name": "Анна"})
    clock.travel(timedelta(seconds=61))  # past the resend interval for a second code
    second = await make.sign_in(anna.phone, device_name="планшет")
    sessions = (await api.as_(anna).get("/api/v1/sessions")).json()["sessions"]
    other = next(s for s in sessions if s["device_name"] == "планшет")
    await api.as_(anna).delete(f"/api/v1/sessions/{other['id']}")
    assert second["token"]
    boris_types = [e["type"] for e in await api.as_(boris).sync(since)]
    assert boris_types == ["user.updated"]  # through the shared chat, not anna's own scope
    anna_types = [e["type"] for e in await api.as_(anna).sync(since)]
    assert anna_types == ["user.updated", "user.updated", "session.revoked"]


async def test_new_member_does_not_see_events_from_before_joining(api: Api, make: Factory) -> None:
    teacher, parent, late = await make.users(3)
    chat = await make.chat(teacher, [parent])
    await make.message(teacher, chat["id"], "до")
    await api.as_(teacher).post(f"/api/v1/chats/{chat['id']}/members", json={"user_ids": [late.id]})
    await make.message(teacher, chat["id"], "после")
    events = await api.as_(late).sync(0)
    texts = [e["data"]["message"]["text"] for e in events if e["type"] == "message.created"]
    assert texts == ["после"]
    # History stays readable through the messages API.
    history = (await api.as_(late).get(f"/api/v1/chats/{chat['id']}/messages")).json()["messages"]
    assert [m["text"] for m in history] == ["до", "после"]


async def test_a_position_the_log_never_reached_gets_reset(api: Api, make: Factory) -> None:
    anna = await make.user()
    head = await api.as_(anna).last_event_id()
    body = (await api.as_(anna).get("/api/v1/sync", params={"since": head + 1000})).json()
    assert body["reset"] is True and body["events"] == [] and body["next"] == head


async def test_client_too_far_behind_is_told_to_refetch(database_url: str, tmp_path: Path) -> None:
    async with Api.start(database_url=database_url, data_dir=tmp_path / "d", sync_reset_after=5) as api:
        make = Factory(api)
        teacher, parent = await make.users(2)
        chat = await make.chat(teacher, [parent])
        since = await api.as_(parent).last_event_id()
        for i in range(6):
            await make.message(teacher, chat["id"], f"m{i}")
        body = (await api.as_(parent).get("/api/v1/sync", params={"since": since})).json()
        assert body["reset"] is True and body["events"] == []
        # After refetching state the client continues from `next` normally.
        await make.message(teacher, chat["id"], "свежее")
        fresh = (await api.as_(parent).get("/api/v1/sync", params={"since": body["next"]})).json()
        assert [e["data"]["message"]["text"] for e in fresh["events"]] == ["свежее"]


def _apply(state: dict[int, dict[str, Any]], event: dict[str, Any]) -> None:
    """A minimal client reducer: message events carry the message's current state."""
    if event["type"].startswith(("message.", "reaction.")):
        message = event["data"]["message"]
        state[message["id"]] = message


async def test_old_state_plus_events_equals_fresh_fetch(api: Api, make: Factory) -> None:
    teacher, parent = await make.users(2)
    chat = await make.chat(teacher, [parent])
    url = f"/api/v1/chats/{chat['id']}/messages"
    first = await make.message(teacher, chat["id"], "Домашнее задание: §5")
    since = await api.as_(parent).last_event_id()
    state = {m["id"]: m for m in (await api.as_(parent).get(url)).json()["messages"]}

    second = await make.message(parent, chat["id"], "Спасибо")
    await api.as_(teacher).patch(f"{url}/{first['id']}", json={"text": "Домашнее задание: §5, №3"})
    await api.as_(teacher).post(f"{url}/{second['id']}/reactions", json={"emoji": "❤️"})
    await api.as_(teacher).post(f"{url}/{first['id']}/pin")
    await api.as_(parent).delete(f"{url}/{second['id']}")
    for event in await api.as_(parent).sync(since):
        _apply(state, event)

    fresh = (await api.as_(parent).get(url)).json()["messages"]
    fresh_by_id = {m["id"]: {k: v for k, v in m.items() if k != "read_by"} for m in fresh}
    assert state == fresh_by_id


async def _reader(api: Api, user: TestUser, since: int, stop: asyncio.Event) -> list[int]:
    seen: list[int] = []
    while True:
        finished = stop.is_set()
        body = (await api.as_(user).get("/api/v1/sync", params={"since": since})).json()
        seen.extend(e["id"] for e in body["events"] if e["type"] == "message.created")
        since = body["next"]
        if finished and not body["has_more"]:
            return seen
        await asyncio.sleep(0)


async def test_concurrent_senders_never_make_a_reader_skip_an_event(api: Api, make: Factory) -> None:
    """Log ids become visible in order even when transactions commit concurrently."""
    teacher, parent, pupil = await make.users(3)
    chat = await make.chat(teacher, [parent, pupil])
    since = await api.as_(pupil).last_event_id()
    stop = asyncio.Event()
    reader = asyncio.create_task(_reader(api, pupil, since, stop))

    async def burst(user: TestUser) -> None:
        for i in range(15):
            await make.message(user, chat["id"], f"{user.id}-{i}")

    await asyncio.gather(burst(teacher), burst(parent))
    stop.set()
    seen = await reader
    everything = [e["id"] for e in await api.as_(pupil).sync(since) if e["type"] == "message.created"]
    assert len(everything) == 30
    assert seen == everything
