"""Writing a legacy chat's history into Parta: authors, replies, edits, dates, files.

The import reads the whole export once before writing anything (a broken
export stores nothing), then writes the messages in chronological order, a
hundred at a time, each batch in its own transaction under the chat's row
lock: a long import never holds a lock for minutes, and an interrupted one
keeps what it wrote. Every message carries its legacy key (unique per chat),
so running the same export again adds nothing and finishes an interrupted run.

Imported messages notify nobody: no ``message.created`` events, pushes,
mentions or unread counts. One ``chat.history_imported`` event at the end
tells connected clients to fetch the chat's history again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parta import chats, media, policy, search
from parta.clock import utcnow
from parta.config import Settings
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import Chat, ChatMember, Message, OrgMember, User
from parta.errors import InvalidInput, PartaError, chat_not_found
from parta.events import log as events
from parta.migration.history.archive import ExportTree
from parta.migration.history.compose import (
    FileOutcome,
    author_name,
    check_file,
    client_msg_id,
    compose,
    message_key,
    store_file,
)
from parta.migration.history.mapping import Mapping, read_mapping
from parta.migration.history.model import LegacyAuthor, LegacyChat, LegacyMessage, Skipped
from parta.orgs import core
from parta.orgs.core import ACTIVE, OrgAccess
from parta.phones import normalize_phone
from parta.text import require_printable

BATCH = 100
MAX_TITLE = 128

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Target:
    """Where the history goes: an existing chat of the org, or a new group chat."""

    chat_id: int | None = None
    new_chat_title: str | None = None


@dataclass(frozen=True)
class Rejected:
    legacy_id: str
    reason: str


@dataclass
class HistoryReport:
    """What an import did (or, for a dry run, would do)."""

    source: str
    title: str
    chat_id: int | None = None
    messages: int = 0  # entries read from the export
    imported: int = 0
    existing: int = 0  # imported before: left as they are
    service_skipped: int = 0
    authors_matched: int = 0
    authors_legacy: int = 0
    attachments_stored: int = 0
    attachments_missing: int = 0
    attachments_skipped: int = 0  # too large, of a forbidden type, broken
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "imported": self.imported,
            "existing": self.existing,
            "service_skipped": self.service_skipped,
            "rejected": len(self.rejected),
            "authors_matched": self.authors_matched,
            "authors_legacy": self.authors_legacy,
            "attachments_stored": self.attachments_stored,
            "attachments_missing": self.attachments_missing,
            "attachments_skipped": self.attachments_skipped,
        }


# --- Access and target ----------------------------------------------------------------


def clean_title(raw: str) -> str:
    title = " ".join(require_printable(raw, "new_chat_title").split())
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(f"Название чата: от 1 до {MAX_TITLE} символов.", field="new_chat_title")
    return title


async def check_access(db: AsyncSession, actor: User, org_id: int, target: Target) -> OrgAccess:
    """The org for an importing admin, and the target chat checked against it.

    Raises ``org_not_found``, ``forbidden`` (not an admin), ``chat_not_found``
    (no such chat in this org: ids of other chats cannot be probed),
    ``invalid_request`` (neither or both of chat and title).
    """
    if (target.chat_id is None) == (target.new_chat_title is None):
        raise InvalidInput("Укажите либо chat_id, либо new_chat_title.", field="chat_id")
    access = await core.load_org(db, actor, org_id)
    chat_org_id: int | None = org_id
    if target.chat_id is not None:
        chat = await db.get(Chat, target.chat_id)
        chat_org_id = chat.org_id if chat is not None else None
    decision = policy.can_import_history(access.role, chat_org_id=chat_org_id, org_id=org_id)
    if decision.reason == "chat_not_in_org":
        raise chat_not_found()
    core.require(decision, "Переносить историю могут только администраторы организации.")
    if target.new_chat_title is not None:
        clean_title(target.new_chat_title)
    await db.commit()  # ends the read
    return access


# --- Reading the export ---------------------------------------------------------------


@dataclass
class _Survey:
    """The export read once, before any write."""

    messages: list[LegacyMessage]
    authors: dict[str, LegacyAuthor]  # identity -> author
    rejected: list[Rejected]
    entries: int = 0
    service: int = 0


def identity(author: LegacyAuthor) -> str:
    return author.key or f"name:{author.name}"


def survey(export: LegacyChat) -> _Survey:
    """Every entry checked; duplicates of a legacy id are rejected."""
    result = _Survey(messages=[], authors={}, rejected=[])
    seen: set[str] = set()
    for entry in export.entries():
        result.entries += 1
        if isinstance(entry, Skipped):
            if entry.is_service:
                result.service += 1
            else:
                result.rejected.append(Rejected(entry.legacy_id, entry.reason))
            continue
        if entry.legacy_id in seen:
            result.rejected.append(Rejected(entry.legacy_id, "Повтор: сообщение с этим id уже было."))
            continue
        seen.add(entry.legacy_id)
        result.messages.append(entry)
        result.authors.setdefault(identity(entry.author), entry.author)
    return result


# --- Authors --------------------------------------------------------------------------


async def _candidates(db: AsyncSession, org_id: int, chat_id: int | None) -> dict[str, int]:
    """Phone -> user id of who an author may be: the chat's members, or (for a new
    chat) the organization's active members."""
    if chat_id is not None:
        query = select(User.phone, User.id).join(ChatMember, ChatMember.user_id == User.id)
        query = query.where(ChatMember.chat_id == chat_id)
    else:
        query = select(User.phone, User.id).join(OrgMember, OrgMember.user_id == User.id)
        query = query.where(OrgMember.org_id == org_id, OrgMember.status == ACTIVE)
    return {phone: user_id for phone, user_id in await db.execute(query)}


