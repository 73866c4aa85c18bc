"""Uploads, downloads and avatars."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile
from starlette.types import Message, Receive

from parta import media
from parta.api.deps import CurrentUser, DbSession, SettingsDep
from parta.api.errors import errors
from parta.api.orgs import OrgOut
from parta.api.schemas import FileInfo, Me
from parta.errors import ErrorCode as E
from parta.errors import InvalidInput
from parta.orgs.core import org_json
from parta.render import file_info, user_private

router = APIRouter(tags=["files"])

FileId = Annotated[int, Path(ge=1, le=2**62)]
Id = FileId  # a chat's or org's id: bounded like every id, so a huge one is a 400, not a 500
# Room for the multipart boundary and part headers around the file itself.
FORM_OVERHEAD = 64 * 1024
# Rights follow chat membership, so a client must ask again every time; with the
# ETag the answer is a cheap 304. `private`: no proxy may keep a copy.
CACHE_CONTROL = "private, no-cache"

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
UploadErrors = (
    E.file_too_large,
    E.file_empty,
    E.file_type_not_allowed,
    E.image_invalid,
    E.image_too_large,
    E.storage_full,  # 507: the disk of the media folder is full
)


def _bounded(receive: Receive, max_upload_bytes: int) -> Receive:
    limit = max_upload_bytes + FORM_OVERHEAD
    received = 0

    async def bounded_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise media.file_too_large(max_upload_bytes)
        return message

    return bounded_receive


async def receive_upload(request: Request, settings: SettingsDep) -> AsyncIterator[media.Upload]:
    """The `file` field of a multipart form, spooled to a temporary file.

    The body is counted as it arrives and refused past the upload limit, so no
    client makes the server read (or spool to disk) more, Content-Length or not.
    """
    bounded = Request(request.scope, _bounded(request.receive, settings.max_upload_bytes))
    form = await bounded.form(max_files=1, max_fields=8)
    try:
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise InvalidInput("Приложите файл в поле file формы multipart/form-data.", field="file")
        size = part.file.seek(0, os.SEEK_END)
        yield media.Upload(name=part.filename or "", file=part.file, size=size)
    finally:
        await form.close()


# Declared after the user in each route, so nobody unauthenticated gets to send a body.
UploadDep = Annotated[media.Upload, Depends(receive_upload)]


def get_store(settings: SettingsDep) -> media.LocalMediaStore:
    return media.store_for(settings)


StoreDep = Annotated[media.LocalMediaStore, Depends(get_store)]


@router.post(
    "/chats/{chat_id}/files",
    status_code=201,
    response_model=FileInfo,
    response_model_exclude_none=True,
    responses=errors(E.chat_not_found, E.forbidden, *UploadErrors),
    openapi_extra=UPLOAD_BODY,
)
async def upload_file(
    chat_id: Id, user: CurrentUser, db: DbSession, settings: SettingsDep, store: StoreDep, upload: UploadDep
) -> FileInfo:
    """Upload a file (multipart field `file`) to attach to a message with `file_id`.

    The type is detected from the content; the name is only a label. Images get
    `width`, `height` and a thumbnail. Nobody else sees the file until a
    message carries it.
    """
    row = await media.upload_file(db, settings, store, user, chat_id, upload)
    return FileInfo(**file_info(row))


@router.put(
    "/me/avatar",
    response_model=Me,
    response_model_exclude_none=True,
    responses=errors(*UploadErrors),
    openapi_extra=UPLOAD_BODY,
    tags=["me"],
)
async def set_avatar(
    user: CurrentUser, db: DbSession, settings: SettingsDep, store: StoreDep, upload: UploadDep
) -> Me:
    """Set your avatar (multipart field `file`, an image). Every signed-in user can see it."""
    updated = await media.set_avatar(db, settings, store, user, upload)
    return Me(**user_private(updated))


@router.put(
    "/orgs/{org_id}/logo",
    response_model=OrgOut,
    response_model_exclude_none=True,
    responses=errors(E.org_not_found, E.forbidden, *UploadErrors),
    openapi_extra=UPLOAD_BODY,
    tags=["organizations"],
)
async def set_org_logo(
    org_id: Id, user: CurrentUser, db: DbSession, settings: SettingsDep, store: StoreDep, upload: UploadDep
) -> OrgOut:
    """Set the organization's logo (admins; multipart field `file`, an image), public inside Parta."""
    access = await media.set_org_logo(db, settings, store, user, org_id, upload)
    return OrgOut(**org_json(access.org, role=access.role))


# The bytes are sent with the file's own type (image/png, application/pdf...), so the
# document says so instead of naming one type the answers never carry.
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes, with the type it was uploaded with",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "Not modified (`If-None-Match` matched the ETag)"},
}
THUMBNAIL_RESPONSES: dict[int | str, dict[str, Any]] = DOWNLOAD_RESPONSES | {
    200: {
        "description": "A JPEG thumbnail",
        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
    },
}


@router.get(
    "/files/{file_id}",
    response_class=Response,
    responses=DOWNLOAD_RESPONSES | errors(E.file_not_found),
)
async def download_file(
    file_id: FileId,
    user: CurrentUser,
    db: DbSession,
    store: StoreDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Download a file of a chat you are in, or an avatar. The ETag is the content's SHA-256."""
    blob = await media.file_content(db, store, user, file_id)
    return _send(blob, if_none_match)


@router.get(
    "/files/{file_id}/thumbnail",
    response_class=Response,
    responses=THUMBNAIL_RESPONSES | errors(E.file_not_found),
)
async def download_thumbnail(
    file_id: FileId,
    user: CurrentUser,
    db: DbSession,
    store: StoreDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """An image's thumbnail: JPEG, at most 320 px on the long side."""
    blob = await media.thumbnail_content(db, store, user, file_id)
    return _send(blob, if_none_match)


def _send(blob: media.Blob, if_none_match: str | None) -> Response:
    etag = f'"{blob.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        # Opened directly in a tab, the file can run nothing and load nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    # Images may show in the browser; anything else is saved, never rendered on our origin.
    headers["Content-Disposition"] = content_disposition(
        "inline" if blob.is_image else "attachment", blob.name
    )
    return FileResponse(blob.path, media_type=blob.mime_type, headers=headers)


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def content_disposition(disposition: str, name: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients, the real name in `filename*` (RFC 5987)."""
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\%' else "_" for ch in name)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
