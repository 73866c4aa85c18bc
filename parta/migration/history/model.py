"""What every legacy export becomes: a chat title and its messages, oldest first.

The parsers (``telegram``, ``vk``, ``generic``) turn an export into these plain
values; ``core`` writes them. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from parta.errors import ErrorCode, InvalidInput


@dataclass(frozen=True)
class LegacyAuthor:
    """An author as the export names them.

    ``key`` is what a mapping file may name them by (a legacy id such as
    ``user123`` or ``id456``); ``phone`` is known in the generic format only.
    """

    key: str
    name: str
    phone: str | None = None


@dataclass(frozen=True)
class LegacyMessage:
    legacy_id: str
    author: LegacyAuthor
    sent_at: datetime  # tz-aware
    text: str
    reply_to: str | None = None
    edited_at: datetime | None = None
    # Relative paths inside the export; the first goes on the message, others follow it.
    attachments: tuple[str, ...] = ()
    # What could not be kept as such (a sticker, a link to a photo on the old
    # server, a forward's origin): written into the text as short notes.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """An entry of the export that is not imported: a service message (``is_service``)
    or one that cannot be read (``reason`` says why, in Russian)."""

    legacy_id: str
    reason: str
    is_service: bool = False


Entry = LegacyMessage | Skipped


@dataclass(frozen=True)
class LegacyChat:
    """A parsed export. ``entries()`` reads the messages again on every call, in
    chronological order, so the import can check everything before writing."""

    source: str  # telegram | vk | json
    key_prefix: str  # makes legacy ids unique per source and legacy chat
    title: str
    entries: Callable[[], Iterator[Entry]]
    warnings: list[str] = field(default_factory=list)


def format_invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code=ErrorCode.history_format_invalid, field="file")


def encoding_invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code=ErrorCode.history_encoding_invalid, field="file")
