"""People of an organization: adding by phone, roles and classes, removal and
leaving, parent links, and the directory.

Everything that changes who belongs to a class (a student's class, a role, a
parent link, a removal) re-syncs the class chats in the same transaction, so
the class and parents' chats never disagree with the school's lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import policy
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import ClassGroup, ClassGroupMember, Organization, OrgMember, ParentLink, User
from parta.errors import Conflict, ErrorCode, InvalidInput, NotFound, class_not_found, denied
from parta.events import log as events
from parta.orgs import chatsync, core
from parta.orgs.core import ACTIVE, PENDING, OrgAccess, require
from parta.phones import normalize_phone
from parta.policy import Decision, OrgRole
from parta.render import Json, ts
from parta.text import require_printable

REQUESTED = "requested"  # a parent link the parent asked for; an admin confirms it
MAX_NAME = 128
MAX_PAGE = 500
REMOVED = "removed"
LEFT = "left"


# --- Proposed for parta/policy.py (to be moved there by the lead) -----------


def can_link_parent(actor: OrgRole | None, *, is_own_link: bool) -> Decision:
    """Link a parent to a child.

    Admins link anyone, and the link counts at once. Any other adult member
    may ask to be linked as the parent themself; the link waits for an admin.
    Students link nobody, and nobody links someone else as a parent.
    """
    managing = policy.can_manage_org(actor)
    if managing or actor is None or not is_own_link:
        return managing
    return policy.deny("student") if actor is OrgRole.student else policy.allow("request")


def can_unlink_parent(actor: OrgRole | None, *, is_own_link: bool) -> Decision:
    """Admins remove any parent link; a parent removes their own (asked for or confirmed)."""
    managing = policy.can_manage_org(actor)
    if managing or actor is None or not is_own_link:
        return managing
    return policy.allow("own_link")


# --- Views -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    member: OrgMember
    user: User | None
    children: tuple[int, ...] = ()
    is_homeroom: bool = False


def member_json(view: MemberView, *, with_phone: bool) -> Json:
    """A member as the directory shows them; the phone only for admins (``with_phone``)."""
    member, user = view.member, view.user
    phone = (user.phone if user is not None else member.phone) if with_phone else None
    data: Json = {
        "member_id": member.id,
        "name": (user.display_name if user is not None else "") or member.name,
        "role": member.role,
        "status": member.status,
    }
    optional = {
        "user_id": member.user_id,
        "class_id": member.class_id,
        "phone": phone,
        "children": list(view.children) or None,
        "is_homeroom": view.is_homeroom or None,
    }
    return data | {k: v for k, v in optional.items() if v is not None}


def link_json(link: ParentLink) -> Json:
    return {
        "org_id": link.org_id,
        "parent_member_id": link.parent_member_id,
        "child_member_id": link.child_member_id,
        "status": link.status,
        "created_at": ts(link.created_at),
    }


# --- Adding people -------------------------------------------------------------


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
    """A class (not a group) of this organization, else ``class_not_found``."""
    cls = await db.get(ClassGroup, class_id)
    if cls is None or cls.org_id != org_id or cls.kind != chatsync.CLASS:
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
    student may be put into a class at once. Emits ``org.joined`` to the new
    member (active only), ``org.member_added`` to admins (with the phone) and
    chat events of the class chats. Raises ``org_not_found``, ``forbidden``
    (not an admin; additional admins may not add admins), ``invalid_phone``,
    ``invalid_request``, ``class_not_found``, ``conflict`` (already a member).
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
        existing = await _existing_member(db, org_id, phone, user)
        if existing is not None:
            raise Conflict(f"Этот человек уже в организации (участник № {existing.id}).", field="phone")
        member = _new_member(access, user, phone=phone, name=name, role=new.role, class_id=class_id)
        db.add(member)
        await db.flush()
        await chatsync.sync_classes(db, await chatsync.classes_of(db, member))
        await core.audit(
            db, access, "member.added", member=member, class_id=class_id, details={"role": new.role}
        )
        view = MemberView(member=member, user=user)
        if user is not None:
            await _emit_joined(db, access.org, member)
        payload = {"org_id": org_id, "member": member_json(view, with_phone=True)}
        await core.notify_admins(db, org_id, "org.member_added", payload)
    return view


def _new_member(
    access: OrgAccess, user: User | None, *, phone: str, name: str, role: OrgRole, class_id: int | None
) -> OrgMember:
    now = utcnow()
    return OrgMember(
        org_id=access.org.id,
        user_id=user.id if user is not None else None,
        phone=None if user is not None else phone,
        name=name,
        role=role.value,
        status=ACTIVE if user is not None else PENDING,
        class_id=class_id,
        created_by=access.actor.id,
        created_at=now,
        joined_at=now if user is not None else None,
    )


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


def _updated_payload(member: OrgMember, user: User | None) -> Json:
    """``org.member_updated``: no phone, since the member may receive it too."""
    return {"org_id": member.org_id, "member": member_json(MemberView(member, user), with_phone=False)}


async def activate_pending(db: AsyncSession, user: User) -> list[OrgMember]:
    """Turn every pending membership for the user's phone into an active one.

    Runs inside the caller's transaction (the first sign-in of an account).
    Emits ``org.joined`` to the user, ``org.member_updated`` to each org's
    admins and the chat events of the classes the user enters.
    """
    await _lock_phone(db, user.phone)
    query = select(OrgMember).where(OrgMember.phone == user.phone, OrgMember.status == PENDING)
    pending = list((await db.execute(query.order_by(OrgMember.id))).scalars())
    now = utcnow()
    for member in pending:
        member.user_id, member.phone, member.status, member.joined_at = user.id, None, ACTIVE, now
    await db.flush()
    for member in pending:
        await chatsync.sync_classes(db, await chatsync.classes_of(db, member))
        org = await db.get(Organization, member.org_id)
        if org is not None:
            await _emit_joined(db, org, member)
        await core.notify_admins(db, member.org_id, "org.member_updated", _updated_payload(member, user))
    return pending


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
    if change.class_id is not None:
        _students_only(role)
        return await _class_of_org(db, member.org_id, change.class_id)
    if change.clear_class or role is not OrgRole.student:
        return None
    return member.class_id


async def update_member(
    db: AsyncSession, actor: User, org_id: int, member_id: int, change: MemberChange
) -> MemberView:
    """Change a member's role or a student's class; class chats follow.

    A student moved to another class leaves the old class chat and enters the
    new one, and their linked parents move between the parents' chats. Emits
    ``org.member_updated`` to admins and the member. Raises ``org_not_found``,
    ``forbidden`` (not an admin, own role, admins touched by an additional
    admin, the last admin), ``member_not_found``, ``class_not_found``,
    ``invalid_request`` (a class for a non-student).
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
        await db.flush()
        await chatsync.sync_classes(db, before | await chatsync.classes_of(db, member))
        user = await db.get(User, member.user_id) if member.user_id is not None else None
        if role is not old_role or class_id != old_class:
            await _audit_change(db, access, member, old_role=old_role, old_class=old_class)
            payload = _updated_payload(member, user)
            await core.notify_admins(db, org_id, "org.member_updated", payload, also=[member.user_id])
        return await _view(db, member, user)


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
    """Remove a member (their own membership: leave). They leave every class chat.

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
        await _delete_member(db, access, member, reason=REMOVED)


async def leave_org(db: AsyncSession, actor: User, org_id: int) -> None:
    """Leave the organization and all its class chats.

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
    await _delete_member(db, access, me, reason=LEFT)


