"""The one source of "now", so tests can move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
