"""The only place that answers "may A do X here?".

Pure functions over plain values; each returns a ``Decision`` with a reason
code. Callers turn a denial into ``forbidden`` (or into ``*_not_found`` when
the actor must not even learn that the thing exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChatKind(StrEnum):
    direct = "direct"
    group = "group"
    channel = "channel"


class ChatRole(StrEnum):
    owner = "owner"
    admin = "admin"
    member = "member"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def allow(reason: str = "ok") -> Decision:
    return Decision(True, reason)


def deny(reason: str) -> Decision:
    return Decision(False, reason)


MANAGERS = (ChatRole.owner, ChatRole.admin)


def can_chat(*, is_profile_complete: bool) -> Decision:
    """A user must give a first and last name before writing to anyone."""
    return allow() if is_profile_complete else deny("profile_incomplete")


def can_see_chat(role: ChatRole | None) -> Decision:
    """Only members see a chat, its messages, files and members."""
    return allow() if role is not None else deny("not_member")


def can_post(kind: ChatKind, role: ChatRole, *, is_archived: bool) -> Decision:
    if is_archived:
        return deny("chat_archived")
    if kind is ChatKind.channel and role not in MANAGERS:
        return deny("channel_read_only")
    return allow()


def can_see_readers(*, actor_id: int, sender_id: int | None) -> Decision:
    """Who read a message: its author only ("read by 3 of 12" is the author's view;
    others learn nothing about who reads what)."""
    return allow() if sender_id is not None and actor_id == sender_id else deny("not_author")


def can_edit_message(*, actor_id: int, sender_id: int | None, is_deleted: bool) -> Decision:
    """Only the author edits a message; a deleted one cannot be edited."""
    if is_deleted:
        return deny("message_deleted")
    return allow() if actor_id == sender_id else deny("not_author")


def can_delete_message(kind: ChatKind, role: ChatRole, *, actor_id: int, sender_id: int | None) -> Decision:
    """Authors delete their own messages; owners and admins moderate groups and channels."""
    if actor_id == sender_id:
        return allow("author")
    if kind is not ChatKind.direct and role in MANAGERS:
        return allow("moderator")
    return deny("not_author")


def can_pin(kind: ChatKind, role: ChatRole) -> Decision:
    if kind is ChatKind.direct or role in MANAGERS:
        return allow()
    return deny("not_chat_admin")


def can_edit_chat(kind: ChatKind, role: ChatRole, *, is_managed_title_change: bool) -> Decision:
    """Title, description and avatar: owners and admins of groups and channels.

    A class, parents' or group chat takes its title from its class's name
    (renaming the class renames the chats), so nobody retitles one by hand
    (``is_managed_title_change``); its teachers, the chat's admins, still change
    its description and avatar.
    """
    if kind is ChatKind.direct:
        return deny("direct_chat")
    if role not in MANAGERS:
        return deny("not_chat_admin")
    return deny("managed_chat") if is_managed_title_change else allow()


def can_add_members(kind: ChatKind, role: ChatRole) -> Decision:
    if kind is ChatKind.direct:
        return deny("direct_chat")
    return allow() if role in MANAGERS else deny("not_chat_admin")


def can_remove_member(
    kind: ChatKind, actor_role: ChatRole, target_role: ChatRole, *, is_self: bool
) -> Decision:
    """Removing others: the owner removes anyone, admins remove plain members.

    Leaving (``is_self``) is always allowed except for the owner, who would
    leave the chat without anyone able to manage it; the owner hands over first.
    """
    if kind is ChatKind.direct:
        return deny("direct_chat")
    if is_self:
        return deny("owner_cannot_leave") if actor_role is ChatRole.owner else allow("leave")
    if actor_role is ChatRole.owner:
        return allow()
    if actor_role is ChatRole.admin and target_role is ChatRole.member:
        return allow()
    return deny("not_chat_admin")


def can_set_member_role(kind: ChatKind, actor_role: ChatRole, new_role: ChatRole) -> Decision:
    """Only the owner appoints or demotes admins; ownership is not transferable this way."""
    if kind is ChatKind.direct:
        return deny("direct_chat")
    if new_role is ChatRole.owner:
        return deny("owner_not_assignable")
    return allow() if actor_role is ChatRole.owner else deny("not_chat_owner")


def can_manage_invites(kind: ChatKind, role: ChatRole) -> Decision:
    if kind is ChatKind.direct:
        return deny("direct_chat")
    return allow() if role in MANAGERS else deny("not_chat_admin")


def can_join_by_invite(
    *, is_member: bool, is_revoked: bool, is_expired: bool, is_exhausted: bool
) -> Decision:
    """May someone preview or join a chat through an invite link?

    A revoked link is gone for everyone. A member who opens a still-existing
    link just lands in the chat and uses nothing up, so a retried join (the
    answer was lost) succeeds even when the first try used up a one-time link.
    """
    if is_revoked:
        return deny("revoked")
    if is_member:
        return allow("already_member")
    if is_expired:
        return deny("expired")
    if is_exhausted:
        return deny("exhausted")
    return allow()


def can_read_file(
    *,
    in_chat: bool,
    chat_role: ChatRole | None,
    is_sent: bool,
    is_user_avatar: bool,
    is_org_logo: bool = False,
    is_uploader: bool,
) -> Decision:
    """May the actor download a file (or its thumbnail)?

    A chat's file is readable by the chat's members once a message carries it
    (``is_sent``), whoever uploaded it: a forward gets its own file row in the
    target chat. Until then it is its uploader's alone: an upload picked by
    mistake and never sent is shown to nobody. A file in no chat is an avatar:
    public inside Parta while it is someone's avatar, otherwise (an avatar since
    replaced) only its uploader's. An organization's logo is public inside
    Parta like an avatar.
    """
    if in_chat:
        seen = can_see_chat(chat_role)
        if not seen:
            return seen
        return allow() if is_sent or is_uploader else deny("not_sent")
    if is_user_avatar:
        return allow("avatar")
    if is_org_logo:
        return allow("org_logo")
    return allow("uploader") if is_uploader else deny("not_shared")


def can_attach_file(*, is_uploader: bool, is_sent: bool) -> Decision:
    """Send a message carrying a file of the chat: one's own upload, or a file the chat
    already shows. Someone else's unsent upload is not theirs to reveal."""
    return allow() if is_uploader or is_sent else deny("not_sent")


