"""Clients a user may see because a call with them was put through to that user (see crm_core.rights)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from crm_core.db import Database
from crm_core.errors import InvalidInput, InvalidPhone
from crm_core.models import Client, ClientAccess, Phone
from crm_core.phones import normalize_phone
from crm_core.services.clients import fits_id

log = logging.getLogger(__name__)

ACCESS_REASONS = ("call", "preview")
# How long a client handed to a user by a call stays visible to them, unless settings say otherwise.
DEFAULT_ACCESS_DAYS = 14.0
_COLUMNS = ["user_id", "client_id", "until", "reason", "granted_at"]


def _check(user_id: int, reason: str) -> None:
    if reason not in ACCESS_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(ACCESS_REASONS)}")
    if not fits_id(user_id):
        raise InvalidInput("user_id must be an id")


async def _upsert(db: Database, rows: Select[Any]) -> None:
    """Insert the access ``rows`` select gives; an access already lasting longer is kept as it is."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    stmt = insert(ClientAccess).from_select(_COLUMNS, rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "client_id"],
        set_={"until": stmt.excluded.until, "reason": stmt.excluded.reason, "granted_at": stmt.excluded.granted_at},
        where=ClientAccess.until < stmt.excluded.until,
    )
    async with db.transaction() as s:
        await s.execute(stmt)


def _grant_rows(user_id: int, until: datetime, reason: str, now: datetime) -> Select[Any]:
    """The access row of ``user_id`` to each client selected from, unless they are its responsible."""
    return select(literal(user_id), Client.id, literal(until, ClientAccess.until.type),
                  literal(reason), literal(now, ClientAccess.granted_at.type)).where(
        or_(Client.responsible_id.is_(None), Client.responsible_id != user_id))


async def grant_client_access(
    db: Database, user_id: int, client_id: int, *, until: datetime, reason: str, now: datetime,
) -> None:
    """Let ``user_id`` see ``client_id`` until ``until`` (not their own client: nothing to do then).

    For the system paths that hand a client to a user: the dialer when it shows them a
    preview card, the AMI bridge (by number, :func:`hand_number_to`) when their phone rings.
    """
    _check(user_id, reason)
    if not fits_id(client_id):
        raise InvalidInput("client_id must be an id")
    await _upsert(db, _grant_rows(user_id, until, reason, now).where(Client.id == client_id))


async def hand_client_to(
    db: Database, user_id: int, client_id: int, *, seconds: float, reason: str, now: datetime,
) -> bool:
    """Access for a user the dialer hands a client to, for ``seconds`` (0: access off); whether it was asked.

    A store that refuses is logged and the work goes on: the full card then does not open
    for them, which is less harm than a preview card or a screen pop that never shows.
    """
    if seconds <= 0:
        return False
    try:
        await grant_client_access(db, user_id, client_id, until=now + timedelta(seconds=seconds), reason=reason, now=now)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("client_access.not_granted user=%s client=%s reason=%s error=%s", user_id, client_id, reason,
                    type(exc).__name__)
        return False
    return True


async def hand_number_to(
    db: Database, user_id: int, number: str | None, default_region: str, *, seconds: float, reason: str,
    now: datetime,
) -> bool:
    """Access for a user rung for a call from or to ``number``: to the client with that number, if any.

    One statement keyed by the number, so the bridge runs it beside the screen pop's own
    read instead of after it. Errors are logged as for :func:`hand_client_to`.
    """
    if seconds <= 0 or not number:
        return False
    _check(user_id, reason)
    try:
        e164 = normalize_phone(number, default_region)
    except InvalidPhone:
        return False
    rows = _grant_rows(user_id, now + timedelta(seconds=seconds), reason, now).join(
        Phone, Phone.client_id == Client.id).where(Phone.e164 == e164)
    try:
        await _upsert(db, rows)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("client_access.not_granted user=%s number=%s reason=%s error=%s", user_id, e164, reason,
                    type(exc).__name__)
        return False
    return True
