"""Small read-only queries the live runner needs besides crm_core's campaign services.

Reads only: every change to campaigns, leads and attempts goes through
crm_core.services (leads are leased, dialled and finished there, in one transaction each).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select

from crm_core.db import Database
from crm_core.models import Attempt, Campaign, CampaignAgent, Lead, User
from dialer.retries import NOT_DIALS
from dialer.runner_state import CampaignInfo


@dataclass(frozen=True)
class AgentPhone:
    """An operator assigned to a campaign, with the phone endpoint its queue rings."""

    user_id: int
    endpoint: str
    full_name: str


async def campaigns_to_run(db: Database, also: Iterable[int] = ()) -> list[CampaignInfo]:
    """Every running campaign, and these ones whatever their state (the runner's poll, once a second).

    Two light queries, no lead counts: crm_core's campaign views count every lead by state,
    which a poll of a campaign with a million leads must not do each second.
    """
    wanted = list(also)
    async with db.reading() as s:
        where = Campaign.state == "running"
        if wanted:
            where = or_(where, Campaign.id.in_(wanted))
        rows = list((await s.execute(select(Campaign).where(where).order_by(Campaign.id))).scalars())
        agents: dict[int, list[int]] = {c.id: [] for c in rows}
        if rows:
            for cid, uid in await s.execute(
                select(CampaignAgent.campaign_id, CampaignAgent.user_id)
                .where(CampaignAgent.campaign_id.in_(list(agents))).order_by(CampaignAgent.user_id)
            ):
                agents[cid].append(uid)
    return [
        CampaignInfo(id=c.id, name=c.name, team_id=c.team_id, state=c.state, mode=c.mode, queue=c.queue,
                     hours=dict(c.hours or {}), retry_rules=dict(c.retry_rules or {}), pacing=dict(c.pacing or {}),
                     script_id=c.script_id, caller_id=c.caller_id,
                     abandon_message=c.abandon_message, agents=tuple(agents[c.id]))
        for c in rows
    ]


async def agent_phones(db: Database, user_ids: Iterable[int]) -> list[AgentPhone]:
    """Assigned operators who have a phone endpoint (the others cannot take campaign calls)."""
    ids = list(user_ids)
    if not ids:
        return []
    async with db.reading() as s:
        rows = (await s.execute(
            select(User.id, User.phone_endpoint, User.full_name)
            .where(User.id.in_(ids), User.phone_endpoint.is_not(None), User.is_active.is_(True))
            .order_by(User.id)
        )).all()
    return [AgentPhone(uid, endpoint, name) for uid, endpoint, name in rows if endpoint]


async def day_counts(db: Database, campaign_id: int, since: datetime) -> tuple[int, int, int, int]:
    """(dials, human answers, abandons, answering machines) of the campaign's attempts started since ``since``
    (skipped cards are no dials, nor calls the operator's own phone missed)."""
    human = case((Attempt.outcome.in_(("answered", "abandoned")), 1), else_=0)
    abandoned = case((Attempt.outcome == "abandoned", 1), else_=0)
    machine = case((Attempt.outcome == "machine", 1), else_=0)
    async with db.reading() as s:
        row = (await s.execute(
            select(func.count(Attempt.id), func.coalesce(func.sum(human), 0), func.coalesce(func.sum(abandoned), 0),
                   func.coalesce(func.sum(machine), 0))
            .where(Attempt.campaign_id == campaign_id, Attempt.started_at >= since,
                   func.coalesce(Attempt.outcome, "").not_in(NOT_DIALS))
        )).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def recent_attempts(db: Database, campaign_id: int, since: datetime) -> list[tuple[datetime, datetime | None, str | None]]:
    """(started, answered, outcome) of the campaign's dials started since ``since``, oldest first (no skipped cards,
    no calls the operator's own phone missed): what a restarted dialer's rolling figures start from."""
    async with db.reading() as s:
        rows = await s.execute(
            select(Attempt.started_at, Attempt.answered_at, Attempt.outcome)
            .where(Attempt.campaign_id == campaign_id, Attempt.started_at >= since,
                   func.coalesce(Attempt.outcome, "").not_in(NOT_DIALS))
            .order_by(Attempt.started_at, Attempt.id)
        )
        return [(started, answered, outcome) for started, answered, outcome in rows]


async def dialing_owners(db: Database) -> set[str]:
    """Dialers that have attempts still open (an Originate sent, no outcome yet)."""
    async with db.reading() as s:
        rows = (await s.execute(
            select(Attempt.dialer_id).where(Attempt.outcome.is_(None), Attempt.dialer_id.is_not(None)).distinct()
        )).scalars()
        return {r for r in rows if r}


async def agents_with_callbacks(db: Database, campaign_id: int, now: datetime, user_ids: Iterable[int]) -> set[int]:
    """Of these operators, those with a lead pinned to them and due now (a personal callback, an escalated appeal)."""
    ids = list(user_ids)
    if not ids:
        return set()
    async with db.reading() as s:
        rows = (await s.execute(
            select(Lead.agent_id).where(
                Lead.campaign_id == campaign_id, Lead.state == "ready", Lead.agent_id.in_(ids),
                or_(Lead.next_try_at.is_(None), Lead.next_try_at <= now),
            ).distinct()
        )).scalars()
        return {r for r in rows if r is not None}
