"""The campaigns' live figures as heard on the bus, for a process that does not pace them itself.

One dialer paces a campaign (it holds the campaign's lease); behind a load balancer, the
process a supervisor's GET /api/campaigns/{id}/stats reaches is often another one, or one
with no dialer at all. It answers with the last ``campaign.stats`` the bus carried, while
that is fresh: the pacing dialer publishes one every second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import suppress
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

FRESH_SECONDS = 5.0  # older figures mean nobody paces the campaign now: the store's day figures then


class HeardStats:
    """The last ``campaign.stats`` payload of each campaign, and when it was heard."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, fresh_seconds: float = FRESH_SECONDS) -> None:
        self._clock = clock
        self.fresh_seconds = fresh_seconds
        self._last: dict[int, tuple[float, dict[str, Any]]] = {}

    def heard(self, payload: Mapping[str, Any]) -> None:
        """A ``campaign.stats`` event; payloads with no campaign id are ignored."""
        campaign_id = payload.get("campaign_id")
        if isinstance(campaign_id, int) and not isinstance(campaign_id, bool):
            self._last[campaign_id] = (self._clock(), dict(payload))

    def fresh(self, campaign_id: int) -> dict[str, Any] | None:
        """The campaign's last figures if heard within ``fresh_seconds``, else None."""
        entry = self._last.get(campaign_id)
        if entry is None or self._clock() - entry[0] > self.fresh_seconds:
            return None
        return entry[1]

    async def listen(self, bus: Any, retry_seconds: float = 1.0) -> None:
        """Keep the figures as the bus brings them, until cancelled; a lost bus is subscribed to again."""
        while True:
            try:
                subscription = await bus.subscribe(["campaign.stats"])
                try:
                    async for event in subscription:
                        self.heard(event.payload)
                finally:
                    await subscription.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: the figures wait, the API still answers
                log.warning("heard_stats.bus_lost error=%s", exc)
            await asyncio.sleep(retry_seconds)

    def running(self, bus: Any) -> Callable[[web.Application], AsyncIterator[None]]:
        """An aiohttp cleanup context listening while the application runs."""

        async def context(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(self.listen(bus), name="heard-campaign-stats")
            yield
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

        return context
