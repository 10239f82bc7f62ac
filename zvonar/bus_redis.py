"""The production bus on Redis pub/sub.

Pub/sub, not Streams: bus events are live notifications (a screen pop, an agent's
state, a campaign's figures) that are worthless once late, and every durable fact is
already in PostgreSQL. Pub/sub gives the lowest latency and needs no trimming or
consumer-group bookkeeping; a subscriber that was down simply re-reads the store.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis

from zvonar.bus import BusEvent, QueueSubscription, check_topic

log = logging.getLogger(__name__)


class RedisBus:
    """Publish and pattern-subscribe through Redis; same semantics as InProcessBus."""

    def __init__(self, url: str, prefix: str = "zvonar:") -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._readers: dict[QueueSubscription, tuple[Any, asyncio.Task[None]]] = {}

    async def ping(self) -> None:
        await self._redis.ping()

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        check_topic(topic)
        await self._redis.publish(self._prefix + topic, json.dumps(payload, ensure_ascii=False))

    async def subscribe(self, patterns: Iterable[str]) -> QueueSubscription:
        sub = QueueSubscription(tuple(patterns))
        sub._on_close = self._remove
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.psubscribe(*[self._prefix + p for p in sub.patterns])
        task = asyncio.create_task(self._read(pubsub, sub), name="redis-bus-reader")
        self._readers[sub] = (pubsub, task)
        return sub

    async def _read(self, pubsub: Any, sub: QueueSubscription) -> None:
        try:
            async for message in pubsub.listen():
                if message.get("type") != "pmessage":
                    continue
                topic = message["channel"][len(self._prefix) :]
                try:
                    payload = json.loads(message["data"])
                except (TypeError, ValueError):
                    log.warning("bus.redis.bad_payload topic=%s", topic)
                    continue
                sub.deliver(BusEvent(topic, payload))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("bus.redis.reader_failed patterns=%s", ",".join(sub.patterns))
            await sub.close()

    async def _remove(self, sub: QueueSubscription) -> None:
        entry = self._readers.pop(sub, None)
        if entry is None:
            return
        pubsub, task = entry
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        await pubsub.aclose()

    async def close(self) -> None:
        for sub in list(self._readers):
            await sub.close()
        await self._redis.aclose()
