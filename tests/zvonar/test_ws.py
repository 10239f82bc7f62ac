"""/api/ws delivers to each logged-in user the bus events meant for them, and no others."""

from __future__ import annotations

import asyncio
import json

import pytest

from crm_core.models import Role
from crm_core.rights import Actor
from zvonar.bus import BusEvent
from zvonar.ws import event_is_for


async def _next(ws, timeout: float = 2.0) -> dict:  # type: ignore[no-untyped-def]
    msg = await ws.receive(timeout=timeout)
    return json.loads(msg.data)


async def test_screen_pop_reaches_only_its_agent(api) -> None:
    alice, alice_client = await api.user("operator", endpoint="101")
    bob, bob_client = await api.user("operator", endpoint="102")
    ws_alice = await alice_client.ws_connect("/api/ws")
    ws_bob = await bob_client.ws_connect("/api/ws")
    assert (await _next(ws_alice))["topic"] == "ws.ready"
    assert (await _next(ws_bob))["topic"] == "ws.ready"
    await api.bus.publish("screen.pop", {"user_id": alice.id, "number": "+79161234567", "client": {"name": "ООО «Ромашка»"}})
    got = await _next(ws_alice)
    assert got["topic"] == "screen.pop" and got["payload"]["client"]["name"] == "ООО «Ромашка»"
    with pytest.raises(asyncio.TimeoutError):
        await ws_bob.receive(timeout=0.3)
    await ws_alice.close()
    await ws_bob.close()


async def test_ws_token_in_query_for_browsers(api) -> None:
    user, client = await api.user("supervisor")
    token = client.session.headers["Authorization"].split()[1]
    anon = await api.client()
    ws = await anon.ws_connect(f"/api/ws?token={token}")
    assert (await _next(ws))["payload"]["user_id"] == user.id
    await ws.close()


def test_routing_rule() -> None:
    op = Actor(user_id=5, role=Role.operator, team_id=1)
    sup = Actor(user_id=6, role=Role.supervisor, team_id=1)
    other_sup = Actor(user_id=7, role=Role.supervisor, team_id=2)
    admin = Actor(user_id=1, role=Role.admin, team_id=None)
    pop = BusEvent("screen.pop", {"user_id": 5})
    agent = BusEvent("agent.state", {"user_id": 5, "team_id": 1, "state": "ready"})
    assert event_is_for(op, pop) and not event_is_for(sup, pop) and not event_is_for(admin, pop)
    assert event_is_for(sup, agent) and not event_is_for(other_sup, agent) and event_is_for(admin, agent)
    assert event_is_for(op, agent)  # their own state
    assert not event_is_for(op, BusEvent("campaign.stats", {"campaign_id": 1}))
    # A campaign of no team is watched by its creator only, as the API shows it (and by admins).
    teamless = BusEvent("campaign.stats", {"campaign_id": 2, "team_id": None, "created_by_id": 8})
    creator = Actor(user_id=8, role=Role.supervisor, team_id=None)
    no_team_sup = Actor(user_id=9, role=Role.supervisor, team_id=None)
    assert event_is_for(creator, teamless) and event_is_for(admin, teamless)
    assert not any(event_is_for(actor, teamless) for actor in (sup, other_sup, no_team_sup, op))
    assert event_is_for(sup, BusEvent("campaign.state", {"campaign_id": 3, "team_id": 1, "created_by_id": 8}))
    # A call carries the client's number: its team's supervisors see it; a call nobody's yet, only admins.
    started = BusEvent("call.started", {"call_id": "1773.5", "number": "+79161234567", "user_id": 5, "team_id": 1})
    assert event_is_for(sup, started) and not event_is_for(other_sup, started) and event_is_for(admin, started)
    queued = BusEvent("call.started", {"call_id": "1773.6", "number": "+79161234567"})
    assert not any(event_is_for(actor, queued) for actor in (sup, other_sup, no_team_sup, op))
    assert event_is_for(admin, queued)
    # A dialer's part of a preview campaign's figures is for the other dialers: the merged campaign.stats is shown.
    part = BusEvent("dialer.stats_part", {"campaign_id": 1, "dialer": "zvonar-a:4242:0123456789ab", "in_flight": 1})
    assert not any(event_is_for(actor, part) for actor in (op, sup, other_sup, admin))
