"""Class and group names: every spelling of a class is one class."""

from __future__ import annotations

import pytest

from parta.errors import InvalidInput
from parta.orgs import classnames


@pytest.mark.parametrize(
    ("raw", "name", "key", "grade", "letter"),
    [
        ("5А", "5А", "5|А", 5, "А"),
        ("5 А", "5А", "5|А", 5, "А"),
        ("5-а", "5А", "5|А", 5, "А"),
        ("5а", "5А", "5|А", 5, "А"),
        ("5a", "5А", "5|А", 5, "А"),  # Latin a
        ("5A", "5А", "5|А", 5, "А"),  # Latin A
        ('5 "А"', "5А", "5|А", 5, "А"),
        ("5 «а»", "5А", "5|А", 5, "А"),
        (" 5А ", "5А", "5|А", 5, "А"),
        ("5\u00a0А", "5А", "5|А", 5, "А"),  # no-break space
        ("5 — А", "5А", "5|А", 5, "А"),
        ("5А класс", "5А", "5|А", 5, "А"),
        ("5а кл.", "5А", "5|А", 5, "А"),
        ("１１б", "11Б", "11|Б", 11, "Б"),  # full-width digits
        ("10 в", "10В", "10|В", 10, "В"),
        ("10B", "10В", "10|В", 10, "В"),  # Latin capital B looks like В
        ("7c", "7С", "7|С", 7, "С"),
        ("7C", "7С", "7|С", 7, "С"),
        ("1k", "1К", "1|К", 1, "К"),
        ("3y", "3У", "3|У", 3, "У"),
        ("3ё", "3Е", "3|Е", 3, "Е"),
        ("9Я", "9Я", "9|Я", 9, "Я"),
        ("05А", "5А", "5|А", 5, "А"),
        ("5", "5", "5|", 5, None),  # one class per grade: no letter
        ("5 класс", "5", "5|", 5, None),
        ("11", "11", "11|", 11, None),
    ],
)
def test_class_spellings_share_one_key(raw: str, name: str, key: str, grade: int, letter: str | None) -> None:
    parsed = classnames.normalize("class", raw)
    assert (parsed.kind, parsed.name, parsed.norm_key, parsed.grade, parsed.letter) == (
        "class",
        name,
        key,
        grade,
        letter,
    )


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "класс",
        "12Б",
        "0А",
        "99999999999999999999А",
        "А5",
        "5АБ",
        "5АБВГ",
        "5 А Б",
        "5Ь",
        "5Ъ",
        "5Ы",
        "5b",  # lowercase b: ь or б? refused rather than guessed
        "5m",  # italic т or м?
        "5h",
        "5D",
        "5!",
        "5А\x00",
        "5" + "А" * 100,
    ],
)
def test_invalid_class_names_are_refused_with_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        classnames.normalize("class", raw)
    assert caught.value.field == "name"


@pytest.mark.parametrize(
    ("raw", "name", "key"),
    [
        ("Робототехника", "Робототехника", "робототехника"),
        ("  РОБОТОТЕХНИКА  ", "РОБОТОТЕХНИКА", "робототехника"),
        ("Английский,   группа\t2", "Английский, группа 2", "английский, группа 2"),
        ("Кружок №1", "Кружок №1", "кружок №1"),
        ("5А", "5А", "5а"),
        ("x" * 64, "x" * 64, "x" * 64),
    ],
)
def test_group_names_collapse_whitespace_and_ignore_case(raw: str, name: str, key: str) -> None:
    parsed = classnames.normalize("group", raw)
    assert (parsed.kind, parsed.name, parsed.norm_key, parsed.grade, parsed.letter) == (
        "group",
        name,
        key,
        None,
        None,
    )


def test_long_case_folded_group_key_stays_in_its_column() -> None:
    parsed = classnames.normalize("group", "ß" * 64)
    assert len(parsed.norm_key) <= classnames.MAX_KEY
    assert parsed.norm_key == classnames.normalize("group", "\u1e9e" * 64).norm_key  # capital ẞ


@pytest.mark.parametrize("raw", ["", "   ", "x" * 65, "Кружок\x07"])
def test_invalid_group_names_are_refused_with_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        classnames.normalize("group", raw)
    assert caught.value.field == "name"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        classnames.normalize("club", "Шахматы")
    assert caught.value.field == "kind"


def test_lookalike_table_maps_only_to_cyrillic_class_letters() -> None:
    for latin, cyrillic in classnames.LATIN_LOOKALIKES.items():
        assert latin.isascii() and not cyrillic.isascii()
        assert classnames.normalize("class", f"5{latin}").letter == cyrillic.upper()
