"""What every queue agent is doing right now, from AMI queue events: a pure reducer.

``AgentStates().feed(event, t)`` takes one AMI event (a plain dict as the parser returns
it) and the time it arrived, and returns the ``AgentStateChanged`` it caused; ``tick(t)``
ends wrap-ups whose time is up; ``resync(queue_status_reply, t)`` replaces what is known
with a ``QueueStatus`` answer after a reconnect. No sockets, no clock of its own.

An agent is an extension (``101`` for ``PJSIP/101``, ``Local/101@agents``, ``SIP/101``),
so one person who is a member of several queues, even under different interfaces, is
one agent. How the state is worked out, and why:

* Membership: ``QueueMemberAdded``/``Removed``, and any event naming a member of a queue
  (``QueueMemberStatus``, ``AgentCalled``, ...) for static members nobody announced.
  No membership at all is ``logged_out``.
* Ringing: ``AgentCalled`` opens a ring attempt; ``AgentRingNoAnswer``/``AgentDump``,
  the caller's ``AgentConnect`` to anyone, ``QueueCallerAbandon`` and a device reported
  not in use or unavailable close it. The ringall loser gets no event of its own: in the traces
  only its ``QueueMemberStatus`` (not in use) says it stopped ringing.
  ``QueueCallerLeave`` closes nothing: it comes *before* the winner's ``AgentConnect``.
* Device state (``Status`` of the member events, ``DeviceStateChange``,
  ``ExtensionStatus``): a Local member cannot ring, so while it is being rung Asterisk
  reports it "in use" (2); a status that arrived while a queue call was ringing or
  connected is therefore read as caused by that call and forgotten when it ends, so a
  rung Local member does not show as on a call for the instant between
  ``AgentRingNoAnswer`` and its next status. Outside queue calls the device state is
  the agent's own: a phone in use (click-to-call) is on_call, an unregistered one
  unavailable.
* ``AgentComplete`` starts the wrap-up: the member's own ``Wrapuptime`` when Asterisk
  reports one, else the queue's (``queue_wrapup_seconds``), else ``wrapup_seconds``.
  A new ``AgentCalled`` ends it early: Asterisk decides when an agent is free.
* Precedence: on_call > ringing > paused > unavailable > wrap_up > ready. Paused means
  paused in at least one queue (``paused_queues`` says which): an agent autopaused in
  one queue needs a supervisor's eye even if another queue still sends calls.

Autopause arrives as ``AgentRingNoAnswer`` then ``QueueMemberPause``, so the agent goes
ringing -> ready -> paused within one read; no event is ever held back to hide that.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ami_bridge.calls.channel_names import extension_of, interface_of, normalise_target

log = logging.getLogger(__name__)

Event = Mapping[str, Any]


class AgentStatus(StrEnum):
    """What an agent is doing, as the wallboard shows it."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"
    """A member whose phone is unregistered or invalid: no queue can ring it."""


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """One agent's state changed (or its queues did) at ``since``.

    ``reason`` is the pause reason (paused only); ``call_id`` the Linkedid of the call
    that rings, is talked on, or is being wrapped up, when known; ``previous_state``
    is None the first time an agent is seen.
    """

    agent: str
    state: AgentStatus
    reason: str | None
    queues: tuple[str, ...]
    since: float
    call_id: str | None
    previous_state: AgentStatus | None


@dataclass(frozen=True, slots=True)
class AgentState:
    """One agent as it stands (``snapshot()``); ``name`` is the queue MemberName."""

    agent: str
    name: str | None
    state: AgentStatus
    reason: str | None
    queues: tuple[str, ...]
    paused_queues: tuple[str, ...]
    since: float
    call_id: str | None
    interfaces: tuple[str, ...]


