"""A thin async client for the Parta API, as a benchmark needs it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

API = "/api/v1"
Json = dict[str, Any]


class ApiFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Person:
    id: int
    phone: str
    headers: dict[str, str]

    @property
    def token(self) -> str:
        """The session token, for clients that take it bare (``parta.client.PartaClient``)."""
        return self.headers["Authorization"].removeprefix("Bearer ")


def check(response: httpx.Response, *expected: int) -> Json:
    if response.status_code not in (expected or (200, 201)):
        raise ApiFailed(
            f"{response.request.method} {response.request.url} -> "
            f"{response.status_code}: {response.text[:300]}"
        )
    data: Json = response.json() if response.content else {}
    return data


async def timed(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    person: Person | None = None,
    expect: tuple[int, ...] = (200, 201),
    **kwargs: Any,
) -> tuple[float, Json]:
    """One request; returns (milliseconds, parsed body). The clock covers the full
    round trip including reading and parsing the body."""
    headers = person.headers if person is not None else None
    started = time.perf_counter()
    response = await client.request(method, API + url, headers=headers, **kwargs)
    body = check(response, *expect)
    return (time.perf_counter() - started) * 1000, body


def _code_for(otp_log: Path, phone: str) -> str:
    for line in reversed(otp_log.read_text().splitlines()):
        entry = json.loads(line)
        if entry.get("phone") == phone:
            return str(entry["code"])
    raise ApiFailed(f"no sign-in code for {phone} in {otp_log}")


async def sign_in(client: httpx.AsyncClient, data_dir: Path, phone: str, name: tuple[str, str]) -> Person:
    """Request a code, read it from otp.log, exchange it, fill the profile."""
    check(await client.post(f"{API}/auth/code", json={"phone": phone}))
    code = _code_for(data_dir / "otp.log", phone)
    body = {"phone": phone, "code": code, "device_name": "bench"}
    token = check(await client.post(f"{API}/auth/token", json=body))
    headers = {"Authorization": f"Bearer {token['token']}"}
    profile = {"first_name": name[0], "last_name": name[1]}
    check(await client.patch(f"{API}/me", json=profile, headers=headers))
    return Person(id=int(token["user"]["id"]), phone=phone, headers=headers)
