"""Join requests: asking an organization to let one in, and an admin's decision.

Anyone may ask a verified organization (found through the public directory)
to let them in, and an invite link that requires approval makes a request
too (``joining``). An admin approves (the requester becomes a member through
``members.enroll``, maybe with another role or class) or declines with a
reason; the requester may withdraw a pending request. One pending request per
person per organization.

Lock order: organization row, then the request row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.chats import require_can_chat
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import ClassGroup, JoinRequest, Organization, OrgMember, User
from parta.errors import Conflict, InvalidInput, class_not_found, join_request_not_found, org_not_found
from parta.orgs import chatsync, core, members
from parta.orgs.core import OrgAccess
from parta.policy import OrgRole
from parta.render import Json, ts, user_public

MAX_MESSAGE_LENGTH = 512

REQUEST_PENDING = "pending"
REQUEST_APPROVED = "approved"
REQUEST_DECLINED = "declined"
REQUEST_CANCELLED = "cancelled"
REQUEST_STATUSES = (REQUEST_PENDING, REQUEST_APPROVED, REQUEST_DECLINED, REQUEST_CANCELLED)


def request_json(request: JoinRequest, user: User | None, *, with_phone: bool = False) -> Json:
    """A join request; ``with_phone`` only for admins (``policy.can_see_phone``)."""
    data: Json = {
        "id": request.id,
        "org_id": request.org_id,
        "user_id": request.user_id,
        "role": request.role,
        "status": request.status,
        "created_at": ts(request.created_at),
    }
    optional = {
        "user": user_public(user) if user is not None else None,
        "phone": user.phone if user is not None and with_phone else None,
        "class_id": request.class_id,
        "message": request.message or None,
        "reason": request.reason or None,
        "decided_at": ts(request.decided_at) if request.decided_at else None,
    }
    return data | {k: v for k, v in optional.items() if v is not None}


# Validation (links share it) ------------------------------------------------


def joinable_role(value: str, *, field: str = "role") -> OrgRole:
    try:
        role = OrgRole(value)
    except ValueError:
        raise InvalidInput("Неизвестная роль.", field=field) from None
    if role in policy.ADMIN_ROLES:
        # Admin rights are given only by an admin to a known member (can_set_org_role).
        raise InvalidInput(
            "Роль администратора назначает администратор, а не ссылка или заявка.", field=field
        )
    return role


async def class_for(db: AsyncSession, org_id: int, class_id: int | None, role: OrgRole) -> ClassGroup | None:
    """The class or group a link or request points at; it must belong to this organization."""
    if class_id is None:
        return None
    cls = await db.get(ClassGroup, class_id)
    if cls is None or cls.org_id != org_id:
        raise class_not_found()
    if role is OrgRole.parent and cls.kind == chatsync.GROUP:
        raise InvalidInput("Родителей приглашают в класс, а не в группу.", field="class_id")
    return cls


async def lock_org(db: AsyncSession, org_id: int) -> Organization | None:
    query = (
        select(Organization)
        .where(Organization.id == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await db.execute(query)).scalar_one_or_none()


# Requests ----------------------------------------------------------------------


async def pending_request(db: AsyncSession, org_id: int, user_id: int) -> JoinRequest | None:
    query = select(JoinRequest).where(
        JoinRequest.org_id == org_id, JoinRequest.user_id == user_id, JoinRequest.status == REQUEST_PENDING
    )
    return (await db.execute(query)).scalars().first()


async def add_request(
    db: AsyncSession, org: Organization, actor: User, role: OrgRole, class_id: int | None, message: str
) -> JoinRequest:
    request = JoinRequest(
        org_id=org.id,
        user_id=actor.id,
        role=role.value,
        class_id=class_id,
        message=message,
        status=REQUEST_PENDING,
        reason="",
        created_at=utcnow(),
    )
    db.add(request)
    await db.flush()
    payload = {"org_id": org.id, "join_request": request_json(request, actor, with_phone=True)}
    await core.notify_admins(db, org.id, "join_request.created", payload)
    return request


@dataclass(frozen=True)
class NewJoinRequest:
    role: str
    class_id: int | None = None
    message: str = ""


async def create_join_request(db: AsyncSession, actor: User, org_id: int, new: NewJoinRequest) -> JoinRequest:
    """Ask to join an organization found in the public directory (verified ones only).

    One pending request per person per organization. Emits
    ``join_request.created`` to the admins. Raises ``org_not_found`` (no such
    org, or not verified: unverified orgs are reached only through their links),
    ``conflict`` (already a member, or a request is pending), ``class_not_found``,
    ``invalid_request`` (an admin role, message too long), ``forbidden`` (profile incomplete).
    """
    message = new.message.strip()
    if len(message) > MAX_MESSAGE_LENGTH:
        raise InvalidInput(f"Сообщение: не больше {MAX_MESSAGE_LENGTH} символов.", field="message")
    async with transaction(db):
        org = await lock_org(db, org_id)
        if org is None:
            raise org_not_found()
        is_member = await core.active_member(db, org.id, actor.id) is not None
        if not org.is_verified and not is_member:
            raise org_not_found()
        if is_member:
            raise Conflict("Вы уже состоите в этой организации.")
        require_can_chat(actor)
        role = joinable_role(new.role)
        cls = await class_for(db, org.id, new.class_id, role)
        if await pending_request(db, org.id, actor.id) is not None:
            raise Conflict("Заявка в эту организацию уже отправлена и ждёт решения.")
        return await add_request(db, org, actor, role, cls.id if cls is not None else None, message)


@dataclass(frozen=True)
class JoinRequestPage:
    requests: list[JoinRequest]
    users: dict[int, User]
    next_cursor: int | None


async def list_join_requests(
    db: AsyncSession, actor: User, org_id: int, *, status: str | None, cursor: int | None, limit: int
) -> JoinRequestPage:
    """The organization's join requests, oldest first (a queue), paged by ``cursor`` (an id).

    Admins only. Raises ``org_not_found``, ``forbidden``, ``invalid_request`` (status).
    """
    access = await core.load_org(db, actor, org_id)
    core.require(policy.can_manage_org(access.role), "Заявки рассматривают администраторы.")
    if status is not None and status not in REQUEST_STATUSES:
        raise InvalidInput("Неизвестный статус заявки.", field="status")
    query = select(JoinRequest).where(JoinRequest.org_id == access.org.id)
    if status is not None:
        query = query.where(JoinRequest.status == status)
    if cursor is not None:
        query = query.where(JoinRequest.id > cursor)
    found = list((await db.execute(query.order_by(JoinRequest.id).limit(limit + 1))).scalars())
    page = found[:limit]
    users = await q.users_by_id(db, [r.user_id for r in page])
    return JoinRequestPage(
        requests=page, users=users, next_cursor=page[-1].id if len(found) > limit else None
    )


@dataclass(frozen=True)
class Approval:
    """What an admin changes when approving; ``None`` keeps what was asked for."""

    role: str | None = None
    class_id: int | None = None


@dataclass(frozen=True)
class Decided:
    request: JoinRequest
    user: User
    member: OrgMember | None = None


async def _lock_request(db: AsyncSession, org_id: int, request_id: int) -> JoinRequest:
    query = (
        select(JoinRequest)
        .where(JoinRequest.id == request_id, JoinRequest.org_id == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    request = (await db.execute(query)).scalar_one_or_none()
    if request is None:
        raise join_request_not_found()
    if request.status != REQUEST_PENDING:
        raise Conflict("По этой заявке уже принято решение.")
    return request


async def approve_join_request(
    db: AsyncSession, actor: User, org_id: int, request_id: int, approval: Approval
) -> Decided:
    """Approve a pending request, optionally with another role or class; the requester becomes a member.

    The class asked for counts only while it exists (see ``members.enroll``);
    a class the admin names must exist and suit the role. Someone who became
    a member meanwhile keeps that membership. Audit ``join_request.approved``;
    emits ``join_request.decided`` (approved, with the org) to the requester
    and the admins, plus ``members.enroll``'s events. Raises ``org_not_found``,
    ``forbidden``, ``join_request_not_found``, ``conflict`` (already decided or
    cancelled), ``class_not_found``, ``invalid_request``.
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        request = await _lock_request(db, access.org.id, request_id)
        role = joinable_role(approval.role or request.role)
        await class_for(db, access.org.id, approval.class_id, role)  # the admin's choice must fit
        class_id = approval.class_id if approval.class_id is not None else request.class_id
        user = await db.get(User, request.user_id)
        assert user is not None  # requests go with their user (ON DELETE CASCADE)
        member = await _member_by_approval(db, access, request, user, role, class_id)
        _decide(request, actor, REQUEST_APPROVED)
        org_view = core.org_json(access.org, role=OrgRole(member.role))
        await _announce_decision(db, request, {"org": org_view, "member_id": member.id})
    return Decided(request=request, user=user, member=member)


