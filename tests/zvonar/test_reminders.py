"""The reminder publisher on both stores and both buses, and what the user gets: /api/ws and
/api/reminders/today."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from crm_core.db import Database
from crm_core.models import utcnow
from crm_core.services import interactions as interactions_service
from crm_core.services.interactions import InteractionInput
from tests.conftest import REDIS_URL
from tests.crm_core.crm_world import build_world, romashka
from zvonar.bus import InProcessBus
from zvonar.bus_redis import RedisBus
from zvonar.reminders import REMINDERS_KEY, TOPIC, ReminderPublisher


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    if request.param == "memory":
        b: object = InProcessBus()
    else:
        b = RedisBus(REDIS_URL, prefix=f"zvtest-{uuid.uuid4().hex[:8]}:")
        await b.ping()
    yield b
    await b.close()  # type: ignore[attr-defined]


async def _settle(bus: object) -> None:
    if isinstance(bus, RedisBus):
        await bus.ping()
        await asyncio.sleep(0.05)


async def test_the_running_publisher_sends_a_due_callback_once(db: Database, bus) -> None:
    world = await build_world(db)
    client_id = await romashka(db, world.ivanova)
    event = await interactions_service.create_interaction(db, world.ivanova, client_id, InteractionInput(
        type_code="outgoing_call", subject="Перезвонить Кузнецовой", planned_at=utcnow() + timedelta(minutes=2)))
    sub = await bus.subscribe([TOPIC])
    await _settle(bus)
    publisher = ReminderPublisher(db, bus, interval=0.05)
    running = publisher.running(None)  # type: ignore[arg-type]
    await running.__anext__()
    try:
        got = await sub.get(timeout=5)
        assert got.topic == "reminder.due"
        assert got.payload["user_id"] == world.ivanova.user_id and got.payload["interaction_id"] == event.id
        assert got.payload["client_name"] == "ООО «Ромашка»" and got.payload["subject"] == "Перезвонить Кузнецовой"
        # Many ticks later, still once.
        with pytest.raises(asyncio.TimeoutError):
            await sub.get(timeout=0.5)
        assert publisher.task is not None and not publisher.task.done()
    finally:
        with pytest.raises(StopAsyncIteration):
            await running.__anext__()
        await sub.close()
    assert publisher.task.cancelled()


async def test_a_reminder_reaches_its_user_over_the_websocket_and_the_day_list(api) -> None:
    ivanova, http = await api.user("operator", login="i.ivanova", endpoint="101")
    _, other = await api.user("operator", login="s.petrov", endpoint="102")
    publisher = api.server.app[REMINDERS_KEY]
    assert publisher.task is not None and not publisher.task.done()  # started with the app
    client = await (await http.post("/api/clients", json={
        "name": "ООО «Ромашка»", "region": "Новосибирская область", "phones": [{"number": "+7 913 555-01-02"}]})).json()
    resp = await http.post(f"/api/clients/{client['id']}/interactions", json={
        "type": "outgoing_call", "subject": "Перезвонить по КП",
        "planned_at": (utcnow() + timedelta(minutes=1)).isoformat()})
    assert resp.status == 201, await resp.text()
    event = await resp.json()
    mine, theirs = await http.ws_connect("/api/ws"), await other.ws_connect("/api/ws")
    for ws in (mine, theirs):
        assert json.loads((await ws.receive(timeout=2)).data)["topic"] == "ws.ready"
    await publisher.tick()
    got = json.loads((await mine.receive(timeout=2)).data)
    assert got["topic"] == "reminder.due" and got["payload"]["interaction_id"] == event["id"]
    assert got["payload"]["client_timezone"] == "Asia/Novosibirsk" and got["payload"]["phone"] == "+79135550102"
    with pytest.raises(asyncio.TimeoutError):
        await theirs.receive(timeout=0.3)
    await mine.close()
    await theirs.close()

    # A zone where "in a minute" is still today.
    zone = "UTC" if utcnow().hour < 23 else "Asia/Tokyo"
    day = await (await http.get(f"/api/reminders/today?tz={zone}")).json()
    [item] = [i for i in day if i["id"] == event["id"]]
    assert item["reminded"] and item["client_name"] == "ООО «Ромашка»" and item["client_id"] == client["id"]
    assert item["client_local_time"].endswith("+07:00") and item["local_time"].endswith("Z" if zone == "UTC" else "+09:00")
    assert await (await other.get("/api/reminders/today")).json() == []
    bad = await http.get("/api/reminders/today?tz=Mars/Olympus")
    assert bad.status == 422 and "tz" in (await bad.json())["error"]["message"]
