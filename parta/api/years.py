"""School years, the yearly rollover of classes, and transfers of students (issue 9)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from parta.api.deps import CurrentUser, DbSession, SettingsDep
from parta.api.errors import errors
from parta.api.org_members import MemberOut
from parta.errors import ErrorCode as E
from parta.orgs import directory, rollover, transfers, years

router = APIRouter(prefix="/orgs/{org_id}", tags=["school years"])

Id = Annotated[int, Path(ge=1, le=2**62)]
BodyId = Annotated[int, Field(ge=1, le=2**62, strict=True)]
MonthDay = Annotated[str, Field(pattern=r"^\d{2}-\d{2}$", description='"MM-DD", e.g. "09-01"')]

_ADMIN = (E.org_not_found, E.forbidden)
_ROLLOVER = (*_ADMIN, E.rollover_not_found)


class YearOut(BaseModel):
    id: int
    label: str = Field(description='"2025/26"')
    starts_on: str
    ends_on: str
    is_current: bool
    class_count: int = Field(description="open classes of the year")


class YearSettingsOut(BaseModel):
    starts_on: str
    ends_on: str
    last_grade: int | None = Field(None, description="absent: no grades (kindergartens, extra-curricular)")
    is_custom_last_grade: bool


class SchoolYearsOut(BaseModel):
    current_year_id: int
    years: list[YearOut]
    settings: YearSettingsOut


class YearSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_on: MonthDay | None = None
    ends_on: MonthDay | None = None
    last_grade: Annotated[int, Field(strict=True)] | None = Field(
        None, description="schools 11, colleges 4 by default; `null` returns to the default"
    )


@router.get(
    "/school-years",
    response_model=SchoolYearsOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN),
)
async def list_years(org_id: Id, user: CurrentUser, db: DbSession) -> SchoolYearsOut:
    """The organization's school years, newest first, the current one and the year settings; admins."""
    return SchoolYearsOut(**await years.list_years(db, user, org_id))


@router.patch(
    "/school-year-settings",
    response_model=YearSettingsOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN),
)
async def update_year_settings(
    org_id: Id, body: YearSettingsIn, user: CurrentUser, db: DbSession
) -> YearSettingsOut:
    """Set the year's dates ("09-01" … "08-31" by default) and the last grade; admins.
    New dates apply to years made from now on."""
    change = years.YearSettingsChange(
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        last_grade=body.last_grade,
        clear_last_grade="last_grade" in body.model_fields_set and body.last_grade is None,
    )
    return YearSettingsOut(**await years.update_year_settings(db, user, org_id, change))


# -- rollovers ---------------------------------------------------------------------------------------


class RolloverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None = Field(
        None,
        description='"2026-09-01T08:00" is the organization\'s local time; with an offset, that moment; '
        "absent: now",
    )
    class_ids: list[BodyId] | None = Field(
        None, max_length=500, description="absent: every class of the year"
    )
    leaving_member_ids: list[BodyId] = Field(
        default_factory=list, max_length=1000, description="students who leave: they do not move"
    )
    undo_hours: Annotated[int, Field(strict=True)] | None = Field(
        None, description="how long the rollover may be undone after it ran (default 72)"
    )

    def plan(self, default_undo_hours: int) -> rollover.RolloverPlan:
        return rollover.RolloverPlan(
            at=self.at,
            class_ids=self.class_ids,
            leaving_member_ids=self.leaving_member_ids,
            undo_hours=self.undo_hours if self.undo_hours is not None else default_undo_hours,
        )


class YearRef(BaseModel):
    id: int
    label: str
    starts_on: str


class StepOut(BaseModel):
    class_id: int
    name: str
    outcome: Literal["promoted", "graduated", "skipped"]
    new_name: str | None = None
    new_class_id: int | None = Field(None, description="once run")
    moving_member_ids: list[int]
    graduating_member_ids: list[int]
    leaving_member_ids: list[int]
    archived_chat_ids: list[int] = Field(description="planned: chats that will be archived; run: archived")
    new_chat_ids: list[int] | None = Field(None, description="once run")
    reason: str | None = Field(
        None, description="skipped: `name_taken` (the new name belongs to an open class)"
    )


