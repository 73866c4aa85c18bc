"""The ``parta`` command: serve, db upgrade, demo."""

from __future__ import annotations

import asyncio
import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
import uvicorn
from rich.console import Console

from parta.config import Settings
from parta.events.shared_frames import SharedFrameProtocol

if TYPE_CHECKING:
    from parta.migration.roster import RosterReport

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
    if upgrade:
        _upgrade(settings)
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
    """Uvicorn's logging, plus Parta's own loggers (sign-in codes in development)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    level = os.environ.get("PARTA_LOG_LEVEL", "INFO").upper()
    config["loggers"]["parta"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all pending schema migrations (SQLite or PostgreSQL)."""
    settings = Settings()
    _upgrade(settings)


def _upgrade(settings: Settings) -> None:
    from parta.db.migrate import current_head, upgrade

    with console.status("Applying migrations..."):
        upgrade(settings.resolved_database_url)
    console.print(f"Schema is at revision {current_head()} ({_safe_url(settings)})")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


@app.command()
def demo() -> None:
    """Seed demo data (idempotent): users, a group chat with messages."""
    from parta.demo import seed

    settings = Settings()
    _upgrade(settings)
    result = asyncio.run(seed(settings))
    console.print(result.summary())


@admin_app.command("create-operator")
def create_operator(phone: str = typer.Argument(..., help="phone number, e.g. +79123456789")) -> None:
    """Make the person with this phone an operator, who verifies organizations (idempotent)."""
    from parta.errors import PartaError

    settings = Settings()
    _upgrade(settings)
    try:
        console.print(asyncio.run(_create_operator(settings, phone)))
    except PartaError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(code=1) from None


async def _create_operator(settings: Settings, phone: str) -> str:
    from parta.db.engine import Database
    from parta.events.bus import LocalBus
    from parta.orgs.organizations import create_operator

    database = Database(settings.resolved_database_url, LocalBus())
    try:
        async with database.session() as db:
            result = await create_operator(db, phone)
    finally:
        await database.dispose()
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
    _upgrade(settings)
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

    from parta.db.engine import Database
    from parta.events.bus import LocalBus
    from parta.migration import roster

    database = Database(settings.resolved_database_url, LocalBus())
    try:
        async with database.session() as db:
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
    finally:
        await database.dispose()


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
