"""Clients a user may see because a call with them was put through to that user (see crm_core.rights)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from crm_core.db import Database
from crm_core.errors import InvalidInput
from crm_core.models import ClientAccess
from crm_core.services.clients import fits_id

log = logging.getLogger(__name__)

ACCESS_REASONS = ("call", "preview")


async def grant_client_access(
    db: Database, user_id: int, client_id: int, *, until: datetime, reason: str, now: datetime,
) -> None:
    """Let ``user_id`` see ``client_id`` until ``until``; a longer access already given is kept.

    For the system paths that hand a client to a user: the AMI bridge when the user's
    phone rings for a call with the client, the dialer when it shows them the card.
    """
    if reason not in ACCESS_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(ACCESS_REASONS)}")
    if not (fits_id(user_id) and fits_id(client_id)):
        raise InvalidInput("user_id and client_id must be ids")
    insert = pg_insert if db.is_postgres else sqlite_insert
    stmt = insert(ClientAccess).values(user_id=user_id, client_id=client_id, until=until, reason=reason, granted_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "client_id"],
        set_={"until": stmt.excluded.until, "reason": stmt.excluded.reason, "granted_at": stmt.excluded.granted_at},
        where=ClientAccess.until < stmt.excluded.until,
    )
    async with db.transaction() as s:
        await s.execute(stmt)
    log.info("client_access.granted user=%s client=%s reason=%s until=%s", user_id, client_id, reason,
             until.isoformat(timespec="seconds"))


async def hand_client_to(
    db: Database, user_id: int, client_id: int, responsible_id: int | None, *, seconds: float, reason: str,
    now: datetime,
) -> bool:
    """Access for a user the PBX or the dialer hands a colleague's client to; whether it was given.

    Nothing is written for the user's own client or with ``seconds`` 0 (access off). A
    store that refuses is logged and the call goes on: the card then does not open for
    them, which is less harm than a screen pop or a preview card that never shows.
    """
    if seconds <= 0 or responsible_id == user_id:
        return False
    try:
        await grant_client_access(db, user_id, client_id, until=now + timedelta(seconds=seconds), reason=reason, now=now)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("client_access.not_granted user=%s client=%s reason=%s error=%s", user_id, client_id, reason,
                    type(exc).__name__)
        return False
    return True
