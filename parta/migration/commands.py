"""The migration commands of the ``parta`` CLI: chat manifests, region files, the
reconciliation report; each with Rich progress and a summary table.

``parta.cli`` declares the commands (arguments, help) and calls these, so the
CLI module stays a list of commands.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from parta.config import Settings
from parta.db.engine import command_session
from parta.migration import manifest, reconcile, region, roster


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _summary_table(title: str, rows: dict[str, int], labels: dict[str, str]) -> Table:
    table = Table(title=title)
    table.add_column("")
    table.add_column("count", justify="right")
    for key, count in rows.items():
        table.add_row(labels.get(key, key), str(count))
    return table


# --- parta import chats ---------------------------------------------------------------


async def import_chats(
    settings: Settings, console: Console, data: bytes, org_id: int, as_phone: str | None, *, dry_run: bool
) -> manifest.ManifestReport:
    async with command_session(settings.resolved_database_url) as db:
        actor = await roster.importing_admin(db, org_id, as_phone)
        if dry_run:
            return await manifest.check_manifest(db, actor, org_id, data)
        with _bar(console) as bar:
            task = bar.add_task("Chats", total=None)
            return await manifest.import_manifest(
                db,
                actor,
                org_id,
                data,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )


def print_manifest(console: Console, report: manifest.ManifestReport, *, dry_run: bool) -> None:
    labels = {
        "chats_created": "chats created",
        "added": "added (had an account)",
        "pending": "pending (until first sign-in)",
        "existing": "already there",
        "rejected": "rejected",
    }
    title = "Dry run: nothing written" if dry_run else "Chat manifest imported"
    console.print(_summary_table(title, report.summary(), labels))
    links = Table(title="Chats: paste each link into the old chat")
    for column in ("chat id", "title", "new", "invite link"):
        links.add_column(column)
    for chat in report.chats:
        link = f"/join/{chat.token}" if chat.token else ""
        links.add_row(str(chat.chat_id or "-"), chat.title, "yes" if chat.is_new else "", link)
    console.print(links)
    for row in report.rejected:
        console.print(f"line {row.line}: {row.reason}")


# --- parta import region ------------------------------------------------------------


def _data_lines(path: Path) -> int:
    """Lines of the file but the header, counted in binary chunks (the file may be huge)."""
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return max(count - 1, 0)


async def import_region(
    settings: Settings,
    console: Console,
    path: Path,
    as_phone: str,
    *,
    region_code: str,
    parent_id: int | None,
) -> region.RegionReport:
    async with command_session(settings.resolved_database_url) as db:
        actor = await roster.importing_admin(db, 0, as_phone)
        with _bar(console) as bar:
            task = bar.add_task("Rows", total=_data_lines(path))
            return await region.import_region(
                db,
                actor,
                path,
                region=region_code,
                parent_id=parent_id,
                progress=lambda rows: bar.advance(task, rows),
            )


def print_region(console: Console, report: region.RegionReport) -> None:
    labels = {
        "rows": "rows read",
        "orgs_created": "organizations created",
        "orgs_found": "organizations found",
        "created": "people added (active)",
        "pending": "pending (until first sign-in)",
        "existing": "already there",
        "classes_created": "classes created",
        "parents_linked": "parents linked",
        "rejected": "rejected rows",
    }
    console.print(_summary_table("Region imported", report.summary(), labels))
    for row in report.rejected:
        console.print(f"line {row.line} ({row.org}): {row.reason}")
    if report.rejected_count > len(report.rejected):
        console.print(f"... and {report.rejected_count - len(report.rejected)} more rejected rows")


# --- parta migration report -----------------------------------------------------------


async def report(
    settings: Settings, org_id: int, as_phone: str | None, csv_path: Path | None
) -> reconcile.OrgReport:
    async with command_session(settings.resolved_database_url) as db:
        actor = await roster.importing_admin(db, org_id, as_phone)
        found = await reconcile.org_report(db, actor, org_id)
    if csv_path is not None:
        await asyncio.to_thread(csv_path.write_bytes, reconcile.to_csv(found))
    return found


def print_report(console: Console, found: reconcile.OrgReport) -> None:
    table = Table(title=f"Migration of organization {found.org_id}: who has moved")
    for column in ("", "listed", "joined", "pending", "no phone", "not added", "members"):
        table.add_column(column, justify="left" if not column else "right")

    def row(label: str, counts: reconcile.Counts, members: str = "") -> None:
        c = counts
        table.add_row(
            label, *(str(n) for n in (c.listed, c.joined, c.pending, c.unknown_phone, c.not_added)), members
        )

    row("organization list (roster)", found.roster)
    for chat in found.chats:
        row(f"chat «{chat.title}»", chat.counts, str(chat.member_count))
    row("total", found.totals)
    console.print(table)
