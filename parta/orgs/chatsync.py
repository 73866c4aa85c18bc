"""Class, parents' and group chats, kept in step with the organization.

Each class has a class chat (its teachers and students) and a parents' chat
(its teachers and the parents linked to its students); each group has one chat
(its teachers and members); a kindergarten's preschool group has only a
parents' chat (its teachers and the parents linked to its children: the
children do not use the messenger). Nobody edits their membership by hand: every org
action that can change who belongs calls ``sync_classes`` for the classes it
touched, which computes who should be in each chat and applies the difference
with the usual chat events, so open clients update live.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import policy, safety
from parta.chats import join_chat
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.tables import (
    Chat,
    ChatMember,
    ClassGroup,
    ClassGroupMember,
    Organization,
    OrgMember,
    ParentLink,
)
from parta.events import log as events
from parta.orgs.core import ACTIVE
from parta.policy import ChatKind, ChatRole, OrgRole
from parta.render import user_public

CLASS = "class"
PARENTS = "parents"
GROUP = "group"
PRESCHOOL = "preschool"
# Kinds whose students are enrolled into them through their membership's class.
ENROLLING = (CLASS, PRESCHOOL)
TEACHING_ROLES = [r.value for r in policy.STAFF_ROLES]


def chat_titles(cls: ClassGroup) -> dict[str, str]:
    if cls.kind == GROUP:
        return {GROUP: cls.name}
    if cls.kind == PRESCHOOL:
        return {PARENTS: f"{cls.name} — родители"}
    return {CLASS: f"{cls.name} класс", PARENTS: f"{cls.name} — родители"}


async def create_chats(db: AsyncSession, cls: ClassGroup, *, created_by: int | None) -> None:
    """Make the class's (or group's) chats; members arrive with the next sync."""
    now = utcnow()
    for purpose, title in chat_titles(cls).items():
        chat = Chat(
            kind=ChatKind.group.value,
            title=title,
            created_by=created_by,
            created_at=now,
            last_activity_at=now,
            org_id=cls.org_id,
            class_group_id=cls.id,
            purpose=purpose,
        )
        db.add(chat)
        await db.flush()
        if purpose == PARENTS:
            cls.parents_chat_id = chat.id
        else:
            cls.chat_id = chat.id


async def rename_chats(db: AsyncSession, cls: ClassGroup) -> None:
    """After a class is renamed its chats follow; emits ``chat.updated``."""
    titles = chat_titles(cls)
    for purpose, chat_id in (
        (CLASS if cls.kind != GROUP else GROUP, cls.chat_id),
        (PARENTS, cls.parents_chat_id),
    ):
        chat = await db.get(Chat, chat_id) if chat_id else None
        if chat is not None and chat.title != titles[purpose]:
            chat.title = titles[purpose]
            await events.append(
                db, "chat.updated", chat_id=chat.id, payload={"chat_id": chat.id, "title": chat.title}
            )


async def _teachers(db: AsyncSession, class_id: int) -> set[int]:
    rows = await db.execute(
        select(OrgMember.user_id)
        .join(ClassGroupMember, ClassGroupMember.member_id == OrgMember.id)
        .where(
            ClassGroupMember.class_id == class_id,
            ClassGroupMember.is_teacher.is_(True),
            OrgMember.status == ACTIVE,
            OrgMember.role.in_(TEACHING_ROLES),
        )
    )
    return {uid for uid in rows.scalars() if uid is not None}


async def _students(db: AsyncSession, class_id: int) -> set[int]:
    rows = await db.execute(
        select(OrgMember.user_id).where(
            OrgMember.class_id == class_id,
            OrgMember.status == ACTIVE,
            OrgMember.role == OrgRole.student.value,
        )
    )
    return {uid for uid in rows.scalars() if uid is not None}


async def _parents(db: AsyncSession, class_id: int) -> set[int]:
    child = aliased(OrgMember)
    parent = aliased(OrgMember)
    rows = await db.execute(
        select(parent.user_id)
        .select_from(ParentLink)
        .join(child, child.id == ParentLink.child_member_id)
        .join(parent, parent.id == ParentLink.parent_member_id)
        .where(
            ParentLink.status == ACTIVE,
            child.class_id == class_id,
            child.role == OrgRole.student.value,
            parent.status == ACTIVE,
        )
    )
    return {uid for uid in rows.scalars() if uid is not None}


async def _group_members(db: AsyncSession, class_id: int) -> set[int]:
    rows = await db.execute(
        select(OrgMember.user_id)
        .join(ClassGroupMember, ClassGroupMember.member_id == OrgMember.id)
        .where(
            ClassGroupMember.class_id == class_id,
            ClassGroupMember.is_teacher.is_(False),
            OrgMember.status == ACTIVE,
        )
    )
    return {uid for uid in rows.scalars() if uid is not None}


async def desired_members(db: AsyncSession, cls: ClassGroup) -> dict[int, dict[int, ChatRole]]:
    """Who should be in each of the class's chats, by chat id: teachers are chat admins."""
    teachers = await _teachers(db, cls.id)
    org = await db.get(Organization, cls.org_id)
    trusted = org is not None and org.is_verified
    if cls.kind == GROUP:
        others = await _without_protected(db, await _group_members(db, cls.id), trusted=trusted)
        wanted = {cls.chat_id: _roles(teachers, others)}
    elif cls.kind == PRESCHOOL:
        wanted = {cls.parents_chat_id: _roles(teachers, await _parents(db, cls.id))}
    else:
        students = await _without_protected(db, await _students(db, cls.id), trusted=trusted)
        wanted = {
            cls.chat_id: _roles(teachers, students),
            cls.parents_chat_id: _roles(teachers, await _parents(db, cls.id)),
        }
    return {chat_id: members for chat_id, members in wanted.items() if chat_id is not None}


