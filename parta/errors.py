"""Every error a client can see: one base class, one enum of stable codes.

Rendered as ``{"error": {"code": "...", "message": "..."}}``. Clients branch on
``code``; ``message`` is human text (Russian first) and may change.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorCode(StrEnum):
    # Input.
    invalid_request = "invalid_request"
    invalid_phone = "invalid_phone"
    text_too_long = "text_too_long"
    message_empty = "message_empty"
    file_too_large = "file_too_large"
    request_too_large = "request_too_large"
    file_type_not_allowed = "file_type_not_allowed"
    file_empty = "file_empty"
    image_invalid = "image_invalid"
    image_too_large = "image_too_large"
    invalid_reaction = "invalid_reaction"
    # History import (legacy exports and their archives).
    history_format_invalid = "history_format_invalid"
    history_encoding_invalid = "history_encoding_invalid"
    archive_invalid = "archive_invalid"
    archive_unsafe_path = "archive_unsafe_path"
    archive_too_many_files = "archive_too_many_files"
    archive_too_large = "archive_too_large"
    archive_bomb = "archive_bomb"
    # Sign-in.
    not_authenticated = "not_authenticated"
    code_invalid = "code_invalid"
    code_expired = "code_expired"
    too_many_attempts = "too_many_attempts"
    rate_limited = "rate_limited"
    code_delivery_failed = "code_delivery_failed"
    # Visibility (always 404: ids cannot be probed).
    not_found = "not_found"
    user_not_found = "user_not_found"
    chat_not_found = "chat_not_found"
    message_not_found = "message_not_found"
    session_not_found = "session_not_found"
    file_not_found = "file_not_found"
    invite_not_found = "invite_not_found"
    org_not_found = "org_not_found"
    class_not_found = "class_not_found"
    member_not_found = "member_not_found"
    join_request_not_found = "join_request_not_found"
    report_not_found = "report_not_found"
    wave_not_found = "wave_not_found"
    rollover_not_found = "rollover_not_found"
    transfer_not_found = "transfer_not_found"
    # Rights.
    forbidden = "forbidden"
    # A chat closed by archiving: reading works, changing it does not (403).
    chat_archived = "chat_archived"
    # State.
    invite_expired = "invite_expired"
    invite_exhausted = "invite_exhausted"
    conflict = "conflict"
    internal_error = "internal_error"
    # Faults of the server's surroundings, not of the request: retry later.
    service_unavailable = "service_unavailable"  # the database is down or restarting (503)
    storage_full = "storage_full"  # no space left for files (507)


class PartaError(Exception):
    """Base of every client-visible error; subclasses fix status and code."""

    status: ClassVar[int] = 400
    code: ClassVar[ErrorCode] = ErrorCode.invalid_request
    default_message: ClassVar[str] = "Некорректный запрос."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: ErrorCode | None = None,
        field: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.instance_code = code or self.code
        self.field = field
        self.retry_after = retry_after
        self.reason: str | None = None
        super().__init__(self.message)

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": str(self.instance_code), "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        if self.reason is not None:
            error["reason"] = self.reason
        return {"error": error}


class InvalidInput(PartaError):
    status = 400
    code = ErrorCode.invalid_request


class Unauthenticated(PartaError):
    status = 401
    code = ErrorCode.not_authenticated
    default_message = "Нужно войти в систему."


class Forbidden(PartaError):
    status = 403
    code = ErrorCode.forbidden
    default_message = "Недостаточно прав для этого действия."


class NotFound(PartaError):
    status = 404
    code = ErrorCode.not_found
    default_message = "Не найдено."


class Conflict(PartaError):
    status = 409
    code = ErrorCode.conflict
    default_message = "Конфликт с текущим состоянием."


class Gone(PartaError):
    status = 410
    code = ErrorCode.invite_expired
    default_message = "Срок действия истёк."


class RateLimited(PartaError):
    status = 429
    code = ErrorCode.rate_limited
    default_message = "Слишком много запросов. Попробуйте позже."


class PayloadTooLarge(PartaError):
    status = 413
    code = ErrorCode.file_too_large
    default_message = "Файл слишком большой."


class UnsupportedMedia(PartaError):
    status = 415
    code = ErrorCode.file_type_not_allowed
    default_message = "Такой тип файла нельзя отправить."


class ServiceUnavailable(PartaError):
    status = 503
    code = ErrorCode.code_delivery_failed
    default_message = "Не удалось отправить код. Попробуйте позже."


def chat_not_found() -> NotFound:
    return NotFound("Чат не найден.", code=ErrorCode.chat_not_found)


def message_not_found() -> NotFound:
    return NotFound("Сообщение не найдено.", code=ErrorCode.message_not_found)


def user_not_found() -> NotFound:
    return NotFound("Пользователь не найден.", code=ErrorCode.user_not_found)


def org_not_found() -> NotFound:
    return NotFound("Организация не найдена.", code=ErrorCode.org_not_found)


def class_not_found() -> NotFound:
    return NotFound("Класс или группа не найдены.", code=ErrorCode.class_not_found)


def member_not_found() -> NotFound:
    return NotFound("Участник организации не найден.", code=ErrorCode.member_not_found)


def join_request_not_found() -> NotFound:
    return NotFound("Заявка не найдена.", code=ErrorCode.join_request_not_found)


def report_not_found() -> NotFound:
    return NotFound("Жалоба не найдена.", code=ErrorCode.report_not_found)


def wave_not_found() -> NotFound:
    return NotFound("Волна переезда не найдена.", code=ErrorCode.wave_not_found)


def rollover_not_found() -> NotFound:
    return NotFound("Перевод классов не найден.", code=ErrorCode.rollover_not_found)


def file_not_found() -> NotFound:
    return NotFound("Файл не найден.", code=ErrorCode.file_not_found)


def transfer_not_found() -> NotFound:
    return NotFound("Перевод ученика не найден.", code=ErrorCode.transfer_not_found)


def chat_archived(successor_title: str | None) -> Forbidden:
    """A change to an archived chat; the message points to the chat that continues it."""
    message = "Этот чат в архиве: писать и менять в нём ничего нельзя, история доступна для чтения."
    if successor_title is not None:
        message += f" Переписка продолжается в чате «{successor_title}»."
    err = Forbidden(message, code=ErrorCode.chat_archived)
    err.reason = "chat_archived"
    return err


def denied(reason: str, message: str) -> Forbidden:
    """A policy denial: stable ``forbidden`` code, policy ``reason`` beside it."""
    err = Forbidden(message)
    err.reason = reason
    return err


# The HTTP status each code is sent with; used to document every route's errors.
STATUS_OF: dict[ErrorCode, int] = {
    ErrorCode.invalid_request: 400,
    ErrorCode.invalid_phone: 400,
    ErrorCode.text_too_long: 400,
    ErrorCode.message_empty: 400,
    ErrorCode.invalid_reaction: 400,
    ErrorCode.file_empty: 400,
    ErrorCode.image_invalid: 400,
    ErrorCode.image_too_large: 400,
    ErrorCode.history_format_invalid: 400,
    ErrorCode.history_encoding_invalid: 400,
    ErrorCode.archive_invalid: 400,
    ErrorCode.archive_unsafe_path: 400,
    ErrorCode.archive_too_many_files: 400,
    ErrorCode.archive_bomb: 400,
    ErrorCode.archive_too_large: 413,
    ErrorCode.not_authenticated: 401,
    ErrorCode.code_invalid: 401,
    ErrorCode.code_expired: 401,
    ErrorCode.too_many_attempts: 401,
    ErrorCode.forbidden: 403,
    ErrorCode.chat_archived: 403,
    ErrorCode.not_found: 404,
    ErrorCode.user_not_found: 404,
    ErrorCode.chat_not_found: 404,
    ErrorCode.message_not_found: 404,
    ErrorCode.session_not_found: 404,
    ErrorCode.file_not_found: 404,
    ErrorCode.invite_not_found: 404,
    ErrorCode.org_not_found: 404,
    ErrorCode.class_not_found: 404,
    ErrorCode.member_not_found: 404,
    ErrorCode.join_request_not_found: 404,
    ErrorCode.report_not_found: 404,
    ErrorCode.wave_not_found: 404,
    ErrorCode.rollover_not_found: 404,
    ErrorCode.transfer_not_found: 404,
    ErrorCode.conflict: 409,
    ErrorCode.invite_expired: 410,
    ErrorCode.invite_exhausted: 410,
    ErrorCode.file_too_large: 413,
    ErrorCode.request_too_large: 413,
    ErrorCode.file_type_not_allowed: 415,
    ErrorCode.rate_limited: 429,
    ErrorCode.internal_error: 500,
    ErrorCode.code_delivery_failed: 503,
    ErrorCode.service_unavailable: 503,
    ErrorCode.storage_full: 507,
}


class DatabaseUnavailable(PartaError):
    """The database cannot be reached right now (stopped, restarting, overloaded)."""

    status = 503
    code = ErrorCode.service_unavailable
    default_message = "Сервер временно недоступен. Повторите попытку через несколько секунд."


class StorageFull(PartaError):
    """No space left where files are kept; nothing of the upload was kept."""

    status = 507
    code = ErrorCode.storage_full
    default_message = "На сервере закончилось место для файлов. Файл не сохранён, попробуйте позже."
