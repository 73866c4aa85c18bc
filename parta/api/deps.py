"""Dependencies at the edge: services, database session, the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
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


async def get_current_user(auth: AuthDep) -> User:
    return auth.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]
