"""The ``parta`` command: serve, db upgrade, demo."""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
import uvicorn
from rich.console import Console

from parta.config import Settings
from parta.db.engine import command_session
from parta.events.shared_frames import SharedFrameProtocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from parta.db.tables import User
    from parta.migration.roster import RosterReport

T = TypeVar("T")

app = typer.Typer(help="Parta: open educational messenger.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
admin_app = typer.Typer(help="Administration: operators.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
console = Console()


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    upgrade: bool = typer.Option(True, help="apply pending migrations first"),
) -> None:
    """Serve the API (and the web client, when built)."""
    settings = Settings()
    _or_exit(settings, _upgrade if upgrade else _ping)
    console.print(f"[bold]Parta[/bold] on http://{host}:{port}  (database: {_safe_url(settings)})")
    uvicorn.run(
        "parta.app:create_app",
        factory=True,
        host=host,
        port=port,
        ws=SharedFrameProtocol,  # deflate without server context takeover, frames shared
        ws_per_message_deflate=True,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        log_level="info",
        log_config=_log_config(),
    )


def _log_config() -> dict[str, object]:
    """Uvicorn's logging, plus Parta's own loggers (sign-in codes in development) and
    the root logger (other libraries' warnings), every handler behind ``RedactSecrets``:
    the access log prints paths with their query strings, and invite links carry
    their token in the path (docs/security.md, Logs)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    level = os.environ.get("PARTA_LOG_LEVEL", "INFO").upper()
    config["filters"] = {"redact": {"()": "parta.redaction.RedactSecrets"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["parta"] = {"handlers": ["default"], "level": level, "propagate": False}
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all pending schema migrations (SQLite or PostgreSQL)."""
    _or_exit(Settings(), _upgrade)


def _or_exit(settings: Settings, step: Callable[[Settings], None]) -> None:
    """``step`` (``_upgrade``, or ``_ping`` with ``--no-upgrade``); an unreachable database
    ends the command with one clear line and exit code 1 (a supervisor restarts it), not
    a page of traceback."""
    from parta.db.engine import database_unavailable

    try:
        step(settings)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        console.print(f"[red]The database at {_safe_url(settings)} is unreachable: {exc}[/red]")
        raise typer.Exit(code=1) from None


def _ping(settings: Settings) -> None:
    """One round trip to the database, so that ``serve --no-upgrade`` without one stops
    here rather than with the server's start-up traceback."""
    from sqlalchemy import text

    from parta.db.engine import create_engine

    async def ping() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    asyncio.run(ping())


def _upgrade(settings: Settings) -> None:
    from parta.db.migrate import current_head, upgrade

    with console.status("Applying migrations..."):
        upgrade(settings.resolved_database_url)
    console.print(f"Schema is at revision {current_head()} ({_safe_url(settings)})")
    made = asyncio.run(_backfill_staff_chats(settings))
    if made:
        console.print(f"Staff chats created for {made} organizations")


async def _backfill_staff_chats(settings: Settings) -> int:
    """Organizations from before staff chats get theirs through the ordinary sync (with
    its events), not in a migration that open clients would never hear of. Idempotent."""
    from parta.orgs.staffchat import ensure_staff_chats

    async with command_session(settings.resolved_database_url) as db:
        return await ensure_staff_chats(db)


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


@app.command()
def demo() -> None:
    """Seed demo data (idempotent): users, a group chat with messages."""
    from parta.demo import seed

    settings = Settings()
    _or_exit(settings, _upgrade)
    result = asyncio.run(seed(settings))
    console.print(result.summary())


@admin_app.command("create-operator")
def create_operator(phone: str = typer.Argument(..., help="phone number, e.g. +79123456789")) -> None:
    """Make the person with this phone an operator, who verifies organizations (idempotent)."""
    from parta.errors import PartaError

    settings = Settings()
    _or_exit(settings, _upgrade)
    try:
        console.print(asyncio.run(_create_operator(settings, phone)))
    except PartaError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(code=1) from None


async def _create_operator(settings: Settings, phone: str) -> str:
    from parta.orgs.organizations import create_operator

    async with command_session(settings.resolved_database_url) as db:
        result = await create_operator(db, phone)
    said = {
        "created": "New account (names empty until its first sign-in) is now an operator",
        "promoted": "Existing account is now an operator",
        "unchanged": "Already an operator, nothing changed",
    }
    return f"{said[result.outcome]}: {result.phone} (user id {result.user_id})"


import_app = typer.Typer(help="Importing a school's data from files.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("roster")
def import_roster(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX list of people"),
    org: int = typer.Option(..., "--org", help="organization id"),
    as_phone: str | None = typer.Option(
        None, "--as-phone", help="an admin's phone (default: the first admin)"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="check and report, write nothing"),
) -> None:
    """Add an organization's people from a file (see docs/ru/migration-guide.md)."""
    from parta.errors import PartaError

    settings = Settings()
    _or_exit(settings, _upgrade)
    try:
        report = asyncio.run(_import_roster(settings, file.read_bytes(), org, as_phone, dry_run=dry_run))
    except PartaError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(code=1) from None
    _print_report(report, dry_run=dry_run)


async def _import_roster(
    settings: Settings, data: bytes, org_id: int, as_phone: str | None, *, dry_run: bool
) -> RosterReport:
    from rich.progress import Progress

    from parta.migration import roster

    async with command_session(settings.resolved_database_url) as db:
        actor = await roster.importing_admin(db, org_id, as_phone)
        if dry_run:
            return await roster.check_roster(db, actor, org_id, data)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("Importing", total=None)
            return await roster.import_roster(
                db,
                actor,
                org_id,
                data,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )


def _print_report(report: RosterReport, *, dry_run: bool) -> None:
    from rich.table import Table

    table = Table(title="Dry run: nothing written" if dry_run else "Roster imported")
    table.add_column("")
    table.add_column("people", justify="right")
    labels = {
        "created": "created (active)",
        "pending": "pending (until first sign-in)",
        "existing": "already there",
        "rejected": "rejected",
        "classes_created": "classes created",
        "parents_linked": "parents linked",
    }
    for key, count in report.summary().items():
        table.add_row(labels[key], str(count))
    console.print(table)
    for row in report.rejected:
        console.print(f"line {row.line}: {row.reason}")


@import_app.command("history")
def import_history(
    path: Path = typer.Argument(
        ..., exists=True, help="Telegram export folder, VK archive or conversation folder, JSON, or a .zip"
    ),
    org: int = typer.Option(..., "--org", help="organization id"),
    chat: int | None = typer.Option(None, "--chat", help="an existing chat of the organization"),
    new_chat: str | None = typer.Option(None, "--new-chat", help="or: the title of a new group chat"),
    export_format: str | None = typer.Option(None, "--format", help="telegram, vk or json (default: guess)"),
    mapping: Path | None = typer.Option(
        None, "--mapping", exists=True, dir_okay=False, help="CSV: legacy author id or name;phone"
    ),
    as_phone: str | None = typer.Option(None, "--as-phone", help="an admin's phone (default: first admin)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check and report, write nothing"),
) -> None:
    """Import a legacy chat's history (see docs/ru/migration-guide.md)."""
    from parta.errors import PartaError
    from parta.migration.history import ExportFormat, command, core

    if export_format not in (None, *ExportFormat):
        console.print("[red]--format: telegram, vk или json.[/red]")
        raise typer.Exit(code=2)
    settings = Settings()
    _or_exit(settings, _upgrade)
    target = core.Target(chat_id=chat, new_chat_title=new_chat)
    fmt = ExportFormat(export_format) if export_format else None
    try:
        report = asyncio.run(
            command.run(
                settings, console, path, org_id=org, target=target, export_format=fmt,
                mapping=command.read_mapping_file(mapping), as_phone=as_phone, dry_run=dry_run,
            )
        )  # fmt: skip
    except PartaError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(code=1) from None
    command.print_report(console, report, dry_run=dry_run)


wave_app = typer.Typer(help="Migration waves (operators): plan, progress, reminders.", no_args_is_help=True)
app.add_typer(wave_app, name="wave")
AS_OPERATOR = typer.Option(None, "--as-phone", help="an operator's phone (default: the first operator)")


def _run_as_operator(action: Callable[[AsyncSession, User], Awaitable[T]], as_phone: str | None) -> T:
    """Run one waves action as an operator; a PartaError ends the command with its message."""
    from parta.errors import PartaError

    settings = Settings()
    _or_exit(settings, _upgrade)

    async def run() -> T:
        from parta.migration import waves

        async with command_session(settings.resolved_database_url) as db:
            return await action(db, await waves.cli_operator(db, as_phone))

    try:
        return asyncio.run(run())
    except PartaError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(code=1) from None


def _csv_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


@wave_app.command("plan")
def wave_plan(
    name: str = typer.Option(..., "--name", help='e.g. "Школы Москвы"'),
    kinds: str = typer.Option(..., "--kinds", help="school,kindergarten,college,extracurricular,authority"),
    starts: datetime = typer.Option(..., "--starts", formats=["%Y-%m-%d"], help="first day, 2025-08-25"),
    regions: str = typer.Option("", "--regions", help="federal subject codes, 77,50 (empty: every region)"),
    ends: datetime | None = typer.Option(None, "--ends", formats=["%Y-%m-%d"], help="last day"),
    as_phone: str | None = AS_OPERATOR,
) -> None:
    """Plan a wave of organizations moving to Parta."""
    from parta.migration import waves

    plan = waves.WavePlan(
        name=name,
        org_kinds=_csv_list(kinds),
        regions=_csv_list(regions),
        starts_at=starts.date(),
        ends_at=ends.date() if ends is not None else None,
    )
    wave = _run_as_operator(lambda db, user: waves.plan_wave(db, user, plan), as_phone)
    console.print(f"Wave {wave.id} planned: {wave.name}, from {wave.starts_at.isoformat()}")


@wave_app.command("list")
def wave_list(as_phone: str | None = AS_OPERATOR) -> None:
    """Every wave by start date."""
    from rich.table import Table

    from parta.migration import waves

    table = Table(title="Migration waves")
    for column in ("id", "name", "kinds", "regions", "starts", "ends"):
        table.add_column(column)
    for wave in _run_as_operator(waves.list_waves, as_phone):
        ends = wave.ends_at.isoformat() if wave.ends_at else ""
        regions = ",".join(wave.regions) or "all"
        table.add_row(
            str(wave.id), wave.name, ",".join(wave.org_kinds), regions, wave.starts_at.isoformat(), ends
        )
    console.print(table)


PROGRESS_COLUMNS = (
    "region",
    "organization",
    "started",
    "joined",
    "pending",
    "share",
    "archived",
    "scheduled",
)


@wave_app.command("progress")
def wave_progress(
    wave_id: int = typer.Argument(..., help="wave id"), as_phone: str | None = AS_OPERATOR
) -> None:
    """The wave's progress: per organization, per region and in total."""
    from rich.table import Table

    from parta.migration import waves

    progress = _run_as_operator(lambda db, user: waves.wave_progress(db, user, wave_id), as_phone)
    table = Table(title=f"Wave {wave_id}: {progress.wave.name}")
    for column in PROGRESS_COLUMNS:
        table.add_column(column, justify="left" if column == "organization" else "right")
    for org in progress.orgs:
        row = (org.region, org.short_name, "yes" if org.is_started else "no", org.joined, org.pending)
        table.add_row(
            *map(str, row), f"{org.joined_share:.0%}", str(org.chats_archived), str(org.chats_scheduled)
        )
    for label, counts in [*sorted(progress.regions.items()), ("total", progress.totals)]:
        started = f"{counts.orgs_started}/{counts.orgs}"
        table.add_row(
            label, "", started, str(counts.joined), str(counts.pending), f"{counts.joined_share:.0%}",
            str(counts.chats_archived), str(counts.chats_scheduled), style="bold",
        )  # fmt: skip
    console.print(table)


@wave_app.command("remind")
def wave_remind(
    wave_id: int = typer.Argument(..., help="wave id"),
    min_share: float = typer.Option(0.5, "--min-share", help="remind orgs below this share of joined people"),
    as_phone: str | None = AS_OPERATOR,
) -> None:
    """Send reminders to admins of lagging organizations (at most once a day each)."""
    from parta.migration import waves

    report = _run_as_operator(
        lambda db, user: waves.send_reminders(db, user, wave_id, min_joined_share=min_share), as_phone
    )
    console.print(
        f"Reminded: {len(report.sent)} organizations {report.sent}; already reminded today: "
        f"{len(report.already_today)}; on track: {report.on_track}; not started yet: {report.not_started_yet}"
    )


# --- Migration: chat manifests, region files, reconciliation (parta/migration/commands.py) ---

migration_app = typer.Typer(help="Migration from a legacy messenger: who has moved.", no_args_is_help=True)
app.add_typer(migration_app, name="migration")


def _migration_run(run: Awaitable[T]) -> T:
    """Run a migration command; a Parta error is printed in red, exit code 1."""
    from parta.errors import PartaError

    async def main() -> T:
        return await run

    try:
        return asyncio.run(main())
    except PartaError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(code=1) from None


@import_app.command("chats")
def import_chats(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX: chat, phone, role"),
    org: int = typer.Option(..., "--org", help="organization id"),
    as_phone: str | None = typer.Option(None, "--as-phone", help="an admin's phone (default: first admin)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check and report, write nothing"),
) -> None:
    """Recreate legacy chats with their members from a manifest (see docs/ru/migration-guide.md)."""
    from parta.migration import commands

    settings = Settings()
    _or_exit(settings, _upgrade)
    run = commands.import_chats(settings, console, file.read_bytes(), org, as_phone, dry_run=dry_run)
    commands.print_manifest(console, _migration_run(run), dry_run=dry_run)


@import_app.command("region")
def import_region(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV: organization/INN + roster"),
    as_phone: str = typer.Option(..., "--as-phone", help="who imports; becomes admin of created schools"),
    region: str = typer.Option(..., "--region", help="federal subject code of created schools, e.g. 77"),
    parent: int | None = typer.Option(None, "--parent", help="education authority (org id) over the schools"),
) -> None:
    """Import many schools' people from one large CSV, streaming, school by school."""
    from parta.migration import commands

    settings = Settings()
    _or_exit(settings, _upgrade)
    run = commands.import_region(settings, console, file, as_phone, region_code=region, parent_id=parent)
    commands.print_region(console, _migration_run(run))


@migration_app.command("report")
def migration_report(
    org: int = typer.Option(..., "--org", help="organization id"),
    as_phone: str | None = typer.Option(None, "--as-phone", help="an admin's phone (default: first admin)"),
    csv_file: Path | None = typer.Option(None, "--csv", dir_okay=False, help="also write the CSV here"),
) -> None:
    """Who the roster and the manifests listed, and who has joined, is pending or had no phone."""
    from parta.migration import commands

    settings = Settings()
    _or_exit(settings, _upgrade)
    found = _migration_run(commands.report(settings, org, as_phone, csv_file))
    commands.print_report(console, found)
    if csv_file is not None:
        console.print(f"CSV written to {csv_file}")


# --- School years: the yearly rollover (parta/orgs/year_commands.py) ---

year_app = typer.Typer(help="School years: plan, preview, run and undo the rollover.", no_args_is_help=True)
app.add_typer(year_app, name="year")
AS_ADMIN = typer.Option(None, "--as-phone", help="an admin's phone (default: the organization's first admin)")


def _year_run(run: Callable[[Settings], Awaitable[dict[str, object]]]) -> None:
    """Run one year command and print the rollover; a Parta error is printed in red, exit code 1."""
    from parta.orgs import year_commands

    settings = Settings()
    _or_exit(settings, _upgrade)
    year_commands.print_rollover(console, _migration_run(run(settings)))


@year_app.command("plan")
def year_plan(
    org: int = typer.Option(..., "--org", help="organization id"),
    at: datetime = typer.Option(
        ..., "--at", formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"], help='local time: "2026-09-01 08:00"'
    ),
    classes: str = typer.Option("", "--classes", help="only these classes: 5А,6Б (default: all)"),
    leaving: str = typer.Option("", "--leaving", help="member ids of students who leave: 12,15"),
    as_phone: str | None = AS_ADMIN,
) -> None:
    """Plan the rollover of the organization's classes (see docs/ru/admin-guide.md)."""
    from parta.orgs import year_commands

    try:
        leaving_ids = [int(x) for x in _csv_list(leaving)]
    except ValueError:
        console.print("[red]--leaving: номера участников через запятую.[/red]")
        raise typer.Exit(code=2) from None
    names = _csv_list(classes) or None
    _year_run(
        lambda s: year_commands.plan(s, org, at, class_names=names, leaving=leaving_ids, as_phone=as_phone)
    )


@year_app.command("preview")
def year_preview(
    rollover_id: int = typer.Argument(..., help="rollover id"), as_phone: str | None = AS_ADMIN
) -> None:
    """What a planned rollover will do, class by class (what it did, once run)."""
    from parta.orgs import year_commands

    _year_run(lambda s: year_commands.preview(s, rollover_id, as_phone))


@year_app.command("run")
def year_run(
    rollover_id: int = typer.Argument(..., help="rollover id"),
    now: bool = typer.Option(False, "--now", help="run at once, before its moment"),
    as_phone: str | None = AS_ADMIN,
) -> None:
    """Run a rollover whose moment has passed (the server does it by itself), or --now."""
    from parta.orgs import year_commands

    _year_run(lambda s: year_commands.run(s, rollover_id, now=now, as_phone=as_phone))


@year_app.command("undo")
def year_undo(
    rollover_id: int = typer.Argument(..., help="rollover id"), as_phone: str | None = AS_ADMIN
) -> None:
    """Undo a rollover within its grace period (72 hours by default)."""
    from parta.orgs import year_commands

    _year_run(lambda s: year_commands.undo(s, rollover_id, as_phone))
