"""Roster import: a school's list of people (CSV or XLSX) becomes members,
classes and parent links.

The file is read and every row checked first; a bad row is reported with its
line number and a Russian reason and does not stop the others. Missing classes
are made by the ordinary action (``create_class_group``). People and parent
links are then written in batches of ``bulk.BATCH`` per transaction
(``parta.migration.bulk``), each batch ending as the ordinary actions
(``add_member``, ``link_parent``) would end row by row as the importing admin:
the same audit entries and events, the same rules, the class chats synced once
per batch instead of once per row. A batch does not hold the organization's
lock for long, and a failure halfway keeps the batches before it. Rows the
batch cannot take plainly (someone with an account, whose safe mode needs the
reach checks; anything changed meanwhile) go through the actions one by one.
People already in the organization are skipped, so running a file again
changes nothing and finishes an interrupted import. ``import_rows_by_actions``
writes every row through the actions: the reference the batches are tested
against.

What the import does not do: move people already in the organization to another
class or role, or make teachers teachers of a class (the class column is used
for students only; a parent's class follows from the child's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parta.db.engine import transaction
from parta.db.tables import ClassGroup, OrgMember, ParentLink, User
from parta.errors import Conflict, ErrorCode, InvalidInput, NotFound, PartaError, org_not_found
from parta.migration import bulk, reconcile, tabular
from parta.migration.tabular import Row
from parta.orgs import classes, classnames, core, members, parent_links
from parta.orgs.core import ACTIVE
from parta.orgs.members import NewMember
from parta.phones import normalize_phone
from parta.policy import OrgRole
from parta.text import require_printable

MAX_ROSTER_BYTES = tabular.MAX_FILE_BYTES
MAX_ROWS = tabular.MAX_ROWS

# Header spellings, compared lowercased with ё as е and whitespace collapsed.
COLUMNS: dict[str, str] = {
    "фио": "name", "full name": "name", "name": "name", "имя": "name",
    "роль": "role", "role": "role",
    "класс": "class", "class": "class", "группа": "class",  # a kindergarten's preschool group
    "телефон": "phone", "phone": "phone",
    "ребенок": "child", "child": "child",
}  # fmt: skip
REQUIRED = {"name": "ФИО", "role": "роль", "phone": "телефон"}

# "администратор" becomes an additional admin, never the (main) admin: the main
# admin appoints and removes admins, a power no spreadsheet cell should grant.
# The school's admin promotes someone by hand if that is really meant.
ROLES: dict[str, OrgRole] = {
    "учитель": OrgRole.teacher, "учительница": OrgRole.teacher, "педагог": OrgRole.teacher,
    "teacher": OrgRole.teacher, "воспитатель": OrgRole.teacher,
    "ученик": OrgRole.student, "ученица": OrgRole.student, "student": OrgRole.student,
    "воспитанник": OrgRole.student, "воспитанница": OrgRole.student,
    "родитель": OrgRole.parent, "parent": OrgRole.parent,
    "администратор": OrgRole.additional_admin, "admin": OrgRole.additional_admin,
    "сотрудник": OrgRole.staff, "staff": OrgRole.staff,
}  # fmt: skip


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass
class RosterReport:
    """What an import did (or, for a check, would do)."""

    rows: int = 0
    created: int = 0  # active members: the phone has an account
    pending: int = 0  # waiting for the first sign-in with the phone
    existing: int = 0  # already in the organization, left as they are
    classes_created: int = 0
    parents_linked: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "created": self.created,
            "pending": self.pending,
            "existing": self.existing,
            "rejected": len(self.rejected),
            "classes_created": self.classes_created,
            "parents_linked": self.parents_linked,
        }


@dataclass(frozen=True)
class Person:
    line: int
    name: str
    role: OrgRole
    phone: str
    class_name: classnames.ClassName | None
    child: str  # a parent's child: a phone or a name as written; "" if none


# --- Reading the file -----------------------------------------------------------


def read_roster(data: bytes) -> list[Row]:
    """The file's rows as (line number, column -> text); the header is found by name.

    Raises ``file_empty``, ``file_too_large``, ``invalid_request`` (field ``file``).
    """
    return tabular.read_table(data, COLUMNS, REQUIRED)


# --- Checking rows --------------------------------------------------------------


def _name(raw: str) -> str:
    name = " ".join(require_printable(raw, "name").split())
    if not name:
        raise InvalidInput("Не указано ФИО.", field="name")
    if len(name) > members.MAX_NAME:
        raise InvalidInput(f"ФИО не длиннее {members.MAX_NAME} символов.", field="name")
    return name


def _role(raw: str) -> OrgRole:
    if not raw:
        raise InvalidInput("Не указана роль.", field="role")
    role = ROLES.get(tabular.header_key(raw))
    if role is None:
        raise InvalidInput(
            f"Неизвестная роль «{raw}»: учитель, ученик, родитель, администратор или сотрудник.",
            field="role",
        )
    return role


def _phone(raw: str) -> str:
    if not raw:
        raise InvalidInput("Не указан телефон.", field="phone")
    return normalize_phone(raw)


def _class(raw: str, kind: str) -> classnames.ClassName | None:
    if not raw:
        return None
    try:
        return classnames.normalize(kind, raw)
    except PartaError as exc:
        raise InvalidInput(f"Класс «{raw}»: {exc.message}", field="class") from None


def check_row(line: int, cells: dict[str, str], class_kind: str = classnames.CLASS) -> Person:
    """One row as a person; ``invalid_request``/``invalid_phone`` with the reason otherwise.
    ``class_kind``: a kindergarten's class column names preschool groups (free-form)."""
    return Person(
        line=line,
        name=_name(cells["name"]),
        role=_role(cells["role"]),
        phone=_phone(cells["phone"]),
        class_name=_class(cells.get("class", ""), class_kind),
        child=" ".join(cells.get("child", "").split()),
    )


