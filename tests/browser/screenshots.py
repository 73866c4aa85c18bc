"""Screenshots of the main screens for the README (docs/img/*.png), from the demo
school served by a real ``parta serve``:

    .venv/bin/python -m tests.browser.screenshots

Not a test: run it after changing how the main screens look, look at the pictures,
and commit them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, WebServer, _wait_ready
from tests.servers import ROOT, free_port

OUT = ROOT / "docs" / "img"
PHONE = {"width": 390, "height": 780}
DESKTOP = {"width": 1280, "height": 760}


def _server(data_dir: Path) -> tuple[WebServer, subprocess.Popen[bytes]]:
    env = os.environ | {
        "PARTA_DATA_DIR": str(data_dir),
        "PARTA_CODE_PER_IP_PER_HOUR": "100000",
        "PARTA_RATE_LIMIT_SCALE": "1000",
        "PARTA_CODE_RESEND_SECONDS": "0",
    }
    subprocess.run(
        [sys.executable, "-m", "parta", "demo"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    port = free_port()
    log = data_dir / "server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "parta", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    base_url = f"http://127.0.0.1:{port}"
    _wait_ready(base_url, process, log)
    return WebServer(base_url=base_url, data_dir=data_dir, process=process), process


def _token(server: WebServer, phone: str) -> str:
    sent = httpx.post(f"{server.base_url}/api/v1/auth/code", json={"phone": phone}).json()
    body = {"phone": sent["phone"], "code": server.code_for(sent["phone"]), "device_name": "screenshots"}
    token = str(httpx.post(f"{server.base_url}/api/v1/auth/token", json=body).json()["token"])
    server.tokens[phone] = token
    return token


def _page(browser: Any, server: WebServer, phone: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(
        base_url=server.base_url, viewport=viewport, locale="ru-RU", device_scale_factor=1
    )
    context.add_init_script(f"localStorage.setItem('parta.token', '{_token(server, phone)}')")
    return context.new_page()


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server, process = _server(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                shots(browser, server)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=10)


def shots(browser: Any, server: WebServer) -> None:
    teacher = _page(browser, server, "+79000000002", DESKTOP)
    teacher.goto("/")
    teacher.get_by_text("5А — родители").first.click()
    teacher.locator(".bubble").get_by_text("сменную обувь").wait_for()
    teacher.screenshot(path=str(OUT / "chat-desktop.png"))

    parent = _page(browser, server, "+79000000021", PHONE)
    parent.goto("/")
    parent.get_by_text("5А — родители").first.click()
    parent.locator(".bubble").get_by_text("сменную обувь").wait_for()
    parent.screenshot(path=str(OUT / "chat-phone.png"))
    parent.goto("/children")
    parent.get_by_text("Петя").first.click()
    parent.wait_for_load_state("networkidle")
    parent.screenshot(path=str(OUT / "parent-phone.png"))

    admin = _page(browser, server, "+79000000001", DESKTOP)
    admin.goto("/orgs")
    admin.get_by_text("Школа № 1 (демо)").first.click()
    admin.get_by_role("link", name="Участники").click()
    admin.wait_for_load_state("networkidle")
    admin.screenshot(path=str(OUT / "org-cabinet-desktop.png"))
    for name in ("chat-desktop", "chat-phone", "parent-phone", "org-cabinet-desktop"):
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
