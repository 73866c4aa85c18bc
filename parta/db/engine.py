"""Engine and sessions for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from parta.events.bus import Bus, LocalBus

BUS_KEY = "parta.bus"
PENDING_KEY = "parta.pending_events"
# Opening a PostgreSQL connection gives up after this many seconds (asyncpg waits 60 by
# default): with the database host gone, a request answers 503 instead of hanging.
CONNECT_TIMEOUT = 5.0


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs; use the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str) -> AsyncEngine:
    url = normalize_url(url)
    if not is_sqlite(url):
        # No pre-ping: it costs a round trip on every session checkout (12% of server
        # samples under the delivery benchmark). Connections are recycled instead, and
        # a connection broken by a database restart fails one request (503, see
        # `database_unavailable`), which clients retry; SQLAlchemy then discards every
        # pooled connection older than the failure, so the next requests reconnect.
        return create_async_engine(
            url,
            pool_recycle=600,
            pool_size=10,
            max_overflow=20,
            connect_args={"timeout": CONNECT_TIMEOUT},
        )
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # SQLite connections are cheap; a class of sockets connecting at once must not
    # wait on a pool of 5 (measured: timeouts with 1,000 receivers).
    engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=20, max_overflow=40)
    _configure_sqlite(engine)
    return engine


# Errors that mean "the database cannot be reached right now" (stopped, restarting,
# starting up, out of connections, the connection lost), whatever the request was.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no pooled connection came free in time
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # opening a connection took longer than CONNECT_TIMEOUT
    socket.gaierror,  # the database host name does not resolve
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and "connection does not exist"
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.exceptions.AdminShutdownError,  # 57P01: sessions ended by a fast shutdown
    asyncpg.exceptions.CrashShutdownError,  # 57P02: another backend crashed
    asyncpg.exceptions.InsufficientResourcesError,  # 53xxx: too many connections, disk full
)


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database is unreachable for now (an answer of 503 and a
    retry fit), not a fault of the request or the code (500).

    SQLAlchemy wraps driver errors (``orig``, ``__cause__``) and marks the ones that
    broke the connection ``connection_invalidated``; a failed connect may also surface
    as the driver's or the socket's own exception.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True
        orig = current.orig if isinstance(current, sa_exc.DBAPIError) else None
        pending += [current.__cause__, orig if isinstance(orig, BaseException) else None]
    return False


WRITE_OPTION = "parta_write"


def _configure_sqlite(engine: AsyncEngine) -> None:
    # SQLite has one writer. A deferred transaction that reads and then writes can
    # fail with SQLITE_BUSY when another writer committed in between; so write
    # transactions (opened by `transaction()`) take the write lock at BEGIN
    # (IMMEDIATE) and queue on busy_timeout. Plain reads stay deferred: in WAL mode
    # they neither wait for nor block the writer.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The engine, a session factory, and the bus that hears about commits."""

    def __init__(self, url: str, bus: Bus) -> None:
        self.url = normalize_url(url)
        self.engine = create_engine(self.url)
        self.bus = bus
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    def session(self) -> AsyncSession:
        db = self._sessions()
        db.info[BUS_KEY] = self.bus
        return db

    async def dispose(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def transaction(db: AsyncSession) -> AsyncIterator[AsyncSession]:
    """One atomic change; events appended inside are published after the commit.

    Publishing after commit means no client ever hears of a change that was
    rolled back; a crash between commit and publish loses no event, because
    clients catch up from the log with ``sync``.
    """
    if db.in_transaction():
        # Reads before the action (autobegin) are finished; start clean.
        await db.commit()
    try:
        async with db.begin():
            await db.connection(execution_options={WRITE_OPTION: True})
            yield db
    finally:
        pending = db.info.pop(PENDING_KEY, [])
    if pending:
        bus: Bus | None = db.info.get(BUS_KEY)
        if bus is not None:
            await bus.publish([e.id for e in pending])


@asynccontextmanager
async def command_session(url: str) -> AsyncIterator[AsyncSession]:
    """A session for a command-line tool (imports, demo, admin): its own engine and an
    in-process bus; running servers pick up its events when they next read the log."""
    database = Database(url, LocalBus())
    try:
        async with database.session() as db:
            yield db
    finally:
        await database.dispose()
