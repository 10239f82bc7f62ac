"""The reminder publisher: every few seconds, due callbacks and meetings go out as ``reminder.due``.

Each payload carries the user's ``user_id``, so ``/api/ws`` hands it to that user only.
Several processes may run it side by side: the store's claim sends each reminder once
(crm_core/services/reminders.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from aiohttp import web

from crm_core.db import Database
from crm_core.models import utcnow
from crm_core.services import reminders as reminders_service
from crm_core.services.reminders import Reminder, ReminderRules
from zvonar.bus import EventBus

log = logging.getLogger(__name__)

TOPIC = "reminder.due"
INTERVAL_SECONDS = 15.0


class ReminderPublisher:
    """Sends due reminders on the bus, once per tick; ``running`` is its aiohttp cleanup context."""

    def __init__(self, db: Database, bus: EventBus, *, rules: ReminderRules | None = None,
                 interval: float = INTERVAL_SECONDS, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.bus = bus
        self.rules = rules or ReminderRules()
        self.interval = interval
        self.clock = clock
        self.task: asyncio.Task[None] | None = None

    async def _publish(self, reminder: Reminder) -> None:
        await self.bus.publish(TOPIC, reminder.payload())

    async def tick(self, now: datetime | None = None) -> list[Reminder]:
        """Send what is due now; returns what this process sent."""
        return await reminders_service.send_due(self.db, self._publish, now or self.clock(), self.rules)

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The store or the bus is away for a moment: what was not sent stays due.
                log.exception("reminders.tick_failed")
            await asyncio.sleep(self.interval)

    async def running(self, app: web.Application) -> AsyncIterator[None]:
        self.task = asyncio.create_task(self.run(), name="zvonar-reminders")
        yield
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


REMINDERS_KEY = web.AppKey("zvonar_reminders", ReminderPublisher)


def install_reminders(app: web.Application, db: Database, bus: EventBus) -> ReminderPublisher:
    """Run a publisher for as long as the application runs (after the store is ready)."""
    publisher = ReminderPublisher(db, bus)
    app[REMINDERS_KEY] = publisher
    app.cleanup_ctx.append(publisher.running)
    return publisher