async def _without_protected(db: AsyncSession, user_ids: set[int], *, trusted: bool) -> set[int]:
    """An unverified organization's chats get no child in safe mode: anyone can make
    an org, add a child's number and a class, and would otherwise have a chat
    with the child that the child cannot leave."""
    if trusted or not user_ids:
        return user_ids
    users = await q.users_by_id(db, user_ids)
    return {uid for uid in user_ids if uid in users and not safety.is_protected(users[uid])}


async def resync_user(db: AsyncSession, user_id: int) -> None:
    """After someone's safe mode changed: their class, group and staff chats follow."""
    from parta.orgs import staffchat  # it builds on this module

    rows = await db.execute(select(OrgMember).where(OrgMember.user_id == user_id, OrgMember.status == ACTIVE))
    classes: set[int] = set()
    orgs: set[int] = set()
    for member in rows.scalars():
        classes |= await classes_of(db, member)
        orgs.add(member.org_id)
    await sync_classes(db, classes)
    for org_id in sorted(orgs):
        await staffchat.sync_staff_chat(db, org_id)


def _roles(admins: set[int], members: set[int]) -> dict[int, ChatRole]:
    return {uid: ChatRole.member for uid in members} | {uid: ChatRole.admin for uid in admins}


async def sync_classes(db: AsyncSession, class_ids: Iterable[int]) -> None:
    """Bring every chat of these classes and groups to its desired membership.

    Syncs take the event log's lock before they read anything (``serialize_syncs``)."""
    ids = sorted(set(class_ids))
    if ids:
        await serialize_syncs(db)
    for class_id in ids:
        cls = await db.get(ClassGroup, class_id)
        if cls is None:
            continue
        for chat_id, wanted in (await desired_members(db, cls)).items():
            await _apply(db, chat_id, wanted)


async def serialize_syncs(db: AsyncSession) -> None:
    """Take the event log's lock (which the sync needs anyway to append its events)
    before reading who should be in a chat and who is, so that syncs of one chat run
    one after another and each sees what the previous one committed. Without it, on
    PostgreSQL two people's first sign-ins at once each read these at different
    moments: one sync removed a teacher the other had just added, and a later one
    added someone already added (duplicate key, 500). SQLite has one writer."""
    await events.lock_and_head(db)


async def _apply(db: AsyncSession, chat_id: int, wanted: dict[int, ChatRole]) -> None:
    chat = await db.get(Chat, chat_id)
    if chat is None or chat.archived_at is not None:
        return
    current = {
        m.user_id: m
        for m in (await db.execute(select(ChatMember).where(ChatMember.chat_id == chat_id))).scalars()
    }
    added = [uid for uid in wanted if uid not in current]
    removed = [uid for uid in current if uid not in wanted]
    if added:
        since = await events.lock_and_head(db)
        users = await q.users_by_id(db, added)
        for uid in added:
            await join_chat(db, chat, users[uid], wanted[uid], since)
        await db.flush()
        await events.append(
            db,
            "chat.member_added",
            chat_id=chat.id,
            payload={"chat_id": chat.id, "users": [user_public(users[uid]) for uid in added]},
        )
    for uid in removed:
        await _remove(db, current[uid])
    for uid, member in current.items():
        if uid in wanted and member.role != wanted[uid].value:
            member.role = wanted[uid].value
            await events.append(
                db,
                "chat.member_updated",
                chat_id=chat.id,
                payload={"chat_id": chat.id, "user_id": uid, "role": member.role},
            )


async def _remove(db: AsyncSession, member: ChatMember) -> None:
    """Take someone out of a chat: the chat hears ``chat.member_removed``, they ``chat.removed``."""
    chat_id, user_id = member.chat_id, member.user_id
    await db.delete(member)
    await db.flush()
    payload = {"chat_id": chat_id, "user_id": user_id}
    await events.append(db, "chat.member_removed", chat_id=chat_id, payload=payload)
    await events.append(db, "chat.removed", user_id=user_id, payload=payload)


async def leave_archived_chats(db: AsyncSession, org_id: int, user_id: int) -> None:
    """Take someone who left the organization out of its archived chats too.

    ``sync_classes`` leaves archived chats (of deleted classes) alone, so their
    members keep reading the history; but a child removed from a school must
    not keep reading its old class chats.
    """
    rows = await db.execute(
        select(ChatMember)
        .join(Chat, Chat.id == ChatMember.chat_id)
        .where(Chat.org_id == org_id, Chat.archived_at.is_not(None), ChatMember.user_id == user_id)
        .order_by(ChatMember.chat_id)
    )
    for member in rows.scalars().all():
        await _remove(db, member)


async def classes_of(db: AsyncSession, member: OrgMember) -> set[int]:
    """Every class and group whose chats may change when this membership changes."""
    found: set[int] = set()
    if member.class_id is not None:
        found.add(member.class_id)
    rows = await db.execute(select(ClassGroupMember.class_id).where(ClassGroupMember.member_id == member.id))
    found.update(rows.scalars())
    child = aliased(OrgMember)
    children = await db.execute(
        select(child.class_id)
        .join(ParentLink, ParentLink.child_member_id == child.id)
        .where(ParentLink.parent_member_id == member.id)
    )
    found.update(c for c in children.scalars() if c is not None)
    return found
