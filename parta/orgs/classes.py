"""Classes and groups of an organization: create, list, rename, delete; teachers and group members.

A class has two chats (the class chat and the parents' chat), a group one, a
kindergarten's preschool group only the parents' chat; ``chatsync`` keeps
their members in step with the organization. Students belong to a class
through their membership's ``class_id`` (set by the members actions);
teachers of classes and groups and the members of groups are
``ClassGroupMember`` rows managed here.

Every change here is an admin action: it locks the organization's row, writes
an audit entry and tells the admins (``class.*`` events). The person a change
concerns (a teacher assigned, a group member added) hears ``class.updated``
too, in a compact form without the class's staff lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import Chat, ChatMember, ClassGroup, ClassGroupMember, OrgInvite, OrgMember, User
from parta.errors import Conflict, InvalidInput, class_not_found
from parta.events import log as events
from parta.orgs import chatsync, classnames, core, years
from parta.orgs.core import OrgAccess
from parta.policy import OrgRole
from parta.render import Json


class _Keep(Enum):
    keep = "keep"


# "Leave as it is" for optional changes where ``None`` already means "clear".
KEEP = _Keep.keep


@dataclass(frozen=True)
class ClassChange:
    name: str | None = None
    homeroom_member_id: int | _Keep | None = KEEP


# Rendering -------------------------------------------------------------------


@dataclass(frozen=True)
class _Staff:
    """Teachers (and, for a group, its members) by class id, as membership ids."""

    teachers: dict[int, list[int]]
    members: dict[int, list[int]]


async def _staff(db: AsyncSession, class_ids: Sequence[int]) -> _Staff:
    rows = await db.execute(
        select(ClassGroupMember)
        .where(ClassGroupMember.class_id.in_(class_ids))
        .order_by(ClassGroupMember.member_id)
    )
    staff = _Staff(teachers={cid: [] for cid in class_ids}, members={cid: [] for cid in class_ids})
    for row in rows.scalars():
        (staff.teachers if row.is_teacher else staff.members)[row.class_id].append(row.member_id)
    return staff


def _public_json(cls: ClassGroup) -> Json:
    """What every member of the organization sees of a class or group."""
    data: Json = {"id": cls.id, "kind": cls.kind, "name": cls.name}
    optional = {"grade": cls.grade, "letter": cls.letter, "homeroom_member_id": cls.homeroom_member_id}
    return data | {k: v for k, v in optional.items() if v is not None}


def class_json(cls: ClassGroup, *, chat_ids: Iterable[int], staff: _Staff | None = None) -> Json:
    """A class or group; ``chat_ids`` are the chats whose ids the viewer may know
    (their own chats, or all for admins); ``staff`` lists teachers and group members (admins)."""
    visible = set(chat_ids)
    data = _public_json(cls)
    for key, chat_id in (("chat_id", cls.chat_id), ("parents_chat_id", cls.parents_chat_id)):
        if chat_id is not None and chat_id in visible:
            data[key] = chat_id
    if staff is not None:
        data["teacher_member_ids"] = staff.teachers.get(cls.id, [])
        if cls.kind == classnames.GROUP:
            data["member_ids"] = staff.members.get(cls.id, [])
    return data


def _chat_ids(classes: Iterable[ClassGroup]) -> list[int]:
    return [cid for c in classes for cid in (c.chat_id, c.parents_chat_id) if cid is not None]


async def _admin_json(db: AsyncSession, cls: ClassGroup) -> Json:
    return class_json(cls, chat_ids=_chat_ids([cls]), staff=await _staff(db, [cls.id]))


async def _render(db: AsyncSession, access: OrgAccess, classes: Sequence[ClassGroup]) -> list[Json]:
    if policy.can_manage_org(access.role):
        staff = await _staff(db, [c.id for c in classes])
        every_chat = _chat_ids(classes)
        return [class_json(c, chat_ids=every_chat, staff=staff) for c in classes]
    rows = await db.execute(
        select(ChatMember.chat_id).where(
            ChatMember.user_id == access.actor.id, ChatMember.chat_id.in_(_chat_ids(classes))
        )
    )
    mine = set(rows.scalars())
    return [class_json(c, chat_ids=mine) for c in classes]


def _order(cls: ClassGroup) -> tuple[int, int, str]:
    """Classes by grade and letter ("5" before "5А"), then preschool groups, then groups, by name."""
    if cls.kind == classnames.CLASS:
        return (0, cls.grade or 0, cls.letter or "")
    return (1 if cls.kind == classnames.PRESCHOOL else 2, 0, cls.norm_key)


# Loading ---------------------------------------------------------------------


async def _class_in_org(db: AsyncSession, org_id: int, class_id: int) -> ClassGroup:
    cls = await db.get(ClassGroup, class_id)
    if cls is None or cls.org_id != org_id:
        raise class_not_found()
    return cls


async def _cabinet(db: AsyncSession, actor: User, org_id: int, class_id: int) -> tuple[OrgAccess, ClassGroup]:
    access = await core.load_org_for_admin(db, actor, org_id)
    cls = await _class_in_org(db, org_id, class_id)
    if cls.closed_at is not None:  # last year's class (rollover): history, not for changes
        raise class_not_found()
    return access, cls


async def _require_free(
    db: AsyncSession, org_id: int, name: classnames.ClassName, *, own_id: int | None
) -> None:
    query = select(ClassGroup).where(
        ClassGroup.org_id == org_id, ClassGroup.kind == name.kind, ClassGroup.norm_key == name.norm_key
    )
    existing = (await db.execute(query)).scalar_one_or_none()
    if existing is not None and existing.id != own_id:
        what = "Класс" if existing.kind == classnames.CLASS else "Группа"
        raise Conflict(f"{what} «{existing.name}» уже есть в организации.")


def _require_teaching(member: OrgMember, field: str) -> None:
    """Teachers of a class: active members who teach or work at the organization."""
    if member.status != core.ACTIVE or OrgRole(member.role) not in policy.STAFF_ROLES:
        raise InvalidInput(
            "Вести класс или группу может действующий учитель, сотрудник или администратор.", field=field
        )


async def announce(
    db: AsyncSession, cls: ClassGroup, type: str, concerned: Iterable[int | None] = ()
) -> Json:
    """``type`` to the admins (the full class) and to the people it concerns (the public part)."""
    full = await _admin_json(db, cls)
    admins = await core.admin_user_ids(db, cls.org_id)
    await events.append_for_users(db, type, admins, {"org_id": cls.org_id, "class": full})
    others = [uid for uid in concerned if uid is not None and uid not in admins]
    await events.append_for_users(db, type, others, {"org_id": cls.org_id, "class": _public_json(cls)})
    return full


# Actions ---------------------------------------------------------------------


async def create_class_group(db: AsyncSession, actor: User, org_id: int, kind: str, name: str) -> Json:
    """Create a class (with its class and parents' chats) or a group (with its chat).

    In a kindergarten a class is a preschool group: a free-form name (no "5А"
    parsing, no grade) and only a parents' chat. Emits ``class.created`` to
    the admins. Raises ``org_not_found``, ``forbidden`` (not an admin),
    ``invalid_request`` (field ``kind``/``name``), ``conflict`` (the
    organization has this class or group already).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        parsed = classnames.normalize(classnames.kind_in(access.org.kind, kind), name)
        await _require_free(db, org_id, parsed, own_id=None)
        cls = ClassGroup(
            org_id=org_id,
            kind=parsed.kind,
            name=parsed.name,
            norm_key=parsed.norm_key,
            grade=parsed.grade,
            letter=parsed.letter,
            created_at=utcnow(),
        )
        if parsed.kind == classnames.CLASS:  # classes belong to a school year; groups to none
            cls.year_id = (await years.current_year(db, access.org)).id
        db.add(cls)
        await db.flush()
        await chatsync.create_chats(db, cls, created_by=actor.id)
        await chatsync.sync_classes(db, [cls.id])
        await core.audit(
            db, access, "class.created", class_id=cls.id, details={"kind": cls.kind, "name": cls.name}
        )
        return await announce(db, cls, "class.created")


async def list_classes(db: AsyncSession, actor: User, org_id: int) -> list[Json]:
    """The organization's classes (by grade and letter), then its preschool groups and
    its groups (by name).

    Every member sees them; chat ids only for the chats the viewer is in (admins: all).
    Raises ``org_not_found``.
    """
    access = await core.load_org(db, actor, org_id)
    # Classes closed by a rollover are last year's history: their chats are in the archive.
    rows = await db.execute(
        select(ClassGroup).where(ClassGroup.org_id == org_id, ClassGroup.closed_at.is_(None))
    )
    return await _render(db, access, sorted(rows.scalars(), key=_order))


async def get_class(db: AsyncSession, actor: User, org_id: int, class_id: int) -> Json:
    """One class or group, as in ``list_classes``. Raises ``org_not_found``, ``class_not_found``."""
    access = await core.load_org(db, actor, org_id)
    return (await _render(db, access, [await _class_in_org(db, org_id, class_id)]))[0]


async def update_class(
    db: AsyncSession, actor: User, org_id: int, class_id: int, change: ClassChange
) -> Json:
    """Rename a class or group (its chats follow) or set or clear a class's homeroom teacher.

    A new homeroom teacher becomes a teacher of the class. Emits
    ``class.updated`` to the admins and to the old and new homeroom teachers,
    ``chat.updated`` to renamed chats, chat member events. Raises
    ``org_not_found``, ``forbidden``, ``class_not_found``, ``member_not_found``,
    ``invalid_request`` (``name``, ``homeroom_member_id``), ``conflict``.
    """
    async with transaction(db):
        access, cls = await _cabinet(db, actor, org_id, class_id)
        details: Json = {}
        concerned: list[int | None] = []
        if change.name is not None:
            details |= await _rename(db, cls, change.name)
        if not isinstance(change.homeroom_member_id, _Keep):
            before = cls.homeroom_member_id
            concerned = await _set_homeroom(db, access, cls, change.homeroom_member_id)
            if cls.homeroom_member_id != before:
                details["homeroom_member_id"] = cls.homeroom_member_id
        if not details:
            return await _admin_json(db, cls)
        await core.audit(db, access, "class.updated", class_id=cls.id, details=details)
        return await announce(db, cls, "class.updated", concerned)


async def _rename(db: AsyncSession, cls: ClassGroup, name: str) -> Json:
    parsed = classnames.normalize(cls.kind, name)
    if parsed.name == cls.name:
        return {}
    await _require_free(db, cls.org_id, parsed, own_id=cls.id)
    old = cls.name
    cls.name, cls.norm_key, cls.grade, cls.letter = parsed.name, parsed.norm_key, parsed.grade, parsed.letter
    await chatsync.rename_chats(db, cls)
    return {"name": cls.name, "old_name": old}


async def _set_homeroom(
    db: AsyncSession, access: OrgAccess, cls: ClassGroup, member_id: int | None
) -> list[int | None]:
    """Returns the users of the old and new homeroom teachers."""
    if cls.kind != classnames.CLASS:
        raise InvalidInput("У группы нет классного руководителя.", field="homeroom_member_id")
    if member_id == cls.homeroom_member_id:
        return []
    old = await db.get(OrgMember, cls.homeroom_member_id) if cls.homeroom_member_id else None
    new = None
    if member_id is not None:
        new = await core.member_in_org(db, access.org.id, member_id)
        _require_teaching(new, "homeroom_member_id")
        if await _make_teacher(db, cls, new):
            await chatsync.sync_classes(db, [cls.id])
    cls.homeroom_member_id = member_id
    return [m.user_id for m in (old, new) if m is not None]


async def _make_teacher(db: AsyncSession, cls: ClassGroup, member: OrgMember) -> bool:
    """Make the member a teacher of the class (a group member is promoted); False if already."""
    row = await db.get(ClassGroupMember, (cls.id, member.id))
    if row is None:
        db.add(ClassGroupMember(class_id=cls.id, member_id=member.id, is_teacher=True, created_at=utcnow()))
    elif not row.is_teacher:
        row.is_teacher = True
    else:
        return False
    await db.flush()
    return True


async def delete_class(db: AsyncSession, actor: User, org_id: int, class_id: int) -> None:
    """Delete a class or group. Its chats stay, archived: members read them, nobody posts.

    Its students are left without a class, its teachers and group members
    without it; org invites into it are revoked. Emits ``chat.updated``
    (``is_archived``) to each chat and ``class.deleted`` to the admins and the
    people it concerned. Raises ``org_not_found``, ``forbidden``, ``class_not_found``.
    """
    async with transaction(db):
        access, cls = await _cabinet(db, actor, org_id, class_id)
        concerned = await _people_of(db, cls)
        await _archive_chats(db, cls)
        await db.execute(update(OrgMember).where(OrgMember.class_id == cls.id).values(class_id=None))
        await db.execute(delete(ClassGroupMember).where(ClassGroupMember.class_id == cls.id))
        await db.execute(
            update(OrgInvite)
            .where(OrgInvite.class_id == cls.id, OrgInvite.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        details = {"kind": cls.kind, "name": cls.name}
        await db.delete(cls)
        await db.flush()
        await core.audit(db, access, "class.deleted", class_id=class_id, details=details)
        payload = {"org_id": org_id, "class_id": class_id}
        await core.notify_admins(db, org_id, "class.deleted", payload, also=concerned)


async def _people_of(db: AsyncSession, cls: ClassGroup) -> list[int | None]:
    """Users whose membership mentions the class: its students, teachers and group members."""
    students = await db.execute(select(OrgMember.user_id).where(OrgMember.class_id == cls.id))
    others = await db.execute(
        select(OrgMember.user_id)
        .join(ClassGroupMember, ClassGroupMember.member_id == OrgMember.id)
        .where(ClassGroupMember.class_id == cls.id)
    )
    return [*students.scalars(), *others.scalars()]


async def _archive_chats(db: AsyncSession, cls: ClassGroup) -> None:
    now = utcnow()
    for chat_id in _chat_ids([cls]):
        chat = await db.get(Chat, chat_id)
        if chat is None or chat.archived_at is not None:
            continue
        chat.archived_at = now
        await events.append(
            db, "chat.updated", chat_id=chat.id, payload={"chat_id": chat.id, "is_archived": True}
        )


async def add_teacher(db: AsyncSession, actor: User, org_id: int, class_id: int, member_id: int) -> Json:
    """Make an active teacher, staff member or admin a teacher of the class or group
    (an admin of its chats). Repeating it changes nothing.

    Emits ``class.updated`` to the admins and the teacher, chat member events.
    Raises ``org_not_found``, ``forbidden``, ``class_not_found``,
    ``member_not_found``, ``invalid_request`` (``member_id``: not a teaching role or not active).
    """
    async with transaction(db):
        access, cls = await _cabinet(db, actor, org_id, class_id)
        member = await core.member_in_org(db, org_id, member_id)
        _require_teaching(member, "member_id")
        if not await _make_teacher(db, cls, member):
            return await _admin_json(db, cls)
        return await _changed(db, access, cls, "class.teacher_added", member)


async def remove_teacher(db: AsyncSession, actor: User, org_id: int, class_id: int, member_id: int) -> Json:
    """Stop someone teaching the class or group; a homeroom teacher stops being one too.
    Removing someone who does not teach it changes nothing.

    Emits ``class.updated`` to the admins and the teacher, chat member events.
    Raises ``org_not_found``, ``forbidden``, ``class_not_found``, ``member_not_found``.
    """
    async with transaction(db):
        access, cls = await _cabinet(db, actor, org_id, class_id)
        member = await core.member_in_org(db, org_id, member_id)
        row = await db.get(ClassGroupMember, (cls.id, member.id))
        if row is None or not row.is_teacher:
            return await _admin_json(db, cls)
        await db.delete(row)
        if cls.homeroom_member_id == member.id:
            cls.homeroom_member_id = None
        await db.flush()
        return await _changed(db, access, cls, "class.teacher_removed", member)


async def add_group_member(db: AsyncSession, actor: User, org_id: int, class_id: int, member_id: int) -> Json:
    """Add a member of the organization (any role; a pending one joins the chat on
    first sign-in) to a group. Classes refuse: students join them through their
    membership's class. Adding a member or a teacher of the group changes nothing.

    Emits ``class.updated`` to the admins and the member, chat member events.
    Raises ``org_not_found``, ``forbidden``, ``class_not_found``,
    ``member_not_found``, ``invalid_request`` (``class_id``: a class, not a group).
    """
    async with transaction(db):
        access, cls = await _cabinet(db, actor, org_id, class_id)
        _require_group(cls)
        member = await core.member_in_org(db, org_id, member_id)
        if await db.get(ClassGroupMember, (cls.id, member.id)) is not None:
            return await _admin_json(db, cls)
        db.add(ClassGroupMember(class_id=cls.id, member_id=member.id, is_teacher=False, created_at=utcnow()))
        await db.flush()
        return await _changed(db, access, cls, "group.member_added", member)


async def remove_group_member(
    db: AsyncSession, actor: User, org_id: int, class_id: int, member_id: int
) -> Json:
    """Remove a member from a group; removing a non-member changes nothing.

    Emits ``class.updated`` to the admins and the member, chat member events.
    Raises ``org_not_found``, ``forbidden``, ``class_not_found``,
    ``member_not_found``, ``invalid_request`` (``class_id``: a class;
    ``member_id``: a teacher of the group, removed through its teachers).
    """
    async with transaction(db):
        access, cls = await _cabinet(db, actor, org_id, class_id)
        _require_group(cls)
        member = await core.member_in_org(db, org_id, member_id)
        row = await db.get(ClassGroupMember, (cls.id, member.id))
        if row is None:
            return await _admin_json(db, cls)
        if row.is_teacher:
            raise InvalidInput("Это учитель группы: снимите его в списке учителей.", field="member_id")
        await db.delete(row)
        await db.flush()
        return await _changed(db, access, cls, "group.member_removed", member)


def _require_group(cls: ClassGroup) -> None:
    if cls.kind != classnames.GROUP:
        raise InvalidInput(
            "Ученики попадают в класс через свой класс в организации; участники — только у групп.",
            field="class_id",
        )


async def _changed(
    db: AsyncSession, access: OrgAccess, cls: ClassGroup, action: str, member: OrgMember
) -> Json:
    """After a change of who teaches or belongs: sync the chats, audit, announce."""
    await chatsync.sync_classes(db, [cls.id])
    await core.audit(db, access, action, member=member, class_id=cls.id)
    return await announce(db, cls, "class.updated", [member.user_id])
