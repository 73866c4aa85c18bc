from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from parta import accounts
from parta.api.deps import ClientIp, DbSession, ServicesDep
from parta.api.errors import errors
from parta.api.schemas import Me
from parta.errors import ErrorCode as E
from parta.render import ts, user_private

router = APIRouter(prefix="/auth", tags=["auth"])


class CodeRequest(BaseModel):
    phone: Annotated[str, Field(max_length=64, examples=["+7 912 345-67-89"])]


class CodeSent(BaseModel):
    phone: str = Field(description="the number in E.164")
    expires_at: str
    resend_after: int = Field(description="seconds before another code may be requested")


class TokenRequest(BaseModel):
    phone: Annotated[str, Field(max_length=64)]
    code: Annotated[str, Field(max_length=16)]
    device_name: Annotated[str, Field(max_length=128)] = ""


class TokenOut(BaseModel):
    token: str
    user: Me
    is_new_user: bool


@router.post(
    "/code",
    response_model=CodeSent,
    responses=errors(E.invalid_phone, E.rate_limited, E.code_delivery_failed, authenticated=False),
)
async def request_code(body: CodeRequest, db: DbSession, services: ServicesDep, ip: ClientIp) -> CodeSent:
    """Send a 6-digit sign-in code to the phone (valid 5 minutes)."""
    sent = await accounts.request_code(db, services.settings, services.code_sender, phone=body.phone, ip=ip)
    return CodeSent(phone=sent.phone, expires_at=ts(sent.expires_at), resend_after=sent.resend_after)


@router.post(
    "/token",
    response_model=TokenOut,
    response_model_exclude_none=True,
    responses=errors(
        E.invalid_phone,
        E.code_invalid,
        E.code_expired,
        E.too_many_attempts,
        E.not_authenticated,  # a suspended account
        authenticated=False,
    ),
)
async def create_token(body: TokenRequest, db: DbSession, services: ServicesDep, ip: ClientIp) -> TokenOut:
    """Exchange the code for a session token; a first sign-in creates the account."""
    signed = await accounts.sign_in(
        db, services.settings, phone=body.phone, code=body.code, device_name=body.device_name, ip=ip
    )
    return TokenOut(token=signed.token, user=Me(**user_private(signed.user)), is_new_user=signed.is_new_user)