# Device states (AST_DEVICE_*), the ``Status`` of queue member events.
DEVICE_UNKNOWN = 0
DEVICE_NOT_INUSE = 1
DEVICE_INUSE = 2
DEVICE_BUSY = 3
DEVICE_INVALID = 4
DEVICE_UNAVAILABLE = 5
DEVICE_RINGING = 6
DEVICE_RINGINUSE = 7
DEVICE_ONHOLD = 8

_DEVICE_TALKING = frozenset({DEVICE_INUSE, DEVICE_BUSY, DEVICE_RINGINUSE, DEVICE_ONHOLD})
_DEVICE_GONE = frozenset({DEVICE_INVALID, DEVICE_UNAVAILABLE})
# A device in one of these states is not ringing for any queue.
_DEVICE_ENDS_RINGING = frozenset({DEVICE_NOT_INUSE, DEVICE_INVALID, DEVICE_UNAVAILABLE})

_DEVICE_STATE_NAMES = {
    "UNKNOWN": DEVICE_UNKNOWN,
    "NOT_INUSE": DEVICE_NOT_INUSE,
    "INUSE": DEVICE_INUSE,
    "BUSY": DEVICE_BUSY,
    "INVALID": DEVICE_INVALID,
    "UNAVAILABLE": DEVICE_UNAVAILABLE,
    "RINGING": DEVICE_RINGING,
    "RINGINUSE": DEVICE_RINGINUSE,
    "ONHOLD": DEVICE_ONHOLD,
}
# ExtensionStatus speaks hint states (AST_EXTENSION_*), a bit mask, not device states.
_EXTENSION_STATUS = {
    -2: DEVICE_INVALID,  # hint removed
    -1: DEVICE_INVALID,  # extension deactivated
    0: DEVICE_NOT_INUSE,
    1: DEVICE_INUSE,
    2: DEVICE_BUSY,
    4: DEVICE_UNAVAILABLE,
    8: DEVICE_RINGING,
    9: DEVICE_RINGINUSE,
    16: DEVICE_ONHOLD,
    17: DEVICE_ONHOLD,
}
# A member's own Wrapuptime beyond a day is junk, not a setting.
_MAX_WRAPUP = 86_400
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(slots=True)
class _Membership:
    interface: str
    state_interface: str | None = None
    paused: bool = False
    reason: str | None = None
    paused_at: float = 0.0
    wrapup: float | None = None


@dataclass(slots=True)
class _Attempt:
    queue: str
    caller: str | None
    linkedid: str | None
    at: float


@dataclass(slots=True)
class _Call:
    queue: str | None
    caller: str | None
    linkedid: str | None


@dataclass(slots=True)
class _Agent:
    key: str
    name: str | None = None
    memberships: dict[str, _Membership] = field(default_factory=dict)
    attempts: dict[str, _Attempt] = field(default_factory=dict)
    call: _Call | None = None
    device: int | None = None
    # The last device state reported while no queue call rang or was up: what the
    # device goes back to when a queue call that explains the later states ends.
    device_base: int | None = None
    device_from_call: bool = False
    wrap_until: float | None = None
    wrap_call_id: str | None = None
    # What was last reported (None before the first report).
    state: AgentStatus | None = None
    reason: str | None = None
    call_id: str | None = None
    queues: tuple[str, ...] = ()
    since: float = 0.0

    def in_queue_call(self) -> bool:
        return bool(self.attempts) or self.call is not None


def _text(event: Event, key: str) -> str | None:
    """A header as one string (first value of a repeated key), or None."""
    value = event.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _first_text(event: Event, *keys: str) -> str | None:
    for key in keys:
        value = _text(event, key)
        if value:
            return value
    return None


def _int(event: Event, key: str) -> int | None:
    text = _text(event, key)
    if text is None:
        return None
    text = text.strip()
    if text[:1] == "-":
        return -int(text[1:]) if text[1:].isdigit() else None
    return int(text) if text.isdigit() else None


