"""Safe mode for children: the facts the policy needs to decide who may reach a child.

A user is *protected* when under 14 by their birth date, or when a parent or the
school turned safe mode on. A protected child may be found, written to, added,
mentioned or called only by their *circle*: the teachers, staff and admins of
the organizations where they study, their classmates, their own parents, and
contacts a parent approved. Blocks work both ways for everyone.

Only *verified* organizations count: anyone can create an organization, call it
a school and add a child's number to it, so an unverified org's "teachers",
"classmates" and "parent links" give no reach and no parental rights.

The decisions themselves are in ``policy.can_contact``; this module only
gathers facts. Every query runs whether or not the target exists, so a stranger
cannot tell "a child's number" from "no such number" by timing either.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import policy
from parta.clock import utcnow
from parta.db.tables import ApprovedContact, Block, Organization, OrgMember, ParentLink, User
from parta.policy import OrgRole, Reach
from parta.render import Json, user_card, user_public

SAFE_MODE_AGE = 14
ACTIVE = "active"
TEACHING = [r.value for r in policy.STAFF_ROLES]


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def is_under_age(user: User, today: date | None = None) -> bool:
    if user.birth_date is None:
        return False
    return age_on(user.birth_date, today or utcnow().date()) < SAFE_MODE_AGE


def is_protected(user: User, today: date | None = None) -> bool:
    """In safe mode: under 14, or turned on by a parent or the school."""
    return user.safe_mode_forced_at is not None or is_under_age(user, today)


async def circle_of(db: AsyncSession, child_id: int) -> set[int]:
    """Everyone who may reach the child: school staff, classmates, parents, approved contacts."""
    mine = aliased(OrgMember)
    other = aliased(OrgMember)
    studies = (mine.user_id == child_id) & (mine.status == ACTIVE) & (mine.role == OrgRole.student.value)
    staff_or_classmates = await db.execute(
        select(other.user_id)
        .join(mine, mine.org_id == other.org_id)
        .join(Organization, (Organization.id == mine.org_id) & Organization.verified_at.is_not(None))
        .where(
            studies,
            other.status == ACTIVE,
            or_(
                other.role.in_(TEACHING),
                (other.role == OrgRole.student.value) & (other.class_id == mine.class_id),
            ),
        )
    )
    parents = await db.execute(
        select(other.user_id)
        .join(ParentLink, ParentLink.parent_member_id == other.id)
        .join(mine, mine.id == ParentLink.child_member_id)
        .join(Organization, (Organization.id == ParentLink.org_id) & Organization.verified_at.is_not(None))
        .where(mine.user_id == child_id, ParentLink.status == ACTIVE, other.status == ACTIVE)
    )
    approved = await db.execute(
        select(ApprovedContact.contact_id).where(ApprovedContact.child_id == child_id)
    )
    found = {*staff_or_classmates.scalars(), *parents.scalars(), *approved.scalars()}
    found.discard(None)
    found.discard(child_id)
    return {uid for uid in found if uid is not None}


async def is_parent_of(db: AsyncSession, parent_id: int, child_id: int) -> bool:
    parent = aliased(OrgMember)
    child = aliased(OrgMember)
    row = await db.execute(
        select(ParentLink.org_id)
        .join(parent, parent.id == ParentLink.parent_member_id)
        .join(child, child.id == ParentLink.child_member_id)
        .join(Organization, (Organization.id == ParentLink.org_id) & Organization.verified_at.is_not(None))
        .where(
            parent.user_id == parent_id,
            child.user_id == child_id,
            parent.status == ACTIVE,
            child.status == ACTIVE,
            ParentLink.status == ACTIVE,
        )
        .limit(1)
    )
    return row.first() is not None


async def is_blocked_between(db: AsyncSession, a: int, b: int) -> bool:
    row = await db.execute(
        select(Block.blocker_id)
        .where(
            or_(
                (Block.blocker_id == a) & (Block.blocked_id == b),
                (Block.blocker_id == b) & (Block.blocked_id == a),
            )
        )
        .limit(1)
    )
    return row.first() is not None


async def reach(db: AsyncSession, actor_id: int, target: User | None) -> Reach:
    """Facts about ``actor_id`` reaching ``target``; for a missing target the same
    queries run (against no one), so the answer takes as long as for a real child."""
    target_id = target.id if target is not None else 0
    circle = await circle_of(db, target_id)
    blocked = await is_blocked_between(db, actor_id, target_id)
    protected = target is not None and is_protected(target)
    return Reach(is_protected=protected, in_circle=actor_id in circle, is_blocked=blocked)


async def school_name(db: AsyncSession, child_id: int) -> str:
    """The short name of a school where the child studies ("" if none), for masked cards."""
    row = await db.execute(
        select(Organization.short_name)
        .join(OrgMember, OrgMember.org_id == Organization.id)
        .where(
            Organization.verified_at.is_not(None),
            OrgMember.user_id == child_id,
            OrgMember.status == ACTIVE,
            OrgMember.role == OrgRole.student.value,
        )
        .order_by(OrgMember.id)
        .limit(1)
    )
    return row.scalar_one_or_none() or ""


async def card_for(db: AsyncSession, viewer: User, user: User) -> Json:
    """``user`` as ``viewer`` may see them: the full card, or, for a child in safe mode
    seen from outside the child's circle, "a student of <school>"."""
    if user.id == viewer.id or not is_protected(user):
        return user_card(user)
    facts = await reach(db, viewer.id, user)
    if policy.can_see_identity(is_self=False, reach=facts):
        return user_card(user)
    return user_public(user) | {"school": await school_name(db, user.id)}
