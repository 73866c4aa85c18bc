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


def can_edit_chat(kind: ChatKind, role: ChatRole) -> Decision:
    """Title, description and avatar: owners and admins of groups and channels."""
    if kind is ChatKind.direct:
        return deny("direct_chat")
    return allow() if role in MANAGERS else deny("not_chat_admin")


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
    *, in_chat: bool, chat_role: ChatRole | None, is_user_avatar: bool, is_uploader: bool
) -> Decision:
    """May the actor download a file (or its thumbnail)?

    A chat's file is readable by the chat's members, whoever uploaded it: a
    forward gets its own file row in the target chat. A file in no chat is an
    avatar: public inside Parta while it is someone's avatar, otherwise (an
    avatar since replaced) only its uploader's.
    """
    if in_chat:
        return can_see_chat(chat_role)
    if is_user_avatar:
        return allow("avatar")
    return allow("uploader") if is_uploader else deny("not_shared")


def can_contact(*, actor_id: int, target_id: int) -> Decision:
    """May the actor start a direct chat with, or add, the target?

    Everyone may for now; safe mode for children (a later issue) narrows this
    here and nowhere else.
    """
    if actor_id == target_id:
        return deny("self")
    return allow()
