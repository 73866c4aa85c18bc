"""The yearly rollover: classes move up a grade at a moment the admin planned.

An admin plans a rollover (all classes of a year, or some), previews it, and at
the moment (in the organization's local time) every server process's scheduler
tries to claim it; one conditional UPDATE (``status = 'planned' AND run_at <=
now``) lets exactly one transaction run it, so it runs once even with several
processes, and a plan survives restarts because it lives in the database. An
admin may also run it at once.

What a run does to each class of the scope (``5А`` of 2025/26):

- **promoted** (grade below the last): a new class ``6А`` of the next year is
  made with new class and parents' chats (``chatsync``); its students (their
  memberships' class) move into it, so their linked parents follow into the new
  parents' chat; the class's teachers and homeroom teacher are kept on the new
  class. The old class is *closed* (``closed_at``; its key gets "@<year id>"
  so the name is free for the new year) and its chats are archived with
  ``successor_chat_id`` pointing at the new chats and the year in their titles.
  Everyone keeps reading last year's history.
- **graduated** (the last grade: 11 at a school, 4 at a college, or the org's
  own): the class is closed and its chats archived. Graduates keep their
  membership, placed in the closed class, so they keep reading the archive;
  an admin removes them when the paperwork is done (removal takes them out of
  the archive too).
- **skipped**: the new name is taken by a class that stays open (rolling only
  ``5А`` while last year's ``6А`` is not rolled). Nothing changes.
- Students the plan lists as **leaving** do not move: they stay members
  without a class (in no class chat, their parents in no parents' chat) until
  an admin removes them.

Each affected person gets ``notice.rollover`` (Russian text saying where their
chats are now). A ``RolloverClass`` row records what was done per class, so
**undo** (within the grace period, ``undo_hours``, 72 by default) puts it back
exactly: the new classes are deleted (their chats archived, pointing back),
the old classes reopen, their chats leave the archive, students and leaving
students return, and everyone gets ``notice.rollover_undone``.

Free-form groups, and a kindergarten's preschool groups, are not classes with
grades: a rollover leaves them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parta import archiving, policy
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import (
    AuditEntry,
    Chat,
    ClassGroup,
    ClassGroupMember,
    Organization,
    OrgInvite,
    OrgMember,
    ParentLink,
    Rollover,
    RolloverClass,
    SchoolYear,
    User,
)
from parta.errors import Conflict, InvalidInput, rollover_not_found
from parta.events import log as events
from parta.orgs import chatsync, classnames, core, timezones, years
from parta.orgs.core import ACTIVE, PENDING, OrgAccess, require
from parta.policy import OrgRole
from parta.render import Json, ts
from parta.scheduler import Transition

PLANNED, RUNNING, DONE, UNDONE, CANCELLED = "planned", "running", "done", "undone", "cancelled"
PROMOTED, GRADUATED, SKIPPED = "promoted", "graduated", "skipped"
MAX_AHEAD = timedelta(days=2 * 366)
MAX_LEAVING = 1000


@dataclass(frozen=True)
class RolloverPlan:
    """``at``: a naive time is the organization's local time; None: now.
    ``class_ids`` None: every class of the year."""

    at: datetime | None = None
    class_ids: list[int] | None = None
    leaving_member_ids: list[int] = field(default_factory=list)
    undo_hours: int = 72


@dataclass
class Step:
    """What the rollover does (or will do) to one class."""

    cls: ClassGroup
    outcome: str
    new_name: classnames.ClassName | None = None
    students: list[int] = field(default_factory=list)  # moving, or graduating
    leaving: list[int] = field(default_factory=list)
    chat_ids: list[int] = field(default_factory=list)  # to archive
    reason: str | None = None


# -- computing the steps (preview and run share it, so the preview is what runs) ----------


async def _students_by_class(db: AsyncSession, class_ids: list[int]) -> dict[int, list[int]]:
    rows = await db.execute(
        select(OrgMember.class_id, OrgMember.id)
        .where(
            OrgMember.class_id.in_(class_ids),
            OrgMember.role == OrgRole.student.value,
            OrgMember.status.in_((ACTIVE, PENDING)),
        )
        .order_by(OrgMember.id)
    )
    found: dict[int, list[int]] = {}
    for class_id, member_id in rows.all():
        if class_id is not None:
            found.setdefault(class_id, []).append(member_id)
    return found


async def _open_chat_ids(db: AsyncSession, classes: Iterable[ClassGroup]) -> set[int]:
    ids = [cid for c in classes for cid in (c.chat_id, c.parents_chat_id) if cid is not None]
    rows = await db.execute(select(Chat.id).where(Chat.id.in_(ids), Chat.archived_at.is_(None)))
    return set(rows.scalars())


async def _open_classes(db: AsyncSession, org_id: int) -> list[ClassGroup]:
    rows = await db.execute(
        select(ClassGroup).where(
            ClassGroup.org_id == org_id, ClassGroup.kind == classnames.CLASS, ClassGroup.closed_at.is_(None)
        )
    )
    return list(rows.scalars())


def _step(
    cls: ClassGroup, last_grade: int, open_keys: set[str], students: list[int], leaving: set[int]
) -> Step:
    """One class's step; ``open_keys`` (names open after the classes done so far) is updated."""
    gone = [m for m in students if m in leaving]
    staying = [m for m in students if m not in leaving]
    if cls.grade is None:
        return Step(cls, SKIPPED, reason="no_grade")
    if cls.grade >= last_grade:
        open_keys.discard(cls.norm_key)
        return Step(cls, GRADUATED, students=staying, leaving=gone)
    target = classnames.normalize_class(f"{cls.grade + 1}{cls.letter or ''}")
    if target.norm_key in open_keys:
        return Step(cls, SKIPPED, new_name=target, reason="name_taken")
    open_keys.discard(cls.norm_key)
    open_keys.add(target.norm_key)
    return Step(cls, PROMOTED, new_name=target, students=staying, leaving=gone)


