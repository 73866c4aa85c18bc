"""Organizations: create and edit the card, verification by operators, the directory, the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.db.tables import Organization
from parta.errors import ErrorCode as E
from parta.orgs import core
from parta.orgs import organizations as orgs
from parta.orgs.core import OrgAccess
from parta.policy import OrgKind

router = APIRouter(tags=["organizations"])

Id = Annotated[int, Path(ge=1, le=2**62)]
# Generous bounds against abuse; the exact limits are checked (in Russian) by the action.
Line = Annotated[str, Field(max_length=1000)]


class OrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: OrgKind
    full_name: Line
    short_name: Line
    region: Line = Field(description='two-digit code of the federal subject, e.g. "77"')
    municipality: Line = ""
    address: Line = ""
    inn: Line | None = Field(None, description="10 digits (organization) or 12 (sole proprietor)")
    ogrn: Line | None = Field(None, description="13 digits (OGRN) or 15 (OGRNIP)")
    phone: Line = ""
    email: Line = ""
    website: Line = Field("", description="http or https address")
    timezone: Line | None = Field(None, description="IANA name; absent: the usual zone of the region")
    parent_id: Annotated[int, Field(ge=1, le=2**62, strict=True)] | None = Field(
        None, description="an education authority the caller administers"
    )


class OrgPatch(BaseModel):
    """Only the fields sent change; `null` or "" clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    full_name: Line | None = None
    short_name: Line | None = None
    region: Line | None = None
    municipality: Line | None = None
    address: Line | None = None
    inn: Line | None = None
    ogrn: Line | None = None
    phone: Line | None = None
    email: Line | None = None
    website: Line | None = None
    timezone: Line | None = Field(
        None, description='IANA name, e.g. "Asia/Yekaterinburg"; null or "" returns to the region\'s zone'
    )
    logo_file_id: Annotated[int, Field(ge=1, le=2**62, strict=True)] | None = Field(
        None, description="an image you uploaded outside any chat"
    )


class OrgOut(BaseModel):
    id: int
    kind: str
    full_name: str
    short_name: str
    region: str
    timezone: str = Field(description="local times of the organization are read in this IANA zone")
    is_verified: bool
    created_at: str
    parent_id: int | None = None
    municipality: str | None = None
    address: str | None = None
    inn: str | None = None
    ogrn: str | None = None
    logo_file_id: int | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    verified_at: str | None = None
    my_role: str | None = Field(
        None, description="the caller's role; absent for operators who are not members"
    )


class OrgList(BaseModel):
    orgs: list[OrgOut]


class OrgPageOut(BaseModel):
    orgs: list[OrgOut]
    next_cursor: int | None = Field(None, description="pass as `cursor` for the next page; absent at the end")


class OrgCard(BaseModel):
    id: int
    kind: str
    short_name: str
    full_name: str
    region: str
    municipality: str | None = None
    is_verified: bool


class Directory(BaseModel):
    orgs: list[OrgCard]


class AuditOut(BaseModel):
    id: int
    action: str
    at: str
    actor_id: int | None = None
    target_user_id: int | None = None
    target_member_id: int | None = None
    class_id: int | None = None
    details: dict[str, Any] | None = None


class AuditList(BaseModel):
    entries: list[AuditOut]
    next_before: int | None = Field(None, description="pass as `before` for the next page; absent at the end")


def _out(access: OrgAccess) -> OrgOut:
    return OrgOut(**core.org_json(access.org, role=access.role))


def _plain(org: Organization) -> OrgOut:
    return OrgOut(**core.org_json(org))


@router.post(
    "/orgs",
    status_code=201,
    response_model=OrgOut,
    response_model_exclude_none=True,
    responses=errors(E.forbidden, E.org_not_found, E.invalid_phone),
)
async def create_org(body: OrgIn, user: CurrentUser, db: DbSession) -> OrgOut:
    """Create an organization; you become its admin.

    Needs a first and last name in the profile. The organization has no
    verified badge until an operator checks its requisites. `parent_id` files
    it under an education authority you administer.
    """
    new = orgs.NewOrg(**body.model_dump())
    return _out(await orgs.create_org(db, user, new))


