"""Joining an organization: invite links that carry a role, and join requests.

Links work like chat invite links (``parta.invites``): the token is shown
once, the database keeps its hash and a short prefix, uses are counted under
the link's row lock, and the state is judged by the server's clock. A link
carries the role (never an admin role: admins are appointed by an admin) and
optionally a class; a link that requires approval makes a join request
instead of a membership. Anyone may also ask a verified organization (found
through the public directory) to let them in; an admin approves or declines.

Lock order: organization row, then the invite or request row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.chats import require_can_chat
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import (
    ClassGroup,
    ClassGroupMember,
    JoinRequest,
    Organization,
    OrgInvite,
    OrgMember,
    User,
)
from parta.errors import (
    Conflict,
    ErrorCode,
    Gone,
    InvalidInput,
    PartaError,
    class_not_found,
    join_request_not_found,
    org_not_found,
)
from parta.events import log as events
from parta.invites import MAX_EXPIRY, MAX_TOKEN_LENGTH, MIN_EXPIRY, TOKEN_PREFIX_LENGTH, invite_not_found
from parta.orgs import chatsync, core
from parta.orgs.core import ACTIVE, OrgAccess
from parta.policy import OrgRole
from parta.render import Json, ts, user_public
from parta.tokens import new_token, token_hash

MAX_USAGE_LIMIT = 10_000
MAX_MESSAGE_LENGTH = 512

REQUEST_PENDING = "pending"
REQUEST_APPROVED = "approved"
REQUEST_DECLINED = "declined"
REQUEST_CANCELLED = "cancelled"
REQUEST_STATUSES = (REQUEST_PENDING, REQUEST_APPROVED, REQUEST_DECLINED, REQUEST_CANCELLED)

# A parent's link or request puts them into the organization, not yet into a
# parents' chat: that needs a parent link to a child, which an admin confirms.
PARENT_NOTICE = (
    "После вступления администратор свяжет вас с вашим ребёнком — тогда вы попадёте в чат родителей класса."
)


# Shapes ----------------------------------------------------------------------


def invite_json(invite: OrgInvite, now: datetime) -> Json:
    """A link as admins list it: never the token itself."""
    data: Json = {
        "id": invite.id,
        "token_prefix": invite.token_prefix,
        "role": invite.role,
        "state": invite_state(invite, now),
        "usage_count": invite.usage_count,
        "requires_approval": invite.requires_approval,
        "created_at": ts(invite.created_at),
    }
    optional = {
        "class_id": invite.class_id,
        "usage_limit": invite.usage_limit,
        "expires_at": ts(invite.expires_at) if invite.expires_at else None,
        "revoked_at": ts(invite.revoked_at) if invite.revoked_at else None,
        "created_by": invite.created_by,
    }
    return data | {k: v for k, v in optional.items() if v is not None}


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


def member_json(member: OrgMember, user: User) -> Json:
    """A new member as admins see them in the directory (phone included: admins only)."""
    data: Json = {
        "member_id": member.id,
        "user_id": user.id,
        "name": user.display_name,
        "role": member.role,
        "status": member.status,
        "phone": user.phone,
    }
    return data | ({"class_id": member.class_id} if member.class_id is not None else {})


# Validation --------------------------------------------------------------------


def _joinable_role(value: str, *, field: str = "role") -> OrgRole:
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


async def _class_for(db: AsyncSession, org_id: int, class_id: int | None, role: OrgRole) -> ClassGroup | None:
    """The class or group a link or request points at; it must belong to this organization."""
    if class_id is None:
        return None
    cls = await db.get(ClassGroup, class_id)
    if cls is None or cls.org_id != org_id:
        raise class_not_found()
    if role is OrgRole.parent and cls.kind == chatsync.GROUP:
        raise InvalidInput("Родителей приглашают в класс, а не в группу.", field="class_id")
    return cls


async def _lock_org(db: AsyncSession, org_id: int) -> Organization | None:
    query = (
        select(Organization)
        .where(Organization.id == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await db.execute(query)).scalar_one_or_none()


# Becoming a member -----------------------------------------------------------


async def _make_member(
    db: AsyncSession,
    access: OrgAccess,
    user: User,
    role: OrgRole,
    class_id: int | None,
    *,
    action: str,
    details: Json,
) -> OrgMember:
    """Make ``user`` an active member (the caller checked they are not one), like an admin's add.

    A student's or parent's class goes on the membership (a parent's is only
    "parent in this class" until linked to a child); a teacher's or staff
    member's class, and any group, makes a class-group row (teachers teach it).
    Syncs the class chats, records ``action`` by ``access.actor`` in the audit
    log, emits ``org.joined`` to the joiner and ``org.member_added`` to the
    admins. Duplicates ``members.add_member``'s rules; the two are to be merged.
    """
    org = access.org
    cls = await db.get(ClassGroup, class_id) if class_id is not None else None
    if cls is not None and cls.org_id != org.id:
        cls = None  # deleted since the link was made: join without a class
    on_member = cls is not None and cls.kind != chatsync.GROUP and role in (OrgRole.student, OrgRole.parent)
    now = utcnow()
    member = OrgMember(
        org_id=org.id,
        user_id=user.id,
        name="",
        role=role.value,
        status=ACTIVE,
        class_id=cls.id if cls is not None and on_member else None,
        created_by=access.actor.id,
        created_at=now,
        joined_at=now,
    )
    db.add(member)
    await db.flush()
    if cls is not None and not on_member:
        is_teacher = role in policy.STAFF_ROLES
        db.add(ClassGroupMember(class_id=cls.id, member_id=member.id, is_teacher=is_teacher, created_at=now))
        await db.flush()
    await chatsync.sync_classes(db, await chatsync.classes_of(db, member))
    audited = cls.id if cls is not None else None
    await core.audit(db, access, action, member=member, class_id=audited, details=details)
    await _announce_member(db, org, member, user)
    return member


async def _announce_member(db: AsyncSession, org: Organization, member: OrgMember, user: User) -> None:
    joined: Json = {"org": core.org_json(org, role=OrgRole(member.role)), "member_id": member.id}
    joined |= {"role": member.role} | ({"class_id": member.class_id} if member.class_id is not None else {})
    await core.notify_admins(
        db, org.id, "org.member_added", {"org_id": org.id, "member": member_json(member, user)}
    )
    await events.append_for_users(db, "org.joined", [user.id], joined)


# Invite links ----------------------------------------------------------------


@dataclass(frozen=True)
class NewOrgInvite:
    role: str
    class_id: int | None = None
    expires_in: timedelta | None = None
    usage_limit: int | None = None
    requires_approval: bool = False


def _check_new_invite(new: NewOrgInvite) -> OrgRole:
    role = _joinable_role(new.role)
    if new.expires_in is not None and not MIN_EXPIRY <= new.expires_in <= MAX_EXPIRY:
        raise InvalidInput("Срок действия ссылки: от минуты до года.", field="expires_in_seconds")
    if new.usage_limit is not None and not 1 <= new.usage_limit <= MAX_USAGE_LIMIT:
        raise InvalidInput(f"Число использований: от 1 до {MAX_USAGE_LIMIT}.", field="usage_limit")
    return role


async def create_invite(
    db: AsyncSession, actor: User, org_id: int, new: NewOrgInvite
) -> tuple[OrgInvite, str]:
    """Create an invite link into the organization; returns it and its token (shown only now).

    Audit ``invite.created``; emits ``org_invite.created`` to the admins.
    Raises ``org_not_found``, ``forbidden`` (not an admin), ``class_not_found``,
    ``invalid_request`` (an admin role, expiry, usage limit, a parent into a group).
    """
    token = new_token()
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        role = _check_new_invite(new)
        cls = await _class_for(db, access.org.id, new.class_id, role)
        now = utcnow()
        invite = OrgInvite(
            org_id=access.org.id,
            token_hash=token_hash(token),
            token_prefix=token[:TOKEN_PREFIX_LENGTH],
            role=role.value,
            class_id=cls.id if cls is not None else None,
            created_by=actor.id,
            created_at=now,
            expires_at=now + new.expires_in if new.expires_in is not None else None,
            usage_limit=new.usage_limit,
            usage_count=0,
            requires_approval=new.requires_approval,
        )
        db.add(invite)
        await db.flush()
        shown = invite_json(invite, now)
        await core.audit(
            db, access, "invite.created", class_id=invite.class_id, details=_audit_details(shown)
        )
        await core.notify_admins(
            db, access.org.id, "org_invite.created", {"org_id": access.org.id, "invite": shown}
        )
    return invite, token


def _audit_details(shown: Json) -> Json:
    keys = ("id", "role", "usage_limit", "expires_at", "requires_approval")
    return {("invite_id" if k == "id" else k): shown[k] for k in keys if k in shown}


@dataclass(frozen=True)
class OrgInvitePage:
    invites: list[OrgInvite]
    next_before: int | None
    now: datetime


async def list_invites(
    db: AsyncSession, actor: User, org_id: int, *, before: int | None, limit: int
) -> OrgInvitePage:
    """The organization's links, newest first, paged by ``before`` (an invite id); admins only.

    Raises ``org_not_found``, ``forbidden``.
    """
    access = await core.load_org(db, actor, org_id)
    core.require(policy.can_manage_org(access.role), "Ссылками-приглашениями управляют администраторы.")
    query = select(OrgInvite).where(OrgInvite.org_id == access.org.id)
    if before is not None:
        query = query.where(OrgInvite.id < before)
    found = list((await db.execute(query.order_by(OrgInvite.id.desc()).limit(limit + 1))).scalars())
    page = found[:limit]
    return OrgInvitePage(invites=page, next_before=page[-1].id if len(found) > limit else None, now=utcnow())


async def revoke_invite(db: AsyncSession, actor: User, org_id: int, invite_id: int) -> None:
    """Revoke a link: from now on it answers ``invite_not_found``. Idempotent.

    People who joined through it stay. Audit ``invite.revoked``; emits
    ``org_invite.revoked`` to the admins (only the first time). Raises
    ``org_not_found``, ``forbidden``, ``invite_not_found`` (not this org's link).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        invite = (
            await db.execute(
                select(OrgInvite)
                .where(OrgInvite.id == invite_id, OrgInvite.org_id == access.org.id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if invite is None:
            raise invite_not_found()
        if invite.revoked_at is not None:
            return
        invite.revoked_at = utcnow()
        await core.audit(
            db, access, "invite.revoked", class_id=invite.class_id, details={"invite_id": invite.id}
        )
        payload = {"org_id": access.org.id, "invite_id": invite.id}
        await core.notify_admins(db, access.org.id, "org_invite.revoked", payload)


def _usability(invite: OrgInvite, *, is_member: bool, now: datetime) -> policy.Decision:
    return policy.can_join_by_invite(
        is_member=is_member,
        is_revoked=invite.revoked_at is not None,
        is_expired=invite.expires_at is not None and invite.expires_at <= now,
        is_exhausted=invite.usage_limit is not None and invite.usage_count >= invite.usage_limit,
    )


def invite_state(invite: OrgInvite, now: datetime) -> str:
    """``active``, ``revoked``, ``expired`` or ``exhausted`` by the server's clock."""
    decision = _usability(invite, is_member=False, now=now)
    return "active" if decision.allowed else decision.reason


def _unusable(reason: str) -> PartaError:
    if reason == "expired":
        return Gone("Срок действия ссылки истёк.", code=ErrorCode.invite_expired)
    if reason == "exhausted":
        return Gone("Ссылка уже использована максимальное число раз.", code=ErrorCode.invite_exhausted)
    return invite_not_found()  # revoked: exactly like a link that never existed


async def _invite_by_token(db: AsyncSession, token: str, *, for_update: bool) -> OrgInvite:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise invite_not_found()
    query = select(OrgInvite).where(OrgInvite.token_hash == token_hash(token))
    if for_update:
        # Re-read after waiting for the lock: a concurrent join may have used the last place.
        query = query.with_for_update().execution_options(populate_existing=True)
    invite = (await db.execute(query)).scalar_one_or_none()
    if invite is None:
        raise invite_not_found()
    return invite


@dataclass(frozen=True)
class OrgInvitePreview:
    invite: OrgInvite
    org: Organization
    cls: ClassGroup | None
    state: str
    is_member: bool


async def preview_invite(db: AsyncSession, actor: User, token: str) -> OrgInvitePreview:
    """What a link leads to, for anyone signed in: the org's public card, role and class name.

    Raises ``invite_not_found`` (unknown or revoked), ``invite_expired``, ``invite_exhausted``
    (a member still sees an expired or used-up link: it is where they already are).
    """
    invite = await _invite_by_token(db, token, for_update=False)
    org = await db.get(Organization, invite.org_id)
    if org is None:
        raise invite_not_found()
    is_member = await core.active_member(db, org.id, actor.id) is not None
    now = utcnow()
    decision = _usability(invite, is_member=is_member, now=now)
    if not decision.allowed:
        raise _unusable(decision.reason)
    cls = await db.get(ClassGroup, invite.class_id) if invite.class_id is not None else None
    return OrgInvitePreview(
        invite=invite, org=org, cls=cls, state=invite_state(invite, now), is_member=is_member
    )


@dataclass(frozen=True)
class Joined:
    """The outcome of a join: a membership (``is_new`` when just made) or a join request."""

    org: Organization
    member: OrgMember | None = None
    request: JoinRequest | None = None
    is_new: bool = False


async def join_by_invite(db: AsyncSession, actor: User, token: str) -> Joined:
    """Join the organization with the link's role and class, using one of its places.

    A member joining again gets their membership and uses nothing (safe to
    retry). A link that requires approval makes a pending join request instead
    (``join_request.created`` to admins); a retry returns the pending request.
    A new member: see ``_make_member`` (audit ``member.joined``, ``org.joined``,
    ``org.member_added``, class chat events). Raises ``invite_not_found``,
    ``invite_expired``, ``invite_exhausted``, ``forbidden`` (profile incomplete).
    """
    async with transaction(db):
        org = await _lock_org(db, (await _invite_by_token(db, token, for_update=False)).org_id)
        invite = await _invite_by_token(db, token, for_update=True)
        if org is None:
            raise invite_not_found()
        present = await core.active_member(db, org.id, actor.id)
        decision = _usability(invite, is_member=present is not None, now=utcnow())
        if not decision.allowed:
            raise _unusable(decision.reason)
        if present is not None:
            return Joined(org=org, member=present)
        require_can_chat(actor)
        if invite.requires_approval:
            return await _request_through_link(db, actor, org, invite)
        invite.usage_count += 1
        joiner = OrgAccess(org=org, actor=actor, member=None, is_operator=False)
        details: Json = {"invite_id": invite.id}
        member = await _make_member(
            db, joiner, actor, OrgRole(invite.role), invite.class_id, action="member.joined", details=details
        )
    return Joined(org=org, member=member, is_new=True)


async def _request_through_link(
    db: AsyncSession, actor: User, org: Organization, invite: OrgInvite
) -> Joined:
    pending = await _pending_request(db, org.id, actor.id)
    if pending is not None:
        return Joined(org=org, request=pending)
    invite.usage_count += 1
    cls = await db.get(ClassGroup, invite.class_id) if invite.class_id is not None else None
    request = await _add_request(
        db, org, actor, OrgRole(invite.role), cls.id if cls is not None and cls.org_id == org.id else None, ""
    )
    return Joined(org=org, request=request, is_new=True)


# Join requests ---------------------------------------------------------------


async def _pending_request(db: AsyncSession, org_id: int, user_id: int) -> JoinRequest | None:
    query = select(JoinRequest).where(
        JoinRequest.org_id == org_id, JoinRequest.user_id == user_id, JoinRequest.status == REQUEST_PENDING
    )
    return (await db.execute(query)).scalars().first()


async def _add_request(
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
        org = await _lock_org(db, org_id)
        if org is None:
            raise org_not_found()
        is_member = await core.active_member(db, org.id, actor.id) is not None
        if not org.is_verified and not is_member:
            raise org_not_found()
        if is_member:
            raise Conflict("Вы уже состоите в этой организации.")
        require_can_chat(actor)
        role = _joinable_role(new.role)
        cls = await _class_for(db, org.id, new.class_id, role)
        if await _pending_request(db, org.id, actor.id) is not None:
            raise Conflict("Заявка в эту организацию уже отправлена и ждёт решения.")
        return await _add_request(db, org, actor, role, cls.id if cls is not None else None, message)


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

    Someone who became a member meanwhile keeps that membership. Audit
    ``join_request.approved``; emits ``join_request.decided`` (approved, with
    the org) to the requester and the admins, plus ``_make_member``'s events.
    Raises ``org_not_found``, ``forbidden``, ``join_request_not_found``,
    ``conflict`` (already decided or cancelled), ``class_not_found``, ``invalid_request``.
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        request = await _lock_request(db, access.org.id, request_id)
        role = _joinable_role(approval.role or request.role)
        if approval.class_id is not None:
            cls = await _class_for(db, access.org.id, approval.class_id, role)
        else:
            cls = await _requested_class(db, request, role)
        user = await db.get(User, request.user_id)
        assert user is not None  # requests go with their user (ON DELETE CASCADE)
        member = await _member_by_approval(db, access, request, user, role, cls)
        _decide(request, actor, REQUEST_APPROVED)
        org_view = core.org_json(access.org, role=OrgRole(member.role))
        await _announce_decision(db, request, {"org": org_view, "member_id": member.id})
    return Decided(request=request, user=user, member=member)


async def _requested_class(db: AsyncSession, request: JoinRequest, role: OrgRole) -> ClassGroup | None:
    """The class asked for, if it still exists and suits the role; else the person
    joins without one (an admin places them later) rather than blocking the approval."""
    cls = await db.get(ClassGroup, request.class_id) if request.class_id is not None else None
    if cls is None or cls.org_id != request.org_id:
        return None
    return None if role is OrgRole.parent and cls.kind == chatsync.GROUP else cls


async def _member_by_approval(
    db: AsyncSession,
    access: OrgAccess,
    request: JoinRequest,
    user: User,
    role: OrgRole,
    cls: ClassGroup | None,
) -> OrgMember:
    details: Json = {"request_id": request.id}
    member = await core.active_member(db, access.org.id, user.id)
    if member is not None:  # added by an admin meanwhile: that membership stands
        await core.audit(db, access, "join_request.approved", member=member, details=details)
        return member
    class_id = cls.id if cls is not None else None
    return await _make_member(
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
