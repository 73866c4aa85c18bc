from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from parta import accounts, parental
from parta.api.deps import AuthDep, CurrentUser, DbSession
from parta.api.errors import errors
from parta.api.parental import SafeModeOut
from parta.api.schemas import Me, SessionList, SessionOut
from parta.errors import ErrorCode as E
from parta.events import log as events
from parta.render import ts, user_private

router = APIRouter(tags=["me"])


class MeOut(Me):
    last_event_id: int = Field(description="the log position to start `sync` from")
    safe_mode: SafeModeOut = Field(description="always present; see PUT /me/safe-mode")


class ProfileIn(BaseModel):
    first_name: Annotated[str, Field(max_length=200)] | None = None
    last_name: Annotated[str, Field(max_length=200)] | None = None
    birth_date: date | None = None


@router.get("/me", response_model=MeOut, response_model_exclude_none=True, responses=errors())
async def get_me(user: CurrentUser, db: DbSession) -> MeOut:
    """Your profile (with your phone number, which nobody else sees) and your safe mode."""
    safe_mode = SafeModeOut(**(await parental.safe_mode_state(db, user)).json())
    return MeOut(**user_private(user), last_event_id=await events.head(db), safe_mode=safe_mode)


@router.patch("/me", response_model=Me, response_model_exclude_none=True, responses=errors(E.forbidden))
async def update_me(body: ProfileIn, user: CurrentUser, db: DbSession) -> Me:
    """Fill or change first name, last name (both required before chatting), birth date.

    Send `"birth_date": null` to remove the birth date.
    """
    change = accounts.ProfileChange(
        first_name=body.first_name,
        last_name=body.last_name,
        birth_date=body.birth_date,
        clear_birth_date="birth_date" in body.model_fields_set and body.birth_date is None,
    )
    updated = await accounts.update_profile(db, user, change)
    return Me(**user_private(updated))


@router.get("/sessions", response_model=SessionList, responses=errors())
async def list_sessions(auth: AuthDep, db: DbSession) -> SessionList:
    """Your signed-in devices, most recently used first."""
    rows = await accounts.list_sessions(db, auth.user)
    return SessionList(
        sessions=[
            SessionOut(
                id=s.id,
                device_name=s.device_name,
                created_at=ts(s.created_at),
                last_seen_at=ts(s.last_seen_at),
                is_current=s.id == auth.session.id,
            )
            for s in rows
        ]
    )


SessionId = Annotated[int, Path(ge=1, le=2**62)]


@router.delete("/sessions/{session_id}", status_code=204, responses=errors(E.session_not_found))
async def revoke_session(session_id: SessionId, auth: AuthDep, db: DbSession) -> Response:
    """Sign out one device (your current one too, which is signing out)."""
    await accounts.revoke_session(db, auth.user, session_id)
    return Response(status_code=204)


class Revoked(BaseModel):
    revoked: int


@router.delete("/sessions", response_model=Revoked, responses=errors())
async def revoke_other_sessions(auth: AuthDep, db: DbSession) -> Revoked:
    """Sign out every device except this one."""
    return Revoked(revoked=await accounts.revoke_other_sessions(db, auth.user, auth.session))
