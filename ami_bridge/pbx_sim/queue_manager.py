"""Queues at run time: members in and out, pause, device-state events and waking waiting callers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ami_bridge.pbx_sim import ami_events as ev
from ami_bridge.pbx_sim.config import QueueConfig
from ami_bridge.pbx_sim.queues import NOT_INUSE, Member, QueueError, QueueState
from ami_bridge.pbx_sim.switch import Switch

log = logging.getLogger(__name__)


class QueueManager:
    """All queues of the PBX and the AMI-visible operations on their members."""

    def __init__(self, sw: Switch, configs: tuple[QueueConfig, ...], epoch: Callable[[], float]) -> None:
        self._sw = sw
        self._epoch = epoch
        login = int(epoch())
        self.queues: dict[str, QueueState] = {c.name: QueueState(c, login) for c in configs}
        sw.device_listeners.append(self._device_changed)

    def get(self, name: str) -> QueueState | None:
        return self.queues.get(name)

    def device(self, interface: str) -> int:
        return self._sw.device_state(interface)

    # ------------------------------------------------------------------ events

    def _member_event(self, name: str, member: Member) -> None:
        self._sw.emit(ev.member_event(name, member.blob(self.device(member.state_interface))))

    def _device_changed(self, interface: str, state: int) -> None:
        for queue in self.queues.values():
            for member in queue.members:
                if member.state_interface == interface:
                    self._sw.emit(ev.member_event("QueueMemberStatus", member.blob(state)))
                    if state == NOT_INUSE:
                        self.poke(queue)

    def poke(self, queue: QueueState) -> None:
        """Wake every caller waiting in ``queue`` to look for a free member again."""
        for entry in queue.entries:
            old, entry.wake = entry.wake, self._sw.scheduler.signal(f"wake {queue.name}")
            old.fire()

    # ------------------------------------------------------------------ AMI operations

    def add(self, queue_name: str, interface: str, name: str = "", penalty: int = 0, paused: bool = False,
            reason: str = "", state_interface: str = "") -> Member:
        """QueueAdd; raises QueueError with Asterisk's message."""
        queue = self.queues.get(queue_name)
        if queue is None:
            raise QueueError("Unable to add interface to queue: No such queue")
        member = queue.add_member(interface, name, penalty, paused, reason, state_interface, int(self._epoch()))
        self._member_event("QueueMemberAdded", member)
        log.info("pbx_sim.queue.member_added queue=%s interface=%s paused=%s", queue_name, interface, paused)
        self.poke(queue)
        return member

    def remove(self, queue_name: str, interface: str) -> Member:
        """QueueRemove; raises QueueError with Asterisk's message."""
        queue = self.queues.get(queue_name)
        if queue is None:
            raise QueueError("Unable to remove interface from queue: No such queue")
        member = queue.remove_member(interface)
        self._member_event("QueueMemberRemoved", member)
        log.info("pbx_sim.queue.member_removed queue=%s interface=%s", queue_name, interface)
        return member

    def pause(self, queue_name: str | None, interface: str, paused: bool, reason: str = "") -> list[Member]:
        """QueuePause in one queue (or all queues when ``queue_name`` is empty)."""
        changed: list[Member] = []
        for queue in self.queues.values():
            if queue_name and queue.name != queue_name:
                continue
            member = queue.member(interface)
            if member is None:
                continue
            member.paused = paused
            member.paused_reason = reason if paused else ""
            member.last_pause = int(self._epoch()) if paused else member.last_pause
            self._member_event("QueueMemberPause", member)
            changed.append(member)
            if not paused:
                self.poke(queue)
        if not changed:
            raise QueueError("Interface not found")
        log.info("pbx_sim.queue.member_paused queue=%s interface=%s paused=%s", queue_name or "*", interface, paused)
        return changed

    def auto_pause(self, queue: QueueState, member: Member) -> None:
        """autopause=yes: a member that let a call ring out is paused in this queue."""
        if member.paused:
            return
        member.paused = True
        member.paused_reason = "Auto-Pause"
        member.last_pause = int(self._epoch())
        self._member_event("QueueMemberPause", member)

    def call_finished(self, queue: QueueState, member: Member) -> None:
        """A member's queue call ended: count it and start wrap-up."""
        member.calls_taken += 1
        member.last_call = int(self._epoch())
        member.in_call = False
        wrapup = queue.config.wrapuptime
        if wrapup > 0:
            member.wrapup_until = self._sw.scheduler.now + wrapup
            self._sw.scheduler.call_later(wrapup, self.poke, queue)
