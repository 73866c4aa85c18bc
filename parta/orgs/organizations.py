"""Organizations themselves: create, edit, verify; operators; child organizations; the directory.

An organization is made by whoever signs up for it and becomes its admin. The
badge parents trust (``is_verified``) is given only by an operator, who checks
the requisites against the state register outside Parta.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from parta import policy
from parta.chats import require_can_chat
from parta.clock import utcnow
from parta.db.engine import transaction
from parta.db.tables import AuditEntry, Operator, Organization, OrgMember, StoredFile, User
from parta.errors import InvalidInput
from parta.events import log as events
from parta.orgs import core, staffchat, timezones
from parta.orgs import validation as v
from parta.orgs.core import ACTIVE, OrgAccess
from parta.phones import normalize_phone
from parta.policy import OrgKind, OrgRole
from parta.render import Json

DIRECTORY_LIMIT = 20
MIN_QUERY = 2
MAX_QUERY = 100
# Changing what identifies the organization takes the badge away: an operator
# vouched for these exact requisites, not for whatever the admin types next.
IDENTITY_FIELDS = frozenset(("full_name", "inn", "ogrn", "region"))


@dataclass(frozen=True)
class NewOrg:
    kind: OrgKind
    full_name: str
    short_name: str
    region: str
    municipality: str = ""
    address: str = ""
    inn: str | None = None
    ogrn: str | None = None
    phone: str = ""
    email: str = ""
    website: str = ""
    parent_id: int | None = None
    timezone: str | None = None  # None: the region's zone


# A PATCH: only the fields present change. ``None`` (or "") clears an optional field.
OrgChanges = Mapping[str, str | int | None]


def _optional(check: Callable[[str], str]) -> Callable[[str], str | None]:
    return lambda raw: check(raw) if raw.strip() else None


def _line(name: str, max_length: int, *, required: bool) -> Callable[[str], str]:
    return lambda raw: v.clean_line(raw, name, max_length=max_length, required=required)


_TEXT_FIELDS: dict[str, Callable[[str], str | None]] = {
    "full_name": _line("full_name", v.MAX_FULL_NAME, required=True),
    "short_name": _line("short_name", v.MAX_SHORT_NAME, required=True),
    "region": v.check_region,
    "municipality": _line("municipality", v.MAX_MUNICIPALITY, required=False),
    "address": _line("address", v.MAX_ADDRESS, required=False),
    "inn": _optional(v.check_inn),
    "ogrn": _optional(v.check_ogrn),
    "phone": v.check_phone,
    "email": v.check_email,
    "website": v.check_website,
    # Empty: back to the region's zone (orgs/timezones.py).
    "timezone": _optional(timezones.check_timezone),
}
_REQUIRED = frozenset(("full_name", "short_name", "region"))
EDITABLE = frozenset((*_TEXT_FIELDS, "logo_file_id"))


def _clean_text(name: str, raw: str | int | None) -> str | None:
    if raw is None or raw == "":
        if name in _REQUIRED:
            raise InvalidInput("Поле не может быть пустым.", field=name)
        return None if name in ("inn", "ogrn", "timezone") else ""
    if not isinstance(raw, str):
        raise InvalidInput("Ожидается строка.", field=name)
    return _TEXT_FIELDS[name](raw)


def clean_new_org(new: NewOrg) -> dict[str, str | None]:
    """Every text field of a new organization, checked and normalized."""
    cleaned = {name: _clean_text(name, getattr(new, name)) for name in _TEXT_FIELDS}
    v.check_requisites_match(cleaned["inn"], cleaned["ogrn"])
    return cleaned


# -- create, read -----------------------------------------------------------------------------------


async def _check_parent(db: AsyncSession, actor: User, parent_id: int) -> None:
    """Only an admin of an education authority files organizations under it."""
    parent = await core.load_org(db, actor, parent_id)
    core.require(
        policy.can_manage_org(parent.role),
        "Подчинённые организации создают администраторы органа управления.",
    )
    if parent.org.kind != OrgKind.authority:
        raise InvalidInput(
            "Родительской может быть только организация вида «орган управления образованием».",
            field="parent_id",
        )


async def create_org(db: AsyncSession, actor: User, new: NewOrg) -> OrgAccess:
    """Create an organization; the actor becomes its admin (an active membership).

    The organization gets its staff chat, the admin in it. Emits
    ``org.joined`` and the staff chat's ``chat.member_added`` to the actor;
    records ``org.created``. Raises
    ``forbidden`` (profile incomplete, not an admin of the parent),
    ``org_not_found`` (a parent the actor cannot see), ``invalid_request``,
    ``invalid_phone``.
    """
    require_can_chat(actor)
    cleaned = clean_new_org(new)
    async with transaction(db):
        if new.parent_id is not None:
            await _check_parent(db, actor, new.parent_id)
        now = utcnow()
        org = Organization(
            kind=new.kind.value, parent_id=new.parent_id, created_by=actor.id, created_at=now, updated_at=now
        )
        for name, value in cleaned.items():
            setattr(org, name, value)
        db.add(org)
        await db.flush()
        member = OrgMember(
            org_id=org.id,
            user_id=actor.id,
            role=OrgRole.admin.value,
            status=ACTIVE,
            created_by=actor.id,
            created_at=now,
            joined_at=now,
        )
        db.add(member)
        await db.flush()
        access = OrgAccess(org=org, actor=actor, member=member, is_operator=False)
        await core.audit(db, access, "org.created", member=member, details={"kind": org.kind})
        payload = {"org": core.org_json(org, role=OrgRole.admin), "member_id": member.id, "role": member.role}
        await events.append_for_users(db, "org.joined", [actor.id], payload)
        await staffchat.create_staff_chat(db, org, created_by=actor.id)
    return access


async def get_org(db: AsyncSession, actor: User, org_id: int) -> OrgAccess:
    """The organization as the actor sees it (members and operators). Raises ``org_not_found``."""
    return await core.load_org(db, actor, org_id)


async def list_my_orgs(db: AsyncSession, actor: User) -> list[tuple[Organization, OrgRole]]:
    """The organizations where the actor has an active membership, oldest first."""
    rows = await db.execute(
        select(Organization, OrgMember.role)
        .join(OrgMember, OrgMember.org_id == Organization.id)
        .where(OrgMember.user_id == actor.id, OrgMember.status == ACTIVE)
        .order_by(Organization.id)
    )
    return [(org, OrgRole(role)) for org, role in rows.all()]


async def list_children(db: AsyncSession, actor: User, org_id: int) -> list[Organization]:
    """Organizations filed under an authority: for its admins and for operators.

    Raises ``org_not_found``, ``forbidden``.
    """
    access = await core.load_org(db, actor, org_id)
    managing = policy.can_manage_org(access.role)
    # load_org checks the operator table only for non-members; an operator may also be a member.
    if not managing and not (access.is_operator or await core.is_operator(db, actor.id)):
        core.require(managing, "Это могут только администраторы организации.")
    rows = await db.execute(
        select(Organization).where(Organization.parent_id == org_id).order_by(Organization.id)
    )
    return list(rows.scalars())


# -- edit ---------------------------------------------------------------------------------------------


async def _check_logo(db: AsyncSession, actor: User, org: Organization, file_id: int) -> None:
    """A logo is an image the admin uploaded outside any chat (like an avatar)."""
    if file_id == org.logo_file_id:
        return
    f = await db.get(StoredFile, file_id)
    if (
        f is None
        or f.chat_id is not None
        or f.uploader_id != actor.id
        or not f.mime_type.startswith("image/")
    ):
        raise InvalidInput("Логотип: загрузите изображение и укажите его номер.", field="logo_file_id")


def _clean_changes(changes: OrgChanges) -> dict[str, str | int | None]:
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidInput("Это поле нельзя изменить.", field=unknown[0])
    cleaned: dict[str, str | int | None] = {}
    for name, raw in changes.items():
        if name == "logo_file_id":
            if raw is not None and not isinstance(raw, int):
                raise InvalidInput("Ожидается номер файла.", field=name)
            cleaned[name] = raw
        else:
            cleaned[name] = _clean_text(name, raw)
    return cleaned


async def update_org(db: AsyncSession, actor: User, org_id: int, changes: OrgChanges) -> OrgAccess:
    """Edit the organization's card (admins). Nothing changed, nothing emitted.

    Changing an identity field (full name, INN, OGRN, region) of a verified
    organization removes the badge until an operator checks it again. Emits
    ``org.updated`` to every active member; records ``org.updated`` with the
    changed field names, and ``chat.updated`` to the staff chat when the short
    name (its title) changed. Raises ``org_not_found``, ``forbidden``,
    ``invalid_request``, ``invalid_phone``.
    """
    cleaned = _clean_changes(changes)
    async with transaction(db):
        access = await core.load_org_for_admin(db, actor, org_id)
        org = access.org
        logo = cleaned.get("logo_file_id")
        if isinstance(logo, int):
            await _check_logo(db, actor, org, logo)
        changed = sorted(name for name, value in cleaned.items() if getattr(org, name) != value)
        after = {name: getattr(org, name) for name in ("inn", "ogrn")} | cleaned
        v.check_requisites_match(_str(after["inn"]), _str(after["ogrn"]))
        if not changed:
            return access
        for name in changed:
            setattr(org, name, cleaned[name])
        details: dict[str, object] = {"fields": changed}
        if org.is_verified and IDENTITY_FIELDS.intersection(changed):
            org.verified_at, org.verified_by = None, None
            details["verification_removed"] = True
        org.updated_at = utcnow()
        await core.audit(db, access, "org.updated", details=details)
        await _announce(db, org, "org.updated")
        if "short_name" in changed:
            await staffchat.rename_staff_chat(db, org)
    return access


def _str(value: str | int | None) -> str | None:
    return value if isinstance(value, str) else None


async def _announce(db: AsyncSession, org: Organization, type: str) -> None:
    """The new card to every member. ``my_role`` is left out: it differs per member."""
    await events.append_for_users(
        db, type, await core.member_user_ids(db, org.id), {"org": core.org_json(org)}
    )


# -- verification -------------------------------------------------------------------------------------


async def _load_for_operator(db: AsyncSession, actor: User, org_id: int) -> OrgAccess:
    access = await core.load_org(db, actor, org_id, for_update=True)
    # load_org checks the operator table only for non-members; an operator may also be a member.
    operator = access.is_operator or await core.is_operator(db, actor.id)
    core.require(policy.can_verify_org(is_operator=operator), "Подтверждает организации только оператор.")
    return access


async def verify_org(db: AsyncSession, actor: User, org_id: int) -> OrgAccess:
    """Give the organization the verified badge (operators). Repeating it changes nothing.

    Emits ``org.verified`` to every active member; records ``org.verified``
    with the operator as actor. Raises ``org_not_found`` (non-members who are
    not operators), ``forbidden`` (members who are not operators).
    """
    async with transaction(db):
        access = await _load_for_operator(db, actor, org_id)
        org = access.org
        if org.is_verified:
            return access
        org.verified_at, org.verified_by = utcnow(), actor.id
        org.updated_at = org.verified_at
        await core.audit(db, access, "org.verified", details={"inn": org.inn, "ogrn": org.ogrn})
        await _announce(db, org, "org.verified")
    return access


async def unverify_org(db: AsyncSession, actor: User, org_id: int) -> OrgAccess:
    """Take the verified badge away (operators). Repeating it changes nothing.

    Emits ``org.updated`` to every active member; records ``org.unverified``.
    Raises ``org_not_found``, ``forbidden``.
    """
    async with transaction(db):
        access = await _load_for_operator(db, actor, org_id)
        org = access.org
        if not org.is_verified:
            return access
        org.verified_at, org.verified_by = None, None
        org.updated_at = utcnow()
        await core.audit(db, access, "org.unverified")
        await _announce(db, org, "org.updated")
    return access


@dataclass(frozen=True)
class OrgPage:
    orgs: list[Organization]
    next_cursor: int | None


async def list_orgs_for_operator(
    db: AsyncSession, actor: User, *, verified: bool | None, cursor: int | None, limit: int
) -> OrgPage:
    """Every organization, oldest first, paged by ``cursor`` (the last id seen); operators only.

    Raises ``forbidden`` (reason ``not_operator``).
    """
    core.require(
        policy.can_verify_org(is_operator=await core.is_operator(db, actor.id)),
        "Список организаций доступен только оператору.",
    )
    query = select(Organization).order_by(Organization.id).limit(limit + 1)
    if verified is not None:
        query = query.where(
            Organization.verified_at.is_not(None) if verified else Organization.verified_at.is_(None)
        )
    if cursor is not None:
        query = query.where(Organization.id > cursor)
    found = list((await db.execute(query)).scalars())
    page = found[:limit]
    return OrgPage(orgs=page, next_cursor=page[-1].id if len(found) > limit else None)


# -- the public directory -----------------------------------------------------------------------------


def _contains(column: InstrumentedAttribute[str], query: str) -> ColumnElement[bool]:
    """Case-insensitive substring match on both backends.

    PostgreSQL's ``lower`` folds Cyrillic; SQLite's folds only ASCII, so the
    usual spellings (as typed, lower case, capitalized, upper case) are tried
    as well: "школа" finds "Школа № 1" and "сош" finds "МБОУ СОШ № 5".
    """
    variants = {query, query.lower(), query.capitalize(), query.upper()}
    return or_(
        *(column.contains(x, autoescape=True) for x in variants),
        column.ilike(f"%{_escape(query)}%", escape="\\"),
    )


def _escape(query: str) -> str:
    return query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def directory_search(
    db: AsyncSession, actor: User, query: str, *, region: str | None = None
) -> list[Organization]:
    """Verified organizations whose full or short name contains ``query``, or whose INN is it.

    For finding a school to ask to join; at most ``DIRECTORY_LIMIT``. Any
    signed-in user may search. Raises ``invalid_request`` (``q``, ``region``).
    """
    text = v.clean_line(query, "q", max_length=MAX_QUERY)
    if len(text) < MIN_QUERY:
        raise InvalidInput(f"Введите хотя бы {MIN_QUERY} символа.", field="q")
    matches = [_contains(Organization.full_name, text), _contains(Organization.short_name, text)]
    if text.isdigit():
        matches.append(Organization.inn == text)
    stmt = select(Organization).where(Organization.verified_at.is_not(None), or_(*matches))
    if region is not None:
        stmt = stmt.where(Organization.region == v.check_region(region))
    rows = await db.execute(stmt.order_by(Organization.short_name, Organization.id).limit(DIRECTORY_LIMIT))
    return list(rows.scalars())


def directory_card(org: Organization) -> Json:
    """What anyone signed in may see of a verified organization."""
    card: Json = {
        "id": org.id,
        "kind": org.kind,
        "short_name": org.short_name,
        "full_name": org.full_name,
        "region": org.region,
        "is_verified": org.is_verified,
    }
    return card | ({"municipality": org.municipality} if org.municipality else {})


# -- audit log ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None


async def list_audit(
    db: AsyncSession, actor: User, org_id: int, *, before: int | None, limit: int
) -> AuditPage:
    """The organization's audit log, newest first, paged by ``before`` (an entry id); admins only.

    Raises ``org_not_found``, ``forbidden``.
    """
    access = await core.load_org(db, actor, org_id)
    core.require(policy.can_manage_org(access.role), "Журнал действий доступен только администраторам.")
    query = select(AuditEntry).where(AuditEntry.org_id == org_id)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    found = list((await db.execute(query.order_by(AuditEntry.id.desc()).limit(limit + 1))).scalars())
    page = found[:limit]
    return AuditPage(entries=page, next_before=page[-1].id if len(found) > limit else None)


# -- operators ----------------------------------------------------------------------------------------


class OperatorOutcome(StrEnum):
    created = "created"  # a new account and a new operator
    promoted = "promoted"  # an existing account became an operator
    unchanged = "unchanged"  # already an operator


@dataclass(frozen=True)
class OperatorResult:
    user_id: int
    phone: str
    outcome: OperatorOutcome


async def create_operator(db: AsyncSession, raw_phone: str) -> OperatorResult:
    """Make the person with this phone an operator (the ``parta admin create-operator`` command).

    Nobody with that phone yet: the account is created with empty names, as a
    first sign-in would, so the operator signs in later and fills the profile.
    Idempotent. Emits no event. Raises ``invalid_phone``.
    """
    phone = normalize_phone(raw_phone)
    async with transaction(db):
        user = (await db.execute(select(User).where(User.phone == phone))).scalar_one_or_none()
        now = utcnow()
        outcome = OperatorOutcome.promoted
        if user is None:
            user = User(phone=phone, first_name="", last_name="", created_at=now, updated_at=now)
            db.add(user)
            await db.flush()
            outcome = OperatorOutcome.created
        elif await core.is_operator(db, user.id):
            return OperatorResult(user_id=user.id, phone=phone, outcome=OperatorOutcome.unchanged)
        db.add(Operator(user_id=user.id, created_at=now))
        await db.flush()
    return OperatorResult(user_id=user.id, phone=phone, outcome=outcome)
