"""Parental controls: what a parent sees of their child, whom they let reach the child,
and safe mode turned on by a parent, the school or the child themself.

A parent is whoever has an active parent link to the child in an organization
where both memberships are active (``safety.is_parent_of``). To anyone else a
child's controls do not exist: every ``/children/{child_id}`` call answers
``user_not_found``, so nobody learns by probing ids who is someone's child.

A parent sees the child's contacts and chats, never what is written in them:
nothing here reads a message text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import chats, policy, safety
from parta.clock import utcnow
from parta.config import Settings
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import (
    ApprovedContact,
    Chat,
    ChatMember,
    ClassGroup,
    Organization,
    OrgMember,
    ParentLink,
    User,
)
from parta.errors import InvalidInput, denied, user_not_found
from parta.events import log as events
from parta.orgs import chatsync, core
from parta.orgs.core import ACTIVE
from parta.phones import normalize_phone
from parta.policy import ChatKind, OrgRole, Relation
from parta.render import Json, ts, user_card

DIRECT = "direct"  # a direct chat with the child exists
APPROVED = "approved"  # a parent approved the contact
PARENT = "parent"  # one of the child's parents
SCHOOL = "school"  # a teacher, staff member or classmate at the child's school


# --- Safe mode state --------------------------------------------------------------


@dataclass(frozen=True)
class SafeModeState:
    """``reason``: ``age`` (under 14; ``locked``, nobody turns it off), or who turned it
    on: ``parent``, ``school`` or ``self``; None while off."""

    on: bool
    reason: str | None
    locked: bool

    def json(self) -> Json:
        data: Json = {"on": self.on, "locked": self.locked}
        return data | ({"reason": self.reason} if self.reason else {})


async def safe_mode_state(db: AsyncSession, user: User) -> SafeModeState:
    """Whether ``user`` is in safe mode, why, and whether it can be turned off at all."""
    if safety.is_under_age(user):
        return SafeModeState(on=True, reason="age", locked=True)
    if user.safe_mode_forced_at is None:
        return SafeModeState(on=False, reason=None, locked=False)
    return SafeModeState(on=True, reason=await _forced_by(db, user), locked=False)


async def _forced_by(db: AsyncSession, user: User) -> str:
    # Who turned it on is not stored as a role: the child, a (current) parent, or
    # else the school, whose admins are the only other people allowed to.
    if user.safe_mode_forced_by == user.id:
        return "self"
    by = user.safe_mode_forced_by
    if by is not None and await safety.is_parent_of(db, by, user.id):
        return "parent"
    return "school"


# --- Families -------------------------------------------------------------------


_PARENT = aliased(OrgMember, name="parent_member")
_CHILD = aliased(OrgMember, name="child_member")
# Parent and child user ids of every active link whose two memberships are active.
_FAMILIES = (
    select(_PARENT.user_id, _CHILD.user_id)
    .join(ParentLink, ParentLink.parent_member_id == _PARENT.id)
    .join(_CHILD, _CHILD.id == ParentLink.child_member_id)
    .where(_PARENT.status == ACTIVE, _CHILD.status == ACTIVE, ParentLink.status == ACTIVE)
)


async def parent_ids(db: AsyncSession, child_id: int) -> list[int]:
    """The child's parents: active links in organizations where both are active members."""
    rows = await db.execute(_FAMILIES.where(_CHILD.user_id == child_id))
    return sorted({p for p, _ in rows if p is not None})


async def _child_ids(db: AsyncSession, parent_id: int) -> list[int]:
    rows = await db.execute(_FAMILIES.where(_PARENT.user_id == parent_id))
    return sorted({c for _, c in rows if c is not None})