# Safe mode and blocks ---------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """Facts about one person reaching another (gathered by ``parta.safety.reach``)."""

    is_protected: bool  # the target is a child in safe mode
    in_circle: bool  # the actor is in the target's circle (school staff, classmates, parents, approved)
    is_blocked: bool  # either of the two blocked the other


def can_contact(*, actor_id: int, target_id: int, reach: Reach) -> Decision:
    """May the actor find (by phone), start a direct chat with, add, mention or call the target?

    A block stops everything, both ways. A child in safe mode is reachable only
    by their circle. Callers answer a denial exactly as "no such user", so a
    stranger cannot learn that a number belongs to a child, or that they were blocked.
    """
    if actor_id == target_id:
        return deny("self")
    if reach.is_blocked:
        return deny("blocked")
    if reach.is_protected and not reach.in_circle:
        return deny("safe_mode")
    return allow()


def can_call(*, actor_id: int, target_id: int, reach: Reach) -> Decision:
    """Calls (a later issue) follow exactly the contact rule."""
    return can_contact(actor_id=actor_id, target_id=target_id, reach=reach)


def can_see_identity(*, is_self: bool, reach: Reach) -> Decision:
    """Name and avatar of a child in safe mode: only for the child's circle.

    Anyone else who shares a chat with the child (a club chat joined by link)
    sees only "a student of <school>".
    """
    if is_self or not reach.is_protected or reach.in_circle:
        return allow()
    return deny("safe_mode")


def can_post_to_direct(reach: Reach) -> Decision:
    """In an existing direct chat: a block, or a child's parent removing the
    contact, stops new messages (the history stays)."""
    if reach.is_blocked:
        return deny("blocked")
    if reach.is_protected and not reach.in_circle:
        return deny("safe_mode")
    return allow()


def can_enroll(*, is_verified_org: bool, reach: Reach) -> Decision:
    """May an org admin who typed a phone number put that account into the org at once?

    A verified school may: an operator checked it, and enrolling its students is
    its job. An unverified org ("anyone can make a school") may not pull a child
    in safe mode, or someone who blocked the admin, into its chats: the
    membership then waits as if nobody had that number, and the admin cannot
    tell the difference.
    """
    if reach.is_blocked:
        return deny("blocked")
    if reach.is_protected and not reach.in_circle and not is_verified_org:
        return deny("safe_mode")
    return allow()


def can_change_birth_date(*, is_under_age: bool) -> Decision:
    """A child under 14 cannot age themselves out of safe mode; a parent or the school can."""
    return deny("safe_mode_locked") if is_under_age else allow()


