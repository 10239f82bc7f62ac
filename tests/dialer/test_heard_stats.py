"""Live figures heard on the bus: what a process that does not pace a campaign answers for it."""

from __future__ import annotations

import asyncio

from crm_core.rights import Actor
from crm_core.services import campaigns as campaigns_service
from dialer.heard_stats import HeardStats


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_last_figures_of_a_campaign_stand_while_fresh() -> None:
    clock = Clock()
    heard = HeardStats(clock=clock, fresh_seconds=5.0)
    heard.heard({"campaign_id": 7, "dials": 120, "abandon_rate": 0.021})
    heard.heard({"campaign_id": 7, "dials": 121, "abandon_rate": 0.021})
    heard.heard({"campaign_id": "7", "dials": 0})  # not a campaign id: ignored
    assert heard.fresh(7) == {"campaign_id": 7, "dials": 121, "abandon_rate": 0.021}
    assert heard.fresh(8) is None
    clock.now += 5.5  # the pacing dialer publishes every second: silence means nobody paces it now
    assert heard.fresh(7) is None


async def test_an_api_process_without_the_dialer_answers_with_the_figures_the_bus_brings(api) -> None:  # type: ignore[no-untyped-def]
    user, http = await api.user("supervisor", login="kuznetsova", full_name="Кузнецова Ольга Петровна")
    campaign = await campaigns_service.create_campaign(api.db, Actor.of(user), {"name": "Зимняя распродажа"})
    url = f"/api/campaigns/{campaign.id}/stats"
    quiet = await (await http.get(url)).json()
    assert quiet["live"] is False
    # The dialer pacing it runs in another process; its figures come over the bus once a second.
    figures = {**quiet, "dials": 342, "answered": 101, "abandoned": 2, "abandon_rate": 0.0198, "occupancy": 0.87,
               "agents": {**quiet["agents"], "talk": 14, "wrap": 3, "free": 3}, "ringing": 9, "in_flight": 23,
               "pacing": {"dials": 2, "reason": "predictive"}}
    await api.bus.publish("campaign.stats", figures)
    for _ in range(50):
        stats = await (await http.get(url)).json()
        if stats["live"]:
            break
        await asyncio.sleep(0.02)
    assert stats["live"] is True
    assert (stats["dials"], stats["answered"], stats["abandoned"], stats["occupancy"]) == (342, 101, 2, 0.87)
    assert stats["agents"]["talk"] == 14 and stats["state"] == campaign.state