def _people(rows: list[Row], report: RosterReport, class_kind: str) -> list[Person]:
    """Valid, distinct people; the rest go to ``report.rejected``."""
    people: list[Person] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        try:
            person = check_row(line, cells, class_kind)
        except PartaError as exc:
            report.rejected.append(Rejected(line, exc.message))
            continue
        if person.phone in seen:
            report.rejected.append(
                Rejected(line, f"Повтор: этот телефон уже есть в строке {seen[person.phone]}.")
            )
            continue
        seen[person.phone] = line
        people.append(person)
    return people


def _name_key(name: str) -> str:
    return " ".join(name.casefold().replace("ё", "е").split())


def _child_phone(parent: Person, students: dict[str, Person], known_students: set[str]) -> str:
    """The phone of a parent's child: by phone, or by exact name among this file's students."""
    try:
        phone = normalize_phone(parent.child)
    except PartaError:
        phone = ""
    if phone:
        if phone in known_students or any(s.phone == phone for s in students.values()):
            return phone
        raise InvalidInput(f"Ребёнок с телефоном {parent.child} не найден среди учеников.", field="child")
    matches = [s for s in students.values() if _name_key(s.name) == _name_key(parent.child)]
    if len(matches) > 1:
        raise InvalidInput(
            f"Учеников «{parent.child}» в файле несколько: укажите телефон ребёнка.", field="child"
        )
    if not matches:
        raise InvalidInput(f"Ребёнок «{parent.child}» не найден среди учеников этого файла.", field="child")
    return matches[0].phone


# --- The organization as it is ------------------------------------------------------


@dataclass
class _Plan:
    """The file against the organization's current state."""

    report: RosterReport
    listings: list[reconcile.Listing]  # every row, for the reconciliation report
    people: list[Person]  # valid people not yet in the organization
    links: list[tuple[Person, str]]  # a parent and the phone of their child
    members: dict[str, _Known]  # phone -> membership, active or pending
    classes: dict[str, int]  # class key -> id
    accounts: set[str]  # phones with an account


