"""Transfers mid-year: a student changes class, or changes school.

**Between classes** (one admin action): the student's membership moves to the
new class, so in the same transaction the student leaves the old class chat
and joins the new one, and their linked parents leave the old parents' chat
and join the new one (``chatsync``). The audit log records
``member.transferred``; the student and the parents get ``notice.transfer``.

**Between schools** both schools consent, and a child is never pushed into, or
pulled out by, an organization nobody vouched for:

1. The old school's admin asks to transfer the student to another organization
   (``request_transfer``). The target must be verified by an operator (an
   unverified "school" could be anyone); an unknown or unverified target answers
   exactly like a missing one (``org_not_found``), since only verified
   organizations are public. The old school's audit log records
   ``member.transfer_requested``; both schools' admins hear ``transfer.requested``.
2. The new school's admin accepts, choosing the class (``accept_transfer``).
   In one transaction the student becomes an active student of that class, the
   parents linked to them at the old school become parents at the new one,
   linked to the child (so they enter the new parents' chat), and the old
   membership ends: the student leaves the old school's class chats and its
   archive, and the parents' links to the child there go with it (the parents
   stay members of the old school, where they may have other children; its
   admins remove them if not). The old school's audit log records
   ``member.transferred_out`` (by the new school's admin) and the removal; the
   new school's, ``member.transferred_in``. Either school's admin may decline
   a pending transfer instead (``decline_transfer``).

Only students with an account move between schools: a pending membership (no
account yet) is simply added by phone at the new school.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import policy
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import ClassGroup, Organization, OrgMember, ParentLink, Transfer, User
from parta.errors import (
    Conflict,
    ErrorCode,
    InvalidInput,
    NotFound,
    class_not_found,
    denied,
    transfer_not_found,
)
from parta.events import log as events
from parta.orgs import chatsync, core, members
from parta.orgs.core import ACTIVE, OrgAccess
from parta.orgs.directory import MemberView, member_json, member_view
from parta.policy import OrgRole
from parta.render import Json, ts

PENDING = "pending"
ACCEPTED = "accepted"
DECLINED = "declined"
TRANSFERRED = "transferred"


def transfer_json(transfer: Transfer, *, org_id: int) -> Json:
    """A transfer as one of the two schools' admins sees it."""
    data: Json = {
        "id": transfer.id,
        "direction": "outgoing" if transfer.from_org_id == org_id else "incoming",
        "from_org_id": transfer.from_org_id,
        "to_org_id": transfer.to_org_id,
        "user_id": transfer.user_id,
        "name": transfer.name,
        "status": transfer.status,
        "created_at": ts(transfer.created_at),
    }
    optional = {
        "member_id": transfer.member_id if transfer.from_org_id == org_id else None,
        "new_member_id": transfer.new_member_id if transfer.to_org_id == org_id else None,
        "class_id": transfer.class_id if transfer.to_org_id == org_id else None,
        "decided_at": ts(transfer.decided_at) if transfer.decided_at else None,
    }
    return data | {k: v for k, v in optional.items() if v is not None}


def _require_student(member: OrgMember) -> None:
    if member.role != OrgRole.student.value:
        raise InvalidInput("Переводить можно только учеников.", field="member_id")


async def _open_class(db: AsyncSession, org_id: int, class_id: int) -> ClassGroup:
    """A class (or a kindergarten's preschool group) of this org that is not closed."""
    cls = await db.get(ClassGroup, class_id)
    if cls is None or cls.org_id != org_id or cls.kind not in chatsync.ENROLLING or cls.closed_at is not None:
        raise class_not_found()
    return cls


async def _parent_members(db: AsyncSession, child_member_id: int) -> list[OrgMember]:
    parent = aliased(OrgMember)
    rows = await db.execute(
        select(parent)
        .join(ParentLink, ParentLink.parent_member_id == parent.id)
        .where(
            ParentLink.child_member_id == child_member_id,
            ParentLink.status == ACTIVE,
            parent.status == ACTIVE,
        )
        .order_by(parent.id)
    )
    return list(rows.scalars())


async def _notice(db: AsyncSession, user_ids: list[int | None], payload: Json) -> None:
    await events.append_for_users(db, "notice.transfer", [u for u in user_ids if u is not None], payload)


# -- between classes ------------------------------------------------------------------------------------


