"""History import: a legacy messenger's chat export becomes a chat's history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from pydantic import BaseModel, Field

from parta import media
from parta.api.deps import CurrentUser, DbSession, SettingsDep
from parta.api.errors import errors
from parta.errors import ErrorCode as E
from parta.errors import PayloadTooLarge
from parta.migration import history
from parta.migration.history import core, mapping

router = APIRouter(prefix="/orgs/{org_id}", tags=["migration"])

OrgId = Annotated[int, Path(ge=1, le=2**62)]


class HistorySummary(BaseModel):
    imported: int = Field(description="legacy messages written (or, for a dry run, to be written)")
    existing: int = Field(description="imported before: left as they are")
    service_skipped: int = Field(description="service messages (joins, pins): not imported")
    rejected: int
    authors_matched: int = Field(description="authors found among Parta users by phone")
    authors_legacy: int = Field(description="authors kept as names only")
    attachments_stored: int
    attachments_missing: int = Field(description="not in the export: a note in the text instead")
    attachments_skipped: int = Field(description="too large, of a forbidden type or broken")


class RejectedEntry(BaseModel):
    legacy_id: str = Field(description="the message's id in the export ('?' when it has none)")
    reason: str


class HistoryImportOut(BaseModel):
    summary: HistorySummary
    rejected: list[RejectedEntry]
    warnings: list[str]
    source: str = Field(description="telegram | vk | json")
    title: str = Field(description="the chat's name in the export")
    messages: int = Field(description="entries read from the export")
    chat_id: int | None = Field(None, description="the chat written to; absent in a dry run into a new chat")


@router.post(
    "/history-imports",
    response_model=HistoryImportOut,
    response_model_exclude_none=True,
    responses=errors(
        E.org_not_found,
        E.forbidden,
        E.chat_not_found,
        E.file_too_large,
        E.history_format_invalid,
        E.history_encoding_invalid,
        E.archive_invalid,
        E.archive_unsafe_path,
        E.archive_too_many_files,
        E.archive_too_large,
        E.archive_bomb,
        E.storage_full,
    ),
)
async def import_history(
    org_id: OrgId,
    user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="a .zip of the export folder, or a .json file")],
    chat_id: Annotated[int | None, Form(ge=1, le=2**62, description="an existing chat of the org")] = None,
    new_chat_title: Annotated[str | None, Form(max_length=1000, description="or: create a chat")] = None,
    export_format: Annotated[
        history.ExportFormat | None, Form(alias="format", description="default: recognised")
    ] = None,
    mapping_file: Annotated[
        UploadFile | None, File(alias="mapping", description="CSV: legacy author id or name;phone")
    ] = None,
    dry_run: Annotated[bool, Query(description="check and report, write nothing")] = False,
) -> HistoryImportOut:
    """Import a Telegram Desktop export, a VK archive or Parta's JSON format into a
    chat of the organization (admins only); see docs/migration-formats.md.

    Imported messages keep their dates, authors (matched by phone, else kept as
    names), replies, edits and files, and notify nobody; one `chat.history_imported`
    event follows. Uploading the same export again adds nothing.
    """
    if file.size is not None and file.size > settings.history_max_upload_bytes:
        raise PayloadTooLarge(f"Файл больше {settings.history_max_upload_bytes // (1024 * 1024)} МБ.")
    mapping_data = await mapping_file.read(mapping.MAX_MAPPING_BYTES + 1) if mapping_file else None
    job = core.HistoryImport(
        load=history.loader((file.filename or "export", file.file), settings, export_format),
        target=core.Target(chat_id=chat_id, new_chat_title=new_chat_title),
        mapping=mapping_data,
    )
    store = media.store_for(settings)
    report = await core.import_history(db, settings, store, user, org_id, job, dry_run=dry_run)
    return HistoryImportOut(
        summary=HistorySummary(**report.summary()),
        rejected=[RejectedEntry(legacy_id=r.legacy_id, reason=r.reason) for r in report.rejected],
        warnings=report.warnings,
        source=report.source,
        title=report.title,
        messages=report.messages,
        chat_id=report.chat_id,
    )