async def _require_child(db: AsyncSession, parent: User, child_id: int, *, for_update: bool = False) -> User:
    """The child, for one of their parents; anyone else gets ``user_not_found``."""
    is_parent = await safety.is_parent_of(db, parent.id, child_id)
    query = select(User).where(User.id == child_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    child = (await db.execute(query)).scalar_one_or_none()
    if child is None or not is_parent:
        raise user_not_found()
    return child


async def _schools(db: AsyncSession, child_ids: list[int]) -> dict[int, list[Json]]:
    """Where each child studies: the organization and the class, by child id."""
    rows = await db.execute(
        select(OrgMember.user_id, Organization.id, Organization.short_name, ClassGroup.id, ClassGroup.name)
        .join(Organization, Organization.id == OrgMember.org_id)
        .outerjoin(ClassGroup, ClassGroup.id == OrgMember.class_id)
        .where(
            OrgMember.user_id.in_(child_ids),
            OrgMember.status == ACTIVE,
            OrgMember.role == OrgRole.student.value,
        )
        .order_by(Organization.id)
    )
    found: dict[int, list[Json]] = {}
    for user_id, org_id, short_name, class_id, class_name in rows:
        school: Json = {"org_id": org_id, "short_name": short_name}
        if class_id is not None:
            school |= {"class_id": class_id, "class_name": class_name}
        if user_id is not None:
            found.setdefault(user_id, []).append(school)
    return found


@dataclass(frozen=True)
class ChildView:
    user: User
    safe_mode: SafeModeState
    schools: list[Json]

    def json(self) -> Json:
        return {"user": user_card(self.user), "safe_mode": self.safe_mode.json(), "schools": self.schools}


async def list_children(db: AsyncSession, parent: User) -> list[ChildView]:
    """The caller's linked children with their safe mode and schools (empty for non-parents)."""
    ids = await _child_ids(db, parent.id)
    children = await q.users_by_id(db, ids)
    schools = await _schools(db, ids)
    ordered = sorted(children.values(), key=lambda u: (u.first_name, u.last_name, u.id))
    return [ChildView(u, await safe_mode_state(db, u), schools.get(u.id, [])) for u in ordered]


# --- Contacts and chats -----------------------------------------------------------


def _peer_of(chat: Chat, user_id: int) -> int:
    low, high = (int(x) for x in (chat.direct_key or "0:0").split(":"))
    return high if low == user_id else low


async def _direct_peer_ids(db: AsyncSession, child_id: int) -> set[int]:
    rows = await db.execute(
        select(Chat)
        .join(ChatMember, ChatMember.chat_id == Chat.id)
        .where(ChatMember.user_id == child_id, Chat.kind == ChatKind.direct.value)
    )
    return {_peer_of(chat, child_id) for chat in rows.scalars()}


async def _approved_ids(db: AsyncSession, child_id: int) -> set[int]:
    rows = await db.execute(select(ApprovedContact.contact_id).where(ApprovedContact.child_id == child_id))
    return set(rows.scalars())


async def list_child_contacts(db: AsyncSession, parent: User, child_id: int) -> list[Json]:
    """The child's direct-chat peers and approved contacts, each with how they are
    connected (``via``), whether approved, and whether they can reach the child now.

    Cards are as the parent may see them (another child in safe mode may be masked).
    Raises ``user_not_found`` for anyone but the child's parent.
    """
    child = await _require_child(db, parent, child_id)
    direct = await _direct_peer_ids(db, child.id)
    approved = await _approved_ids(db, child.id)
    parents = set(await parent_ids(db, child.id))
    circle = await safety.circle_of(db, child.id)
    people = await q.users_by_id(db, direct | approved)
    contacts = []
    for user in sorted(people.values(), key=lambda u: (u.first_name, u.last_name, u.id)):
        via = [DIRECT] if user.id in direct else []
        via += [APPROVED] if user.id in approved else []
        via += [PARENT] if user.id in parents else []
        if user.id in circle and user.id not in approved and user.id not in parents:
            via.append(SCHOOL)
        contacts.append(
            {
                "user": await safety.card_for(db, parent, user),
                "is_approved": user.id in approved,
                "in_circle": user.id in circle,
                "via": via,
            }
        )
    return contacts


@dataclass(frozen=True)
class ChildChats:
    chats: list[Json]
    next_cursor: str | None


async def list_child_chats(
    db: AsyncSession, parent: User, child_id: int, *, limit: int, cursor: str | None
) -> ChildChats:
    """The child's chats, most recent activity first: kind, title, size and the org
    they follow; never a message. Raises ``user_not_found`` for anyone but a parent,
    ``invalid_request`` (``cursor``)."""
    child = await _require_child(db, parent, child_id)
    page = await chats.list_chats(db, child, limit=limit, cursor=cursor)
    found = [chat for chat, _ in page.chats]
    counts = await q.member_counts(db, [c.id for c in found])
    peers = await q.users_by_id(db, [_peer_of(c, child.id) for c in found if c.kind == ChatKind.direct.value])
    rendered = []
    for chat in found:
        peer = peers.get(_peer_of(chat, child.id)) if chat.kind == ChatKind.direct.value else None
        rendered.append(await _chat_json(db, parent, chat, counts.get(chat.id, 0), peer))
    return ChildChats(chats=rendered, next_cursor=page.next_cursor)


async def _chat_json(
    db: AsyncSession, parent: User, chat: Chat, member_count: int, peer: User | None
) -> Json:
    data: Json = {
        "id": chat.id,
        "kind": chat.kind,
        "title": chat.title,
        "member_count": member_count,
        "last_activity_at": ts(chat.last_activity_at),
    }
    if peer is not None:
        card = await safety.card_for(db, parent, peer)
        data["peer"] = card
        data["title"] = f"{card.get('first_name', '')} {card.get('last_name', '')}".strip()
    optional = {
        "org_id": chat.org_id,
        "class_id": chat.class_group_id,
        "purpose": chat.purpose,
        "is_archived": chat.archived_at is not None or None,
    }
    return data | {k: v for k, v in optional.items() if v is not None}


# --- Approved contacts -------------------------------------------------------------


async def approve_contact(
    db: AsyncSession, settings: Settings, parent: User, child_id: int, phone: str
) -> Json:
    """A parent lets the person with this phone reach the child in safe mode: find the
    child by phone, write to them, add them to chats. Returns the contact's card.

    Approving the same person again changes nothing. A parent finds only people
    they could find themselves (``policy.can_contact``), so approving never tells
    them more than a lookup would. Emits ``child.contact_approved`` to the child
    and their parents. Raises ``user_not_found`` (not the caller's child; unknown
    or unreachable phone), ``invalid_phone``, ``invalid_request`` (``phone``: the
    child's or the parent's own number).
    """
    normalized = normalize_phone(phone, settings.default_region)
    async with transaction(db):
        child = await _require_child(db, parent, child_id, for_update=True)
        contact = (await db.execute(select(User).where(User.phone == normalized))).scalar_one_or_none()
        if contact is not None and contact.id in (child.id, parent.id):
            raise InvalidInput("Этот номер не нужно одобрять: это вы или сам ребёнок.", field="phone")
        reach = await safety.reach(db, parent.id, contact)
        if contact is None or not policy.can_contact(actor_id=parent.id, target_id=contact.id, reach=reach):
            raise user_not_found()
        if await db.get(ApprovedContact, (child.id, contact.id)) is None:
            db.add(
                ApprovedContact(
                    child_id=child.id, contact_id=contact.id, approved_by=parent.id, created_at=utcnow()
                )
            )
            await db.flush()
            await _tell_family(
                db, child, "child.contact_approved", {"child_id": child.id, "user_id": contact.id}
            )
        return await safety.card_for(db, parent, contact)


async def remove_contact(db: AsyncSession, parent: User, child_id: int, contact_id: int) -> None:
    """Withdraw a parent's approval: unless they are in the child's circle otherwise
    (school, family), the person can no longer find or reach a child in safe mode, and
    an existing direct chat refuses their new messages (its history stays).

    Removing someone who is not approved changes nothing, so retries are safe.
    Emits ``child.contact_removed`` to the child and their parents. Raises
    ``user_not_found`` for anyone but the child's parent.
    """
    async with transaction(db):
        child = await _require_child(db, parent, child_id, for_update=True)
        result = await db.execute(
            delete(ApprovedContact).where(
                ApprovedContact.child_id == child.id, ApprovedContact.contact_id == contact_id
            )
        )
        if result.rowcount:  # type: ignore[attr-defined]
            await _tell_family(
                db, child, "child.contact_removed", {"child_id": child.id, "user_id": contact_id}
            )


async def _tell_family(db: AsyncSession, child: User, type: str, payload: Json) -> None:
    await events.append_for_users(db, type, [child.id, *await parent_ids(db, child.id)], payload)


# --- Changing safe mode ------------------------------------------------------------


async def set_child_safe_mode(
    db: AsyncSession, parent: User, child_id: int, *, enabled: bool
) -> SafeModeState:
    """A parent turns the child's safe mode on, or off (never for a child under 14,
    who is in it by age: ``forbidden``, reason ``under_age``).

    Emits ``safe_mode.changed`` to the child and their parents when it changes.
    Raises ``user_not_found`` for anyone but the child's parent.
    """
    async with transaction(db):
        child = await _require_child(db, parent, child_id, for_update=True)
        return await _set(db, child, parent, Relation.parent, enabled=enabled)


async def set_own_safe_mode(db: AsyncSession, user: User, *, enabled: bool) -> SafeModeState:
    """The user turns safe mode on for themself. Only a parent or the school turns it
    off again: ``forbidden``, reason ``child_cannot_disable``.

    Emits ``safe_mode.changed`` to the user and their parents when it changes.
    """
    async with transaction(db):
        me = (await db.execute(_locked(user.id))).scalar_one()
        return await _set(db, me, me, Relation.self, enabled=enabled)


async def set_member_safe_mode(
    db: AsyncSession, admin: User, org_id: int, member_id: int, *, enabled: bool
) -> SafeModeState:
    """An org admin turns safe mode on or off for a student of the organization
    (never off for a child under 14).

    Writes the audit entry ``member.safe_mode_changed`` and emits ``safe_mode.changed``
    to the student and their parents when it changes. Raises ``org_not_found``,
    ``forbidden`` (not an admin; ``under_age``), ``member_not_found``,
    ``invalid_request`` (``member_id``: not a student, or not signed in yet).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, admin, org_id)
        member = await core.member_in_org(db, org_id, member_id)
        if member.role != OrgRole.student.value:
            raise InvalidInput("Безопасный режим включают только ученикам.", field="member_id")
        if member.status != ACTIVE or member.user_id is None:
            raise InvalidInput("Ученик ещё не вошёл в Парту.", field="member_id")
        student = (await db.execute(_locked(member.user_id))).scalar_one()
        was_on = student.safe_mode_forced_at is not None
        relation = Relation.school if access.org.is_verified else Relation.unverified_school
        state = await _set(db, student, admin, relation, enabled=enabled)
        if was_on != (student.safe_mode_forced_at is not None):
            await core.audit(db, access, "member.safe_mode_changed", member=member, details={"on": enabled})
        return state


def _locked(user_id: int) -> Select[User]:
    # The caller's row may sit in the session already, read before this transaction.
    return select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)


async def _set(
    db: AsyncSession, child: User, actor: User, relation: Relation, *, enabled: bool
) -> SafeModeState:
    """Record the change (if any) and tell the family; the caller holds the child's row lock."""
    decision = policy.can_set_safe_mode(relation, enable=enabled, is_under_age=safety.is_under_age(child))
    if not decision.allowed:
        raise denied(decision.reason, _DENIALS.get(decision.reason, "Недостаточно прав."))
    is_forced = child.safe_mode_forced_at is not None
    if enabled and not is_forced:
        child.safe_mode_forced_at, child.safe_mode_forced_by = utcnow(), actor.id
    elif not enabled and is_forced:
        child.safe_mode_forced_at, child.safe_mode_forced_by = None, None
    else:
        return await safe_mode_state(db, child)
    await db.flush()
    await chatsync.resync_user(db, child.id)
    state = await safe_mode_state(db, child)
    payload: Json = {"user_id": child.id, "on": state.on} | ({"reason": state.reason} if state.reason else {})
    await _tell_family(db, child, "safe_mode.changed", payload)
    return state


_DENIALS = {
    "child_cannot_disable": "Выключить безопасный режим могут только родитель или школа.",
    "under_age": "До 14 лет безопасный режим включён всегда.",
}
