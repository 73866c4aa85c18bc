"""Error rendering and OpenAPI documentation of error codes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from parta.api.deps import authenticate_first
from parta.errors import STATUS_OF, ErrorCode, PartaError

log = logging.getLogger("parta.api")


class ErrorDetail(BaseModel):
    code: ErrorCode
    message: str
    field: str | None = None
    retry_after: int | None = None
    reason: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# Codes every authenticated route may answer with.
AUTH = (ErrorCode.not_authenticated, ErrorCode.invalid_request, ErrorCode.internal_error)
ANONYMOUS = (ErrorCode.invalid_request, ErrorCode.internal_error)


def errors(*codes: ErrorCode, authenticated: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` listing each status with the codes it may carry."""
    all_codes = list(dict.fromkeys((*AUTH, *codes) if authenticated else (*ANONYMOUS, *codes)))
    by_status: dict[int, list[str]] = {}
    for code in all_codes:
        by_status.setdefault(STATUS_OF[code], []).append(code.value)
    return {
        status: {"model": ErrorBody, "description": "Error codes: " + ", ".join(f"`{c}`" for c in names)}
        for status, names in sorted(by_status.items())
    }


def _response(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


async def _parta_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PartaError)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    if exc.status == 401:
        headers = (headers or {}) | {"WWW-Authenticate": "Bearer"}
    return _response(exc.status, exc.body(), headers)


async def _unauthenticated(request: Request) -> JSONResponse | None:
    """Who is calling is decided before what they sent: the 401 for a caller without a
    live session, even when the body could not be parsed (which FastAPI and Starlette
    do before the route's dependencies run; docs/security.md, Authorization)."""
    try:
        await authenticate_first(request)
    except PartaError as refused:
        return await _parta_error(request, refused)
    return None


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if (refused := await _unauthenticated(request)) is not None:
        return refused
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location) or None
    detail = first.get("msg", "invalid value")
    message = f"Некорректное значение поля {field}: {detail}" if field else f"Некорректный запрос: {detail}"
    error: dict[str, object] = {"code": ErrorCode.invalid_request.value, "message": message}
    if field:
        error["field"] = field
    return _response(400, {"error": error})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and (refused := await _unauthenticated(request)) is not None:
        return refused
    if exc.status_code == 404:
        body = {"code": ErrorCode.not_found.value, "message": "Такого адреса нет."}
    elif exc.status_code == 405:
        body = {"code": ErrorCode.invalid_request.value, "message": "Метод не поддерживается."}
    elif exc.status_code == 400:
        # Starlette's own refusals of a body it cannot parse, in English: a broken
        # multipart form, or a part header over 4 KB (a file name of thousands of characters).
        message = f"Не удалось разобрать запрос ({exc.detail})."
        body = {"code": ErrorCode.invalid_request.value, "message": message}
    else:
        body = {"code": ErrorCode.invalid_request.value, "message": str(exc.detail)}
    return _response(exc.status_code, {"error": body}, getattr(exc, "headers", None))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    body = {"code": ErrorCode.internal_error.value, "message": "Внутренняя ошибка сервера."}
    return _response(500, {"error": body})


def _without_422(app: FastAPI) -> None:
    """FastAPI documents 422 for validation; Parta answers 400 ``invalid_request``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _without_422(app)
    app.add_exception_handler(PartaError, _parta_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
