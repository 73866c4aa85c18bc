"""Web client budgets: the first screen's gzipped size, and how fast the chat list
appears on a weak phone over a slow link.

    .venv/bin/python -m bench.web_budget [--runs 5] [--chats 30]

Size: the files the first screen loads (index.html, the entry chunk, its static
imports and CSS, read from Vite's manifest), as their .gz twins that the server
sends. Time: Debian's Chromium through Playwright with DevTools throttling: CPU 4×
slower and the "Slow 3G" profile (2,000 ms latency, 50 KB/s each way, the figures
Chrome's DevTools and Puppeteer use). Three measurements, median of ``--runs``:

- ``cold``: a signed-in person opens the app with nothing cached (first visit on a
  new phone): HTML, scripts and the API all cross the slow link.
- ``warm``: the same person reloads later: the service worker serves the app shell
  and IndexedDB the chat list; the API refresh follows in the background.
- ``after_sign_in``: from pressing "Войти" with the code to the chat list, in a
  page that already loaded the sign-in screen (the path the issue names).

Prints one JSON object. The server is a real ``parta serve`` on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import httpx

from bench.server import running_server

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "parta" / "static"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
CPU_SLOWDOWN = 4
# A chat row of the chat list.
CHAT_ROW = "a.chat-row"

Json = dict[str, Any]


def first_screen_size() -> Json:
    manifest = json.loads((STATIC / ".vite" / "manifest.json").read_text())
    entry = next(key for key, chunk in manifest.items() if chunk.get("isEntry"))
    files: set[str] = {"index.html"}
    stack = [entry]
    seen: set[str] = set()
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        chunk = manifest[key]
        files.add(chunk["file"])
        files.update(chunk.get("css", []))
        stack.extend(chunk.get("imports", []))  # static imports only; dynamic = lazy
    rows = {}
    for name in sorted(files):
        raw = (STATIC / name).stat().st_size
        packed = STATIC / f"{name}.gz"
        rows[name] = {"bytes": raw, "gzip_bytes": packed.stat().st_size if packed.exists() else raw}
    lazy = [p for p in (STATIC / "assets").glob("*.js")]
    return {
        "first_screen_gzip_bytes": sum(row["gzip_bytes"] for row in rows.values()),
        "first_screen_bytes": sum(row["bytes"] for row in rows.values()),
        "files": rows,
        "all_js_gzip_bytes": sum((p.with_name(p.name + ".gz")).stat().st_size for p in lazy),
        "budget_gzip_bytes": 100 * 1024,
    }


async def make_person(base_url: str, data_dir: Path, phone: str, chats: int) -> tuple[str, str]:
    """A signed-up person in ``chats`` groups with a few messages each; returns (phone, token)."""
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as client:
        sent = (await client.post("/auth/code", json={"phone": phone})).json()
        code = _last_code(data_dir, sent["phone"])
        body = {"phone": sent["phone"], "code": code, "device_name": "bench"}
        token = (await client.post("/auth/token", json=body)).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        await client.patch("/me", json={"first_name": "Анна", "last_name": "Сергеевна"})
        for n in range(chats):
            chat = (await client.post("/chats", json={"kind": "group", "title": f"Класс {n + 1}"})).json()
            for m in range(3):
                text = f"Сообщение {m + 1} в чате {n + 1}: завтра контрольная по математике"
                await client.post(
                    f"/chats/{chat['id']}/messages", json={"client_msg_id": f"b{n}-{m}", "text": text}
                )
        return sent["phone"], token


def _last_code(data_dir: Path, phone: str) -> str:
    for line in reversed((data_dir / "otp.log").read_text().splitlines()):
        entry = json.loads(line)
        if entry["phone"] == phone:
            return str(entry["code"])
    raise RuntimeError("no code")


async def throttle(page: Any) -> None:
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", SLOW_3G)


TIMELINE_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const out = {html_done: Math.round(nav.responseEnd)};
  for (const r of performance.getEntriesByType("resource")) {
    const name = new URL(r.name).pathname;
    const key = name.startsWith("/assets/") ? "asset " + name.split("/").pop().split("-")[0] : name;
    if (!(key in out)) out[key] = [Math.round(r.startTime), Math.round(r.responseEnd)];
  }
  return out;
}"""