async def _member_by_approval(
    db: AsyncSession, access: OrgAccess, request: JoinRequest, user: User, role: OrgRole, class_id: int | None
) -> OrgMember:
    details: Json = {"request_id": request.id}
    member = await core.active_member(db, access.org.id, user.id)
    if member is not None:  # added by an admin meanwhile: that membership stands
        await core.audit(db, access, "join_request.approved", member=member, details=details)
        return member
    return await members.enroll(
        db, access, user, role, class_id, action="join_request.approved", details=details
    )


async def decline_join_request(
    db: AsyncSession, actor: User, org_id: int, request_id: int, reason: str
) -> Decided:
    """Decline a pending request with a reason the requester reads.

    Audit ``join_request.declined``; emits ``join_request.decided`` (declined,
    with the reason) to the requester and the admins. Raises ``org_not_found``,
    ``forbidden``, ``join_request_not_found``, ``conflict``, ``invalid_request`` (reason).
    """
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_MESSAGE_LENGTH:
        raise InvalidInput(f"Причина отказа: от 1 до {MAX_MESSAGE_LENGTH} символов.", field="reason")
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        request = await _lock_request(db, access.org.id, request_id)
        user = await db.get(User, request.user_id)
        assert user is not None
        _decide(request, actor, REQUEST_DECLINED)
        request.reason = reason
        details: Json = {"request_id": request.id, "user_id": request.user_id, "reason": reason}
        await core.audit(db, access, "join_request.declined", class_id=request.class_id, details=details)
        await _announce_decision(db, request, {"reason": reason})
    return Decided(request=request, user=user)


