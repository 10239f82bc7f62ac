"""Alembic migrations, run programmatically on the async engine."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from crm_core.db import Database

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(db: Database, revision: str = "head") -> str:
    """Apply migrations up to ``revision``; returns the revision now current."""
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)
    rev = await current_revision(db)
    log.info("db.upgraded url=%s revision=%s", db.safe_url(), rev)
    return rev or ""


async def ensure_schema(db: Database) -> None:
    """Bring the store to the head revision if it is behind (first use of an empty store)."""
    if await current_revision(db) != head_revision():
        await upgrade(db)
