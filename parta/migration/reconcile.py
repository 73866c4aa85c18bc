"""Reconciliation: who the migration files listed, and who has arrived since.

Both imports keep their rows as *listings* (``record_listings``): the roster's
rows for the organization, a manifest's rows for its chats. A listing's status
is computed when the report is read, from the state at that moment, so it is
never stale:

- ``joined``: the phone's account is in the organization (roster) or the chat
  (manifest);
- ``pending``: a membership or a chat place waits for the first sign-in;
- ``unknown_phone``: the row had no usable phone; only an invite link brings
  this person in, and only a person can tell who they are;
- ``not_added``: a phone, but neither of the above: the row was refused (a bad
  role, a child the school may not add) or the person left since.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.tables import (
    Chat,
    ChatMember,
    MigratedChat,
    MigrationListing,
    OrgMember,
    PendingChatMember,
    User,
)
from parta.errors import chat_not_found, denied
from parta.orgs import core
from parta.orgs.core import ACTIVE, PENDING
from parta.orgs.members import ROLE_NAMES
from parta.policy import ChatRole, OrgRole

ROSTER = "roster"
MANIFEST = "manifest"
JOINED = "joined"
PENDING_STATUS = "pending"
UNKNOWN_PHONE = "unknown_phone"
NOT_ADDED = "not_added"
STATUSES = (JOINED, PENDING_STATUS, UNKNOWN_PHONE, NOT_ADDED)
STATUS_NAMES = {
    JOINED: "присоединился",
    PENDING_STATUS: "ожидает",
    UNKNOWN_PHONE: "нет телефона",
    NOT_ADDED: "не добавлен",
}
CHAT_ROLE_NAMES = {ChatRole.member.value: "участник", ChatRole.admin.value: "администратор"}


@dataclass(frozen=True)
class Listing:
    """A row of a migration file as listed (any text may be empty or wrong)."""

    line: int
    name: str
    phone: str | None
    role: str
    class_name: str = ""


def _key(source: str, chat_id: int | None, listing: Listing) -> str:
    # A person is their phone; without one, their name (or, nameless, the line).
    name = " ".join(listing.name.casefold().replace("ё", "е").split())
    who = listing.phone or (f"name:{name}" if name else f"line:{listing.line}")
    return f"{source}|{chat_id or ''}|{who}"[:200]


async def record_listings(
    db: AsyncSession, org_id: int, *, source: str, chat_id: int | None, listings: Iterable[Listing]
) -> None:
    """Keep the rows of an import in the caller's transaction; a row listed before is updated."""
    wanted = {_key(source, chat_id, item): item for item in listings if item.name.strip() or item.phone}
    if not wanted:
        return
    prefix = f"{source}|{chat_id or ''}|"
    query = select(MigrationListing).where(
        MigrationListing.org_id == org_id,
        MigrationListing.source == source,
        MigrationListing.chat_id.is_(None) if chat_id is None else MigrationListing.chat_id == chat_id,
    )
    known = {
        row.listing_key: row
        for row in (await db.execute(query)).scalars()
        if row.listing_key.startswith(prefix)
    }
    now = utcnow()
    for key, item in wanted.items():
        row = known.get(key)
        if row is None:
            row = MigrationListing(
                org_id=org_id, chat_id=chat_id, source=source, listing_key=key, created_at=now
            )
            db.add(row)
        row.line, row.phone, row.role = item.line, item.phone, item.role[:24]
        row.name = " ".join(item.name.split())[:128]
        row.class_name = " ".join(item.class_name.split())[:64]
        row.updated_at = now
    await db.flush()


# --- The report ------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    source: str
    chat_id: int | None
    line: int
    name: str
    phone: str | None  # None also when the viewer may not see phones
    role: str
    class_name: str
    status: str


@dataclass
class Counts:
    listed: int = 0
    joined: int = 0
    pending: int = 0
    unknown_phone: int = 0
    not_added: int = 0

    def add(self, status: str) -> None:
        self.listed += 1
        setattr(self, status, getattr(self, status) + 1)


@dataclass
class ChatReport:
    chat_id: int
    title: str
    legacy_title: str
    member_count: int
    counts: Counts = field(default_factory=Counts)
    people: list[PersonRow] = field(default_factory=list)


@dataclass
class OrgReport:
    org_id: int
    totals: Counts
    roster: Counts
    chats: list[ChatReport]
    people: list[PersonRow]


@dataclass(frozen=True)
class _State:
    """Who is where now, by phone."""

    org_active: set[str]
    org_pending: set[str]
    in_chat: set[tuple[int, str]]
    chat_pending: set[tuple[int, str]]


async def _state(db: AsyncSession, org_id: int, chat_ids: list[int]) -> _State:
    active = select(User.phone).join(OrgMember, OrgMember.user_id == User.id)
    active = active.where(OrgMember.org_id == org_id, OrgMember.status == ACTIVE)
    pending = select(OrgMember.phone).where(OrgMember.org_id == org_id, OrgMember.status == PENDING)
    in_chat = select(ChatMember.chat_id, User.phone).join(User, User.id == ChatMember.user_id)
    waiting = select(PendingChatMember.chat_id, PendingChatMember.phone)
    return _State(
        org_active=set((await db.execute(active)).scalars()),
        org_pending={p for p in (await db.execute(pending)).scalars() if p},
        in_chat={(c, p) for c, p in await db.execute(in_chat.where(ChatMember.chat_id.in_(chat_ids)))},
        chat_pending={
            (c, p) for c, p in await db.execute(waiting.where(PendingChatMember.chat_id.in_(chat_ids)))
        },
    )


