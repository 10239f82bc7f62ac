"""``campaign.stats`` for the campaigns one dialer runs, merged with other dialers' parts where several run one.

A predictive or progressive campaign has one pacer (its lease), whose figures are the
campaign's. A preview campaign runs on every server: each dialer publishes its part on
``dialer.stats_part``, keeps the others' (:class:`dialer.stats_merge.PartBook`), and the
one of the smallest owner id publishes the merge (dialer/stats_merge.py says how each
figure merges). The campaign runner calls :meth:`CampaignStats.publish` once a stats
period and hands it the parts it hears on the bus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from crm_core.db import Database
from crm_core.models import utcnow
from dialer import campaign_reads as reads
from dialer.runner_state import day_start, stats_payload
from dialer.stats_merge import PART_TOPIC, STALE_SECONDS, PartBook, StatsPart, merge, part_of, publisher

if TYPE_CHECKING:
    from dialer.campaign_runner import CampaignRun

log = logging.getLogger(__name__)


class CampaignStats:
    """The figures one dialer publishes and answers for its campaigns.

    ``pbx`` names its AMI server; ``clock`` is the runner's (the seconds ``t`` are read on).
    """

    def __init__(self, db: Database, bus: Any, owner: str, pbx: Callable[[], str], clock: Callable[[], float], *,
                 stats_seconds: float, day_timezone: str) -> None:
        self.db = db
        self.bus = bus
        self.owner = owner
        self._pbx = pbx
        self._clock = clock
        self.stats_seconds = stats_seconds
        self.day_timezone = day_timezone
        self.parts = PartBook(max(STALE_SECONDS, 3 * stats_seconds))

    async def publish(self, run: CampaignRun, t: float, *, final: bool = False) -> None:
        """This dialer's part (a shared campaign), then ``campaign.stats`` if this dialer is the one to publish it.

        A shared campaign has its day figures rebased on the store first; a newcomer
        publishes the merge only once it has heard the others' parts (one stats period
        after it took the campaign up).
        """
        run.last_stats = t
        if run.shared:
            await self._rebase_day(run)
            t = self._clock()  # the store read took a while
            await self.bus.publish(PART_TOPIC, self._part(run, t).to_json())
        parts = self._parts(run, t)
        listened = final or not run.shared or t - run.taken_at >= self.stats_seconds
        if listened and publisher(parts) == self.owner:
            payload = self._payload(run, parts, t)
            if run.decision is not None:
                payload["pacing"] = {"dials": run.decision.dials, "reason": run.decision.reason}
            await self.bus.publish("campaign.stats", payload)
        if final and run.shared:
            await self.left(run, t)

    def view(self, run: CampaignRun, t: float) -> dict[str, Any]:
        """The campaign's figures now, merged with the other dialers' fresh parts (what the API answers)."""
        return self._payload(run, self._parts(run, t), t)

    async def left(self, run: CampaignRun, t: float) -> None:
        """Tell the other dialers of the campaign that this one's part is gone (they drop it at once)."""
        try:
            await self.bus.publish(PART_TOPIC, replace(self._part(run, t), left=True).to_json())
        except Exception as exc:  # the part then goes stale by itself
            log.warning("dialer.stats_part_left_failed campaign_id=%s error=%s", run.info.id, type(exc).__name__)

    def heard(self, payload: Mapping[str, Any], t: float) -> None:
        """Another dialer's part from the bus (anything else, or our own, is ignored)."""
        part = StatsPart.from_json(payload)
        if part is not None and part.dialer != self.owner:
            self.parts.heard(part, t)

    def _part(self, run: CampaignRun, t: float) -> StatsPart:
        return part_of(run.live, t, self.owner, self._pbx())

    def _parts(self, run: CampaignRun, t: float) -> list[StatsPart]:
        """This dialer's part and the fresh parts of the other dialers of the campaign."""
        return [self._part(run, t), *(p for p in self.parts.fresh(run.info.id, t) if p.dialer != self.owner)]

    def _payload(self, run: CampaignRun, parts: list[StatsPart], t: float) -> dict[str, Any]:
        payload = stats_payload(run.info, run.live, t, utcnow())
        payload.update(merge(parts, run.info.amd_misread_share))  # with this dialer's part alone, the same figures
        return payload

    async def _rebase_day(self, run: CampaignRun) -> None:
        """The day's figures of a shared campaign from the store (the other dialers' calls included).

        Skipped (tried again at the next publication) if one of this dialer's calls was
        placed, picked up or written meanwhile: the count and the store could disagree on it.
        """
        live = run.live

        def version() -> tuple[int, ...]:
            return run.writing, run.written, live.run_dials, live.run_answered, live.run_abandoned, live.run_machines

        before = version()
        day, midnight = day_start(utcnow(), self.day_timezone)
        try:
            counts = await reads.day_counts(self.db, run.info.id, midnight)
        except Exception as exc:  # the figures stay this dialer's count until the next publication
            log.warning("dialer.day_rebase_failed campaign_id=%s error=%s", run.info.id, type(exc).__name__)
            return
        if run.writing == 0 and version() == before and day == live.day:
            live.rebase_day(*counts)