class RolloverOut(BaseModel):
    id: int
    org_id: int
    status: Literal["planned", "done", "undone", "cancelled"]
    run_at: str
    run_at_local: str
    timezone: str
    from_year: YearRef | None = None
    to_year: YearRef | None = None
    class_ids: list[int] | None = None
    leaving_member_ids: list[int]
    undo_hours: int
    undo_until: str | None = None
    done_at: str | None = None
    undone_at: str | None = None
    created_at: str
    classes: list[StepOut] | None = None


class RolloverList(BaseModel):
    rollovers: list[RolloverOut]


class PreviewOut(BaseModel):
    from_year: YearRef
    to_year: YearRef
    classes: list[StepOut]


def _out(data: dict[str, Any]) -> RolloverOut:
    return RolloverOut(**data)


@router.post(
    "/rollovers",
    status_code=201,
    response_model=RolloverOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN),
)
async def plan_rollover(
    org_id: Id, body: RolloverIn, user: CurrentUser, db: DbSession, settings: SettingsDep
) -> RolloverOut:
    """Plan the yearly rollover of the classes (or of `class_ids`) at `at`; admins of schools
    and colleges. It runs once at that moment (any server process), or at once with `…/run`."""
    plan = body.plan(settings.rollover_undo_hours)
    return _out(await rollover.plan_rollover(db, user, org_id, plan))


@router.post("/rollovers/preview", response_model=PreviewOut, responses=errors(*_ADMIN))
async def preview_plan(
    org_id: Id, body: RolloverIn, user: CurrentUser, db: DbSession, settings: SettingsDep
) -> PreviewOut:
    """What this plan would do, class by class, without planning it; admins."""
    return PreviewOut(
        **await rollover.preview_plan(db, user, org_id, body.plan(settings.rollover_undo_hours))
    )


@router.get(
    "/rollovers", response_model=RolloverList, response_model_exclude_none=True, responses=errors(*_ADMIN)
)
async def list_rollovers(org_id: Id, user: CurrentUser, db: DbSession) -> RolloverList:
    """The organization's rollovers, newest first; admins."""
    return RolloverList(rollovers=[_out(r) for r in await rollover.list_rollovers(db, user, org_id)])


@router.get(
    "/rollovers/{rollover_id}",
    response_model=RolloverOut,
    response_model_exclude_none=True,
    responses=errors(*_ROLLOVER),
)
async def get_rollover(org_id: Id, rollover_id: Id, user: CurrentUser, db: DbSession) -> RolloverOut:
    """One rollover with its `classes`: what it will do while planned, what it did once run."""
    return _out(await rollover.get_rollover(db, user, org_id, rollover_id))


@router.get(
    "/rollovers/{rollover_id}/preview",
    response_model=RolloverOut,
    response_model_exclude_none=True,
    responses=errors(*_ROLLOVER),
)
async def preview_rollover(org_id: Id, rollover_id: Id, user: CurrentUser, db: DbSession) -> RolloverOut:
    """The preview of a planned rollover, computed from today's classes (the record once run)."""
    return _out(await rollover.get_rollover(db, user, org_id, rollover_id))


@router.post(
    "/rollovers/{rollover_id}/run",
    response_model=RolloverOut,
    response_model_exclude_none=True,
    responses=errors(*_ROLLOVER, E.conflict),
)
async def run_rollover(org_id: Id, rollover_id: Id, user: CurrentUser, db: DbSession) -> RolloverOut:
    """Run a planned rollover now; 403 `rollover_not_planned` if it ran or was cancelled."""
    return _out(await rollover.run_rollover(db, user, org_id, rollover_id))


@router.post(
    "/rollovers/{rollover_id}/undo",
    response_model=RolloverOut,
    response_model_exclude_none=True,
    responses=errors(*_ROLLOVER, E.conflict),
)
async def undo_rollover(org_id: Id, rollover_id: Id, user: CurrentUser, db: DbSession) -> RolloverOut:
    """Undo a rollover within its grace period (403 `undo_expired` after it, `rollover_not_done`)."""
    return _out(await rollover.undo_rollover(db, user, org_id, rollover_id))


