"""The school-morning load benchmark (``bench/load.py``) at toy size, so that it cannot
rot: 20 people on SQLite, one real ``parta serve`` process, a few seconds of their
first morning (students and parents sign in for the first time).
The full run is for docs/performance.md; this proves that the scenario still works
end to end and that its checks hold."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from bench import load
from bench.server import Cluster, running_server

ARGS = [
    *("--backend", "sqlite", "--users", "20", "--classes", "2", "--teachers", "2", "--history", "2"),
    *("--ramp", "2", "--think", "0.1", "--ws-fraction", "1", "--teacher-post", "1"),
    *("--parent-reply", "0.5", "--student-post", "0.5", "--reaction", "0.5", "--cost-samples", "2"),
    # A code may be resent 60 s after the last one by default: the teachers' sign-in
    # while seeding and the morning's would make the test wait a minute.
    *("--code-resend-seconds", "1"),
]


async def test_a_small_school_morning_has_no_errors_and_every_live_member_gets_every_message(
    sqlite_template: Path, tmp_path: Path
) -> None:
    args, cfg = load.parse_args(ARGS)
    database = tmp_path / "parta.db"
    shutil.copy(sqlite_template, database)  # already migrated: the server starts sooner
    async with running_server(
        "sqlite",
        database_url=f"sqlite:///{database}",
        version=sqlite3.sqlite_version,
        env_extra=load.server_env(cfg),
        keep=False,
        upgrade=False,
    ) as server:
        result = await load.run(cfg, args.pg_admin_url, False, busy_probe_s=0, cluster=Cluster([server]))

    morning = result["morning"]
    # Everyone signed in (the students and parents for the first time), opened their
    # chats and wrote without a single refusal (a 429 included) or server error.
    assert morning["signed_in"] == 20
    assert morning["new_accounts"] == 18
    assert morning["errors"] == 0, morning["error_examples"]
    assert result["server_log"]["tracebacks"] == 0, result["server_log"]
    for kind in ("auth.code", "auth.token", "chats.list", "messages.page", "chats.read", "messages.send"):
        assert morning["kinds"][kind]["n"] > 0, kind
    # Everyone is connected, so each message has at least its sender to reach; each
    # reached every member of its chat who was connected when it was sent, once.
    ws = morning["websocket"]
    assert ws["messages_sent"] > 0
    assert ws["expected_deliveries"] >= ws["messages_sent"]
    assert ws["delivered"] == ws["expected_deliveries"]
    assert ws["lost"] == 0
    assert ws["duplicates"] == 0
    # The cost phase after the morning ran every kind of request without an error.
    costs = morning["cost_per_request_alone"]
    assert {k for k in costs if k != "people"} >= {"auth.code", "messages.send", "ws.connect"}, costs
    assert all(v["errors"] == 0 for k, v in costs.items() if k != "people"), costs
