"""One set of specifications for both event buses: in-process and Redis pub/sub."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.conftest import REDIS_URL
from zvonar.bus import InProcessBus, topic_matches
from zvonar.bus_redis import RedisBus


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    if request.param == "memory":
        b = InProcessBus()
    else:
        # A private prefix per test, so parallel runs on one Redis never see each other.
        b = RedisBus(REDIS_URL, prefix=f"zvtest-{uuid.uuid4().hex[:8]}:")
        await b.ping()
    yield b
    await b.close()


async def _settle(bus: object) -> None:
    # Redis confirms a PSUBSCRIBE asynchronously; a round trip makes it effective.
    if isinstance(bus, RedisBus):
        await bus.ping()
        await asyncio.sleep(0.05)


async def test_subscriber_gets_matching_topics_in_order(bus) -> None:
    sub = await bus.subscribe(["call.*"])
    await _settle(bus)
    await bus.publish("call.started", {"call_id": "1795441645.0", "number": "+79161234567"})
    await bus.publish("screen.pop", {"user_id": 3})
    await bus.publish("call.ended", {"call_id": "1795441645.0", "outcome": "answered", "caller_name": "Иван Петров"})
    first = await sub.get(timeout=2)
    second = await sub.get(timeout=2)
    assert (first.topic, second.topic) == ("call.started", "call.ended")
    assert second.payload["caller_name"] == "Иван Петров"
    with pytest.raises(asyncio.TimeoutError):
        await sub.get(timeout=0.2)
    await sub.close()


async def test_fan_out_to_every_subscriber_and_close_stops_delivery(bus) -> None:
    a = await bus.subscribe(["agent.state"])
    b = await bus.subscribe(["*"])
    await _settle(bus)
    await bus.publish("agent.state", {"agent": "101", "state": "ready"})
    assert (await a.get(timeout=2)).payload == {"agent": "101", "state": "ready"}
    assert (await b.get(timeout=2)).topic == "agent.state"
    await a.close()
    await bus.publish("agent.state", {"agent": "101", "state": "paused", "reason": "обед"})
    assert (await b.get(timeout=2)).payload["reason"] == "обед"
    collected = [e async for e in _drain(a)]
    assert collected == []


async def _drain(sub):  # type: ignore[no-untyped-def]
    async for event in sub:
        yield event


async def test_invalid_topics_are_refused(bus) -> None:
    for topic in ("", "call.*", "call\r\nended", "with space"):
        with pytest.raises(ValueError):
            await bus.publish(topic, {})


def test_topic_patterns() -> None:
    assert topic_matches("call.ended", ["call.*"])
    assert topic_matches("campaign.stats", ["agent.state", "campaign.*"])
    assert not topic_matches("screen.pop", ["call.*"])