async def transfer_to_class(
    db: AsyncSession, actor: User, org_id: int, member_id: int, class_id: int
) -> MemberView:
    """Move a student to another class of the school; student and parents change chats at once.

    Moving into the class they are in changes nothing. Emits chat member
    events, ``org.member_updated`` to the admins and the student,
    ``notice.transfer`` to the student and their parents; records
    ``member.transferred``. Raises ``org_not_found``, ``forbidden``,
    ``member_not_found``, ``class_not_found`` (unknown, closed, or a group),
    ``invalid_request`` (``member_id``: not a student).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        member = await core.member_in_org(db, org_id, member_id)
        _require_student(member)
        target = await _open_class(db, org_id, class_id)
        user = await db.get(User, member.user_id) if member.user_id is not None else None
        if member.class_id == target.id:
            return await member_view(db, member, user)
        old = await db.get(ClassGroup, member.class_id) if member.class_id is not None else None
        before = await chatsync.classes_of(db, member)
        member.class_id = target.id
        await db.flush()
        await chatsync.sync_classes(db, before | {target.id})
        details = {"from": old.id if old else None, "to": target.id}
        await core.audit(db, access, "member.transferred", member=member, class_id=target.id, details=details)
        view = await member_view(db, member, user)
        payload = {"org_id": org_id, "member": member_json(view, with_phone=False)}
        await core.notify_admins(db, org_id, "org.member_updated", payload, also=[member.user_id])
        text = f"Перевод в класс {target.name}: чаты класса {target.name} теперь ваши"
        text += f", из чатов {old.name} вы вышли." if old is not None else "."
        parents = [p.user_id for p in await _parent_members(db, member.id)]
        notice: Json = {
            "org_id": org_id,
            "member_id": member.id,
            "class_id": target.id,
            "class_name": target.name,
        }
        await _notice(db, [member.user_id, *parents], notice | {"text": text})
        return view


# -- between schools --------------------------------------------------------------------------------


async def _target_org(db: AsyncSession, org_id: int, to_org_id: int) -> Organization:
    target = await db.get(Organization, to_org_id)
    decision = policy.can_transfer_to_org(
        is_target_verified=target is not None and target.is_verified, is_same_org=to_org_id == org_id
    )
    if decision.reason == "same_org":
        raise InvalidInput("Для перевода внутри организации укажите класс.", field="to_org_id")
    if target is None or not decision.allowed:
        # Only verified organizations are public: an unverified one looks like none.
        raise NotFound("Организация не найдена.", code=ErrorCode.org_not_found, field="to_org_id")
    return target


async def request_transfer(
    db: AsyncSession, actor: User, org_id: int, member_id: int, to_org_id: int
) -> Transfer:
    """The old school's admin asks to move a student to another (verified) organization.

    Emits ``transfer.requested`` to both schools' admins; records
    ``member.transfer_requested``. Raises ``org_not_found`` (also with field
    ``to_org_id``: unknown or unverified target), ``forbidden``,
    ``member_not_found``, ``invalid_request`` (not a student, no account yet,
    the same organization), ``conflict`` (already asked, already a member there).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        member = await core.member_in_org(db, org_id, member_id)
        _require_student(member)
        if member.user_id is None or member.status != ACTIVE:
            raise InvalidInput(
                "Ученик ещё не входил в Парту: добавьте его в новой школе по телефону.", field="member_id"
            )
        target = await _target_org(db, org_id, to_org_id)
        pending = await db.execute(
            select(Transfer.id).where(Transfer.member_id == member.id, Transfer.status == PENDING)
        )
        if pending.first() is not None:
            raise Conflict("Перевод этого ученика уже ждёт решения.")
        if await _existing(db, target.id, member.user_id) is not None:
            raise Conflict("Ученик уже состоит в этой организации.")
        user = await db.get(User, member.user_id)
        transfer = Transfer(
            from_org_id=org_id,
            to_org_id=target.id,
            member_id=member.id,
            user_id=member.user_id,
            name=(user.display_name if user else "") or member.name,
            status=PENDING,
            created_by=actor.id,
            created_at=utcnow(),
        )
        db.add(transfer)
        await db.flush()
        details = {"to_org_id": target.id, "transfer_id": transfer.id}
        await core.audit(
            db, access, "member.transfer_requested", member=member, class_id=member.class_id, details=details
        )
        await _tell_both(db, transfer, "transfer.requested")
        return transfer


async def _existing(db: AsyncSession, org_id: int, user_id: int) -> OrgMember | None:
    query = select(OrgMember).where(OrgMember.org_id == org_id, OrgMember.user_id == user_id)
    return (await db.execute(query)).scalar_one_or_none()


async def _tell_both(db: AsyncSession, transfer: Transfer, type: str) -> None:
    for org_id in (transfer.from_org_id, transfer.to_org_id):
        payload = {"org_id": org_id, "transfer": transfer_json(transfer, org_id=org_id)}
        await core.notify_admins(db, org_id, type, payload)


