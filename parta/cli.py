"""The ``parta`` command: serve, db upgrade, demo."""

from __future__ import annotations

import asyncio
import copy
import os

import typer
import uvicorn
from rich.console import Console

from parta.config import Settings
from parta.events.shared_frames import SharedFrameProtocol

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
