"""Tables. The schema itself is made only by Alembic migrations (db/migrations)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from parta.db.types import BigId, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    first_name: Mapped[str] = mapped_column(String(64), default="")
    last_name: Mapped[str] = mapped_column(String(64), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    avatar_file_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Safe mode turned on by a parent or the school (children under 14 are in it
    # by their birth date anyway). Only a parent or the school turns it off.
    safe_mode_forced_at: Mapped[datetime | None]
    safe_mode_forced_by: Mapped[int | None] = mapped_column(BigInteger)
    # Suspended by an operator after a report: cannot sign in or use sessions.
    suspended_at: Mapped[datetime | None]

    @property
    def is_profile_complete(self) -> bool:
        return bool(self.first_name and self.last_name)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class LoginCode(Base):
    """A one-time sign-in code; only its keyed hash is stored."""

    __tablename__ = "login_codes"
    __table_args__ = (
        Index("ix_login_codes_phone_created", "phone", "created_at"),
        Index("ix_login_codes_ip_created", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Session(Base):
    """One signed-in device. The bearer token is shown once; only its hash is kept."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_name: Mapped[str] = mapped_column(String(128), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (
        # One staff chat per organization (parta/orgs/staffchat.py).
        Index(
            "uq_chats_org_staff",
            "org_id",
            unique=True,
            sqlite_where=text("purpose = 'staff'"),
            postgresql_where=text("purpose = 'staff'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # direct | group | channel
    title: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(String(1024), default="")
    avatar_file_id: Mapped[int | None] = mapped_column(BigInteger)
    # "<low user id>:<high user id>" for direct chats: one chat per pair, by constraint.
    direct_key: Mapped[str | None] = mapped_column(String(48), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    last_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_activity_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]
    # Chats an organization keeps in sync with its classes and groups
    # ("class", "parents", "group") and its staff ("staff"); their members
    # follow the org, not invites.
    # No foreign key: SQLite cannot add one to an existing table without copying it.
    org_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    class_group_id: Mapped[int | None] = mapped_column(BigInteger)
    purpose: Mapped[str | None] = mapped_column(String(16))
    # Scheduled archiving (parta/archiving.py): from ``archive_at`` on the chat is
    # read-only; ``archived_at`` is set once, by whichever process claims it first.
    archive_at: Mapped[datetime | None] = mapped_column(index=True)
    archive_by: Mapped[int | None] = mapped_column(BigInteger)
    successor_chat_id: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def is_managed(self) -> bool:
        return self.purpose is not None


class ChatMember(Base):
    __tablename__ = "chat_members"
    __table_args__ = (Index("ix_chat_members_user", "user_id", "chat_id"),)

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # owner | admin | member
    joined_at: Mapped[datetime]
    # The member sees chat events after this log position only (not history of
    # membership changes from before they joined).
    since_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_read_message_id: Mapped[int] = mapped_column(BigInteger, default=0)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("sender_id", "client_msg_id", name="uq_messages_sender_client_msg"),
        Index("ix_messages_chat_id_id", "chat_id", "id"),
        # One row per legacy message per chat: a re-run of a history import adds nothing.
        Index("uq_messages_chat_import_key", "chat_id", "import_key", unique=True),
        # Is this file sent in this chat (who may download it), and SET NULL when a file
        # row is deleted: without it both scan the chat's or all messages.
        Index(
            "ix_messages_file_id",
            "file_id",
            sqlite_where=text("file_id IS NOT NULL"),
            postgresql_where=text("file_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_msg_id: Mapped[str] = mapped_column(String(64))
    # None once deleted: the text is gone from the database, the row stays as a tombstone.
    text: Mapped[str | None] = mapped_column(Text)
    reply_to_id: Mapped[int | None] = mapped_column(BigInteger)
    forward_from_user_id: Mapped[int | None] = mapped_column(BigInteger)
    forward_from_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    mention_ids: Mapped[list[int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    pinned_at: Mapped[datetime | None]
    pinned_by: Mapped[int | None] = mapped_column(BigInteger)
    # History imported from a legacy messenger (parta/migration/history): the legacy
    # message's key, when it was imported (``created_at`` keeps the original date),
    # and the author's name when no Parta user was matched (``sender_id`` is then empty).
    import_key: Mapped[str | None] = mapped_column(String(128))
    imported_at: Mapped[datetime | None]
    legacy_author_name: Mapped[str | None] = mapped_column(String(128))


class Reaction(Base):
    __tablename__ = "reactions"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime]


class StoredFile(Base):
    """An upload, stored content-addressed on disk; readable by members of its chat."""

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    thumbnail_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ChatInvite(Base):
    """An invite link to a group or channel; the token is stored hashed."""

    __tablename__ = "chat_invites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None]


class Event(Base):
    """The event log: one row per change a client must learn about.

    ``id`` is the global log position. Exactly one of ``chat_id`` (everyone in
    the chat sees it) and ``user_id`` (only that user's devices) is set.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_chat_id_id", "chat_id", "id"),
        Index("ix_events_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(48))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    # Message events carry no text: they are rendered from the message's current
    # state, so edits and deletions reach the log without rewriting it.
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class Organization(Base):
    """A school, kindergarten, college, extra-curricular centre or education authority."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    # Education authorities have child organizations: region -> municipality -> school.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    region: Mapped[str] = mapped_column(String(2))  # federal subject code, "01".."95"
    municipality: Mapped[str] = mapped_column(String(128), default="")
    full_name: Mapped[str] = mapped_column(String(255))
    short_name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(255), default="")
    inn: Mapped[str | None] = mapped_column(String(12))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    logo_file_id: Mapped[int | None] = mapped_column(BigInteger)
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(128), default="")
    website: Mapped[str] = mapped_column(String(255), default="")
    # IANA name; None: derived from the region (parta/orgs/timezones.py).
    timezone: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class Operator(Base):
    """A regional operator: verifies organizations. Made only by ``parta admin create-operator``."""

    __tablename__ = "operators"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime]


class OrgMember(Base):
    """A person's membership in an organization, with one role.

    A membership added by phone for someone who has no account yet is
    ``pending``: ``user_id`` is empty and ``phone`` waits for the first sign-in
    with that number, which activates it.
    """

    __tablename__ = "org_members"
    __table_args__ = (
        UniqueConstraint("org_id", "user_id", name="uq_org_members_org_user"),
        UniqueConstraint("org_id", "phone", name="uq_org_members_org_phone"),
        Index("ix_org_members_user", "user_id"),
        Index("ix_org_members_phone", "phone"),
        Index("ix_org_members_class", "class_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    phone: Mapped[str | None] = mapped_column(String(20))  # pending memberships only
    name: Mapped[str] = mapped_column(String(128), default="")  # as the admin typed it (pending)
    role: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))  # active | pending
    class_id: Mapped[int | None] = mapped_column(BigInteger)  # a student's class
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    joined_at: Mapped[datetime | None]


class ClassGroup(Base):
    """A class ("5А": grade and letter), a free-form group (a club, a subject) or a
    kindergarten's preschool group (free-form name, only a parents' chat)."""

    __tablename__ = "class_groups"
    __table_args__ = (UniqueConstraint("org_id", "kind", "norm_key", name="uq_class_groups_org_kind_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # class | group | preschool
    name: Mapped[str] = mapped_column(String(64))
    # "5|А" for classes, the case-folded name for groups and preschool groups:
    # "5а", "5 А", "5-a" are one class.
    norm_key: Mapped[str] = mapped_column(String(64))
    grade: Mapped[int | None] = mapped_column(Integer)
    letter: Mapped[str | None] = mapped_column(String(8))
    homeroom_member_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # class chat / group chat
    parents_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    # Classes belong to a school year (parta/orgs/years.py); groups to none. A class
    # closed by the yearly rollover keeps its rows and its archived chats, and its
    # ``norm_key`` gets "@<year id>" so next year's class of that name can exist.
    year_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    closed_at: Mapped[datetime | None]


class ClassGroupMember(Base):
    """Teachers of a class or group, and the members of a group.

    Students belong to their class through ``OrgMember.class_id`` (one class
    each); a group's members are rows here.
    """

    __tablename__ = "class_group_members"
    __table_args__ = (Index("ix_class_group_members_member", "member_id"),)

    class_id: Mapped[int] = mapped_column(ForeignKey("class_groups.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("org_members.id", ondelete="CASCADE"), primary_key=True)
    is_teacher: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class ParentLink(Base):
    """A parent and a child in one organization; it puts the parent into the parents' chat."""

    __tablename__ = "parent_links"
    __table_args__ = (Index("ix_parent_links_child", "child_member_id"),)

    parent_member_id: Mapped[int] = mapped_column(
        ForeignKey("org_members.id", ondelete="CASCADE"), primary_key=True
    )
    child_member_id: Mapped[int] = mapped_column(
        ForeignKey("org_members.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    # requested: the parent asked (an admin confirms); active: counts for the parents' chat.
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class OrgInvite(Base):
    """An invite link into an organization carrying the role (and class) the joiner gets."""

    __tablename__ = "org_invites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(24))
    class_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None]
    # Joining through the link makes a join request for an admin to decide.
    requires_approval: Mapped[bool] = mapped_column(default=False)


class JoinRequest(Base):
    """Someone asks to join an organization; an admin approves or declines with a reason."""

    __tablename__ = "join_requests"
    __table_args__ = (Index("ix_join_requests_org_status", "org_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    class_id: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(String(512), default="")
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | declined | cancelled
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what to whom, when: every admin action in an organization."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_org_id_id", "org_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # None: an operator's action outside any organization (moderation of a report).
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(48))
    target_user_id: Mapped[int | None] = mapped_column(BigInteger)
    target_member_id: Mapped[int | None] = mapped_column(BigInteger)
    class_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class ApprovedContact(Base):
    """Someone a parent allowed to reach their child in safe mode."""

    __tablename__ = "approved_contacts"

    child_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class Block(Base):
    """``blocker`` blocked ``blocked``: no messages, calls or adding, both ways."""

    __tablename__ = "blocks"
    __table_args__ = (Index("ix_blocks_blocked", "blocked_id", "blocker_id"),)

    blocker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    blocked_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime]


class Report(Base):
    """A report of a message or a user, in an org's moderation queue (or the operators')."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_org_status", "org_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_user_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # The org whose admins handle it; None: the operators' queue.
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(String(1024), default="")
    status: Mapped[str] = mapped_column(String(16))  # open | dismissed | actioned
    action: Mapped[str | None] = mapped_column(String(24))
    handled_by: Mapped[int | None] = mapped_column(BigInteger)
    handled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MigrationWave(Base):
    """A wave of a region's move to Parta: organizations of some kinds in some
    regions, starting on a date (operators plan them; parta/migration/waves.py)."""

    __tablename__ = "migration_waves"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    org_kinds: Mapped[list[str]] = mapped_column(JSON)
    regions: Mapped[list[str]] = mapped_column(JSON)  # empty: every region
    starts_at: Mapped[date] = mapped_column(Date)
    ends_at: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WaveReminder(Base):
    """A reminder sent to a lagging organization's admins (at most one a day per org)."""

    __tablename__ = "wave_reminders"
    __table_args__ = (Index("ix_wave_reminders_org_sent", "org_id", "sent_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("migration_waves.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    joined: Mapped[int] = mapped_column(Integer)
    pending: Mapped[int] = mapped_column(Integer)
    sent_by: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime]


class MigratedChat(Base):
    """A chat of a legacy messenger recreated in Parta by a membership manifest.

    ``legacy_key`` is the legacy title as compared (case and spaces folded), so
    a manifest run again finds its chat instead of making a second one.
    """

    __tablename__ = "migrated_chats"
    __table_args__ = (UniqueConstraint("org_id", "legacy_key", name="uq_migrated_chats_org_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), unique=True)
    legacy_title: Mapped[str] = mapped_column(String(128))
    legacy_key: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class PendingChatMember(Base):
    """A place in a chat kept for a phone with no account yet; taken at its first sign-in."""

    __tablename__ = "pending_chat_members"
    __table_args__ = (Index("ix_pending_chat_members_phone", "phone"),)

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | member
    name: Mapped[str] = mapped_column(String(128), default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class MigrationListing(Base):
    """One person as a migration file listed them (a roster row or a manifest row),
    kept so the reconciliation report can tell who has not arrived yet.

    ``phone`` is empty when the file had no usable number ("unknown phone").
    ``listing_key`` makes a re-imported file update its rows instead of adding them.
    """

    __tablename__ = "migration_listings"
    __table_args__ = (
        UniqueConstraint("org_id", "listing_key", name="uq_migration_listings_org_key"),
        Index("ix_migration_listings_chat", "chat_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # roster | manifest
    listing_key: Mapped[str] = mapped_column(String(200))
    line: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(24), default="")
    class_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SchoolYear(Base):
    """One school year of an organization ("2025/26": 1 September - 31 August by default)."""

    __tablename__ = "school_years"
    __table_args__ = (UniqueConstraint("org_id", "starts_on", name="uq_school_years_org_starts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class SchoolYearSettings(Base):
    """An organization's own year dates ("MM-DD") and last grade; no row: the defaults."""

    __tablename__ = "school_year_settings"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    starts_on: Mapped[str] = mapped_column(String(5))
    ends_on: Mapped[str] = mapped_column(String(5))
    last_grade: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class Rollover(Base):
    """A planned yearly rollover of an organization's classes (parta/orgs/rollover.py).

    ``class_ids`` None: every class of ``from_year_id``. ``status``: planned ->
    done (claimed by one process at ``run_at``) -> undone (within ``undo_until``);
    or cancelled before it ran.
    """

    __tablename__ = "rollovers"
    __table_args__ = (Index("ix_rollovers_status_run_at", "status", "run_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    from_year_id: Mapped[int] = mapped_column(BigInteger)
    to_year_id: Mapped[int] = mapped_column(BigInteger)
    class_ids: Mapped[list[int] | None] = mapped_column(JSON)
    leaving_member_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    run_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    undo_hours: Mapped[int] = mapped_column(Integer)
    undo_until: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[int | None] = mapped_column(BigInteger)
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[int | None] = mapped_column(BigInteger)


class RolloverClass(Base):
    """What a rollover did to one class, so that undo can put it back exactly."""

    __tablename__ = "rollover_classes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rollover_id: Mapped[int] = mapped_column(ForeignKey("rollovers.id", ondelete="CASCADE"), index=True)
    old_class_id: Mapped[int] = mapped_column(BigInteger)
    new_class_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))  # promoted | graduated | skipped
    old_name: Mapped[str] = mapped_column(String(64))
    new_name: Mapped[str | None] = mapped_column(String(64))
    moved_member_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    leaving_member_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    archived_chat_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    new_chat_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(String(32))


class Transfer(Base):
    """A student moving to another organization: asked by the old school's admin,
    accepted or declined by the new school's admin (parta/orgs/transfers.py)."""

    __tablename__ = "transfers"
    __table_args__ = (
        Index("ix_transfers_to_org_status", "to_org_id", "status"),
        Index("ix_transfers_from_org_status", "from_org_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    from_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    to_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(BigInteger)  # the old membership (gone once accepted)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16))  # pending | accepted | declined
    new_member_id: Mapped[int | None] = mapped_column(BigInteger)
    class_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None]
