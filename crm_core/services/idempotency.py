"""Idempotency keys: a write sent again under the same key is answered from the store, not redone.

A client that lost the answer to a write (the network dropped it after the server did
the work) sends the same request again with the same ``Idempotency-Key`` header, as the
operator desk's outbox does; the stored answer comes back and nothing happens twice. The
key is claimed before the work (a row with no status), completed with the answer after
it, and released if the work was refused or failed, so a retry is then handled afresh.
A claim left pending by a process that died is taken over after ``TAKEOVER_AFTER``.
Keys are per user and kept for ``KEEP_FOR``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from crm_core.db import Database
from crm_core.errors import IdempotencyKeyReused, InvalidInput, RequestInProgress
from crm_core.models import IdempotentRequest

KEEP_FOR = timedelta(hours=24)
TAKEOVER_AFTER = timedelta(minutes=2)
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


@dataclass(frozen=True)
class Claimed:
    """This request holds the key: do the work, then :func:`complete` or :func:`release`."""

    row_id: int


@dataclass(frozen=True)
class Replay:
    """The key's first request was answered: this is its answer."""

    status: int
    response: str


def checked_key(key: str) -> str:
    """The header's value if it is a usable key (1-64 letters, digits, '-', '_', '.', ':')."""
    if not 1 <= len(key) <= 64 or not set(key) <= _KEY_CHARS:
        raise InvalidInput("Idempotency-Key must be 1 to 64 letters, digits, '-', '_', '.' or ':'")
    return key


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def claim(db: Database, user_id: int, key: str, method: str, path: str, digest: str,
                now: datetime) -> Claimed | Replay:
    """Take ``key`` for this request, or the stored answer of the request that took it."""
    key = checked_key(key)
    try:
        async with db.transaction() as s:
            # The user's expired keys go in the same transaction (one of them may be this very key).
            await s.execute(delete(IdempotentRequest).where(IdempotentRequest.user_id == user_id,
                                                            IdempotentRequest.created_at < now - KEEP_FOR))
            row = IdempotentRequest(user_id=user_id, key=key, method=method, path=path[:300], body_hash=digest,
                                    created_at=now)
            s.add(row)
            await s.flush()
            return Claimed(row.id)
    except IntegrityError:
        pass
    async with db.transaction() as s:
        row = (await s.execute(select(IdempotentRequest).where(IdempotentRequest.user_id == user_id,
                                                               IdempotentRequest.key == key))).scalar_one_or_none()
        if row is None:  # released between our insert and this read: the key is free again
            raise RequestInProgress()
        if (row.method, row.path, row.body_hash) != (method, path[:300], digest):
            raise IdempotencyKeyReused()
        if row.status is not None and row.response is not None:
            return Replay(row.status, row.response)
        if row.created_at > now - TAKEOVER_AFTER:
            raise RequestInProgress()
        # Pending for minutes: its process died mid-request. Taken over (the stamp moves,
        # so one retry wins) and handled afresh.
        taken = await s.execute(update(IdempotentRequest)
                                .where(IdempotentRequest.id == row.id, IdempotentRequest.created_at == row.created_at,
                                       IdempotentRequest.status.is_(None))
                                .values(created_at=now))
        if taken.rowcount != 1:
            raise RequestInProgress()
        return Claimed(row.id)


async def complete(db: Database, claimed: Claimed, status: int, response: str) -> None:
    """Store the answer the work gave, for the key's later requests."""
    async with db.transaction() as s:
        await s.execute(update(IdempotentRequest).where(IdempotentRequest.id == claimed.row_id)
                        .values(status=status, response=response))


async def release(db: Database, claimed: Claimed) -> None:
    """Free the key: the work was refused or failed, so the next request with it is handled afresh."""
    async with db.transaction() as s:
        await s.execute(delete(IdempotentRequest).where(IdempotentRequest.id == claimed.row_id))