@dataclass(frozen=True)
class _Known:
    """A membership as plain values, still valid after its transaction ends."""

    member_id: int
    role: str


async def _members_by_phone(db: AsyncSession, org_id: int) -> dict[str, _Known]:
    query = (
        select(OrgMember.id, OrgMember.role, OrgMember.phone, User.phone)
        .outerjoin(User, User.id == OrgMember.user_id)
        .where(OrgMember.org_id == org_id)
    )
    found: dict[str, _Known] = {}
    for member_id, role, pending_phone, user_phone in await db.execute(query):
        phone = pending_phone or user_phone
        if phone:
            found[phone] = _Known(member_id, role)
    return found


async def _classes_by_key(db: AsyncSession, org_id: int) -> dict[str, int]:
    # A school has classes, a kindergarten preschool groups; their keys never meet.
    query = select(ClassGroup.norm_key, ClassGroup.id).where(
        ClassGroup.org_id == org_id, ClassGroup.kind.in_((classnames.CLASS, classnames.PRESCHOOL))
    )
    return {key: class_id for key, class_id in (await db.execute(query))}


async def _accounts(db: AsyncSession, phones: list[str]) -> set[str]:
    if not phones:
        return set()
    return set((await db.execute(select(User.phone).where(User.phone.in_(phones)))).scalars())


def _resolve_parents(
    people: list[Person], known: dict[str, _Known], report: RosterReport
) -> list[tuple[Person, str]]:
    """Parents matched to their children; a parent whose child is not found is rejected."""
    students = {p.phone: p for p in people if p.role is OrgRole.student}
    known_students = {phone for phone, m in known.items() if m.role == OrgRole.student.value}
    links: list[tuple[Person, str]] = []
    for person in list(people):
        if person.role is not OrgRole.parent or not person.child:
            continue
        try:
            links.append((person, _child_phone(person, students, known_students)))
        except PartaError as exc:
            report.rejected.append(Rejected(person.line, exc.message))
            people.remove(person)
    return links


async def _plan(db: AsyncSession, actor: User, org_id: int, read: Callable[[], list[Row]]) -> _Plan:
    rows = await tabular.read_as_admin(db, actor, org_id, read)
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        report = RosterReport(rows=len(rows))
        people = _people(rows, report, classnames.kind_in(access.org.kind, classnames.CLASS))
        known = await _members_by_phone(db, org_id)
        links = _resolve_parents(people, known, report)
        report.existing = sum(1 for p in people if p.phone in known)
        new = [p for p in people if p.phone not in known]
        plan = _Plan(
            report=report,
            listings=[_listing(line, cells) for line, cells in rows],
            people=new,
            links=links,
            members=known,
            classes=await _classes_by_key(db, org_id),
            accounts=await _accounts(db, [p.phone for p in new]),
        )
        plan.report.rejected.sort(key=lambda r: r.line)
        return plan


async def _linked(db: AsyncSession, org_id: int) -> set[tuple[int, int]]:
    query = select(ParentLink.parent_member_id, ParentLink.child_member_id).where(
        ParentLink.org_id == org_id, ParentLink.status == ACTIVE
    )
    return {(parent, child) for parent, child in await db.execute(query)}


def _new_class_keys(plan: _Plan) -> dict[str, classnames.ClassName]:
    wanted = {
        p.class_name.norm_key: p.class_name for p in plan.people if p.role is OrgRole.student and p.class_name
    }
    return {key: name for key, name in wanted.items() if key not in plan.classes}


# --- Actions --------------------------------------------------------------------


