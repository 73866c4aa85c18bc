"""Phone numbers: one account per number however it is typed; bad input is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from parta import clock
from parta.errors import ErrorCode
from parta.phones import normalize_phone
from tests.client import Api, Factory, error_code

SAME_NUMBER = ["8 (912) 345-67-89", "+7 912 345 67 89", "79123456789", "9123456789", "8.912.345.67.89"]


@pytest.mark.parametrize("raw", SAME_NUMBER)
def test_russian_spellings_normalize_to_e164(raw: str) -> None:
    assert normalize_phone(raw, "RU") == "+79123456789"


def test_foreign_number_keeps_its_country() -> None:
    assert normalize_phone("+380 50 123 45 67", "RU") == "+380501234567"


async def test_every_spelling_signs_in_to_one_account(api: Api, make: Factory) -> None:
    first = await make.sign_in(SAME_NUMBER[0])
    assert first["is_new_user"] is True
    for raw in SAME_NUMBER[1:3]:
        # Each spelling asks for its own code: step past the resend interval.
        clock.travel(timedelta(seconds=61))
        again = await make.sign_in(raw)
        assert again["is_new_user"] is False
        assert again["user"]["id"] == first["user"]["id"]
        assert again["user"]["phone"] == "+79123456789"


async def test_code_request_answers_the_normalized_number(api: Api) -> None:
    response = await api.post("/api/v1/auth/code", json={"phone": "8 (912) 345-67-89"})
    assert response.status_code == 200
    assert response.json()["phone"] == "+79123456789"


INVALID_PHONES = [
    "",
    "   ",
    "abc",
    "8912CALLNOW",  # keypad letters would silently become digits
    "+7 912 FLOWERS",
    "12345",  # too short
    "+7 912 345 67",
    "+7 912 345 67 89 01 23",  # too long
    "8" * 33,
    "+7 912 345 67 89 ext 5",
    "tel:+79123456789",
    "+7 912 345 67 89\x00",
    "+7-+912-345-67-89",
    "+7912345678\u0669",  # an Arabic-Indic digit
]


@pytest.mark.parametrize("raw", INVALID_PHONES)
async def test_invalid_phone_is_refused_with_field(api: Api, raw: str) -> None:
    for url, body in [
        ("/api/v1/auth/code", {"phone": raw}),
        ("/api/v1/auth/token", {"phone": raw, "code": "123456"}),
    ]:
        response = await api.post(url, json=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == ErrorCode.invalid_phone
        assert error["field"] == "phone"
        assert error["message"]


NOT_A_STRING: list[Any] = [79123456789, None, ["+79123456789"], {"n": "+79123456789"}, True, 7.9]


@pytest.mark.parametrize("value", NOT_A_STRING)
async def test_phone_of_wrong_type_is_an_invalid_request(api: Api, value: Any) -> None:
    response = await api.post("/api/v1/auth/code", json={"phone": value})
    assert response.status_code == 400
    assert error_code(response) == ErrorCode.invalid_request
    assert response.json()["error"]["field"] == "phone"


async def test_missing_phone_or_broken_json_is_an_invalid_request(api: Api) -> None:
    missing = await api.post("/api/v1/auth/code", json={})
    assert missing.status_code == 400
    assert error_code(missing) == ErrorCode.invalid_request
    assert missing.json()["error"]["field"] == "phone"
    broken = await api.post(
        "/api/v1/auth/code", content=b'{"phone": ', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert error_code(broken) == ErrorCode.invalid_request
    assert broken.json()["error"]["message"]


async def test_huge_phone_string_is_refused(api: Api) -> None:
    response = await api.post("/api/v1/auth/code", json={"phone": "9" * 100_000})
    assert response.status_code == 400
    assert error_code(response) in (ErrorCode.invalid_request, ErrorCode.invalid_phone)
    assert response.json()["error"]["field"] == "phone"
