"""Chat membership manifests: a file of (legacy chat title, phone, role) recreates a
school's chats from another messenger in Parta, with their people.

Each legacy title becomes one group chat of the organization, owned by the
importing admin and remembered as a *migrated chat* (by its folded title), so
running the file again reuses the chat. People are added through the ordinary
action (``chats.add_members``), so its rules hold: a child in safe mode is
added only by someone in the child's circle (the staff of a verified school
where the child studies), otherwise the row is refused with the reason. A
phone without an account keeps a place in the chat that the first sign-in
with that phone takes (``activate_pending_chats``). Every row, the ones with
no usable phone too, is kept as a listing for the reconciliation report; each
new chat gets an invite link for the people the file could not name.

Roles: "администратор" becomes a chat admin. "владелец" (owner) becomes a chat
admin as well: the chat's one owner is the admin who imported it, who answers
for it in the school.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import chats, policy, safety
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import (
    Chat,
    ChatInvite,
    ChatMember,
    MigratedChat,
    Organization,
    OrgMember,
    PendingChatMember,
    User,
)
from parta.errors import ErrorCode, InvalidInput, NotFound, PartaError, chat_not_found
from parta.events import log as events
from parta.invites import TOKEN_PREFIX_LENGTH
from parta.migration import reconcile, tabular
from parta.migration.roster import Progress, Rejected
from parta.migration.tabular import Row
from parta.orgs import core
from parta.orgs.core import PENDING, OrgAccess
from parta.orgs.members import _lock_phone as lock_phone  # the one lock shared with the first sign-in
from parta.phones import normalize_phone
from parta.policy import ChatKind, ChatRole
from parta.render import Json, user_public
from parta.text import require_printable
from parta.tokens import new_token, token_hash

MAX_CHATS = 500
MAX_NAME = 128
INVITE_LIFETIME = timedelta(days=30)  # long enough for a term's stragglers; a new link is one click

COLUMNS: dict[str, str] = {
    "чат": "chat", "chat": "chat", "название чата": "chat", "группа": "chat", "group": "chat",
    "телефон": "phone", "phone": "phone",
    "роль": "role", "role": "role",
    "фио": "name", "full name": "name", "name": "name", "имя": "name",
}  # fmt: skip
REQUIRED = {"chat": "чат", "phone": "телефон"}
ROLES: dict[str, ChatRole] = {
    "": ChatRole.member, "участник": ChatRole.member, "участница": ChatRole.member,
    "member": ChatRole.member,
    "администратор": ChatRole.admin, "админ": ChatRole.admin, "admin": ChatRole.admin,
    "владелец": ChatRole.admin, "owner": ChatRole.admin,
}  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """A valid row: one person for one chat."""

    line: int
    key: str  # the chat's folded legacy title
    phone: str
    role: ChatRole
    name: str


@dataclass
class ChatOutcome:
    chat_id: int | None  # None in a dry run for a chat not made yet
    title: str
    is_new: bool
    # The new chat's invite link as plain values (a later row's rollback expires rows).
    invite_id: int | None = None
    expires_at: datetime | None = None
    token: str | None = None  # shown once: only in this report


@dataclass
class ManifestReport:
    """What an import did (or, for a check, would do)."""

    rows: int = 0
    chats_created: int = 0
    added: int = 0  # had an account: in the chat now
    pending: int = 0  # a place kept until the first sign-in
    existing: int = 0  # already in the chat (or already waiting), left as they are
    rejected: list[Rejected] = field(default_factory=list)
    chats: list[ChatOutcome] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "chats_created": self.chats_created,
            "added": self.added,
            "pending": self.pending,
            "existing": self.existing,
            "rejected": len(self.rejected),
        }


# --- Checking rows --------------------------------------------------------------


def legacy_key(title: str) -> str:
    return " ".join(title.casefold().replace("ё", "е").split())


def _title(raw: str) -> str:
    title = " ".join(require_printable(raw, "chat").split())
    if not title:
        raise InvalidInput("Не указан чат.", field="chat")
    if len(title) > chats.MAX_TITLE:
        raise InvalidInput(f"Название чата не длиннее {chats.MAX_TITLE} символов.", field="chat")
    return title


def _role(raw: str) -> ChatRole:
    role = ROLES.get(tabular.header_key(raw))
    if role is None:
        raise InvalidInput(f"Неизвестная роль «{raw}»: участник, администратор или владелец.", field="role")
    return role


def _phone(raw: str) -> str:
    if not raw:
        raise InvalidInput("Не указан телефон.", field="phone")
    return normalize_phone(raw)


def _maybe_phone(raw: str) -> str | None:
    try:
        return _phone(raw)
    except PartaError:
        return None


def _name(raw: str) -> str:
    name = " ".join(require_printable(raw, "name").split())
    if len(name) > MAX_NAME:
        raise InvalidInput(f"ФИО не длиннее {MAX_NAME} символов.", field="name")
    return name


@dataclass
class _File:
    """The file's rows sorted out: chats by key (in file order), valid entries, listings."""

    titles: dict[str, str] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    listings: dict[str, list[reconcile.Listing]] = field(default_factory=dict)


