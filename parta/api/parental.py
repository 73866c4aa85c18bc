"""Parental controls and safe mode: a parent's view of their child (contacts and chats,
never messages), approved contacts, and safe mode set by a parent, the school or the child."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parta import parental
from parta.api.deps import CurrentUser, DbSession, SettingsDep
from parta.api.errors import errors
from parta.api.schemas import UserPublic
from parta.errors import ErrorCode as E

router = APIRouter(tags=["parental controls"])

Id = Annotated[int, Path(ge=1, le=2**62)]
Reason = Literal["age", "parent", "school", "self"]
Via = Literal["direct", "approved", "parent", "school"]


class SafeModeOut(BaseModel):
    on: bool
    reason: Reason | None = Field(
        None,
        description="why it is on: `age` (under 14), or who turned it on: `parent`, `school`, `self`; "
        "absent while off",
    )
    locked: bool = Field(description="under 14: in safe mode by age, nobody can turn it off")


class SafeModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: Annotated[bool, Field(strict=True)]


class SchoolOut(BaseModel):
    org_id: int
    short_name: str
    class_id: int | None = None
    class_name: str | None = None


class ChildOut(BaseModel):
    user: UserPublic
    safe_mode: SafeModeOut
    schools: list[SchoolOut] = Field(description="organizations where the child is a student, with the class")


class ChildList(BaseModel):
    children: list[ChildOut]


class ContactOut(BaseModel):
    user: UserPublic
    is_approved: bool = Field(description="a parent approved this person")
    in_circle: bool = Field(
        description="in the child's circle (school, family or approved): may reach the child in safe mode "
        "(unless either blocked the other)"
    )
    via: list[Via] = Field(
        description="`direct`: a direct chat with the child exists; `approved`; `parent`; "
        "`school`: a teacher, staff member or classmate"
    )


class ContactList(BaseModel):
    contacts: list[ContactOut]


class ChildChatOut(BaseModel):
    id: int
    kind: str
    title: str
    member_count: int
    last_activity_at: str
    peer: UserPublic | None = Field(None, description="direct chats: the other person")
    org_id: int | None = None
    class_id: int | None = None
    purpose: str | None = Field(None, description="class | parents | group: a chat the organization keeps")
    is_archived: bool | None = None


class ChildChatList(BaseModel):
    chats: list[ChildChatOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; absent at the end")


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, Field(max_length=64)]


@router.get("/me/children", response_model=ChildList, response_model_exclude_none=True, responses=errors())
async def list_children(user: CurrentUser, db: DbSession) -> ChildList:
    """Your children (active parent links), with their safe mode and schools. Empty if none."""
    children = await parental.list_children(db, user)
    return ChildList(children=[ChildOut(**c.json()) for c in children])


@router.get(
    "/children/{child_id}/contacts",
    response_model=ContactList,
    response_model_exclude_none=True,
    responses=errors(E.user_not_found),
)
async def list_child_contacts(child_id: Id, user: CurrentUser, db: DbSession) -> ContactList:
    """Your child's direct-chat peers and approved contacts; never message contents.

    Anyone but the child's parent gets `user_not_found`.
    """
    contacts = await parental.list_child_contacts(db, user, child_id)
    return ContactList(contacts=[ContactOut(**c) for c in contacts])


@router.get(
    "/children/{child_id}/chats",
    response_model=ChildChatList,
    response_model_exclude_none=True,
    responses=errors(E.user_not_found),
)
async def list_child_chats(
    child_id: Id,
    user: CurrentUser,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=100, description="`next_cursor` of the previous page")
    ] = None,
) -> ChildChatList:
    """Your child's chats, most recent activity first: kind, title, size, the
    organization they follow. No messages. Anyone but a parent gets `user_not_found`."""
    page = await parental.list_child_chats(db, user, child_id, limit=limit, cursor=cursor)
    return ChildChatList(chats=[ChildChatOut(**c) for c in page.chats], next_cursor=page.next_cursor)


@router.post(
    "/children/{child_id}/approved-contacts",
    status_code=201,
    response_model=UserPublic,
    response_model_exclude_none=True,
    responses=errors(E.user_not_found, E.invalid_phone),
)
async def approve_contact(
    child_id: Id, body: ApproveIn, user: CurrentUser, db: DbSession, settings: SettingsDep
) -> UserPublic:
    """Let the person with this phone reach your child in safe mode (find by phone,
    write, add to chats). Approving again changes nothing. `user_not_found`: not your
    child, or no one you could find by this number."""
    card = await parental.approve_contact(db, settings, user, child_id, body.phone)
    return UserPublic(**card)


@router.delete(
    "/children/{child_id}/approved-contacts/{user_id}",
    status_code=204,
    responses=errors(E.user_not_found),
)
async def remove_contact(child_id: Id, user_id: Id, user: CurrentUser, db: DbSession) -> Response:
    """Withdraw an approval: unless school or family, the person can no longer reach
    your child, and their direct chat refuses new messages. Harmless to repeat."""
    await parental.remove_contact(db, user, child_id, user_id)
    return Response(status_code=204)


@router.put(
    "/children/{child_id}/safe-mode",
    response_model=SafeModeOut,
    response_model_exclude_none=True,
    responses=errors(E.user_not_found, E.forbidden),
)
async def set_child_safe_mode(
    child_id: Id, body: SafeModeIn, user: CurrentUser, db: DbSession
) -> SafeModeOut:
    """Turn your child's safe mode on or off. Under 14 it stays on (`forbidden`,
    reason `under_age`)."""
    state = await parental.set_child_safe_mode(db, user, child_id, enabled=body.enabled)
    return SafeModeOut(**state.json())


@router.put(
    "/me/safe-mode",
    response_model=SafeModeOut,
    response_model_exclude_none=True,
    responses=errors(E.forbidden),
)
async def set_own_safe_mode(body: SafeModeIn, user: CurrentUser, db: DbSession) -> SafeModeOut:
    """Turn safe mode on for yourself. Only a parent or the school can turn it off
    (`forbidden`, reason `child_cannot_disable`)."""
    state = await parental.set_own_safe_mode(db, user, enabled=body.enabled)
    return SafeModeOut(**state.json())


@router.put(
    "/orgs/{org_id}/members/{member_id}/safe-mode",
    response_model=SafeModeOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden, E.member_not_found),
)
async def set_member_safe_mode(
    org_id: Id, member_id: Id, body: SafeModeIn, user: CurrentUser, db: DbSession
) -> SafeModeOut:
    """Turn a student's safe mode on or off (org admins; in the audit log). Under 14
    it stays on (`forbidden`, reason `under_age`); only students (`invalid_request`,
    field `member_id`)."""
    state = await parental.set_member_safe_mode(db, user, org_id, member_id, enabled=body.enabled)
    return SafeModeOut(**state.json())
