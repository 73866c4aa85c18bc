"""An organization's card checks: INN, OGRN, region codes, contacts and names, as tables."""

from __future__ import annotations

import pytest

from parta.errors import ErrorCode, InvalidInput
from parta.orgs import validation as v

VALID_INNS = [
    "7707083893",  # Sberbank
    "7736207543",  # Yandex
    "7736050003",  # Gazprom
    "7830002293",
    "500100732259",  # a person: two control digits
]
INVALID_INNS = [
    "7707083894",  # last digit off
    "500100732258",  # 12th control digit off
    "500100732269",  # 11th control digit off
    "770708389",  # 9 digits
    "77070838930",  # 11 digits
    "77070838a3",
    "７７０７０８３８９３",  # full-width digits are digits to Python, not to the register
    "",
]
VALID_OGRNS = [
    "1027700132195",  # Sberbank
    "1027700229193",  # Yandex
    "1027700070518",  # Gazprom
    "304500116000157",  # OGRNIP of a sole proprietor
]
INVALID_OGRNS = [
    "1027700132196",
    "304500116000158",
    "102770013219",  # 12 digits
    "10277001321950",  # 14 digits
    "1027700l32195",
    "",
]


@pytest.mark.parametrize("inn", VALID_INNS)
def test_real_inns_pass(inn: str) -> None:
    assert v.inn_is_valid(inn)
    assert v.check_inn(f" {inn} ") == inn


@pytest.mark.parametrize("inn", INVALID_INNS)
def test_wrong_inns_are_refused_naming_the_field(inn: str) -> None:
    assert not v.inn_is_valid(inn)
    with pytest.raises(InvalidInput) as caught:
        v.check_inn(inn)
    assert caught.value.field == "inn" and caught.value.instance_code is ErrorCode.invalid_request


@pytest.mark.parametrize("ogrn", VALID_OGRNS)
def test_real_ogrns_pass(ogrn: str) -> None:
    assert v.ogrn_is_valid(ogrn)
    assert v.check_ogrn(ogrn) == ogrn


@pytest.mark.parametrize("ogrn", INVALID_OGRNS)
def test_wrong_ogrns_are_refused_naming_the_field(ogrn: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        v.check_ogrn(ogrn)
    assert caught.value.field == "ogrn"


@pytest.mark.parametrize(
    ("inn", "ogrn", "ok"),
    [
        ("7707083893", "1027700132195", True),
        ("500100732259", "304500116000157", True),
        ("7707083893", "304500116000157", False),
        ("500100732259", "1027700132195", False),
        (None, "1027700132195", True),
        ("7707083893", None, True),
    ],
)
def test_inn_and_ogrn_must_be_of_the_same_kind(inn: str | None, ogrn: str | None, ok: bool) -> None:
    if ok:
        v.check_requisites_match(inn, ogrn)
        return
    with pytest.raises(InvalidInput) as caught:
        v.check_requisites_match(inn, ogrn)
    assert caught.value.field == "ogrn"


@pytest.mark.parametrize(
    "region", ["01", "16", "50", "77", "78", "79", "83", "86", "87", "89", "91", "92", "95"]
)
def test_subject_codes_pass(region: str) -> None:
    assert v.check_region(region) == region


@pytest.mark.parametrize(
    "region", ["00", "1", "001", "80", "81", "82", "84", "85", "88", "96", "99", "ab", ""]
)
def test_codes_of_no_subject_are_refused(region: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        v.check_region(region)
    assert caught.value.field == "region"


def test_there_are_89_subjects() -> None:
    assert len(v.REGION_CODES) == 89


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("school1@edu.ru", "school1@edu.ru"),
        ("  director@школа.рф ", "director@школа.рф"),
        ("", ""),
    ],
)
def test_emails_pass(raw: str, expected: str) -> None:
    assert v.check_email(raw) == expected


@pytest.mark.parametrize("raw", ["school1edu.ru", "a@b", "a@@b.ru", "a b@c.ru", "a@b.ru\x00", "@edu.ru"])
def test_misshapen_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        v.check_email(raw)
    assert caught.value.field == "email"


@pytest.mark.parametrize(
    "raw",
    [
        "https://school1.ru",
        "http://school1.ru/about?x=1",
        "https://школа.рф",
        "https://sch1.edu.ru:8443/",
        "",
    ],
)
def test_websites_pass(raw: str) -> None:
    assert v.check_website(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "school1.ru",
        "ftp://school1.ru",
        "javascript:alert(1)",
        "https://",
        "https://user@school1.ru",
        "https://a b.ru",
    ],
)
def test_bad_websites_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        v.check_website(raw)
    assert caught.value.field == "website"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("8 (495) 500-55-50", "+74955005550"), ("+7 912 345 67 89", "+79123456789"), (" ", "")],
)
def test_phones_are_normalized(raw: str, expected: str) -> None:
    assert v.check_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "8912CALLNOW", "+7 000 000 00 00"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        v.check_phone(raw)
    assert caught.value.field == "phone" and caught.value.instance_code is ErrorCode.invalid_phone


@pytest.mark.parametrize(
    ("raw", "required", "expected"),
    [("  Школа № 1 ", True, "Школа № 1"), ("", False, ""), ("   ", False, "")],
)
def test_lines_are_trimmed(raw: str, required: bool, expected: str) -> None:
    assert v.clean_line(raw, "short_name", max_length=64, required=required) == expected


@pytest.mark.parametrize(
    ("raw", "required"),
    [
        ("", True),
        ("   ", True),
        ("Школа\n№ 1", False),
        ("Школа\x00", False),
        ("Ш" * 65, False),
        ("a\tb", False),
    ],
)
def test_bad_lines_are_refused(raw: str, required: bool) -> None:
    with pytest.raises(InvalidInput) as caught:
        v.clean_line(raw, "short_name", max_length=64, required=required)
    assert caught.value.field == "short_name"