def _sort_rows(rows: list[Row], report: ManifestReport) -> _File:
    found = _File()
    seen: dict[tuple[str, str], int] = {}
    for line, cells in rows:
        try:
            title = _title(cells["chat"])
        except PartaError as exc:
            report.rejected.append(Rejected(line, exc.message))
            continue
        key = legacy_key(title)
        found.titles.setdefault(key, title)
        role = ROLES.get(tabular.header_key(cells.get("role", "")))
        listing = reconcile.Listing(
            line, cells.get("name", ""), _maybe_phone(cells["phone"]), role.value if role else ""
        )
        found.listings.setdefault(key, []).append(listing)
        try:
            entry = Entry(
                line, key, _phone(cells["phone"]), _role(cells.get("role", "")), _name(cells.get("name", ""))
            )
        except PartaError as exc:
            report.rejected.append(Rejected(line, exc.message))
            continue
        if (key, entry.phone) in seen:
            report.rejected.append(
                Rejected(
                    line, f"Повтор: этот телефон в этом чате уже есть в строке {seen[key, entry.phone]}."
                )
            )
            continue
        seen[key, entry.phone] = line
        found.entries.append(entry)
    if len(found.titles) > MAX_CHATS:
        raise tabular.bad_file(f"Не больше {MAX_CHATS} чатов в одном файле.")
    return found


def read_manifest(data: bytes) -> list[Row]:
    """The file's rows; raises ``file_empty``, ``file_too_large``, ``invalid_request`` (field ``file``)."""
    return tabular.read_table(data, COLUMNS, REQUIRED)


# --- The organization as it is ----------------------------------------------------


@dataclass
class _Plan:
    report: ManifestReport
    file: _File
    chats: dict[str, int]  # key -> chat id of the migrated chats there are
    accounts: dict[str, User]  # phone -> account
    members: set[tuple[int, int]]  # (chat id, user id)
    waiting: set[tuple[int, str]]  # (chat id, phone) places kept


async def _migrated_chats(db: AsyncSession, org_id: int) -> dict[str, int]:
    query = select(MigratedChat.legacy_key, MigratedChat.chat_id).where(MigratedChat.org_id == org_id)
    return {key: chat_id for key, chat_id in await db.execute(query)}


async def _plan(db: AsyncSession, actor: User, org_id: int, data: bytes) -> _Plan:
    # The owner of the new chats needs a name: checked with the rights, before the file.
    check = partial(chats.require_can_chat, actor)
    rows = await tabular.read_as_admin(db, actor, org_id, partial(read_manifest, data), check)
    async with transaction(db):
        await core.load_org_for_admin(db, actor, org_id)
        report = ManifestReport(rows=len(rows))
        found = _sort_rows(rows, report)
        existing = await _migrated_chats(db, org_id)
        chat_ids = list(existing.values())
        phones = list({e.phone for e in found.entries})
        users = list((await db.execute(select(User).where(User.phone.in_(phones)))).scalars())
        members = select(ChatMember.chat_id, ChatMember.user_id).where(ChatMember.chat_id.in_(chat_ids))
        waiting = select(PendingChatMember.chat_id, PendingChatMember.phone)
        waiting = waiting.where(PendingChatMember.chat_id.in_(chat_ids))
        return _Plan(
            report=report,
            file=found,
            chats=existing,
            accounts={u.phone: u for u in users},
            members={(c, u) for c, u in await db.execute(members)},
            waiting={(c, p) for c, p in await db.execute(waiting)},
        )


