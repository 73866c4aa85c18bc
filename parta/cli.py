"""The ``parta`` command: serve, db upgrade, demo."""

from __future__ import annotations

import asyncio
import copy
import os

import typer
import uvicorn
from rich.console import Console

from parta.config import Settings

app = typer.Typer(help="Parta: open educational messenger.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
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
        ws="websockets-sansio",
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
