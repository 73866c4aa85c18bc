"""Checks on free text from clients, shared by every action that stores text."""

from __future__ import annotations

import re

from parta.errors import InvalidInput

# C0 controls except tab, newline and carriage return, plus DEL. PostgreSQL refuses
# NUL in text outright, and the others only garble what other people see.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def require_printable(value: str, field: str) -> str:
    if _CONTROL.search(value):
        raise InvalidInput("Текст содержит недопустимые управляющие символы.", field=field)
    return value