class Relation(StrEnum):
    """How the actor relates to the child whose safe mode is being changed."""

    self = "self"
    parent = "parent"
    school = "school"  # an admin of a verified organization where the child studies
    unverified_school = "unverified_school"  # anyone can make an org and call it a school
    other = "other"


def can_set_safe_mode(relation: Relation, *, enable: bool, is_under_age: bool) -> Decision:
    """Turning safe mode on: the child, a parent or the school. Off: only a parent or
    a verified school, and never for a child under 14 (who is in safe mode by age).
    An unverified organization may add more protection, never take it away."""
    if relation is Relation.other:
        return deny("not_parent")
    if enable:
        return allow()
    if relation is Relation.unverified_school:
        return deny("org_not_verified")
    if relation is Relation.self:
        return deny("child_cannot_disable")
    if is_under_age:
        return deny("under_age")
    return allow()


# Organizations --------------------------------------------------------------


class OrgKind(StrEnum):
    school = "school"
    kindergarten = "kindergarten"
    college = "college"  # SPO: secondary vocational education
    extracurricular = "extracurricular"
    authority = "authority"  # an education authority, parent of other organizations


class OrgRole(StrEnum):
    admin = "admin"
    additional_admin = "additional_admin"
    teacher = "teacher"
    student = "student"
    parent = "parent"
    staff = "staff"


ORG_ADMINS = (OrgRole.admin, OrgRole.additional_admin)
ADMIN_ROLES = frozenset(ORG_ADMINS)
# Roles that teach or work at the organization: they see the whole directory.
STAFF_ROLES = frozenset((OrgRole.admin, OrgRole.additional_admin, OrgRole.teacher, OrgRole.staff))


def can_see_org(role: OrgRole | None, *, is_operator: bool) -> Decision:
    """Members see their organization; operators see every organization."""
    if role is not None:
        return allow()
    return allow("operator") if is_operator else deny("not_member")


def can_manage_org(role: OrgRole | None) -> Decision:
    """Org info, classes, groups, invites, join requests, members: admins and additional admins."""
    if role is None:
        return deny("not_member")
    return allow() if role in ADMIN_ROLES else deny("not_org_admin")


def can_verify_org(*, is_operator: bool) -> Decision:
    """Only an operator verifies an organization (the badge parents trust)."""
    return allow() if is_operator else deny("not_operator")


def can_set_org_role(actor: OrgRole | None, *, current: OrgRole, new: OrgRole, is_self: bool) -> Decision:
    """Change a member's role.

    Additional admins do everything but touch admins: they may not appoint or
    demote an admin or an additional admin, nor make one. Only the admin does.
    Nobody changes their own role (an admin hands over by appointing another
    admin first, then leaves or is demoted by them).
    """
    managing = can_manage_org(actor)
    if not managing:
        return managing
    if is_self:
        return deny("own_role")
    if actor is OrgRole.admin:
        return allow()
    if current in ADMIN_ROLES or new in ADMIN_ROLES:
        return deny("not_main_admin")
    return allow()


def can_remove_org_member(actor: OrgRole | None, target: OrgRole) -> Decision:
    """Remove someone else: admins remove anyone, additional admins anyone but admins."""
    managing = can_manage_org(actor)
    if not managing:
        return managing
    if target in ADMIN_ROLES and actor is not OrgRole.admin:
        return deny("not_main_admin")
    return allow()


def can_leave_org(role: OrgRole, *, other_admins: int) -> Decision:
    """Anyone may leave, except the last admin: the school would be left unmanaged."""
    if role is OrgRole.admin and other_admins == 0:
        return deny("last_admin")
    return allow()


def can_see_org_member(
    actor: OrgRole | None,
    target: OrgRole,
    *,
    same_class: bool,
    is_related: bool,
    teaches_actor_class: bool,
) -> Decision:
    """The directory: who sees whom inside an organization.

    Admins, teachers and staff see everyone. Parents see their children, the
    teachers of their children's classes and the other parents of those
    classes. Students see their classmates and their class's teachers.
    ``same_class`` means the two share a class (for a parent: one of the
    children's classes); ``is_related`` a parent link between them.
    """
    if actor is None:
        return deny("not_member")
    if actor in STAFF_ROLES:
        return allow()
    if is_related:
        return allow("family")
    if target in (OrgRole.teacher,) and teaches_actor_class:
        return allow("class_teacher")
    if target in ADMIN_ROLES:
        return allow("school_admin")
    if actor is OrgRole.parent and target is OrgRole.parent and same_class:
        return allow("class_parent")
    if actor is OrgRole.student and target is OrgRole.student and same_class:
        return allow("classmate")
    return deny("not_in_circle")


