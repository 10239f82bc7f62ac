"""The simulated PBX as one object: clock, channels, queues, dialplan, and what the AMI can ask of it.

No sockets here: events go to listeners, time advances only through the
scheduler (``pbx.scheduler.run_until``), so the whole PBX can be driven and
inspected from a test without any I/O.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from typing import Any

from ami_bridge.pbx_sim.behaviour import BehaviourBook
from ami_bridge.pbx_sim.channels import Channel, ChannelFactory
from ami_bridge.pbx_sim.config import SimConfig
from ami_bridge.pbx_sim.dialplan import Dialplan, OriginateRequest
from ami_bridge.pbx_sim.queue_manager import QueueManager
from ami_bridge.pbx_sim.scheduler import Process, Scheduler, Signal
from ami_bridge.pbx_sim.switch import Switch

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, str]], None]


class NoSuchChannel(LookupError):
    """The AMI named a channel that does not exist."""


class BadChannelPattern(ValueError):
    """A ``/regex/`` channel pattern that does not compile."""


def duration_hms(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class Pbx:
    """Everything the simulated Asterisk knows; events are delivered to ``listeners``."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.scheduler = Scheduler()
        self._epoch0 = config.epoch_start if config.epoch_start is not None else time.time()
        self.rng = random.Random(config.seed)
        self.listeners: list[Listener] = []
        self.channels = ChannelFactory(self.scheduler, self.epoch)
        self.book = BehaviourBook(config, self.rng)
        self.switch = Switch(self.scheduler, self.channels, self._emit, self._known_endpoint)
        self.queues = QueueManager(self.switch, config.queues, self.epoch)
        self.dialplan = Dialplan(self.switch, config, self.book, self.queues, self.rng, self.epoch)
        self._active_calls = 0

    def _track(self, process: Process) -> Process:
        self._active_calls += 1

        def finished(_: object) -> None:
            self._active_calls -= 1

        process.add_waiter(finished)
        return process

    def idle(self) -> bool:
        """No call in progress: no live channel and no Originate or inbound call still running."""
        return self._active_calls == 0 and not self.live_channels()

    # ------------------------------------------------------------------ clock and events

    def epoch(self) -> float:
        """Wall-clock-like seconds of the simulated now (what Uniqueids and LastCall use)."""
        return self._epoch0 + self.scheduler.now

    def uptime(self) -> int:
        return int(self.scheduler.now) + 1

    def _known_endpoint(self, endpoint: str) -> bool:
        return self.dialplan.known_endpoint(endpoint)

    def _emit(self, event: dict[str, str]) -> None:
        if self.config.timestamp_events and "Privilege" in event:
            stamped: dict[str, str] = {}
            for key, value in event.items():
                stamped[key] = value
                if key == "Privilege":
                    stamped["Timestamp"] = f"{self.epoch():.6f}"
            event = stamped
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("pbx_sim.listener_failed event=%s", event.get("Event"))

    # ------------------------------------------------------------------ calls

    def originate(self, request: OriginateRequest) -> Signal:
        """Start an Originate; the returned signal fires True once the originated channel answered, else False."""
        log.info("pbx_sim.originate channel=%s context=%s exten=%s application=%s action_id=%s",
                 request.channel, request.context, request.exten, request.application, request.action_id)
        process, result = self.dialplan.originate(request)
        self._track(process)
        return result

    def inject_inbound_call(self, caller_number: str, caller_name: str, did: str, patience_seconds: float | None,
                            shape: str = "pjsip", action_id: str | None = None) -> str:
        """A carrier call to ``did``; returns the name of the caller's channel (or of the Local pair's ;1)."""
        if shape not in ("pjsip", "local"):
            raise ValueError(f"inbound call shape must be 'pjsip' or 'local', got {shape!r}")
        log.info("pbx_sim.inbound caller=%s did=%s patience=%s shape=%s", caller_number, did, patience_seconds, shape)
        before = set(self.channels.live)
        trunk, process = self.dialplan.inject_inbound(caller_number, caller_name, did, patience_seconds, shape,
                                                      action_id)
        self._track(process)
        if trunk is not None:
            return trunk.name
        # The Local pair is created when the originate process takes its first step, due now.
        self.scheduler.run_until(self.scheduler.now)
        created = [name for name in self.channels.live if name not in before and name.endswith(";1")]
        return created[0] if created else ""

    def find_channels(self, name_or_pattern: str) -> list[Channel]:
        """Channels by exact name, or all matching a ``/regex/`` (Asterisk's Hangup syntax)."""
        if len(name_or_pattern) >= 2 and name_or_pattern.startswith("/") and name_or_pattern.endswith("/"):
            try:
                pattern = re.compile(name_or_pattern[1:-1])
            except re.error as exc:
                raise BadChannelPattern(str(exc)) from exc
            return [c for c in self.channels.live.values() if not c.dead and pattern.search(c.name)]
        chan = self.channels.live.get(name_or_pattern)
        if chan is None or chan.dead:
            raise NoSuchChannel(name_or_pattern)
        return [chan]

    def request_hangup(self, chan: Channel, cause: int | None) -> None:
        """Hang a channel up from outside (the AMI Hangup action)."""
        if chan.dead:
            return
        if cause is not None and cause > 0 and chan.cause is None:
            chan.cause = cause
        self.switch.soft_hangup(chan, cause if cause is not None else 16)
        chan.hangup_requested.fire(cause if cause is not None else 16)

    # ------------------------------------------------------------------ introspection

    def live_channels(self) -> list[Channel]:
        return [c for c in self.channels.live.values() if not c.dead]

    def channel_status(self, chan: Channel) -> dict[str, Any]:
        """What CoreShowChannels and Status need to know about a channel."""
        return {
            "snapshot": chan.snapshot(),
            "application": chan.application,
            "app_data": chan.app_data,
            "duration": duration_hms(self.scheduler.now - chan.created_at),
            "seconds": int(self.scheduler.now - chan.created_at),
            "bridge_id": chan.bridge.uid if chan.bridge is not None else "",
            "tech": chan.tech,
            "conn_num": chan.conn_num,
            "conn_name": chan.conn_name,
        }
