"""The organization rules of the policy module, as tables of (actor, target, situation) -> decision."""

from __future__ import annotations

import pytest

from parta import policy
from parta.policy import ChatKind, ChatRole
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


# (actor, is_own_link) -> reason; "ok" links at once, "request" waits for an admin
LINKING = [
    (ADMIN, False, "ok"),
    (ADMIN, True, "ok"),  # an admin who is a parent too links themself at once
    (ADD, False, "ok"),
    (PARENT, True, "request"),
    (TEACHER, True, "request"),  # a teacher can be a parent too
    (STAFF, True, "request"),
    (STUDENT, True, "student"),  # children link nobody
    (PARENT, False, "not_org_admin"),  # nobody links someone else as a parent
    (TEACHER, False, "not_org_admin"),
    (STUDENT, False, "not_org_admin"),
    (None, True, "not_member"),
    (None, False, "not_member"),
]


@pytest.mark.parametrize(("actor", "is_own", "expected"), LINKING)
def test_who_may_link_a_parent(actor: R | None, is_own: bool, expected: str) -> None:
    decision = policy.can_link_parent(actor, is_own_link=is_own)
    assert decision.reason == expected
    assert decision.allowed is (expected in ("ok", "request"))


@pytest.mark.parametrize(
    ("actor", "is_own", "expected"),
    [
        (ADMIN, False, "ok"),
        (ADD, False, "ok"),
        (ADD, True, "ok"),
        (PARENT, True, "own_link"),  # asked for or confirmed, their own link is theirs to drop
        (TEACHER, True, "own_link"),
        (PARENT, False, "not_org_admin"),
        (TEACHER, False, "not_org_admin"),
        (STUDENT, False, "not_org_admin"),
        (None, True, "not_member"),
    ],
)
def test_who_may_unlink_a_parent(actor: R | None, is_own: bool, expected: str) -> None:
    decision = policy.can_unlink_parent(actor, is_own_link=is_own)
    assert decision.reason == expected
    assert decision.allowed is (expected in ("ok", "own_link"))


# (kind, role, is_managed_title_change) -> reason
CHAT_EDITS = [
    (ChatKind.group, ChatRole.owner, False, "ok"),
    (ChatKind.group, ChatRole.admin, False, "ok"),  # a teacher: description and avatar of a class chat
    (ChatKind.channel, ChatRole.admin, False, "ok"),
    (ChatKind.group, ChatRole.admin, True, "managed_chat"),  # a class chat's title follows the class
    (ChatKind.group, ChatRole.owner, True, "managed_chat"),
    (ChatKind.group, ChatRole.member, False, "not_chat_admin"),
    (ChatKind.group, ChatRole.member, True, "not_chat_admin"),
    (ChatKind.direct, ChatRole.member, False, "direct_chat"),
]


@pytest.mark.parametrize(("kind", "role", "is_title_change", "expected"), CHAT_EDITS)
def test_who_may_edit_a_chat(kind: ChatKind, role: ChatRole, is_title_change: bool, expected: str) -> None:
    decision = policy.can_edit_chat(kind, role, is_managed_title_change=is_title_change)
    assert decision.reason == expected
    assert decision.allowed is (expected == "ok")
