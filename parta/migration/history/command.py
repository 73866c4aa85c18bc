"""``parta import history``: the import from the server's command line, with Rich
progress (a bar with counts) and a final summary table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from parta import media
from parta.config import Settings
from parta.db.engine import command_session
from parta.migration import history, roster
from parta.migration.history import core

LABELS = {
    "imported": "imported",
    "existing": "skipped: already there",
    "service_skipped": "skipped: service messages",
    "rejected": "rejected",
    "authors_matched": "authors matched to Parta users",
    "authors_legacy": "authors kept as legacy names",
    "attachments_stored": "attachments stored",
    "attachments_missing": "attachments missing from the export",
    "attachments_skipped": "attachments skipped (size, type)",
}


def read_mapping_file(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


async def run(
    settings: Settings,
    console: Console,
    path: Path,
    *,
    org_id: int,
    target: core.Target,
    export_format: history.ExportFormat | None,
    mapping: bytes | None,
    as_phone: str | None,
    dry_run: bool,
) -> core.HistoryReport:
    """Import as ``as_phone`` (default: the org's first admin); raises what the import raises."""
    job = core.HistoryImport(
        load=history.loader(path, settings, export_format),
        target=target,
        mapping=mapping,
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    async with command_session(settings.resolved_database_url) as db:
        actor = await roster.importing_admin(db, org_id, as_phone)
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("Messages", total=None)
            return await core.import_history(
                db,
                settings,
                media.store_for(settings),
                actor,
                org_id,
                job,
                dry_run=dry_run,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )


def print_report(console: Console, report: core.HistoryReport, *, dry_run: bool) -> None:
    title = "Dry run: nothing written" if dry_run else "History imported"
    table = Table(title=f"{title} ({report.source}: {report.title})")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("entries read", str(report.messages))
    for key, count in report.summary().items():
        table.add_row(LABELS[key], str(count))
    console.print(table)
    if report.chat_id is not None:
        console.print(f"chat id: {report.chat_id}")
    for line in report.warnings:
        console.print(f"[yellow]{line}[/yellow]")
    for row in report.rejected:
        console.print(f"message {row.legacy_id}: {row.reason}")
