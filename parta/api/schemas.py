"""Response shapes documented in OpenAPI. Optional fields are omitted when empty."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class UserPublic(BaseModel):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    avatar_file_id: int | None = None
    is_masked: bool | None = Field(
        None, description="a child in safe mode, seen from outside their circle: no name, no avatar"
    )
    school: str | None = Field(None, description="masked children: the school they study at")


class Me(BaseModel):
    id: int
    phone: str
    first_name: str
    last_name: str
    birth_date: str | None = None
    avatar_file_id: int | None = None
    is_profile_complete: bool
    created_at: str


class FileInfo(BaseModel):
    id: int
    name: str
    mime_type: str
    size: int
    width: int | None = None
    height: int | None = None
    has_thumbnail: bool | None = None


class LegacyAuthor(BaseModel):
    name: str


class MessageOut(BaseModel):
    id: int
    chat_id: int
    sender_id: int | None = None
    client_msg_id: str | None = None
    text: str | None = None
    created_at: str
    edited_at: str | None = None
    is_edited: bool | None = None
    is_deleted: bool | None = None
    reply_to: int | None = None
    forward_from_user_id: int | None = Field(None, description="absent for a child's message in safe mode")
    is_forwarded: bool | None = None
    mention_ids: list[int] | None = None
    is_pinned: bool | None = None
    reactions: dict[str, list[int]] | None = Field(None, description="emoji -> user ids")
    file: FileInfo | None = None
    read_by: int | None = Field(None, description="own messages: members (not you) who read it")
    sender_badge: str | None = Field(
        None, description="`teacher`: the sender teaches at the chat's verified organization"
    )
    is_imported: bool | None = Field(None, description="imported from a legacy messenger's history")
    legacy_author: LegacyAuthor | None = Field(
        None, description="imported messages whose author is no Parta user (`sender_id` absent)"
    )


class ChatOut(BaseModel):
    id: int
    kind: str
    title: str
    role: str
    member_count: int
    unread_count: int
    last_read_message_id: int
    last_activity_at: str
    created_at: str
    description: str | None = None
    avatar_file_id: int | None = None
    last_message: MessageOut | None = None
    peer: UserPublic | None = None
    is_archived: bool | None = Field(None, description="read-only: no sending, edits, reactions, joins")
    archive_at: str | None = Field(None, description="when the chat becomes (or became) read-only")
    archived_at: str | None = None
    successor_chat_id: int | None = Field(None, description="the chat where the conversation continues")
    org_id: int | None = Field(None, description="the organization whose class or group this chat follows")
    class_id: int | None = None
    purpose: str | None = Field(None, description="class | parents | group: members follow the organization")


class ChatList(BaseModel):
    chats: list[ChatOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; absent at the end")


class MemberOut(UserPublic):
    role: str
    badge: str | None = Field(None, description="`teacher`: teaches at the chat's verified organization")


class MemberList(BaseModel):
    members: list[MemberOut]


class MessagePage(BaseModel):
    messages: list[MessageOut]
    has_more: bool


class EventOut(BaseModel):
    id: int
    type: str
    at: str
    chat_id: int | None = None
    data: dict[str, Any]


class SyncOut(BaseModel):
    events: list[EventOut]
    next: int = Field(description="pass as `since` in the next call")
    has_more: bool = False
    reset: bool = Field(
        False, description="true: too far behind; refetch chats and messages, then sync from `next`"
    )


class SessionOut(BaseModel):
    id: int
    device_name: str
    created_at: str
    last_seen_at: str
    is_current: bool


class SessionList(BaseModel):
    sessions: list[SessionOut]
