"""Accounts: sign-in codes, sessions, profiles."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from parta import policy, tokens
from parta.clock import utcnow
from parta.codes import CodeSender
from parta.config import Settings
from parta.db.engine import transaction
from parta.db.tables import ChatMember, LoginCode, Session, User
from parta.errors import (
    ErrorCode,
    InvalidInput,
    NotFound,
    PartaError,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
    denied,
)
from parta.events import log as events
from parta.orgs.members import activate_pending
from parta.phones import normalize_phone

log = logging.getLogger("parta.accounts")

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Writing last_seen_at on every request would turn reads into writes.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class CodeRequested:
    phone: str
    expires_at: datetime
    resend_after: int


@dataclass(frozen=True)
class SignedIn:
    token: str
    user: User
    session: Session
    is_new_user: bool


async def request_code(
    db: AsyncSession, settings: Settings, sender: CodeSender, *, phone: str, ip: str
) -> CodeRequested:
    """Issue a new sign-in code for ``phone`` and deliver it.

    Once it is delivered, earlier unused codes for the phone stop working. Raises ``invalid_phone``,
    ``rate_limited`` (with ``retry_after``) or ``code_delivery_failed``.
    """
    phone = normalize_phone(phone, settings.default_region)
    now = utcnow()
    code = tokens.new_code()
    async with transaction(db):
        await _serialize_code_requests(db, phone=phone, ip=ip)
        await _check_code_rate(db, settings, phone=phone, ip=ip, now=now)
        row = LoginCode(
            phone=phone,
            ip=ip,
            code_hash=tokens.code_hash(settings.resolved_secret_key, phone, code),
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.code_ttl_seconds),
        )
        db.add(row)
    try:
        await sender.send(phone=phone, code=code, expires_at=row.expires_at)
    except Exception as exc:
        # An undelivered code must not hold the resend interval against the user.
        async with transaction(db):
            await db.execute(delete(LoginCode).where(LoginCode.id == row.id))
        if isinstance(exc, PartaError):
            raise
        log.exception("code delivery failed")
        raise ServiceUnavailable() from exc
    # Only a delivered code retires the earlier ones: after a failed delivery the
    # previous code still works. (Sign-in only ever tries the newest unused code.)
    async with transaction(db):
        await db.execute(
            update(LoginCode)
            .where(LoginCode.phone == phone, LoginCode.used_at.is_(None), LoginCode.id != row.id)
            .values(used_at=now)
        )
    return CodeRequested(phone=phone, expires_at=row.expires_at, resend_after=settings.code_resend_seconds)


# Any constant: the class key of the PostgreSQL advisory locks on code requests.
_CODE_LOCK_CLASS = 7_270_002


async def _serialize_code_requests(db: AsyncSession, *, phone: str, ip: str) -> None:
    """Make concurrent requests for one phone (or from one IP) check their limits in turn.

    Without this, PostgreSQL lets simultaneous requests all count the same rows
    and all pass, so one burst sends many SMS. The phone lock is always taken
    before the IP lock, so two requests never wait on each other in a cycle.
    SQLite already takes its single write lock at BEGIN.
    """
    if db.get_bind().dialect.name != "postgresql":
        return
    for key in (f"phone:{phone}", f"ip:{ip}"):
        await db.execute(
            text("SELECT pg_advisory_xact_lock(:cls, hashtext(:key))"), {"cls": _CODE_LOCK_CLASS, "key": key}
        )


async def _check_code_rate(
    db: AsyncSession, settings: Settings, *, phone: str, ip: str, now: datetime
) -> None:
    by_phone = (
        await db.execute(
            select(func.count(), func.min(LoginCode.created_at), func.max(LoginCode.created_at)).where(
                LoginCode.phone == phone, LoginCode.created_at > now - HOUR
            )
        )
    ).one()
    count, oldest, newest = by_phone
    if newest is not None and newest > now - timedelta(seconds=settings.code_resend_seconds):
        wait = newest + timedelta(seconds=settings.code_resend_seconds) - now
        raise _rate_limited(wait, "Код уже отправлен. Повторить можно через {} с.")
    if count >= settings.code_per_phone_per_hour and oldest is not None:
        raise _rate_limited(oldest + HOUR - now, "Слишком много кодов на этот номер. Повторите через {} с.")
    day_count, day_oldest = (
        await db.execute(
            select(func.count(), func.min(LoginCode.created_at)).where(
                LoginCode.phone == phone, LoginCode.created_at > now - DAY
            )
        )
    ).one()
    if day_count >= settings.code_per_phone_per_day and day_oldest is not None:
        raise _rate_limited(
            day_oldest + DAY - now, "Слишком много кодов на этот номер за сутки. Повторите через {} с."
        )
    by_ip = (
        await db.execute(
            select(func.count(), func.min(LoginCode.created_at)).where(
                LoginCode.ip == ip, LoginCode.created_at > now - HOUR
            )
        )
    ).one()
    if by_ip[0] >= settings.code_per_ip_per_hour and by_ip[1] is not None:
        raise _rate_limited(
            by_ip[1] + HOUR - now, "Слишком много запросов с этого адреса. Повторите через {} с."
        )


def _rate_limited(wait: timedelta, template: str) -> RateLimited:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    return RateLimited(template.format(seconds), retry_after=seconds)


async def sign_in(
    db: AsyncSession,
    settings: Settings,
    *,
    phone: str,
    code: str,
    device_name: str,
    ip: str,
) -> SignedIn:
    """Exchange a code for a session token; the first sign-in creates the account.

    Raises ``invalid_phone``, ``code_invalid``, ``code_expired``,
    ``too_many_attempts`` or ``not_authenticated`` (an account an operator
    suspended). A wrong code is counted even though the call fails.
    """
    phone = normalize_phone(phone, settings.default_region)
    now = utcnow()
    async with transaction(db):
        row = (
            await db.execute(
                select(LoginCode)
                .where(LoginCode.phone == phone, LoginCode.used_at.is_(None))
                .order_by(LoginCode.id.desc())
                .limit(1)
                .with_for_update()
            )
        ).scalar_one_or_none()
        failure = _check_code(settings, row, phone=phone, code=code, now=now)
        if failure is not None and failure.instance_code == ErrorCode.code_invalid:
            await _count_wrong_guess(db, row)
        if failure is None and row is not None:
            row.used_at = now
            user, is_new = await _get_or_create_user(db, phone, now)
            if is_new:
                # Memberships an admin added by this phone before the account existed.
                await activate_pending(db, user)
            failure = _suspended(user)
            if failure is None:
                token, session = _new_session(user, device_name=device_name, ip=ip, now=now)
                db.add(session)
    if failure is not None:
        raise failure
    return SignedIn(token=token, user=user, session=session, is_new_user=is_new)


def _suspended(user: User) -> Unauthenticated | None:
    """An operator suspended the account after a report: no sign-in, no sessions."""
    if user.suspended_at is None:
        return None
    return Unauthenticated("Аккаунт заблокирован оператором.")


# What a missing code is compared with: the same length as a real code hash, and never
# equal to one (HMAC-SHA256 hex digests have no "-").
_NO_CODE_HASH = "-" * 64


def _check_code(
    settings: Settings, row: LoginCode | None, *, phone: str, code: str, now: datetime
) -> Unauthenticated | None:
    """Validate a code against the phone's newest unused one (``row``).

    "No code for this phone" (a phone that never signed up, or whose code was used)
    does the same work as a wrong guess, and answers exactly the same: the guess is
    hashed and compared in every case, and the caller counts the miss with the same
    UPDATE (docs/security.md, Timing).
    """
    guess = tokens.code_hash(settings.resolved_secret_key, phone, code.strip())
    matches = tokens.same(guess, row.code_hash if row is not None else _NO_CODE_HASH)
    if row is None:
        return _wrong_code()
    if row.expires_at <= now:
        return Unauthenticated("Срок действия кода истёк. Запросите новый.", code=ErrorCode.code_expired)
    if row.attempts >= settings.code_max_attempts:
        return Unauthenticated(
            "Слишком много неверных попыток. Запросите новый код.", code=ErrorCode.too_many_attempts
        )
    return None if matches else _wrong_code()


def _wrong_code() -> Unauthenticated:
    # No count of tries left: it would differ between "wrong code" and "no code".
    return Unauthenticated(
        "Неверный код. Проверьте его или запросите новый.", code=ErrorCode.code_invalid, field="code"
    )


async def _count_wrong_guess(db: AsyncSession, row: LoginCode | None) -> None:
    """Count a wrong guess against the code; without a code the same statement
    matches no row (id 0 never exists), so both cases run the same queries."""
    await db.execute(
        update(LoginCode)
        .where(LoginCode.id == (row.id if row is not None else 0))
        .values(attempts=LoginCode.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if db.get_bind().dialect.name == "postgresql":
        # PostgreSQL commits a transaction that wrote nothing without a commit record
        # and without waiting for the disk: "no code" answered 5 ms sooner than a
        # counted guess (bench/auth_timing.py). So both take a transaction id (a counted
        # guess has one already) and neither waits for the disk: a database crash within
        # a fraction of a second may forget one counted guess, which an attacker cannot
        # cause at will.
        await db.execute(text("SET LOCAL synchronous_commit TO OFF"))
        await db.execute(text("SELECT txid_current()"))


async def _get_or_create_user(db: AsyncSession, phone: str, now: datetime) -> tuple[User, bool]:
    user = (await db.execute(select(User).where(User.phone == phone))).scalar_one_or_none()
    if user is not None:
        return user, False
    user = User(phone=phone, first_name="", last_name="", created_at=now, updated_at=now)
    db.add(user)
    await db.flush()
    return user, True


def _new_session(user: User, *, device_name: str, ip: str, now: datetime) -> tuple[str, Session]:
    token = tokens.new_token()
    session = Session(
        user_id=user.id,
        token_hash=tokens.token_hash(token),
        device_name=_clean_device_name(device_name),
        ip=ip[:64],
        created_at=now,
        last_seen_at=now,
    )
    return token, session


def _clean_device_name(value: str) -> str:
    # Free text from the client, shown back in the session list: keep it printable
    # (PostgreSQL also refuses NUL characters in text columns).
    collapsed = " ".join(value.split())
    return "".join(ch for ch in collapsed if unicodedata.category(ch) != "Cc")[:128].strip()


async def authenticate(db: AsyncSession, token: str) -> tuple[User, Session]:
    """The user and session behind a bearer token; raises ``not_authenticated``
    (also for a suspended account, whose sessions the suspension revoked anyway).

    A read, except once a minute per session when ``last_seen_at`` moves: writing on
    every request would queue every read behind the database's single writer.
    """
    now = utcnow()
    row = (
        await db.execute(
            select(Session, User)
            .join(User, User.id == Session.user_id)
            .where(Session.token_hash == tokens.token_hash(token))
        )
    ).one_or_none()
    await db.commit()  # end the read; actions open their own transactions
    if row is None:
        raise Unauthenticated("Сессия недействительна. Войдите снова.")
    session, user = row
    suspended = _suspended(user)
    if suspended is not None:
        raise suspended
    if now - session.last_seen_at > LAST_SEEN_RESOLUTION:
        async with transaction(db):
            await db.execute(update(Session).where(Session.id == session.id).values(last_seen_at=now))
        session.last_seen_at = now
    return user, session


async def session_is_active(db: AsyncSession, session_id: int) -> bool:
    """Whether the session still exists (not signed out, not revoked, account not suspended)."""
    found = await db.execute(select(Session.id).where(Session.id == session_id))
    return found.first() is not None


async def list_sessions(db: AsyncSession, user: User) -> list[Session]:
    result = await db.execute(
        select(Session).where(Session.user_id == user.id).order_by(Session.last_seen_at.desc())
    )
    return list(result.scalars())


async def revoke_session(db: AsyncSession, user: User, session_id: int) -> None:
    """Sign out one device; another user's session answers ``session_not_found``."""
    async with transaction(db):
        result = await db.execute(delete(Session).where(Session.id == session_id, Session.user_id == user.id))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound("Сеанс не найден.", code=ErrorCode.session_not_found)
        await events.append(db, "session.revoked", user_id=user.id, payload={"session_id": session_id})


