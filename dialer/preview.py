"""Preview dialing: the operator reads the client's card first, then accepts (the call is placed) or skips.

The card's lead is leased in the store to this process's dialer for
``preview_lease_seconds``; accepting starts the attempt and rings the operator's own phone,
then the client (click-to-call's context), and the outcome comes back like any campaign
call's. Only an operator assigned to the running preview campaign gets cards.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from ami_bridge.connection import new_action_id
from ami_bridge.errors import AmiError
from ami_bridge.screen_pop import card_from_rows, card_statement
from crm_core.errors import (
    CampaignStateConflict,
    Forbidden,
    InvalidInput,
    LeadNotFound,
    OutsideCallingHours,
    ServiceUnavailable,
)
from crm_core.db import Database
from crm_core.models import User
from crm_core.phones import phone_digits
from crm_core.rights import Actor
from crm_core.services import campaigns as campaigns_service
from crm_core.services import leads as leads_service
from crm_core.services.client_access import hand_client_to
from dialer import windows
from dialer.campaign_runner import Dialer, PreviewHold
from dialer.originates import company_caller_id, preview_originate
from dialer.retries import RetryRules, after_outcome
from dialer.runner_state import CampaignInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviewCard:
    """What the operator sees before deciding to call."""

    campaign_id: int
    lead_id: int
    client_id: int
    client_name: str | None
    phone: str
    timezone: str | None
    local_time: str | None
    attempts: int
    priority: int
    appeal_id: int | None
    script_id: int | None
    lease_seconds: float
    client: dict[str, Any] | None
    open_interactions: list[dict[str, Any]]


@dataclass(frozen=True)
class PlacedPreview:
    campaign_id: int
    lead_id: int
    attempt_id: int
    action_id: str
    number: str
    endpoint: str


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _need(dialer: Dialer | None) -> Dialer:
    if dialer is None:
        raise ServiceUnavailable("the dialer is not running in this process (no PBX connection)")
    return dialer


async def _assigned(db: Database, actor: Actor, campaign_id: int) -> CampaignInfo:
    """The running preview campaign if ``actor`` is one of its operators (checked before anything else)."""
    view = await campaigns_service.get_campaign(db, actor, campaign_id)
    info = CampaignInfo.of(view)
    if actor.user_id not in info.agents:
        raise Forbidden("you are not an operator of this campaign")
    if info.state != "running":
        raise CampaignStateConflict(f"the campaign is {info.state}, not running")
    if info.mode != "preview":
        raise CampaignStateConflict(f"this campaign dials in {info.mode} mode, not preview: its calls come by themselves")
    return info


async def _card(dialer: Dialer, info: CampaignInfo, lead: Any) -> PreviewCard:
    async with dialer.db.reading() as s:
        rows = (await s.execute(card_statement(lead.phone))).all()
    summary, _tz, items = card_from_rows(rows)
    local_time = None
    zone = windows.zone_info(lead.timezone)
    if zone is not None:
        local_time = _utcnow().astimezone(zone).strftime("%H:%M")
    return PreviewCard(
        campaign_id=info.id, lead_id=lead.id, client_id=lead.client_id, client_name=getattr(lead, "client_name", None),
        phone=lead.phone, timezone=lead.timezone, local_time=local_time, attempts=lead.attempts, priority=lead.priority,
        appeal_id=getattr(lead, "appeal_id", None), script_id=info.script_id,
        lease_seconds=dialer.config.preview_lease_seconds, client=asdict(summary) if summary else None,
        open_interactions=items,
    )


async def next_card(db: Database, dialer: Dialer | None, actor: Actor, campaign_id: int) -> PreviewCard | None:
    """The operator's card: the one they hold, else the best due lead in an open window (None: nothing now)."""
    info = await _assigned(db, actor, campaign_id)
    d = _need(dialer)
    key = (campaign_id, actor.user_id)
    hold = d.holds.get(key)
    t = d._now()
    if hold is not None and hold.until > t:
        return await _card(d, info, hold.lead)
    d.holds.pop(key, None)
    now = _utcnow()
    zones = await _open_zones(d.db, info, now)
    if not zones:
        return None
    leased = await leads_service.lease_leads(d.db, campaign_id, d.owner, now, 1, d.config.preview_lease_seconds, zones,
                                             agent_id=actor.user_id)
    if not leased:
        return None
    lead = leased[0]
    # A little under the lease: the card is given back here before the store would.
    d.holds[key] = PreviewHold(lead, actor.user_id, t + d.config.preview_lease_seconds * 0.95)
    card = await _card(d, info, lead)
    if card.client is not None:
        # The operator opens the full card, runs the script and writes the wrap-up of this client.
        await hand_client_to(d.db, actor.user_id, card.client["client_id"], seconds=d.config.call_access_seconds,
                             reason="preview", now=now)
    return card


