"""Fixtures: a fresh database per test, on SQLite and on PostgreSQL.

Every test that uses ``api`` runs twice, once per backend. PostgreSQL comes
from ``PARTA_TEST_DATABASE_URL`` (default: the local trust-auth server); each
test gets its own database cloned from a migrated template, with a unique name,
and drops only that. With ``CI=true`` an unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from parta import clock
from parta.db.migrate import upgrade
from tests.client import Api, Factory
from tests.live import live_server
from tests.org_factory import OrgFactory

PG_ADMIN_URL = os.environ.get("PARTA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(problem: str | None) -> None:
    """A service a test needs (PostgreSQL, Redis, a tmpfs) is missing: skip with the
    reason on a developer's machine, fail under ``CI=true``, where it must be there."""
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {problem}", pytrace=False)
    pytest.skip(problem)


BACKENDS = [b for b in os.environ.get("PARTA_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


def _pg_dsn(database: str | None = None) -> str:
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


async def _pg_execute(*statements: str) -> None:
    conn = await asyncpg.connect(_pg_dsn(), timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class PostgresTemplate:
    def __init__(self) -> None:
        self.prefix = f"parta_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_template"
        self.error: str | None = None
        self.created: list[str] = []

    def start(self) -> None:
        try:
            asyncio.run(_pg_execute(f'CREATE DATABASE "{self.template}"'))
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            self.error = f"PostgreSQL at {_pg_dsn()} is unreachable: {exc!r}"
            return
        upgrade(_pg_dsn(self.template))

    def new_database(self) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name

    def drop(self, name: str) -> None:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def stop(self) -> None:
        if self.error is None:
            self.drop(self.template)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "parta.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[PostgresTemplate]:
    template = PostgresTemplate()
    template.start()
    yield template
    template.stop()


def _sqlite_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    path = tmp_path / "data" / "parta.db"
    path.parent.mkdir(parents=True)
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite+aiosqlite:///{path}"


@contextmanager
def _postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    template: PostgresTemplate = request.getfixturevalue("pg_template")
    require_service(template.error)
    name = template.new_database()
    try:
        yield _pg_dsn(name).replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        template.drop(name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend in turn."""
    if request.param == "sqlite":
        yield _sqlite_database(request, tmp_path)
        return
    with _postgres_database(request) as url:
        yield url


@pytest.fixture
def pg_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database, for what only PostgreSQL has (several writers,
    several server processes)."""
    with _postgres_database(request) as url:
        yield url


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with Api.start(database_url=database_url, data_dir=tmp_path / "data") as client:
        yield client


@pytest.fixture
def make(api: Api) -> Factory:
    return Factory(api)


@pytest.fixture
def orgs(api: Api, make: Factory) -> OrgFactory:
    return OrgFactory(api, make)


@pytest.fixture
async def live(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """A real uvicorn server (real sockets, WebSockets) on a fresh database."""
    async with live_server(database_url=database_url, data_dir=tmp_path / "data") as api:
        yield api


@pytest.fixture
def mk(live: Api) -> Factory:
    return Factory(live)
