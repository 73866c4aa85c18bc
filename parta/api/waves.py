"""Migration waves for operators: plan, progress dashboard (JSON or CSV), reminders."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.errors import ErrorCode as E
from parta.migration import waves

router = APIRouter(prefix="/operator/waves", tags=["migration waves"])

Id = Annotated[int, Path(ge=1, le=2**62)]
Kinds = Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=10)]
Regions = Annotated[list[Annotated[str, Field(max_length=8)]], Field(max_length=100)]


class WaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=1000)]
    org_kinds: Kinds = Field(description="school, kindergarten, college, extracurricular, authority")
    regions: Regions = Field([], description='federal subject codes ("77"); empty: every region')
    starts_at: date = Field(description="the first day of the wave, e.g. 2025-08-25")
    ends_at: date | None = None


class WavePatch(BaseModel):
    """Only the fields sent change; `ends_at: null` clears the end."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=1000)] | None = None
    org_kinds: Kinds | None = None
    regions: Regions | None = None
    starts_at: date | None = None
    ends_at: date | None = None


class WaveOut(BaseModel):
    id: int
    name: str
    org_kinds: list[str]
    regions: list[str]
    starts_at: str
    ends_at: str | None = None
    created_at: str


class WaveList(BaseModel):
    waves: list[WaveOut]


class CountsOut(BaseModel):
    orgs: int
    orgs_started: int = Field(description="with a member besides the creator (e.g. an imported roster)")
    joined: int = Field(description="active members")
    pending: int = Field(description="added by phone, not signed in yet")
    joined_share: float
    chats_archived: int
    chats_scheduled: int


class RegionOut(CountsOut):
    region: str


class OrgProgressOut(BaseModel):
    org_id: int
    short_name: str
    kind: str
    region: str
    timezone: str
    is_started: bool
    joined: int
    pending: int
    joined_share: float = Field(description="joined / (joined + pending); 0 until the org has started")
    chats_archived: int
    chats_scheduled: int


class ProgressOut(BaseModel):
    wave: WaveOut
    totals: CountsOut
    regions: list[RegionOut]
    orgs: list[OrgProgressOut]


class RemindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_joined_share: float = Field(0.5, description="remind organizations below this share of joined people")


class RemindOut(BaseModel):
    sent: list[int] = Field(description="organizations whose admins got `notice.reminder` now")
    already_today: list[int] = Field(description="lagging, but reminded less than a day ago")
    on_track: int
    not_started_yet: int = Field(description="the wave's start date has not come there yet")


@router.post(
    "",
    status_code=201,
    response_model=WaveOut,
    response_model_exclude_none=True,
    responses=errors(E.forbidden),
)
async def plan_wave(body: WaveIn, user: CurrentUser, db: DbSession) -> WaveOut:
    """Plan a wave: organizations of these kinds in these regions, from a date (operators)."""
    wave = await waves.plan_wave(db, user, waves.WavePlan(**body.model_dump()))
    return WaveOut(**waves.wave_json(wave))


@router.get("", response_model=WaveList, response_model_exclude_none=True, responses=errors(E.forbidden))
async def list_waves(user: CurrentUser, db: DbSession) -> WaveList:
    """Every wave by start date (operators)."""
    return WaveList(waves=[WaveOut(**waves.wave_json(w)) for w in await waves.list_waves(db, user)])


@router.get(
    "/{wave_id}",
    response_model=WaveOut,
    response_model_exclude_none=True,
    responses=errors(E.forbidden, E.wave_not_found),
)
async def get_wave(wave_id: Id, user: CurrentUser, db: DbSession) -> WaveOut:
    return WaveOut(**waves.wave_json(await waves.get_wave(db, user, wave_id)))


@router.patch(
    "/{wave_id}",
    response_model=WaveOut,
    response_model_exclude_none=True,
    responses=errors(E.forbidden, E.wave_not_found),
)
async def update_wave(wave_id: Id, body: WavePatch, user: CurrentUser, db: DbSession) -> WaveOut:
    """Change a wave (operators)."""
    wave = await waves.update_wave(db, user, wave_id, body.model_dump(exclude_unset=True))
    return WaveOut(**waves.wave_json(wave))


@router.delete("/{wave_id}", status_code=204, responses=errors(E.forbidden, E.wave_not_found))
async def delete_wave(wave_id: Id, user: CurrentUser, db: DbSession) -> Response:
    """Delete a wave and its reminder log (operators). Organizations are not touched."""
    await waves.delete_wave(db, user, wave_id)
    return Response(status_code=204)


_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV by org"}
}


@router.get(
    "/{wave_id}/progress",
    response_model=ProgressOut,
    responses=_CSV | errors(E.forbidden, E.wave_not_found),
)
async def wave_progress(
    wave_id: Id,
    user: CurrentUser,
    db: DbSession,
    format: Annotated[Literal["json", "csv"], Query(description="csv: one row per organization")] = "json",
) -> ProgressOut | Response:
    """The dashboard: totals, per region and per organization (operators)."""
    progress = await waves.wave_progress(db, user, wave_id)
    if format == "csv":
        headers = {"Content-Disposition": f'attachment; filename="wave-{wave_id}.csv"'}
        return Response(waves.progress_csv(progress), media_type="text/csv; charset=utf-8", headers=headers)
    return ProgressOut(
        wave=WaveOut(**waves.wave_json(progress.wave)),
        totals=CountsOut(**progress.totals.json()),
        regions=[RegionOut(region=r, **c.json()) for r, c in sorted(progress.regions.items())],
        orgs=[OrgProgressOut(**o.json()) for o in progress.orgs],
    )


@router.post(
    "/{wave_id}/reminders", response_model=RemindOut, responses=errors(E.forbidden, E.wave_not_found)
)
async def send_reminders(wave_id: Id, body: RemindIn, user: CurrentUser, db: DbSession) -> RemindOut:
    """Send `notice.reminder` to admins of lagging organizations, at most once a day each (operators)."""
    report = await waves.send_reminders(db, user, wave_id, min_joined_share=body.min_joined_share)
    return RemindOut(
        sent=report.sent,
        already_today=report.already_today,
        on_track=report.on_track,
        not_started_yet=report.not_started_yet,
    )
