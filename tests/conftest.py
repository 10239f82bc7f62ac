"""Shared fixtures: real stores (SQLite and PostgreSQL), real buses, the real app."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from crm_core.db import Database
from crm_core.migrate import upgrade
from crm_core.models import Base
from tests.ami_bridge.trace_files import shared_dir
from tests.password_cost import TEST_PASSWORD_ENV

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = shared_dir()
PG_ADMIN_DSN = os.environ.get("ZVONAR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ZVONAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
for _name, _value in TEST_PASSWORD_ENV.items():
    os.environ.setdefault(_name, _value)

# Seeded by the migrations themselves; every other table is emptied between tests.
REFERENCE_TABLES = {"interaction_types", "interaction_statuses", "marketing_channels", "alembic_version", "proposal_statuses", "proposal_transitions"}


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    name = f"zvonar_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        db = Database(_pg_url(name))
        await upgrade(db)
        await db.dispose()

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    yield _pg_url(name)
    asyncio.run(drop())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"

    async def create() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        await db.dispose()

    asyncio.run(create())
    return path


async def _truncate_pg(db: Database) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


async def _open_db(kind: str, pg_url: str, sqlite_template: Path, tmp_path: Path) -> Database:
    if kind == "postgres":
        db = Database(pg_url)
        await _truncate_pg(db)
        return db
    path = tmp_path / "zvonar.sqlite3"
    shutil.copy(sqlite_template, path)
    return Database(f"sqlite+aiosqlite:///{path}")


@pytest.fixture
async def pg_db(pg_database_url: str, sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    db = await _open_db("postgres", pg_database_url, sqlite_template, tmp_path)
    yield db
    await db.dispose()


@pytest.fixture
async def sqlite_db(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    db = await _open_db("sqlite", "", sqlite_template, tmp_path)
    yield db
    await db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, pg_database_url: str, sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """The store, once on SQLite and once on PostgreSQL."""
    database = await _open_db(request.param, pg_database_url, sqlite_template, tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"the shared folder {SHARED_DIR} is missing (set ZVONAR_SHARED_DIR)")
    return SHARED_DIR


class ApiHarness:
    """The real application on a real port, plus helpers to make users and log them in."""

    def __init__(self, db: Database, bus, server, settings) -> None:  # type: ignore[no-untyped-def]
        self.db = db
        self.bus = bus
        self.server = server
        self.settings = settings
        self._clients: list = []
        self._seq = 0

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    async def client(self, token: str | None = None):  # type: ignore[no-untyped-def]
        from aiohttp.test_utils import TestClient

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = TestClient(self.server, headers=headers)
        await client.start_server()
        self._clients.append(client)
        return client

    async def user(self, role: str = "operator", team: str | None = "Отдел продаж", endpoint: str | None = None,
                   login: str | None = None, full_name: str | None = None):  # type: ignore[no-untyped-def]
        """Create a user and return (user, logged-in TestClient)."""
        from crm_core.models import Role
        from crm_core.services import users

        self._seq += 1
        login = login or f"{role}{self._seq}"
        team_id = await users.ensure_team(self.db, team) if team else None
        user = await users.create_user(
            self.db, login=login, full_name=full_name or f"Тестовый {role} {self._seq}", role=Role(role),
            password="correct horse battery", team_id=team_id, phone_endpoint=endpoint,
            passwords=self.settings.passwords.hashing(),
        )
        anon = await self.client()
        resp = await anon.post("/api/auth/login", json={"login": login, "password": "correct horse battery"})
        assert resp.status == 200, await resp.text()
        token = (await resp.json())["token"]
        return user, await self.client(token)

    async def close(self) -> None:
        for c in self._clients:
            await c.close()


@pytest.fixture
async def api(db: Database) -> AsyncIterator[ApiHarness]:
    """The whole HTTP API over the store under test and the in-process bus."""
    from aiohttp.test_utils import TestServer

    from zvonar.app import init_app
    from zvonar.bus import InProcessBus
    from zvonar.settings import load_settings

    settings = load_settings(database_url=str(db.url.render_as_string(hide_password=False)))
    bus = InProcessBus()
    app = init_app(settings, db=db, bus=bus)
    server = TestServer(app)
    await server.start_server()
    harness = ApiHarness(db, bus, server, settings)
    yield harness
    await harness.close()
    await server.close()