async def _delete_member(db: AsyncSession, access: OrgAccess, member: OrgMember, *, reason: str) -> None:
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
    payload = {"org_id": access.org.id, "member_id": member_id, "reason": reason}
    if user_id is not None:
        await events.append_for_users(db, "org.left", [user_id], payload)
    await core.notify_admins(db, access.org.id, "org.member_removed", payload)


# --- Parent links -------------------------------------------------------------


def link_not_found() -> NotFound:
    return NotFound("Связь родителя и ребёнка не найдена.", code=ErrorCode.not_found)


async def _link(db: AsyncSession, org_id: int, parent_member_id: int, child_member_id: int) -> ParentLink:
    link = await db.get(ParentLink, (parent_member_id, child_member_id))
    if link is None or link.org_id != org_id:
        raise link_not_found()
    return link


def _is_own(access: OrgAccess, member_id: int) -> bool:
    return access.member is not None and access.member.id == member_id


async def _link_changed(
    db: AsyncSession, access: OrgAccess, link: ParentLink, *, event: str, action: str, family: bool
) -> None:
    """Sync the child's class, audit, and tell admins and the parent (and the child when ``family``)."""
    parent = await db.get(OrgMember, link.parent_member_id)
    child = await db.get(OrgMember, link.child_member_id)
    if child is not None and child.class_id is not None:
        await chatsync.sync_classes(db, [child.class_id])
    details = {"child_member_id": link.child_member_id}
    class_id = child.class_id if child is not None else None
    await core.audit(db, access, action, member=parent, class_id=class_id, details=details)
    also = [parent.user_id if parent else None, child.user_id if child and family else None]
    await core.notify_admins(db, access.org.id, event, link_json(link), also=also)


