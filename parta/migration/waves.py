"""Migration waves: an operator moves a region to Parta in waves (management first,
then kindergartens and colleges, then schools...), watches the progress and
reminds the admins of organizations that lag.

A wave is a filter, not a list: the organizations of its kinds in its regions
(all regions when none are named), so a school registered after the plan is in
its wave at once. Progress is counted from the memberships and chats themselves:

- *started*: the organization has a membership (active or pending) besides its
  creator's, e.g. an imported roster;
- *joined*: active memberships; *pending*: added by phone, not signed in yet;
- *chats archived / scheduled*: the organization's chats closed, or planned to
  close, by archiving (parta/archiving.py).

Reminders (``notice.reminder``) go to the admins of organizations whose wave has
started in their local time and whose share of joined people is below a
threshold (an organization not started counts as 0), at most once a day per
organization, whichever wave asks: the sending is stored in ``wave_reminders``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import Chat, MigrationWave, Operator, Organization, OrgMember, User, WaveReminder
from parta.errors import ErrorCode, InvalidInput, NotFound, wave_not_found
from parta.events import log as events
from parta.orgs import core, timezones
from parta.orgs import validation as v
from parta.orgs.core import ACTIVE, PENDING
from parta.phones import normalize_phone
from parta.policy import OrgKind
from parta.render import Json, ts

MAX_NAME = 128
REMINDER_INTERVAL = timedelta(days=1)
EDITABLE = frozenset(("name", "org_kinds", "regions", "starts_at", "ends_at"))


@dataclass(frozen=True)
class WavePlan:
    name: str
    org_kinds: list[str]
    regions: list[str]
    starts_at: date
    ends_at: date | None = None


async def _require_operator(db: AsyncSession, actor: User) -> None:
    core.require(
        policy.can_plan_waves(is_operator=await core.is_operator(db, actor.id)),
        "Волны переезда планирует оператор.",
    )


def _clean_kinds(kinds: list[str]) -> list[str]:
    known = {k.value for k in OrgKind}
    cleaned = list(dict.fromkeys(k.strip() for k in kinds))
    if not cleaned or any(k not in known for k in cleaned):
        raise InvalidInput(f"Виды организаций: {', '.join(sorted(known))}.", field="org_kinds")
    return cleaned


def _clean_regions(regions: list[str]) -> list[str]:
    try:
        return list(dict.fromkeys(v.check_region(r) for r in regions))
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="regions") from None


def _clean(plan: WavePlan) -> WavePlan:
    cleaned = WavePlan(
        name=v.clean_line(plan.name, "name", max_length=MAX_NAME, required=True),
        org_kinds=_clean_kinds(plan.org_kinds),
        regions=_clean_regions(plan.regions),
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
    )
    if cleaned.ends_at is not None and cleaned.ends_at < cleaned.starts_at:
        raise InvalidInput("Волна не может закончиться раньше, чем начнётся.", field="ends_at")
    return cleaned


async def plan_wave(db: AsyncSession, actor: User, plan: WavePlan) -> MigrationWave:
    """Plan a wave (operators). Emits no event: waves concern operators, who refetch.

    Raises ``forbidden`` (``not_operator``), ``invalid_request``.
    """
    async with transaction(db):
        await _require_operator(db, actor)
        cleaned = _clean(plan)
        now = utcnow()
        wave = MigrationWave(
            name=cleaned.name,
            org_kinds=cleaned.org_kinds,
            regions=cleaned.regions,
            starts_at=cleaned.starts_at,
            ends_at=cleaned.ends_at,
            created_by=actor.id,
            created_at=now,
            updated_at=now,
        )
        db.add(wave)
        await db.flush()
    return wave


async def list_waves(db: AsyncSession, actor: User) -> list[MigrationWave]:
    """Every wave by start date (operators). Raises ``forbidden``."""
    await _require_operator(db, actor)
    rows = await db.execute(select(MigrationWave).order_by(MigrationWave.starts_at, MigrationWave.id))
    return list(rows.scalars())


async def _wave(db: AsyncSession, wave_id: int, *, for_update: bool = False) -> MigrationWave:
    query = select(MigrationWave).where(MigrationWave.id == wave_id)
    if for_update:
        query = query.with_for_update()
    wave = (await db.execute(query)).scalar_one_or_none()
    if wave is None:
        raise wave_not_found()
    return wave


async def get_wave(db: AsyncSession, actor: User, wave_id: int) -> MigrationWave:
    await _require_operator(db, actor)
    return await _wave(db, wave_id)


async def update_wave(
    db: AsyncSession, actor: User, wave_id: int, changes: Mapping[str, object]
) -> MigrationWave:
    """Change a wave's name, kinds, regions or dates (operators); ``ends_at`` null clears it.

    Raises ``forbidden``, ``wave_not_found``, ``invalid_request``.
    """
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidInput("Это поле нельзя изменить.", field=unknown[0])
    async with transaction(db):
        await _require_operator(db, actor)
        wave = await _wave(db, wave_id, for_update=True)
        current = {f.name: getattr(wave, f.name) for f in fields(WavePlan)}
        # A null for a required field means "unchanged", as if it were not sent.
        merged = current | {k: val for k, val in changes.items() if val is not None or k == "ends_at"}
        cleaned = _clean(WavePlan(**merged))
        for name in EDITABLE:
            setattr(wave, name, getattr(cleaned, name))
        wave.updated_at = utcnow()
    return wave


async def delete_wave(db: AsyncSession, actor: User, wave_id: int) -> None:
    """Delete a wave and its reminder log (operators). Raises ``forbidden``, ``wave_not_found``."""
    async with transaction(db):
        await _require_operator(db, actor)
        wave = await _wave(db, wave_id, for_update=True)
        await db.execute(delete(WaveReminder).where(WaveReminder.wave_id == wave.id))
        await db.execute(delete(MigrationWave).where(MigrationWave.id == wave.id))


def wave_json(wave: MigrationWave) -> Json:
    data: Json = {
        "id": wave.id,
        "name": wave.name,
        "org_kinds": wave.org_kinds,
        "regions": wave.regions,
        "starts_at": wave.starts_at.isoformat(),
        "created_at": ts(wave.created_at),
    }
    if wave.ends_at is not None:
        data["ends_at"] = wave.ends_at.isoformat()
    return data


# -- progress -------------------------------------------------------------------------------------


@dataclass
class Counts:
    orgs: int = 0
    orgs_started: int = 0
    joined: int = 0
    pending: int = 0
    chats_archived: int = 0
    chats_scheduled: int = 0

    @property
    def joined_share(self) -> float:
        people = self.joined + self.pending
        return round(self.joined / people, 4) if people else 0.0

    def add(self, org: OrgProgress) -> None:
        self.orgs += 1
        self.orgs_started += org.is_started
        self.joined += org.joined
        self.pending += org.pending
        self.chats_archived += org.chats_archived
        self.chats_scheduled += org.chats_scheduled

    def json(self) -> Json:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"joined_share": self.joined_share}


@dataclass
class OrgProgress:
    org_id: int
    short_name: str
    kind: str
    region: str
    timezone: str
    is_started: bool = False
    joined: int = 0
    pending: int = 0
    chats_archived: int = 0
    chats_scheduled: int = 0

    @property
    def joined_share(self) -> float:
        """Joined of everyone added; an organization that has not started is at 0."""
        people = self.joined + self.pending
        return round(self.joined / people, 4) if self.is_started and people else 0.0

    def json(self) -> Json:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"joined_share": self.joined_share}


@dataclass
class WaveProgress:
    wave: MigrationWave
    totals: Counts
    regions: dict[str, Counts]
    orgs: list[OrgProgress] = field(default_factory=list)


def _in_wave(wave: MigrationWave) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Organization.kind.in_(wave.org_kinds)]
    if wave.regions:
        conditions.append(Organization.region.in_(wave.regions))
    return conditions


async def _member_counts(db: AsyncSession, wave: MigrationWave) -> dict[int, tuple[int, int, int]]:
    """Per org: (active, pending, memberships besides the creator's)."""
    not_creator = or_(OrgMember.user_id.is_(None), OrgMember.user_id != Organization.created_by)
    rows = await db.execute(
        select(
            OrgMember.org_id,
            func.sum(case((OrgMember.status == ACTIVE, 1), else_=0)),
            func.sum(case((OrgMember.status == PENDING, 1), else_=0)),
            func.sum(case((not_creator, 1), else_=0)),
        )
        .join(Organization, Organization.id == OrgMember.org_id)
        .where(*_in_wave(wave), OrgMember.status.in_((ACTIVE, PENDING)))
        .group_by(OrgMember.org_id)
    )
    return {org_id: (int(a or 0), int(p or 0), int(o or 0)) for org_id, a, p, o in rows}


async def _chat_counts(db: AsyncSession, wave: MigrationWave, now: datetime) -> dict[int, tuple[int, int]]:
    """Per org: (chats archived, chats planned to be)."""
    archived = or_(Chat.archived_at.is_not(None), Chat.archive_at <= now)
    rows = await db.execute(
        select(
            Chat.org_id,
            func.sum(case((archived, 1), else_=0)),
            func.sum(case((and_(Chat.archived_at.is_(None), Chat.archive_at > now), 1), else_=0)),
        )
        .join(Organization, Organization.id == Chat.org_id)
        .where(*_in_wave(wave), Chat.archive_at.is_not(None))
        .group_by(Chat.org_id)
    )
    return {int(org_id): (int(a or 0), int(s or 0)) for org_id, a, s in rows}


async def _progress(db: AsyncSession, wave: MigrationWave, now: datetime) -> WaveProgress:
    orgs = (
        await db.execute(
            select(Organization).where(*_in_wave(wave)).order_by(Organization.region, Organization.id)
        )
    ).scalars()
    members = await _member_counts(db, wave)
    chats = await _chat_counts(db, wave, now)
    progress = WaveProgress(wave=wave, totals=Counts(), regions={})
    for org in orgs:
        active, pending, others = members.get(org.id, (0, 0, 0))
        archived, scheduled = chats.get(org.id, (0, 0))
        item = OrgProgress(
            org_id=org.id,
            short_name=org.short_name,
            kind=org.kind,
            region=org.region,
            timezone=timezones.effective_timezone(region=org.region, timezone=org.timezone),
            is_started=others > 0,
            joined=active,
            pending=pending,
            chats_archived=archived,
            chats_scheduled=scheduled,
        )
        progress.orgs.append(item)
        progress.totals.add(item)
        progress.regions.setdefault(org.region, Counts()).add(item)
    return progress


async def wave_progress(db: AsyncSession, actor: User, wave_id: int) -> WaveProgress:
    """The wave's progress: totals, per region, per organization (operators).

    Raises ``forbidden``, ``wave_not_found``.
    """
    await _require_operator(db, actor)
    wave = await _wave(db, wave_id)
    return await _progress(db, wave, utcnow())


CSV_COLUMNS = (
    "region", "org_id", "short_name", "kind", "is_started", "joined", "pending", "joined_share",
    "chats_archived", "chats_scheduled",
)  # fmt: skip


def progress_csv(progress: WaveProgress) -> str:
    """One row per organization; ``;`` and a BOM, as Excel in Russian Windows expects."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for org in progress.orgs:
        data = org.json()
        writer.writerow([int(data[c]) if isinstance(data[c], bool) else data[c] for c in CSV_COLUMNS])
    return "\ufeff" + out.getvalue()


# -- reminders -------------------------------------------------------------------------------------


@dataclass
class ReminderReport:
    sent: list[int] = field(default_factory=list)  # org ids whose admins were reminded
    already_today: list[int] = field(default_factory=list)
    on_track: int = 0
    not_started_yet: int = 0  # the wave's start date has not come in the org's local time


def _reminder_text(wave: MigrationWave, org: OrgProgress) -> str:
    if not org.is_started:
        state = "в организации пока нет никого, кроме создателя"
        todo = (
            "загрузите список участников (ученики, родители, учителя) из таблицы или добавьте их по телефону"
        )
    else:
        total = org.joined + org.pending
        state = f"вошли {org.joined} из {total} человек ({round(org.joined_share * 100)} %)"
        todo = (
            "напомните тем, кто ещё не вошёл, установить Парту и войти по своему номеру телефона, "
            "и проверьте номера в списке участников"
        )
    return f"Переезд в Парту, волна «{wave.name}»: {state}. Что сделать: {todo}."


async def _recently_reminded(db: AsyncSession, org_ids: list[int], now: datetime) -> set[int]:
    rows = await db.execute(
        select(WaveReminder.org_id).where(
            WaveReminder.org_id.in_(org_ids), WaveReminder.sent_at > now - REMINDER_INTERVAL
        )
    )
    return set(rows.scalars())


def _lagging(
    progress: WaveProgress, threshold: float, now: datetime, report: ReminderReport
) -> list[OrgProgress]:
    lagging = []
    for org in progress.orgs:
        if now.astimezone(timezones.zone(org.timezone)).date() < progress.wave.starts_at:
            report.not_started_yet += 1
        elif org.joined_share >= threshold:
            report.on_track += 1
        else:
            lagging.append(org)
    return lagging


async def send_reminders(
    db: AsyncSession, actor: User, wave_id: int, *, min_joined_share: float
) -> ReminderReport:
    """Remind the admins of the wave's lagging organizations (operators).

    Lagging: the wave has started in the org's local time and its joined share
    is below ``min_joined_share``. Emits ``notice.reminder`` to each such org's
    admins, at most once a day per org (stored; a second call the same day
    lists them in ``already_today``). Raises ``forbidden``, ``wave_not_found``,
    ``invalid_request``.
    """
    if not 0 < min_joined_share <= 1:
        raise InvalidInput("Порог — доля от 0 до 1, например 0.5.", field="min_joined_share")
    report = ReminderReport()
    async with transaction(db):
        await _require_operator(db, actor)
        wave = await _wave(db, wave_id, for_update=True)
        now = utcnow()
        lagging = _lagging(await _progress(db, wave, now), min_joined_share, now, report)
        ids = sorted(org.org_id for org in lagging)
        # Lock the orgs (in id order) before reading the log: two operators
        # reminding through two waves at once must not both send today's reminder.
        await db.execute(
            select(Organization.id)
            .where(Organization.id.in_(ids))
            .order_by(Organization.id)
            .with_for_update()
        )
        recent = await _recently_reminded(db, ids, now)
        for org in lagging:
            if org.org_id in recent:
                report.already_today.append(org.org_id)
                continue
            await _remind(db, actor, wave, org, now)
            report.sent.append(org.org_id)
    report.sent.sort()
    report.already_today.sort()
    return report


async def _remind(
    db: AsyncSession, actor: User, wave: MigrationWave, org: OrgProgress, now: datetime
) -> None:
    payload: Json = {
        "org_id": org.org_id,
        "org_name": org.short_name,
        "wave_id": wave.id,
        "wave_name": wave.name,
        "joined": org.joined,
        "pending": org.pending,
        "text": _reminder_text(wave, org),
    }
    await events.append_for_users(db, "notice.reminder", await core.admin_user_ids(db, org.org_id), payload)
    db.add(
        WaveReminder(
            wave_id=wave.id,
            org_id=org.org_id,
            joined=org.joined,
            pending=org.pending,
            sent_by=actor.id,
            sent_at=now,
        )
    )


async def cli_operator(db: AsyncSession, phone: str | None) -> User:
    """Who acts from the command line: the account with ``phone``, else the first operator.

    Whether they may is each action's own check. Raises ``user_not_found``,
    ``invalid_phone``.
    """
    query = (
        select(User).where(User.phone == normalize_phone(phone))
        if phone is not None
        else select(User).join(Operator, Operator.user_id == User.id).order_by(Operator.created_at).limit(1)
    )
    user = (await db.execute(query)).scalar_one_or_none()
    if user is None:
        raise NotFound(
            "Нет такого пользователя. Оператора создаёт «parta admin create-operator <телефон>».",
            code=ErrorCode.user_not_found,
        )
    return user