async def compute_steps(
    db: AsyncSession, org: Organization, *, year_id: int, class_ids: list[int] | None, leaving: set[int]
) -> list[Step]:
    """The steps for the year's open classes in scope, by grade and letter.

    Classes are taken from the highest grade down, so "6А → 7А" frees "6А" for
    "5А → 6А" in the same run; a name kept by a class that stays open skips.
    """
    last_grade = (await years.settings_of(db, org)).last_grade or classnames.MAX_GRADE
    every = await _open_classes(db, org.id)
    open_keys = {c.norm_key for c in every}
    ours = [c for c in every if c.year_id == year_id and (class_ids is None or c.id in class_ids)]
    ours.sort(key=lambda c: (-(c.grade or 0), c.letter or ""))
    students = await _students_by_class(db, [c.id for c in ours])
    steps = [_step(c, last_grade, open_keys, students.get(c.id, []), leaving) for c in ours]
    open_chats = await _open_chat_ids(db, ours)
    for step in steps:
        if step.outcome != SKIPPED:
            chats = (step.cls.chat_id, step.cls.parents_chat_id)
            step.chat_ids = [cid for cid in chats if cid in open_chats]
    return sorted(steps, key=lambda s: (s.cls.grade or 0, s.cls.letter or ""))


def step_json(step: Step) -> Json:
    data: Json = {
        "class_id": step.cls.id,
        "name": step.cls.name,
        "outcome": step.outcome,
        "moving_member_ids": step.students if step.outcome == PROMOTED else [],
        "graduating_member_ids": step.students if step.outcome == GRADUATED else [],
        "leaving_member_ids": step.leaving,
        "archived_chat_ids": step.chat_ids,
    }
    if step.new_name is not None:
        data["new_name"] = step.new_name.name
    if step.reason is not None:
        data["reason"] = step.reason
    return data


def record_json(rec: RolloverClass) -> Json:
    data: Json = {
        "class_id": rec.old_class_id,
        "name": rec.old_name,
        "outcome": rec.outcome,
        "moving_member_ids": rec.moved_member_ids if rec.outcome == PROMOTED else [],
        "graduating_member_ids": rec.moved_member_ids if rec.outcome == GRADUATED else [],
        "leaving_member_ids": rec.leaving_member_ids,
        "archived_chat_ids": rec.archived_chat_ids,
    }
    optional = {
        "new_name": rec.new_name,
        "new_class_id": rec.new_class_id,
        "new_chat_ids": rec.new_chat_ids or None,
        "reason": rec.reason,
    }
    return data | {k: v for k, v in optional.items() if v is not None}


# -- rendering ---------------------------------------------------------------------------------------


def _timezone(org: Organization) -> str:
    return timezones.effective_timezone(region=org.region, timezone=org.timezone)


