"""One dialer process per campaign: a lease on the campaign, renewed by its owner, taken over when it lapses.

Every `zvonar serve` runs a dialer; with several of them (the Redis bus) each would pace
every campaign on its own and together overshoot the abandon cap. A dialer paces a
campaign only while it holds the campaign's row here: it claims it, renews it every poll,
and gives it back when it stops. A lease that lapsed (its owner hung or died) is taken
over by the next dialer that asks; so is the lease of a dead process of the same host at
once (the caller says which owners are dead: crm_core knows no processes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from crm_core.db import Database
from crm_core.models import CampaignDialer


async def claim(db: Database, campaign_id: int, owner: str, now: datetime, lease: timedelta,
                is_dead: Callable[[str], bool] = lambda _owner: False) -> bool:
    """Take or renew ``campaign_id`` for ``owner`` until ``now + lease``; False while another dialer holds it."""
    until = now + lease
    async with db.transaction() as s:
        renewed = await s.execute(
            update(CampaignDialer)
            .where(CampaignDialer.campaign_id == campaign_id, CampaignDialer.owner == owner)
            .values(until=until)
        )
        if renewed.rowcount == 1:
            return True
        held = (await s.execute(
            select(CampaignDialer.owner, CampaignDialer.until).where(CampaignDialer.campaign_id == campaign_id)
        )).first()
        if held is not None:
            holder_owner, holder_until = held
            if holder_until >= now and not is_dead(holder_owner):
                return False
            # Lapsed, or its process is gone: taken over, from that very holder only (one taker wins).
            taken = await s.execute(
                update(CampaignDialer)
                .where(CampaignDialer.campaign_id == campaign_id, CampaignDialer.owner == holder_owner,
                       CampaignDialer.until == holder_until)
                .values(owner=owner, since=now, until=until)
            )
            return taken.rowcount == 1
    try:
        async with db.transaction() as s:
            s.add(CampaignDialer(campaign_id=campaign_id, owner=owner, since=now, until=until))
    except IntegrityError:
        return False  # another dialer claimed it between our read and our insert
    return True


async def release(db: Database, campaign_id: int, owner: str) -> None:
    """Give the campaign back (the dialer stops pacing it); a lease another dialer holds is left alone."""
    async with db.transaction() as s:
        await s.execute(delete(CampaignDialer).where(CampaignDialer.campaign_id == campaign_id,
                                                     CampaignDialer.owner == owner))


async def holder(db: Database, campaign_id: int) -> tuple[str, datetime] | None:
    """Who paces the campaign and until when (None: nobody)."""
    async with db.reading() as s:
        row = (await s.execute(
            select(CampaignDialer.owner, CampaignDialer.until).where(CampaignDialer.campaign_id == campaign_id)
        )).first()
    return (row[0], row[1]) if row is not None else None
