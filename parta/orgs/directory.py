"""The directory of an organization: who sees whom, and how members are shown.

``policy.can_see_org_member`` decides for one pair of members; this module
gathers the facts it needs (classes, taught classes, children, homeroom) for a
page of members at once, and narrows the query to the viewer's circle first so
a parent or student never pages through the whole school.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import policy, safety
from parta.db.tables import ClassGroup, ClassGroupMember, OrgMember, ParentLink, User
from parta.errors import denied
from parta.orgs import core
from parta.orgs.core import ACTIVE, PENDING, OrgAccess
from parta.policy import OrgRole
from parta.render import MASKED_NAME, Json

MAX_PAGE = 500


# --- Views -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    member: OrgMember
    user: User | None
    children: tuple[int, ...] = ()
    is_homeroom: bool = False
    # A child in safe mode seen from outside their circle (an unverified org's
    # admin, say): "a student", without name, account or phone.
    is_masked: bool = False


def member_json(view: MemberView, *, with_phone: bool) -> Json:
    """A member as the directory shows them; the phone, and a student's safe mode (so the
    cabinet shows the switch's state), only for admins (``with_phone``)."""
    member, user = view.member, view.user
    if view.is_masked:
        return {
            "member_id": member.id,
            "name": MASKED_NAME,
            "role": member.role,
            "status": member.status,
            "is_masked": True,
        }
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
        "safe_mode": _safe_mode(view) if with_phone else None,
    }
    return data | {k: v for k, v in optional.items() if v is not None}


def _safe_mode(view: MemberView) -> bool | None:
    if view.user is None or view.member.role != OrgRole.student.value:
        return None
    return safety.is_protected(view.user)


# --- Facts -------------------------------------------------------------------


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


async def member_view(db: AsyncSession, member: OrgMember, user: User | None) -> MemberView:
    """One member with all their children (for admins, who see everyone)."""
    facts = await _facts(db, [member])
    children = tuple(c for c, _, _ in facts.children.get(member.id, []))
    return MemberView(member, user, children=children, is_homeroom=member.id in facts.homeroom)


# --- Who sees whom -------------------------------------------------------------


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


async def _masked(db: AsyncSession, viewer: User, view: MemberView) -> MemberView:
    """The view itself, or its masked form when it shows a child in safe mode to
    someone outside the child's circle."""
    user = view.user
    if user is None or user.id == viewer.id or not safety.is_protected(user):
        return view
    reach = await safety.reach(db, viewer.id, user)
    if policy.can_see_identity(is_self=False, reach=reach):
        return view
    return replace(view, user=None, children=(), is_masked=True)


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
    page = [await _masked(db, actor, view) for view in found[: query.limit]]
    return MemberPage(
        members=page,
        next_cursor=page[-1].member.id if more else None,
        with_phones=policy.can_see_phone(access.role).allowed,
    )
