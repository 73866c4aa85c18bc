"""Delivery under failure, through a real server process (SQLite and PostgreSQL).

What must hold however the link or the server fails: every acknowledged message is
stored exactly once, and every receiver ends with exactly the stored history, in
order, without duplicates or gaps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parta.client import Backoff, Json, PartaClient
from tests.chaos_proxy import Chaos, ChaosProxy
from tests.servers import Receiver, ServerProcess, running_server, wait_for

# Senders keep retrying for as long as a test may reasonably take; receivers reconnect forever.
PERSISTENT = Backoff(base=0.05, cap=1.0, attempts=None, deadline=90.0)
FLAKY = Chaos(
    drop_per_chunk=0.08,
    stall_per_chunk=0.05,
    drop_per_second=0.3,
    stall_per_second=0.3,
    stall_seconds=(0.05, 0.8),
)


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    async with running_server(database_url, tmp_path / "server") as running:
        yield running


async def group_with_members(server: ServerProcess, count: int) -> tuple[int, list[str]]:
    """A group chat of ``count`` people; returns its id and their tokens (the owner first)."""
    people = [await server.sign_up(f"+7912555{i:04d}", f"Ученик{i}") for i in range(count)]
    async with PartaClient(server.base_url, token=people[0][1]) as owner:
        chat = await owner.create_chat("group", "5А", [uid for uid, _ in people[1:]])
    return int(chat["id"]), [token for _, token in people]


async def stored_history(server: ServerProcess, token: str, chat_id: int) -> list[Json]:
    """The whole history, read directly from the server (never through the proxy)."""
    async with PartaClient(server.base_url, token=token) as client:
        messages: list[Json] = []
        while True:
            page = await client.history(chat_id, after=messages[-1]["id"] if messages else 0, limit=200)
            messages.extend(page["messages"])
            if not page["has_more"]:
                return messages


async def send_burst(client: PartaClient, chat_id: int, keys: range, acked: list[int]) -> None:
    """Sends one after another, each retried until acknowledged."""
    for i in keys:
        sent = await client.send_message(chat_id, f"сообщение {i}", client_msg_id=f"m{i}")
        acked.append(int(sent["id"]))


def assert_exactly_once(acked: list[int], history: list[Json], *receivers: list[int]) -> None:
    ids = [int(m["id"]) for m in history]
    assert ids == sorted(set(ids)), "history out of order or duplicated"
    client_msg_ids = [m["client_msg_id"] for m in history]
    assert len(client_msg_ids) == len(set(client_msg_ids)), "a retried send was stored twice"
    assert sorted(acked) == ids, "acknowledged and stored messages differ"
    for received in receivers:
        assert received == ids, "a receiver missed, repeated or reordered messages"


async def test_flaky_link_delivers_every_message_exactly_once(server: ServerProcess) -> None:
    chat_id, (sender_token, *receiver_tokens) = await group_with_members(server, 3)
    async with ChaosProxy(server.port, FLAKY, seed=20240901) as proxy:
        receivers = [
            Receiver(PartaClient(proxy.base_url, token=t, timeout=2.0, ping_interval=3.0), since=0)
            for t in receiver_tokens
        ]
        acked: list[int] = []
        async with PartaClient(proxy.base_url, token=sender_token, timeout=2.0, backoff=PERSISTENT) as sender:
            await send_burst(sender, chat_id, range(60), acked)
        proxy.calm()
        for receiver in receivers:
            await receiver.wait_for(lambda r: len(r.message_ids(chat_id)) >= len(acked), "all messages")
            await receiver.stop()
        assert proxy.stats.drops > 0 and proxy.stats.stalls > 0, "the link was not flaky at all"
    history = await stored_history(server, sender_token, chat_id)
    assert acked == sorted(acked), "one sender, one message at a time: acknowledged in order"
    assert_exactly_once(acked, history, *(r.message_ids(chat_id) for r in receivers))


async def kill_and_restart_at(server: ServerProcess, acked: list[int], marks: list[int]) -> None:
    for mark in marks:
        await wait_for(lambda: len(acked) >= mark, what=f"{mark} acknowledged sends", guard=90)  # noqa: B023
        await server.restart()


async def test_killed_server_loses_and_duplicates_nothing(server: ServerProcess) -> None:
    chat_id, (sender_token, live_token, late_token) = await group_with_members(server, 3)
    live = Receiver(PartaClient(server.base_url, token=live_token), since=0)
    acked: list[int] = []
    async with PartaClient(server.base_url, token=sender_token, backoff=PERSISTENT) as sender:
        killer = asyncio.create_task(kill_and_restart_at(server, acked, [30, 70]))
        # Four sends in flight at a time, so a kill likely lands between a commit and its answer.
        await asyncio.gather(*(send_burst(sender, chat_id, range(k, 100, 4), acked) for k in range(4)))
        await killer
    await live.wait_for(lambda r: len(r.message_ids(chat_id)) >= len(acked), "all messages")
    await live.stop()
    async with PartaClient(server.base_url, token=late_token) as late:
        events, _ = await late.sync(0)
    late_ids = [e["data"]["message"]["id"] for e in events if e["type"] == "message.created"]
    history = await stored_history(server, sender_token, chat_id)
    assert_exactly_once(acked, history, live.message_ids(chat_id), late_ids)