async def link_parent(
    db: AsyncSession, actor: User, org_id: int, *, parent_member_id: int, child_member_id: int
) -> ParentLink:
    """Link a parent to a student: by an admin at once, by the parent themself as a request.

    An active link puts the parent into the parents' chat of the child's class.
    Emits ``parent_link.created`` to admins and the parent (and the child when
    active). Raises ``org_not_found``, ``forbidden``, ``member_not_found``,
    ``invalid_request`` (the same member twice, a child who is not a student),
    ``conflict`` (the link exists).
    """
    if parent_member_id == child_member_id:
        raise InvalidInput("Нельзя связать участника с самим собой.", field="child_member_id")
    async with transaction(db):
        access = await core.load_org(db, actor, org_id, for_update=True)
        is_own = _is_own(access, parent_member_id)
        require(
            can_link_parent(access.role, is_own_link=is_own),
            "Связывать родителей и детей могут администраторы.",
        )
        status = ACTIVE if policy.can_manage_org(access.role) else REQUESTED
        await core.member_in_org(db, org_id, parent_member_id)
        child = await core.member_in_org(db, org_id, child_member_id)
        if child.role != OrgRole.student.value:
            raise InvalidInput("Ребёнком может быть только ученик.", field="child_member_id")
        link = await db.get(ParentLink, (parent_member_id, child_member_id))
        if link is not None and (link.status == ACTIVE or status == REQUESTED):
            raise Conflict("Такая связь уже есть.")
        if link is None:
            link = ParentLink(
                parent_member_id=parent_member_id,
                child_member_id=child_member_id,
                org_id=org_id,
                status=status,
                created_by=actor.id,
                created_at=utcnow(),
            )
            db.add(link)
        link.status = status  # an admin linking a requested pair confirms it
        await db.flush()
        action = "parent_link.added" if status == ACTIVE else "parent_link.requested"
        await _link_changed(
            db, access, link, event="parent_link.created", action=action, family=status == ACTIVE
        )
    return link


