"""Security headers: every answer tells the browser what it may load and do; uploaded
files cannot run as pages of Parta's origin; cross-origin sites get no CORS grant."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from parta.app import STATIC
from parta.security_headers import inline_script_hashes, web_policy
from tests.client import Api, Factory
from tests.test_files import PDF, uploaded


async def test_api_answers_carry_the_security_headers(api: Api, make: Factory) -> None:
    user = await make.user()
    response = await api.as_(user).get("/api/v1/me")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


async def test_uploaded_files_are_sandboxed(api: Api, make: Factory) -> None:
    user = await make.user()
    chat = await make.chat(user, [])
    stored = await uploaded(api, user, chat["id"], PDF, "справка.pdf")
    response = await api.as_(user).get(f"/api/v1/files/{stored['id']}")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'") and policy.endswith("sandbox")
    assert "script-src" not in policy  # nothing may run in a file's page


async def test_no_cors_grant_for_other_sites(api: Api, make: Factory) -> None:
    user = await make.user()
    evil = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    preflight = await api.client.options("/api/v1/chats", headers=evil)
    assert "access-control-allow-origin" not in preflight.headers
    plain = await api.as_(user).get("/api/v1/me", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers


def test_the_web_policy_allows_exactly_the_inline_scripts_of_the_built_page(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text("<html><script>var a = 1;</script><script type=module src=/x.js></script></html>")
    expected = base64.b64encode(hashlib.sha256(b"var a = 1;").digest()).decode()
    assert inline_script_hashes(page) == [f"'sha256-{expected}'"]
    policy = web_policy(inline_script_hashes(page))
    assert re.search(r"script-src 'self' 'sha256-[^']+'(;|$)", policy)
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    if (STATIC / "index.html").exists():  # the real build has exactly one inline script
        assert len(inline_script_hashes(STATIC / "index.html")) == 1
