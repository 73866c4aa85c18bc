"""The teacher badge: lets parents tell the real teacher from an impostor.

A badge is shown on messages and member lists of an organization's chats
(class, parents' and group chats) for members who are teachers of that
organization, and only once an operator has verified the organization: an
unverified org could make anyone a "teacher".
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta.db.tables import Chat, Organization, OrgMember
from parta.orgs.core import ACTIVE
from parta.policy import OrgRole

TEACHER = "teacher"


async def teachers_by_chat(db: AsyncSession, chat_ids: Iterable[int]) -> dict[int, set[int]]:
    """For each of these chats that belongs to a verified organization, its teachers' user ids."""
    wanted = list(set(chat_ids))
    if not wanted:
        return {}
    rows_by_chat = await db.execute(
        select(Chat.id, Chat.org_id)
        .join(Organization, Organization.id == Chat.org_id)
        .where(Chat.id.in_(wanted), Organization.verified_at.is_not(None))
    )
    chat_orgs = {chat_id: org_id for chat_id, org_id in rows_by_chat}
    if not chat_orgs:
        return {}
    rows = await db.execute(
        select(OrgMember.org_id, OrgMember.user_id).where(
            OrgMember.org_id.in_(set(chat_orgs.values())),
            OrgMember.status == ACTIVE,
            OrgMember.role == OrgRole.teacher.value,
        )
    )
    by_org: dict[int, set[int]] = {}
    for org_id, user_id in rows:
        if user_id is not None:
            by_org.setdefault(org_id, set()).add(user_id)
    return {chat_id: by_org.get(org_id, set()) for chat_id, org_id in chat_orgs.items() if org_id is not None}