async def confirm_parent_link(
    db: AsyncSession, actor: User, org_id: int, *, parent_member_id: int, child_member_id: int
) -> ParentLink:
    """An admin confirms a link a parent asked for; repeating it changes nothing.

    Emits ``parent_link.confirmed`` to admins, the parent and the child.
    Raises ``org_not_found``, ``forbidden``, ``not_found`` (no such link).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        link = await _link(db, org_id, parent_member_id, child_member_id)
        if link.status != ACTIVE:
            link.status = ACTIVE
            await db.flush()
            await _link_changed(
                db, access, link, event="parent_link.confirmed", action="parent_link.confirmed", family=True
            )
    return link


async def unlink_parent(
    db: AsyncSession, actor: User, org_id: int, *, parent_member_id: int, child_member_id: int
) -> None:
    """Remove a parent link (admins, or the parent themself); the parent leaves the parents' chat.

    Emits ``parent_link.deleted`` to admins and the parent (and the child if it
    was active). Raises ``org_not_found``, ``forbidden``, ``not_found``.
    """
    async with transaction(db):
        access = await core.load_org(db, actor, org_id, for_update=True)
        is_own = _is_own(access, parent_member_id)
        require(can_unlink_parent(access.role, is_own_link=is_own), "Удалять связи могут администраторы.")
        link = await _link(db, org_id, parent_member_id, child_member_id)
        was_active = link.status == ACTIVE
        await db.delete(link)
        await db.flush()
        await _link_changed(
            db, access, link, event="parent_link.deleted", action="parent_link.removed", family=was_active
        )


async def list_parent_links(
    db: AsyncSession, actor: User, org_id: int, *, status: str | None
) -> list[ParentLink]:
    """Admins see every link of the org; anyone else the links where they are the parent.

    Raises ``org_not_found``; ``forbidden`` (``not_member``) for an operator.
    """
    access = await core.load_org(db, actor, org_id)
    if access.member is None:
        raise denied("not_member", "Вы не состоите в этой организации.")
    query = select(ParentLink).where(ParentLink.org_id == org_id)
    if not policy.can_manage_org(access.role):
        query = query.where(ParentLink.parent_member_id == access.member.id)
    if status is not None:
        query = query.where(ParentLink.status == status)
    order = (ParentLink.parent_member_id, ParentLink.child_member_id)
    return list((await db.execute(query.order_by(*order))).scalars())


# --- The directory --------------------------------------------------------------


@dataclass
class Facts:
    """What the directory needs to know about a set of members."""

    classes: dict[int, set[int]] = field(default_factory=dict)  # own, taught, children's
    taught: dict[int, set[int]] = field(default_factory=dict)
    children: dict[int, list[tuple[int, int | None, str]]] = field(default_factory=dict)
    homeroom: set[int] = field(default_factory=set)


async def _facts(db: AsyncSession, members: Sequence[OrgMember]) -> Facts:
    facts = Facts(classes={m.id: {m.class_id} if m.class_id is not None else set() for m in members})
    ids = list(facts.classes)
    if not ids:
        return facts
    teaching = select(ClassGroupMember.member_id, ClassGroupMember.class_id).where(
        ClassGroupMember.member_id.in_(ids), ClassGroupMember.is_teacher.is_(True)
    )
    for member_id, class_id in await db.execute(teaching):
        facts.taught.setdefault(member_id, set()).add(class_id)
        facts.classes[member_id].add(class_id)
    child = aliased(OrgMember)
    kids = (
        select(ParentLink.parent_member_id, child.id, child.class_id, child.role)
        .join(child, child.id == ParentLink.child_member_id)
        .where(ParentLink.parent_member_id.in_(ids), ParentLink.status == ACTIVE)
        .order_by(child.id)
    )
    for parent_id, child_id, child_class, role in await db.execute(kids):
        facts.children.setdefault(parent_id, []).append((child_id, child_class, role))
        if child_class is not None:
            facts.classes[parent_id].add(child_class)
    homerooms = select(ClassGroup.homeroom_member_id).where(ClassGroup.homeroom_member_id.in_(ids))
    facts.homeroom = {i for i in (await db.execute(homerooms)).scalars() if i is not None}
    return facts


async def _view(db: AsyncSession, member: OrgMember, user: User | None) -> MemberView:
    """One member with all their children (for admins, who see everyone)."""
    facts = await _facts(db, [member])
    children = tuple(c for c, _, _ in facts.children.get(member.id, []))
    return MemberView(member, user, children=children, is_homeroom=member.id in facts.homeroom)


@dataclass(frozen=True)
class Viewer:
    role: OrgRole
    member_id: int
    classes: set[int]  # their class, the classes they teach, their children's classes
    related: set[int]  # members linked to them as parent or child

    def sees(self, role: OrgRole, *, classes: set[int], taught: set[int], member_id: int) -> bool:
        return policy.can_see_org_member(
            self.role,
            role,
            same_class=bool(classes & self.classes),
            is_related=member_id in self.related,
            teaches_actor_class=bool(taught & self.classes),
        ).allowed


async def _viewer(db: AsyncSession, me: OrgMember) -> Viewer:
    facts = await _facts(db, [me])
    links = select(ParentLink.parent_member_id, ParentLink.child_member_id).where(
        or_(ParentLink.parent_member_id == me.id, ParentLink.child_member_id == me.id),
        ParentLink.status == ACTIVE,
    )
    related = {p if c == me.id else c for p, c in await db.execute(links)}
    return Viewer(role=OrgRole(me.role), member_id=me.id, classes=facts.classes[me.id], related=related)


def _seen_without_facts(role: OrgRole) -> list[str]:
    """Roles the viewer sees whoever they are (everyone, for staff): from the policy itself."""
    return [
        target.value
        for target in OrgRole
        if policy.can_see_org_member(
            role, target, same_class=False, is_related=False, teaches_actor_class=False
        )
    ]


async def _circle(db: AsyncSession, viewer: Viewer) -> set[int]:
    """Members who share a class with the viewer or are family: a superset of the
    rest of what they may see (and themselves), so the directory query stays small."""
    found = {viewer.member_id, *viewer.related}
    if not viewer.classes:
        return found
    in_class = select(OrgMember.id).where(OrgMember.class_id.in_(viewer.classes))
    teaching = select(ClassGroupMember.member_id).where(ClassGroupMember.class_id.in_(viewer.classes))
    child = aliased(OrgMember)
    parents = (
        select(ParentLink.parent_member_id)
        .join(child, child.id == ParentLink.child_member_id)
        .where(child.class_id.in_(viewer.classes))
    )
    for query in (in_class, teaching, parents):
        found.update((await db.execute(query)).scalars())
    return found


@dataclass(frozen=True)
class DirectoryQuery:
    role: OrgRole | None = None
    class_id: int | None = None
    cursor: int | None = None
    limit: int = 100


@dataclass(frozen=True)
class MemberPage:
    members: list[MemberView]
    next_cursor: int | None
    with_phones: bool


def _in_class(class_id: int) -> ColumnElement[bool]:
    child = aliased(OrgMember)
    return or_(
        OrgMember.class_id == class_id,
        OrgMember.id.in_(select(ClassGroupMember.member_id).where(ClassGroupMember.class_id == class_id)),
        OrgMember.id.in_(
            select(ParentLink.parent_member_id)
            .join(child, child.id == ParentLink.child_member_id)
            .where(child.class_id == class_id, ParentLink.status == ACTIVE)
        ),
    )


async def _directory_filter(
    db: AsyncSession, access: OrgAccess, viewer: Viewer, query: DirectoryQuery
) -> list[ColumnElement[bool]]:
    statuses = [ACTIVE, PENDING] if policy.can_manage_org(access.role) else [ACTIVE]
    where: list[ColumnElement[bool]] = [OrgMember.org_id == access.org.id, OrgMember.status.in_(statuses)]
    free = _seen_without_facts(viewer.role)
    if len(free) < len(OrgRole):
        where.append(or_(OrgMember.role.in_(free), OrgMember.id.in_(await _circle(db, viewer))))
    if query.role is not None:
        where.append(OrgMember.role == query.role.value)
    if query.class_id is not None:
        where.append(_in_class(query.class_id))
    return where


def _just(class_id: int | None) -> set[int]:
    return {class_id} if class_id is not None else set()


def _visible_view(viewer: Viewer, member: OrgMember, user: User | None, facts: Facts) -> MemberView | None:
    if member.id != viewer.member_id and not viewer.sees(
        OrgRole(member.role),
        classes=facts.classes[member.id],
        taught=facts.taught.get(member.id, set()),
        member_id=member.id,
    ):
        return None
    children = tuple(
        child_id
        for child_id, class_id, role in facts.children.get(member.id, [])
        if viewer.sees(OrgRole(role), classes=_just(class_id), taught=set(), member_id=child_id)
    )
    return MemberView(member, user, children=children, is_homeroom=member.id in facts.homeroom)


async def list_members(db: AsyncSession, actor: User, org_id: int, query: DirectoryQuery) -> MemberPage:
    """The organization's people as the actor may see them, by member id from ``cursor``.

    Admins, teachers and staff see everyone (admins also pending members and
    phones); parents and students see their circle (``policy.can_see_org_member``).
    Raises ``org_not_found``; ``forbidden`` (``not_member``) for an operator.
    """
    access = await core.load_org(db, actor, org_id)
    if access.member is None:
        raise denied("not_member", "Список участников видят только участники организации.")
    viewer = await _viewer(db, access.member)
    where = await _directory_filter(db, access, viewer, query)
    found: list[MemberView] = []
    after = query.cursor or 0
    while len(found) <= query.limit:
        batch = (
            select(OrgMember, User)
            .outerjoin(User, User.id == OrgMember.user_id)
            .where(OrgMember.id > after, *where)
            .order_by(OrgMember.id)
            .limit(query.limit + 1)
        )
        rows = (await db.execute(batch)).all()
        facts = await _facts(db, [m for m, _ in rows])
        found.extend(v for m, u in rows if (v := _visible_view(viewer, m, u, facts)) is not None)
        if len(rows) <= query.limit:
            break
        after = rows[-1][0].id
    more = len(found) > query.limit
    page = found[: query.limit]
    return MemberPage(
        members=page,
        next_cursor=page[-1].member.id if more else None,
        with_phones=policy.can_see_phone(access.role).allowed,
    )
