"""Checks on an organization's card: requisites, region, contacts, names.

Pure functions: each returns the cleaned value or raises ``InvalidInput``
naming the field, with a Russian message the admin can act on.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from parta.errors import InvalidInput
from parta.phones import normalize_phone
from parta.text import require_printable

# Weights of the INN control digits (Federal Tax Service algorithm).
_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)

# Codes of the subjects of the Russian Federation as the Federal Tax Service keeps
# them: the directory "Коды субъектов Российской Федерации и иных территорий"
# (appendices to FNS orders, e.g. ЕД-7-21/420@ as amended by ЕД-7-21/988@ of
# 28.10.2022); the same codes open every INN. These are the 89 subjects that
# exist today: 80-82, 84, 85 and 88 belonged to autonomous okrugs merged into
# other subjects in 2005-2008 and are no longer used; 91 and 92 are the Republic
# of Crimea and Sevastopol; 90, 93, 94 and 95 are the Zaporozhye oblast, the
# Donetsk and Luhansk People's Republics and the Kherson oblast (2022). 99
# ("other territories", Baikonur) is not a subject and is refused.
REGION_CODES: frozenset[str] = frozenset(
    [f"{n:02d}" for n in range(1, 80)] + ["83", "86", "87", "89", "90", "91", "92", "93", "94", "95"]
)

MAX_FULL_NAME = 255
MAX_SHORT_NAME = 64
MAX_MUNICIPALITY = 128
MAX_ADDRESS = 255
MAX_EMAIL = 128
MAX_WEBSITE = 255

# Deliberately loose: one "@", no spaces, a dot in the domain. Only a sent
# letter proves an address; this catches typos such as a missing "@".
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_HOST = re.compile(r"(?:[\w-]+\.)+[\w-]{2,}(?::\d{1,5})?", re.UNICODE)


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_is_valid(inn: str) -> bool:
    """10 digits (an organization, one control digit) or 12 (a person, two)."""
    if not inn.isascii() or not inn.isdigit():
        return False
    if len(inn) == 10:
        return _weighted(inn, _INN10_WEIGHTS) == int(inn[9])
    if len(inn) == 12:
        return _weighted(inn, _INN12_WEIGHTS_11) == int(inn[10]) and _weighted(inn, _INN12_WEIGHTS_12) == int(
            inn[11]
        )
    return False


def ogrn_is_valid(ogrn: str) -> bool:
    """OGRN (13 digits, control by mod 11) or OGRNIP (15 digits, control by mod 13)."""
    if not ogrn.isascii() or not ogrn.isdigit():
        return False
    if len(ogrn) == 13:
        return int(ogrn[:12]) % 11 % 10 == int(ogrn[12])
    if len(ogrn) == 15:
        return int(ogrn[:14]) % 13 % 10 == int(ogrn[14])
    return False


def check_inn(raw: str) -> str:
    inn = raw.strip()
    if not inn_is_valid(inn):
        raise InvalidInput(
            "Неверный ИНН: нужно 10 цифр (организация) или 12 (ИП) с верными контрольными цифрами.",
            field="inn",
        )
    return inn


def check_ogrn(raw: str) -> str:
    ogrn = raw.strip()
    if not ogrn_is_valid(ogrn):
        raise InvalidInput(
            "Неверный ОГРН: нужно 13 цифр (ОГРН) или 15 (ОГРНИП) с верной контрольной цифрой.",
            field="ogrn",
        )
    return ogrn


def check_requisites_match(inn: str | None, ogrn: str | None) -> None:
    """An organization's INN (10 digits) goes with an OGRN (13); a sole
    proprietor's (12) with an OGRNIP (15). A mix is a typo in one of them."""
    if inn is None or ogrn is None:
        return
    if (len(inn) == 10) != (len(ogrn) == 13):
        raise InvalidInput(
            "ИНН и ОГРН не сочетаются: у организации ИНН из 10 цифр и ОГРН из 13, у ИП — 12 и 15.",
            field="ogrn",
        )


def check_region(raw: str) -> str:
    region = raw.strip()
    if region not in REGION_CODES:
        raise InvalidInput(
            "Неизвестный код региона: нужен двузначный код субъекта РФ, например 77.", field="region"
        )
    return region


def clean_line(raw: str, field: str, *, max_length: int, required: bool = False) -> str:
    """One line of text (a name, an address): trimmed, printable, without line breaks."""
    value = require_printable(raw, field).strip()
    if "\n" in value or "\r" in value or "\t" in value:
        raise InvalidInput("Поле должно быть одной строкой.", field=field)
    if required and not value:
        raise InvalidInput("Поле не может быть пустым.", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"Слишком длинное значение: не больше {max_length} символов.", field=field)
    return value


def check_email(raw: str) -> str:
    email = clean_line(raw, "email", max_length=MAX_EMAIL)
    if email and not _EMAIL.fullmatch(email):
        raise InvalidInput("Неверный адрес электронной почты. Пример: school1@edu.ru.", field="email")
    return email


def check_website(raw: str) -> str:
    website = clean_line(raw, "website", max_length=MAX_WEBSITE)
    if not website:
        return website
    parts = urlsplit(website)
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(parts.netloc) or " " in website:
        raise InvalidInput("Неверный адрес сайта. Пример: https://school1.ru.", field="website")
    return website


def check_phone(raw: str) -> str:
    """Empty clears the phone; anything else must be a real number (``invalid_phone``)."""
    phone = raw.strip()
    return normalize_phone(phone) if phone else ""
