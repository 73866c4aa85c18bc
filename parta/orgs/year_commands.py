"""The ``parta year`` commands: plan, preview, run and undo a school-year rollover,
with Rich tables. ``parta.cli`` declares them (arguments, help) and calls these.

They act as an admin of the organization (the first admin, or ``--as-phone``),
through the same actions as the API, so rights, events and audit are the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta.config import Settings
from parta.db.engine import command_session
from parta.db.tables import ClassGroup, Rollover, User
from parta.errors import InvalidInput, rollover_not_found
from parta.orgs import classnames, rollover

Json = dict[str, Any]


async def _admin(db: AsyncSession, org_id: int, as_phone: str | None) -> User:
    from parta.migration.roster import importing_admin  # "the first admin, or this phone"

    return await importing_admin(db, org_id, as_phone)


async def _org_of(db: AsyncSession, rollover_id: int) -> int:
    org_id = (
        await db.execute(select(Rollover.org_id).where(Rollover.id == rollover_id))
    ).scalar_one_or_none()
    if org_id is None:
        raise rollover_not_found()
    return org_id


async def class_ids_by_names(db: AsyncSession, org_id: int, names: list[str]) -> list[int]:
    """ "5А,6Б" as typed, in any spelling, to the ids of the open classes of those names."""
    ids = []
    for raw in names:
        key = classnames.normalize_class(raw).norm_key
        found = (
            await db.execute(
                select(ClassGroup.id).where(
                    ClassGroup.org_id == org_id,
                    ClassGroup.kind == classnames.CLASS,
                    ClassGroup.norm_key == key,
                    ClassGroup.closed_at.is_(None),
                )
            )
        ).scalar_one_or_none()
        if found is None:
            raise InvalidInput(f"Класса {raw} нет в организации.", field="class_ids")
        ids.append(found)
    return ids


async def plan(
    settings: Settings,
    org_id: int,
    at: datetime,
    *,
    class_names: list[str] | None,
    leaving: list[int],
    as_phone: str | None,
) -> Json:
    async with command_session(settings.resolved_database_url) as db:
        actor = await _admin(db, org_id, as_phone)
        class_ids = await class_ids_by_names(db, org_id, class_names) if class_names else None
        new = rollover.RolloverPlan(
            at=at, class_ids=class_ids, leaving_member_ids=leaving, undo_hours=settings.rollover_undo_hours
        )
        planned = await rollover.plan_rollover(db, actor, org_id, new)
        return await rollover.get_rollover(db, actor, org_id, planned["id"])


async def preview(settings: Settings, rollover_id: int, as_phone: str | None) -> Json:
    async with command_session(settings.resolved_database_url) as db:
        org_id = await _org_of(db, rollover_id)
        return await rollover.get_rollover(db, await _admin(db, org_id, as_phone), org_id, rollover_id)


async def run(settings: Settings, rollover_id: int, *, now: bool, as_phone: str | None) -> Json:
    """``now``: run at once; otherwise only if its moment has passed (what the server's scheduler does)."""
    async with command_session(settings.resolved_database_url) as db:
        org_id = await _org_of(db, rollover_id)
        actor = await _admin(db, org_id, as_phone)
        if now:
            return await rollover.run_rollover(db, actor, org_id, rollover_id)
        from parta.clock import utcnow

        await rollover.apply_rollover(db, rollover_id, utcnow())
        return await rollover.get_rollover(db, actor, org_id, rollover_id)


async def undo(settings: Settings, rollover_id: int, as_phone: str | None) -> Json:
    async with command_session(settings.resolved_database_url) as db:
        org_id = await _org_of(db, rollover_id)
        return await rollover.undo_rollover(db, await _admin(db, org_id, as_phone), org_id, rollover_id)


OUTCOMES = {"promoted": "переведён", "graduated": "выпуск", "skipped": "пропущен"}


def print_rollover(console: Console, data: Json) -> None:
    """The rollover's state and a table of its classes."""
    years = (
        f"{(data.get('from_year') or {}).get('label', '?')} → {(data.get('to_year') or {}).get('label', '?')}"
    )
    console.print(
        f"Rollover {data['id']}: [bold]{data['status']}[/bold], {years}, "
        f"at {data['run_at_local']} ({data['timezone']})"
    )
    if data.get("undo_until"):
        console.print(f"Can be undone until {data['undo_until']}")
    table = Table(title="Classes")
    for column in ("class", "→", "outcome", "moving", "graduating", "leaving", "chats archived", "note"):
        table.add_column(column)
    for step in data.get("classes", []):
        table.add_row(
            step["name"],
            step.get("new_name", ""),
            OUTCOMES.get(step["outcome"], step["outcome"]),
            str(len(step["moving_member_ids"])),
            str(len(step["graduating_member_ids"])),
            ",".join(map(str, step["leaving_member_ids"])),
            ",".join(map(str, step["archived_chat_ids"])),
            step.get("reason", ""),
        )
    console.print(table)
