"""Screen pops: the card an agent sees while their phone is still ringing."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select, and_, select

from ami_bridge.calls.model import AgentRinging
from crm_core.db import Database
from crm_core.errors import InvalidPhone
from crm_core.models import (
    Attempt,
    Campaign,
    Client,
    Contact,
    Interaction,
    InteractionStatus,
    InteractionType,
    Phone,
    User,
)
from crm_core.phones import normalize_phone
from crm_core.regions import client_timezone
from crm_core.services.clients import ClientSummary

log = logging.getLogger(__name__)

OPEN_ITEMS_LIMIT = 5


def build_screen_pop(
    ringing: AgentRinging,
    user_id: int,
    e164: str | None,
    summary: ClientSummary | None,
    local_time: str | None,
    open_items: list[dict[str, Any]],
    campaign: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``screen.pop`` payload (pure): a known client's card or a new-client form.

    A campaign call (its Originate is a dialer attempt) also carries ``campaign_id``,
    ``campaign_name``, ``lead_id`` and ``script_id`` (the script version pinned at launch),
    so the operator's screen opens the lead and its script; other calls have none of them.
    """
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
    if campaign:
        payload.update(campaign)
    return payload


def campaign_statement(action_id: str) -> Select:
    """The campaign, lead and pinned script of a dialer attempt, by its Originate's ActionID (unique index)."""
    return (
        select(Attempt.campaign_id, Campaign.name, Attempt.lead_id, Campaign.script_id)
        .join(Campaign, Campaign.id == Attempt.campaign_id)
        .where(Attempt.action_id == action_id)
    )


def _local_time(tz_name: str | None, now: datetime) -> str | None:
    if not tz_name:
        return None
    try:
        return now.astimezone(ZoneInfo(tz_name)).strftime("%H:%M")
    except (KeyError, ValueError):
        return None


def card_statement(e164: str) -> Select:
    """The whole card in one round trip: the number's client, contact and responsible, and
    its first OPEN_ITEMS_LIMIT open interactions (one row each; one row with NULLs if none).

    Phones.e164 is unique, so the number picks one client; its open interactions come by
    the index on interactions.client_id.
    """
    open_statuses = select(InteractionStatus.id).where(InteractionStatus.is_final.is_(False))
    return (
        select(
            Client.id, Client.name, Client.kind, Client.status, Client.region, Client.timezone,
            Client.responsible_id, User.full_name, Contact.id, Contact.last_name, Contact.first_name,
            Contact.middle_name, Phone.kind, Phone.e164,
            Interaction.id, InteractionType.code, InteractionType.name, InteractionStatus.code,
            Interaction.subject, Interaction.planned_at,
        )
        .select_from(Phone)
        .join(Client, Client.id == Phone.client_id)
        .outerjoin(User, User.id == Client.responsible_id)
        .outerjoin(Contact, Contact.id == Phone.contact_id)
        .outerjoin(Interaction, and_(Interaction.client_id == Client.id, Interaction.status_id.in_(open_statuses)))
        .outerjoin(InteractionType, InteractionType.id == Interaction.type_id)
        .outerjoin(InteractionStatus, InteractionStatus.id == Interaction.status_id)
        .where(Phone.e164 == e164)
        .order_by(Interaction.planned_at.is_(None), Interaction.planned_at, Interaction.id.desc())
        .limit(OPEN_ITEMS_LIMIT)
    )


def card_from_rows(rows: Sequence[Row]) -> tuple[ClientSummary | None, str | None, list[dict[str, Any]]]:
    """The summary, the client's time zone and the open items from card_statement's rows (pure)."""
    if not rows:
        return None, None, []
    (client_id, name, kind, status, region, explicit_tz, responsible_id, responsible_name, contact_id,
     last_name, first_name, middle_name, phone_kind, e164) = rows[0][:14]
    contact_name = " ".join(p for p in (last_name, first_name, middle_name) if p) if contact_id is not None else None
    summary = ClientSummary(
        client_id=client_id, name=name, kind=kind.value, status=status, region=region,
        responsible_id=responsible_id, responsible_name=responsible_name, contact_id=contact_id,
        contact_name=contact_name, phone_kind=phone_kind.value, e164=e164,
    )
    items = [
        {
            "id": item_id,
            "type": type_code,
            "type_name": type_name,
            "status": status_code,
            "subject": subject,
            "planned_at": planned_at.isoformat() if planned_at else None,
        }
        for item_id, type_code, type_name, status_code, subject, planned_at in (row[14:] for row in rows)
        if item_id is not None
    ]
    return summary, client_timezone(region, explicit_tz, e164), items


async def resolve_screen_pop(
    db: Database, ringing: AgentRinging, user_id: int, default_region: str, now: datetime | None = None
) -> dict[str, Any]:
    """Normalise the caller's number, read the card in one query (indexed) and build the pop."""
    e164 = None
    if ringing.number:
        try:
            e164 = normalize_phone(ringing.number, default_region)
        except InvalidPhone:
            log.info("screen_pop.number_unreadable call_id=%s", ringing.call_id)
    summary, local_time, items, campaign = None, None, [], None
    if e164 or ringing.action_id:
        async with db.reading() as s:
            rows = (await s.execute(card_statement(e164))).all() if e164 else []
            found = (await s.execute(campaign_statement(ringing.action_id))).first() if ringing.action_id else None
        summary, tz, items = card_from_rows(rows)
        if summary is not None:
            local_time = _local_time(tz, now or datetime.now(timezone.utc))
        if found is not None:
            campaign = {"campaign_id": found[0], "campaign_name": found[1], "lead_id": found[2], "script_id": found[3]}
    return build_screen_pop(ringing, user_id, e164, summary, local_time, items, campaign)
