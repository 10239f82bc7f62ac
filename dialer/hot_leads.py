"""Hot leads: an appeal that asks for a call back is dialled within 10 minutes, or escalated.

How a campaign opts in: ``campaigns.hot_appeals`` (PATCH /api/campaigns/{id} {"hot_appeals":
true}). When an appeal with ``callback_requested`` is created, crm_core puts it as a lead of
priority ``HOT_PRIORITY`` (above every list lead), due by the appeal's callback time (10
minutes after it arrived), into the running hot campaign of the client's team (else one
of no team; the oldest). The dialer leases it first (``lease_leads`` orders by priority,
then due time).

Escalation (the Bitrix24 flow of ../shared/PRODUCT.md): a hot lead nobody called back by its
due time goes to another operator of the campaign's team, chosen here (pure): not the
one it was pinned to, nor the client's responsible who let it lapse; agents of the
campaign first, then the one holding the fewest hot leads, then the lowest id. The lead is
pinned to them and due again in 10 minutes; a "primary" client (the card the appeal
created) is reassigned to them with a history row. A lead called back keeps its owner,
whatever came of the call that rang the client (congestion or a failed Originate did not): it waits on its retry or on the operator's personal callback. A
lead whose client's calling window is shut is not escalated (nobody could have dialled it);
it waits at the top of the list, and its 10 minutes start when the window opens.
``escalate_overdue`` is the edge the runner calls every few seconds for the campaigns it
paces; it returns what it did, for the bus.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from crm_core.db import Database
from crm_core.services import hot_lead_store
from crm_core.services.hot_lead_store import HOT_PRIORITY, HOT_WITHIN, AgentCandidate, OverdueHotLead

__all__ = ["HOT_PRIORITY", "HOT_WITHIN", "Escalation", "choose_escalation_agent", "dialable_now", "escalate_overdue",
           "plan_escalations", "shut_now"]


@dataclass(frozen=True)
class Escalation:
    """One overdue hot lead handed on: from whom (None: nobody was pinned) to whom, due again when."""

    lead_id: int
    campaign_id: int
    appeal_id: int
    from_user_id: int | None
    to_user_id: int
    due_by: datetime


def choose_escalation_agent(candidates: Iterable[AgentCandidate], exclude: Iterable[int | None]) -> int | None:
    """The operator to hand an overdue hot lead to, or None if nobody else can take it."""
    barred = {u for u in exclude if u is not None}
    pool = [c for c in candidates if c.user_id not in barred]
    if not pool:
        return None
    return min(pool, key=lambda c: (not c.assigned, c.hot_leads, c.user_id)).user_id


def plan_escalations(
    overdue: Sequence[OverdueHotLead], candidates: dict[int, list[AgentCandidate]], now: datetime,
) -> list[Escalation]:
    """Who takes each overdue lead; each hand-over counts towards the next choice (load spreads)."""
    load = {cid: {c.user_id: c for c in pool} for cid, pool in candidates.items()}
    plans = []
    for lead in overdue:
        pool = load.get(lead.campaign_id, {})
        chosen = choose_escalation_agent(pool.values(), (lead.agent_id, lead.responsible_id))
        if chosen is None:
            continue
        taken = pool[chosen]
        pool[chosen] = AgentCandidate(taken.user_id, taken.assigned, taken.hot_leads + 1)
        plans.append(Escalation(lead.lead_id, lead.campaign_id, lead.appeal_id, lead.agent_id, chosen, now + HOT_WITHIN))
    return plans


def dialable_now(overdue: Iterable[OverdueHotLead], open_zones: Mapping[int, Collection[str | None]]) -> list[OverdueHotLead]:
    """The overdue leads whose calling window is open now (``open_zones`` per campaign, as the dialer reads them).

    A lead due while its client's window is shut was not let lapse by anyone: it waits for
    the morning at the top of the list instead of going round the team all night.
    """
    return [lead for lead in overdue if lead.timezone in open_zones.get(lead.campaign_id, ())]


def shut_now(overdue: Iterable[OverdueHotLead], open_zones: Mapping[int, Collection[str | None]]) -> list[OverdueHotLead]:
    """The overdue leads of the campaigns in ``open_zones`` whose calling window is shut now."""
    return [lead for lead in overdue if lead.campaign_id in open_zones and lead.timezone not in open_zones[lead.campaign_id]]


async def escalate_overdue(db: Database, now: datetime,
                           open_zones: Mapping[int, Collection[str | None]] | None = None) -> list[Escalation]:
    """Find the overdue hot leads, choose who takes each, hand them over; returns what was done.

    With ``open_zones`` (campaign -> zones open now), only those campaigns' leads in an
    open window are escalated: the dialer passes the campaigns it paces.
    """
    overdue = await hot_lead_store.overdue_hot_leads(db, now)
    if open_zones is not None:
        shut = shut_now(overdue, open_zones)
        if shut:
            # Their 10 minutes start again at every look while the window is shut, so from its opening.
            await hot_lead_store.defer_hot_leads(db, [lead.lead_id for lead in shut], now, now + HOT_WITHIN)
        overdue = dialable_now(overdue, open_zones)
    if not overdue:
        return []
    candidates = {cid: await hot_lead_store.escalation_candidates(db, cid) for cid in {o.campaign_id for o in overdue}}
    done = []
    for plan in plan_escalations(overdue, candidates, now):
        if await hot_lead_store.escalate_hot_lead(db, plan.lead_id, plan.to_user_id, now, plan.due_by) is not None:
            done.append(plan)
    return done
