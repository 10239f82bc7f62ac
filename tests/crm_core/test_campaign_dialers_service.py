"""One dialer per campaign: the lease is claimed, renewed, refused to others, taken over when it lapses."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from crm_core.db import Database
from crm_core.services import campaign_dialers
from tests.crm_core.campaign_world import campaign_world

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=15)
A, B = "zvonar-1:4242:aaaaaaaaaaaa", "zvonar-2:977:bbbbbbbbbbbb"


async def test_one_dialer_holds_a_campaign_and_renews_it(db: Database) -> None:
    cid = (await campaign_world(db)).campaign.id
    assert await campaign_dialers.claim(db, cid, A, NOW, LEASE)
    assert not await campaign_dialers.claim(db, cid, B, NOW + timedelta(seconds=1), LEASE)
    assert await campaign_dialers.claim(db, cid, A, NOW + timedelta(seconds=10), LEASE)  # renewed to 09:00:25
    assert not await campaign_dialers.claim(db, cid, B, NOW + timedelta(seconds=20), LEASE)
    assert await campaign_dialers.holder(db, cid) == (A, NOW + timedelta(seconds=25))


async def test_a_lapsed_lease_is_taken_over_and_its_old_owner_is_refused(db: Database) -> None:
    cid = (await campaign_world(db)).campaign.id
    assert await campaign_dialers.claim(db, cid, A, NOW, LEASE)
    later = NOW + timedelta(seconds=16)  # A hung for longer than its lease
    assert await campaign_dialers.claim(db, cid, B, later, LEASE)
    assert not await campaign_dialers.claim(db, cid, A, later + timedelta(seconds=1), LEASE)
    await campaign_dialers.release(db, cid, A)  # A giving back what it no longer holds changes nothing
    assert (await campaign_dialers.holder(db, cid))[0] == B


async def test_a_dead_owner_of_this_host_is_taken_over_at_once(db: Database) -> None:
    cid = (await campaign_world(db)).campaign.id
    assert await campaign_dialers.claim(db, cid, A, NOW, LEASE)
    assert not await campaign_dialers.claim(db, cid, B, NOW, LEASE, is_dead=lambda owner: False)
    assert await campaign_dialers.claim(db, cid, B, NOW, LEASE, is_dead=lambda owner: owner == A)


async def test_a_released_campaign_is_free_for_the_next_dialer(db: Database) -> None:
    cid = (await campaign_world(db)).campaign.id
    assert await campaign_dialers.claim(db, cid, A, NOW, LEASE)
    await campaign_dialers.release(db, cid, A)
    assert await campaign_dialers.holder(db, cid) is None
    assert await campaign_dialers.claim(db, cid, B, NOW, LEASE)


async def test_of_dialers_racing_for_a_campaign_exactly_one_wins(db: Database) -> None:
    cid = (await campaign_world(db)).campaign.id
    url = db.url.render_as_string(hide_password=False)
    engines = [Database(url) for _ in range(5)]
    try:
        won = await asyncio.gather(*(campaign_dialers.claim(e, cid, f"zvonar-{i}:{100 + i}:{i:012d}", NOW, LEASE)
                                     for i, e in enumerate(engines)))
        assert sum(won) == 1
        # And again when the lease has lapsed: one taker, not five.
        later = NOW + timedelta(minutes=1)
        won = await asyncio.gather(*(campaign_dialers.claim(e, cid, f"zvonar-{i}:{200 + i}:{i:012d}", later, LEASE)
                                     for i, e in enumerate(engines)))
        assert sum(won) == 1
    finally:
        for e in engines:
            await e.dispose()