async def _transfer_of(db: AsyncSession, org_id: int, transfer_id: int) -> Transfer:
    query = select(Transfer).where(Transfer.id == transfer_id).with_for_update()
    transfer = (await db.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if transfer is None or org_id not in (transfer.from_org_id, transfer.to_org_id):
        raise transfer_not_found()
    return transfer


def _require_pending(transfer: Transfer) -> None:
    if transfer.status != PENDING:
        raise Conflict("Этот перевод уже рассмотрен.")


async def accept_transfer(
    db: AsyncSession, actor: User, org_id: int, transfer_id: int, class_id: int
) -> Transfer:
    """The new school's admin accepts a transfer into a class (see the module doc for the effect).

    Emits ``org.joined``/``org.member_added`` (the student and parents),
    chat member events, ``org.left`` and ``org.member_removed`` at the old
    school, ``transfer.accepted`` to both schools' admins, ``notice.transfer``
    to the student and parents. Raises ``org_not_found``, ``forbidden``
    (``not_target_org``: the old school cannot accept), ``transfer_not_found``,
    ``class_not_found``, ``conflict`` (decided already; the student left the
    old school or joined the new one meanwhile).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        transfer = await _transfer_of(db, org_id, transfer_id)
        if transfer.to_org_id != org_id:
            raise denied("not_target_org", "Перевод принимает школа, в которую переходит ученик.")
        _require_pending(transfer)
        target = await _open_class(db, org_id, class_id)
        old_member = await db.get(OrgMember, transfer.member_id) if transfer.member_id else None
        user = await db.get(User, transfer.user_id)
        if old_member is None or user is None or old_member.org_id != transfer.from_org_id:
            raise Conflict("Ученик уже не состоит в прежней школе.")
        if await _existing(db, org_id, user.id) is not None:
            raise Conflict("Ученик уже состоит в этой организации.")
        details = {"from_org_id": transfer.from_org_id, "transfer_id": transfer.id}
        new_member = await members.enroll(
            db, access, user, OrgRole.student, target.id, action="member.transferred_in", details=details
        )
        parents = await _bring_parents(db, access, old_member, new_member, details)
        await _leave_old_school(db, actor, transfer, old_member, new_member)
        transfer.status, transfer.decided_by, transfer.decided_at = ACCEPTED, actor.id, utcnow()
        transfer.new_member_id, transfer.class_id, transfer.member_id = new_member.id, target.id, None
        await db.flush()
        await _tell_both(db, transfer, "transfer.accepted")
        text = f"Переход в «{access.org.short_name}», класс {target.name}: чаты нового класса уже ваши."
        notice = {"org_id": org_id, "class_id": target.id, "class_name": target.name, "text": text}
        await _notice(db, [user.id, *parents], notice)
        return transfer


async def _bring_parents(
    db: AsyncSession, access: OrgAccess, old_child: OrgMember, child: OrgMember, details: Json
) -> list[int]:
    """Parents linked at the old school become parents here, linked to the child; their user ids."""
    brought: list[int] = []
    for old_parent in await _parent_members(db, old_child.id):
        parent_user = await db.get(User, old_parent.user_id) if old_parent.user_id is not None else None
        if parent_user is None:
            continue
        mine = await _existing(db, access.org.id, parent_user.id)
        if mine is None:
            mine = await members.enroll(
                db, access, parent_user, OrgRole.parent, None, action="member.added", details=details
            )
        if await db.get(ParentLink, (mine.id, child.id)) is None:
            db.add(
                ParentLink(
                    parent_member_id=mine.id,
                    child_member_id=child.id,
                    org_id=access.org.id,
                    status=ACTIVE,
                    created_by=access.actor.id,
                    created_at=utcnow(),
                )
            )
        brought.append(parent_user.id)
    await db.flush()
    if child.class_id is not None:
        await chatsync.sync_classes(db, [child.class_id])
    return brought


async def _leave_old_school(
    db: AsyncSession, actor: User, transfer: Transfer, old_member: OrgMember, new_member: OrgMember
) -> None:
    """End the old membership; the old school's audit log shows who moved the student where."""
    old_org = (
        await db.execute(
            select(Organization).where(Organization.id == transfer.from_org_id).with_for_update()
        )
    ).scalar_one()
    old_access = OrgAccess(org=old_org, actor=actor, member=None, is_operator=False)
    details = {"to_org_id": transfer.to_org_id, "transfer_id": transfer.id, "new_member_id": new_member.id}
    await core.audit(db, old_access, "member.transferred_out", member=old_member, details=details)
    await members.delete_member(db, old_access, old_member, reason=TRANSFERRED)


async def decline_transfer(db: AsyncSession, actor: User, org_id: int, transfer_id: int) -> Transfer:
    """Either school's admin declines (or withdraws) a pending transfer; nothing else changes.

    Emits ``transfer.declined`` to both schools' admins; records
    ``member.transfer_declined``. Raises ``org_not_found``, ``forbidden``,
    ``transfer_not_found``, ``conflict`` (decided already).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        transfer = await _transfer_of(db, org_id, transfer_id)
        _require_pending(transfer)
        transfer.status, transfer.decided_by, transfer.decided_at = DECLINED, actor.id, utcnow()
        await db.flush()
        await core.audit(db, access, "member.transfer_declined", details={"transfer_id": transfer.id})
        await _tell_both(db, transfer, "transfer.declined")
        return transfer


async def list_transfers(db: AsyncSession, actor: User, org_id: int) -> list[Transfer]:
    """Transfers out of and into the organization, newest first (admins).

    Raises ``org_not_found``, ``forbidden``.
    """
    access = await core.load_org(db, actor, org_id)
    core.require(policy.can_manage_org(access.role), "Переводы видят администраторы организации.")
    rows = await db.execute(
        select(Transfer)
        .where(or_(Transfer.from_org_id == org_id, Transfer.to_org_id == org_id))
        .order_by(Transfer.id.desc())
    )
    return list(rows.scalars())
