"""The organization rules of the policy module, as tables of (actor, target, situation) -> decision."""

from __future__ import annotations

import pytest

from parta import policy
from parta.policy import OrgRole as R

ADMIN, ADD, TEACHER, STUDENT, PARENT, STAFF = (
    R.admin,
    R.additional_admin,
    R.teacher,
    R.student,
    R.parent,
    R.staff,
)


@pytest.mark.parametrize(
    ("actor", "current", "new", "expected"),
    [
        (ADMIN, TEACHER, ADD, "ok"),  # the admin appoints an additional admin
        (ADMIN, ADD, TEACHER, "ok"),  # ... and demotes one
        (ADMIN, TEACHER, ADMIN, "ok"),  # hands over
        (ADD, STUDENT, STAFF, "ok"),
        (ADD, TEACHER, ADD, "not_main_admin"),  # additional admins cannot make admins
        (ADD, ADD, TEACHER, "not_main_admin"),  # ... nor demote one
        (ADD, ADMIN, TEACHER, "not_main_admin"),
        (TEACHER, STUDENT, PARENT, "not_org_admin"),
        (PARENT, STUDENT, PARENT, "not_org_admin"),
        (None, STUDENT, PARENT, "not_member"),
    ],
)
def test_who_may_change_a_role(actor: R | None, current: R, new: R, expected: str) -> None:
    decision = policy.can_set_org_role(actor, current=current, new=new, is_self=False)
    assert decision.reason == expected
    assert decision.allowed is (expected == "ok")


def test_nobody_changes_their_own_role() -> None:
    assert policy.can_set_org_role(ADMIN, current=ADMIN, new=TEACHER, is_self=True).reason == "own_role"


@pytest.mark.parametrize(
    ("actor", "target", "expected"),
    [
        (ADMIN, ADMIN, True),
        (ADMIN, ADD, True),
        (ADD, TEACHER, True),
        (ADD, PARENT, True),
        (ADD, ADD, False),
        (ADD, ADMIN, False),
        (TEACHER, STUDENT, False),
        (STUDENT, STUDENT, False),
        (None, STUDENT, False),
    ],
)
def test_who_may_remove_whom(actor: R | None, target: R, expected: bool) -> None:
    assert policy.can_remove_org_member(actor, target).allowed is expected


@pytest.mark.parametrize(
    ("role", "other_admins", "expected"),
    [(ADMIN, 0, False), (ADMIN, 1, True), (ADD, 0, True), (TEACHER, 0, True), (PARENT, 0, True)],
)
def test_the_last_admin_cannot_leave(role: R, other_admins: int, expected: bool) -> None:
    assert policy.can_leave_org(role, other_admins=other_admins).allowed is expected


# (actor, target, same_class, is_related, teaches_actor_class) -> may see
DIRECTORY = [
    (ADMIN, STUDENT, False, False, False, True),
    (TEACHER, PARENT, False, False, False, True),
    (STAFF, STUDENT, False, False, False, True),
    (PARENT, STUDENT, False, True, False, True),  # own child
    (PARENT, STUDENT, True, False, False, False),  # a classmate of the child: no
    (PARENT, PARENT, True, False, False, True),  # another parent of the class
    (PARENT, PARENT, False, False, False, False),
    (PARENT, TEACHER, False, False, True, True),  # the child's teacher
    (PARENT, TEACHER, False, False, False, False),  # another class's teacher
    (PARENT, ADMIN, False, False, False, True),  # the school's administration
    (STUDENT, STUDENT, True, False, False, True),  # classmate
    (STUDENT, STUDENT, False, False, False, False),
    (STUDENT, PARENT, True, False, False, False),  # classmates' parents: no
    (STUDENT, PARENT, False, True, False, True),  # own parent
    (STUDENT, TEACHER, False, False, True, True),
    (None, TEACHER, False, False, False, False),
]


@pytest.mark.parametrize(("actor", "target", "same_class", "related", "teaches", "expected"), DIRECTORY)
def test_directory_visibility(
    actor: R | None, target: R, same_class: bool, related: bool, teaches: bool, expected: bool
) -> None:
    decision = policy.can_see_org_member(
        actor, target, same_class=same_class, is_related=related, teaches_actor_class=teaches
    )
    assert decision.allowed is expected, decision


@pytest.mark.parametrize(("role", "expected"), [(ADMIN, True), (ADD, True), (TEACHER, False), (None, False)])
def test_only_admins_see_phone_numbers(role: R | None, expected: bool) -> None:
    assert policy.can_see_phone(role).allowed is expected


def test_only_operators_verify() -> None:
    assert policy.can_verify_org(is_operator=True).allowed
    assert policy.can_verify_org(is_operator=False).reason == "not_operator"


def test_managed_chats_refuse_manual_membership() -> None:
    assert policy.can_change_managed_chat_members(is_managed=True).reason == "managed_chat"
    assert policy.can_change_managed_chat_members(is_managed=False).allowed