def can_link_parent(actor: OrgRole | None, *, is_own_link: bool) -> Decision:
    """Link a parent to a child.

    Admins link anyone, and the link counts at once. Any other adult member
    may ask to be linked as the parent themself (``request``); the link waits
    for an admin. Students link nobody, and nobody links someone else as a parent.
    """
    managing = can_manage_org(actor)
    if managing or actor is None or not is_own_link:
        return managing
    return deny("student") if actor is OrgRole.student else allow("request")


def can_unlink_parent(actor: OrgRole | None, *, is_own_link: bool) -> Decision:
    """Admins remove any parent link; a parent removes their own (asked for or confirmed)."""
    managing = can_manage_org(actor)
    if managing or actor is None or not is_own_link:
        return managing
    return allow("own_link")


def can_import_history(actor: OrgRole | None, *, chat_org_id: int | None, org_id: int) -> Decision:
    """Import a legacy chat's history: the org's admins, into a chat of that org only
    (a class chat or an archive chat the import creates), never into anyone's own group."""
    managing = can_manage_org(actor)
    if not managing:
        return managing
    return allow() if chat_org_id == org_id else deny("chat_not_in_org")


def can_see_phone(actor: OrgRole | None) -> Decision:
    """Phone numbers in the directory: admins only."""
    return allow() if actor in ADMIN_ROLES else deny("not_org_admin")


def staff_chat_role(role: OrgRole) -> ChatRole | None:
    """The staff chat's place for a member of this role, or None.

    Everyone who works at the organization is in it and its admins run it;
    students and parents never are: the staff talk about children there.
    """
    if role in ADMIN_ROLES:
        return ChatRole.admin
    return ChatRole.member if role in STAFF_ROLES else None


def can_change_managed_chat_members(*, is_managed: bool) -> Decision:
    """Class, parents', group and staff chats follow the organization: nobody adds,
    removes or leaves them by hand (change the class instead)."""
    return deny("managed_chat") if is_managed else allow()


# Archiving and migration waves ----------------------------------------------


def can_archive_chat(kind: ChatKind, role: ChatRole | None, *, is_org_admin: bool) -> Decision:
    """Schedule, cancel or apply a chat's archiving: the chat's owner and admins,
    or the admins of the organization the chat belongs to (class and parents'
    chats are closed by the school at the end of a move, whoever their members)."""
    if is_org_admin:
        return allow("org_admin")
    if kind is ChatKind.direct:
        return deny("direct_chat")
    return allow() if role in MANAGERS else deny("not_chat_admin")


def can_change_archived_chat(*, is_archived: bool) -> Decision:
    """An archived chat is read-only for everyone: no messages, edits, reactions,
    pins, new members or joins by link. Reading and search keep working."""
    return deny("chat_archived") if is_archived else allow()


def can_plan_waves(*, is_operator: bool) -> Decision:
    """Migration waves, their progress and reminders: operators only."""
    return allow() if is_operator else deny("not_operator")


def can_see_migration_report(org_role: OrgRole | None, chat_role: ChatRole | None) -> Decision:
    """Who has not moved into a migrated chat yet: the org's admins, and the chat's own
    owner and admins (often the teacher who ran the old chat and can chase people)."""
    if org_role in ADMIN_ROLES:
        return allow()
    if chat_role in MANAGERS:
        return allow("chat_manager")
    return deny("not_org_admin")


# School years: rollover and transfers ---------------------------------------


def can_roll_over(actor: OrgRole | None, *, has_grades: bool) -> Decision:
    """Plan, preview, run and undo the yearly rollover: the org's admins, and only
    where classes have grades to move (schools, colleges; not kindergartens or
    extra-curricular centres, whose groups are free-form)."""
    managing = can_manage_org(actor)
    if not managing:
        return managing
    return allow() if has_grades else deny("no_grades")


def can_run_rollover(status: str) -> Decision:
    """Only a planned rollover runs (or is cancelled); it runs once."""
    return allow() if status == "planned" else deny("rollover_not_planned")


def can_undo_rollover(status: str, *, within_grace: bool) -> Decision:
    """A finished rollover may be undone until its grace period ends, once."""
    if status != "done":
        return deny("rollover_not_done")
    return allow() if within_grace else deny("undo_expired")


def can_transfer_to_org(*, is_target_verified: bool, is_same_org: bool) -> Decision:
    """A student moves to another school only if that school is verified: an
    unverified org ("anyone can make a school") must not receive a child."""
    if is_same_org:
        return deny("same_org")
    return allow() if is_target_verified else deny("org_not_verified")
