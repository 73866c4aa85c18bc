"""A long API fuzzing run: ``tests/test_api_fuzz.py`` with many more examples.

    .venv/bin/python -m bench.fuzz --examples 200 [--no-negative]

Runs the app in-process on a fresh SQLite database, fuzzes every operation of the
OpenAPI document as anonymous, an ordinary user and an org admin, and prints a JSON
summary (operations, requests, statuses, findings). Exit status 1 if anything was found.

Defects found so far (each has a regression test in tests/test_api_fuzz.py):
- Ids above the database's integer range crashed the query (500) in
  ``DELETE /sessions/{session_id}``, ``POST /chats/{chat_id}/files``,
  ``PUT /orgs/{org_id}/logo`` and every ``/chats/{chat_id}/members|messages/...``
  route, ``GET /users/{user_id}``, and the ``before``/``after``/``since``/``chat_id``
  queries of messages, sync and search: they are now bounded like all other ids
  (400 ``invalid_request``).
- ``POST /chats/direct`` answers 201 on creation, documented only 200.
- ``POST /chats/{chat_id}/messages`` answers 200 to a retry, documented only 201.
- ``POST /reports`` answers 200 when the same report is still open, documented only 201.
- ``GET /files/{file_id}`` (and its thumbnail) is sent with the file's own type, but
  documented as application/octet-stream only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from parta.db.migrate import upgrade
from tests.client import Api
from tests.test_api_fuzz import run_fuzz


async def _run(data_dir: Path, examples: int, negative: bool) -> dict[str, object]:
    url = f"sqlite+aiosqlite:///{data_dir / 'parta.db'}"
    async with Api.start(database_url=url, data_dir=data_dir) as api:
        started = time.monotonic()
        report = await run_fuzz(api, max_examples=examples, negative=negative)
        summary = report.summary()
        summary["seconds"] = round(time.monotonic() - started, 1)
        summary["examples_per_operation"] = examples
        return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per operation and mode")
    parser.add_argument("--no-negative", action="store_true", help="only schema-valid requests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parta-fuzz-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        # Alembic runs its own event loop: migrate before ours starts.
        upgrade(f"sqlite:///{data_dir / 'parta.db'}")
        summary = asyncio.run(_run(data_dir, args.examples, not args.no_negative))
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 1 if summary["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
