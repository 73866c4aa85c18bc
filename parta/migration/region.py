"""Region import: one CSV file with the people of many schools, for an education
authority moving a whole region at once.

The file is the roster's columns plus the school (``Организация`` and/or
``ИНН``). It is read as a stream (``tabular.stream_csv``): rows of one school
follow each other, and only one school's rows are held at a time, so memory
stays flat however large the file (the per-school limit of 5,000 rows stays).
Each school is found (by INN, else by exact name among the importer's own
organizations) or created with the importer as its admin, then its rows go
through the roster import (``roster.import_rows``): the same checks, events,
reconciliation listings and batched transactions (``parta.migration.bulk``) as
a school's own upload. A school whose rows are split across the file is simply
found again. An interrupted run is finished by running the file again: schools
are found, people already there are counted as existing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parta.db.tables import Organization, OrgMember, User
from parta.errors import InvalidInput, PartaError
from parta.migration import roster, tabular
from parta.migration.tabular import Row
from parta.orgs import organizations
from parta.orgs import validation as v
from parta.orgs.core import ACTIVE
from parta.policy import ADMIN_ROLES, OrgKind

COLUMNS = roster.COLUMNS | {
    "организация": "org", "org": "org", "organization": "org", "школа": "org", "school": "org",
    "инн": "inn", "inn": "inn",
}  # fmt: skip
MAX_KEPT_REJECTED = 1000  # the count is exact; the list of reasons stops here


@dataclass(frozen=True)
class OrgRef:
    """A school as the file names it."""

    inn: str
    name: str

    @property
    def key(self) -> str:
        return self.inn or " ".join(self.name.casefold().replace("ё", "е").split())

    @property
    def label(self) -> str:
        return self.name or f"ИНН {self.inn}"


@dataclass(frozen=True)
class RegionRejected:
    line: int
    org: str
    reason: str


@dataclass
class RegionReport:
    rows: int = 0
    orgs_created: int = 0
    orgs_found: int = 0
    created: int = 0
    pending: int = 0
    existing: int = 0
    classes_created: int = 0
    parents_linked: int = 0
    rejected_count: int = 0
    rejected: list[RegionRejected] = field(default_factory=list)

    def reject(self, line: int, org: str, reason: str, *, rows: int = 1) -> None:
        self.rejected_count += rows
        if len(self.rejected) < MAX_KEPT_REJECTED:
            self.rejected.append(RegionRejected(line, org, reason))

    def add(self, org: str, school: roster.RosterReport) -> None:
        for name, count in school.summary().items():
            if name != "rejected":
                setattr(self, name, getattr(self, name) + count)
        for row in school.rejected:
            self.reject(row.line, org, row.reason)

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "orgs_created": self.orgs_created,
            "orgs_found": self.orgs_found,
            "created": self.created,
            "pending": self.pending,
            "existing": self.existing,
            "classes_created": self.classes_created,
            "parents_linked": self.parents_linked,
            "rejected": self.rejected_count,
        }


@dataclass
class School:
    """One school's run of consecutive rows; ``count`` goes on past the kept rows."""

    ref: OrgRef
    rows: list[Row] = field(default_factory=list)
    count: int = 0


def schools(rows: Iterator[Row]) -> Iterator[School]:
    """Consecutive rows of one school, a school at a time; at most ``MAX_ROWS + 1`` kept."""
    current: School | None = None
    for line, cells in rows:
        if current is None and "org" not in cells and "inn" not in cells:
            raise tabular.bad_file("В первой строке нет столбца «Организация» или «ИНН».")
        ref = OrgRef(inn=cells.get("inn", "").strip(), name=" ".join(cells.get("org", "").split()))
        if current is None or ref.key != current.ref.key:
            if current is not None:
                yield current
            current = School(ref)
        current.count += 1
        if len(current.rows) <= roster.MAX_ROWS:
            current.rows.append((line, cells))
    if current is not None:
        yield current


async def _existing_org(db: AsyncSession, actor: User, ref: OrgRef) -> Organization | None:
    if ref.inn:
        query = select(Organization).where(Organization.inn == v.check_inn(ref.inn))
    else:
        query = (
            select(Organization)
            .join(OrgMember, OrgMember.org_id == Organization.id)
            .where(
                or_(Organization.full_name == ref.name, Organization.short_name == ref.name),
                OrgMember.user_id == actor.id,
                OrgMember.status == ACTIVE,
                OrgMember.role.in_([r.value for r in ADMIN_ROLES]),
            )
        )
    org = (await db.execute(query.order_by(Organization.id).limit(1))).scalar_one_or_none()
    await db.commit()  # ends the read
    return org


async def _organization(
    db: AsyncSession, actor: User, ref: OrgRef, *, region: str, parent_id: int | None
) -> tuple[int, bool]:
    """The school's id and whether it was created now. Raises ``invalid_request`` and
    what ``organizations.create_org`` raises."""
    org = await _existing_org(db, actor, ref)
    if org is not None:
        return org.id, False
    if not ref.name:
        raise InvalidInput(f"Организации с ИНН {ref.inn} нет, а названия нет в файле: не создать.")
    new = organizations.NewOrg(
        kind=OrgKind.school,
        full_name=ref.name[: v.MAX_FULL_NAME],
        short_name=ref.name[: v.MAX_SHORT_NAME],
        region=region,
        inn=ref.inn or None,
        parent_id=parent_id,
    )
    access = await organizations.create_org(db, actor, new)
    return access.org.id, True


Progress = Callable[[int], None]


async def import_region(
    db: AsyncSession,
    actor: User,
    path: Path,
    *,
    region: str,
    parent_id: int | None = None,
    progress: Progress | None = None,
) -> RegionReport:
    """Import a region file, school by school (see the module's docstring).

    A school that cannot be found or made (a bad INN, no right to import into
    it, more than 5,000 rows) has all its rows refused with the reason; the
    others go on. ``progress(rows)`` is told of each school's rows when done.
    Raises ``invalid_request`` (field ``file``) for an unreadable file or
    header, ``file_empty``; the schools before such an error stay imported.
    """
    report = RegionReport()
    for school in schools(tabular.stream_csv(path, COLUMNS, roster.REQUIRED)):
        report.rows += school.count
        await _import_school(db, actor, school, report, region=region, parent_id=parent_id)
        if progress is not None:
            progress(school.count)
    return report


async def _import_school(
    db: AsyncSession, actor: User, school: School, report: RegionReport, *, region: str, parent_id: int | None
) -> None:
    label = school.ref.label
    if not school.ref.key:
        for line, _ in school.rows:
            report.reject(line, label, "Не указана организация.")
        return
    if school.count > roster.MAX_ROWS:
        first = school.rows[0][0]
        reason = f"У организации больше {roster.MAX_ROWS} строк: она пропущена."
        report.reject(first, label, reason, rows=school.count)
        return
    try:
        org_id, created = await _organization(db, actor, school.ref, region=region, parent_id=parent_id)
        result = await roster.import_rows(db, actor, org_id, lambda: school.rows)
    except PartaError as exc:
        await db.refresh(actor)  # the rollback expired it; the next school reads it again
        await db.commit()
        for line, _ in school.rows:
            report.reject(line, label, exc.message)
        return
    report.orgs_created += created
    report.orgs_found += not created
    report.add(label, result)
