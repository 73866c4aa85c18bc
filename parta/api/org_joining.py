"""Joining an organization: invite links (admins make them, anyone signed in uses them)
and join requests (people ask, admins approve or decline)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.api.schemas import UserPublic
from parta.db.tables import Organization
from parta.errors import ErrorCode as E
from parta.invites import MAX_EXPIRY, MIN_EXPIRY
from parta.orgs import join_requests, joining
from parta.orgs.core import org_json
from parta.policy import OrgRole
from parta.render import Json

router = APIRouter(tags=["org joining"])

Id = Annotated[int, Path(ge=1, le=2**62)]
BodyId = Annotated[int, Field(ge=1, le=2**62, strict=True)]

_MIN_EXPIRY = int(MIN_EXPIRY.total_seconds())
_MAX_EXPIRY = int(MAX_EXPIRY.total_seconds())
_NOT_MINE = (E.org_not_found, E.forbidden)


class OrgInviteIn(BaseModel):
    # A misspelt option would silently make an unlimited, never-expiring link.
    model_config = ConfigDict(extra="forbid")

    role: OrgRole = Field(description="any role but admin and additional_admin")
    class_id: BodyId | None = Field(
        None, description="students: their class; parents: parent in this class; teachers: teach it"
    )
    expires_in_seconds: Annotated[int, Field(ge=_MIN_EXPIRY, le=_MAX_EXPIRY, strict=True)] | None = None
    usage_limit: Annotated[int, Field(ge=1, le=joining.MAX_USAGE_LIMIT, strict=True)] | None = None
    requires_approval: bool = Field(False, description="joining makes a join request for an admin to decide")


class OrgCard(BaseModel):
    id: int
    kind: str
    short_name: str
    full_name: str
    is_verified: bool
    logo_file_id: int | None = None


class OrgInviteOut(BaseModel):
    id: int
    token_prefix: str = Field(description="the token's first characters, to tell links apart")
    role: str
    state: str = Field(description="active | expired | exhausted | revoked, by the server's clock")
    usage_count: int
    requires_approval: bool
    created_at: str
    class_id: int | None = None
    usage_limit: int | None = None
    expires_at: str | None = None
    revoked_at: str | None = None
    created_by: int | None = None


class OrgInviteCreated(BaseModel):
    invite: OrgInviteOut
    token: str = Field(description="shown only in this response; the server keeps only a hash")
    url: str


class OrgInviteList(BaseModel):
    invites: list[OrgInviteOut]
    next_before: int | None = Field(None, description="pass as `before` for the next page")


class OrgInvitePreviewOut(BaseModel):
    org: OrgCard
    role: str
    state: str
    requires_approval: bool
    is_member: bool
    class_id: int | None = None
    class_name: str | None = None
    notice: str | None = Field(
        None, description="what happens next (parents: the admin links them to a child)"
    )


class JoinRequestOut(BaseModel):
    id: int
    org_id: int
    user_id: int
    role: str
    status: str = Field(description="pending | approved | declined | cancelled")
    created_at: str
    user: UserPublic | None = None
    phone: str | None = Field(None, description="admins only")
    class_id: int | None = None
    message: str | None = None
    reason: str | None = Field(None, description="why it was declined")
    decided_at: str | None = None
    org: OrgCard | None = Field(None, description="in the requester's own list")
    member_id: int | None = Field(None, description="the membership an approval made")


class JoinedOut(BaseModel):
    member_id: int
    org: dict[str, Any] = Field(description="the organization as GET /orgs/{org_id} shows it")
    role: str
    class_id: int | None = None
    notice: str | None = None


class JoinRequestWrapped(BaseModel):
    join_request: JoinRequestOut


class JoinRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: OrgRole
    class_id: BodyId | None = None
    message: Annotated[str, Field(max_length=join_requests.MAX_MESSAGE_LENGTH)] = ""


class JoinRequestList(BaseModel):
    join_requests: list[JoinRequestOut]
    next_cursor: int | None = Field(None, description="pass as `cursor` for the next page")


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: OrgRole | None = Field(None, description="instead of the requested role")
    class_id: BodyId | None = Field(None, description="instead of the requested class")


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=join_requests.MAX_MESSAGE_LENGTH)]


def _org_card(org: Organization) -> OrgCard:
    """What a stranger may see of an organization: its public face, no contacts."""
    return OrgCard(
        id=org.id,
        kind=org.kind,
        short_name=org.short_name,
        full_name=org.full_name,
        is_verified=org.is_verified,
        logo_file_id=org.logo_file_id,
    )


def _request_out(data: Json) -> JoinRequestOut:
    return JoinRequestOut.model_validate(data)


def _notice(role: str) -> str | None:
    return joining.PARENT_NOTICE if role == OrgRole.parent.value else None


@router.post(
    "/orgs/{org_id}/invites",
    status_code=201,
    response_model=OrgInviteCreated,
    response_model_exclude_none=True,
    responses=errors(*_NOT_MINE, E.class_not_found),
)
async def create_org_invite(
    org_id: Id, body: OrgInviteIn, user: CurrentUser, db: DbSession
) -> OrgInviteCreated:
    """Create an invite link into the organization with a role and optional class (admins).

    The `token` (and the relative `url`) appear only in this answer: the
    server keeps a hash. Without options the link never expires and has no use limit.
    """
    expires_in = timedelta(seconds=body.expires_in_seconds) if body.expires_in_seconds else None
    new = joining.NewOrgInvite(
        role=body.role.value,
        class_id=body.class_id,
        expires_in=expires_in,
        usage_limit=body.usage_limit,
        requires_approval=body.requires_approval,
    )
    invite, token = await joining.create_invite(db, user, org_id, new)
    shown = joining.invite_json(invite, invite.created_at)
    return OrgInviteCreated(invite=OrgInviteOut(**shown), token=token, url=f"/join/org/{token}")


@router.get(
    "/orgs/{org_id}/invites",
    response_model=OrgInviteList,
    response_model_exclude_none=True,
    responses=errors(*_NOT_MINE),
)
async def list_org_invites(
    org_id: Id,
    user: CurrentUser,
    db: DbSession,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="`next_before` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> OrgInviteList:
    """The organization's invite links, newest first, without tokens (admins)."""
    page = await joining.list_invites(db, user, org_id, before=before, limit=limit)
    return OrgInviteList(
        invites=[OrgInviteOut(**joining.invite_json(i, page.now)) for i in page.invites],
        next_before=page.next_before,
    )


