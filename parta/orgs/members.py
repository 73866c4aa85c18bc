"""People of an organization: adding by phone, enrolling, roles and classes,
removal and leaving.

Parent links live in ``parent_links`` and the directory in ``directory``.
Everything here that changes who belongs to a class (a student's class, a
role, a removal) re-syncs the class chats in the same transaction, so the
class and parents' chats never disagree with the school's lists; everything
that changes who works there (a role, joining, removal) re-syncs the staff chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy, safety
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import (
    Chat,
    ChatMember,
    ClassGroup,
    ClassGroupMember,
    Organization,
    OrgMember,
    ParentLink,
    User,
)
from parta.errors import Conflict, InvalidInput, class_not_found, denied
from parta.events import log as events
from parta.orgs import chatsync, classes, core, staffchat
from parta.orgs.core import ACTIVE, PENDING, OrgAccess, require
from parta.orgs.directory import MemberView, member_json, member_view
from parta.phones import normalize_phone
from parta.policy import OrgRole
from parta.render import Json
from parta.text import require_printable

MAX_NAME = 128
REMOVED = "removed"
LEFT = "left"


# --- Becoming a member ----------------------------------------------------------


async def _placement(db: AsyncSession, org_id: int, class_id: int | None, role: OrgRole) -> ClassGroup | None:
    """The class or group a new member goes into, or None.

    Tolerant on purpose: a link or request may name a class deleted since (or
    a group for a parent); the person then joins without one and an admin
    places them later, rather than the join failing.
    """
    cls = await db.get(ClassGroup, class_id) if class_id is not None else None
    if cls is None or cls.org_id != org_id or cls.closed_at is not None:
        return None
    return None if role is OrgRole.parent and cls.kind == chatsync.GROUP else cls


async def _store(db: AsyncSession, member: OrgMember, cls: ClassGroup | None) -> None:
    """Insert a new membership placed into ``cls`` by the rules of ``enroll``."""
    role = OrgRole(member.role)
    on_membership = (
        cls is not None and cls.kind in chatsync.ENROLLING and role in (OrgRole.student, OrgRole.parent)
    )
    if cls is not None and on_membership:
        member.class_id = cls.id
    db.add(member)
    await db.flush()
    if cls is not None and not on_membership:
        is_teacher = role in policy.STAFF_ROLES
        db.add(
            ClassGroupMember(class_id=cls.id, member_id=member.id, is_teacher=is_teacher, created_at=utcnow())
        )
        await db.flush()


def _new_member(
    access: OrgAccess, user: User | None, *, phone: str | None, name: str, role: OrgRole
) -> OrgMember:
    """An active membership for ``user``, or a pending one for ``phone`` when there is no account."""
    now = utcnow()
    return OrgMember(
        org_id=access.org.id,
        user_id=user.id if user is not None else None,
        phone=None if user is not None else phone,
        name=name,
        role=role.value,
        status=ACTIVE if user is not None else PENDING,
        created_by=access.actor.id,
        created_at=now,
        joined_at=now if user is not None else None,
    )


async def enroll(
    db: AsyncSession,
    access: OrgAccess,
    user: User,
    role: OrgRole,
    class_id: int | None,
    *,
    action: str,
    details: Json,
    name: str = "",
) -> OrgMember:
    """Make ``user`` an active member (the caller checked they are not one yet).

    The one way in for an admin's add, an invite link and an approved join
    request. Where the member goes (``class_id`` names a class or a group):
    - a student: a class goes on the membership (its class chat); a group
      makes them a member of it;
    - a parent: a class goes on the membership, meaning "a parent in this
      class" until a parent link to a child puts them into the parents' chat;
      a group places them nowhere (parents' chats are per class);
    - a teacher, staff member or admin: becomes a teacher of the class or group;
    - a class or group that is gone (deleted since the link or request named
      it) or another organization's: no class.
    Callers may accept less: an admin adding by phone names a class only for
    a student and only a class (teachers and group members have their own
    routes), links and requests refuse a group for a parent up front.

    Syncs the class chats, records ``action`` with ``details`` in the audit
    log (by ``access.actor``), emits ``org.joined`` to the member and
    ``org.member_added`` (with the phone) to the admins. Raises ``forbidden``
    (``suspended``) for someone a moderator suspended in this organization:
    a link or a request does not bring them back.
    """
    suspended = await db.execute(
        select(OrgMember.id).where(
            OrgMember.org_id == access.org.id,
            OrgMember.user_id == user.id,
            OrgMember.status == core.SUSPENDED,
        )
    )
    if suspended.first() is not None:
        raise denied("suspended", "Вы отстранены от этой организации модератором.")
    member = _new_member(access, user, phone=None, name=name, role=role)
    return await _admit(db, access, member, user, class_id, action=action, details=details)


async def _admit(
    db: AsyncSession,
    access: OrgAccess,
    member: OrgMember,
    user: User | None,
    class_id: int | None,
    *,
    action: str,
    details: Json,
) -> OrgMember:
    """Store a new membership (active, or pending when ``user`` is None) and tell everyone."""
    cls = await _placement(db, access.org.id, class_id, OrgRole(member.role))
    await _store(db, member, cls)
    await chatsync.sync_classes(db, await chatsync.classes_of(db, member))
    await staffchat.sync_staff_chat(db, access.org.id)
    audited = cls.id if cls is not None else None
    await core.audit(db, access, action, member=member, class_id=audited, details=details)
    if user is not None:
        await _emit_joined(db, access.org, member)
    payload = {"org_id": access.org.id, "member": member_json(MemberView(member, user), with_phone=True)}
    await core.notify_admins(db, access.org.id, "org.member_added", payload)
    return member


async def _emit_joined(db: AsyncSession, org: Organization, member: OrgMember) -> None:
    payload: Json = {
        "org": core.org_json(org, role=OrgRole(member.role)),
        "member_id": member.id,
        "role": member.role,
    }
    if member.class_id is not None:
        payload["class_id"] = member.class_id
    if member.user_id is not None:
        await events.append_for_users(db, "org.joined", [member.user_id], payload)


# --- Adding people by phone ------------------------------------------------------


@dataclass(frozen=True)
class NewMember:
    phone: str
    role: OrgRole
    class_id: int | None = None
    name: str = ""


def _clean_name(raw: str) -> str:
    name = " ".join(require_printable(raw, "name").split())
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Имя не длиннее {MAX_NAME} символов.", field="name")
    return name


# Any constant: the class key of the PostgreSQL advisory locks on phone numbers.
_PHONE_LOCK_CLASS = 7_270_003


async def _lock_phone(db: AsyncSession, phone: str) -> None:
    """Serialize adding a membership by phone with the first sign-in of that phone.

    Without it PostgreSQL could let an admin's add miss the account being
    created at that moment, leaving a pending membership nobody activates.
    SQLite has a single writer already.
    """
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(
            text("SELECT pg_advisory_xact_lock(:cls, hashtext(:key))"),
            {"cls": _PHONE_LOCK_CLASS, "key": phone},
        )


async def _class_of_org(db: AsyncSession, org_id: int, class_id: int) -> int:
    """A class or preschool group (not a group) of this organization, else ``class_not_found``."""
    cls = await db.get(ClassGroup, class_id)
    if cls is None or cls.org_id != org_id or cls.kind not in chatsync.ENROLLING:
        raise class_not_found()
    if cls.closed_at is not None:  # last year's class, closed by the rollover
        raise class_not_found()
    return cls.id


def _students_only(role: OrgRole) -> None:
    if role is not OrgRole.student:
        raise InvalidInput("Класс указывают только для учеников.", field="class_id")


async def _existing_member(db: AsyncSession, org_id: int, phone: str, user: User | None) -> OrgMember | None:
    same = OrgMember.phone == phone
    if user is not None:
        same = or_(same, OrgMember.user_id == user.id)
    query = select(OrgMember).where(OrgMember.org_id == org_id, same).limit(1)
    return (await db.execute(query)).scalar_one_or_none()


async def add_member(
    db: AsyncSession, actor: User, org_id: int, new: NewMember, *, region: str = "RU"
) -> MemberView:
    """Add a person by phone: active at once if they have an account, else pending.

    A pending membership activates on the first sign-in with that phone. A
    student may be put into a class at once (see ``enroll``). Emits
    ``org.joined`` to the new member (active only), ``org.member_added`` to
    admins (with the phone) and chat events of the class chats. Raises
    ``org_not_found``, ``forbidden`` (not an admin; additional admins may not
    add admins), ``invalid_phone``, ``invalid_request``, ``class_not_found``,
    ``conflict`` (already a member).
    """
    phone = normalize_phone(new.phone, region)
    name = _clean_name(new.name)
    if new.class_id is not None:
        _students_only(new.role)
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        require(
            policy.can_set_org_role(access.role, current=new.role, new=new.role, is_self=False),
            "Администраторов назначает только главный администратор.",
        )
        class_id = await _class_of_org(db, org_id, new.class_id) if new.class_id is not None else None
        await _lock_phone(db, phone)
        user = (await db.execute(select(User).where(User.phone == phone))).scalar_one_or_none()
        reach = await safety.reach(db, actor.id, user)
        if not policy.can_enroll(is_verified_org=access.org.is_verified, reach=reach):
            user = None  # waits as a pending number, exactly like an unknown phone
        existing = await _existing_member(db, org_id, phone, user)
        if existing is not None:
            raise Conflict(f"Этот человек уже в организации (участник № {existing.id}).", field="phone")
        details: Json = {"role": new.role.value}
        if user is not None:
            member = await enroll(
                db, access, user, new.role, class_id, action="member.added", details=details, name=name
            )
        else:
            member = _new_member(access, None, phone=phone, name=name, role=new.role)
            await _admit(db, access, member, None, class_id, action="member.added", details=details)
    return MemberView(member=member, user=user)


def _updated_payload(member: OrgMember, user: User | None) -> Json:
    """``org.member_updated``: no phone, since the member may receive it too."""
    return {"org_id": member.org_id, "member": member_json(MemberView(member, user), with_phone=False)}


async def activate_pending(db: AsyncSession, user: User) -> list[OrgMember]:
    """Turn every pending membership for the user's phone into an active one.

    Runs inside the caller's transaction (the first sign-in of an account).
    The class was placed when the admin added them (``enroll``'s rules), so
    only the chats and the news are left: emits ``org.joined`` to the user,
    ``org.member_updated`` to each org's admins and the chat events of the
    classes the user enters. No audit entry: nobody acted but the person.
    """
    await _lock_phone(db, user.phone)
    from parta.migration.manifest import activate_pending_chats  # the migration builds on members

    # Chats of a membership manifest first, so the welcome below lists them.
    await activate_pending_chats(db, user)
    query = select(OrgMember).where(OrgMember.phone == user.phone, OrgMember.status == PENDING)
    pending = list((await db.execute(query.order_by(OrgMember.id))).scalars())
    now = utcnow()
    for member in pending:
        member.user_id, member.phone, member.status, member.joined_at = user.id, None, ACTIVE, now
    await db.flush()
    for member in pending:
        await chatsync.sync_classes(db, await chatsync.classes_of(db, member))
        await staffchat.sync_staff_chat(db, member.org_id)
        org = await db.get(Organization, member.org_id)
        if org is not None:
            await _emit_joined(db, org, member)
            await _welcome(db, org, member, user)
        await core.notify_admins(db, member.org_id, "org.member_updated", _updated_payload(member, user))
    return pending


ROLE_NAMES = {
    OrgRole.admin: "администратор",
    OrgRole.additional_admin: "дополнительный администратор",
    OrgRole.teacher: "учитель",
    OrgRole.student: "ученик",
    OrgRole.parent: "родитель",
    OrgRole.staff: "сотрудник",
}


async def _welcome(db: AsyncSession, org: Organization, member: OrgMember, user: User) -> None:
    """``notice.welcome`` to someone an admin added before they had an account: where
    they are and which chats they are in now, so the first screen is not a surprise."""
    chats = (
        await db.execute(
            select(Chat.id, Chat.title)
            .join(ChatMember, (ChatMember.chat_id == Chat.id) & (ChatMember.user_id == user.id))
            .where(Chat.org_id == org.id)
            .order_by(Chat.id)
        )
    ).all()
    klass = await db.get(ClassGroup, member.class_id) if member.class_id is not None else None
    where = f" {klass.name}" if klass is not None and member.role == OrgRole.student.value else ""
    text = (
        f"Добро пожаловать в «{org.short_name}»! Вас добавили как {ROLE_NAMES[OrgRole(member.role)]}{where}."
    )
    if chats:
        text += " Ваши чаты: " + ", ".join(title for _, title in chats) + "."
    payload: Json = {
        "org_id": org.id,
        "org_name": org.short_name,
        "role": member.role,
        "chats": [{"id": chat_id, "title": title} for chat_id, title in chats],
        "text": text,
    }
    if klass is not None:
        payload["class_name"] = klass.name
    await events.append_for_users(db, "notice.welcome", [user.id], payload)


# --- Roles and classes --------------------------------------------------------


@dataclass(frozen=True)
class MemberChange:
    role: OrgRole | None = None
    class_id: int | None = None
    clear_class: bool = False


async def _other_admins(db: AsyncSession, org_id: int, member_id: int) -> int:
    query = select(func.count()).where(
        OrgMember.org_id == org_id,
        OrgMember.status == ACTIVE,
        OrgMember.role == OrgRole.admin.value,
        OrgMember.id != member_id,
    )
    return int((await db.execute(query)).scalar_one())


async def _check_role_change(db: AsyncSession, access: OrgAccess, member: OrgMember, role: OrgRole) -> None:
    current = OrgRole(member.role)
    is_self = member.user_id is not None and member.user_id == access.actor.id
    require(
        policy.can_set_org_role(access.role, current=current, new=role, is_self=is_self),
        "Эту роль изменить нельзя.",
    )
    if current is OrgRole.admin and member.status == ACTIVE:
        # Demoting the last admin would leave the school unmanaged, like their leaving.
        others = await _other_admins(db, member.org_id, member.id)
        require(policy.can_leave_org(current, other_admins=others), "Это единственный администратор.")


async def _next_class(db: AsyncSession, member: OrgMember, role: OrgRole, change: MemberChange) -> int | None:
    """An admin sets a class only for a student; a class stays while the role does
    (a parent's class from a link or request too) or the member stays a student."""
    if change.class_id is not None:
        _students_only(role)
        return await _class_of_org(db, member.org_id, change.class_id)
    if change.clear_class:
        return None
    return member.class_id if role is OrgRole.student or role.value == member.role else None


async def _stop_teaching(db: AsyncSession, member: OrgMember) -> list[ClassGroup]:
    """Someone who no longer teaches (now a student or parent) leaves the classes and
    groups they taught, and stops being a homeroom teacher; returns those classes."""
    taught = select(ClassGroupMember.class_id).where(
        ClassGroupMember.member_id == member.id, ClassGroupMember.is_teacher.is_(True)
    )
    query = select(ClassGroup).where(
        or_(ClassGroup.id.in_(taught), ClassGroup.homeroom_member_id == member.id)
    )
    found = list((await db.execute(query.order_by(ClassGroup.id))).scalars())
    for cls in found:
        if cls.homeroom_member_id == member.id:
            cls.homeroom_member_id = None
    await db.execute(
        delete(ClassGroupMember).where(
            ClassGroupMember.member_id == member.id, ClassGroupMember.is_teacher.is_(True)
        )
    )
    await db.flush()
    return found


async def update_member(
    db: AsyncSession, actor: User, org_id: int, member_id: int, change: MemberChange
) -> MemberView:
    """Change a member's role or a student's class; class chats follow.

    A student moved to another class leaves the old class chat and enters the
    new one, and their linked parents move between the parents' chats. A
    teacher made a student or parent stops teaching their classes and groups
    and stops being a homeroom teacher. Emits ``org.member_updated`` to admins
    and the member, ``class.updated`` (to admins and the member) for each
    class they stopped teaching. Raises ``org_not_found``, ``forbidden`` (not
    an admin, own role, admins touched by an additional admin, the last
    admin), ``member_not_found``, ``class_not_found``, ``invalid_request`` (a
    class for a non-student).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        member = await core.member_in_org(db, org_id, member_id)
        old_role, old_class = OrgRole(member.role), member.class_id
        role = change.role or old_role
        if role is not old_role:
            await _check_role_change(db, access, member, role)
        class_id = await _next_class(db, member, role, change)
        before = await chatsync.classes_of(db, member)
        member.role, member.class_id = role.value, class_id
        left = await _stop_teaching(db, member) if role not in policy.STAFF_ROLES else []
        await db.flush()
        await chatsync.sync_classes(db, before | await chatsync.classes_of(db, member))
        await staffchat.sync_staff_chat(db, org_id)
        user = await db.get(User, member.user_id) if member.user_id is not None else None
        if role is not old_role or class_id != old_class:
            await _audit_change(db, access, member, old_role=old_role, old_class=old_class)
            payload = _updated_payload(member, user)
            await core.notify_admins(db, org_id, "org.member_updated", payload, also=[member.user_id])
        for cls in left:
            await classes.announce(db, cls, "class.updated", [member.user_id])
        return await member_view(db, member, user)


async def _audit_change(
    db: AsyncSession, access: OrgAccess, member: OrgMember, *, old_role: OrgRole, old_class: int | None
) -> None:
    if member.role != old_role.value:
        changed = {"from": old_role.value, "to": member.role}
        await core.audit(db, access, "member.role_changed", member=member, details=changed)
    if member.class_id != old_class:
        moved = {"from": old_class, "to": member.class_id}
        await core.audit(
            db, access, "member.class_changed", member=member, class_id=member.class_id, details=moved
        )


# --- Removal and leaving -----------------------------------------------------


async def remove_member(db: AsyncSession, actor: User, org_id: int, member_id: int) -> None:
    """Remove a member (their own membership: leave). They leave every class chat,
    the archived chats of deleted classes included.

    Their parent links and class and group places go with the membership.
    Emits ``org.left`` to the member and ``org.member_removed`` to admins.
    Raises ``org_not_found``, ``forbidden`` (not an admin, an admin removed by
    an additional admin, the last admin leaving), ``member_not_found``.
    """
    async with transaction(db):
        access = await core.load_org(db, actor, org_id, for_update=True)
        if access.member is not None and access.member.id == member_id:
            await _leave(db, access)
            return
        # Rights first: a member who may not remove anyone learns nothing about ids.
        require(policy.can_manage_org(access.role), "Удалять участников могут только администраторы.")
        member = await core.member_in_org(db, org_id, member_id)
        require(
            policy.can_remove_org_member(access.role, OrgRole(member.role)),
            "Администратора может удалить только главный администратор.",
        )
        await delete_member(db, access, member, reason=REMOVED)


async def leave_org(db: AsyncSession, actor: User, org_id: int) -> None:
    """Leave the organization and all its class chats (archived ones too).

    Emits ``org.left`` to the member and ``org.member_removed`` to admins.
    Raises ``org_not_found``, ``forbidden`` (``last_admin``: appoint another
    admin first; ``not_member`` for an operator).
    """
    async with transaction(db):
        access = await core.load_org(db, actor, org_id, for_update=True)
        await _leave(db, access)


async def _leave(db: AsyncSession, access: OrgAccess) -> None:
    me = access.member
    if me is None:
        raise denied("not_member", "Вы не состоите в этой организации.")
    others = await _other_admins(db, access.org.id, me.id)
    require(
        policy.can_leave_org(OrgRole(me.role), other_admins=others),
        "Вы единственный администратор: сначала назначьте другого.",
    )
    await delete_member(db, access, me, reason=LEFT)


async def delete_member(db: AsyncSession, access: OrgAccess, member: OrgMember, *, reason: str) -> None:
    """Take a membership out (removal, leaving, a moderator's decision) in the caller's
    transaction: its class chats and the org's archived chats follow, with the audit
    entry and ``org.left`` / ``org.member_removed``. The caller checked the right."""
    touched = await chatsync.classes_of(db, member)
    user_id, member_id = member.user_id, member.id
    action = "member.left" if reason == LEFT else "member.removed"
    await core.audit(db, access, action, member=member, details={"role": member.role})
    links = or_(ParentLink.parent_member_id == member_id, ParentLink.child_member_id == member_id)
    await db.execute(delete(ParentLink).where(links))
    await db.execute(delete(ClassGroupMember).where(ClassGroupMember.member_id == member_id))
    await db.execute(
        update(ClassGroup)
        .where(ClassGroup.org_id == member.org_id, ClassGroup.homeroom_member_id == member_id)
        .values(homeroom_member_id=None)
    )
    await db.delete(member)
    await db.flush()
    await chatsync.sync_classes(db, touched)
    await staffchat.sync_staff_chat(db, access.org.id)
    payload = {"org_id": access.org.id, "member_id": member_id, "reason": reason}
    if user_id is not None:
        await chatsync.leave_archived_chats(db, access.org.id, user_id)
        await events.append_for_users(db, "org.left", [user_id], payload)
    await core.notify_admins(db, access.org.id, "org.member_removed", payload)