async def _refusal(db: AsyncSession, actor: User, user: User) -> str | None:
    """Why the actor may not add this account to a chat (the add action's own rule), or None."""
    reach = await safety.reach(db, actor.id, user)
    decision = policy.can_contact(actor_id=actor.id, target_id=user.id, reach=reach)
    if decision.allowed:
        return None
    if decision.reason == "safe_mode":
        return (
            "Ребёнок в безопасном режиме: добавить его может только школа, где он учится "
            "(подтверждённая), или родитель."
        )
    if decision.reason == "blocked":
        return "Этот человек ограничил контакты с вами."
    return "Этого человека нельзя добавить."


# --- Actions --------------------------------------------------------------------


async def check_manifest(db: AsyncSession, actor: User, org_id: int, data: bytes) -> ManifestReport:
    """What importing the file would do, from the current state; writes nothing.

    Raises ``org_not_found``, ``forbidden`` (not an admin; ``profile_incomplete``),
    ``file_empty``, ``file_too_large``, ``invalid_request`` (field ``file``).
    """
    plan = await _plan(db, actor, org_id, data)
    report = plan.report
    for key, title in plan.file.titles.items():
        report.chats.append(ChatOutcome(plan.chats.get(key), title, is_new=key not in plan.chats))
    report.chats_created = sum(1 for c in report.chats if c.is_new)
    for entry in plan.file.entries:
        chat_id, user = plan.chats.get(entry.key), plan.accounts.get(entry.phone)
        if user is None and chat_id is not None and (chat_id, entry.phone) in plan.waiting:
            report.existing += 1
        elif user is None:
            report.pending += 1
        elif user.id == actor.id or (chat_id is not None and (chat_id, user.id) in plan.members):
            report.existing += 1
        elif (refusal := await _refusal(db, actor, user)) is not None:
            report.rejected.append(Rejected(entry.line, refusal))
        else:
            report.added += 1
    report.rejected.sort(key=lambda r: r.line)
    await db.commit()  # ends the read; nothing was written
    return report


async def import_manifest(
    db: AsyncSession, actor: User, org_id: int, data: bytes, *, progress: Progress | None = None
) -> ManifestReport:
    """Import the file: make the missing chats, add the people, keep places for unknown phones.

    A new chat emits ``chat.created`` and is audited (``migration.chat_created``)
    with its invite link, whose token is only in this report. Adding people is
    ``chats.add_members`` (``chat.member_added``; ``chat.member_updated`` for a
    chat admin), a transaction per row; a refused row (safe mode, a block) is
    listed with its reason. People already in the chat are left alone, so a
    second run changes nothing. ``progress(done, total)`` follows the rows.
    Raises what ``check_manifest`` raises, before writing anything.
    """
    plan = await _plan(db, actor, org_id, data)
    report = plan.report
    total = len(plan.file.entries)
    done = 0
    for key, title in plan.file.titles.items():
        outcome = await _chat_for(db, actor, org_id, key, title)
        report.chats.append(outcome)
        report.chats_created += outcome.is_new
        assert outcome.chat_id is not None
        async with transaction(db):
            await reconcile.record_listings(
                db,
                org_id,
                source=reconcile.MANIFEST,
                chat_id=outcome.chat_id,
                listings=plan.file.listings[key],
            )
        for entry in (e for e in plan.file.entries if e.key == key):
            await _add_entry(db, actor, outcome.chat_id, entry, report)
            done += 1
            if progress is not None:
                progress(done, total)
    report.rejected.sort(key=lambda r: r.line)
    return report


async def _chat_for(db: AsyncSession, actor: User, org_id: int, key: str, title: str) -> ChatOutcome:
    """The migrated chat for a legacy title: found, or made with its invite link."""
    async with transaction(db):
        # The org's row lock makes two imports of one file agree on one chat per title.
        access = await core.load_org_for_admin(db, actor, org_id)
        existing = (await _migrated_chats(db, org_id)).get(key)
        if existing is not None:
            return ChatOutcome(existing, title, is_new=False)
        chat = await _create_chat(db, access, key, title)
        invite, token = _new_invite(chat, actor, utcnow())
        db.add(invite)
        await db.flush()
        details: Json = {"chat_id": chat.id, "title": title}
        await core.audit(db, access, "migration.chat_created", details=details)
        return ChatOutcome(
            chat.id, title, is_new=True, invite_id=invite.id, expires_at=invite.expires_at, token=token
        )


