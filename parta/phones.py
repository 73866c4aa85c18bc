"""Phone numbers: parsed and normalized to E.164 with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers

from parta.errors import ErrorCode, InvalidInput


def normalize_phone(raw: str, region: str = "RU") -> str:
    """``8 (912) 345-67-89``, ``+7 912 345 67 89`` and ``79123456789`` all give ``+79123456789``."""
    candidate = raw.strip()
    if len(candidate) > 32:
        raise _invalid()
    digits = "".join(ch for ch in candidate if ch.isdigit())
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


def _invalid() -> InvalidInput:
    return InvalidInput(
        "Неверный номер телефона. Пример: +7 912 345-67-89.",
        code=ErrorCode.invalid_phone,
        field="phone",
    )