async def check_roster(db: AsyncSession, actor: User, org_id: int, data: bytes) -> RosterReport:
    """What importing the file would do, from the organization's current state; writes nothing.

    Raises ``org_not_found``, ``forbidden`` (not an admin), ``file_empty``,
    ``file_too_large``, ``invalid_request`` (field ``file``: unreadable, no
    header). A row refused only at writing (an additional admin adding an
    additional admin) shows up in the real import's report, not here.
    """
    plan = await _plan(db, actor, org_id, lambda: read_roster(data))
    report = plan.report
    report.classes_created = len(_new_class_keys(plan))
    report.created = sum(1 for p in plan.people if p.phone in plan.accounts)
    report.pending = len(plan.people) - report.created
    linked = await _linked(db, org_id)
    for parent, child_phone in plan.links:
        known_parent, known_child = plan.members.get(parent.phone), plan.members.get(child_phone)
        if (
            known_parent is None
            or known_child is None
            or (known_parent.member_id, known_child.member_id) not in linked
        ):
            report.parents_linked += 1
    await db.commit()  # ends the read; nothing was written
    return report


Progress = Callable[[int, int], None]


async def import_roster(
    db: AsyncSession, actor: User, org_id: int, data: bytes, *, progress: Progress | None = None
) -> RosterReport:
    """Import the file: create missing classes, add new people, link parents to children.

    Each class is created by the ordinary action; people and parent links are
    written in batches (``bulk``) that end as the ordinary actions would
    (``add_member``, ``link_parent``), with the same audit entries and events:
    ``class.created``, ``org.member_added``, ``org.joined``,
    ``parent_link.created``, chat events (one ``chat.member_added`` per chat
    and batch). People already in the organization are counted as
    ``existing`` and left alone, so a second run changes nothing, and a run
    interrupted after some batches is finished by running it again. Every row
    is kept as a listing for the reconciliation report. ``progress(done,
    total)`` follows the rows. Raises what ``check_roster`` raises, before
    writing anything.
    """
    return await import_rows(db, actor, org_id, lambda: read_roster(data), progress=progress)


async def import_rows(
    db: AsyncSession,
    actor: User,
    org_id: int,
    read: Callable[[], list[Row]],
    *,
    progress: Progress | None = None,
) -> RosterReport:
    """``import_roster`` for rows already read (``read`` runs after the rights check):
    a region file gives each school's rows this way."""
    return await _import(db, actor, org_id, read, BATCHED, progress)


async def import_rows_by_actions(
    db: AsyncSession,
    actor: User,
    org_id: int,
    read: Callable[[], list[Row]],
    *,
    progress: Progress | None = None,
) -> RosterReport:
    """``import_rows`` with every person and link through the ordinary actions, each in
    its own transaction: the reference the batched import is tested against (the
    same members, classes, links, chats and audit entries), at a few dozen rows/s."""
    return await _import(db, actor, org_id, read, BY_ACTIONS, progress)


@dataclass(frozen=True)
class _Writes:
    """How people and parent links are written: in batches, or row by row."""

    batch: int
    people: Callable[[AsyncSession, User, int, _Plan, dict[str, str], list[Person]], Awaitable[None]]
    links: Callable[[AsyncSession, User, int, _Plan, list[_NewLink]], Awaitable[None]]


@dataclass(frozen=True)
class _NewLink:
    parent: Person
    parent_member: _Known
    child_member: _Known


async def _import(
    db: AsyncSession,
    actor: User,
    org_id: int,
    read: Callable[[], list[Row]],
    writes: _Writes,
    progress: Progress | None,
) -> RosterReport:
    plan = await _plan(db, actor, org_id, read)
    report = plan.report
    failed = await _create_classes(db, actor, org_id, plan)
    total = len(plan.people) + len(plan.links)
    step = writes.batch
    for start in range(0, len(plan.people), step):
        await writes.people(db, actor, org_id, plan, failed, plan.people[start : start + step])
        if progress is not None:
            progress(min(start + step, len(plan.people)), total)
    links = await _links_to_make(db, org_id, plan)
    for start in range(0, len(links), step):
        await writes.links(db, actor, org_id, plan, links[start : start + step])
        if progress is not None:
            progress(len(plan.people) + min(start + step, len(links)), total)
    if progress is not None:
        progress(total, total)
    async with transaction(db):
        await reconcile.record_listings(
            db, org_id, source=reconcile.ROSTER, chat_id=None, listings=plan.listings
        )
    report.rejected.sort(key=lambda r: r.line)
    return report