async def _create_chat(db: AsyncSession, access: OrgAccess, key: str, title: str) -> Chat:
    """A group chat of the organization (not managed: its people are added by hand),
    owned by the importing admin, remembered under its legacy title."""
    now = utcnow()
    actor = access.actor
    since = await events.lock_and_head(db)
    chat = await chats.add_org_group(db, actor, access.org.id, title, [], since)
    db.add(
        MigratedChat(
            org_id=access.org.id,
            chat_id=chat.id,
            legacy_title=title,
            legacy_key=key,
            created_by=actor.id,
            created_at=now,
        )
    )
    await db.flush()
    payload: Json = {"chat_id": chat.id, "kind": chat.kind, "title": chat.title}
    await events.append(db, "chat.created", chat_id=chat.id, payload=payload)
    return chat


def _new_invite(chat: Chat, actor: User, now: datetime) -> tuple[ChatInvite, str]:
    token = new_token()
    invite = ChatInvite(
        chat_id=chat.id,
        token_hash=token_hash(token),
        token_prefix=token[:TOKEN_PREFIX_LENGTH],
        created_by=actor.id,
        created_at=now,
        expires_at=now + INVITE_LIFETIME,
        usage_limit=None,
        usage_count=0,
    )
    return invite, token


async def _add_entry(
    db: AsyncSession, actor: User, chat_id: int, entry: Entry, report: ManifestReport
) -> None:
    user = (await db.execute(select(User).where(User.phone == entry.phone))).scalar_one_or_none()
    await db.commit()  # ends the read
    if user is None:
        kept = await _keep_place(db, actor, chat_id, entry)
        if kept != "account":
            report.pending += kept == "kept"
            report.existing += kept == "existing"
            return
        user = (await db.execute(select(User).where(User.phone == entry.phone))).scalar_one()
    if user.id == actor.id:
        report.existing += 1
        return
    try:
        added = await chats.add_members(db, actor, chat_id, [user.id])
        if added and entry.role is ChatRole.admin:
            await chats.set_member_role(db, actor, chat_id, user.id, ChatRole.admin)
    except PartaError as exc:
        # The rollback expired every loaded row; reload before reading them again.
        await db.refresh(actor)
        await db.refresh(user)
        refused = isinstance(exc, NotFound) and exc.instance_code is ErrorCode.user_not_found
        refusal = await _refusal(db, actor, user) if refused else None
        report.rejected.append(Rejected(entry.line, refusal or exc.message))
        await db.commit()  # ends the read
        return
    report.added += bool(added)
    report.existing += not added


async def _keep_place(db: AsyncSession, actor: User, chat_id: int, entry: Entry) -> str:
    """Keep a place in the chat for a phone with no account: ``kept``, ``existing`` (kept
    before), or ``account`` (the account appeared meanwhile: add it instead).

    Raises ``chat_not_found``, ``forbidden`` (not the chat's manager) as ``add_members`` would.
    """
    async with transaction(db):
        chat, me = await chats.load_member_chat(db, actor, chat_id, for_update=True)
        chats.require(
            policy.can_add_members(ChatKind(chat.kind), ChatRole(me.role)),
            "Добавлять участников могут владелец и администраторы.",
        )
        await lock_phone(db, entry.phone)  # against the first sign-in with this phone, meanwhile
        if (await db.execute(select(User.id).where(User.phone == entry.phone))).first() is not None:
            return "account"
        if await db.get(PendingChatMember, (chat_id, entry.phone)) is not None:
            return "existing"
        db.add(
            PendingChatMember(
                chat_id=chat_id,
                phone=entry.phone,
                role=entry.role.value,
                name=entry.name,
                created_by=actor.id,
                created_at=utcnow(),
            )
        )
        return "kept"


# --- The first sign-in --------------------------------------------------------------


async def activate_pending_chats(db: AsyncSession, user: User) -> None:
    """Put a new account into the chats that kept a place for its phone.

    Runs inside the first sign-in's transaction, under the phone's lock, before
    the organization memberships activate (so their welcome lists these chats).
    Emits ``chat.member_added`` to each chat and ``notice.welcome`` for the
    organizations where the person has no membership of their own to be
    welcomed by. An archived chat's place is dropped.
    """
    query = select(PendingChatMember).where(PendingChatMember.phone == user.phone)
    places = list((await db.execute(query.order_by(PendingChatMember.chat_id))).scalars())
    if not places:
        return
    since = await events.lock_and_head(db)
    joined: list[tuple[Chat, int | None]] = []
    for place in places:
        chat = await db.get(Chat, place.chat_id)
        await db.delete(place)
        if chat is None or chat.archived_at is not None or await q.membership(db, chat.id, user.id):
            continue
        await chats.join_chat(db, chat, user, ChatRole(place.role), since)
        joined.append((chat, place.created_by))
    await db.flush()
    for chat, by in joined:
        payload: Json = {"chat_id": chat.id, "by": by, "users": [user_public(user)]}
        await events.append(db, "chat.member_added", chat_id=chat.id, payload=payload)
    await _welcome(db, user, [chat for chat, _ in joined])


