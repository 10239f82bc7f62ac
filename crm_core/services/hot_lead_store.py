"""Hot leads in the store: an appeal asking for a call back becomes a lead of a running hot campaign.

Also what escalation reads and writes: the overdue hot leads, who may take them, the hand-over.
The pure escalation rules (who takes which lead) are dialer/hot_leads.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.db import Database
from crm_core.errors import AppealNotFound, InvalidInput
from crm_core.models import (
    Appeal,
    Attempt,
    Campaign,
    CampaignAgent,
    CampaignList,
    Client,
    ClientReassignment,
    Lead,
    Phone,
    Role,
    User,
)
from crm_core.regions import client_timezone
from crm_core.services import dnc as dnc_service
from crm_core.services.campaigns import LeadView, lead_view, load_campaign
from crm_core.services.clients import check_aware, fits_id
from crm_core.services.leads import check_now, lock_lead

log = logging.getLogger(__name__)

__all__ = [
    "HOT_PRIORITY", "HOT_WITHIN", "AgentCandidate", "OverdueHotLead", "add_hot_lead", "escalate_hot_lead",
    "escalation_candidates", "hot_lead_for_appeal", "overdue_hot_leads",
]

# Hot appeals asking for a call back outrank everything (leads.CALLBACK_PRIORITY, list leads).
HOT_PRIORITY = 100
# Bitrix24 teaches users that a requested callback is due within ten minutes.
HOT_WITHIN = timedelta(minutes=10)
HOT_LIST_NAME = "Обращения: перезвонить"


async def _hot_list(s: AsyncSession, campaign_id: int) -> CampaignList:
    found = (await s.execute(select(CampaignList).where(
        CampaignList.campaign_id == campaign_id, CampaignList.kind == "appeal").limit(1))).scalar_one_or_none()
    if found is None:
        found = CampaignList(campaign_id=campaign_id, kind="appeal", name=HOT_LIST_NAME, definition={})
        s.add(found)
        await s.flush()
    return found


async def _appeal_phone(s: AsyncSession, appeal: Appeal) -> str | None:
    """The number to call back: the appeal's contact's, else the client's own first, else any contact's."""
    if appeal.contact_id is not None:
        phone = await s.scalar(select(Phone.e164).where(Phone.contact_id == appeal.contact_id).order_by(Phone.id).limit(1))
        if phone:
            return phone
    return await s.scalar(select(Phone.e164).where(Phone.client_id == appeal.client_id)
                          .order_by(Phone.contact_id.is_not(None), Phone.id).limit(1))


async def _put_hot_lead(
    s: AsyncSession, appeal: Appeal, campaign_id: int, now: datetime, due_by: datetime,
) -> Lead | None:
    phone = await _appeal_phone(s, appeal)
    if phone is None:
        log.info("leads.hot_skipped appeal=%s reason=no_phone", appeal.id)
        return None
    if await dnc_service.is_dnc_in(s, phone, campaign_id):
        log.info("leads.hot_skipped appeal=%s reason=dnc", appeal.id)
        return None
    lead = (await s.execute(select(Lead).where(Lead.campaign_id == campaign_id, Lead.phone_e164 == phone)
                            .with_for_update())).scalar_one_or_none()
    if lead is None:
        client = await s.get(Client, appeal.client_id)
        assert client is not None
        hot_list = await _hot_list(s, campaign_id)
        lead = Lead(campaign_id=campaign_id, list_id=hot_list.id, client_id=client.id, phone_e164=phone,
                    timezone=client_timezone(client.region, client.timezone, phone), state="ready",
                    priority=HOT_PRIORITY, attempts=0, appeal_id=appeal.id, due_by=due_by, created_at=now, updated_at=now)
        s.add(lead)
        hot_list.leads_added += 1
    else:
        # A lead of the same number already: it becomes the hot one (brought back if it had ended).
        lead.priority = HOT_PRIORITY
        lead.appeal_id = appeal.id
        lead.due_by = due_by
        lead.updated_at = now
        # "dnc": the number was checked above, so it has been taken off the list since.
        if lead.state in ("ready", "done", "failed", "dnc"):
            lead.state = "ready"
            lead.next_try_at = None
            lead.attempts = 0  # the client asked: a new round of dials, not the rest of the list's
            # A finished lead kept the zone it was called in; the client's region may have changed since.
            client = await s.get(Client, lead.client_id)
            assert client is not None
            lead.timezone = client_timezone(client.region, client.timezone, phone)
    await s.flush()
    log.info("leads.hot appeal=%s campaign=%s lead=%s due_by=%s", appeal.id, campaign_id, lead.id, due_by.isoformat())
    return lead


async def hot_lead_for_appeal(s: AsyncSession, appeal: Appeal, now: datetime) -> Lead | None:
    """In the caller's transaction: a callback-requested appeal becomes a hot lead of a running hot campaign.

    The campaign: running with ``hot_appeals`` on, of the team of the client's responsible
    user first, then one of no team; the oldest of those. None if there is none (the
    appeal's 10-minute callback is then the manager's, as before).
    """
    if not appeal.callback_requested:
        return None
    team = await s.scalar(select(User.team_id).join(Client, Client.responsible_id == User.id)
                          .where(Client.id == appeal.client_id))
    same_team = Campaign.team_id == team if team is not None else Campaign.team_id.is_(None)
    campaign_id = await s.scalar(
        select(Campaign.id).where(Campaign.state == "running", Campaign.hot_appeals.is_(True),
                                  or_(Campaign.team_id.is_(None), same_team))
        .order_by(same_team.desc(), Campaign.id).limit(1)
    )
    if campaign_id is None:
        return None
    due = appeal.callback_due_at or (appeal.created_at or now) + HOT_WITHIN
    return await _put_hot_lead(s, appeal, campaign_id, now, due)


async def add_hot_lead(
    db: Database, appeal_id: int, campaign_id: int, now: datetime, due_by: datetime | None = None,
) -> LeadView | None:
    """Make an appeal a hot lead of this campaign, due by ``due_by`` (default: 10 minutes from now); a system path."""
    check_now(now)
    check_aware(due_by, "due_by")
    async with db.transaction() as s:
        await db.write_lock(s)
        await load_campaign(s, None, campaign_id)
        appeal = await s.get(Appeal, appeal_id) if fits_id(appeal_id) else None
        if appeal is None:
            raise AppealNotFound()
        lead = await _put_hot_lead(s, appeal, campaign_id, now, due_by or now + HOT_WITHIN)
        if lead is None:
            return None
        name = await s.scalar(select(Client.name).where(Client.id == lead.client_id))
        return lead_view(lead, name or "")


@dataclass(frozen=True)
class OverdueHotLead:
    """A hot lead nobody dialled by its due time: to escalate (dialer/hot_leads.py)."""

    lead_id: int
    campaign_id: int
    team_id: int | None
    appeal_id: int
    client_id: int
    responsible_id: int | None
    agent_id: int | None
    due_by: datetime
    timezone: str | None = None  # the lead's zone, for its calling window


@dataclass(frozen=True)
class AgentCandidate:
    """An operator a hot lead may be handed to: on the campaign or not, how many hot leads they hold."""

    user_id: int
    assigned: bool
    hot_leads: int


_RANG_NO_CLIENT = ("skipped", "operator_missed", "congestion", "failed")


def _lapsed(now: datetime) -> list[ColumnElement[bool]]:
    """A hot lead whose 10-minute promise was broken: waiting past its due time, nobody has called it since the appeal.

    Any call counts, whatever came of it: the lead then waits on the retry rule or on the
    operator's personal callback, and taking it away would only bounce it round the team.
    Since the appeal, not since the last escalation: only a lead nobody called is ever
    escalated, so no call can fall between the two, and the appeal's time is stored already.
    The conditions read Lead and Appeal (joined on ``Lead.appeal_id``).
    """
    # A preview skip, a call the operator's own phone missed, congestion and a failed Originate
    # leave an attempt row but rang no client.
    called = exists().where(Attempt.lead_id == Lead.id, Attempt.started_at >= Appeal.created_at,
                            or_(Attempt.outcome.is_(None), Attempt.outcome.not_in(_RANG_NO_CLIENT)))
    return [Lead.state == "ready", Lead.due_by < now, ~called]


async def overdue_hot_leads(db: Database, now: datetime) -> list[OverdueHotLead]:
    """Hot leads of running campaigns nobody called back by their due time (``_lapsed``), most overdue first."""
    check_now(now)
    async with db.reading() as s:
        rows = await s.execute(
            select(Lead.id, Lead.campaign_id, Campaign.team_id, Lead.appeal_id, Lead.client_id, Client.responsible_id,
                   Lead.agent_id, Lead.due_by, Lead.timezone)
            .join(Appeal, Appeal.id == Lead.appeal_id)
            .join(Campaign, Campaign.id == Lead.campaign_id)
            .join(Client, Client.id == Lead.client_id)
            .where(*_lapsed(now), Campaign.state == "running")
            .order_by(Lead.due_by, Lead.id)
        )
        return [OverdueHotLead(*row) for row in rows]


async def escalation_candidates(db: Database, campaign_id: int) -> list[AgentCandidate]:
    """Active operators and managers of the campaign's team (or its agents, with no team), with their hot load."""
    async with db.reading() as s:
        campaign = await load_campaign(s, None, campaign_id)
        assigned = set((await s.execute(
            select(CampaignAgent.user_id).where(CampaignAgent.campaign_id == campaign.id))).scalars())
        who = [User.is_active.is_(True), User.role.in_((Role.operator, Role.manager))]
        who.append(User.team_id == campaign.team_id if campaign.team_id is not None else User.id.in_(sorted(assigned) or [-1]))
        users = list((await s.execute(select(User.id).where(*who).order_by(User.id))).scalars())
        load = dict((await s.execute(
            select(Lead.agent_id, func.count()).where(Lead.agent_id.in_(users or [-1]), Lead.appeal_id.is_not(None),
                                                     Lead.state.in_(("ready", "leased", "dialing")))
            .group_by(Lead.agent_id))).all())
    return [AgentCandidate(u, u in assigned, int(load.get(u, 0))) for u in users]


