"""Archiving a chat at a planned moment: from then on it is read-only and points to its successor.

A school moving to Parta closes its old chats on a set day ("25.08 at 09:00 our
time"): an admin plans the moment, members see it coming (``chat.updated`` with
``archive_at``), and when it passes every change to the chat (sending, editing,
reactions, pins, new members, joins by link) answers ``chat_archived``, while
history and search keep working.

Two things make the moment exact and single:

- The moment itself closes the chat. ``chats.is_archived`` treats a chat whose
  ``archive_at`` has passed as archived, so a send one second later is refused
  even if no scheduler has run yet.
- Announcing it happens once. The scheduler (parta/scheduler.py) of every server
  process claims due chats with a conditional UPDATE (``archived_at IS NULL AND
  archive_at <= now``); only the transaction that changed the row appends
  ``chat.archived``. The plan is in the database, so it survives restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.chats import is_archived, require, require_open
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import Chat, Organization, User
from parta.errors import ErrorCode, InvalidInput, NotFound, chat_not_found
from parta.events import log as events
from parta.orgs import core, timezones
from parta.orgs.core import OrgAccess
from parta.policy import ChatKind, ChatRole
from parta.render import Json, ts
from parta.scheduler import Transition

# A moment typed a little in the past (a slow form, a phone's clock) means "now";
# further back it is more likely a wrong year or day, so it is refused.
PAST_TOLERANCE = timedelta(minutes=10)
MAX_AHEAD = timedelta(days=2 * 366)
DUE_BATCH = 100


@dataclass(frozen=True)
class ArchivePlan:
    """``at``: a naive time is the chat's organization's local time; None: now."""

    at: datetime | None = None
    successor_chat_id: int | None = None


async def _is_org_admin(db: AsyncSession, org_id: int | None, user_id: int) -> bool:
    if org_id is None:
        return False
    member = await core.active_member(db, org_id, user_id)
    return member is not None and policy.OrgRole(member.role) in policy.ADMIN_ROLES


async def _load_for_archiving(db: AsyncSession, actor: User, chat_id: int) -> Chat:
    """The chat, row locked, for someone who may archive it.

    Members and admins of the chat's organization see it; anyone else gets
    ``chat_not_found``. Seeing without the right is ``forbidden``.
    """
    chat = (await db.execute(select(Chat).where(Chat.id == chat_id).with_for_update())).scalar_one_or_none()
    if chat is None:
        raise chat_not_found()
    member = await q.membership(db, chat.id, actor.id)
    is_org_admin = await _is_org_admin(db, chat.org_id, actor.id)
    if member is None and not is_org_admin:
        raise chat_not_found()
    require(
        policy.can_archive_chat(
            ChatKind(chat.kind), ChatRole(member.role) if member else None, is_org_admin=is_org_admin
        ),
        "Закрыть чат могут его владелец и администраторы или администраторы организации.",
    )
    return chat


async def _successor(db: AsyncSession, actor: User, chat: Chat, successor_id: int | None) -> Chat | None:
    """The chat the conversation moves to: one the actor can see, open, and not this one."""
    if successor_id is None:
        return None
    if successor_id == chat.id:
        raise InvalidInput("Чат не может продолжаться в самом себе.", field="successor_chat_id")
    successor = await db.get(Chat, successor_id)
    visible = successor is not None and (
        await q.membership(db, successor.id, actor.id) is not None
        or await _is_org_admin(db, successor.org_id, actor.id)
    )
    if successor is None or not visible:
        raise NotFound("Чат-продолжение не найден.", code=ErrorCode.chat_not_found, field="successor_chat_id")
    if is_archived(successor):
        raise InvalidInput("Чат-продолжение сам уже в архиве.", field="successor_chat_id")
    return successor


async def chat_timezone(db: AsyncSession, chat: Chat) -> str:
    """Local time of a chat is its organization's; a chat of no organization keeps Moscow time."""
    org = await db.get(Organization, chat.org_id) if chat.org_id is not None else None
    if org is None:
        return timezones.DEFAULT_TIMEZONE
    return timezones.effective_timezone(region=org.region, timezone=org.timezone)


def _moment(at: datetime | None, timezone: str, now: datetime) -> datetime:
    if at is None:
        return now
    moment = timezones.local_to_utc(at, timezone)
    if moment < now - PAST_TOLERANCE:
        raise InvalidInput("Этот момент уже прошёл: укажите будущие дату и время.", field="at")
    if moment > now + MAX_AHEAD:
        raise InvalidInput("Закрыть чат можно не позже чем через два года.", field="at")
    return max(moment, now)


async def _audit(db: AsyncSession, actor: User, chat: Chat, action: str, details: Json) -> None:
    """Org chats: the archiving is an admin action of the school, so it goes to its audit log."""
    if chat.org_id is None:
        return
    org = await db.get(Organization, chat.org_id)
    if org is None:
        return
    member = await core.active_member(db, org.id, actor.id)
    access = OrgAccess(org=org, actor=actor, member=member, is_operator=False)
    await core.audit(db, access, action, details={"chat_id": chat.id} | details)


def _plan_payload(chat: Chat) -> Json:
    return {
        "chat_id": chat.id,
        "archive_at": ts(chat.archive_at) if chat.archive_at else None,
        "successor_chat_id": chat.successor_chat_id,
    }