def match_authors(
    authors: dict[str, LegacyAuthor], mapping: Mapping, candidates: dict[str, int]
) -> dict[str, int | None]:
    """Identity -> the Parta user an author is, None for a legacy author."""
    matched: dict[str, int | None] = {}
    for ident, author in authors.items():
        phone = mapping.phone_for(author)
        try:
            normalized = normalize_phone(phone) if phone else None
        except PartaError:
            normalized = None
        matched[ident] = candidates.get(normalized) if normalized else None
    return matched


async def _known(db: AsyncSession, chat_id: int) -> dict[str, int]:
    """Import key -> message id of what is already imported into the chat."""
    rows = await db.execute(
        select(Message.import_key, Message.id).where(
            Message.chat_id == chat_id, Message.import_key.is_not(None)
        )
    )
    return {key: message_id for key, message_id in rows if key is not None}


async def _previous_chat(db: AsyncSession, org_id: int, title: str, first_key: str) -> int | None:
    """The chat an earlier run of this export created (``--new-chat`` given again):
    the org's chat of that title holding the export's first message."""
    query = (
        select(Message.chat_id)
        .join(Chat, Chat.id == Message.chat_id)
        .where(Chat.org_id == org_id, Chat.title == title, Message.import_key == first_key)
        .limit(1)
    )
    return (await db.execute(query)).scalar_one_or_none()


# --- Writing ----------------------------------------------------------------------------


@dataclass
class _Run:
    """One import in progress."""

    settings: Settings
    store: media.LocalMediaStore
    tree: ExportTree
    export: LegacyChat
    access: OrgAccess
    # None until the new chat (``new_chat``: title, members) is made, in the same
    # transaction as the first batch: a run stopped before that batch committed
    # leaves no empty chat behind, so its rerun finds no chat and makes one, once.
    chat_id: int | None
    new_chat: tuple[str, set[int]] | None
    authors: dict[str, int | None]  # identity -> user id (None: a legacy author)
    known: dict[str, int]  # import key -> message id
    report: HistoryReport


@dataclass
class _Tally:
    """A batch's counts, added to the report once its transaction commits."""

    imported: int = 0
    stored: int = 0
    missing: int = 0
    skipped: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)


def _batches(messages: list[LegacyMessage]) -> Iterator[list[LegacyMessage]]:
    for start in range(0, len(messages), BATCH):
        yield messages[start : start + BATCH]


def _store_files(run: _Run, messages: list[LegacyMessage]) -> dict[str, FileOutcome]:
    """The batch's attachments checked and stored (blocking: a worker thread).

    Blobs are content-addressed: a batch that fails to commit leaves files that
    its retry or the next run names again."""
    limit = run.settings.max_upload_bytes
    paths = {p for m in messages for p in m.attachments}
    return {path: store_file(run.store, run.tree, path, limit) for path in sorted(paths)}


async def _lock_chat(db: AsyncSession, chat_id: int) -> Chat:
    chat = (await db.execute(select(Chat).where(Chat.id == chat_id).with_for_update())).scalar_one_or_none()
    if chat is None:  # deleted while importing
        raise chat_not_found()
    return chat


async def _file_row(db: AsyncSession, chat: Chat, stored: media.Stored, uploader_id: int | None) -> int:
    row = media.file_row(stored, chat_id=chat.id, uploader_id=uploader_id)
    db.add(row)
    await db.flush()
    return row.id


