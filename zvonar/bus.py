"""The event bus: one small interface, an in-process and a Redis implementation.

Topics are dotted names (``call.ended``, ``screen.pop``); payloads are JSON-serialisable
dicts. Consumers subscribe to topic patterns (``call.*``) and receive ``BusEvent``s
from an async iterator; they never need to know which implementation runs.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

TOPICS = (
    "call.started",
    "call.ringing",
    "call.answered",
    "call.bridged",
    "call.ended",
    "screen.pop",
    "agent.state",
    "campaign.state",
    "campaign.stats",
    "dialer.stats_part",  # between dialers: one server's part of a preview campaign's figures
    "reminder.due",
)


@dataclass(frozen=True)
class BusEvent:
    topic: str
    payload: dict[str, Any]


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[BusEvent]: ...

    async def get(self, timeout: float | None = None) -> BusEvent: ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, topic: str, payload: dict[str, Any]) -> None: ...

    async def subscribe(self, patterns: Iterable[str]) -> Subscription: ...

    async def close(self) -> None: ...


def topic_matches(topic: str, patterns: Iterable[str]) -> bool:
    """True if ``topic`` matches any glob pattern (``call.*``, ``*``)."""
    return any(fnmatch.fnmatchcase(topic, p) for p in patterns)


def check_topic(topic: str) -> None:
    if not topic or any(c in topic for c in "*?[] \r\n"):
        raise ValueError(f"invalid bus topic {topic!r}")


@dataclass(eq=False)
class QueueSubscription:
    """A subscription backed by an asyncio.Queue; slow consumers drop the oldest event."""

    patterns: tuple[str, ...]
    maxsize: int = 10_000
    _queue: asyncio.Queue[BusEvent | None] = field(init=False)
    _on_close: Any = None
    closed: bool = False

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue(self.maxsize)

    def deliver(self, event: BusEvent) -> None:
        if self.closed:
            return
        if self._queue.full():
            # A consumer that stopped reading must not grow memory without bound.
            dropped = self._queue.get_nowait()
            log.warning("bus.subscriber.overflow dropped_topic=%s", dropped.topic if dropped else None)
        self._queue.put_nowait(event)

    async def get(self, timeout: float | None = None) -> BusEvent:
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is None:
            raise StopAsyncIteration
        return item

    def __aiter__(self) -> AsyncIterator[BusEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BusEvent]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._on_close is not None:
            await self._on_close(self)
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)


class InProcessBus:
    """The embedded bus: fan-out to subscribers of this process."""

    def __init__(self) -> None:
        self._subs: list[QueueSubscription] = []

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        check_topic(topic)
        event = BusEvent(topic, payload)
        for sub in list(self._subs):
            if topic_matches(topic, sub.patterns):
                sub.deliver(event)

    async def subscribe(self, patterns: Iterable[str]) -> QueueSubscription:
        sub = QueueSubscription(tuple(patterns))
        sub._on_close = self._remove
        self._subs.append(sub)
        return sub

    async def _remove(self, sub: QueueSubscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    async def close(self) -> None:
        for sub in list(self._subs):
            await sub.close()