def _listing(line: int, cells: dict[str, str]) -> reconcile.Listing:
    """A row as listed, whatever its faults: a bad phone is an unknown phone."""
    try:
        phone: str | None = normalize_phone(cells.get("phone", ""))
    except PartaError:
        phone = None
    role = ROLES.get(tabular.header_key(cells.get("role", "")))
    return reconcile.Listing(
        line=line,
        name=cells.get("name", ""),
        phone=phone,
        role=role.value if role is not None else "",
        class_name=cells.get("class", ""),
    )


async def _create_classes(db: AsyncSession, actor: User, org_id: int, plan: _Plan) -> dict[str, str]:
    """Create the students' missing classes; returns class key -> reason for those that failed."""
    failed: dict[str, str] = {}
    for key, name in _new_class_keys(plan).items():
        try:
            created = await classes.create_class_group(db, actor, org_id, classnames.CLASS, name.name)
        except Conflict:  # created meanwhile by someone else
            plan.classes = await _classes_by_key(db, org_id)
            continue
        except PartaError as exc:
            failed[key] = f"Класс {name.name} не создан: {exc.message}"
            continue
        class_id = created["id"]
        assert isinstance(class_id, int)
        plan.classes[key] = class_id
        plan.report.classes_created += 1
    return failed


def _class_id(person: Person, plan: _Plan, failed: dict[str, str]) -> int | None:
    """The student's class; raises ``_ClassFailed`` if it could not be created."""
    if person.role is not OrgRole.student or person.class_name is None:
        return None
    key = person.class_name.norm_key
    if key in failed:
        raise _ClassFailed(failed[key])
    return plan.classes.get(key)


class _ClassFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Writing row by row ------------------------------------------------------------


async def _add_each(
    db: AsyncSession, actor: User, org_id: int, plan: _Plan, failed: dict[str, str], people: list[Person]
) -> None:
    for person in people:
        await _add(db, actor, org_id, person, plan, failed)


async def _add(
    db: AsyncSession, actor: User, org_id: int, person: Person, plan: _Plan, failed: dict[str, str]
) -> None:
    report = plan.report
    try:
        class_id = _class_id(person, plan, failed)
    except _ClassFailed as exc:
        report.rejected.append(Rejected(person.line, exc.reason))
        return
    new = NewMember(phone=person.phone, role=person.role, class_id=class_id, name=person.name)
    try:
        view = await members.add_member(db, actor, org_id, new)
    except PartaError as exc:
        await db.refresh(actor)  # the rollback expired it; the next row reads it
        if isinstance(exc, Conflict):  # added meanwhile (by hand, or by a parallel import)
            report.existing += 1
        else:
            report.rejected.append(Rejected(person.line, exc.message))
        return
    if view.member.status == ACTIVE:
        report.created += 1
    else:
        report.pending += 1


async def _links_to_make(db: AsyncSession, org_id: int, plan: _Plan) -> list[_NewLink]:
    """The file's parent links whose parent and child are members now and not linked yet."""
    by_phone = await _members_by_phone(db, org_id)
    linked = await _linked(db, org_id)
    await db.commit()  # ends the read; nothing was written
    wanted: list[_NewLink] = []
    for parent, child_phone in plan.links:
        parent_member, child_member = by_phone.get(parent.phone), by_phone.get(child_phone)
        if parent_member is None or child_member is None:
            continue  # the parent's or the child's own row was refused and says why
        if (parent_member.member_id, child_member.member_id) not in linked:
            wanted.append(_NewLink(parent, parent_member, child_member))
    return wanted