def _status(row: MigrationListing, state: _State) -> str:
    if row.phone is None:
        return UNKNOWN_PHONE
    if row.chat_id is None:
        joined, waiting = row.phone in state.org_active, row.phone in state.org_pending
    else:
        joined = (row.chat_id, row.phone) in state.in_chat
        waiting = (row.chat_id, row.phone) in state.chat_pending
    return JOINED if joined else PENDING_STATUS if waiting else NOT_ADDED


def _person(row: MigrationListing, status: str, *, with_phone: bool) -> PersonRow:
    return PersonRow(
        source=row.source,
        chat_id=row.chat_id,
        line=row.line,
        name=row.name,
        phone=row.phone if with_phone else None,
        role=row.role,
        class_name=row.class_name,
        status=status,
    )


async def _migrated(
    db: AsyncSession, org_id: int, chat_id: int | None = None
) -> list[tuple[MigratedChat, Chat]]:
    query = select(MigratedChat, Chat).join(Chat, Chat.id == MigratedChat.chat_id)
    query = query.where(MigratedChat.org_id == org_id)
    if chat_id is not None:
        query = query.where(MigratedChat.chat_id == chat_id)
    return [(m, c) for m, c in await db.execute(query.order_by(MigratedChat.id))]


# The organization's own list first (NULLs sort differently in SQLite and PostgreSQL).
_ORDER = (MigrationListing.chat_id.is_not(None), MigrationListing.chat_id, MigrationListing.line)


async def _build(
    db: AsyncSession,
    org_id: int,
    chats: list[tuple[MigratedChat, Chat]],
    *,
    with_phone: bool,
    whole_org: bool,
) -> OrgReport:
    chat_ids = [chat.id for _, chat in chats]
    counts = await q.member_counts(db, chat_ids)
    by_chat = {
        chat.id: ChatReport(chat.id, chat.title, m.legacy_title, counts.get(chat.id, 0)) for m, chat in chats
    }
    query = select(MigrationListing).where(MigrationListing.org_id == org_id)
    if not whole_org:
        query = query.where(MigrationListing.chat_id.in_(chat_ids))
    listings = list((await db.execute(query.order_by(*_ORDER))).scalars())
    state = await _state(db, org_id, chat_ids)
    report = OrgReport(org_id, Counts(), Counts(), list(by_chat.values()), [])
    for row in listings:
        status = _status(row, state)
        person = _person(row, status, with_phone=with_phone)
        report.totals.add(status)
        report.people.append(person)
        target = by_chat.get(row.chat_id) if row.chat_id is not None else None
        if row.chat_id is None:
            report.roster.add(status)
        elif target is not None:
            target.counts.add(status)
            target.people.append(person)
    await db.commit()  # ends the read
    return report


async def org_report(db: AsyncSession, actor: User, org_id: int) -> OrgReport:
    """Every listing of the organization with its status now: totals, the roster, each migrated chat.

    Admins only, so phones are shown. Raises ``org_not_found``, ``forbidden``.
    """
    access = await core.load_org(db, actor, org_id)
    core.require(policy.can_manage_org(access.role), "Сверку видят только администраторы организации.")
    return await _build(
        db,
        org_id,
        await _migrated(db, org_id),
        with_phone=bool(policy.can_see_phone(access.role)),
        whole_org=True,
    )


async def chat_report(db: AsyncSession, actor: User, org_id: int, chat_id: int) -> ChatReport:
    """One migrated chat's listings with their status: for the org's admins and the chat's own
    managers (who ran the old chat and know whom to chase); phones for org admins only.

    Raises ``org_not_found``, ``forbidden`` (neither), ``chat_not_found`` (not a migrated
    chat of this organization).
    """
    access = await core.load_org(db, actor, org_id)
    found = await _migrated(db, org_id, chat_id)
    # Only a migrated chat's managers count: a teacher runs class chats too.
    chat_role = await _chat_role(db, actor, chat_id) if found else None
    decision = policy.can_see_migration_report(access.role, chat_role)
    if not decision.allowed:
        raise denied(decision.reason, "Сверку чата видят администраторы организации и чата.")
    if not found:
        raise chat_not_found()
    report = await _build(
        db, org_id, found, with_phone=bool(policy.can_see_phone(access.role)), whole_org=False
    )
    return report.chats[0]


async def _chat_role(db: AsyncSession, actor: User, chat_id: int) -> ChatRole | None:
    me = await q.membership(db, chat_id, actor.id)
    return ChatRole(me.role) if me is not None else None


# --- CSV -------------------------------------------------------------------------

CSV_HEADER = ("Где", "Строка файла", "ФИО", "Телефон", "Роль", "Класс", "Статус")


def _role_name(source: str, role: str) -> str:
    if source == MANIFEST:
        return CHAT_ROLE_NAMES.get(role, role)
    try:
        return ROLE_NAMES[OrgRole(role)]
    except ValueError:
        return role


def to_csv(report: OrgReport) -> bytes:
    """One line per listed person, for Excel: UTF-8 with a BOM, ``;``, Russian headers."""
    titles = {c.chat_id: c.title for c in report.chats}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for p in report.people:
        where = "Список организации" if p.chat_id is None else f"Чат «{titles.get(p.chat_id, p.chat_id)}»"
        role = _role_name(p.source, p.role)
        status = STATUS_NAMES[p.status]
        writer.writerow((where, p.line, p.name, p.phone or "", role, p.class_name, status))
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
