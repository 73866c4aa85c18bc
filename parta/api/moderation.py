"""Reports and the moderation queues of organizations and operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parta import moderation
from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.api.schemas import MessageOut, UserPublic
from parta.errors import ErrorCode as E
from parta.moderation import OperatorAction, OrgAction, ReportReason, ReportStatus

router = APIRouter(tags=["moderation"])

PathId = Annotated[int, Path(ge=1, le=2**62)]
BodyId = Annotated[int, Field(ge=1, le=2**62, strict=True)]
Text = Annotated[str, Field(max_length=moderation.MAX_COMMENT)]
Cursor = Annotated[int | None, Query(ge=0, le=2**62, description="`next_cursor` of the last page")]
Limit = Annotated[int, Query(ge=1, le=moderation.MAX_PAGE)]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: BodyId | None = Field(default=None, description="a message in one of your chats")
    user_id: BodyId | None = Field(default=None, description="a person (exactly one of the two)")
    reason: ReportReason
    comment: Text = ""


class ReportOut(BaseModel):
    id: int
    reason: ReportReason
    status: ReportStatus
    message_id: int | None = None
    target_user_id: int | None = Field(None, description="the reported person (a message's author)")
    chat_id: int | None = None
    action: str | None = Field(None, description="the decision, once made")
    created_at: str
    handled_at: str | None = None


class QueuedReport(ReportOut):
    comment: str | None = None
    handled_by: int | None = None
    reporter: UserPublic | None = None
    target: UserPublic | None = None
    message: MessageOut | None = Field(None, description="the reported message as it is now")


class ReportList(BaseModel):
    reports: list[QueuedReport]
    next_cursor: int | None = Field(None, description="pass as `cursor` for the next page; absent at the end")


class OrgDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: OrgAction
    note: Text = Field(default="", description="kept in the audit log")


class OperatorDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: OperatorAction
    note: Text = Field(default="", description="kept in the audit log")


@router.post(
    "/reports",
    status_code=201,
    response_model=ReportOut,
    response_model_exclude_none=True,
    responses={
        200: {"description": "the same report, still open, made again: the open one", "model": ReportOut},
        **errors(E.message_not_found, E.user_not_found),
    },
)
async def create_report(body: ReportIn, user: CurrentUser, db: DbSession, response: Response) -> ReportOut:
    """Report a message you can see or a person (exactly one), with a reason.

    It goes to the admins of the school whose chat holds the message (or where
    you and the person both are), else to the operators. The person is not
    told. Reporting the same thing again while the report is open returns it (200).
    """
    new = moderation.NewReport(
        reason=body.reason, message_id=body.message_id, user_id=body.user_id, comment=body.comment
    )
    report, created = await moderation.create_report(db, user, new)
    response.status_code = 201 if created else 200
    return ReportOut(**moderation.report_json(report))


@router.get(
    "/orgs/{org_id}/reports",
    response_model=ReportList,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden),
)
async def list_org_reports(
    org_id: PathId,
    user: CurrentUser,
    db: DbSession,
    status: ReportStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ReportList:
    """The organization's moderation queue, oldest first (admins)."""
    page = await moderation.list_org_reports(db, user, org_id, status=status, cursor=cursor, limit=limit)
    return ReportList(reports=[QueuedReport(**r) for r in page.reports], next_cursor=page.next_cursor)


@router.post(
    "/orgs/{org_id}/reports/{report_id}/resolve",
    response_model=ReportOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden, E.report_not_found, E.member_not_found, E.conflict),
)
async def resolve_org_report(
    org_id: PathId, report_id: PathId, body: OrgDecisionIn, user: CurrentUser, db: DbSession
) -> ReportOut:
    """Decide a report (admins): dismiss it, delete the message for everyone, remove the
    person from the organization, or suspend them (they lose the organization and its
    chats; the school keeps the record). Recorded in the audit log; 409 once decided."""
    report = await moderation.resolve_org_report(db, user, org_id, report_id, body.action, note=body.note)
    return ReportOut(**moderation.report_json(report))


@router.get(
    "/operator/reports",
    response_model=ReportList,
    response_model_exclude_none=True,
    responses=errors(E.forbidden),
)
async def list_operator_reports(
    user: CurrentUser,
    db: DbSession,
    status: ReportStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ReportList:
    """The operators' queue: reports about people outside any school shared with the reporter."""
    page = await moderation.list_operator_reports(db, user, status=status, cursor=cursor, limit=limit)
    return ReportList(reports=[QueuedReport(**r) for r in page.reports], next_cursor=page.next_cursor)


@router.post(
    "/operator/reports/{report_id}/resolve",
    response_model=ReportOut,
    response_model_exclude_none=True,
    responses=errors(E.forbidden, E.report_not_found, E.conflict),
)
async def resolve_operator_report(
    report_id: PathId, body: OperatorDecisionIn, user: CurrentUser, db: DbSession
) -> ReportOut:
    """Decide a report (operators): dismiss it, delete the message for everyone, or suspend
    the account (no sign-in, every session ends). Audited; 409 once decided."""
    report = await moderation.resolve_operator_report(db, user, report_id, body.action, note=body.note)
    return ReportOut(**moderation.report_json(report))
