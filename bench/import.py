"""Migration import benchmark: a generated region file through ``parta import region``.

    .venv/bin/python -m bench.import [--sizes 2x400,4x400] [--backend sqlite|postgresql] [--full]

For each size (schools x people per school) a fresh process writes the region
CSV to disk as a stream, imports it into a fresh database with
``parta.migration.region.import_region`` (the code behind the CLI command) and
reports rows/s, the process's peak RSS (``resource.getrusage``) and the peak of
Python allocations (``tracemalloc``). One process per size, so each peak is that
size's own. If the import streams, the peaks stay flat as the file grows.
``--full`` is the target: 1,000 schools x 1,000 people (about an hour here,
see docs/performance.md); each run also reports the time that target would take
at its pace. Prints one JSON document to stdout; progress to stderr.
Every name and phone number is generated.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.server import ROOT, postgres_database

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
FIRST = ("Анна", "Иван", "Мария", "Пётр", "Ольга", "Сергей", "Елена", "Дмитрий", "Софья", "Лев")
LAST = ("Смирнов", "Иванов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов")
LETTERS = "АБВГ"
FULL_ROWS = 1000 * 1000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def inn(number: int) -> str:
    """A valid 10-digit organization INN, distinct per ``number``."""
    digits = f"77{number:07d}"
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return digits + str(sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)


def _person(school: int, index: int, serial: int) -> list[str]:
    """One row: every 25th person a teacher, then a student and their parent in turn."""
    name = f"{FIRST[serial % len(FIRST)]} {LAST[(serial // 7) % len(LAST)]}"
    phone = f"+7916{serial:07d}"
    if index % 25 == 0:
        return [name, "учитель", "", phone, ""]
    if index % 2 == 1:
        klass = f"{1 + (index // 50) % 11}{LETTERS[(index // 10) % len(LETTERS)]}"
        return [name, "ученик", klass, phone, ""]
    return [name, "родитель", "", phone, f"+7916{serial - 1:07d}"]  # the student just before


def generate(path: Path, schools: int, people: int) -> int:
    """Write the region file row by row (never held in memory); returns its data rows."""
    serial = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(["Организация", "ИНН", "ФИО", "Роль", "Класс", "Телефон", "Ребёнок"])
        for school in range(schools):
            org = [f"Школа № {school + 1} (бенчмарк)", inn(school + 1)]
            for index in range(people):
                serial += 1
                writer.writerow(org + _person(school, index, serial))
    return serial


async def _coordinator(url: str) -> Any:
    """The importing account: made directly, as ``parta admin create-operator`` would."""
    from sqlalchemy import select

    from parta.clock import utcnow
    from parta.db.engine import Database
    from parta.db.tables import User
    from parta.events.bus import LocalBus

    database = Database(url, LocalBus())
    async with database.session() as db, db.begin():
        now = utcnow()
        db.add(
            User(
                phone="+79990000001",
                first_name="Ирина",
                last_name="Координаторова",
                created_at=now,
                updated_at=now,
            )
        )
    async with database.session() as db:
        user = (await db.execute(select(User).where(User.phone == "+79990000001"))).scalar_one()
    await database.dispose()
    return user


async def _import(url: str, path: Path) -> dict[str, Any]:
    from parta.db.engine import Database
    from parta.events.bus import LocalBus
    from parta.migration import region

    actor = await _coordinator(url)
    database = Database(url, LocalBus())
    done = 0
    last = time.monotonic()

    def progress(rows: int) -> None:
        nonlocal done, last
        done += rows
        if time.monotonic() - last > 10:
            last = time.monotonic()
            log(f"[bench] {done} rows imported")

    try:
        async with database.session() as db:
            started = time.perf_counter()
            report = await region.import_region(db, actor, path, region="77", progress=progress)
            seconds = time.perf_counter() - started
    finally:
        await database.dispose()
    return {"seconds": round(seconds, 2), "summary": report.summary()}


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One size, in this process: generate, migrate a fresh database, import, measure."""
    from parta.db.migrate import upgrade

    workdir = Path(args.workdir)
    path = workdir / f"region_{args.schools}x{args.people}.csv"
    started = time.perf_counter()
    rows = generate(path, args.schools, args.people)
    generated = time.perf_counter() - started
    async with AsyncExitStack() as stack:
        if args.backend == "postgresql":
            url, _ = await stack.enter_async_context(postgres_database(args.pg_admin_url))
        else:
            url = f"sqlite:///{workdir / f'parta_{args.schools}x{args.people}.db'}"
        await asyncio.to_thread(upgrade, url)
        baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if args.tracemalloc:
            tracemalloc.start()
        result = await _import(url, path)
        traced_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    return {
        "schools": args.schools,
        "people_per_school": args.people,
        "rows": rows,
        "file_mb": round(path.stat().st_size / 2**20, 2),
        "generate_seconds": round(generated, 2),
        "import_seconds": result["seconds"],
        "rows_per_second": round(rows / result["seconds"], 1),
        # The --full target at this size's pace (the pace holds: each school's work is its own).
        "projected_1000x1000_hours": round(FULL_ROWS / (rows / result["seconds"]) / 3600, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_import_mb": round(baseline_rss / 1024, 1),
        "tracemalloc_peak_mb": round(traced_peak / 2**20, 2) if traced_peak is not None else None,
        "summary": result["summary"],
    }


def _sizes(raw: str) -> list[tuple[int, int]]:
    try:
        return [(int(s), int(p)) for s, p in (part.split("x") for part in raw.split(","))]
    except ValueError:
        raise argparse.ArgumentTypeError("sizes look like 10x500,20x500") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.import", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=_sizes("2x400,4x400"), help="SCHOOLSxPEOPLE,...")
    parser.add_argument("--full", action="store_true", help="the target: 1000x1000 (about an hour)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin-url", default=os.environ.get("PARTA_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL))
    parser.add_argument(
        "--no-tracemalloc", dest="tracemalloc", action="store_false", help="faster; no Python allocation peak"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--schools", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--people", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _run_size(args: argparse.Namespace, schools: int, people: int, workdir: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.import", "--worker", "--backend", args.backend]
    command += ["--schools", str(schools), "--people", str(people), "--workdir", workdir]
    command += ["--pg-admin-url", args.pg_admin_url] + ([] if args.tracemalloc else ["--no-tracemalloc"])
    log(f"[bench] {schools} schools x {people} people ({args.backend})")
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    log(f"[bench] {result['rows_per_second']} rows/s, peak RSS {result['peak_rss_mb']} MB")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(asyncio.run(worker(args)), ensure_ascii=False))
        return 0
    sizes = [(1000, 1000)] if args.full else args.sizes
    with tempfile.TemporaryDirectory(prefix="parta_bench_import_") as workdir:
        runs = [_run_size(args, schools, people, workdir) for schools, people in sizes]
    document = {
        "benchmark": "import",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "backend": args.backend,
        "tracemalloc": args.tracemalloc,
        "runs": runs,
    }
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
