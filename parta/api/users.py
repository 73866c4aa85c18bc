from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from parta import users
from parta.api.deps import CurrentUser, DbSession, SettingsDep
from parta.api.errors import errors
from parta.api.schemas import UserPublic
from parta.errors import ErrorCode as E
from parta.render import user_card

router = APIRouter(prefix="/users", tags=["users"])


class LookupIn(BaseModel):
    phone: Annotated[str, Field(max_length=64)]


@router.post(
    "/lookup",
    response_model=UserPublic,
    response_model_exclude_none=True,
    responses=errors(E.invalid_phone, E.user_not_found),
)
async def lookup(body: LookupIn, user: CurrentUser, db: DbSession, settings: SettingsDep) -> UserPublic:
    """Find a person by phone number to start a chat (POST keeps numbers out of URL logs)."""
    found = await users.find_by_phone(db, settings, user, body.phone)
    return UserPublic(**user_card(found))  # only found when the caller may reach them


@router.get(
    "/{user_id}",
    response_model=UserPublic,
    response_model_exclude_none=True,
    responses=errors(E.user_not_found),
)
async def get_user(
    user_id: Annotated[int, Path(ge=1, le=2**62)], user: CurrentUser, db: DbSession
) -> UserPublic:
    """A person you share a chat with (never their phone number)."""
    return UserPublic(**await users.get_visible_user(db, user, user_id))