@router.delete(
    "/rollovers/{rollover_id}",
    response_model=RolloverOut,
    response_model_exclude_none=True,
    responses=errors(*_ROLLOVER),
)
async def cancel_rollover(org_id: Id, rollover_id: Id, user: CurrentUser, db: DbSession) -> RolloverOut:
    """Cancel a planned rollover (403 `rollover_not_planned` once it ran)."""
    return _out(await rollover.cancel_rollover(db, user, org_id, rollover_id))


# -- transfers ---------------------------------------------------------------------------------------


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    class_id: BodyId | None = Field(None, description="another class of this organization: moved at once")
    to_org_id: BodyId | None = Field(None, description="another (verified) organization: its admins accept")

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if (self.class_id is None) == (self.to_org_id is None):
            raise ValueError("give exactly one of class_id and to_org_id")
        return self


class TransferOut(BaseModel):
    id: int
    direction: Literal["outgoing", "incoming"]
    from_org_id: int
    to_org_id: int
    user_id: int
    name: str
    status: Literal["pending", "accepted", "declined"]
    created_at: str
    member_id: int | None = Field(None, description="outgoing, while pending: the membership here")
    new_member_id: int | None = Field(None, description="incoming, accepted: the new membership")
    class_id: int | None = Field(None, description="incoming, accepted")
    decided_at: str | None = None


class TransferResult(BaseModel):
    member: MemberOut | None = Field(None, description="between classes: the moved membership")
    transfer: TransferOut | None = Field(None, description="between organizations: the pending transfer")


class TransferList(BaseModel):
    transfers: list[TransferOut]


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    class_id: BodyId


@router.post(
    "/members/{member_id}/transfer",
    response_model=TransferResult,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN, E.member_not_found, E.class_not_found, E.conflict),
)
async def transfer_member(
    org_id: Id, member_id: Id, body: TransferIn, user: CurrentUser, db: DbSession
) -> TransferResult:
    """Move a student: `{class_id}` to another class at once (student and parents change chats),
    or `{to_org_id}` to another verified organization, whose admins accept it; admins."""
    if body.class_id is not None:
        view = await transfers.transfer_to_class(db, user, org_id, member_id, body.class_id)
        return TransferResult(member=MemberOut(**directory.member_json(view, with_phone=True)))
    assert body.to_org_id is not None  # the validator saw to it
    done = await transfers.request_transfer(db, user, org_id, member_id, body.to_org_id)
    return TransferResult(transfer=TransferOut(**transfers.transfer_json(done, org_id=org_id)))


@router.get(
    "/transfers", response_model=TransferList, response_model_exclude_none=True, responses=errors(*_ADMIN)
)
async def list_transfers(org_id: Id, user: CurrentUser, db: DbSession) -> TransferList:
    """Transfers out of and into the organization, newest first; admins."""
    found = await transfers.list_transfers(db, user, org_id)
    return TransferList(transfers=[TransferOut(**transfers.transfer_json(t, org_id=org_id)) for t in found])


@router.post(
    "/transfers/{transfer_id}/accept",
    response_model=TransferOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN, E.transfer_not_found, E.class_not_found, E.conflict),
)
async def accept_transfer(
    org_id: Id, transfer_id: Id, body: AcceptIn, user: CurrentUser, db: DbSession
) -> TransferOut:
    """The receiving organization's admin accepts a student into a class: the student and the
    linked parents join here and leave the old school in one step."""
    done = await transfers.accept_transfer(db, user, org_id, transfer_id, body.class_id)
    return TransferOut(**transfers.transfer_json(done, org_id=org_id))


@router.post(
    "/transfers/{transfer_id}/decline",
    response_model=TransferOut,
    response_model_exclude_none=True,
    responses=errors(*_ADMIN, E.transfer_not_found, E.conflict),
)
async def decline_transfer(org_id: Id, transfer_id: Id, user: CurrentUser, db: DbSession) -> TransferOut:
    """Either organization's admin declines (or withdraws) a pending transfer."""
    done = await transfers.decline_transfer(db, user, org_id, transfer_id)
    return TransferOut(**transfers.transfer_json(done, org_id=org_id))