async def defer_hot_leads(db: Database, lead_ids: Sequence[int], now: datetime, due_by: datetime) -> int:
    """Give lapsed hot leads a new due time (their window is shut: nobody could call them); how many moved."""
    check_now(now)
    check_aware(due_by, "due_by")
    ids = [i for i in lead_ids if fits_id(i)]
    if not ids:
        return 0
    async with db.transaction() as s:
        await db.write_lock(s)
        moved = await s.execute(update(Lead).where(Lead.id.in_(ids), Lead.state == "ready", Lead.due_by < now)
                                .values(due_by=due_by).execution_options(synchronize_session=False))
        return moved.rowcount or 0


async def escalate_hot_lead(
    db: Database, lead_id: int, to_user_id: int, now: datetime, due_by: datetime | None = None,
    reason: str = "Обращение не обработано за 10 минут",
) -> LeadView | None:
    """Hand an overdue hot lead to another operator (the Bitrix24 flow): pinned to them, dialable at once, due again in 10 minutes.

    A "primary" client (the card the appeal created) is reassigned to them too, with a
    history row in the supervisor's (the campaign's creator's) name. None if the lead is
    no longer lapsed (``_lapsed``: someone took it or called meanwhile).
    """
    check_now(now)
    check_aware(due_by, "due_by")
    async with db.transaction() as s:
        await db.write_lock(s)
        lead = await lock_lead(s, lead_id)
        if lead is None or await s.scalar(select(Lead.id).join(Appeal, Appeal.id == Lead.appeal_id)
                                          .where(Lead.id == lead.id, *_lapsed(now))) is None:
            return None
        user = await s.get(User, to_user_id) if fits_id(to_user_id) else None
        if user is None or not user.is_active:
            raise InvalidInput(f"user {to_user_id} cannot take the lead")
        previous = lead.agent_id
        lead.agent_id = user.id
        lead.due_by = due_by or now + HOT_WITHIN
        if lead.next_try_at is not None and lead.next_try_at > now:
            # A lapsed lead rests only from its last owner's preview skip or missed phone: theirs, not the new owner's.
            lead.next_try_at = None
        lead.priority = max(lead.priority, HOT_PRIORITY)
        lead.updated_at = now
        client = await s.get(Client, lead.client_id)
        campaign = await s.get(Campaign, lead.campaign_id)
        assert client is not None and campaign is not None
        if client.status == "primary" and client.responsible_id != user.id and campaign.created_by_id is not None:
            s.add(ClientReassignment(client_id=client.id, from_user_id=client.responsible_id, to_user_id=user.id,
                                     by_user_id=campaign.created_by_id, reason=reason[:500], at=now))
            client.responsible_id = user.id
            client.updated_at = now
        await s.flush()
        view = lead_view(lead, client.name)
    log.warning("leads.hot_escalated lead=%s from=%s to=%s due_by=%s", lead_id, previous, to_user_id,
                view.due_by.isoformat() if view.due_by else None)
    return view