async def visible_after_navigation(page: Any, url: str, timeline: list[Json] | None = None) -> float:
    """ms from navigation start to the first chat row being visible."""
    await page.goto(url, wait_until="commit")
    await page.locator(CHAT_ROW).first.wait_for(state="visible", timeout=120_000)
    visible = float(await page.evaluate("performance.now()"))
    if timeline is not None:
        timeline.append(await page.evaluate(TIMELINE_JS) | {"list_visible": round(visible)})
    return visible


async def measure(base_url: str, data_dir: Path, runs: int, chats: int) -> Json:
    from playwright.async_api import async_playwright

    phone, token = await make_person(base_url, data_dir, "+79990001234", chats)
    cold: list[float] = []
    timelines: list[Json] = []
    warm: list[float] = []
    after_sign_in: list[float] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for _ in range(runs):
            context = await browser.new_context(base_url=base_url, viewport={"width": 390, "height": 800})
            await context.add_init_script(f"localStorage.setItem('parta.token', {json.dumps(token)})")
            page = await context.new_page()
            await throttle(page)
            cold.append(await visible_after_navigation(page, "/", timelines))
            await page.wait_for_load_state("networkidle", timeout=120_000)
            await page.wait_for_timeout(500)  # let the service worker and the cache settle
            warm.append(await visible_after_navigation(page, "/"))
            await context.close()
        for _ in range(runs):
            after_sign_in.append(await _sign_in_run(browser, base_url, data_dir, phone))
        await browser.close()
    return {
        "cold_ms": _stats(cold),
        # Where a cold load's time goes: [start, end] ms of each request, for the median run.
        "cold_timeline": timelines[cold.index(sorted(cold)[len(cold) // 2])],
        "warm_ms": _stats(warm),
        "after_sign_in_ms": _stats(after_sign_in),
        "chats_in_list": chats,
        "throttling": {"cpu_slowdown": CPU_SLOWDOWN, "network": SLOW_3G},
    }


async def _sign_in_run(browser: Any, base_url: str, data_dir: Path, phone: str) -> float:
    context = await browser.new_context(base_url=base_url, viewport={"width": 390, "height": 800})
    page = await context.new_page()
    await page.goto("/")
    await page.get_by_label("Номер телефона").fill(phone[2:])
    await page.get_by_role("button", name="Получить код").click()
    code_box = page.get_by_label("Код из СМС")
    await code_box.wait_for()
    await throttle(page)
    code = _last_code(data_dir, phone)
    started = float(await page.evaluate("performance.now()"))
    await code_box.fill(code)  # a complete code is sent at once, as when pasted from the SMS
    await page.locator(CHAT_ROW).first.wait_for(state="visible", timeout=120_000)
    elapsed = float(await page.evaluate("performance.now()")) - started
    await context.close()
    return elapsed


def _stats(samples: list[float]) -> Json:
    return {"median": round(statistics.median(samples)), "runs": [round(s) for s in samples]}


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chats", type=int, default=30)
    parser.add_argument("--size-only", action="store_true")
    args = parser.parse_args()
    result: Json = {"size": first_screen_size()}
    if not args.size_only:
        env = {
            "PARTA_CODE_PER_IP_PER_HOUR": "100000",
            "PARTA_RATE_LIMIT_SCALE": "1000",
            "PARTA_CODE_PER_PHONE_PER_HOUR": "100000",
            "PARTA_CODE_PER_PHONE_PER_DAY": "100000",
            "PARTA_CODE_RESEND_SECONDS": "0",
        }
        async with running_server("sqlite", database_url="", version="", env_extra=env, keep=False) as server:
            result["time"] = await measure(server.base_url, server.data_dir, args.runs, args.chats)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    print()


if __name__ == "__main__":
    asyncio.run(main())