@router.delete(
    "/orgs/{org_id}/invites/{invite_id}",
    status_code=204,
    responses=errors(*_NOT_MINE, E.invite_not_found),
)
async def revoke_org_invite(org_id: Id, invite_id: Id, user: CurrentUser, db: DbSession) -> Response:
    """Revoke an invite link (admins); repeating it is harmless. Who joined through it stays."""
    await joining.revoke_invite(db, user, org_id, invite_id)
    return Response(status_code=204)


@router.get(
    "/org-invites/{token}",
    response_model=OrgInvitePreviewOut,
    response_model_exclude_none=True,
    responses=errors(E.invite_not_found, E.invite_expired, E.invite_exhausted),
)
async def preview_org_invite(token: str, user: CurrentUser, db: DbSession) -> OrgInvitePreviewOut:
    """Where a link leads: the organization's public card, the role and class it gives."""
    preview = await joining.preview_invite(db, user, token)
    return OrgInvitePreviewOut(
        org=_org_card(preview.org),
        role=preview.invite.role,
        state=preview.state,
        requires_approval=preview.invite.requires_approval,
        is_member=preview.is_member,
        class_id=preview.cls.id if preview.cls else None,
        class_name=preview.cls.name if preview.cls else None,
        notice=_notice(preview.invite.role),
    )


@router.post(
    "/org-invites/{token}/join",
    status_code=201,
    response_model=JoinedOut | JoinRequestWrapped,
    response_model_exclude_none=True,
    responses={
        200: {
            "description": "already a member: the existing membership, nothing used up",
            "model": JoinedOut,
        },
        202: {
            "description": "the link requires approval: a pending join request",
            "model": JoinRequestWrapped,
        },
        **errors(E.invite_not_found, E.invite_expired, E.invite_exhausted, E.forbidden),
    },
)
async def join_by_org_invite(
    token: str, user: CurrentUser, db: DbSession, response: Response
) -> JoinedOut | JoinRequestWrapped:
    """Join with the link's role and class (201), or get the membership one already has (200:
    retries are safe), or, when the link requires approval, a join request (202).

    Requires a first and last name in the profile.
    """
    joined = await joining.join_by_invite(db, user, token)
    if joined.request is not None:
        response.status_code = 202
        return JoinRequestWrapped(join_request=_request_out(join_requests.request_json(joined.request, user)))
    member = joined.member
    assert member is not None
    response.status_code = 201 if joined.is_new else 200
    return JoinedOut(
        member_id=member.id,
        org=org_json(joined.org, role=OrgRole(member.role)),
        role=member.role,
        class_id=member.class_id,
        notice=_notice(member.role),
    )


