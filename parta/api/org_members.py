"""Members of an organization: the directory, adding, roles, removal, leaving, parent links."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parta.api.deps import CurrentUser, DbSession, SettingsDep
from parta.api.errors import errors
from parta.db.tables import ParentLink
from parta.errors import ErrorCode as E
from parta.orgs import directory, members, parent_links
from parta.policy import OrgRole

router = APIRouter(prefix="/orgs/{org_id}", tags=["org members"])

OrgId = Annotated[int, Path(ge=1, le=2**62)]
MemberId = Annotated[int, Path(ge=1, le=2**62)]
BodyId = Annotated[int, Field(ge=1, le=2**62, strict=True)]
QueryId = Annotated[int, Query(ge=1, le=2**62)]
LinkStatus = Literal["active", "requested"]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, Field(max_length=256)]
    role: OrgRole
    class_id: BodyId | None = Field(default=None, description="students only: a class of this organization")
    name: Annotated[str, Field(max_length=1000)] = Field(
        default="", description="how to show a pending member until they sign in"
    )


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: OrgRole | None = None
    class_id: BodyId | None = Field(
        default=None, description="students only; null takes them out of their class"
    )


class MemberOut(BaseModel):
    member_id: int
    user_id: int | None = Field(default=None, description="absent while pending")
    name: str
    role: OrgRole
    status: Literal["active", "pending", "suspended"]
    class_id: int | None = None
    phone: str | None = Field(default=None, description="admins only")
    children: list[int] | None = Field(default=None, description="a parent's linked children (member ids)")
    is_homeroom: bool | None = None
    safe_mode: bool | None = Field(
        default=None, description="admins only, students with an account: in safe mode (by age or turned on)"
    )


class MemberList(BaseModel):
    members: list[MemberOut]
    next_cursor: int | None = Field(None, description="pass as `cursor` for the next page; absent at the end")


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_member_id: BodyId
    child_member_id: BodyId


class LinkOut(BaseModel):
    org_id: int
    parent_member_id: int
    child_member_id: int
    status: LinkStatus
    created_at: str


class LinkList(BaseModel):
    links: list[LinkOut]


def _link(link: ParentLink) -> LinkOut:
    return LinkOut(**parent_links.link_json(link))


@router.get(
    "/members",
    response_model=MemberList,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden),
)
async def list_members(
    org_id: OrgId,
    user: CurrentUser,
    db: DbSession,
    role: OrgRole | None = None,
    class_id: Annotated[int | None, Query(ge=1, le=2**62, description="a class or group")] = None,
    cursor: Annotated[int | None, Query(ge=0, le=2**62, description="`next_cursor` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=directory.MAX_PAGE)] = 100,
) -> MemberList:
    """The organization's directory, as the caller may see it.

    Admins, teachers and staff see everyone (admins also pending members and
    phone numbers). Parents see their children, their children's teachers, the
    other parents of those classes and the admins; students see their
    classmates, their teachers and the admins. `class_id` narrows to a class's
    students, teachers and linked parents (or a group's teachers and members).
    """
    query = directory.DirectoryQuery(role=role, class_id=class_id, cursor=cursor, limit=limit)
    page = await directory.list_members(db, user, org_id, query)
    return MemberList(
        members=[MemberOut(**directory.member_json(v, with_phone=page.with_phones)) for v in page.members],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/members",
    status_code=201,
    response_model=MemberOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden, E.invalid_phone, E.class_not_found, E.conflict),
)
async def add_member(
    org_id: OrgId, body: MemberIn, user: CurrentUser, db: DbSession, settings: SettingsDep
) -> MemberOut:
    """Add a person by phone (admins; only the main admin adds admins).

    Someone with an account becomes an active member at once; otherwise the
    membership is `pending` until the first sign-in with that phone. 409
    `conflict` if the phone is already a member (the message names the member).
    """
    new = members.NewMember(phone=body.phone, role=body.role, class_id=body.class_id, name=body.name)
    view = await members.add_member(db, user, org_id, new, region=settings.default_region)
    return MemberOut(**directory.member_json(view, with_phone=True))


@router.patch(
    "/members/{member_id}",
    response_model=MemberOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden, E.member_not_found, E.class_not_found),
)
async def update_member(
    org_id: OrgId, member_id: MemberId, body: MemberPatch, user: CurrentUser, db: DbSession
) -> MemberOut:
    """Change a member's role or a student's class (admins); class chats follow.

    Nobody changes their own role; only the main admin appoints or demotes admins.
    """
    change = members.MemberChange(
        role=body.role,
        class_id=body.class_id,
        clear_class="class_id" in body.model_fields_set and body.class_id is None,
    )
    view = await members.update_member(db, user, org_id, member_id, change)
    return MemberOut(**directory.member_json(view, with_phone=True))


@router.delete(
    "/members/{member_id}",
    status_code=204,
    responses=errors(E.org_not_found, E.forbidden, E.member_not_found),
)
async def remove_member(org_id: OrgId, member_id: MemberId, user: CurrentUser, db: DbSession) -> Response:
    """Remove a member (admins); one's own membership: leave. They leave every class chat."""
    await members.remove_member(db, user, org_id, member_id)
    return Response(status_code=204)


@router.post("/leave", status_code=204, responses=errors(E.org_not_found, E.forbidden))
async def leave_org(org_id: OrgId, user: CurrentUser, db: DbSession) -> Response:
    """Leave the organization. The last admin cannot (`forbidden`, reason `last_admin`)."""
    await members.leave_org(db, user, org_id)
    return Response(status_code=204)


@router.post(
    "/parent-links",
    status_code=201,
    response_model=LinkOut,
    responses=errors(E.org_not_found, E.forbidden, E.member_not_found, E.conflict),
)
async def link_parent(org_id: OrgId, body: LinkIn, user: CurrentUser, db: DbSession) -> LinkOut:
    """Link a parent to a student: by an admin (`active` at once) or by the parent
    themself (`requested`, an admin confirms). An active link puts the parent into
    the parents' chat of the child's class."""
    link = await parent_links.link_parent(
        db, user, org_id, parent_member_id=body.parent_member_id, child_member_id=body.child_member_id
    )
    return _link(link)


@router.post(
    "/parent-links/confirm",
    response_model=LinkOut,
    responses=errors(E.org_not_found, E.forbidden, E.not_found),
)
async def confirm_parent_link(org_id: OrgId, body: LinkIn, user: CurrentUser, db: DbSession) -> LinkOut:
    """Confirm a link a parent asked for (admins); repeating it is harmless."""
    link = await parent_links.confirm_parent_link(
        db, user, org_id, parent_member_id=body.parent_member_id, child_member_id=body.child_member_id
    )
    return _link(link)


@router.delete(
    "/parent-links",
    status_code=204,
    responses=errors(E.org_not_found, E.forbidden, E.not_found),
)
async def unlink_parent(
    org_id: OrgId, parent_member_id: QueryId, child_member_id: QueryId, user: CurrentUser, db: DbSession
) -> Response:
    """Remove a parent link (admins, or the parent themself); the parent leaves the parents' chat."""
    await parent_links.unlink_parent(
        db, user, org_id, parent_member_id=parent_member_id, child_member_id=child_member_id
    )
    return Response(status_code=204)


@router.get("/parent-links", response_model=LinkList, responses=errors(E.org_not_found, E.forbidden))
async def list_parent_links(
    org_id: OrgId, user: CurrentUser, db: DbSession, status: LinkStatus | None = None
) -> LinkList:
    """Parent links: admins see all, anyone else the links where they are the parent."""
    links = await parent_links.list_parent_links(db, user, org_id, status=status)
    return LinkList(links=[_link(link) for link in links])
