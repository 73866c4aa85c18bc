"""Delivery of sign-in codes. Pluggable: a development sender and a webhook sender."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Protocol

import httpx

from parta.config import Settings
from parta.errors import ServiceUnavailable

log = logging.getLogger("parta.codes")


class CodeSender(Protocol):
    async def send(self, *, phone: str, code: str, expires_at: datetime) -> None: ...


class DevCodeSender:
    """Writes each code to the server log and one JSON line to ``<data dir>/otp.log``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "otp.log"

    async def send(self, *, phone: str, code: str, expires_at: datetime) -> None:
        log.warning("sign-in code for %s: %s", phone, code)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"phone": phone, "code": code, "expires_at": expires_at.isoformat()})
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")


class WebhookCodeSender:
    """POSTs ``{"phone", "code", "expires_at"}`` to a URL: the hook for an SMS gateway."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    async def send(self, *, phone: str, code: str, expires_at: datetime) -> None:
        body = {"phone": phone, "code": code, "expires_at": expires_at.isoformat()}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, json=body)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            log.error("code webhook failed: %s", _failure(exc, self.url))
            raise ServiceUnavailable() from exc


def _failure(exc: httpx.HTTPError, url: str) -> str:
    """What went wrong, naming the gateway by scheme, host and port only: the URL's
    path or query may hold the gateway's credentials, and httpx quotes the full URL."""
    target = httpx.URL(url)
    where = f"{target.scheme}://{target.host}" + (f":{target.port}" if target.port else "")
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {where}"
    return f"{type(exc).__name__} talking to {where}"


def make_code_sender(settings: Settings) -> CodeSender:
    if settings.code_sender == "webhook":
        if not settings.code_webhook_url:
            raise ValueError("PARTA_CODE_SENDER=webhook needs PARTA_CODE_WEBHOOK_URL")
        return WebhookCodeSender(settings.code_webhook_url)
    if settings.code_sender != "dev":
        raise ValueError(f"unknown PARTA_CODE_SENDER {settings.code_sender!r}")
    return DevCodeSender(settings.data_dir)
