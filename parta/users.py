"""Finding people: by phone (to start a chat) and by id (people you share a chat with)."""

from __future__ import annotations

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import policy, safety
from parta.config import Settings
from parta.db.tables import ChatMember, User
from parta.errors import user_not_found
from parta.phones import normalize_phone
from parta.render import Json, user_card


async def find_by_phone(db: AsyncSession, settings: Settings, actor: User, phone: str) -> User:
    """The user with this phone, if the actor may contact them; else ``user_not_found``."""
    normalized = normalize_phone(phone, settings.default_region)
    found = (await db.execute(select(User).where(User.phone == normalized))).scalar_one_or_none()
    reach = await safety.reach(db, actor.id, found)
    if found is None or not policy.can_contact(actor_id=actor.id, target_id=found.id, reach=reach):
        raise user_not_found()
    return found


async def get_visible_user(db: AsyncSession, actor: User, user_id: int) -> Json:
    """Yourself, or someone who shares a chat with you; anyone else is ``user_not_found``.

    A child in safe mode is shown to people outside their circle only as "a student".
    """
    if user_id == actor.id:
        return user_card(actor)
    mine, theirs = aliased(ChatMember), aliased(ChatMember)
    shares_chat = exists(
        select(mine.chat_id)
        .join(theirs, and_(theirs.chat_id == mine.chat_id, theirs.user_id == user_id))
        .where(mine.user_id == actor.id)
    )
    found = (await db.execute(select(User).where(User.id == user_id, shares_chat))).scalar_one_or_none()
    if found is None:
        raise user_not_found()
    return await safety.card_for(db, actor, found)
