"""Timing of sign-in failures: can an attacker tell "no such user" from "wrong code"?

    .venv/bin/python -m bench.auth_timing [--backend sqlite|postgresql|both] [--requests N]

Against a real ``parta serve`` process, sends N code verifications of each kind, in one
random interleaved order, one at a time:

- ``no_such_user``: a phone that has no account and no code;
- ``wrong_code``: an account's phone with a code pending, and a wrong guess;
- ``wrong_code_no_account``: a phone with a code pending but no account yet (a first
  sign-in), and a wrong guess.

(The server allows many wrong tries per code here, so every guess takes the wrong-code
path and none becomes "too many attempts".) Prints one JSON document: per kind the
median, p95, mean and n (milliseconds of a full HTTP round trip on the client), and for
"no such user" vs "wrong code" and for "wrong code" without vs with an account, the
difference of the medians and a two-sided Mann-Whitney U test, with the probability
that a random request of the first kind is slower than one of the second (0.5 =
indistinguishable). Progress goes to stderr. docs/security.md (Timing) quotes a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.server import postgres_database, running_server

API = "/api/v1"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
KINDS = ("no_such_user", "wrong_code", "wrong_code_no_account")
# Every limit out of the way: this measures the work of a refusal, not the limits.
ENV = {
    "PARTA_CODE_MAX_ATTEMPTS": str(10**9),
    "PARTA_CODE_TTL_SECONDS": str(24 * 3600),
    "PARTA_CODE_RESEND_SECONDS": "0",
    "PARTA_CODE_PER_PHONE_PER_HOUR": str(10**6),
    "PARTA_CODE_PER_PHONE_PER_DAY": str(10**6),
    "PARTA_CODE_PER_IP_PER_HOUR": str(10**9),
    "PARTA_RATE_LIMIT_SCALE": str(10**6),
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mann_whitney_u(a: list[float], b: list[float]) -> dict[str, float]:
    """Two-sided Mann-Whitney U test, normal approximation with tie correction and
    continuity correction (fine for samples in the hundreds and more)."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    rank_sum_a = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u_a = rank_sum_a - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean = n1 * n2 / 2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (abs(u_a - mean) - 0.5) / sigma if sigma else 0.0
    return {
        "u": u_a,
        "z": round(math.copysign(max(z, 0.0), u_a - mean), 3),
        "p_value": round(math.erfc(max(z, 0.0) / math.sqrt(2)), 4),
        # P(a random request of the first kind is slower than one of the second).
        "p_first_slower": round(u_a / (n1 * n2), 4),
    }


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def _code_for(otp_log: Path, phone: str) -> str:
    for line in reversed(otp_log.read_text().splitlines()):
        entry = json.loads(line)
        if entry["phone"] == phone:
            return str(entry["code"])
    raise RuntimeError(f"no code for {phone}")


async def _phones_with_pending_codes(
    http: httpx.AsyncClient, data_dir: Path, phones: list[str], *, sign_up: bool
) -> None:
    """A fresh code pending for each phone (so a guess meets a real code); with
    ``sign_up``, each phone has an account first."""
    for phone in phones:
        if sign_up:
            assert (await http.post(f"{API}/auth/code", json={"phone": phone})).status_code == 200
            body = {"phone": phone, "code": _code_for(data_dir / "otp.log", phone), "device_name": "bench"}
            assert (await http.post(f"{API}/auth/token", json=body)).status_code == 200
        assert (await http.post(f"{API}/auth/code", json={"phone": phone})).status_code == 200


def _guess(phone: str, data_dir: Path, rng: random.Random) -> str:
    """A code that is not the pending one."""
    pending = _code_for(data_dir / "otp.log", phone)
    while True:
        guess = f"{rng.randrange(1_000_000):06d}"
        if guess != pending:
            return guess


def compare(first: list[float], second: list[float]) -> dict[str, Any]:
    return {
        "median_difference_ms": round(statistics.median(first) - statistics.median(second), 3),
        "mann_whitney_u": mann_whitney_u(first, second),
    }


async def measure(
    base_url: str, data_dir: Path, *, requests: int, accounts: int, warmup: int, seed: int
) -> Any:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        members = [f"+7912{index:07d}" for index in range(1, accounts + 1)]
        newcomers = [f"+7913{index:07d}" for index in range(1, accounts + 1)]
        await _phones_with_pending_codes(http, data_dir, members, sign_up=True)
        await _phones_with_pending_codes(http, data_dir, newcomers, sign_up=False)
        guesses = {phone: _guess(phone, data_dir, rng) for phone in members + newcomers}
        taken = set(guesses)

        def stranger() -> str:
            while True:
                phone = f"+7999{rng.randrange(10**7):07d}"
                if phone not in taken:
                    taken.add(phone)
                    return phone

        async def one(kind: str) -> tuple[float, httpx.Response]:
            if kind == "no_such_user":
                body = {"phone": stranger(), "code": f"{rng.randrange(1_000_000):06d}", "device_name": "x"}
            else:
                phone = rng.choice(members if kind == "wrong_code" else newcomers)
                body = {"phone": phone, "code": guesses[phone], "device_name": "x"}
            started = time.perf_counter()
            response = await http.post(f"{API}/auth/token", json=body)
            return (time.perf_counter() - started) * 1000, response

        order = [kind for kind in KINDS for _ in range(requests)]
        rng.shuffle(order)
        for kind in [k for k in KINDS for _ in range(warmup)]:
            await one(kind)
        samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
        answers: set[str] = set()
        for done, kind in enumerate(order, 1):
            elapsed, response = await one(kind)
            samples[kind].append(elapsed)
            answers.add(f"{response.status_code} {response.text}")
            if done % 1000 == 0:
                log(f"[bench] {done}/{len(order)} requests")
    return {
        **{kind: summary(samples[kind]) for kind in KINDS},
        "no_such_user_vs_wrong_code": compare(samples["no_such_user"], samples["wrong_code"]),
        "wrong_code_without_vs_with_account": compare(
            samples["wrong_code_no_account"], samples["wrong_code"]
        ),
        "identical_answers": len(answers) == 1,
    }


async def run_backend(backend: str, args: argparse.Namespace) -> Any:
    options = {"requests": args.requests, "accounts": args.accounts, "warmup": args.warmup, "seed": args.seed}
    if backend == "sqlite":
        async with running_server(
            "sqlite", database_url="", version=sqlite3.sqlite_version, env_extra=ENV, keep=False
        ) as server:
            result = await measure(server.base_url, server.data_dir, **options)
            return {"database": f"SQLite {server.version}", **result}
    async with postgres_database(args.pg_admin_url) as (url, version):
        async with running_server(
            "postgresql", database_url=url, version=version, env_extra=ENV, keep=False
        ) as server:
            result = await measure(server.base_url, server.data_dir, **options)
            return {"database": f"PostgreSQL {version}", **result}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.auth_timing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--requests", type=int, default=2000, help="N: timed requests of each kind")
    parser.add_argument("--accounts", type=int, default=20, help="phones with a pending code, of each kind")
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests of each kind first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = {backend: await run_backend(backend, args) for backend in backends}
    report = {
        "benchmark": "auth_timing",
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {platform.system()}",
        "method": "sequential POST /api/v1/auth/token, kinds interleaved in a random order",
        "results": results,
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
