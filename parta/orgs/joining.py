"""Joining an organization through invite links that carry a role.

Links work like chat invite links (``parta.invites``): the token is shown
once, the database keeps its hash and a short prefix, uses are counted under
the link's row lock, and the state is judged by the server's clock. A link
carries the role (never an admin role: admins are appointed by an admin) and
optionally a class or group; joining makes an active member through
``members.enroll``. A link that requires approval makes a join request
(``join_requests``) instead of a membership.

Lock order: organization row, then the invite row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.chats import require_can_chat
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import ClassGroup, JoinRequest, Organization, OrgInvite, OrgMember, User
from parta.errors import ErrorCode, Gone, InvalidInput, PartaError
from parta.invites import MAX_EXPIRY, MAX_TOKEN_LENGTH, MIN_EXPIRY, TOKEN_PREFIX_LENGTH, invite_not_found
from parta.orgs import core, members
from parta.orgs.core import OrgAccess
from parta.orgs.join_requests import add_request, class_for, joinable_role, lock_org, pending_request
from parta.policy import OrgRole
from parta.render import Json, ts
from parta.tokens import new_token, token_hash

MAX_USAGE_LIMIT = 10_000

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


# Invite links ----------------------------------------------------------------


@dataclass(frozen=True)
class NewOrgInvite:
    role: str
    class_id: int | None = None
    expires_in: timedelta | None = None
    usage_limit: int | None = None
    requires_approval: bool = False


def _check_new_invite(new: NewOrgInvite) -> OrgRole:
    role = joinable_role(new.role)
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
        cls = await class_for(db, access.org.id, new.class_id, role)
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
    A new member: see ``members.enroll`` (audit ``member.joined``, ``org.joined``,
    ``org.member_added``, class chat events). Raises ``invite_not_found``,
    ``invite_expired``, ``invite_exhausted``, ``forbidden`` (profile incomplete).
    """
    async with transaction(db):
        org = await lock_org(db, (await _invite_by_token(db, token, for_update=False)).org_id)
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
        member = await members.enroll(
            db, joiner, actor, OrgRole(invite.role), invite.class_id, action="member.joined", details=details
        )
    return Joined(org=org, member=member, is_new=True)


async def _request_through_link(
    db: AsyncSession, actor: User, org: Organization, invite: OrgInvite
) -> Joined:
    pending = await pending_request(db, org.id, actor.id)
    if pending is not None:
        return Joined(org=org, request=pending)
    invite.usage_count += 1
    cls = await db.get(ClassGroup, invite.class_id) if invite.class_id is not None else None
    request = await add_request(
        db, org, actor, OrgRole(invite.role), cls.id if cls is not None and cls.org_id == org.id else None, ""
    )
    return Joined(org=org, request=request, is_new=True)
