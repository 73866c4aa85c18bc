"""Safe mode and blocks as tables of pure decisions: ``policy.can_contact`` and the
rules built on it (calls, identity, direct chats, enrolling by phone), who may
switch safe mode, and the age arithmetic behind it.

The same rules are exercised through HTTP by ``test_safe_mode_matrix.py``;
here every combination of the facts is listed, so a change to the policy
shows up as a changed row.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from parta import policy, safety
from parta.clock import utcnow
from parta.db.tables import User
from parta.policy import Reach, Relation

ME, HIM = 1, 2
OK = "ok"


def reach(*, protected: bool = False, circle: bool = False, blocked: bool = False) -> Reach:
    return Reach(is_protected=protected, in_circle=circle, is_blocked=blocked)


def check(decision: policy.Decision, expected: str) -> None:
    assert decision.reason == expected
    assert decision.allowed is (expected == OK)


# (protected, in circle, blocked) -> reason of can_contact for someone else
CONTACT = [
    (False, False, False, OK),  # an adult or a teenager without safe mode: anyone may reach them
    (False, True, False, OK),
    (True, True, False, OK),  # a child in safe mode: their circle may
    (True, False, False, "safe_mode"),  # ... strangers may not
    (False, False, True, "blocked"),  # a block stops everyone, both ways
    (False, True, True, "blocked"),  # ... a blocked classmate too
    (True, True, True, "blocked"),  # ... and a blocked parent-approved contact
    (True, False, True, "blocked"),  # the block is named first (the reason is never shown to the stranger)
]


@pytest.mark.parametrize(("protected", "circle", "blocked", "expected"), CONTACT)
def test_who_may_contact_whom(protected: bool, circle: bool, blocked: bool, expected: str) -> None:
    facts = reach(protected=protected, circle=circle, blocked=blocked)
    check(policy.can_contact(actor_id=ME, target_id=HIM, reach=facts), expected)


@pytest.mark.parametrize(("protected", "circle", "blocked"), list(itertools.product((False, True), repeat=3)))
def test_nobody_contacts_themselves(protected: bool, circle: bool, blocked: bool) -> None:
    facts = reach(protected=protected, circle=circle, blocked=blocked)
    check(policy.can_contact(actor_id=ME, target_id=ME, reach=facts), "self")


# Calls have no API yet (a later issue); their rule is tested here as a table and
# must stay exactly the contact rule, including "not yourself".
@pytest.mark.parametrize(
    ("actor", "target", "protected", "circle", "blocked"),
    [(ME, t, *facts) for t in (ME, HIM) for facts in itertools.product((False, True), repeat=3)],
)
def test_calls_follow_the_contact_rule(
    actor: int, target: int, protected: bool, circle: bool, blocked: bool
) -> None:
    facts = reach(protected=protected, circle=circle, blocked=blocked)
    assert policy.can_call(actor_id=actor, target_id=target, reach=facts) == policy.can_contact(
        actor_id=actor, target_id=target, reach=facts
    )


@pytest.mark.parametrize(("protected", "circle", "blocked", "expected"), CONTACT)
def test_calls_table(protected: bool, circle: bool, blocked: bool, expected: str) -> None:
    facts = reach(protected=protected, circle=circle, blocked=blocked)
    check(policy.can_call(actor_id=ME, target_id=HIM, reach=facts), expected)


# (is self, protected, in circle, blocked) -> may see the name and avatar
IDENTITY = [
    (False, False, False, False, OK),  # not in safe mode: the full card
    (False, True, True, False, OK),  # the circle sees the child's name
    (False, True, False, False, "safe_mode"),  # a stranger in a shared chat: "a student of <school>"
    (True, True, False, False, OK),  # the child sees themselves
    # A block stops contact, not the card: a blocked classmate still sees the
    # classmate's name in the class chat, a blocked stranger still sees only "a student".
    (False, False, False, True, OK),
    (False, True, True, True, OK),
    (False, True, False, True, "safe_mode"),
]


@pytest.mark.parametrize(("is_self", "protected", "circle", "blocked", "expected"), IDENTITY)
def test_who_sees_a_childs_identity(
    is_self: bool, protected: bool, circle: bool, blocked: bool, expected: str
) -> None:
    facts = reach(protected=protected, circle=circle, blocked=blocked)
    check(policy.can_see_identity(is_self=is_self, reach=facts), expected)


# (protected, in circle, blocked) -> may post in an existing direct chat
DIRECT = [
    (False, False, False, OK),
    (True, True, False, OK),
    (True, False, False, "safe_mode"),  # a parent removed the contact, or a teacher left the school
    (False, False, True, "blocked"),
    (True, True, True, "blocked"),
]


@pytest.mark.parametrize(("protected", "circle", "blocked", "expected"), DIRECT)
def test_who_may_write_in_an_existing_direct_chat(
    protected: bool, circle: bool, blocked: bool, expected: str
) -> None:
    check(policy.can_post_to_direct(reach(protected=protected, circle=circle, blocked=blocked)), expected)


# (verified org, protected, in circle, blocked) -> may an org admin who typed the
# phone enroll that account at once (else it waits as a pending number)
ENROLL = [
    (True, True, False, False, OK),  # a verified school enrolls its students
    (True, False, False, False, OK),
    (False, False, False, False, OK),  # an unverified org: whoever strangers may reach anyway
    (False, True, False, False, "safe_mode"),  # ... but not a child in safe mode
    (False, True, True, False, OK),  # ... unless it is the child's circle already
    (True, False, False, True, "blocked"),  # nobody pulls in someone who blocked them
    (False, False, False, True, "blocked"),
]


@pytest.mark.parametrize(("verified", "protected", "circle", "blocked", "expected"), ENROLL)
def test_who_may_enroll_an_account_at_once(
    verified: bool, protected: bool, circle: bool, blocked: bool, expected: str
) -> None:
    facts = reach(protected=protected, circle=circle, blocked=blocked)
    check(policy.can_enroll(is_verified_org=verified, reach=facts), expected)


@pytest.mark.parametrize(("under_age", "expected"), [(True, "safe_mode_locked"), (False, OK)])
def test_a_child_cannot_age_out_of_safe_mode(under_age: bool, expected: str) -> None:
    check(policy.can_change_birth_date(is_under_age=under_age), expected)


S, P, SCHOOL, OTHER = Relation.self, Relation.parent, Relation.school, Relation.other
UNVERIFIED = Relation.unverified_school

# (who, turn on?, under 14?) -> reason
SAFE_MODE = [
    (S, True, False, OK),  # a teenager turns it on for themselves
    (S, True, True, OK),  # (already on by age; harmless)
    (S, False, False, "child_cannot_disable"),  # ... but cannot turn it off alone
    (S, False, True, "child_cannot_disable"),
    (P, True, False, OK),
    (P, True, True, OK),
    (P, False, False, OK),  # a parent turns it off for a 15-year-old
    (P, False, True, "under_age"),  # never below 14: safe mode by age is not a setting
    (SCHOOL, True, False, OK),
    (SCHOOL, True, True, OK),
    (SCHOOL, False, False, OK),
    (SCHOOL, False, True, "under_age"),
    (UNVERIFIED, True, False, OK),  # an unverified org may add protection...
    (UNVERIFIED, True, True, OK),
    (UNVERIFIED, False, False, "org_not_verified"),  # ... never take it away
    (UNVERIFIED, False, True, "org_not_verified"),
    (OTHER, True, False, "not_parent"),  # anyone else: neither on nor off
    (OTHER, True, True, "not_parent"),
    (OTHER, False, False, "not_parent"),
    (OTHER, False, True, "not_parent"),
]


def test_the_safe_mode_table_lists_every_case() -> None:
    listed = {(r, e, u) for r, e, u, _ in SAFE_MODE}
    assert listed == set(itertools.product(Relation, (True, False), (True, False)))


@pytest.mark.parametrize(("relation", "enable", "under_age", "expected"), SAFE_MODE)
def test_who_may_switch_safe_mode(relation: Relation, enable: bool, under_age: bool, expected: str) -> None:
    check(policy.can_set_safe_mode(relation, enable=enable, is_under_age=under_age), expected)


# --- Age and protection -----------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2012, 5, 10), date(2026, 5, 10), 14),  # the 14th birthday: 14 from the morning
        (date(2012, 5, 10), date(2026, 5, 9), 13),  # the day before
        (date(2012, 5, 10), date(2026, 5, 11), 14),
        (date(2012, 12, 31), date(2026, 1, 1), 13),  # a new year is not a birthday
        (date(2012, 1, 1), date(2025, 12, 31), 13),
        (date(2012, 1, 1), date(2026, 1, 1), 14),
        (date(2012, 2, 29), date(2026, 2, 28), 13),  # born on a leap day: in a common year
        (date(2012, 2, 29), date(2026, 3, 1), 14),  # ... the birthday counts from March 1
        (date(2012, 2, 29), date(2024, 2, 29), 12),  # in a leap year, on the day itself
        (date(2012, 2, 29), date(2024, 2, 28), 11),
        (date(2012, 5, 10), date(2012, 5, 10), 0),  # born today
    ],
)
def test_age_on_a_date(birth: date, today: date, age: int) -> None:
    assert safety.age_on(birth, today) == age


def user(birth: date | None = None, *, forced: bool = False) -> User:
    forced_at = datetime(2026, 1, 1, tzinfo=UTC) if forced else None
    return User(first_name="Аня", last_name="Петрова", birth_date=birth, safe_mode_forced_at=forced_at)


TODAY = date(2026, 5, 10)


@pytest.mark.parametrize(
    ("birth", "forced", "protected"),
    [
        (None, False, False),  # no birth date: an adult until someone says otherwise
        (None, True, True),  # ... unless a parent or the school turned safe mode on
        (date(2016, 9, 1), False, True),  # 9 years old
        (date(2012, 5, 11), False, True),  # 14 tomorrow: still protected today
        (date(2012, 5, 10), False, False),  # 14 today: out of safe mode by age
        (date(2012, 5, 10), True, True),  # ... unless it was turned on
        (date(1985, 3, 3), True, True),  # forced on works at any age
        (date(2012, 2, 29), False, False),  # leap-day child, 14 since March 1, 2026
    ],
)
def test_who_is_protected(birth: date | None, forced: bool, protected: bool) -> None:
    assert safety.is_protected(user(birth, forced=forced), TODAY) is protected
    assert safety.is_under_age(user(birth, forced=forced), TODAY) is (
        birth is not None and safety.age_on(birth, TODAY) < safety.SAFE_MODE_AGE
    )


def test_leap_day_child_is_protected_until_march_first_in_a_common_year() -> None:
    child = user(date(2012, 2, 29))
    assert safety.is_protected(child, date(2026, 2, 28)) is True
    assert safety.is_protected(child, date(2026, 3, 1)) is False


def test_protection_uses_todays_date_by_default() -> None:
    today = utcnow().date()
    fourteen_today = _years_before(today, 14)
    assert safety.is_protected(user(fourteen_today)) is False
    assert safety.is_protected(user(fourteen_today + timedelta(days=1))) is True


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # today is February 29: born on the 28th is 14, born on March 1 is not yet
        return date(day.year - years, 2, 28)