@router.get("/orgs", response_model=OrgList, response_model_exclude_none=True, responses=errors())
async def list_my_orgs(user: CurrentUser, db: DbSession) -> OrgList:
    """The organizations you are an active member of, with your role in each."""
    rows = await orgs.list_my_orgs(db, user)
    return OrgList(orgs=[OrgOut(**core.org_json(org, role=role)) for org, role in rows])


@router.get(
    "/orgs/{org_id}",
    response_model=OrgOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found),
)
async def get_org(org_id: Id, user: CurrentUser, db: DbSession) -> OrgOut:
    """An organization you are a member of (operators see every organization)."""
    return _out(await orgs.get_org(db, user, org_id))


@router.patch(
    "/orgs/{org_id}",
    response_model=OrgOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden, E.invalid_phone),
)
async def update_org(org_id: Id, body: OrgPatch, user: CurrentUser, db: DbSession) -> OrgOut:
    """Edit the organization's card (admins); members receive `org.updated`.

    Changing the full name, INN, OGRN or region of a verified organization
    removes the badge until an operator checks it again.
    """
    return _out(await orgs.update_org(db, user, org_id, body.model_dump(exclude_unset=True)))


@router.get(
    "/orgs/{org_id}/children",
    response_model=OrgList,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden),
)
async def list_children(org_id: Id, user: CurrentUser, db: DbSession) -> OrgList:
    """Organizations filed under an education authority (its admins and operators)."""
    return OrgList(orgs=[_plain(org) for org in await orgs.list_children(db, user, org_id)])


@router.post(
    "/orgs/{org_id}/verification",
    response_model=OrgOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden),
)
async def verify_org(org_id: Id, user: CurrentUser, db: DbSession) -> OrgOut:
    """Give the verified badge (operators only); members receive `org.verified`. Idempotent."""
    return _out(await orgs.verify_org(db, user, org_id))


@router.delete(
    "/orgs/{org_id}/verification",
    response_model=OrgOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden),
)
async def unverify_org(org_id: Id, user: CurrentUser, db: DbSession) -> OrgOut:
    """Take the verified badge away (operators only); members receive `org.updated`. Idempotent."""
    return _out(await orgs.unverify_org(db, user, org_id))


@router.get(
    "/operator/orgs",
    response_model=OrgPageOut,
    response_model_exclude_none=True,
    responses=errors(E.forbidden),
)
async def list_orgs_for_operator(
    user: CurrentUser,
    db: DbSession,
    verified: Annotated[bool | None, Query(description="only verified (true) or unverified (false)")] = None,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**62, description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrgPageOut:
    """Every organization, oldest first: the verification queue (operators only)."""
    page = await orgs.list_orgs_for_operator(db, user, verified=verified, cursor=cursor, limit=limit)
    return OrgPageOut(orgs=[_plain(org) for org in page.orgs], next_cursor=page.next_cursor)


@router.get("/org-directory", response_model=Directory, response_model_exclude_none=True, responses=errors())
async def directory_search(
    user: CurrentUser,
    db: DbSession,
    q: Annotated[str, Query(max_length=200, description="part of the name, or the exact INN")],
    region: Annotated[str | None, Query(max_length=2, description="federal subject code")] = None,
) -> Directory:
    """Verified organizations matching `q`, to find a school to ask to join (at most 20)."""
    found = await orgs.directory_search(db, user, q, region=region)
    return Directory(orgs=[OrgCard(**orgs.directory_card(org)) for org in found])


@router.get(
    "/orgs/{org_id}/audit",
    response_model=AuditList,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden),
)
async def list_audit(
    org_id: Id,
    user: CurrentUser,
    db: DbSession,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="`next_before` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditList:
    """Who did what in the organization, newest first (admins)."""
    page = await orgs.list_audit(db, user, org_id, before=before, limit=limit)
    return AuditList(
        entries=[AuditOut(**core.audit_json(entry)) for entry in page.entries], next_before=page.next_before
    )