async def revoke_other_sessions(db: AsyncSession, user: User, current: Session) -> int:
    """Sign out every device but the current one; returns how many were signed out."""
    async with transaction(db):
        result = await db.execute(delete(Session).where(Session.user_id == user.id, Session.id != current.id))
        count = int(result.rowcount)  # type: ignore[attr-defined]
        if count:
            payload = {"others": True, "kept_session_id": current.id}
            await events.append(db, "session.revoked", user_id=user.id, payload=payload)
    return count


@dataclass(frozen=True)
class ProfileChange:
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    clear_birth_date: bool = False
    avatar_file_id: int | None = None


async def update_profile(db: AsyncSession, user: User, change: ProfileChange) -> User:
    """Change the user's name, birth date or avatar.

    Emits ``user.updated`` to the user's own devices and to every chat they are in.
    Raises ``invalid_request`` naming the field for an empty, too long or
    control-character name and for an impossible birth date; ``forbidden``
    (``safe_mode_locked``) when a child under 14 changes their own birth date.
    """
    now = utcnow()
    async with transaction(db):
        user = await db.merge(user)
        if change.first_name is not None:
            user.first_name = _clean_name(change.first_name, "first_name")
        if change.last_name is not None:
            user.last_name = _clean_name(change.last_name, "last_name")
        if change.clear_birth_date or change.birth_date is not None:
            _require_birth_date_change(user, now.date())
        if change.clear_birth_date:
            user.birth_date = None
        elif change.birth_date is not None:
            user.birth_date = _check_birth_date(change.birth_date, now.date())
        if change.clear_birth_date or change.birth_date is not None:
            from parta.orgs import chatsync

            await db.flush()
            await chatsync.resync_user(db, user.id)  # a child under 14 leaves unverified orgs' chats
        if change.avatar_file_id is not None:
            user.avatar_file_id = change.avatar_file_id
        user.updated_at = now
        await db.flush()
        await _announce_user(db, user)
    return user