def _held(dialer: Dialer, actor: Actor, campaign_id: int, lead_id: int) -> PreviewHold:
    hold = dialer.holds.get((campaign_id, actor.user_id))
    if hold is None or hold.lead.id != lead_id or hold.until <= dialer._now():
        raise LeadNotFound("this card is not yours now; ask for the next one")
    return hold


async def _open_zones(db: Database, info: CampaignInfo, now: datetime) -> set[str | None]:
    """The campaign's lead zones where its calling hours are open now (none if its hours do not parse)."""
    try:
        hours = windows.CallingHours.from_json(info.hours or None)
    except InvalidInput:
        return set()
    return windows.open_zones(hours, await leads_service.lead_zones(db, info.id), now)


async def accept(db: Database, dialer: Dialer | None, actor: Actor, campaign_id: int, lead_id: int) -> PlacedPreview:
    """Call the card's client: the operator's phone rings first, then the client's.

    The calling window is checked again here, as the DNC list is: a card may be read for
    minutes, and the client's hours may end (or the supervisor change them) meanwhile.
    """
    info = await _assigned(db, actor, campaign_id)
    d = _need(dialer)
    hold = _held(d, actor, campaign_id, lead_id)
    now = _utcnow()
    if hold.lead.timezone not in await _open_zones(d.db, info, now):
        d.holds.pop((campaign_id, actor.user_id), None)
        await leads_service.release_lead(d.db, lead_id, d.owner, now)
        log.info("dialer.preview.outside_hours campaign_id=%s lead_id=%s user_id=%s", campaign_id, lead_id, actor.user_id)
        raise OutsideCallingHours("the client's calling hours are over; the card is given back until they open")
    async with d.db.reading() as s:
        endpoint = await s.scalar(select(User.phone_endpoint).where(User.id == actor.user_id))
    if not endpoint:
        raise InvalidInput("you have no phone endpoint set; ask an administrator to set yours")
    if not d.bridge.conn.connected:
        raise ServiceUnavailable("the PBX is not connected; try again in a moment")
    lead = hold.lead
    digits = phone_digits(lead.phone)
    try:
        caller_id = company_caller_id(info.caller_id, "")  # none: the dialplan's company number
    except ValueError as exc:
        raise ServiceUnavailable("the campaign's caller ID cannot be sent; the supervisor must correct it") from exc
    action_id = new_action_id()
    action = preview_originate(
        action_id=action_id, endpoint=endpoint, digits=digits, client_name=getattr(lead, "client_name", None),
        client_id=lead.client_id, user_id=actor.user_id, campaign_id=campaign_id, lead_id=lead.id,
        agent_channel_template=d.config.agent_channel_template, context=d.config.click_to_call_context,
        timeout_ms=d.config.preview_timeout_ms, caller_id=caller_id,
    )
    run = d.runs.get(campaign_id)
    if run is None:
        await d.poll()
        run = d.runs.get(campaign_id)
    if run is None:
        raise ServiceUnavailable("the dialer has not taken this campaign up yet; try again in a second")
    # The card is used up whatever happens next: dialled, or refused (DNC, lease lost).
    d.holds.pop((campaign_id, actor.user_id), None)
    hints = {"requested_by": actor.user_id, "agent": endpoint, "number": digits}
    try:
        call = await d.place(run, lead, action, "preview", actor.user_id, hints, raise_errors=True)
    except AmiError as exc:
        raise ServiceUnavailable(f"the call could not be placed: {exc}") from exc
    assert call is not None
    log.info("dialer.preview.accepted campaign_id=%s lead_id=%s user_id=%s action_id=%s", campaign_id, lead.id,
             actor.user_id, action_id)
    return PlacedPreview(campaign_id, lead.id, call.attempt_id, action_id, lead.phone, endpoint)


async def skip(db: Database, dialer: Dialer | None, actor: Actor, campaign_id: int, lead_id: int, reason: str) -> None:
    """Give the card back without calling; the lead rests (retry rule ``skipped_minutes``) with the reason kept."""
    await _assigned(db, actor, campaign_id)
    d = _need(dialer)
    hold = _held(d, actor, campaign_id, lead_id)
    run = d.runs.get(campaign_id)
    now = _utcnow()
    decision = after_outcome(run.rules if run is not None else RetryRules(), "skipped", hold.lead.attempts, now)
    d.holds.pop((campaign_id, actor.user_id), None)
    await leads_service.release_lead(d.db, lead_id, d.owner, now, state="ready", next_try_at=decision.next_try_at,
                                     reason=reason, skipped_by=actor.user_id)
    log.info("dialer.preview.skipped campaign_id=%s lead_id=%s user_id=%s", campaign_id, lead_id, actor.user_id)