async def rollover_json(db: AsyncSession, rollover: Rollover, org: Organization) -> Json:
    zone = timezones.zone(_timezone(org))
    from_year = await db.get(SchoolYear, rollover.from_year_id)
    to_year = await db.get(SchoolYear, rollover.to_year_id)
    data: Json = {
        "id": rollover.id,
        "org_id": rollover.org_id,
        "status": rollover.status,
        "run_at": ts(rollover.run_at),
        "run_at_local": rollover.run_at.astimezone(zone).isoformat(timespec="minutes"),
        "timezone": _timezone(org),
        "from_year": years.year_payload(from_year) if from_year else None,
        "to_year": years.year_payload(to_year) if to_year else None,
        "class_ids": rollover.class_ids,
        "leaving_member_ids": rollover.leaving_member_ids,
        "undo_hours": rollover.undo_hours,
        "created_at": ts(rollover.created_at),
    }
    optional = {
        "undo_until": rollover.undo_until,
        "done_at": rollover.done_at,
        "undone_at": rollover.undone_at,
    }
    return data | {k: ts(v) for k, v in optional.items() if v is not None}


async def _records(db: AsyncSession, rollover_id: int) -> list[RolloverClass]:
    rows = await db.execute(
        select(RolloverClass).where(RolloverClass.rollover_id == rollover_id).order_by(RolloverClass.id)
    )
    return list(rows.scalars())


# -- loading and checking ------------------------------------------------------------------------------


async def _admin(db: AsyncSession, actor: User, org_id: int) -> OrgAccess:
    """The organization for a rollover action (row locked): admins of orgs with grades."""
    access = await core.load_org_for_admin(db, actor, org_id)
    found = await years.settings_of(db, access.org)
    require(
        policy.can_roll_over(access.role, has_grades=found.last_grade is not None),
        "Перевод классов бывает только в школах и колледжах.",
    )
    return access


async def _rollover_in(db: AsyncSession, org_id: int, rollover_id: int) -> Rollover:
    query = select(Rollover).where(Rollover.id == rollover_id).execution_options(populate_existing=True)
    rollover = (await db.execute(query.with_for_update())).scalar_one_or_none()
    if rollover is None or rollover.org_id != org_id:
        raise rollover_not_found()
    return rollover


def _moment(at: datetime | None, timezone: str, now: datetime) -> datetime:
    if at is None:
        return now
    moment = timezones.local_to_utc(at, timezone)
    if moment < now - archiving.PAST_TOLERANCE:
        raise InvalidInput("Этот момент уже прошёл: укажите будущие дату и время.", field="at")
    if moment > now + MAX_AHEAD:
        raise InvalidInput("Перевод можно запланировать не дальше чем на два года.", field="at")
    return max(moment, now)


async def _from_year(db: AsyncSession, org: Organization, class_ids: list[int] | None) -> SchoolYear:
    """The year whose classes move: the named classes' (one year), else the oldest year
    with open classes (a per-class rollover may have moved some already), else the current."""
    classes = await _open_classes(db, org.id)
    if class_ids is not None:
        by_id = {c.id: c for c in classes}
        unknown = [cid for cid in class_ids if cid not in by_id]
        if unknown or not class_ids:
            raise InvalidInput("Укажите действующие классы этой организации.", field="class_ids")
        year_ids = {by_id[cid].year_id for cid in class_ids}
        if len(year_ids) != 1:
            raise InvalidInput("Классы одного перевода — из одного учебного года.", field="class_ids")
        classes = [by_id[cid] for cid in class_ids]
    dated = [y for y in [await db.get(SchoolYear, c.year_id) for c in classes if c.year_id] if y]
    if dated:
        return min(dated, key=lambda y: y.starts_on)
    return await years.current_year(db, org)


def _check_leaving(steps: list[Step], leaving: list[int]) -> None:
    students = {m for s in steps for m in (*s.students, *s.leaving)}
    if len(leaving) > MAX_LEAVING or any(m not in students for m in leaving):
        raise InvalidInput("Выбывающие — ученики переводимых классов.", field="leaving_member_ids")


# -- planning ---------------------------------------------------------------------------------------


async def _prepare(
    db: AsyncSession, org: Organization, plan: RolloverPlan
) -> tuple[SchoolYear, SchoolYear, list[Step]]:
    if not 1 <= plan.undo_hours <= 720:
        raise InvalidInput("Срок отмены: от 1 до 720 часов.", field="undo_hours")
    from_year = await _from_year(db, org, plan.class_ids)
    to_year = await years.next_year(db, org, from_year)
    leaving = list(dict.fromkeys(plan.leaving_member_ids))
    steps = await compute_steps(db, org, year_id=from_year.id, class_ids=plan.class_ids, leaving=set(leaving))
    _check_leaving(steps, leaving)
    return from_year, to_year, steps


