"""The staff chat: one managed group chat per organization for the people who work there.

Its members are the organization's active admins, additional admins, teachers
and staff (``policy.staff_chat_role``); the admins run it. Like the class
chats it is managed: nobody adds, removes or leaves it by hand, and its title
follows the organization's short name. Every org action that can change who
works at the organization (adding, a pending member's first sign-in, a role
change, removal, leaving, joining by link or request, a moderator's
suspension) calls ``sync_staff_chat`` in its transaction, which applies the
difference with the usual chat events, so open clients update live.

A new organization gets its staff chat when it is created. An organization
made before staff chats existed gets it the first time its membership is
synced, through the same path: its members hear of the chat with the
ordinary events. A data step in a migration could only write rows that open
clients never hear about (and would have to repeat the safe-mode rules in
SQL). ``ensure_staff_chats`` does the same for every such organization at
once, for an operator who does not want to wait for the first change.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import Chat, Organization, OrgMember
from parta.events import log as events
from parta.orgs import chatsync
from parta.orgs.core import ACTIVE
from parta.policy import ChatKind, ChatRole, OrgRole

STAFF = "staff"


def staff_chat_title(org: Organization) -> str:
    return f"Сотрудники — {org.short_name}"


async def staff_chat(db: AsyncSession, org_id: int) -> Chat | None:
    """The organization's staff chat (archived or not), if it has one yet."""
    query = select(Chat).where(Chat.org_id == org_id, Chat.purpose == STAFF)
    return (await db.execute(query)).scalar_one_or_none()


async def _create(db: AsyncSession, org: Organization, *, created_by: int | None) -> Chat:
    """The chat itself; members arrive with the sync that follows."""
    now = utcnow()
    chat = Chat(
        kind=ChatKind.group.value,
        title=staff_chat_title(org),
        created_by=created_by,
        created_at=now,
        last_activity_at=now,
        org_id=org.id,
        purpose=STAFF,
    )
    db.add(chat)
    await db.flush()
    return chat


async def create_staff_chat(db: AsyncSession, org: Organization, *, created_by: int) -> None:
    """Give a new organization its staff chat, with its members (the creating admin);
    in the caller's transaction. Emits ``chat.member_added``."""
    await _create(db, org, created_by=created_by)
    await sync_staff_chat(db, org.id)


async def desired_members(db: AsyncSession, org: Organization) -> dict[int, ChatRole]:
    """Who should be in the staff chat, as what. An unverified organization's
    chat gets nobody in safe mode, as its class chats get no such child."""
    rows = await db.execute(
        select(OrgMember.user_id, OrgMember.role).where(
            OrgMember.org_id == org.id,
            OrgMember.status == ACTIVE,
            OrgMember.user_id.is_not(None),
            OrgMember.role.in_([r.value for r in policy.STAFF_ROLES]),
        )
    )
    wanted: dict[int, ChatRole] = {}
    for user_id, role in rows.all():
        chat_role = policy.staff_chat_role(OrgRole(role))
        if user_id is not None and chat_role is not None:
            wanted[user_id] = chat_role
    allowed = await chatsync._without_protected(db, set(wanted), trusted=org.is_verified)
    return {uid: role for uid, role in wanted.items() if uid in allowed}


async def sync_staff_chat(db: AsyncSession, org_id: int) -> None:
    """Bring the organization's staff chat to its desired membership, in the
    caller's transaction; an organization without one (made before staff
    chats) gets it now. Emits ``chat.member_added``, ``chat.member_removed``
    (and ``chat.removed`` to the person), ``chat.member_updated`` (admin or not).
    An archived staff chat is left as it is."""
    org = await db.get(Organization, org_id)
    if org is None:
        return
    # The log's lock before reading (``chatsync.serialize_syncs``); it also makes two
    # first syncs of one organization make one chat (the unique index on (org_id)
    # for staff chats backs this up).
    await chatsync.serialize_syncs(db)
    chat = await staff_chat(db, org_id) or await _create(db, org, created_by=None)
    await chatsync._apply(db, chat.id, await desired_members(db, org))


async def rename_staff_chat(db: AsyncSession, org: Organization) -> None:
    """After the organization's short name changed; emits ``chat.updated``."""
    chat = await staff_chat(db, org.id)
    title = staff_chat_title(org)
    if chat is None or chat.title == title:
        return
    chat.title = title
    await events.append(db, "chat.updated", chat_id=chat.id, payload={"chat_id": chat.id, "title": title})


async def ensure_staff_chats(db: AsyncSession) -> int:
    """Create and fill the staff chat of every organization that has none yet
    (each in its own transaction); returns how many were made. Idempotent."""
    made = 0
    async with transaction(db):
        with_chat = select(Chat.org_id).where(Chat.purpose == STAFF, Chat.org_id.is_not(None))
        rows = await db.execute(select(Organization.id).where(Organization.id.not_in(with_chat)))
        missing = sorted(rows.scalars())
    for org_id in missing:
        async with transaction(db):
            if await staff_chat(db, org_id) is None:
                await sync_staff_chat(db, org_id)
                made += 1
    return made
