"""Migration from a legacy messenger: chat manifests, migrated chats and their invite
links, the reconciliation report (JSON or CSV)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from parta.api.deps import CurrentUser, DbSession
from parta.api.errors import errors
from parta.api.roster import XLSX_ERRORS, RejectedRow
from parta.errors import ErrorCode as E
from parta.migration import manifest, reconcile, tabular
from parta.render import ts

router = APIRouter(prefix="/orgs/{org_id}", tags=["migration"])

OrgId = Annotated[int, Path(ge=1, le=2**62)]
ChatId = Annotated[int, Path(ge=1, le=2**62)]


class InviteLink(BaseModel):
    id: int
    token: str = Field(description="shown only in this response; the server keeps only a hash")
    url: str
    expires_at: str | None = None
    text: str = Field(description="a ready message (Russian) to paste into the old chat")


class ManifestChat(BaseModel):
    chat_id: int | None = Field(None, description="absent in a dry run for a chat not made yet")
    title: str
    is_new: bool
    invite: InviteLink | None = Field(None, description="for each chat made by this import")


class ManifestSummary(BaseModel):
    chats_created: int
    added: int = Field(description="had an account: in the chat now")
    pending: int = Field(description="a place kept until the first sign-in with the phone")
    existing: int = Field(description="already in the chat or already waiting, left as they are")
    rejected: int


class ManifestOut(BaseModel):
    summary: ManifestSummary
    rejected: list[RejectedRow]
    rows: int = Field(description="rows read, the header not counted")
    chats: list[ManifestChat]


class MigratedChatOut(BaseModel):
    chat_id: int
    title: str
    legacy_title: str
    member_count: int
    pending_count: int = Field(description="places kept for phones that have not signed in yet")


class MigratedChatList(BaseModel):
    chats: list[MigratedChatOut]


class Counts(BaseModel):
    listed: int
    joined: int
    pending: int
    unknown_phone: int
    not_added: int = Field(description="a phone, but refused by the import or gone since")


class PersonOut(BaseModel):
    source: Literal["roster", "manifest"]
    line: int
    name: str
    phone: str | None = Field(None, description="org admins only")
    role: str
    class_name: str
    status: Literal["joined", "pending", "unknown_phone", "not_added"]


class ChatReportOut(BaseModel):
    chat_id: int
    title: str
    legacy_title: str
    member_count: int
    counts: Counts


class ChatReportDetail(ChatReportOut):
    people: list[PersonOut]


class OrgReportOut(BaseModel):
    org_id: int
    totals: Counts = Field(description="every listing: roster rows and manifest rows")
    roster: Counts
    chats: list[ChatReportOut]


def _link(
    request: Request, chat_title: str, *, invite_id: int, expires_at: datetime | None, token: str
) -> InviteLink:
    url = f"{str(request.base_url).rstrip('/')}/join/{token}"
    return InviteLink(
        id=invite_id,
        token=token,
        url=url,
        expires_at=ts(expires_at) if expires_at else None,
        text=manifest.invite_text(chat_title, url),
    )


def _chat_link(request: Request, c: manifest.ChatOutcome) -> InviteLink | None:
    if c.invite_id is None or c.token is None:
        return None
    return _link(request, c.title, invite_id=c.invite_id, expires_at=c.expires_at, token=c.token)


def _counts(counts: reconcile.Counts) -> Counts:
    return Counts(**vars(counts))


def _person(p: reconcile.PersonRow) -> PersonOut:
    return PersonOut.model_validate(vars(p))


def _chat_report(c: reconcile.ChatReport) -> ChatReportOut:
    return ChatReportOut(
        chat_id=c.chat_id,
        title=c.title,
        legacy_title=c.legacy_title,
        member_count=c.member_count,
        counts=_counts(c.counts),
    )


FILE_ERRORS = (E.org_not_found, E.forbidden, E.file_too_large, E.file_empty, E.invalid_phone, *XLSX_ERRORS)


@router.post("/chat-manifests", response_model=ManifestOut, responses=errors(*FILE_ERRORS))
async def import_chat_manifest(
    org_id: OrgId,
    user: CurrentUser,
    db: DbSession,
    request: Request,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or Windows-1251, ; or ,) or XLSX")],
    dry_run: Annotated[bool, Query(description="check and report, write nothing")] = False,
) -> ManifestOut:
    """Recreate legacy chats from a file (columns чат, телефон, роль, ФИО); admins only.

    Each chat title becomes one group chat (found again on a repeated upload);
    people with an account are added, other phones keep a place until their
    first sign-in. Bad rows are listed with their line and reason. Each chat
    made by this upload comes with an invite link (its token only here).
    """
    # One byte over the limit is enough for the import to refuse it as too large.
    data = await file.read(tabular.MAX_FILE_BYTES + 1)
    if dry_run:
        report = await manifest.check_manifest(db, user, org_id, data)
    else:
        report = await manifest.import_manifest(db, user, org_id, data)
    return ManifestOut(
        summary=ManifestSummary(**report.summary()),
        rejected=[RejectedRow(line=r.line, reason=r.reason) for r in report.rejected],
        rows=report.rows,
        chats=[
            ManifestChat(
                chat_id=c.chat_id,
                title=c.title,
                is_new=c.is_new,
                invite=_chat_link(request, c),
            )
            for c in report.chats
        ],
    )


@router.get(
    "/migrated-chats", response_model=MigratedChatList, responses=errors(E.org_not_found, E.forbidden)
)
async def list_migrated_chats(org_id: OrgId, user: CurrentUser, db: DbSession) -> MigratedChatList:
    """Chats made by manifests, with their members and the places still waiting; admins only."""
    found = await manifest.list_migrated_chats(db, user, org_id)
    return MigratedChatList(
        chats=[
            MigratedChatOut(
                chat_id=v.chat.id,
                title=v.chat.title,
                legacy_title=v.legacy_title,
                member_count=v.member_count,
                pending_count=v.pending_count,
            )
            for v in found
        ]
    )


@router.post(
    "/migrated-chats/{chat_id}/invite",
    response_model=InviteLink,
    status_code=201,
    responses=errors(E.org_not_found, E.forbidden, E.chat_not_found),
)
async def create_migrated_chat_invite(
    org_id: OrgId, chat_id: ChatId, user: CurrentUser, db: DbSession, request: Request
) -> InviteLink:
    """A fresh invite link to a migrated chat and a ready Russian message to paste into the
    old chat, for people whose phone the file lacked or who changed it; org admins only."""
    chat, invite, token = await manifest.create_chat_invite(db, user, org_id, chat_id)
    return _link(request, chat.title, invite_id=invite.id, expires_at=invite.expires_at, token=token)


@router.get(
    "/migration/report",
    response_model=OrgReportOut,
    responses=errors(E.org_not_found, E.forbidden)
    | {200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `format=csv`"}},
)
async def migration_report(
    org_id: OrgId,
    user: CurrentUser,
    db: DbSession,
    format: Annotated[Literal["json", "csv"], Query(description="csv: one line per listed person")] = "json",
) -> OrgReportOut | Response:
    """Who the roster and the manifests listed, and who has joined, is pending, had no
    phone or was not added; admins only. The CSV (UTF-8 with BOM, `;`) opens in Excel."""
    report = await reconcile.org_report(db, user, org_id)
    if format == "csv":
        headers = {"Content-Disposition": f'attachment; filename="migration-{org_id}.csv"'}
        return Response(reconcile.to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    return OrgReportOut(
        org_id=report.org_id,
        totals=_counts(report.totals),
        roster=_counts(report.roster),
        chats=[_chat_report(c) for c in report.chats],
    )


@router.get(
    "/migration/report/chats/{chat_id}",
    response_model=ChatReportDetail,
    responses=errors(E.org_not_found, E.forbidden, E.chat_not_found),
)
async def migration_chat_report(
    org_id: OrgId, chat_id: ChatId, user: CurrentUser, db: DbSession
) -> ChatReportDetail:
    """One migrated chat: counts and each listed person with their status. For the org's
    admins and the chat's owner and admins; phones for org admins only."""
    report = await reconcile.chat_report(db, user, org_id, chat_id)
    return ChatReportDetail(**_chat_report(report).model_dump(), people=[_person(p) for p in report.people])
