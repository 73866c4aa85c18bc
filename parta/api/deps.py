"""Dependencies at the edge: services, database session, the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from parta import accounts
from parta.codes import CodeSender
from parta.config import Settings
from parta.db.engine import Database
from parta.db.tables import Session, User
from parta.errors import Unauthenticated


@dataclass
class Services:
    settings: Settings
    database: Database
    code_sender: CodeSender


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_db(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.database.session() as db:
        yield db


DbSession = Annotated[AsyncSession, Depends(get_db)]

_bearer = HTTPBearer(auto_error=False, description="A session token from POST /api/v1/auth/token")


@dataclass
class Auth:
    user: User
    session: Session


async def get_auth(
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Auth:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated()
    user, session = await accounts.authenticate(db, credentials.credentials)
    return Auth(user=user, session=session)


AuthDep = Annotated[Auth, Depends(get_auth)]


def _depends_on_auth(dependant: Dependant) -> bool:
    return any(d.call is get_auth or _depends_on_auth(d) for d in dependant.dependencies)


async def authenticate_first(request: Request) -> None:
    """Raise ``not_authenticated`` if the request's route needs an account and the
    request carries no live session token, as ``get_auth`` would.

    FastAPI parses a JSON body before it runs the route's dependencies, so without
    this a broken body would answer 400 to a caller that is not signed in, before
    the 401 every other anonymous request of that route gets. The validation error
    handler calls it; the check repeats ``get_auth`` exactly.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not _depends_on_auth(route.dependant):
        return
    credentials = await _bearer(request)
    async with get_services(request).database.session() as db:
        await get_auth(db, credentials)


async def get_current_user(auth: AuthDep) -> User:
    return auth.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]
