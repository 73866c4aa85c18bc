"""Browser tests: the built web client, served by a real ``parta serve`` process,
driven by Playwright in Debian's headless Chromium.

Nothing is mocked: each test module gets its own server with a fresh SQLite
database; people sign up through the API (codes read from the dev sender's
``otp.log``) or through the sign-in screen itself. Without Chromium, Playwright or
the built client the tests skip with the reason (``make test`` installs and builds
all three); with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import ROOT, free_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("PARTA_CHROMIUM", "/usr/bin/chromium")
STATIC_INDEX = ROOT / "parta" / "static" / "index.html"
# Guards against hangs only; never assertions about speed.
READY_TIMEOUT = 60.0
# The flags this machine needs: no sandbox as root, no background calls to the
# closed network (they would be refused many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _unavailable() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (make setup installs Debian's chromium)"
    if not STATIC_INDEX.exists():
        return "the web client is not built (make web)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (make setup)"
    return None


@pytest.fixture(autouse=True)
def _fail_in_ci_without_browser() -> None:
    reason = _unavailable()
    if reason is not None and IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)


@dataclass
class WebServer:
    """A running server and helpers to make people through its API."""

    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)

    def code_for(self, phone: str) -> str:
        lines = (self.data_dir / "otp.log").read_text(encoding="utf-8").splitlines()
        for line in reversed(lines):
            entry = json.loads(line)
            if entry["phone"] == phone:
                return str(entry["code"])
        raise AssertionError(f"no code sent to {phone}")

    def api(self, method: str, path: str, phone: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[phone]}"} if phone else {}
        url = f"{self.base_url}/api/v1{path}"
        response = httpx.request(method, url, headers=headers, timeout=30, **kwargs)
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def sign_up(
        self, phone: str, first_name: str, last_name: str = "Тестова", **profile: Any
    ) -> dict[str, Any]:
        """An account through the API; returns the user. The token is kept for `api`."""
        sent = self.api("POST", "/auth/code", json={"phone": phone})
        normalized = sent["phone"]
        body = {"phone": normalized, "code": self.code_for(normalized), "device_name": "browser test"}
        token = self.api("POST", "/auth/token", json=body)["token"]
        self.tokens[phone] = token
        user: dict[str, Any] = self.api(
            "PATCH", "/me", phone, json={"first_name": first_name, "last_name": last_name, **profile}
        )
        return user


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not start")


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    # Outside CI only (the autouse fixture above fails the test under CI=true): the
    # reason names what is missing, e.g. "Chromium not found at /usr/bin/chromium".
    reason = _unavailable()
    if reason is not None:
        pytest.skip(reason)
    data_dir = tmp_path_factory.mktemp("web")
    port = free_port()
    env = os.environ | {
        "PARTA_DATA_DIR": str(data_dir),
        "PARTA_DATABASE_URL": f"sqlite:///{data_dir / 'parta.db'}",
        "PARTA_CODE_PER_IP_PER_HOUR": "100000",
        "PARTA_RATE_LIMIT_SCALE": "1000",
        "PARTA_CODE_PER_PHONE_PER_HOUR": "1000",
        "PARTA_CODE_PER_PHONE_PER_DAY": "1000",
        "PARTA_CODE_RESEND_SECONDS": "0",
    }
    log = data_dir / "server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "parta", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, log)
        yield WebServer(base_url=base_url, data_dir=data_dir, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# Per module, not per session: Playwright's sync API keeps an event loop running in
# this thread while it is open, and the rest of the suite calls asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Outside CI only (the autouse fixture above fails the test under CI=true): the
    # reason names what is missing, e.g. "Chromium not found at /usr/bin/chromium".
    reason = _unavailable()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def open_as(browser: Any, web_server: WebServer) -> Iterator[Any]:
    """``open_as(phone, path="/")`` → a page in its own browser context (its own
    storage, like a separate device), signed in with that person's token."""
    contexts: list[Any] = []
    # The client must run under its own Content-Security-Policy: any violation fails the test.
    violations: list[str] = []

    def open_page(phone: str | None, path: str = "/", *, viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(
            base_url=web_server.base_url,
            locale="ru-RU",
            viewport=viewport or {"width": 1280, "height": 800},
        )
        contexts.append(context)
        if phone is not None:
            token = json.dumps(web_server.tokens[phone])
            # Only before the first load: a later sign-out in the page must stick.
            script = "if (!sessionStorage.getItem('seeded')) { sessionStorage.setItem('seeded', '1');"
            script += f" localStorage.setItem('parta.token', {token}); }}"
            context.add_init_script(script)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                violations.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        page.set_default_timeout(15_000)
        page.goto(path)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not violations, f"blocked by the CSP: {violations}"