async def schedule_archive(db: AsyncSession, actor: User, chat_id: int, plan: ArchivePlan) -> Chat:
    """Plan (or re-plan) the moment a chat becomes read-only, with its successor.

    A moment now or just past archives at once (``chat.archived``); a future one
    emits ``chat.updated`` with ``archive_at`` and ``successor_chat_id``. Org
    chats get an audit entry. Raises ``chat_not_found`` (chat or successor not
    visible), ``forbidden``, ``chat_archived`` (already archived),
    ``invalid_request`` (``at``, ``successor_chat_id``).
    """
    async with transaction(db):
        chat = await _load_for_archiving(db, actor, chat_id)
        await require_open(db, chat)
        successor = await _successor(db, actor, chat, plan.successor_chat_id)
        now = utcnow()
        moment = _moment(plan.at, await chat_timezone(db, chat), now)
        chat.archive_at, chat.archive_by = moment, actor.id
        chat.successor_chat_id = successor.id if successor is not None else None
        await _audit(db, actor, chat, "chat.archive_scheduled", {"archive_at": ts(moment)})
        await db.flush()
        if moment <= now:
            await claim_archive(db, chat.id, now)
            await db.refresh(chat)
        else:
            await events.append(db, "chat.updated", chat_id=chat.id, payload=_plan_payload(chat))
    return chat


async def cancel_archive(db: AsyncSession, actor: User, chat_id: int) -> Chat:
    """Cancel a planned archiving that has not happened yet. Nothing planned, nothing changes.

    Emits ``chat.updated`` (``archive_at`` null). Raises ``chat_not_found``,
    ``forbidden``, ``chat_archived`` (too late: the moment has passed).
    """
    async with transaction(db):
        chat = await _load_for_archiving(db, actor, chat_id)
        await require_open(db, chat)
        if chat.archive_at is None:
            return chat
        chat.archive_at = chat.archive_by = chat.successor_chat_id = None
        await _audit(db, actor, chat, "chat.archive_cancelled", {})
        await events.append(db, "chat.updated", chat_id=chat.id, payload=_plan_payload(chat))
    return chat


async def claim_archive(db: AsyncSession, chat_id: int, now: datetime) -> bool:
    """Mark a due chat archived, once across all processes; True if this call did it.

    The conditional UPDATE is the claim: of several transactions racing for the
    row, PostgreSQL lets the first change it and re-checks ``archived_at IS NULL``
    for the others after it commits (they change nothing); SQLite has one
    writer. Only the winner appends ``chat.archived``. Runs in the caller's
    transaction.
    """
    claimed = await db.execute(
        update(Chat)
        .where(
            Chat.id == chat_id,
            Chat.archived_at.is_(None),
            Chat.archive_at.is_not(None),
            Chat.archive_at <= now,
        )
        .values(archived_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    archive_at, successor_id = (
        await db.execute(select(Chat.archive_at, Chat.successor_chat_id).where(Chat.id == chat_id))
    ).one()
    payload: Json = {"chat_id": chat_id, "archived_at": ts(now)}
    if archive_at is not None:  # always set when claimed; None only to the type checker
        payload["archive_at"] = ts(archive_at)
    if successor_id is not None:
        payload["successor_chat_id"] = successor_id
    await events.append(db, "chat.archived", chat_id=chat_id, payload=payload)
    return True


async def reopen_chat(db: AsyncSession, chat_id: int) -> bool:
    """Take an archived chat out of the archive (an undone school-year rollover), in the
    caller's transaction; True if it was archived. Emits ``chat.updated``
    (``is_archived`` false, plan and successor cleared)."""
    chat = await db.get(Chat, chat_id)
    if chat is None or (chat.archived_at is None and chat.archive_at is None):
        return False
    chat.archived_at = chat.archive_at = chat.archive_by = chat.successor_chat_id = None
    await db.flush()
    payload = _plan_payload(chat) | {"is_archived": False}
    await events.append(db, "chat.updated", chat_id=chat.id, payload=payload)
    return True


async def due_archives(db: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Chats whose moment has passed and which nobody has marked archived yet, oldest plan first."""
    rows = await db.execute(
        select(Chat.id)
        .where(Chat.archived_at.is_(None), Chat.archive_at.is_not(None), Chat.archive_at <= now)
        .order_by(Chat.archive_at, Chat.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def apply_archive(db: AsyncSession, chat_id: int, now: datetime) -> bool:
    """One due chat, in its own transaction (the scheduler's ``apply``)."""
    async with transaction(db):
        return await claim_archive(db, chat_id, now)


ARCHIVE_TRANSITION = Transition(name="chat.archive", due=due_archives, apply=apply_archive)


@dataclass(frozen=True)
class ArchiveSchedule:
    timezone: str
    chats: list[Chat]


async def archive_schedule(db: AsyncSession, actor: User, org_id: int) -> ArchiveSchedule:
    """The organization's chats with a planned or done archiving, by moment (admins, operators).

    Raises ``org_not_found``, ``forbidden``.
    """
    access = await core.load_org(db, actor, org_id)
    managing = policy.can_manage_org(access.role)
    # load_org checks the operator table only for non-members; an operator may also be a member.
    if not managing and not (access.is_operator or await core.is_operator(db, actor.id)):
        core.require(managing, "План закрытия чатов видят администраторы организации.")
    rows = await db.execute(
        select(Chat)
        .where(Chat.org_id == org_id, Chat.archive_at.is_not(None))
        .order_by(Chat.archive_at, Chat.id)
    )
    org = access.org
    timezone = timezones.effective_timezone(region=org.region, timezone=org.timezone)
    return ArchiveSchedule(timezone=timezone, chats=list(rows.scalars()))