def _count_files(message: LegacyMessage, files: dict[str, FileOutcome], tally: _Tally) -> None:
    for path in message.attachments:
        outcome = files[path]
        if outcome.stored is not None:
            tally.stored += 1
        elif outcome.missing:
            tally.missing += 1
        else:
            tally.skipped += 1
            tally.rejected.append(Rejected(message.legacy_id, outcome.problem))


async def _insert(
    db: AsyncSession,
    run: _Run,
    chat: Chat,
    message: LegacyMessage,
    files: dict[str, FileOutcome],
    tally: _Tally,
) -> int | None:
    """Write one legacy message (one or more rows); returns the last row's id."""
    units = compose(
        message,
        files,
        max_length=run.settings.max_message_length,
        key=lambda part: message_key(run.export, message.legacy_id, part),
    )
    if not units:
        tally.rejected.append(Rejected(message.legacy_id, "Пустое сообщение: ни текста, ни файла."))
        return None
    sender = run.authors[identity(message.author)]
    reply_key = message_key(run.export, message.reply_to) if message.reply_to else ""
    reply_to = run.known.get(reply_key) or tally.keys.get(reply_key)
    now = utcnow()
    last = 0
    for index, unit in enumerate(units):
        stored = unit.file.stored if unit.file is not None else None
        msg = Message(
            chat_id=chat.id,
            sender_id=sender,
            client_msg_id=client_msg_id(chat.id, unit.key),
            text=unit.text,
            created_at=message.sent_at,  # the original date: clients show it as is
            edited_at=message.edited_at,
            reply_to_id=reply_to if index == 0 else None,
            file_id=await _file_row(db, chat, stored, sender) if stored is not None else None,
            import_key=unit.key,
            imported_at=now,
            legacy_author_name=None if sender is not None else author_name(message.author),
        )
        db.add(msg)
        await db.flush()
        await search.index_message(db, msg)
        tally.keys.setdefault(units[0].key, msg.id)
        last = msg.id
    _count_files(message, files, tally)
    tally.imported += 1
    return last


async def _write(
    db: AsyncSession, run: _Run, messages: list[LegacyMessage], files: dict[str, FileOutcome]
) -> _Tally:
    tally = _Tally()
    async with transaction(db):
        chat_id = run.chat_id
        if chat_id is None:
            assert run.new_chat is not None
            chat_id = await _add_chat(db, run.access, *run.new_chat)
        chat = await _lock_chat(db, chat_id)
        last = 0
        for message in messages:
            last = await _insert(db, run, chat, message, files, tally) or last
        if last:
            chat.last_message_id = max(chat.last_message_id or 0, last)
            # Imported messages must not count as unread (nor wake anyone): every
            # member's read pointer moves past them. Ids only grow, so this also marks
            # read what was unread before the import; imports land in archive chats or
            # before a chat is in use, where that costs nothing.
            await db.execute(
                update(ChatMember)
                .where(ChatMember.chat_id == chat.id, ChatMember.last_read_message_id < last)
                .values(last_read_message_id=last)
            )
    run.chat_id = chat_id  # committed
    return tally


async def _write_batch(db: AsyncSession, run: _Run, batch: list[LegacyMessage]) -> None:
    pending = [m for m in batch if message_key(run.export, m.legacy_id) not in run.known]
    run.report.existing += len(batch) - len(pending)
    if not pending:
        return
    files = await asyncio.to_thread(_store_files, run, pending)
    try:
        tally = await _write(db, run, pending, files)
    except IntegrityError:
        # A parallel run of the same export wrote some of these first: start from
        # a clean session, learn what is there now and write the rest.
        await db.close()
        run.known = await _known(db, run.chat_id) if run.chat_id is not None else {}
        again = [m for m in pending if message_key(run.export, m.legacy_id) not in run.known]
        run.report.existing += len(pending) - len(again)
        tally = await _write(db, run, again, files)
    run.known.update(tally.keys)
    report = run.report
    report.imported += tally.imported
    report.attachments_stored += tally.stored
    report.attachments_missing += tally.missing
    report.attachments_skipped += tally.skipped
    report.rejected.extend(tally.rejected)


async def _add_chat(db: AsyncSession, access: OrgAccess, title: str, member_ids: set[int]) -> int:
    """A group chat of the organization for the history, in the caller's transaction:
    the importing admin owns it, the matched authors are its members. Emits
    ``chat.created``."""
    actor = access.actor
    since = await events.lock_and_head(db)
    members = list((await q.users_by_id(db, member_ids - {actor.id})).values())
    chat = await chats.add_org_group(db, actor, access.org.id, title, members, since)
    await db.flush()
    payload = {"chat_id": chat.id, "kind": chat.kind, "title": chat.title}
    await events.append(db, "chat.created", chat_id=chat.id, payload=payload)
    return chat.id