async def _welcome(db: AsyncSession, user: User, joined: list[Chat]) -> None:
    """``notice.welcome`` per organization whose chats the person entered without being
    its member; a pending membership's own welcome lists the chats otherwise."""
    by_org: dict[int, list[Chat]] = {}
    for chat in joined:
        if chat.org_id is not None:
            by_org.setdefault(chat.org_id, []).append(chat)
    waiting = select(OrgMember.org_id).where(OrgMember.phone == user.phone, OrgMember.status == PENDING)
    welcomed = set((await db.execute(waiting)).scalars())
    for org_id, org_chats in by_org.items():
        org = await db.get(Organization, org_id)
        if org is None or org_id in welcomed:
            continue
        titles = ", ".join(c.title for c in org_chats)
        payload: Json = {
            "org_id": org.id,
            "org_name": org.short_name,
            "chats": [{"id": c.id, "title": c.title} for c in org_chats],
            "text": f"Добро пожаловать в Парту! «{org.short_name}» перенесла сюда ваши чаты: {titles}.",
        }
        await events.append_for_users(db, "notice.welcome", [user.id], payload)


# --- Migrated chats ---------------------------------------------------------------


@dataclass(frozen=True)
class MigratedChatView:
    chat: Chat
    legacy_title: str
    member_count: int
    pending_count: int


async def list_migrated_chats(db: AsyncSession, actor: User, org_id: int) -> list[MigratedChatView]:
    """The organization's migrated chats, oldest first, with members and places still kept.

    Admins only. Raises ``org_not_found``, ``forbidden``.
    """
    access = await core.load_org(db, actor, org_id)
    core.require(policy.can_manage_org(access.role), "Это могут только администраторы организации.")
    query = select(MigratedChat, Chat).join(Chat, Chat.id == MigratedChat.chat_id)
    found = [
        (m, c)
        for m, c in await db.execute(query.where(MigratedChat.org_id == org_id).order_by(MigratedChat.id))
    ]
    chat_ids = [c.id for _, c in found]
    members = await q.member_counts(db, chat_ids)
    waiting_query = (
        select(PendingChatMember.chat_id, func.count())
        .where(PendingChatMember.chat_id.in_(chat_ids))
        .group_by(PendingChatMember.chat_id)
    )
    waiting = {chat_id: int(n) for chat_id, n in await db.execute(waiting_query)}
    await db.commit()  # ends the read
    return [MigratedChatView(c, m.legacy_title, members.get(c.id, 0), waiting.get(c.id, 0)) for m, c in found]


async def create_chat_invite(
    db: AsyncSession, actor: User, org_id: int, chat_id: int
) -> tuple[Chat, ChatInvite, str]:
    """A fresh invite link to a migrated chat, for the old chat's people whose phone the
    file did not have (or who changed it). Org admins may make one without being in the chat.

    The token is returned once and stored hashed; the link lasts ``INVITE_LIFETIME``.
    Recorded in the audit log (``migration.invite_created``); emits no event (like
    ``invites.create_invite``). Raises ``org_not_found``, ``forbidden``,
    ``chat_not_found`` (not a migrated chat of this organization).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        query = select(MigratedChat).where(MigratedChat.org_id == org_id, MigratedChat.chat_id == chat_id)
        migrated = (await db.execute(query)).scalar_one_or_none()
        chat = await db.get(Chat, chat_id) if migrated is not None else None
        if chat is None:
            raise chat_not_found()
        invite, token = _new_invite(chat, actor, utcnow())
        db.add(invite)
        await db.flush()
        await core.audit(
            db, access, "migration.invite_created", details={"chat_id": chat.id, "invite_id": invite.id}
        )
    return chat, invite, token


def invite_text(title: str, url: str) -> str:
    """What the admin pastes into the old chat."""
    return (
        f"Мы переезжаем в Парту: чат «{title}» теперь там. "
        f"Откройте ссылку, войдите по номеру телефона и вы сразу в чате: {url}"
    )