async def _announce_user(db: AsyncSession, user: User) -> None:
    from parta.render import user_card, user_public

    await events.append(db, "user.updated", user_id=user.id, payload={"user": user_card(user)})
    # Chat copies reach everyone in the chat: a child in safe mode is masked there.
    payload = {"user": user_public(user)}
    chat_ids = (await db.execute(select(ChatMember.chat_id).where(ChatMember.user_id == user.id))).scalars()
    for chat_id in chat_ids:
        await events.append(db, "user.updated", chat_id=chat_id, payload=payload)


def _clean_name(value: str, field: str) -> str:
    cleaned = " ".join(value.split())
    # A name of only invisible or punctuation characters is as good as empty.
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidInput("Имя и фамилия не могут быть пустыми.", field=field)
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise InvalidInput("Недопустимые символы.", field=field)
    if len(cleaned) > 64:
        raise InvalidInput("Не длиннее 64 символов.", field=field)
    return cleaned


def _require_birth_date_change(user: User, today: date) -> None:
    from parta import safety

    decision = policy.can_change_birth_date(is_under_age=safety.is_under_age(user, today))
    if not decision.allowed:
        raise denied(decision.reason, "Дату рождения ребёнка младше 14 лет меняют родитель или школа.")


def _check_birth_date(value: date, today: date) -> date:
    if value > today or value.year < today.year - 120:
        raise InvalidInput("Некорректная дата рождения.", field="birth_date")
    return value