async def _link_each(db: AsyncSession, actor: User, org_id: int, plan: _Plan, links: list[_NewLink]) -> None:
    for link in links:
        try:
            await parent_links.link_parent(
                db,
                actor,
                org_id,
                parent_member_id=link.parent_member.member_id,
                child_member_id=link.child_member.member_id,
            )
        except PartaError as exc:
            await db.refresh(actor)  # the rollback expired it; the next link reads it
            if not isinstance(exc, Conflict):
                plan.report.rejected.append(Rejected(link.parent.line, exc.message))
            continue
        plan.report.parents_linked += 1


# --- Writing in batches --------------------------------------------------------------


async def _add_batch(
    db: AsyncSession, actor: User, org_id: int, plan: _Plan, failed: dict[str, str], people: list[Person]
) -> None:
    """A batch through ``bulk.add_people``; people with an account, and the whole batch
    when something is unusual (rights gone, a row added meanwhile), through the action."""
    refused: list[Rejected] = []
    todo: list[bulk.NewPerson] = []
    for person in people:
        try:
            class_id = _class_id(person, plan, failed)
        except _ClassFailed as exc:
            refused.append(Rejected(person.line, exc.reason))
            continue
        todo.append(bulk.NewPerson(person.line, person.phone, person.name, person.role, class_id))
    try:
        added = await bulk.add_people(db, actor, org_id, todo)
    except (PartaError, IntegrityError):
        await db.refresh(actor)  # the rollback expired it
        await _add_each(db, actor, org_id, plan, failed, people)
        return
    report = plan.report
    report.rejected += refused + [Rejected(line, reason) for line, reason in added.rejected]
    report.pending += len(added.pending)
    report.existing += len(added.existing)
    by_line = {person.line: person for person in people}
    await _add_each(db, actor, org_id, plan, failed, [by_line[p.line] for p in added.accounts])


async def _link_batch(db: AsyncSession, actor: User, org_id: int, plan: _Plan, links: list[_NewLink]) -> None:
    """A batch through ``bulk.link_parents``; the whole batch through the action when
    something is unusual (a child who is no student, a link made meanwhile)."""
    todo = [
        bulk.NewLink(link.parent.line, link.parent_member.member_id, link.child_member.member_id)
        for link in links
    ]
    try:
        plan.report.parents_linked += await bulk.link_parents(db, actor, org_id, todo)
    except (bulk.Unusual, PartaError, IntegrityError):
        await db.refresh(actor)  # the rollback expired it
        await _link_each(db, actor, org_id, plan, links)


BATCHED = _Writes(batch=bulk.BATCH, people=_add_batch, links=_link_batch)
BY_ACTIONS = _Writes(batch=1, people=_add_each, links=_link_each)


async def importing_admin(db: AsyncSession, org_id: int, phone: str | None) -> User:
    """Who imports from the command line: the account with ``phone``, else the org's first admin.

    Whether they may is the import's own check. Raises ``org_not_found`` (no
    such organization, or no admin in it), ``invalid_phone``,
    ``user_not_found``.
    """
    if phone is not None:
        query = select(User).where(User.phone == normalize_phone(phone))
        user = (await db.execute(query)).scalar_one_or_none()
        if user is None:
            raise NotFound("Нет пользователя с таким телефоном.", code=ErrorCode.user_not_found)
        return user
    first_admin = (
        select(User)
        .join(OrgMember, OrgMember.user_id == User.id)
        .where(OrgMember.org_id == org_id, OrgMember.role == OrgRole.admin.value, OrgMember.status == ACTIVE)
        .order_by(OrgMember.id)
        .limit(1)
    )
    admin = (await db.execute(first_admin)).scalar_one_or_none()
    if admin is None:
        raise org_not_found()
    return admin