def _decide(request: JoinRequest, actor: User, status: str) -> None:
    request.status = status
    request.decided_by = actor.id
    request.decided_at = utcnow()


async def _announce_decision(db: AsyncSession, request: JoinRequest, extra: Json) -> None:
    payload: Json = {"org_id": request.org_id, "request_id": request.id, "status": request.status} | extra
    await core.notify_admins(db, request.org_id, "join_request.decided", payload, also=[request.user_id])


@dataclass(frozen=True)
class OwnRequest:
    request: JoinRequest
    org: Organization


async def my_join_requests(db: AsyncSession, actor: User, *, limit: int = 100) -> list[OwnRequest]:
    """The actor's own join requests, newest first, each with the organization's public card."""
    rows = await db.execute(
        select(JoinRequest, Organization)
        .join(Organization, Organization.id == JoinRequest.org_id)
        .where(JoinRequest.user_id == actor.id)
        .order_by(JoinRequest.id.desc())
        .limit(limit)
    )
    return [OwnRequest(request=r, org=o) for r, o in rows]


async def cancel_join_request(db: AsyncSession, actor: User, request_id: int) -> None:
    """Withdraw one's own pending request; cancelling a cancelled one again is harmless.

    Emits ``join_request.decided`` (cancelled) to the admins and the requester.
    Raises ``join_request_not_found`` (not one's own), ``conflict`` (already decided).
    """
    async with transaction(db):
        query = (
            select(JoinRequest)
            .where(JoinRequest.id == request_id, JoinRequest.user_id == actor.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        request = (await db.execute(query)).scalar_one_or_none()
        if request is None:
            raise join_request_not_found()
        if request.status == REQUEST_CANCELLED:
            return
        if request.status != REQUEST_PENDING:
            raise Conflict("По этой заявке уже принято решение.")
        _decide(request, actor, REQUEST_CANCELLED)
        await _announce_decision(db, request, {})
