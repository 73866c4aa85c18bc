"""Classes and groups of an organization, their teachers and group members."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.errors import ErrorCode as E
from parta.orgs import classes
from parta.orgs.classnames import MAX_NAME

router = APIRouter(prefix="/orgs/{org_id}/classes", tags=["classes"])

Id = Annotated[int, Path(ge=1, le=2**62)]

# A little room over the limit: spellings like `5 "А" класс` shrink when normalized.
_RAW_NAME = Annotated[str, Field(max_length=4 * MAX_NAME)]


class ClassIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["class", "group"]
    name: _RAW_NAME = Field(
        description='class: grade 1..11 and a letter, in any spelling ("5А", "5 а", "5-a"); '
        "group: free-form, up to 64 characters"
    )


class ClassPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: _RAW_NAME | None = None
    homeroom_member_id: Annotated[int, Field(ge=1, le=2**62, strict=True)] | None = Field(
        None, description="classes only; `null` clears it; the new homeroom teacher becomes a teacher"
    )


class ClassOut(BaseModel):
    id: int
    kind: str = Field(description="class | group")
    name: str = Field(description='normalized: "5А" for a class')
    grade: int | None = None
    letter: str | None = None
    chat_id: int | None = Field(None, description="the class or group chat; shown to its members and admins")
    parents_chat_id: int | None = Field(None, description="classes: the parents' chat; members and admins")
    homeroom_member_id: int | None = None
    teacher_member_ids: list[int] | None = Field(None, description="admins only")
    member_ids: list[int] | None = Field(None, description="groups, admins only")


class ClassList(BaseModel):
    classes: list[ClassOut]


_ADMIN = (E.org_not_found, E.forbidden, E.class_not_found)


@router.post(
    "",
    status_code=201,
    response_model=ClassOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden, E.conflict),
)
async def create_class(org_id: Id, body: ClassIn, user: CurrentUser, db: DbSession) -> ClassOut:
    """Create a class (with its class chat and parents' chat) or a group (with one chat); admins.

    `409 conflict` when the organization already has it under any spelling.
    """
    return ClassOut(**await classes.create_class_group(db, user, org_id, body.kind, body.name))


@router.get(
    "",
    response_model=ClassList,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found),
)
async def list_classes(org_id: Id, user: CurrentUser, db: DbSession) -> ClassList:
    """The organization's classes by grade and letter, then its groups by name (every member)."""
    return ClassList(classes=[ClassOut(**c) for c in await classes.list_classes(db, user, org_id)])


@router.get(
    "/{class_id}",
    response_model=ClassOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.class_not_found),
)
async def get_class(org_id: Id, class_id: Id, user: CurrentUser, db: DbSession) -> ClassOut:
    """One class or group (every member)."""
    return ClassOut(**await classes.get_class(db, user, org_id, class_id))


@router.patch(
    "/{class_id}",
    response_model=ClassOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN, E.member_not_found, E.conflict),
)
async def update_class(
    org_id: Id, class_id: Id, body: ClassPatch, user: CurrentUser, db: DbSession
) -> ClassOut:
    """Rename a class or group (its chats are renamed too) or set its homeroom teacher; admins."""
    change = classes.ClassChange(name=body.name)
    if "homeroom_member_id" in body.model_fields_set:
        change = classes.ClassChange(name=body.name, homeroom_member_id=body.homeroom_member_id)
    return ClassOut(**await classes.update_class(db, user, org_id, class_id, change))


@router.delete("/{class_id}", status_code=204, responses=errors(*_ADMIN))
async def delete_class(org_id: Id, class_id: Id, user: CurrentUser, db: DbSession) -> Response:
    """Delete a class or group; admins. Its chats stay readable in the archive; its
    students are left without a class."""
    await classes.delete_class(db, user, org_id, class_id)
    return Response(status_code=204)


@router.put(
    "/{class_id}/teachers/{member_id}",
    response_model=ClassOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN, E.member_not_found),
)
async def add_teacher(org_id: Id, class_id: Id, member_id: Id, user: CurrentUser, db: DbSession) -> ClassOut:
    """Make an active teacher, staff member or admin a teacher of the class or group
    (an admin of its chats); admins. Repeating it is harmless."""
    return ClassOut(**await classes.add_teacher(db, user, org_id, class_id, member_id))


@router.delete(
    "/{class_id}/teachers/{member_id}",
    response_model=ClassOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN, E.member_not_found),
)
async def remove_teacher(
    org_id: Id, class_id: Id, member_id: Id, user: CurrentUser, db: DbSession
) -> ClassOut:
    """Stop someone teaching the class or group (and being its homeroom teacher); admins."""
    return ClassOut(**await classes.remove_teacher(db, user, org_id, class_id, member_id))


@router.put(
    "/{class_id}/members/{member_id}",
    response_model=ClassOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN, E.member_not_found),
)
async def add_group_member(
    org_id: Id, class_id: Id, member_id: Id, user: CurrentUser, db: DbSession
) -> ClassOut:
    """Add a member of the organization to a group (groups only: `400` for a class); admins."""
    return ClassOut(**await classes.add_group_member(db, user, org_id, class_id, member_id))


@router.delete(
    "/{class_id}/members/{member_id}",
    response_model=ClassOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN, E.member_not_found),
)
async def remove_group_member(
    org_id: Id, class_id: Id, member_id: Id, user: CurrentUser, db: DbSession
) -> ClassOut:
    """Remove a member from a group (groups only); admins."""
    return ClassOut(**await classes.remove_group_member(db, user, org_id, class_id, member_id))
