"""Migrations: the schema they build is the one the models declare, and they go down and up again."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from crm_core.db import Database
from crm_core.migrate import alembic_config, current_revision, head_revision, upgrade
from crm_core.models import Base, Campaign, DncNumber


def _differences(connection) -> list:  # type: ignore[no-untyped-def]
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # Expression indexes (the DNC scope index) cannot be reflected on SQLite; checked below.
        warnings.simplefilter("ignore")
        return compare_metadata(context, Base.metadata)


def _downgrade(connection, revision: str) -> None:  # type: ignore[no-untyped-def]
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


async def test_the_migrated_schema_is_the_models_schema(db: Database) -> None:
    async with db.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
    assert await current_revision(db) == head_revision()


async def test_a_number_is_on_each_dnc_scope_once(db: Database) -> None:
    # The scope index is an expression (coalesce), which SQLite cannot reflect: test its effect.
    async with db.transaction() as s:
        campaign = Campaign(name="Осенняя акция", queue="campaign", hours={}, retry_rules={}, pacing={})
        s.add(campaign)
        await s.flush()
        s.add_all([DncNumber(phone_e164="+79161234567"),
                   DncNumber(phone_e164="+79161234567", campaign_id=campaign.id)])
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(DncNumber(phone_e164="+79161234567"))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(DncNumber(phone_e164="+79161234567", campaign_id=campaign.id))


@pytest.mark.parametrize("target", ["0003", "base"])
async def test_migrations_go_down_and_up_again(tmp_path: Path, target: str) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        await upgrade(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade, target)
        assert await current_revision(db) == (None if target == "base" else target)
        assert await upgrade(db) == head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await db.dispose()
