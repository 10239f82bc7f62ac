"""Screen pops: the card an agent sees while their phone is still ringing."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ami_bridge.calls.model import AgentRinging
from crm_core.db import Database
from crm_core.errors import InvalidPhone
from crm_core.models import Client, Interaction, InteractionStatus
from crm_core.phones import normalize_phone
from crm_core.regions import client_timezone
from crm_core.services.clients import ClientSummary, lookup_by_phone

log = logging.getLogger(__name__)

OPEN_ITEMS_LIMIT = 5


def build_screen_pop(
    ringing: AgentRinging,
    user_id: int,
    e164: str | None,
    summary: ClientSummary | None,
    local_time: str | None,
    open_items: list[dict[str, Any]],
) -> dict[str, Any]:
    """The ``screen.pop`` payload (pure): a known client's card or a new-client form."""
    payload: dict[str, Any] = {
        "user_id": user_id,
        "call_id": ringing.call_id,
        "action_id": ringing.action_id,
        "direction": str(ringing.direction),
        "agent": ringing.agent,
        "queue": ringing.queue,
        "number": e164 or ringing.number,
        "caller_name": ringing.caller_name,
        "known": summary is not None,
    }
    if summary is not None:
        payload["client"] = {**asdict(summary), "local_time": local_time}
        payload["open_interactions"] = open_items
    else:
        # An unknown number pops a "new client" form prefilled with what the call tells.
        payload["new_client"] = {"phone": e164 or ringing.number, "name": ringing.caller_name}
    return payload


def _local_time(tz_name: str | None, now: datetime) -> str | None:
    if not tz_name:
        return None
    try:
        return now.astimezone(ZoneInfo(tz_name)).strftime("%H:%M")
    except (KeyError, ValueError):
        return None


async def _client_details(db: Database, client_id: int, e164: str) -> tuple[str | None, list[dict[str, Any]]]:
    async with db.reading() as s:
        client = await s.get(Client, client_id)
        rows = (
            await s.execute(
                select(Interaction)
                .join(InteractionStatus, InteractionStatus.id == Interaction.status_id)
                .where(Interaction.client_id == client_id, InteractionStatus.is_final.is_(False))
                .order_by(Interaction.planned_at.is_(None), Interaction.planned_at, Interaction.id.desc())
                .limit(OPEN_ITEMS_LIMIT)
            )
        ).scalars().all()
    tz = client_timezone(client.region if client else None, client.timezone if client else None, e164)
    items = [
        {
            "id": i.id,
            "type": i.type.code,
            "type_name": i.type.name,
            "status": i.status.code,
            "subject": i.subject,
            "planned_at": i.planned_at.isoformat() if i.planned_at else None,
        }
        for i in rows
    ]
    return tz, items


async def resolve_screen_pop(
    db: Database, ringing: AgentRinging, user_id: int, default_region: str, now: datetime | None = None
) -> dict[str, Any]:
    """Normalise the caller's number, look the client up (indexed) and build the pop."""
    e164 = None
    if ringing.number:
        try:
            e164 = normalize_phone(ringing.number, default_region)
        except InvalidPhone:
            log.info("screen_pop.number_unreadable call_id=%s", ringing.call_id)
    summary = await lookup_by_phone(db, e164) if e164 else None
    local_time, items = None, []
    if summary is not None:
        tz, items = await _client_details(db, summary.client_id, summary.e164)
        local_time = _local_time(tz, now or datetime.now(timezone.utc))
    return build_screen_pop(ringing, user_id, e164, summary, local_time, items)
