"""Roster import: a school's list of people (CSV or XLSX) becomes members,
classes and parent links.

The file is read and every row checked first; a bad row is reported with its
line number and a Russian reason and does not stop the others. The writes then
go row by row through the ordinary actions (``create_class_group``,
``add_member``, ``link_parent``) as the importing admin, so each change has its
audit entry and events and obeys the same rules as adding people by hand. Each
row is its own transaction: a long file does not hold the organization's lock
for minutes, and a failure halfway keeps the rows before it. People already in
the organization are skipped, so running a file again changes nothing and
finishes an interrupted import.

What the import does not do: move people already in the organization to another
class or role, or make teachers teachers of a class (the class column is used
for students only; a parent's class follows from the child's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta.db.engine import transaction
from parta.db.tables import ClassGroup, OrgMember, ParentLink, User
from parta.errors import Conflict, ErrorCode, InvalidInput, NotFound, PartaError, org_not_found
from parta.migration import reconcile, tabular
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
    "класс": "class", "class": "class",
    "телефон": "phone", "phone": "phone",
    "ребенок": "child", "child": "child",
}  # fmt: skip
REQUIRED = {"name": "ФИО", "role": "роль", "phone": "телефон"}

# "администратор" becomes an additional admin, never the (main) admin: the main
# admin appoints and removes admins, a power no spreadsheet cell should grant.
# The school's admin promotes someone by hand if that is really meant.
ROLES: dict[str, OrgRole] = {
    "учитель": OrgRole.teacher, "учительница": OrgRole.teacher, "педагог": OrgRole.teacher,
    "teacher": OrgRole.teacher,
    "ученик": OrgRole.student, "ученица": OrgRole.student, "student": OrgRole.student,
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


def _class(raw: str) -> classnames.ClassName | None:
    if not raw:
        return None
    try:
        return classnames.normalize_class(raw)
    except PartaError as exc:
        raise InvalidInput(f"Класс «{raw}»: {exc.message}", field="class") from None


def check_row(line: int, cells: dict[str, str]) -> Person:
    """One row as a person; ``invalid_request``/``invalid_phone`` with the reason otherwise."""
    return Person(
        line=line,
        name=_name(cells["name"]),
        role=_role(cells["role"]),
        phone=_phone(cells["phone"]),
        class_name=_class(cells.get("class", "")),
        child=" ".join(cells.get("child", "").split()),
    )


def _people(rows: list[Row], report: RosterReport) -> list[Person]:
    """Valid, distinct people; the rest go to ``report.rejected``."""
    people: list[Person] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        try:
            person = check_row(line, cells)
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
    query = select(ClassGroup.norm_key, ClassGroup.id).where(
        ClassGroup.org_id == org_id, ClassGroup.kind == classnames.CLASS
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
    async with transaction(db):
        # Rights before the file: someone who may not import learns nothing from its errors.
        await core.load_org_for_admin(db, actor, org_id)
        rows = read()
        report = RosterReport(rows=len(rows))
        people = _people(rows, report)
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

    Each write is the ordinary action's (its events and audit entries:
    ``class.created``, ``org.member_added``, ``org.joined``,
    ``parent_link.created``, chat events), in a transaction per row. People
    already in the organization are counted as ``existing`` and left alone, so
    a second run changes nothing. Every row is kept as a listing for the
    reconciliation report. ``progress(done, total)`` follows the rows.
    Raises what ``check_roster`` raises, before writing anything.
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
    plan = await _plan(db, actor, org_id, read)
    report = plan.report
    failed = await _create_classes(db, actor, org_id, plan)
    total = len(plan.people) + len(plan.links)
    for done, person in enumerate(plan.people, start=1):
        await _add(db, actor, org_id, person, plan, failed)
        if progress is not None:
            progress(done, total)
    await _link(db, actor, org_id, plan, progress=progress, done=len(plan.people), total=total)
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


async def _add(
    db: AsyncSession, actor: User, org_id: int, person: Person, plan: _Plan, failed: dict[str, str]
) -> None:
    report = plan.report
    class_id = None
    if person.role is OrgRole.student and person.class_name is not None:
        key = person.class_name.norm_key
        if key in failed:
            report.rejected.append(Rejected(person.line, failed[key]))
            return
        class_id = plan.classes.get(key)
    new = NewMember(phone=person.phone, role=person.role, class_id=class_id, name=person.name)
    try:
        view = await members.add_member(db, actor, org_id, new)
    except Conflict:  # added meanwhile (by hand, or by a parallel import)
        report.existing += 1
        return
    except PartaError as exc:
        report.rejected.append(Rejected(person.line, exc.message))
        return
    if view.member.status == ACTIVE:
        report.created += 1
    else:
        report.pending += 1


async def _link(
    db: AsyncSession,
    actor: User,
    org_id: int,
    plan: _Plan,
    *,
    progress: Progress | None,
    done: int,
    total: int,
) -> None:
    by_phone = await _members_by_phone(db, org_id)
    linked = await _linked(db, org_id)
    await db.commit()  # ends the read; nothing was written
    for parent, child_phone in plan.links:
        done += 1
        if progress is not None:
            progress(done, total)
        parent_member, child_member = by_phone.get(parent.phone), by_phone.get(child_phone)
        if parent_member is None or child_member is None:
            continue  # the parent's or the child's own row was refused and says why
        if (parent_member.member_id, child_member.member_id) in linked:
            continue
        try:
            await parent_links.link_parent(
                db,
                actor,
                org_id,
                parent_member_id=parent_member.member_id,
                child_member_id=child_member.member_id,
            )
        except Conflict:
            continue
        except PartaError as exc:
            plan.report.rejected.append(Rejected(parent.line, exc.message))
            continue
        plan.report.parents_linked += 1


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
