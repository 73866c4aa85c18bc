"""Reports and the moderation queue.

Anyone may report a message they can see or a person they can name, with a
reason. A report goes to the admins of one organization: the one whose class or
group chat holds the message, else the first organization (by id) where both
the reporter and the reported person are active members. Reports about people
outside any shared organization go to the operators' queue.

Admins decide: dismiss, delete the message for everyone, remove the member or
suspend them (the membership stays, marked ``suspended``, and the person loses
the organization and its chats as if removed). Operators dismiss, delete the
message or suspend the account itself (no sign-in, every session revoked).
Every decision is one audit entry; a report is decided once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import messages, policy, safety
from parta.blocks import known_user
from parta.clock import utcnow
from parta.db import queries as q
from parta.db.engine import transaction
from parta.db.tables import (
    AuditEntry,
    Chat,
    Message,
    Operator,
    Organization,
    OrgMember,
    Report,
    Session,
    StoredFile,
    User,
)
from parta.errors import Conflict, InvalidInput, member_not_found, message_not_found, report_not_found
from parta.events import log as events
from parta.orgs import chatsync, core, members, staffchat
from parta.orgs.core import ACTIVE, SUSPENDED, OrgAccess
from parta.policy import ChatRole, OrgRole
from parta.render import Json, ts
from parta.render import message as render_message
from parta.text import require_printable

# A suspended member keeps the row (the school's record of who was suspended)
# but is no member: every "active" query leaves them out.
MAX_COMMENT = 1024
MAX_PAGE = 100


class ReportReason(StrEnum):
    spam = "spam"
    abuse = "abuse"
    inappropriate = "inappropriate"
    danger = "danger"
    other = "other"


class ReportStatus(StrEnum):
    open = "open"
    dismissed = "dismissed"
    actioned = "actioned"


class OrgAction(StrEnum):
    dismiss = "dismiss"
    delete_message = "delete_message"
    remove_member = "remove_member"
    suspend_member = "suspend_member"


class OperatorAction(StrEnum):
    dismiss = "dismiss"
    delete_message = "delete_message"
    suspend_user = "suspend_user"


AUDIT_ACTIONS = {
    "dismiss": "report.dismissed",
    "delete_message": "report.message_deleted",
    "remove_member": "report.member_removed",
    "suspend_member": "report.member_suspended",
    "suspend_user": "report.user_suspended",
}


def _clean(value: str, field: str) -> str:
    cleaned = require_printable(value, field).strip()
    if len(cleaned) > MAX_COMMENT:
        raise InvalidInput(f"Не длиннее {MAX_COMMENT} символов.", field=field)
    return cleaned


# --- Rendering -------------------------------------------------------------------


def _compact(data: Json) -> Json:
    return {k: v for k, v in data.items() if v not in (None, "")}


def report_json(report: Report) -> Json:
    """A report as its reporter and the event log see it: no message text, no cards."""
    return _compact(
        {
            "id": report.id,
            "reason": report.reason,
            "status": report.status,
            "message_id": report.message_id,
            "target_user_id": report.target_user_id,
            "chat_id": report.chat_id,
            "action": report.action,
            "created_at": ts(report.created_at),
            "handled_at": ts(report.handled_at) if report.handled_at else None,
        }
    )


@dataclass(frozen=True)
class _Loaded:
    """The people, messages and files a page of reports shows, loaded at once."""

    users: dict[int, User]
    msgs: dict[int, Message]
    files: dict[int, StoredFile]


async def _queue_json(db: AsyncSession, viewer: User, report: Report, loaded: _Loaded) -> Json:
    """A report in a moderation queue: who reported whom, and the message as it is now."""
    data = report_json(report) | _compact({"comment": report.comment, "handled_by": report.handled_by})
    for key, user_id in (("reporter", report.reporter_id), ("target", report.target_user_id)):
        user = loaded.users.get(user_id) if user_id is not None else None
        if user is not None:
            data[key] = await safety.card_for(db, viewer, user)
    msg = loaded.msgs.get(report.message_id) if report.message_id is not None else None
    if msg is not None:
        data["message"] = render_message(msg, file=loaded.files.get(msg.file_id) if msg.file_id else None)
    return data


# --- Reporting -----------------------------------------------------------------


@dataclass(frozen=True)
class NewReport:
    reason: ReportReason
    message_id: int | None = None
    user_id: int | None = None
    comment: str = ""


@dataclass(frozen=True)
class _Target:
    user_id: int | None
    message: Message | None = None
    chat: Chat | None = None


def _check_new(actor: User, new: NewReport) -> None:
    if (new.message_id is None) == (new.user_id is None):
        raise InvalidInput("Укажите что-то одно: сообщение или пользователя.", field="message_id")
    if new.user_id == actor.id:
        raise InvalidInput("Нельзя пожаловаться на самого себя.", field="user_id")


async def _target(db: AsyncSession, actor: User, new: NewReport) -> _Target:
    """The message (one the actor can see: a member of its chat) or the person (one
    the actor can name); anything else answers as if it did not exist."""
    if new.user_id is not None:
        return _Target(user_id=(await known_user(db, actor, new.user_id)).id)
    msg = await db.get(Message, new.message_id)
    member = await q.membership(db, msg.chat_id, actor.id) if msg is not None else None
    role = ChatRole(member.role) if member is not None else None
    if msg is None or msg.deleted_at is not None or not policy.can_see_chat(role):
        raise message_not_found()
    if msg.sender_id == actor.id:
        raise InvalidInput("Нельзя пожаловаться на своё сообщение.", field="message_id")
    return _Target(user_id=msg.sender_id, message=msg, chat=await db.get(Chat, msg.chat_id))


async def _open_report(db: AsyncSession, actor: User, target: _Target) -> Report | None:
    same: ColumnElement[bool] = (
        Report.message_id == target.message.id
        if target.message is not None
        else (Report.message_id.is_(None) & (Report.target_user_id == target.user_id))
    )
    query = select(Report).where(Report.reporter_id == actor.id, Report.status == ReportStatus.open, same)
    return (await db.execute(query.order_by(Report.id).limit(1))).scalar_one_or_none()


async def _route(db: AsyncSession, actor: User, target: _Target) -> int | None:
    """The organization whose admins handle the report; None: the operators."""
    if target.chat is not None and target.chat.org_id is not None:
        if await db.get(Organization, target.chat.org_id) is not None:
            return target.chat.org_id
    if target.user_id is None:
        return None
    mine, theirs = aliased(OrgMember), aliased(OrgMember)
    shared = (
        select(mine.org_id)
        .join(theirs, theirs.org_id == mine.org_id)
        .where(
            mine.user_id == actor.id,
            mine.status == ACTIVE,
            theirs.user_id == target.user_id,
            theirs.status == ACTIVE,
        )
        .order_by(mine.org_id)
        .limit(1)
    )
    return (await db.execute(shared)).scalar_one_or_none()


async def _operator_ids(db: AsyncSession) -> list[int]:
    return list((await db.execute(select(Operator.user_id).order_by(Operator.user_id))).scalars())


async def _tell_moderators(db: AsyncSession, report: Report, type: str) -> None:
    """``type`` with the report to the admins of its organization, or to every operator."""
    payload = {"report": report_json(report)}
    if report.org_id is not None:
        await core.notify_admins(db, report.org_id, type, payload | {"org_id": report.org_id})
    else:
        await events.append_for_users(db, type, await _operator_ids(db), payload)


async def create_report(db: AsyncSession, actor: User, new: NewReport) -> tuple[Report, bool]:
    """Report a message or a person; returns the report and whether this call made it.

    One open report per reporter and target: reporting again returns the open
    one (a retry, or a second tap). Emits ``report.created`` to the admins of
    the organization it is routed to, or to every operator. The reported
    person is not told. Raises ``message_not_found`` (not in a chat of the
    reporter's, deleted), ``user_not_found`` (someone the reporter cannot
    name), ``invalid_request`` (no target or both, oneself, a long comment).
    """
    comment = _clean(new.comment, "comment")
    _check_new(actor, new)
    async with transaction(db):
        # Two taps at once must not file two reports: they queue on the reporter's row.
        await db.execute(select(User.id).where(User.id == actor.id).with_for_update())
        target = await _target(db, actor, new)
        existing = await _open_report(db, actor, target)
        if existing is not None:
            return existing, False
        report = Report(
            reporter_id=actor.id,
            target_user_id=target.user_id,
            message_id=target.message.id if target.message is not None else None,
            chat_id=target.chat.id if target.chat is not None else None,
            org_id=await _route(db, actor, target),
            reason=new.reason.value,
            comment=comment,
            status=ReportStatus.open.value,
            created_at=utcnow(),
        )
        db.add(report)
        await db.flush()
        await _tell_moderators(db, report, "report.created")
    return report, True


# --- The queues ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPage:
    reports: list[Json]
    next_cursor: int | None


async def _page(
    db: AsyncSession,
    viewer: User,
    queue: ColumnElement[bool],
    *,
    status: ReportStatus | None,
    cursor: int | None,
    limit: int,
) -> ReportPage:
    query = select(Report).where(queue)
    if status is not None:
        query = query.where(Report.status == status.value)
    if cursor is not None:
        query = query.where(Report.id > cursor)
    found = list((await db.execute(query.order_by(Report.id).limit(limit + 1))).scalars())
    page = found[:limit]
    user_ids = [uid for r in page for uid in (r.reporter_id, r.target_user_id) if uid is not None]
    msgs = await q.messages_by_id(db, [r.message_id for r in page if r.message_id is not None])
    loaded = _Loaded(
        users=await q.users_by_id(db, user_ids),
        msgs=msgs,
        files=await q.files_by_id(db, [m.file_id for m in msgs.values()]),
    )
    rendered = [await _queue_json(db, viewer, r, loaded) for r in page]
    return ReportPage(reports=rendered, next_cursor=page[-1].id if len(found) > limit else None)


async def list_org_reports(
    db: AsyncSession, actor: User, org_id: int, *, status: ReportStatus | None, cursor: int | None, limit: int
) -> ReportPage:
    """The organization's moderation queue, oldest first, paged by ``cursor`` (a report id).

    Each report shows the reported message as it is now (its text: admins need
    it to decide), the reported person's and the reporter's cards. Admins only.
    Raises ``org_not_found``, ``forbidden``.
    """
    access = await core.load_org(db, actor, org_id)
    core.require(policy.can_manage_org(access.role), "Жалобы рассматривают администраторы организации.")
    return await _page(db, actor, Report.org_id == org_id, status=status, cursor=cursor, limit=limit)


async def _require_operator(db: AsyncSession, actor: User) -> None:
    # The operators' queue belongs to the same people who verify organizations.
    decision = policy.can_verify_org(is_operator=await core.is_operator(db, actor.id))
    core.require(decision, "Это могут только операторы.")


async def list_operator_reports(
    db: AsyncSession, actor: User, *, status: ReportStatus | None, cursor: int | None, limit: int
) -> ReportPage:
    """The operators' queue (reports outside any shared organization), like the org queue.

    Raises ``forbidden`` (not an operator).
    """
    await _require_operator(db, actor)
    return await _page(db, actor, Report.org_id.is_(None), status=status, cursor=cursor, limit=limit)


# --- Decisions -------------------------------------------------------------------


async def _open_for_decision(db: AsyncSession, report_id: int, org_id: int | None) -> Report:
    """The report, locked, in this queue (``org_id`` None: the operators'), still open."""
    query = (
        select(Report)
        .where(Report.id == report_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    report = (await db.execute(query)).scalar_one_or_none()
    if report is None or report.org_id != org_id:
        raise report_not_found()
    if report.status != ReportStatus.open:
        raise Conflict("По этой жалобе уже принято решение.")
    return report


def _decide(report: Report, actor: User, action: str) -> None:
    report.status = (ReportStatus.dismissed if action == "dismiss" else ReportStatus.actioned).value
    report.action = action
    report.handled_by = actor.id
    report.handled_at = utcnow()


def _details(report: Report, note: str) -> Json:
    return _compact(
        {"report_id": report.id, "reason": report.reason, "message_id": report.message_id, "note": note}
    )


async def delete_reported_message(db: AsyncSession, report: Report) -> None:
    """Delete the reported message for everyone, as its author deleting it would.

    A moderator here need not be a member of the chat, so this is the moderator
    path beside ``messages.delete_message``, through the same ``erase_message``.
    """
    if report.message_id is None or report.chat_id is None:
        raise InvalidInput("В жалобе нет сообщения.", field="action")
    await db.execute(select(Chat.id).where(Chat.id == report.chat_id).with_for_update())
    msg = await q.message_in_chat(db, report.chat_id, report.message_id)
    if msg is not None:
        await messages.erase_message(db, msg)


async def _reported_member(db: AsyncSession, access: OrgAccess, report: Report) -> OrgMember:
    """The reported person's membership (active or suspended), if the actor may remove them."""
    member = None
    if report.target_user_id is not None:
        query = select(OrgMember).where(
            OrgMember.org_id == access.org.id,
            OrgMember.user_id == report.target_user_id,
            OrgMember.status.in_([ACTIVE, SUSPENDED]),
        )
        member = (await db.execute(query)).scalar_one_or_none()
    if member is None:
        raise member_not_found()
    if member.user_id == access.actor.id:
        raise InvalidInput("Это решение нельзя применить к себе.", field="action")
    core.require(
        policy.can_remove_org_member(access.role, OrgRole(member.role)),
        "Администратора может удалить или отстранить только главный администратор.",
    )
    return member


async def suspend_member(db: AsyncSession, access: OrgAccess, member: OrgMember) -> None:
    """Mark the membership suspended: the person leaves the org's chats (archived
    ones too) as if removed; ``org.left`` (reason ``suspended``) to them and
    ``org.member_removed`` to admins. Already suspended: nothing to do."""
    if member.status == SUSPENDED or member.user_id is None:
        return
    touched = await chatsync.classes_of(db, member)
    member.status = SUSPENDED
    await db.flush()
    await chatsync.sync_classes(db, touched)
    await staffchat.sync_staff_chat(db, access.org.id)
    await chatsync.leave_archived_chats(db, access.org.id, member.user_id)
    payload = {"org_id": access.org.id, "member_id": member.id, "reason": SUSPENDED}
    await events.append_for_users(db, "org.left", [member.user_id], payload)
    await core.notify_admins(db, access.org.id, "org.member_removed", payload)


async def _apply_org_action(
    db: AsyncSession, access: OrgAccess, report: Report, action: OrgAction, note: str
) -> None:
    """Carry out the decision, after its audit entry (a removed member's row goes)."""
    member = None
    if action in (OrgAction.remove_member, OrgAction.suspend_member):
        member = await _reported_member(db, access, report)
    elif action is OrgAction.delete_message and report.message_id is None:
        raise InvalidInput("В жалобе нет сообщения.", field="action")
    entry = await core.audit(db, access, AUDIT_ACTIONS[action], member=member, details=_details(report, note))
    entry.target_user_id = report.target_user_id
    if action is OrgAction.delete_message:
        await delete_reported_message(db, report)
    elif member is not None and action is OrgAction.remove_member:
        await members.delete_member(db, access, member, reason=members.REMOVED)
    elif member is not None:
        await suspend_member(db, access, member)


async def resolve_org_report(
    db: AsyncSession, actor: User, org_id: int, report_id: int, action: OrgAction, *, note: str = ""
) -> Report:
    """Decide a report in the organization's queue (admins).

    ``dismiss``; ``delete_message`` (for everyone: ``message.deleted``);
    ``remove_member`` (as ``DELETE /orgs/{id}/members/{member_id}`` would:
    ``org.left``, ``org.member_removed``, audit ``member.removed`` too);
    ``suspend_member`` (see ``suspend_member``). Audit ``report.<decision>``
    (with the note); emits ``report.resolved`` to the admins. Raises
    ``org_not_found``, ``forbidden`` (not an admin; an admin's removal by an
    additional admin), ``report_not_found``, ``member_not_found`` (the person
    is no longer a member), ``conflict`` (decided already), ``invalid_request``
    (no message to delete, oneself, a long note).
    """
    note = _clean(note, "note")
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        report = await _open_for_decision(db, report_id, org_id)
        await _apply_org_action(db, access, report, action, note)
        _decide(report, actor, action.value)
        await _tell_moderators(db, report, "report.resolved")
    return report


async def suspend_user(db: AsyncSession, actor: User, report: Report) -> None:
    """Suspend the reported account: no sign-in, every session revoked
    (``session.revoked`` closes their open connections). Already suspended: nothing to do."""
    target = await db.get(User, report.target_user_id) if report.target_user_id is not None else None
    if target is None:
        raise InvalidInput("В жалобе нет пользователя.", field="action")
    if target.id == actor.id:
        raise InvalidInput("Это решение нельзя применить к себе.", field="action")
    if target.suspended_at is not None:
        return
    target.suspended_at = utcnow()
    await db.execute(delete(Session).where(Session.user_id == target.id))
    await events.append(db, "session.revoked", user_id=target.id, payload={"others": True})


async def resolve_operator_report(
    db: AsyncSession, actor: User, report_id: int, action: OperatorAction, *, note: str = ""
) -> Report:
    """Decide a report in the operators' queue (operators).

    ``dismiss``; ``delete_message`` (for everyone); ``suspend_user`` (see
    ``suspend_user``). An audit entry outside any organization; emits
    ``report.resolved`` to every operator. Raises ``forbidden`` (not an
    operator), ``report_not_found``, ``conflict``, ``invalid_request``.
    """
    note = _clean(note, "note")
    async with transaction(db):
        await _require_operator(db, actor)
        report = await _open_for_decision(db, report_id, None)
        if action is OperatorAction.delete_message:
            await delete_reported_message(db, report)
        elif action is OperatorAction.suspend_user:
            await suspend_user(db, actor, report)
        db.add(
            AuditEntry(
                org_id=None,
                actor_id=actor.id,
                action=AUDIT_ACTIONS[action],
                target_user_id=report.target_user_id,
                details=_details(report, note),
                created_at=utcnow(),
            )
        )
        _decide(report, actor, action.value)
        await _tell_moderators(db, report, "report.resolved")
    return report