def _flag(event: Event, key: str) -> bool | None:
    text = _text(event, key)
    if text is None:
        return None
    text = text.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _member_interface(event: Event, *extra: str) -> str | None:
    """The member's interface: ``Interface`` (12+), ``Location``/``Member`` (1.8-11), or its channel."""
    iface = _first_text(event, "Interface", "Location", "Member", *extra)
    if iface is None:
        channel = _first_text(event, "DestChannel", "DestinationChannel")
        iface = interface_of(channel) if channel else None
    if not iface or "/" not in iface:
        return None
    return iface


def _agent_key(interface: str) -> str | None:
    key = extension_of(interface)
    if not key or not key.strip():
        return None
    return key


def _clean_reason(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


class AgentStates:
    """Pure reducer: AMI queue events + their times in, ``AgentStateChanged`` out.

    ``wrapup_seconds`` is the wrap-up after a queue call when neither the member nor
    ``queue_wrapup_seconds`` (queue name -> seconds, as in queues.conf) says otherwise.
    """

    def __init__(self, wrapup_seconds: float = 15.0, *,
                 queue_wrapup_seconds: Mapping[str, float] | None = None) -> None:
        self._wrapup = self._check_seconds("wrapup_seconds", wrapup_seconds)
        self._queue_wrapup = {
            str(queue): self._check_seconds(f"queue_wrapup_seconds[{queue!r}]", seconds)
            for queue, seconds in (queue_wrapup_seconds or {}).items()
        }
        self._agents: dict[str, _Agent] = {}
        # Agents in wrap-up, and device name -> agents: kept so that neither the expiry
        # check of every event nor a DeviceStateChange has to walk every agent.
        self._wrapping: set[str] = set()
        self._devices: dict[str, set[str]] | None = None
        self._handlers = {
            "QueueMemberAdded": self._on_member_info,
            "QueueMemberStatus": self._on_member_info,
            "QueueMemberPenalty": self._on_member_info,
            "QueueMemberRinginuse": self._on_member_info,
            "QueueMember": self._on_member_info,
            "QueueMemberPause": self._on_member_pause,
            "QueueMemberPaused": self._on_member_pause,  # Asterisk 1.8-11
            "QueueMemberRemoved": self._on_member_removed,
            "AgentCalled": self._on_agent_called,
            "AgentRingNoAnswer": self._on_ring_ended,
            "AgentDump": self._on_ring_ended,
            "AgentConnect": self._on_agent_connect,
            "AgentComplete": self._on_agent_complete,
            "QueueCallerAbandon": self._on_caller_abandon,
            "DeviceStateChange": self._on_device_state,
            "ExtensionStatus": self._on_extension_status,
        }

    @staticmethod
    def _check_seconds(label: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"AgentStates {label} must be a finite number of seconds >= 0, got {value!r}")
        return float(value)

    # ------------------------------------------------------------------ public API

    def feed(self, event: Event, t: float) -> list[AgentStateChanged]:
        """Apply one AMI event received at ``t``; return the changes (wrap-ups due by ``t`` first)."""
        now = self._time(t)
        if now is None:
            return []
        out = self._expire(now)
        try:
            name = event.get("Event")
        except (AttributeError, TypeError):
            log.debug("agent_states.event_malformed type=%s", type(event).__name__)
            return out
        if isinstance(name, list):
            name = name[0] if name else None
        handler = self._handlers.get(name) if isinstance(name, str) else None
        if handler is None:
            return out
        touched: dict[str, _Agent] = {}
        try:
            handler(event, now, touched)
        except Exception:  # noqa: BLE001 - one bad event must never stop the wallboard
            log.warning("agent_states.event_skipped event=%s", name, exc_info=True)
        out.extend(self._report(touched.values(), now))
        return out

    def tick(self, t: float) -> list[AgentStateChanged]:
        """End the wrap-ups that are over by ``t``."""
        now = self._time(t)
        return [] if now is None else self._expire(now)

    def next_deadline(self) -> float | None:
        """When the next wrap-up ends (the time to call ``tick`` at), or None."""
        deadlines = [self._agents[key].wrap_until for key in self._wrapping]
        return min((d for d in deadlines if d is not None), default=None)

    def resync(self, reply: Iterable[Event], t: float) -> list[AgentStateChanged]:
        """Replace what is known of the queues in a ``QueueStatus`` answer (Response, events, Complete).

        Members missing from a queue the answer covers are gone from it; queues it does not
        cover are left alone. Ring attempts in covered queues are dropped (the device
        state tells if a phone still rings) and ``InCall`` says who is on a queue call.
        """
        now = self._time(t)
        if now is None:
            return []
        out = self._expire(now)
        try:
            items = [m for m in reply if isinstance(m, Mapping)]
        except TypeError:
            log.warning("agent_states.resync_unusable type=%s", type(reply).__name__)
            return out
        if items and (_text(items[0], "Response") or "").lower() in ("error", "fail", "failure"):
            log.warning("agent_states.resync_refused message=%s", _text(items[0], "Message"))
            return out
        touched: dict[str, _Agent] = {}
        try:
            self._apply_status_reply(items, now, touched)
        except Exception:  # noqa: BLE001 - keep what was applied; the next resync mends the rest
            log.warning("agent_states.resync_failed", exc_info=True)
        out.extend(self._report(touched.values(), now))
        return out

    def snapshot(self) -> list[AgentState]:
        """Every agent seen so far, by extension, as last reported."""
        return [self._state_of(self._agents[key]) for key in sorted(self._agents)
                if self._agents[key].state is not None]

    def get(self, agent: str) -> AgentState | None:
        """One agent as last reported, or None if never seen."""
        found = self._agents.get(agent)
        return self._state_of(found) if found is not None and found.state is not None else None

    # ------------------------------------------------------------------ handlers

    def _on_member_info(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        self._member_info(ev, now, touched, pause_reason_keys=("PausedReason",))

    def _on_member_pause(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        # Older versions (QueueMemberPaused) call the pause reason Reason; 13+ PausedReason.
        self._member_info(ev, now, touched, pause_reason_keys=("PausedReason", "Reason"))

    def _member_info(self, ev: Event, now: float, touched: dict[str, _Agent],
                     pause_reason_keys: tuple[str, ...]) -> None:
        found = self._member(ev, touched, create=True)
        if found is None:
            return
        agent, queue, member = found
        assert member is not None  # learned with create=True
        name = _first_text(ev, "MemberName", "Name")
        if name and name != member.interface:
            agent.name = name
        state_interface = _text(ev, "StateInterface")
        if state_interface and state_interface != member.state_interface:
            member.state_interface = state_interface
            self._devices = None
        paused = _flag(ev, "Paused")
        if paused is not None:
            reason = _clean_reason(_first_text(ev, *pause_reason_keys))
            if paused and (not member.paused or reason != member.reason):
                member.paused_at = now
            member.paused = paused
            member.reason = reason if paused else None
        wrapup = _int(ev, "Wrapuptime")
        if wrapup is not None and wrapup <= _MAX_WRAPUP:
            member.wrapup = float(wrapup) if wrapup > 0 else None
        status = _int(ev, "Status")
        if status is not None:
            self._device(agent, status)

    def _on_member_removed(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        queue = _text(ev, "Queue")
        iface = _member_interface(ev)
        key = _agent_key(iface) if iface else None
        if not queue or key is None:
            return
        agent = self._agent(key, touched)
        if agent.memberships.pop(queue, None) is not None:
            self._devices = None
        self._drop_attempts(agent, lambda a: a.queue == queue)
        self._if_logged_out(agent)

    def _on_agent_called(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        # Asterisk 1.8 names the member interface in a header called AgentCalled.
        found = self._member(ev, touched, create=True, extra_keys=("AgentCalled",))
        if found is None:
            return
        agent, queue, _ = found
        caller = _first_text(ev, "Uniqueid", "Linkedid")
        agent.attempts[caller or f"queue:{queue}"] = _Attempt(queue, caller, self._linkedid(ev), now)
        # Asterisk rings only agents it considers free: whatever wrap-up we assumed is over.
        self._set_wrap(agent, None)

    def _on_ring_ended(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        found = self._member(ev, touched, create=False)
        if found is None:
            return
        agent, queue, _ = found
        caller = _first_text(ev, "Uniqueid", "Linkedid")
        if caller is not None and caller in agent.attempts:
            self._drop_attempts(agent, lambda a: a.caller == caller)
        else:
            self._drop_attempts(agent, lambda a: a.queue == queue)

    def _on_agent_connect(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        found = self._member(ev, touched, create=True)
        if found is None:
            return
        agent, queue, _ = found
        caller = _first_text(ev, "Uniqueid", "Linkedid")
        agent.attempts.clear()
        if caller is not None:
            self._caller_taken(caller, touched)
        agent.call = _Call(queue, caller, self._linkedid(ev))
        self._set_wrap(agent, None)

    def _on_agent_complete(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        found = self._member(ev, touched, create=False)
        if found is None:
            return
        agent, queue, member = found
        caller = _first_text(ev, "Uniqueid", "Linkedid")
        call = agent.call
        if call is not None and call.caller is not None and caller is not None and call.caller != caller:
            # The end of another call of this agent (ringinuse=yes): the current one goes on.
            return
        linkedid = self._linkedid(ev) or (call.linkedid if call is not None else None)
        agent.call = None
        if caller is not None:
            self._drop_attempts(agent, lambda a: a.caller == caller)
        self._call_ended(agent)
        if not agent.memberships:
            return
        if member is not None and member.wrapup is not None:
            wrapup = member.wrapup
        else:
            wrapup = self._queue_wrapup.get(queue, self._wrapup)
        if wrapup > 0:
            self._set_wrap(agent, now + wrapup, linkedid)

    def _on_caller_abandon(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        caller = _first_text(ev, "Uniqueid")
        if caller is not None:
            self._caller_taken(caller, touched)

    def _on_device_state(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        device = _text(ev, "Device")
        state = _text(ev, "State")
        status = _DEVICE_STATE_NAMES.get(state.strip().upper()) if state else None
        if device and status is not None:
            self._device_of(device, status, touched)

    def _on_extension_status(self, ev: Event, now: float, touched: dict[str, _Agent]) -> None:
        hint = (_text(ev, "Hint") or "").split(",", 1)[0]
        code = _int(ev, "Status")
        # A hint of several devices reports their combined state, which is no one device's.
        if not hint or "&" in hint or code not in _EXTENSION_STATUS:
            return
        self._device_of(hint, _EXTENSION_STATUS[code], touched)

    # ------------------------------------------------------------------ resync

    def _apply_status_reply(self, items: list[Event], now: float, touched: dict[str, _Agent]) -> None:
        covered: set[str] = set()
        members: list[tuple[Event, str, str]] = []
        for item in items:
            event = _text(item, "Event")
            queue = _text(item, "Queue")
            if not queue:
                continue
            if event == "QueueParams":
                covered.add(queue)
            elif event == "QueueMember":
                iface = _member_interface(item)
                key = _agent_key(iface) if iface else None
                if key is not None:
                    covered.add(queue)
                    members.append((item, queue, key))
        listed = {(queue, key) for _, queue, key in members}
        for agent in list(self._agents.values()):
            gone = [q for q in agent.memberships if q in covered and (q, agent.key) not in listed]
            if gone or any(a.queue in covered for a in agent.attempts.values()):
                touched.setdefault(agent.key, agent)
                for queue in gone:
                    del agent.memberships[queue]
                    self._devices = None
                self._drop_attempts(agent, lambda a: a.queue in covered)
                self._if_logged_out(agent)
        in_call: dict[str, bool] = {}
        for item, _, key in members:
            self._member_info(item, now, touched, pause_reason_keys=("PausedReason",))
            flag = _flag(item, "InCall")
            if flag is not None:
                in_call[key] = in_call.get(key, False) or flag
        for key, on_call in in_call.items():
            agent = self._agents.get(key)
            if agent is None:
                continue
            if on_call and agent.call is None:
                agent.call = _Call(None, None, None)
                self._set_wrap(agent, None)
            elif not on_call and agent.call is not None and (agent.call.queue is None or agent.call.queue in covered):
                agent.call = None
        for agent in touched.values():
            if agent.in_queue_call():
                # Whatever the device shows now is that call's doing; what it was
                # before the call is unknown.
                agent.device_from_call = True
                agent.device_base = None
            else:
                agent.device_from_call = False
                agent.device_base = agent.device

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _time(t: object) -> float | None:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            log.warning("agent_states.bad_time t=%r", t)
            return None
        return float(t)

    @staticmethod
    def _linkedid(ev: Event) -> str | None:
        return _first_text(ev, "DestLinkedid", "Linkedid")

    def _agent(self, key: str, touched: dict[str, _Agent]) -> _Agent:
        agent = self._agents.get(key)
        if agent is None:
            agent = self._agents[key] = _Agent(key)
        touched.setdefault(key, agent)
        return agent

    def _member(self, ev: Event, touched: dict[str, _Agent], *, create: bool,
                extra_keys: tuple[str, ...] = ()) -> tuple[_Agent, str, _Membership | None] | None:
        """The agent, queue and membership an event is about; None if it names none.

        With ``create`` an unknown agent or membership is learned (static members are
        never announced); without it, only a known agent is returned, with its
        membership of that queue if it still has one.
        """
        queue = _text(ev, "Queue")
        iface = _member_interface(ev, *extra_keys)
        key = _agent_key(iface) if iface else None
        if not queue or iface is None or key is None:
            return None
        if not create:
            agent = self._agents.get(key)
            if agent is None:
                return None
            touched.setdefault(key, agent)
            return agent, queue, agent.memberships.get(queue)
        agent = self._agent(key, touched)
        member = agent.memberships.get(queue)
        if member is None:
            member = agent.memberships[queue] = _Membership(iface)
            self._devices = None
        elif member.interface != iface:
            member.interface = iface
            self._devices = None
        return agent, queue, member

    def _device(self, agent: _Agent, status: int) -> None:
        if not DEVICE_UNKNOWN <= status <= DEVICE_ONHOLD:
            return
        if status in _DEVICE_ENDS_RINGING:
            agent.attempts.clear()
        agent.device = status
        if agent.in_queue_call():
            agent.device_from_call = True
        else:
            agent.device_from_call = False
            agent.device_base = status

    def _device_of(self, device: str, status: int, touched: dict[str, _Agent]) -> None:
        if self._devices is None:
            self._devices = {}
            for agent in self._agents.values():
                for member in agent.memberships.values():
                    for name in (member.interface, member.state_interface):
                        if name:
                            self._devices.setdefault(normalise_target(name), set()).add(agent.key)
        for key in sorted(self._devices.get(normalise_target(device.strip()), ())):
            agent = self._agents[key]
            touched.setdefault(key, agent)
            self._device(agent, status)

    def _set_wrap(self, agent: _Agent, until: float | None, call_id: str | None = None) -> None:
        agent.wrap_until = until
        agent.wrap_call_id = call_id if until is not None else None
        if until is None:
            self._wrapping.discard(agent.key)
        else:
            self._wrapping.add(agent.key)

    def _drop_attempts(self, agent: _Agent, which: Callable[[_Attempt], bool]) -> None:
        for key in [k for k, a in agent.attempts.items() if which(a)]:
            del agent.attempts[key]
        self._call_ended(agent)

    def _caller_taken(self, caller: str, touched: dict[str, _Agent]) -> None:
        """The caller was connected or left: nobody rings for it any more."""
        for agent in self._agents.values():
            if any(a.caller == caller for a in agent.attempts.values()):
                touched.setdefault(agent.key, agent)
                self._drop_attempts(agent, lambda a: a.caller == caller)

    def _call_ended(self, agent: _Agent) -> None:
        """Once no queue call rings or is up, forget the device states it caused."""
        if agent.in_queue_call() or not agent.device_from_call:
            return
        agent.device = agent.device_base
        agent.device_from_call = False

    def _if_logged_out(self, agent: _Agent) -> None:
        if agent.memberships:
            return
        agent.attempts.clear()
        agent.call = None
        self._set_wrap(agent, None)
        agent.device_from_call = False

    def _expire(self, now: float) -> list[AgentStateChanged]:
        out: list[AgentStateChanged] = []
        if not self._wrapping:
            return out
        due = sorted((until, key) for key in self._wrapping
                     if (until := self._agents[key].wrap_until) is not None and until <= now)
        for deadline, key in due:
            agent = self._agents[key]
            self._set_wrap(agent, None)
            change = self._report_one(agent, now, since=deadline)
            if change is not None:
                out.append(change)
        return out

    def _derive(self, agent: _Agent, now: float) -> tuple[AgentStatus, str | None, str | None]:
        if not agent.memberships:
            return AgentStatus.LOGGED_OUT, None, None
        if agent.call is not None:
            return AgentStatus.ON_CALL, None, agent.call.linkedid
        if agent.attempts:
            latest = max(agent.attempts.values(), key=lambda a: a.at)
            return AgentStatus.RINGING, None, latest.linkedid
        if agent.device in _DEVICE_TALKING:
            return AgentStatus.ON_CALL, None, None
        if agent.device == DEVICE_RINGING:
            return AgentStatus.RINGING, None, None
        paused = [m for m in agent.memberships.values() if m.paused]
        if paused:
            latest_pause = max(paused, key=lambda m: m.paused_at)
            return AgentStatus.PAUSED, latest_pause.reason, None
        if agent.device in _DEVICE_GONE:
            return AgentStatus.UNAVAILABLE, None, None
        if agent.wrap_until is not None and now < agent.wrap_until:
            return AgentStatus.WRAP_UP, None, agent.wrap_call_id
        return AgentStatus.READY, None, None

    def _report(self, agents: Iterable[_Agent], now: float) -> list[AgentStateChanged]:
        out = []
        for agent in agents:
            change = self._report_one(agent, now)
            if change is not None:
                out.append(change)
        return out

    def _report_one(self, agent: _Agent, now: float, since: float | None = None) -> AgentStateChanged | None:
        state, reason, call_id = self._derive(agent, now)
        queues = tuple(sorted(agent.memberships))
        previous = agent.state
        if previous is not None and (state, reason, call_id, queues) == (
                agent.state, agent.reason, agent.call_id, agent.queues):
            return None
        if previous is None or (state, reason, call_id) != (agent.state, agent.reason, agent.call_id):
            # A new state starts its clock; a change of queues alone does not.
            agent.since = now if since is None else since
        agent.state, agent.reason, agent.call_id, agent.queues = state, reason, call_id, queues
        log.debug("agent_states.changed agent=%s state=%s previous=%s queues=%s",
                  agent.key, state, previous, ",".join(queues))
        return AgentStateChanged(agent.key, state, reason, queues, agent.since, call_id, previous)

    @staticmethod
    def _state_of(agent: _Agent) -> AgentState:
        assert agent.state is not None
        return AgentState(
            agent=agent.key,
            name=agent.name,
            state=agent.state,
            reason=agent.reason,
            queues=agent.queues,
            paused_queues=tuple(sorted(q for q, m in agent.memberships.items() if m.paused)),
            since=agent.since,
            call_id=agent.call_id,
            interfaces=tuple(sorted({m.interface for m in agent.memberships.values()})),
        )
