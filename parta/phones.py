"""Phone numbers: parsed and normalized to E.164 with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers

from parta.errors import ErrorCode, InvalidInput

MAX_INPUT_LENGTH = 32
# Separators people type between digits. Anything else is refused before parsing:
# ``phonenumbers`` reads letters as keypad digits ("8912CALLNOW") and accepts
# extensions and ``tel:`` URIs, so a typo could silently become someone else's number.
_SEPARATORS = frozenset("+-().")
_DIGITS = frozenset("0123456789")


def normalize_phone(raw: str, region: str = "RU") -> str:
    """``8 (912) 345-67-89``, ``+7 912 345 67 89`` and ``79123456789`` all give ``+79123456789``."""
    candidate = raw.strip()
    if len(candidate) > MAX_INPUT_LENGTH or not _only_phone_characters(candidate) or "+" in candidate[1:]:
        raise _invalid()
    digits = "".join(ch for ch in candidate if ch in _DIGITS)
    # "79123456789" has no "+" but is already international for Russia.
    if not candidate.startswith("+") and region == "RU" and len(digits) == 11 and digits[0] == "7":
        candidate = "+" + digits
    try:
        parsed = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        raise _invalid() from None
    if not phonenumbers.is_valid_number(parsed):
        raise _invalid()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _only_phone_characters(value: str) -> bool:
    return all(ch in _DIGITS or ch in _SEPARATORS or ch.isspace() for ch in value)


def _invalid() -> InvalidInput:
    return InvalidInput(
        "Неверный номер телефона. Пример: +7 912 345-67-89.",
        code=ErrorCode.invalid_phone,
        field="phone",
    )