async def _finish(db: AsyncSession, run: _Run, imported: int) -> None:
    """One event for the whole import, and the audit entry."""
    if imported == 0:
        return
    counts = {"chat_id": run.chat_id, "imported": imported, "source": run.export.source}
    async with transaction(db):
        await core.audit(db, run.access, "history.imported", details=counts)
        await events.append(
            db,
            "chat.history_imported",
            chat_id=run.chat_id,
            payload={"chat_id": run.chat_id, "imported": imported, "by": run.access.actor.id},
        )


# --- The action ---------------------------------------------------------------------------

Loader = Callable[[], tuple[ExportTree, LegacyChat]]


@dataclass(frozen=True)
class HistoryImport:
    """What to import: the export and the mapping file (both read only after the
    access check, so outsiders learn nothing from their errors), and where it goes."""

    load: Loader
    target: Target
    mapping: bytes | None = None


def _report(export: LegacyChat, found: _Survey, authors: dict[str, int | None]) -> HistoryReport:
    return HistoryReport(
        source=export.source,
        title=export.title,
        messages=found.entries,
        service_skipped=found.service,
        authors_matched=sum(1 for user_id in authors.values() if user_id is not None),
        authors_legacy=sum(1 for user_id in authors.values() if user_id is None),
        rejected=list(found.rejected),
        warnings=list(export.warnings),
    )


async def _target_chat(db: AsyncSession, org_id: int, target: Target, first_key: str) -> int | None:
    if target.chat_id is not None:
        return target.chat_id
    title = clean_title(target.new_chat_title or "")
    return await _previous_chat(db, org_id, title, first_key) if first_key else None


async def import_history(
    db: AsyncSession,
    settings: Settings,
    store: media.LocalMediaStore,
    actor: User,
    org_id: int,
    job: HistoryImport,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> HistoryReport:
    """Import a legacy chat's history into a chat of the organization (admins only).

    The export is read in full first; then (unless ``dry_run``) a new chat is
    created if asked (``chat.created``) and the messages not imported before
    are written in batches, followed by one ``chat.history_imported`` event and
    an audit entry. ``progress(done, total)`` follows the messages. Raises
    ``org_not_found``, ``forbidden``, ``chat_not_found``, ``invalid_request``,
    the archive's and the formats' errors, all before anything is written.
    """
    access = await check_access(db, actor, org_id, job.target)
    mapping = read_mapping(job.mapping)
    tree, export = await asyncio.to_thread(job.load)
    found = await asyncio.to_thread(survey, export)
    first_key = message_key(export, found.messages[0].legacy_id) if found.messages else ""
    chat_id = await _target_chat(db, org_id, job.target, first_key)
    candidates = await _candidates(db, org_id, chat_id)
    authors = match_authors(found.authors, mapping, candidates)
    report = _report(export, found, authors)
    report.warnings.extend(mapping.problems)
    known = await _known(db, chat_id) if chat_id is not None else {}
    await db.commit()  # ends the reads
    if dry_run:
        return _dry_run(report, tree, export, found.messages, known, settings)
    new_chat = None
    if chat_id is None:
        matched = {user_id for user_id in authors.values() if user_id is not None}
        new_chat = (clean_title(job.target.new_chat_title or ""), matched)
    run = _Run(settings, store, tree, export, access, chat_id, new_chat, authors, known, report)
    done = 0
    for batch in _batches(found.messages):
        await _write_batch(db, run, batch)
        done += len(batch)
        if progress is not None:
            progress(done, len(found.messages))
    if run.chat_id is None:  # nothing to write (an export without messages): the chat alone
        assert new_chat is not None
        async with transaction(db):
            run.chat_id = await _add_chat(db, access, *new_chat)
    report.chat_id = run.chat_id
    await _finish(db, run, report.imported)
    return report


def _dry_run(
    report: HistoryReport,
    tree: ExportTree,
    export: LegacyChat,
    messages: list[LegacyMessage],
    known: dict[str, int],
    settings: Settings,
) -> HistoryReport:
    """What the import would do: counts by keys and file sizes, nothing written."""
    for message in messages:
        if message_key(export, message.legacy_id) in known:
            report.existing += 1
            continue
        report.imported += 1
        for path in message.attachments:
            outcome = check_file(tree, path, settings.max_upload_bytes)
            if outcome.missing:
                report.attachments_missing += 1
            elif outcome.problem:
                report.attachments_skipped += 1
                report.rejected.append(Rejected(message.legacy_id, outcome.problem))
            else:
                report.attachments_stored += 1
    return report