async def plan_rollover(db: AsyncSession, actor: User, org_id: int, plan: RolloverPlan) -> Json:
    """Plan a rollover of the year's classes (or ``class_ids``) at ``at`` (local time).

    Emits ``rollover.planned`` to the admins; records ``rollover.planned``.
    Raises ``org_not_found``, ``forbidden`` (not an admin; ``no_grades`` for
    kindergartens and extra-curricular centres), ``invalid_request`` (``at``
    past or too far, ``class_ids`` unknown or closed, ``leaving_member_ids``
    not students of those classes, ``undo_hours``).
    """
    async with transaction(db):
        access = await _admin(db, actor, org_id)
        now = utcnow()
        moment = _moment(plan.at, _timezone(access.org), now)
        from_year, to_year, _ = await _prepare(db, access.org, plan)
        rollover = Rollover(
            org_id=org_id,
            from_year_id=from_year.id,
            to_year_id=to_year.id,
            class_ids=sorted(set(plan.class_ids)) if plan.class_ids is not None else None,
            leaving_member_ids=list(dict.fromkeys(plan.leaving_member_ids)),
            run_at=moment,
            status=PLANNED,
            undo_hours=plan.undo_hours,
            created_by=actor.id,
            created_at=now,
        )
        db.add(rollover)
        await db.flush()
        data = await rollover_json(db, rollover, access.org)
        await core.audit(
            db, access, "rollover.planned", details={"rollover_id": rollover.id, "run_at": data["run_at"]}
        )
        await core.notify_admins(db, org_id, "rollover.planned", {"org_id": org_id, "rollover": data})
        return data


async def preview_plan(db: AsyncSession, actor: User, org_id: int, plan: RolloverPlan) -> Json:
    """What a plan would do, computed and not stored (admins). Raises as ``plan_rollover``."""
    if db.in_transaction():
        await db.commit()
    try:
        access = await _admin(db, actor, org_id)
        _moment(plan.at, _timezone(access.org), utcnow())
        from_year, to_year, steps = await _prepare(db, access.org, plan)
        return {
            "from_year": years.year_payload(from_year),
            "to_year": years.year_payload(to_year),
            "classes": [step_json(s) for s in steps],
        }
    finally:
        await db.rollback()  # year rows made on demand are not kept by a dry run


async def get_rollover(db: AsyncSession, actor: User, org_id: int, rollover_id: int) -> Json:
    """One rollover with its classes: the preview while planned, the record once run (admins).

    Raises ``org_not_found``, ``forbidden``, ``rollover_not_found``.
    """
    async with transaction(db):
        access = await _admin(db, actor, org_id)
        rollover = await _rollover_in(db, org_id, rollover_id)
        data = await rollover_json(db, rollover, access.org)
        if rollover.status in (PLANNED, CANCELLED):
            steps = await compute_steps(
                db, access.org, year_id=rollover.from_year_id, class_ids=rollover.class_ids,
                leaving=set(rollover.leaving_member_ids),
            )  # fmt: skip
            return data | {"classes": [step_json(s) for s in steps]}
        return data | {"classes": [record_json(r) for r in await _records(db, rollover.id)]}


async def list_rollovers(db: AsyncSession, actor: User, org_id: int) -> list[Json]:
    """The organization's rollovers, newest first (admins). Raises ``org_not_found``, ``forbidden``."""
    async with transaction(db):
        access = await _admin(db, actor, org_id)
        rows = await db.execute(
            select(Rollover).where(Rollover.org_id == org_id).order_by(Rollover.id.desc())
        )
        return [await rollover_json(db, r, access.org) for r in rows.scalars()]


async def cancel_rollover(db: AsyncSession, actor: User, org_id: int, rollover_id: int) -> Json:
    """Cancel a planned rollover before it runs. Emits ``rollover.cancelled`` to the admins.

    Raises ``org_not_found``, ``forbidden`` (``rollover_not_planned``: it ran
    or was cancelled), ``rollover_not_found``.
    """
    async with transaction(db):
        access = await _admin(db, actor, org_id)
        rollover = await _rollover_in(db, org_id, rollover_id)
        require(policy.can_run_rollover(rollover.status), "Перевод уже выполнен или отменён.")
        rollover.status = CANCELLED
        await db.flush()
        data = await rollover_json(db, rollover, access.org)
        await core.audit(db, access, "rollover.cancelled", details={"rollover_id": rollover.id})
        await core.notify_admins(db, org_id, "rollover.cancelled", {"org_id": org_id, "rollover": data})
        return data


