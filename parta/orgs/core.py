"""Shared by every organization action: access, audit entries and org events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.clock import utcnow
from parta.db.tables import AuditEntry, Operator, Organization, OrgMember, User
from parta.errors import denied, member_not_found, org_not_found
from parta.events import log as events
from parta.orgs.timezones import effective_timezone
from parta.policy import OrgRole
from parta.render import Json, ts

ACTIVE = "active"
PENDING = "pending"
SUSPENDED = "suspended"  # kept by a moderator's decision: not a member, cannot rejoin


@dataclass(frozen=True)
class OrgAccess:
    """An organization as one actor sees it: their active membership, if any."""

    org: Organization
    actor: User
    member: OrgMember | None
    is_operator: bool

    @property
    def role(self) -> OrgRole | None:
        return OrgRole(self.member.role) if self.member is not None else None


async def is_operator(db: AsyncSession, user_id: int) -> bool:
    return await db.get(Operator, user_id) is not None


async def active_member(db: AsyncSession, org_id: int, user_id: int) -> OrgMember | None:
    return (
        await db.execute(
            select(OrgMember).where(
                OrgMember.org_id == org_id, OrgMember.user_id == user_id, OrgMember.status == ACTIVE
            )
        )
    ).scalar_one_or_none()


async def load_org(db: AsyncSession, actor: User, org_id: int, *, for_update: bool = False) -> OrgAccess:
    """The organization as seen by a member or an operator; others get ``org_not_found``.

    ``for_update`` locks the organization's row, which serializes concurrent
    admin actions on one org (two admins demoting each other, a last admin
    leaving while another is removed).
    """
    query = select(Organization).where(Organization.id == org_id)
    if for_update:
        query = query.with_for_update()
    org = (await db.execute(query)).scalar_one_or_none()
    if org is None:
        raise org_not_found()
    member = await active_member(db, org_id, actor.id)
    operator = member is None and await is_operator(db, actor.id)
    if not policy.can_see_org(OrgRole(member.role) if member else None, is_operator=operator):
        raise org_not_found()
    return OrgAccess(org=org, actor=actor, member=member, is_operator=operator)


async def load_org_for_admin(db: AsyncSession, actor: User, org_id: int) -> OrgAccess:
    """The organization for an admin action (row locked); non-admin members get ``forbidden``."""
    access = await load_org(db, actor, org_id, for_update=True)
    require(policy.can_manage_org(access.role), "Это могут только администраторы организации.")
    return access


def require(decision: policy.Decision, message: str) -> None:
    if not decision.allowed:
        raise denied(decision.reason, message)


async def member_in_org(db: AsyncSession, org_id: int, member_id: int) -> OrgMember:
    """A membership (active or pending) of this organization, else ``member_not_found``."""
    member = await db.get(OrgMember, member_id)
    if member is None or member.org_id != org_id:
        raise member_not_found()
    return member


async def admin_user_ids(db: AsyncSession, org_id: int) -> list[int]:
    rows = await db.execute(
        select(OrgMember.user_id).where(
            OrgMember.org_id == org_id,
            OrgMember.status == ACTIVE,
            OrgMember.role.in_([r.value for r in policy.ORG_ADMINS]),
        )
    )
    return [uid for uid in rows.scalars() if uid is not None]


async def member_user_ids(db: AsyncSession, org_id: int) -> list[int]:
    rows = await db.execute(
        select(OrgMember.user_id).where(OrgMember.org_id == org_id, OrgMember.status == ACTIVE)
    )
    return [uid for uid in rows.scalars() if uid is not None]


async def notify_admins(
    db: AsyncSession, org_id: int, type: str, payload: Json, *, also: Iterable[int | None] = ()
) -> None:
    """An org event to every admin's devices (they keep the cabinet open) and to ``also``."""
    extra = [uid for uid in also if uid is not None]
    await events.append_for_users(db, type, [*await admin_user_ids(db, org_id), *extra], payload)


async def audit(
    db: AsyncSession,
    access: OrgAccess,
    action: str,
    *,
    member: OrgMember | None = None,
    class_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record an admin action (who, what, on whom, when) in the org's audit log."""
    entry = AuditEntry(
        org_id=access.org.id,
        actor_id=access.actor.id,
        action=action,
        target_user_id=member.user_id if member is not None else None,
        target_member_id=member.id if member is not None else None,
        class_id=class_id,
        details=details or {},
        created_at=utcnow(),
    )
    db.add(entry)
    return entry


def org_json(org: Organization, *, role: OrgRole | None = None) -> Json:
    """An organization as its members see it. The badge shows only once verified."""
    data: Json = {
        "id": org.id,
        "kind": org.kind,
        "full_name": org.full_name,
        "short_name": org.short_name,
        "region": org.region,
        "timezone": effective_timezone(region=org.region, timezone=org.timezone),
        "is_verified": org.is_verified,
        "created_at": ts(org.created_at),
    }
    optional = {
        "parent_id": org.parent_id,
        "municipality": org.municipality,
        "address": org.address,
        "inn": org.inn,
        "ogrn": org.ogrn,
        "logo_file_id": org.logo_file_id,
        "phone": org.phone,
        "email": org.email,
        "website": org.website,
        "verified_at": ts(org.verified_at) if org.verified_at else None,
        "my_role": role.value if role is not None else None,
    }
    return data | {k: v for k, v in optional.items() if v not in (None, "")}


def audit_json(entry: AuditEntry) -> Json:
    data: Json = {"id": entry.id, "action": entry.action, "at": ts(entry.created_at)}
    optional = {
        "actor_id": entry.actor_id,
        "target_user_id": entry.target_user_id,
        "target_member_id": entry.target_member_id,
        "class_id": entry.class_id,
        "details": entry.details,
    }
    return data | {k: v for k, v in optional.items() if v not in (None, {})}
