"""School years: each class belongs to one ("2025/26"), and the rollover moves classes
from one year to the next (parta/orgs/rollover.py).

- A year runs from 1 September to 31 August unless the organization set its own
  dates ("MM-DD", e.g. a college's 1 September - 30 June). The summer gap, if any,
  still belongs to the year that just ended, until the next one starts.
- Year rows are made on demand (the first class of a year, a rollover plan), so
  an organization has exactly the years it used.
- The *current* year, which new classes join, is the year containing today's
  date where the organization is (its time zone), or the year a finished
  rollover moved classes into if that starts later: a school that rolls over
  on 28 August creates next year's new 5А on 29 August.
- The last grade, after which a class graduates: 11 for a school, 4 for a
  college (configurable per organization, 1..11). Kindergartens and
  extra-curricular centres have no grades (their groups are free-form), so
  nothing moves there; groups of any organization stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import ClassGroup, Organization, Rollover, SchoolYear, SchoolYearSettings, User
from parta.errors import InvalidInput
from parta.orgs import core, timezones
from parta.orgs.classnames import MAX_GRADE, MIN_GRADE
from parta.policy import OrgKind
from parta.render import Json

DEFAULT_STARTS = "09-01"
DEFAULT_ENDS = "08-31"
LAST_GRADES = {OrgKind.school.value: 11, OrgKind.college.value: 4}
ROLLOVER_DONE = "done"


@dataclass(frozen=True)
class YearSettings:
    starts_on: str  # "MM-DD"
    ends_on: str
    last_grade: int | None  # None: the organization has no grades to move
    is_custom_last_grade: bool


@dataclass(frozen=True)
class YearSettingsChange:
    starts_on: str | None = None
    ends_on: str | None = None
    last_grade: int | None = None
    clear_last_grade: bool = False


def _month_day(raw: str, field: str) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in raw.split("-"))
        date(2001, month, day)  # a year without 29 February: every year has the day
    except ValueError:
        raise InvalidInput("Дата в виде ММ-ДД, например 09-01.", field=field) from None
    if len(raw) != 5:
        raise InvalidInput("Дата в виде ММ-ДД, например 09-01.", field=field)
    return month, day


def label(starts_on: date, ends_on: date) -> str:
    """ "2025/26"; a year inside one calendar year is just "2025"."""
    if starts_on.year == ends_on.year:
        return str(starts_on.year)
    return f"{starts_on.year}/{ends_on.year % 100:02d}"


def year_bounds(day: date, starts: str, ends: str) -> tuple[date, date]:
    """The first and last day of the school year that ``day`` belongs to."""
    sm, sd = _month_day(starts, "starts_on")
    em, ed = _month_day(ends, "ends_on")
    first_year = day.year if day >= date(day.year, sm, sd) else day.year - 1
    starts_on = date(first_year, sm, sd)
    ends_on = date(first_year, em, ed)
    if ends_on < starts_on:
        ends_on = date(first_year + 1, em, ed)
    return starts_on, ends_on


def _default_last_grade(kind: str) -> int | None:
    return LAST_GRADES.get(kind)


async def settings_of(db: AsyncSession, org: Organization) -> YearSettings:
    row = await db.get(SchoolYearSettings, org.id)
    default = _default_last_grade(org.kind)
    if row is None:
        return YearSettings(DEFAULT_STARTS, DEFAULT_ENDS, default, is_custom_last_grade=False)
    custom = row.last_grade is not None and default is not None
    return YearSettings(
        row.starts_on, row.ends_on, row.last_grade if custom else default, is_custom_last_grade=custom
    )


def local_today(org: Organization) -> date:
    zone = timezones.zone(timezones.effective_timezone(region=org.region, timezone=org.timezone))
    return utcnow().astimezone(zone).date()


async def _year_starting(db: AsyncSession, org_id: int, starts_on: date) -> SchoolYear | None:
    query = select(SchoolYear).where(SchoolYear.org_id == org_id, SchoolYear.starts_on == starts_on)
    return (await db.execute(query)).scalar_one_or_none()


async def year_for(db: AsyncSession, org: Organization, day: date) -> SchoolYear:
    """The year ``day`` belongs to, made if the organization has none yet (caller's transaction,
    under the organization's row lock, so two makers cannot race)."""
    found = await settings_of(db, org)
    starts_on, ends_on = year_bounds(day, found.starts_on, found.ends_on)
    year = await _year_starting(db, org.id, starts_on)
    if year is None:
        year = SchoolYear(
            org_id=org.id,
            starts_on=starts_on,
            ends_on=ends_on,
            label=label(starts_on, ends_on),
            created_at=utcnow(),
        )
        db.add(year)
        await db.flush()
    return year


async def next_year(db: AsyncSession, org: Organization, year: SchoolYear) -> SchoolYear:
    """The year after ``year``: from the organization's next start date."""
    found = await settings_of(db, org)
    sm, sd = _month_day(found.starts_on, "starts_on")
    start = date(year.starts_on.year + 1, sm, sd)
    return await year_for(db, org, max(start, year.ends_on + timedelta(days=1)))


async def current_year(db: AsyncSession, org: Organization) -> SchoolYear:
    """The year new classes join: today's, or the one a finished rollover moved into if later."""
    dated = await year_for(db, org, local_today(org))
    rolled = (
        await db.execute(
            select(SchoolYear)
            .join(Rollover, Rollover.to_year_id == SchoolYear.id)
            .where(Rollover.org_id == org.id, Rollover.status == ROLLOVER_DONE)
            .order_by(SchoolYear.starts_on.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return rolled if rolled is not None and rolled.starts_on > dated.starts_on else dated


def year_json(year: SchoolYear, *, current_id: int, class_count: int = 0) -> Json:
    return {
        "id": year.id,
        "label": year.label,
        "starts_on": year.starts_on.isoformat(),
        "ends_on": year.ends_on.isoformat(),
        "is_current": year.id == current_id,
        "class_count": class_count,
    }


def settings_json(found: YearSettings) -> Json:
    data: Json = {
        "starts_on": found.starts_on,
        "ends_on": found.ends_on,
        "is_custom_last_grade": found.is_custom_last_grade,
    }
    if found.last_grade is not None:
        data["last_grade"] = found.last_grade
    return data


async def list_years(db: AsyncSession, actor: User, org_id: int) -> Json:
    """The organization's school years (newest first) with their open classes, the current
    one, and the year settings; admins. Raises ``org_not_found``, ``forbidden``."""
    async with transaction(db):  # the current year may be made on first use
        access = await core.load_org_for_admin(db, actor, org_id)
        current = await current_year(db, access.org)
        listed = await db.execute(
            select(SchoolYear).where(SchoolYear.org_id == org_id).order_by(SchoolYear.starts_on.desc())
        )
        found = list(listed.scalars())
        count_rows = await db.execute(
            select(ClassGroup.year_id, func.count())
            .where(ClassGroup.org_id == org_id, ClassGroup.closed_at.is_(None))
            .group_by(ClassGroup.year_id)
        )
        counts = {year_id: int(n) for year_id, n in count_rows.all()}
        return {
            "current_year_id": current.id,
            "years": [year_json(y, current_id=current.id, class_count=counts.get(y.id, 0)) for y in found],
            "settings": settings_json(await settings_of(db, access.org)),
        }


def _check_last_grade(kind: str, grade: int) -> None:
    if _default_last_grade(kind) is None:
        raise InvalidInput("В организации этого вида нет параллелей.", field="last_grade")
    if not MIN_GRADE <= grade <= MAX_GRADE:
        raise InvalidInput(f"Последняя параллель: от {MIN_GRADE} до {MAX_GRADE}.", field="last_grade")


async def update_year_settings(
    db: AsyncSession, actor: User, org_id: int, change: YearSettingsChange
) -> Json:
    """Set the organization's year dates ("MM-DD") and last grade (admins).

    The dates apply to years made from now on; existing years keep theirs.
    Emits ``school_year.settings_updated`` to the admins; records
    ``school_year.settings_updated``. Raises ``org_not_found``, ``forbidden``,
    ``invalid_request`` (``starts_on``, ``ends_on``, ``last_grade``).
    """
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        org = access.org
        row = await db.get(SchoolYearSettings, org.id)
        if row is None:
            row = SchoolYearSettings(
                org_id=org.id, starts_on=DEFAULT_STARTS, ends_on=DEFAULT_ENDS, updated_at=utcnow()
            )
            db.add(row)
        before = (row.starts_on, row.ends_on, row.last_grade)
        row.starts_on = change.starts_on or row.starts_on
        row.ends_on = change.ends_on or row.ends_on
        _month_day(row.starts_on, "starts_on")
        _month_day(row.ends_on, "ends_on")
        if row.starts_on == row.ends_on:
            raise InvalidInput("Учебный год не может начинаться и кончаться в один день.", field="ends_on")
        if change.last_grade is not None:
            _check_last_grade(org.kind, change.last_grade)
            row.last_grade = change.last_grade
        elif change.clear_last_grade:
            row.last_grade = None
        row.updated_by, row.updated_at = actor.id, utcnow()
        await db.flush()
        found = settings_json(await settings_of(db, org))
        if (row.starts_on, row.ends_on, row.last_grade) != before:
            await core.audit(db, access, "school_year.settings_updated", details=found)
            await core.notify_admins(
                db, org.id, "school_year.settings_updated", {"org_id": org.id, "settings": found}
            )
        return found


def year_payload(year: SchoolYear) -> Json:
    return {"id": year.id, "label": year.label, "starts_on": year.starts_on.isoformat()}