# -- running ----------------------------------------------------------------------------------------


async def _claim(db: AsyncSession, rollover_id: int, now: datetime) -> Rollover | None:
    """The conditional UPDATE that makes a run single across processes (see the module doc)."""
    claimed = await db.execute(
        update(Rollover)
        .where(Rollover.id == rollover_id, Rollover.status == PLANNED, Rollover.run_at <= now)
        .values(status=RUNNING)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    query = select(Rollover).where(Rollover.id == rollover_id).execution_options(populate_existing=True)
    return (await db.execute(query)).scalar_one()


async def run_rollover(db: AsyncSession, actor: User, org_id: int, rollover_id: int) -> Json:
    """Run a planned rollover now instead of at its moment (see the module doc for the effect).

    Emits chat events, ``notice.rollover`` to each affected person and
    ``rollover.done`` to the admins. Raises ``org_not_found``, ``forbidden``
    (``rollover_not_planned``), ``rollover_not_found``.
    """
    async with transaction(db):
        access = await _admin(db, actor, org_id)
        rollover = await _rollover_in(db, org_id, rollover_id)
        require(policy.can_run_rollover(rollover.status), "Перевод уже выполнен или отменён.")
        now = utcnow()
        rollover.run_at = now
        await db.flush()
        claimed = await _claim(db, rollover.id, now)
        if claimed is None:  # the row is locked and planned: only a bug gets here
            raise Conflict("Перевод уже выполняется.")
        await _execute(db, claimed, access.org, actor_id=actor.id, now=now)
        return await _with_records(db, claimed, access.org)


async def _with_records(db: AsyncSession, rollover: Rollover, org: Organization) -> Json:
    data = await rollover_json(db, rollover, org)
    return data | {"classes": [record_json(r) for r in await _records(db, rollover.id)]}


async def due_rollovers(db: AsyncSession, now: datetime, limit: int) -> list[int]:
    rows = await db.execute(
        select(Rollover.id)
        .where(Rollover.status == PLANNED, Rollover.run_at <= now)
        .order_by(Rollover.run_at, Rollover.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def apply_rollover(db: AsyncSession, rollover_id: int, now: datetime) -> bool:
    """The scheduler's ``apply``: one due rollover in its own transaction, True if this call ran it.

    The organization's row is locked first, in the order admin actions take
    locks, so a run and an admin's change of the same school never deadlock.
    """
    db.expire_all()  # the scheduler's session outlives transactions; read fresh rows
    async with transaction(db):
        org_id = (
            await db.execute(select(Rollover.org_id).where(Rollover.id == rollover_id))
        ).scalar_one_or_none()
        if org_id is None:
            return False
        org = (
            await db.execute(select(Organization).where(Organization.id == org_id).with_for_update())
        ).scalar_one()
        rollover = await _claim(db, rollover_id, now)
        if rollover is None:
            return False
        await _execute(db, rollover, org, actor_id=rollover.created_by, now=now)
        return True


ROLLOVER_TRANSITION = Transition(name="year.rollover", due=due_rollovers, apply=apply_rollover)


@dataclass(frozen=True)
class _Run:
    org: Organization
    rollover: Rollover
    to_year: SchoolYear
    label: str  # of the year being closed, for archived chat titles
    actor_id: int | None
    now: datetime


async def _execute(
    db: AsyncSession, rollover: Rollover, org: Organization, *, actor_id: int | None, now: datetime
) -> None:
    """Apply the steps (in the claiming transaction) and finish the rollover."""
    from_year = await db.get(SchoolYear, rollover.from_year_id)
    to_year = await db.get(SchoolYear, rollover.to_year_id)
    assert from_year is not None and to_year is not None  # made with the plan, never deleted
    steps = await compute_steps(
        db, org, year_id=from_year.id, class_ids=rollover.class_ids, leaving=set(rollover.leaving_member_ids)
    )
    # Close every class first: "6А → 7А" must free its name before "5А → 6А" takes it.
    for step in steps:
        if step.outcome != SKIPPED:
            step.cls.closed_at = now
            step.cls.norm_key = f"{step.cls.norm_key}@{from_year.id}"
    await db.flush()
    run = _Run(org=org, rollover=rollover, to_year=to_year, label=from_year.label, actor_id=actor_id, now=now)
    records = [await _apply_step(db, run, step) for step in steps]
    rollover.status, rollover.done_at, rollover.done_by = DONE, now, actor_id
    rollover.undo_until = now + timedelta(hours=rollover.undo_hours)
    await db.flush()
    await _notify_all(db, run, records, undone=False)
    summary = {"rollover_id": rollover.id, "classes": [f"{r.old_name}:{r.outcome}" for r in records]}
    _audit(db, org.id, actor_id, "rollover.done", summary)
    data = await rollover_json(db, rollover, org)
    await core.notify_admins(db, org.id, "rollover.done", {"org_id": org.id, "rollover": data})


def _audit(db: AsyncSession, org_id: int, actor_id: int | None, action: str, details: Json) -> None:
    """A scheduled run has no request actor: the entry names the admin who planned (or ran) it."""
    db.add(AuditEntry(org_id=org_id, actor_id=actor_id, action=action, details=details, created_at=utcnow()))


async def _apply_step(db: AsyncSession, run: _Run, step: Step) -> RolloverClass:
    cls = step.cls
    record = RolloverClass(
        rollover_id=run.rollover.id,
        old_class_id=cls.id,
        outcome=step.outcome,
        old_name=cls.name,
        new_name=step.new_name.name if step.new_name else None,
        moved_member_ids=step.students,
        leaving_member_ids=step.leaving,
        archived_chat_ids=[],
        new_chat_ids=[],
        reason=step.reason,
    )
    db.add(record)
    if step.outcome == SKIPPED:
        await db.flush()
        return record
    await _set_class(db, step.leaving, None)
    successors: dict[int, int | None] = dict.fromkeys(step.chat_ids)
    if step.outcome == PROMOTED and step.new_name is not None:
        new = await _new_class(db, run, cls, step.new_name)
        await _set_class(db, step.students, new.id)
        record.new_class_id = new.id
        record.new_chat_ids = [cid for cid in (new.chat_id, new.parents_chat_id) if cid is not None]
        pairs = ((cls.chat_id, new.chat_id), (cls.parents_chat_id, new.parents_chat_id))
        successors |= {old: successor for old, successor in pairs if old in successors}
        await chatsync.sync_classes(db, [new.id])
    record.archived_chat_ids = [
        chat_id for chat_id, successor in successors.items() if await _archive(db, run, chat_id, successor)
    ]
    await db.flush()
    return record


async def _set_class(db: AsyncSession, member_ids: list[int], class_id: int | None) -> None:
    if member_ids:
        await db.execute(
            update(OrgMember)
            .where(OrgMember.id.in_(member_ids))
            .values(class_id=class_id)
            .execution_options(synchronize_session="fetch")
        )


async def _new_class(db: AsyncSession, run: _Run, old: ClassGroup, name: classnames.ClassName) -> ClassGroup:
    """Next year's class with its chats; the old class's teachers and homeroom teacher stay on."""
    new = ClassGroup(
        org_id=old.org_id,
        kind=classnames.CLASS,
        name=name.name,
        norm_key=name.norm_key,
        grade=name.grade,
        letter=name.letter,
        homeroom_member_id=old.homeroom_member_id,
        year_id=run.to_year.id,
        created_at=run.now,
    )
    db.add(new)
    await db.flush()
    await chatsync.create_chats(db, new, created_by=run.actor_id)
    teachers = await db.execute(
        select(ClassGroupMember.member_id).where(
            ClassGroupMember.class_id == old.id, ClassGroupMember.is_teacher.is_(True)
        )
    )
    for member_id in teachers.scalars():
        db.add(ClassGroupMember(class_id=new.id, member_id=member_id, is_teacher=True, created_at=run.now))
    await db.flush()
    return new


async def _archive(db: AsyncSession, run: _Run, chat_id: int, successor_id: int | None) -> bool:
    """Archive last year's chat through the archiving action's claim (``chat.archived``),
    its title marked with the year, pointing at its successor."""
    chat = await db.get(Chat, chat_id)
    if chat is None or chat.archived_at is not None:
        return False
    chat.title = f"{chat.title} · {run.label}"[:128]
    await events.append(
        db, "chat.updated", chat_id=chat.id, payload={"chat_id": chat.id, "title": chat.title}
    )
    chat.archive_at, chat.archive_by, chat.successor_chat_id = run.now, run.actor_id, successor_id
    await db.flush()
    return await archiving.claim_archive(db, chat.id, run.now)


# -- undo -----------------------------------------------------------------------------------------------


async def undo_rollover(db: AsyncSession, actor: User, org_id: int, rollover_id: int) -> Json:
    """Undo a finished rollover within its grace period: the classes, memberships and chats
    are as before it ran (see the module doc).

    Emits chat events, ``notice.rollover_undone`` to each affected person and
    ``rollover.undone`` to the admins. Raises ``org_not_found``, ``forbidden``
    (``rollover_not_done``, ``undo_expired``), ``rollover_not_found``,
    ``conflict`` (a class of the old name was made since).
    """
    async with transaction(db):
        access = await _admin(db, actor, org_id)
        rollover = await _rollover_in(db, org_id, rollover_id)
        now = utcnow()
        within = rollover.undo_until is not None and now <= rollover.undo_until
        require(
            policy.can_undo_rollover(rollover.status, within_grace=within), "Отменить перевод уже нельзя."
        )
        records = [r for r in await _records(db, rollover.id) if r.outcome != SKIPPED]
        olds = await _reopenable(db, org_id, records)
        from_year = await db.get(SchoolYear, rollover.from_year_id)
        to_year = await db.get(SchoolYear, rollover.to_year_id)
        assert from_year is not None and to_year is not None
        run = _Run(
            org=access.org,
            rollover=rollover,
            to_year=to_year,
            label=from_year.label,
            actor_id=actor.id,
            now=now,
        )
        await _notify_all(db, run, records, undone=True)  # while the new classes still exist
        for record in records:
            await _drop_new_class(db, run, record)
        for record in records:
            await _reopen(db, olds[record.old_class_id], record)
        await chatsync.sync_classes(db, [c.id for c in olds.values()])
        rollover.status, rollover.undone_at, rollover.undone_by = UNDONE, now, actor.id
        await db.flush()
        await core.audit(db, access, "rollover.undone", details={"rollover_id": rollover.id})
        data = await rollover_json(db, rollover, access.org)
        await core.notify_admins(db, org_id, "rollover.undone", {"org_id": org_id, "rollover": data})
        return data | {"classes": [record_json(r) for r in await _records(db, rollover.id)]}


def _base_key(key: str) -> str:
    return key.split("@", 1)[0]


async def _reopenable(db: AsyncSession, org_id: int, records: list[RolloverClass]) -> dict[int, ClassGroup]:
    """The old classes, checking that no class made since holds their names."""
    new_ids = {r.new_class_id for r in records if r.new_class_id is not None}
    olds: dict[int, ClassGroup] = {}
    for record in records:
        old = await db.get(ClassGroup, record.old_class_id)
        if old is None:
            raise Conflict(f"Класс {record.old_name} удалён: отменить перевод нельзя.")
        olds[old.id] = old
    taken = {c.norm_key: c for c in await _open_classes(db, org_id) if c.id not in new_ids}
    for old in olds.values():
        if _base_key(old.norm_key) in taken:
            raise Conflict(f"Класс {old.name} уже создан заново: отменить перевод нельзя.")
    return olds


async def _drop_new_class(db: AsyncSession, run: _Run, record: RolloverClass) -> None:
    """Students go back; the new class is deleted, its chats archived pointing back."""
    new = await db.get(ClassGroup, record.new_class_id) if record.new_class_id is not None else None
    old = await db.get(ClassGroup, record.old_class_id)
    if new is None or old is None:
        return
    await db.execute(
        update(OrgMember)
        .where(OrgMember.class_id == new.id)
        .values(class_id=old.id)
        .execution_options(synchronize_session="fetch")
    )
    for new_chat, old_chat in ((new.chat_id, old.chat_id), (new.parents_chat_id, old.parents_chat_id)):
        chat = await db.get(Chat, new_chat) if new_chat is not None else None
        if chat is not None and chat.archived_at is None:
            chat.archive_at, chat.archive_by, chat.successor_chat_id = run.now, run.actor_id, old_chat
            await db.flush()
            await archiving.claim_archive(db, chat.id, run.now)
    await db.execute(delete(ClassGroupMember).where(ClassGroupMember.class_id == new.id))
    await db.execute(
        update(OrgInvite)
        .where(OrgInvite.class_id == new.id, OrgInvite.revoked_at.is_(None))
        .values(revoked_at=run.now)
    )
    await db.delete(new)
    await db.flush()


async def _reopen(db: AsyncSession, old: ClassGroup, record: RolloverClass) -> None:
    if record.leaving_member_ids:
        await db.execute(
            update(OrgMember)
            .where(OrgMember.id.in_(record.leaving_member_ids), OrgMember.class_id.is_(None))
            .values(class_id=old.id)
            .execution_options(synchronize_session="fetch")
        )
    old.closed_at = None
    old.norm_key = _base_key(old.norm_key)
    await db.flush()
    for chat_id in record.archived_chat_ids:
        await archiving.reopen_chat(db, chat_id)
    await chatsync.rename_chats(db, old)


# -- notices ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _People:
    students: list[int]
    parents: list[int]
    teachers: list[int]


async def _people(db: AsyncSession, class_id: int, member_ids: list[int]) -> _People:
    students = await db.execute(
        select(OrgMember.user_id).where(OrgMember.id.in_(member_ids), OrgMember.status == ACTIVE)
    )
    parent = aliased(OrgMember)
    parents = await db.execute(
        select(parent.user_id)
        .join(ParentLink, ParentLink.parent_member_id == parent.id)
        .where(
            ParentLink.child_member_id.in_(member_ids), ParentLink.status == ACTIVE, parent.status == ACTIVE
        )
    )
    teachers = await db.execute(
        select(OrgMember.user_id)
        .join(ClassGroupMember, ClassGroupMember.member_id == OrgMember.id)
        .where(
            ClassGroupMember.class_id == class_id,
            ClassGroupMember.is_teacher.is_(True),
            OrgMember.status == ACTIVE,
        )
    )

    def ids(rows: Iterable[int | None]) -> list[int]:
        return sorted({uid for uid in rows if uid is not None})

    return _People(ids(students.scalars()), ids(parents.scalars()), ids(teachers.scalars()))


def _texts(record: RolloverClass, titles: dict[str, str], *, undone: bool) -> dict[str, str]:
    """The notice per audience (student, parent, teacher), in Russian."""
    old, new = record.old_name, record.new_name
    if undone:
        text = f"Перевод класса {old} в {new} отменён: снова действуют чаты класса {old}."
        if record.outcome == GRADUATED:
            text = f"Выпуск класса {old} отменён: его чаты снова действуют."
        return dict.fromkeys(("student", "parent", "teacher"), text)
    if record.outcome == GRADUATED:
        text = f"Класс {old} выпущен. Его чаты остались в архиве: историю можно читать."
        return dict.fromkeys(("student", "parent", "teacher"), text)
    class_chat, parents_chat = titles.get(chatsync.CLASS, ""), titles.get(chatsync.PARENTS, "")
    return {
        "student": f"Новый учебный год: ваш класс теперь {new}. Новый чат — «{class_chat}», "
        f"старый чат {old} в архиве, историю можно читать.",
        "parent": f"Новый учебный год: класс вашего ребёнка теперь {new}. Чат родителей — "
        f"«{parents_chat}», старый чат родителей {old} в архиве.",
        "teacher": f"Новый учебный год: класс {old} теперь {new}. Новые чаты — «{class_chat}» "
        f"и «{parents_chat}», старые в архиве.",
    }


def _leaving_text(record: RolloverClass, *, undone: bool) -> str:
    if undone:
        return f"Перевод отменён: вы снова в классе {record.old_name}."
    return f"Вы выбыли из класса {record.old_name}. Его прежние чаты остались в архиве."


async def _notify_all(db: AsyncSession, run: _Run, records: list[RolloverClass], *, undone: bool) -> None:
    """``notice.rollover`` (``notice.rollover_undone``) to every person a class's step concerns."""
    kind = "notice.rollover_undone" if undone else "notice.rollover"
    for record in records:
        if record.outcome == SKIPPED:
            continue
        new = await db.get(ClassGroup, record.new_class_id) if record.new_class_id else None
        titles = chatsync.chat_titles(new) if new is not None else {}
        texts = _texts(record, titles, undone=undone)
        base: Json = {
            "org_id": run.org.id,
            "rollover_id": run.rollover.id,
            "class_id": record.old_class_id,
            "class_name": record.old_name,
            "outcome": record.outcome,
            "archived_chat_ids": record.archived_chat_ids,
        }
        if record.new_class_id is not None:
            base |= {"new_class_id": record.new_class_id, "new_class_name": record.new_name}
            base["new_chat_ids"] = record.new_chat_ids
        people = await _people(db, record.old_class_id, record.moved_member_ids)
        for audience, users in (
            ("student", people.students),
            ("parent", people.parents),
            ("teacher", people.teachers),
        ):
            await events.append_for_users(
                db, kind, users, base | {"audience": audience, "text": texts[audience]}
            )
        gone = await _people(db, record.old_class_id, record.leaving_member_ids)
        text = _leaving_text(record, undone=undone)
        await events.append_for_users(
            db, kind, [*gone.students, *gone.parents], base | {"audience": "leaving", "text": text}
        )
