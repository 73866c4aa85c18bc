"""The web client is typed against web/openapi.json (TypeScript types generated from
it at build time). If the server's routes change without refreshing that file, the
client would compile against a stale API; this test makes that a failure."""

from __future__ import annotations

from pathlib import Path

from parta.openapi_dump import document

CONTRACT = Path(__file__).resolve().parent.parent / "web" / "openapi.json"


def test_web_client_contract_matches_the_server() -> None:
    assert CONTRACT.read_text(encoding="utf-8") == document(), "run `make openapi` and rebuild the web client"
