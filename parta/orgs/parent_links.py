"""Parent links: which parent belongs to which student of an organization.

An admin links a parent at once; a parent may ask to be linked to their child
themself, and the link waits ("requested") until an admin confirms it. Only an
active link puts the parent into the parents' chat of the child's class, so
every change re-syncs that class's chats in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import OrgMember, ParentLink, User
from parta.errors import Conflict, ErrorCode, InvalidInput, NotFound, denied
from parta.orgs import chatsync, core
from parta.orgs.core import ACTIVE, OrgAccess, require
from parta.policy import OrgRole
from parta.render import Json, ts

REQUESTED = "requested"  # a link the parent asked for; an admin confirms it


def link_json(link: ParentLink) -> Json:
    return {
        "org_id": link.org_id,
        "parent_member_id": link.parent_member_id,
        "child_member_id": link.child_member_id,
        "status": link.status,
        "created_at": ts(link.created_at),
    }


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
            policy.can_link_parent(access.role, is_own_link=is_own),
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
        require(
            policy.can_unlink_parent(access.role, is_own_link=is_own), "Удалять связи могут администраторы."
        )
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
