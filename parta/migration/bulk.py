"""Bulk writes for the roster and region import: many people or parent links per transaction.

A batch ends where ``members.add_member`` and ``parent_links.link_parent``
would end row by row: the same memberships, links, audit entries and
``org.member_added`` / ``parent_link.created`` events, and the same class
chats. What changes is the cost. One transaction per batch takes the
organization's lock once, looks up accounts and existing members in one
query, inserts the memberships, audit entries and events with one statement
each, and syncs each class chat once, so a chat hears one
``chat.member_added`` listing several people where row by row it heard one
per person (clients apply either the same way).

Only the plain case is done here: a phone without an account, an admin
importing, a child who is a student. Anything else (someone has an account,
needing the safe-mode reach checks; the importer is no longer an admin; a
row inserted meanwhile by someone else) is left to the caller, who sends
those rows through the ordinary actions, one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ARRAY, Text, bindparam, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.clock import utcnow
from parta.db.engine import PENDING_KEY, transaction
from parta.db.tables import ClassGroup, Event, OrgMember, ParentLink, User
from parta.errors import class_not_found
from parta.events import log as events
from parta.orgs import chatsync, core
from parta.orgs.core import ACTIVE, PENDING, OrgAccess
from parta.orgs.directory import MemberView, member_json
from parta.orgs.parent_links import link_json
from parta.policy import OrgRole
from parta.render import Json

# Rows per transaction: big enough that the per-transaction work (the org lock,
# the class chats' sync, the commit) is spread thin, small enough that the
# event log's lock (PostgreSQL) is held for a fraction of a second.
BATCH = 200

# The key class of ``members._lock_phone``: the same locks, taken for a batch at once.
_PHONE_LOCK_CLASS = 7_270_003


class Unusual(Exception):
    """The batch needs the ordinary actions; nothing of it was written."""


@dataclass(frozen=True)
class NewPerson:
    line: int
    phone: str  # normalized
    name: str  # cleaned
    role: OrgRole
    class_id: int | None  # a class of the organization, students only


@dataclass
class Added:
    """What a batch of people came to; ``accounts`` were not written (the caller adds them)."""

    pending: list[int] = field(default_factory=list)  # lines
    existing: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    accounts: list[NewPerson] = field(default_factory=list)


@dataclass(frozen=True)
class NewLink:
    line: int
    parent_member_id: int
    child_member_id: int


# --- People -------------------------------------------------------------------------


async def add_people(db: AsyncSession, actor: User, org_id: int, people: Sequence[NewPerson]) -> Added:
    """Add people without an account as pending members, in one transaction.

    Per person what ``add_member`` does for an unknown phone: the membership
    (a student placed in their class), the ``member.added`` audit entry,
    ``org.member_added`` to the admins; the class chats synced once.
    Raises what ``core.load_org_for_admin`` raises and ``IntegrityError`` (a
    row inserted meanwhile); nothing is written then.
    """
    added = Added()
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        phones = sorted({p.phone for p in people})
        await _lock_phones(db, phones)
        with_account = set((await db.execute(select(User.phone).where(User.phone.in_(phones)))).scalars())
        taken = await _member_phones(db, org_id, phones)
        classes = await _org_classes(db, org_id, {p.class_id for p in people if p.class_id is not None})
        new: list[OrgMember] = []
        for person in people:
            if person.phone in taken:
                added.existing.append(person.line)
            elif person.phone in with_account:
                added.accounts.append(person)
            elif (reason := _refusal(access, person, classes)) is not None:
                added.rejected.append((person.line, reason))
            else:
                new.append(_pending_member(access, person))
                added.pending.append(person.line)
        await _store(db, access, new)
    return added


def _refusal(access: OrgAccess, person: NewPerson, classes: set[int]) -> str | None:
    """Why ``add_member`` would refuse the person, in its order of checks; None if it would not."""
    decision = policy.can_set_org_role(access.role, current=person.role, new=person.role, is_self=False)
    if not decision.allowed:
        return "Администраторов назначает только главный администратор."
    if person.class_id is not None and person.class_id not in classes:
        return class_not_found().message
    return None


async def _lock_phones(db: AsyncSession, phones: list[str]) -> None:
    """``members._lock_phone`` for every phone, in one round trip and in sorted order
    (two batches sharing phones then never wait for each other in a cycle)."""
    if phones and db.get_bind().dialect.name == "postgresql":
        statement = text(
            "SELECT pg_advisory_xact_lock(:cls, hashtext(k)) FROM unnest(:keys) WITH ORDINALITY AS t(k, n) "
            "ORDER BY n"
        ).bindparams(bindparam("keys", type_=ARRAY(Text)))
        await db.execute(statement, {"cls": _PHONE_LOCK_CLASS, "keys": phones})


async def _member_phones(db: AsyncSession, org_id: int, phones: list[str]) -> set[str]:
    """Phones among ``phones`` already in the organization (pending, or an account's member)."""
    query = (
        select(OrgMember.phone, User.phone)
        .outerjoin(User, User.id == OrgMember.user_id)
        .where(OrgMember.org_id == org_id, or_(OrgMember.phone.in_(phones), User.phone.in_(phones)))
    )
    return {pending or account for pending, account in await db.execute(query) if pending or account}


async def _org_classes(db: AsyncSession, org_id: int, class_ids: set[int]) -> set[int]:
    """Those of ``class_ids`` that are classes or preschool groups (not groups) of the organization."""
    if not class_ids:
        return set()
    query = select(ClassGroup.id).where(
        ClassGroup.id.in_(class_ids), ClassGroup.org_id == org_id, ClassGroup.kind.in_(chatsync.ENROLLING)
    )
    return set((await db.execute(query)).scalars())


def _pending_member(access: OrgAccess, person: NewPerson) -> OrgMember:
    return OrgMember(
        org_id=access.org.id,
        user_id=None,
        phone=person.phone,
        name=person.name,
        role=person.role.value,
        status=PENDING,
        class_id=person.class_id,
        created_by=access.actor.id,
        created_at=utcnow(),
        joined_at=None,
    )


async def _store(db: AsyncSession, access: OrgAccess, new: list[OrgMember]) -> None:
    if not new:
        return
    db.add_all(new)
    await db.flush()
    for member in new:
        details: Json = {"role": member.role}
        await core.audit(db, access, "member.added", member=member, class_id=member.class_id, details=details)
    # No class chat sync: ``add_member`` syncs the new member's class, but a member
    # without an account is in no chat and changes nobody's place in one (every
    # action keeps the chats equal to the lists), so that sync changes nothing.
    admins = await core.admin_user_ids(db, access.org.id)
    await append_many(
        db,
        "org.member_added",
        [
            (admins, {"org_id": access.org.id, "member": member_json(MemberView(m, None), with_phone=True)})
            for m in new
        ],
    )


# --- Parent links ------------------------------------------------------------------


async def link_parents(db: AsyncSession, actor: User, org_id: int, links: Sequence[NewLink]) -> int:
    """Link parents to children (students of the organization) as an admin, in one transaction.

    Per link what ``link_parent`` does for an admin: an active link (a link
    the parent asked for is confirmed), the ``parent_link.added`` audit entry,
    ``parent_link.created`` to the admins, the parent and the child; the
    children's classes synced once. Returns how many links were made. Raises
    ``Unusual`` (the actor is not an admin, a member is gone or is not what
    the link needs, a link exists already), ``IntegrityError``; nothing is
    written then.
    """
    async with transaction(db):
        access = await core.load_org(db, actor, org_id, for_update=True)
        if not policy.can_manage_org(access.role).allowed:
            raise Unusual("links by a non-admin are requests")
        ids = {i for link in links for i in (link.parent_member_id, link.child_member_id)}
        found = await db.execute(select(OrgMember).where(OrgMember.id.in_(ids), OrgMember.org_id == org_id))
        members = {m.id: m for m in found.scalars()}
        stored = await _links(db, links)
        made: list[ParentLink] = []
        for link in links:
            made.append(_make_link(actor, org_id, link, members, stored))
        await _announce_links(db, access, made, members)
    return len(made)


async def _links(db: AsyncSession, links: Sequence[NewLink]) -> dict[tuple[int, int], ParentLink]:
    parents = {link.parent_member_id for link in links}
    query = select(ParentLink).where(ParentLink.parent_member_id.in_(parents))
    return {(row.parent_member_id, row.child_member_id): row for row in (await db.execute(query)).scalars()}


def _make_link(
    actor: User,
    org_id: int,
    link: NewLink,
    members: dict[int, OrgMember],
    stored: dict[tuple[int, int], ParentLink],
) -> ParentLink:
    parent, child = members.get(link.parent_member_id), members.get(link.child_member_id)
    if parent is None or child is None or parent.id == child.id or child.role != OrgRole.student.value:
        raise Unusual("the action refuses this link with its own reason")
    row = stored.get((parent.id, child.id))
    if row is not None and row.status == ACTIVE:
        raise Unusual("linked meanwhile")
    if row is None:
        row = ParentLink(
            parent_member_id=parent.id,
            child_member_id=child.id,
            org_id=org_id,
            status=ACTIVE,
            created_by=actor.id,
            created_at=utcnow(),
        )
        stored[(parent.id, child.id)] = row
    row.status = ACTIVE  # an admin linking a requested pair confirms it
    return row


async def _announce_links(
    db: AsyncSession, access: OrgAccess, made: list[ParentLink], members: dict[int, OrgMember]
) -> None:
    db.add_all(made)
    await db.flush()
    children = [members[link.child_member_id] for link in made]
    # Only a parent with an account enters a parents' chat; the other links change no
    # chat (as in ``_store``), so only their children's classes are synced.
    entering = {
        child.class_id
        for link, child in zip(made, children, strict=True)
        if child.class_id is not None and members[link.parent_member_id].status == ACTIVE
    }
    await chatsync.sync_classes(db, entering)
    for link, child in zip(made, children, strict=True):
        details = {"child_member_id": link.child_member_id}
        parent = members[link.parent_member_id]
        await core.audit(
            db, access, "parent_link.added", member=parent, class_id=child.class_id, details=details
        )
    admins = await core.admin_user_ids(db, access.org.id)
    news = [
        ([*admins, members[link.parent_member_id].user_id, child.user_id], link_json(link))
        for link, child in zip(made, children, strict=True)
    ]
    await append_many(db, "parent_link.created", news)


# --- Events --------------------------------------------------------------------------


async def append_many(db: AsyncSession, type: str, news: Iterable[tuple[Iterable[int | None], Json]]) -> None:
    """``events.append_for_users`` for many payloads, each to its own people, in one insert.

    The events land in the order given, each payload's copies together, as
    the same calls one after another would append them.
    """
    now = utcnow()
    rows = [
        Event(type=type, user_id=uid, payload=payload, created_at=now)
        for user_ids, payload in news
        for uid in dict.fromkeys(u for u in user_ids if u is not None)
    ]
    if not rows:
        return
    await events.lock_and_head(db)  # the log's lock, as every append takes it
    db.add_all(rows)
    await db.flush()
    db.info[PENDING_KEY].extend(rows)
