"""JSON shapes of users, chats and messages: one renderer for the API, sync and push.

Payloads are compact: keys whose value is empty or default are left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from parta.clock import utcnow
from parta.db.tables import Chat, ChatMember, Message, StoredFile, User

Json = dict[str, Any]


def ts(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _compact(data: Json) -> Json:
    return {k: v for k, v in data.items() if v not in (None, False, [], {}, "")}


def user_card(user: User) -> Json:
    """A user's name and avatar (never the phone number), for viewers who may see them."""
    return _compact(
        {
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "avatar_file_id": user.avatar_file_id,
        }
    )


def _display_name(card: Json) -> str:
    return f"{card.get('first_name', '')} {card.get('last_name', '')}".strip()


def user_public(user: User) -> Json:
    """A user as anyone may see them: in events shared by a whole chat, in previews.

    A child in safe mode is masked here ("a student", no name, no avatar): such
    payloads reach people outside the child's circle. Viewers in the circle get
    the full card through per-viewer routes (``users.card_for``).
    """
    from parta.safety import is_protected

    if is_protected(user):
        return {"id": user.id, "first_name": MASKED_NAME, "is_masked": True}
    return user_card(user)


MASKED_NAME = "Ученик"


def user_private(user: User) -> Json:
    """What a user sees of themselves."""
    return {
        "id": user.id,
        "phone": user.phone,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "birth_date": user.birth_date.isoformat() if user.birth_date else None,
        "avatar_file_id": user.avatar_file_id,
        "is_profile_complete": user.is_profile_complete,
        "created_at": ts(user.created_at),
    }


def file_info(f: StoredFile) -> Json:
    return _compact(
        {
            "id": f.id,
            "name": f.name,
            "mime_type": f.mime_type,
            "size": f.size,
            "width": f.width,
            "height": f.height,
            "has_thumbnail": f.thumbnail_sha256 is not None,
        }
    )


def message(
    msg: Message,
    *,
    reactions: dict[str, list[int]] | None = None,
    file: StoredFile | None = None,
) -> Json:
    if msg.deleted_at is not None:
        return {
            "id": msg.id,
            "chat_id": msg.chat_id,
            "sender_id": msg.sender_id,
            "created_at": ts(msg.created_at),
            "is_deleted": True,
        }
    data = _compact(
        {
            "id": msg.id,
            "chat_id": msg.chat_id,
            "sender_id": msg.sender_id,
            "client_msg_id": msg.client_msg_id,
            "text": msg.text,
            "created_at": ts(msg.created_at),
            "edited_at": ts(msg.edited_at) if msg.edited_at else None,
            "is_edited": msg.edited_at is not None,
            "reply_to": msg.reply_to_id,
            "forward_from_user_id": msg.forward_from_user_id,
            "is_forwarded": msg.forward_from_chat_id is not None,
            "mention_ids": msg.mention_ids,
            "is_pinned": msg.pinned_at is not None,
            "reactions": reactions,
            "is_imported": msg.imported_at is not None,
        }
    )
    if file is not None:
        data["file"] = file_info(file)
    if msg.legacy_author_name is not None:
        # An imported message whose author is no Parta user: only their name is known.
        data["legacy_author"] = {"name": msg.legacy_author_name}
    return data


def chat(
    c: Chat,
    *,
    member: ChatMember,
    member_count: int,
    last_message: Json | None = None,
    unread_count: int = 0,
    peer: Json | None = None,
) -> Json:
    data: Json = {
        "id": c.id,
        "kind": c.kind,
        "title": c.title if c.kind != "direct" or peer is None else _display_name(peer),
        "role": member.role,
        "member_count": member_count,
        "unread_count": unread_count,
        "last_read_message_id": member.last_read_message_id,
        "last_activity_at": ts(c.last_activity_at),
        "created_at": ts(c.created_at),
    }
    extra = _compact(
        {
            "description": c.description,
            "avatar_file_id": c.avatar_file_id,
            "last_message": last_message,
            "peer": peer,
            # Past its scheduled moment counts as archived before the scheduler runs.
            "is_archived": c.archived_at is not None
            or (c.archive_at is not None and c.archive_at <= utcnow()),
            "archive_at": ts(c.archive_at) if c.archive_at else None,
            "archived_at": ts(c.archived_at) if c.archived_at else None,
            "successor_chat_id": c.successor_chat_id,
            "org_id": c.org_id,
            "class_id": c.class_group_id,
            "purpose": c.purpose,
        }
    )
    return data | extra