@router.post(
    "/orgs/{org_id}/join-requests",
    status_code=201,
    response_model=JoinRequestOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.class_not_found, E.conflict, E.forbidden),
)
async def create_join_request(
    org_id: Id, body: JoinRequestIn, user: CurrentUser, db: DbSession
) -> JoinRequestOut:
    """Ask a verified organization (found in the directory) to let you in with a role.

    One pending request per organization; admins approve or decline it.
    """
    new = join_requests.NewJoinRequest(role=body.role.value, class_id=body.class_id, message=body.message)
    request = await join_requests.create_join_request(db, user, org_id, new)
    return _request_out(join_requests.request_json(request, user))


@router.get(
    "/orgs/{org_id}/join-requests",
    response_model=JoinRequestList,
    response_model_exclude_none=True,
    responses=errors(*_NOT_MINE),
)
async def list_join_requests(
    org_id: Id,
    user: CurrentUser,
    db: DbSession,
    status: Annotated[str | None, Query(description="pending | approved | declined | cancelled")] = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**62, description="`next_cursor` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> JoinRequestList:
    """The organization's join requests, oldest first (admins); with the requester's phone."""
    page = await join_requests.list_join_requests(db, user, org_id, status=status, cursor=cursor, limit=limit)
    return JoinRequestList(
        join_requests=[
            _request_out(join_requests.request_json(r, page.users.get(r.user_id), with_phone=True))
            for r in page.requests
        ],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/orgs/{org_id}/join-requests/{request_id}/approve",
    response_model=JoinRequestOut,
    response_model_exclude_none=True,
    responses=errors(*_NOT_MINE, E.join_request_not_found, E.class_not_found, E.conflict),
)
async def approve_join_request(
    org_id: Id,
    request_id: Id,
    user: CurrentUser,
    db: DbSession,
    body: Annotated[ApprovalIn | None, Body()] = None,
) -> JoinRequestOut:
    """Approve a pending request (admins): the requester becomes a member.

    `role` and `class_id` replace what was asked for; `member_id` is the new membership.
    """
    body = body or ApprovalIn()
    approval = join_requests.Approval(role=body.role.value if body.role else None, class_id=body.class_id)
    decided = await join_requests.approve_join_request(db, user, org_id, request_id, approval)
    data = join_requests.request_json(decided.request, decided.user, with_phone=True)
    return _request_out(data | {"member_id": decided.member.id if decided.member else None})


@router.post(
    "/orgs/{org_id}/join-requests/{request_id}/decline",
    response_model=JoinRequestOut,
    response_model_exclude_none=True,
    responses=errors(*_NOT_MINE, E.join_request_not_found, E.conflict),
)
async def decline_join_request(
    org_id: Id, request_id: Id, body: DeclineIn, user: CurrentUser, db: DbSession
) -> JoinRequestOut:
    """Decline a pending request with a reason the requester reads (admins)."""
    decided = await join_requests.decline_join_request(db, user, org_id, request_id, body.reason)
    return _request_out(join_requests.request_json(decided.request, decided.user, with_phone=True))


@router.get(
    "/me/join-requests",
    response_model=JoinRequestList,
    response_model_exclude_none=True,
    responses=errors(),
)
async def my_join_requests(user: CurrentUser, db: DbSession) -> JoinRequestList:
    """Your own join requests, newest first, with each organization's public card."""
    rows = await join_requests.my_join_requests(db, user)
    shown = [(join_requests.request_json(r.request, None), r.org) for r in rows]
    return JoinRequestList(
        join_requests=[_request_out(data).model_copy(update={"org": _org_card(org)}) for data, org in shown]
    )


@router.delete(
    "/me/join-requests/{request_id}",
    status_code=204,
    responses=errors(E.join_request_not_found, E.conflict),
)
async def cancel_join_request(request_id: Id, user: CurrentUser, db: DbSession) -> Response:
    """Withdraw your pending join request; repeating it is harmless."""
    await join_requests.cancel_join_request(db, user, request_id)
    return Response(status_code=204)
