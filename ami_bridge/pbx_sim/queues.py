"""app_queue state: queues, their members and waiting callers, and who to ring next (no I/O).

Device states are Asterisk's numbers: 1 not in use, 2 in use, 5 unavailable,
6 ringing; the switch computes them from live channels and passes them in.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ami_bridge.pbx_sim.config import QueueConfig

if TYPE_CHECKING:
    from ami_bridge.pbx_sim.channels import Channel
    from ami_bridge.pbx_sim.scheduler import Signal

NOT_INUSE, INUSE, BUSY_STATE, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD = 1, 2, 3, 4, 5, 6, 7, 8

DeviceState = Callable[[str], int]


class QueueError(Exception):
    """A queue operation that Asterisk refuses; ``str()`` is Asterisk's own message."""


@dataclass(eq=False)
class Member:
    """One interface in one queue."""

    queue: str
    interface: str
    name: str
    state_interface: str
    penalty: int
    dynamic: bool
    login_time: int
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    calls_taken: int = 0
    last_call: int = 0
    in_call: bool = False
    ringinuse: bool = False
    wrapup_until: float = 0.0
    wrapuptime: int = 0

    def blob(self, status: int) -> dict[str, str]:
        """The member block of QueueMemberStatus/Added/Removed/Pause, in Asterisk's order."""
        return {
            "Queue": self.queue,
            "MemberName": self.name,
            "Interface": self.interface,
            "StateInterface": self.state_interface,
            "Membership": "dynamic" if self.dynamic else "static",
            "Penalty": str(self.penalty),
            "CallsTaken": str(self.calls_taken),
            "LastCall": str(self.last_call),
            "LastPause": str(self.last_pause),
            "LoginTime": str(self.login_time),
            "InCall": "1" if self.in_call else "0",
            "Status": str(status),
            "Paused": "1" if self.paused else "0",
            "PausedReason": self.paused_reason,
            "Ringinuse": "1" if self.ringinuse else "0",
            "Wrapuptime": str(self.wrapuptime),
        }


@dataclass(eq=False)
class QueueEntry:
    """A caller waiting in a queue."""

    channel: Channel
    joined_at: float
    original_position: int
    wake: Signal
    ringing: bool = False
    tried: set[str] = field(default_factory=set)


@dataclass
class QueueStats:
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    holdtime: float = 0.0
    talktime: float = 0.0

    def record_completed(self, hold: float, talk: float, servicelevel: int) -> None:
        # app_queue keeps exponentially weighted averages: (old * 3 + new) / 4.
        self.completed += 1
        if hold <= servicelevel:
            self.completed_in_sl += 1
        self.holdtime = (self.holdtime * 3 + hold) / 4
        self.talktime = (self.talktime * 3 + talk) / 4

    def record_abandoned(self, hold: float, servicelevel: int) -> None:
        self.abandoned += 1
        if hold <= servicelevel:
            self.abandoned_in_sl += 1


class QueueState:
    """One queue at run time."""

    def __init__(self, config: QueueConfig, login_time: int) -> None:
        self.config = config
        self.name = config.name
        self.members: list[Member] = [
            Member(
                queue=config.name, interface=m.interface, name=m.name or m.interface, state_interface=m.interface,
                penalty=m.penalty, dynamic=False, login_time=login_time, ringinuse=config.ringinuse,
                wrapuptime=int(config.wrapuptime),
            )
            for m in config.members
        ]
        self.entries: list[QueueEntry] = []
        self.stats = QueueStats()
        self.ringing: set[str] = set()
        self.rr_next = 0

    def member(self, interface: str) -> Member | None:
        for member in self.members:
            if member.interface == interface:
                return member
        return None

    def add_member(self, interface: str, name: str, penalty: int, paused: bool, reason: str,
                   state_interface: str, now_epoch: int) -> Member:
        if self.member(interface) is not None:
            raise QueueError("Unable to add interface: Already there")
        member = Member(
            queue=self.name, interface=interface, name=name or interface, state_interface=state_interface or interface,
            penalty=penalty, dynamic=True, login_time=now_epoch, paused=paused, paused_reason=reason if paused else "",
            last_pause=now_epoch if paused else 0, ringinuse=self.config.ringinuse,
            wrapuptime=int(self.config.wrapuptime),
        )
        self.members.append(member)
        return member

    def remove_member(self, interface: str) -> Member:
        member = self.member(interface)
        if member is None:
            raise QueueError("Unable to remove interface: Not there")
        if not member.dynamic:
            raise QueueError("Member not dynamic")
        self.members.remove(member)
        return member

    def position(self, entry: QueueEntry) -> int:
        return self.entries.index(entry) + 1

    def usable(self, member: Member, device: DeviceState, now: float) -> bool:
        """Free to be rung now: not paused, not wrapping up, not busy (ringinuse=no), not rung already."""
        if member.paused or now < member.wrapup_until or member.interface in self.ringing:
            return False
        status = device(member.state_interface)
        if status in (INVALID, UNAVAILABLE):
            return False
        return member.ringinuse or status == NOT_INUSE

    def is_empty_for(self, conditions: frozenset[str], device: DeviceState, now: float) -> bool:
        """True when no member could ever take a call under ``conditions`` (joinempty / leavewhenempty)."""
        if not conditions:
            return False
        for member in self.members:
            status = device(member.state_interface)
            if member.paused and "paused" in conditions:
                continue
            if status == INVALID and "invalid" in conditions:
                continue
            if status == UNAVAILABLE and "unavailable" in conditions:
                continue
            if status in (INUSE, BUSY_STATE, RINGINUSE, ONHOLD) and "inuse" in conditions:
                continue
            if status in (RINGING, RINGINUSE) and "ringing" in conditions:
                continue
            if now < member.wrapup_until and "wrapup" in conditions:
                continue
            return False
        return True

    def pick(self, entry: QueueEntry, device: DeviceState, now: float, rng: random.Random) -> list[Member]:
        """The members to ring for ``entry`` in its next attempt, by the queue's strategy."""
        free = [m for m in self.members if self.usable(m, device, now)]
        if not free:
            return []
        strategy = self.config.strategy
        if strategy == "ringall":
            best = min(m.penalty for m in free)
            return [m for m in free if m.penalty == best]
        untried = [m for m in free if m.interface not in entry.tried]
        if not untried:
            entry.tried.clear()
            untried = free
        if strategy == "linear":
            return [untried[0]]
        if strategy == "rrmemory":
            order = self.members[self.rr_next:] + self.members[: self.rr_next]
            return [next(m for m in order if m in untried)]
        if strategy == "leastrecent":
            return [min(untried, key=lambda m: (m.last_call, self.members.index(m)))]
        if strategy == "fewestcalls":
            return [min(untried, key=lambda m: (m.calls_taken, self.members.index(m)))]
        return [rng.choice(untried)]

    def answered_by(self, member: Member) -> None:
        if self.config.strategy == "rrmemory":
            self.rr_next = (self.members.index(member) + 1) % len(self.members) if member in self.members else 0
