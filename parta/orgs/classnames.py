"""Names of classes and groups, normalized so one class cannot be created twice.

A **class** is a grade and a letter. People type it in many ways: ``5А``,
``5 А``, ``5-а``, ``5а``, ``5 "А"``, ``5А класс``, or ``5a`` with a Latin
letter because the keyboard was in the wrong mode. All of these are the class
displayed as ``5А`` with the key ``5|А``.

- The grade is 1..11 (Russian general education; no grade 0 or 12).
- The letter is one Cyrillic letter, uppercased. Ё is folded into Е (people
  write е for ё) and Ъ, Ы, Ь are refused: no class is lettered with them.
- A class may have no letter (``5``, ``5 класс``): small schools have one
  class per grade. Its key is ``5|`` and it is displayed as ``5``.
- Latin letters are accepted only where their glyph is practically identical to
  a Cyrillic one, so the mapping cannot guess wrong (``LATIN_LOOKALIKES``).
  Lowercase b (ь or б?), h (һ?), m (т in italics), n (п), r (г), t, u (и) are
  refused rather than guessed; their uppercase forms map fine.
- Separators between grade and letter (spaces, hyphens, dashes) and quotes
  around the letter are dropped; a trailing word "класс" or "кл." too.

A **group** (a club, a subject) has a free-form name: whitespace is collapsed,
the display keeps the letters as typed, and the key is case-folded, so
"Робототехника" and "РОБОТОТЕХНИКА " are one group.

A **preschool group** (a kindergarten's "Младшая группа «Солнышко»") takes a
class's place: its children are enrolled into it and its parents get a chat.
Its name is free-form like a group's and folded the same way; "5А" parsing
never applies to it. In a kindergarten a class asked for is a preschool group
(``kind_in``): kindergartens have no grades.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace

from parta.errors import InvalidInput
from parta.policy import OrgKind
from parta.text import require_printable

CLASS = "class"
GROUP = "group"
PRESCHOOL = "preschool"
KINDS = (CLASS, GROUP, PRESCHOOL)
MIN_GRADE = 1
MAX_GRADE = 11
MAX_NAME = 64
MAX_KEY = 64  # the norm_key column's width

# Uppercase Latin letters that look exactly like a Cyrillic capital, and the
# lowercase ones whose glyphs match their Cyrillic lowercase counterparts.
LATIN_LOOKALIKES: dict[str, str] = {
    "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М",
    "O": "О", "P": "Р", "T": "Т", "X": "Х", "Y": "У",
    "a": "а", "c": "с", "e": "е", "k": "к", "o": "о", "p": "р", "x": "х", "y": "у",
}  # fmt: skip
_NO_CLASS_LETTERS = frozenset("ЪЫЬ")
_SEPARATORS = " \t-‐‑‒–—_\"'«»“”„‘’`"
_SUFFIX = re.compile(r"\s+(?:класс|кл\.?)$", re.IGNORECASE)
_GRADE_FIRST = re.compile(r"([0-9]+)(.*)", re.DOTALL)


@dataclass(frozen=True)
class ClassName:
    kind: str
    name: str  # what people see
    norm_key: str  # unique per organization and kind
    grade: int | None = None
    letter: str | None = None


def normalize(kind: str, raw: str) -> ClassName:
    """The name of a class or group as stored; ``invalid_request`` (field ``name``) if unusable."""
    if kind == CLASS:
        return normalize_class(raw)
    if kind == GROUP:
        return normalize_group(raw)
    if kind == PRESCHOOL:
        return normalize_preschool(raw)
    raise InvalidInput("Тип: class (класс) или group (группа).", field="kind")


def kind_in(org_kind: str, kind: str) -> str:
    """The kind actually stored for ``kind`` asked for in an organization of ``org_kind``:
    a kindergarten's classes are preschool groups."""
    return PRESCHOOL if kind == CLASS and org_kind == OrgKind.kindergarten else kind


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, field="name")


def normalize_class(raw: str) -> ClassName:
    """``5А`` from any of its spellings; see the module docstring for the rules."""
    if len(raw) > MAX_NAME:
        raise _invalid("Название класса слишком длинное: например, 5А.")
    text = unicodedata.normalize("NFKC", require_printable(raw, "name")).strip()
    text = _SUFFIX.sub("", text)
    if not text:
        raise _invalid("Укажите класс: номер и букву, например 5А.")
    found = _GRADE_FIRST.fullmatch(text)
    if found is None:
        raise _invalid("Название класса начинается с номера: например, 5А.")
    grade = int(found[1])
    if not MIN_GRADE <= grade <= MAX_GRADE:
        raise _invalid(f"Номер класса: от {MIN_GRADE} до {MAX_GRADE}.")
    rest = found[2].strip(_SEPARATORS)
    if not rest:
        return ClassName(kind=CLASS, name=str(grade), norm_key=f"{grade}|", grade=grade)
    letter = _class_letter(rest)
    return ClassName(
        kind=CLASS, name=f"{grade}{letter}", norm_key=f"{grade}|{letter}", grade=grade, letter=letter
    )


def _class_letter(rest: str) -> str:
    if len(rest) != 1:
        raise _invalid("После номера класса — одна буква: например, 5А.")
    letter = LATIN_LOOKALIKES.get(rest, rest).upper().replace("Ё", "Е")
    if not ("А" <= letter <= "Я") or letter in _NO_CLASS_LETTERS:
        raise _invalid("Буква класса — одна русская буква: например, 5А.")
    return letter


def normalize_group(raw: str) -> ClassName:
    """A group's name with collapsed whitespace; the key ignores case."""
    name = " ".join(require_printable(raw, "name").split())
    if not name:
        raise _invalid("Укажите название группы.")
    if len(name) > MAX_NAME:
        raise _invalid(f"Название группы не длиннее {MAX_NAME} символов.")
    return ClassName(kind=GROUP, name=name, norm_key=_group_key(name))


def normalize_preschool(raw: str) -> ClassName:
    """A preschool group's name: the rules of ``normalize_group``."""
    return replace(normalize_group(raw), kind=PRESCHOOL)


def _group_key(name: str) -> str:
    key = name.casefold()
    if len(key) <= MAX_KEY:
        return key
    # Case folding can lengthen a name (ß -> ss); a digest keeps the key in its
    # column while two spellings of one long name still share it.
    return "#" + hashlib.sha256(key.encode()).hexdigest()[: MAX_KEY - 1]
