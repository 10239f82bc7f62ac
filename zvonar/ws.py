"""``/api/ws``: a logged-in user receives the bus events meant for them."""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import WSMsgType, web

from crm_core.api import CONTEXT_KEY
from crm_core.models import Role
from crm_core.rights import Actor
from zvonar.bus import BusEvent
from zvonar.http_dispatch import authenticate

log = logging.getLogger(__name__)

# Supervisors and admins watch these whole; others get only what is addressed to them.
SUPERVISION_TOPICS = ("agent.state", "campaign.state", "campaign.stats", "call.*")


def event_is_for(actor: Actor, event: BusEvent) -> bool:
    """Routing rule: addressed to the user, or to their team for a supervisor, or admin."""
    payload = event.payload
    if payload.get("user_id") == actor.user_id:
        return True
    if actor.role is Role.admin:
        return event.topic.split(".")[0] in {"agent", "campaign", "call"}
    if actor.role is Role.supervisor:
        kind = event.topic.split(".")[0]
        if kind not in {"agent", "campaign", "call"}:
            return False
        team = payload.get("team_id")
        if kind == "campaign" and team is None:
            # As the API: a campaign of no team is its creator's (campaigns.campaign_scope).
            return actor.team_id is None and payload.get("created_by_id") == actor.user_id
        if kind == "call" and team is None:
            return False  # nobody's call yet (a caller in the queue): it carries the number, no team may be told
        return team is None or team == actor.team_id
    return False


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    actor, _token = await authenticate(request)
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    bus = request.app[CONTEXT_KEY].bus
    sub = await bus.subscribe(["*"])
    log.info("ws.open user=%s", actor.login)

    async def pump() -> None:
        async for event in sub:
            if event_is_for(actor, event):
                await ws.send_str(json.dumps({"topic": event.topic, "payload": event.payload}, ensure_ascii=False))

    pump_task = asyncio.create_task(pump())
    await ws.send_str(json.dumps({"topic": "ws.ready", "payload": {"user_id": actor.user_id}}))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data == "ping":
                await ws.send_str(json.dumps({"topic": "ws.pong", "payload": {}}))
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        pump_task.cancel()
        await sub.close()
        try:
            await pump_task
        except (asyncio.CancelledError, Exception):
            pass
        log.info("ws.closed user=%s", actor.login)
    return ws


