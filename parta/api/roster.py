"""Roster import: an organization's list of people from a CSV or XLSX file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile
from pydantic import BaseModel, Field

from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.errors import ErrorCode as E
from parta.migration import roster

router = APIRouter(prefix="/orgs/{org_id}", tags=["org members"])

OrgId = Annotated[int, Path(ge=1, le=2**62)]
# An XLSX is a zip: one that is hostile is refused by these (parta/migration/tabular.py).
XLSX_ERRORS = (E.archive_bomb, E.archive_too_large, E.archive_too_many_files, E.archive_unsafe_path)


class RosterSummary(BaseModel):
    created: int = Field(description="new active members (the phone has an account)")
    pending: int = Field(description="new members waiting for their first sign-in")
    existing: int = Field(description="already in the organization, left as they are")
    rejected: int
    classes_created: int
    parents_linked: int


class RejectedRow(BaseModel):
    line: int = Field(description="line of the file (the header is line 1)")
    reason: str


class RosterOut(BaseModel):
    summary: RosterSummary
    rejected: list[RejectedRow]
    rows: int = Field(description="rows read, the header not counted")


@router.post(
    "/roster",
    response_model=RosterOut,
    responses=errors(E.org_not_found, E.forbidden, E.file_too_large, E.file_empty, *XLSX_ERRORS),
)
async def import_roster(
    org_id: OrgId,
    user: CurrentUser,
    db: DbSession,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or Windows-1251, ; or ,) or XLSX")],
    dry_run: Annotated[bool, Query(description="check and report, write nothing")] = False,
) -> RosterOut:
    """Add people from a file (columns ФИО, роль, класс, телефон, ребёнок); admins only.

    Bad rows are listed with their line and reason and do not stop the others;
    people already in the organization are skipped, so a repeated upload
    changes nothing.
    """
    # One byte over the limit is enough for the import to refuse it as too large.
    data = await file.read(roster.MAX_ROSTER_BYTES + 1)
    if dry_run:
        report = await roster.check_roster(db, user, org_id, data)
    else:
        report = await roster.import_roster(db, user, org_id, data)
    return RosterOut(
        summary=RosterSummary(**report.summary()),
        rejected=[RejectedRow(line=r.line, reason=r.reason) for r in report.rejected],
        rows=report.rows,
    )
