"""Idempotency keys in the store (SQLite and PostgreSQL): kept a day, then free for a new request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from crm_core.db import Database
from crm_core.models import IdempotentRequest, Role
from crm_core.services import idempotency
from tests.crm_core.crm_world import make_user

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
PATH = "/api/clients/7/interactions"


async def _rows(db: Database) -> int:
    """Keys stored, of every user."""
    async with db.reading() as s:
        return (await s.execute(select(func.count(IdempotentRequest.id)))).scalar_one()


async def test_a_key_answers_for_a_day_then_is_free_for_a_new_request(db: Database) -> None:
    ivanova = await make_user(db, "ivanova", Role.operator, None, full_name="Иванова Мария Петровна")
    first = await idempotency.claim(db, ivanova.user_id, "outbox-1", "POST", PATH, idempotency.body_hash(b"a"), NOW)
    assert isinstance(first, idempotency.Claimed)
    await idempotency.complete(db, first, 201, '{"id": 1}')

    later = NOW + timedelta(hours=23)
    assert await idempotency.claim(db, ivanova.user_id, "outbox-1", "POST", PATH,
                                   idempotency.body_hash(b"a"), later) == idempotency.Replay(201, '{"id": 1}')

    # A day on, the key is forgotten: the same key names a new request, and the old row is gone.
    next_day = NOW + idempotency.KEEP_FOR + timedelta(seconds=1)
    again = await idempotency.claim(db, ivanova.user_id, "outbox-1", "POST", PATH, idempotency.body_hash(b"b"), next_day)
    assert isinstance(again, idempotency.Claimed)
    assert await _rows(db) == 1
    async with db.reading() as s:
        row = (await s.execute(select(IdempotentRequest))).scalar_one()
    assert (row.body_hash, row.status) == (idempotency.body_hash(b"b"), None)
